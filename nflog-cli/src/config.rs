//! `nflog serve --config FILE`: the capture and its outputs from a TOML file.
//!
//! The file says what the command line says, and what it cannot: each output with its own
//! format, queue size and user-space filter. It is read whole, and every mistake in it
//! (a key it does not know, a value of the wrong type, a format or destination that does not
//! exist, a filter that does not parse, two outputs to one file) is an error naming the file,
//! the line and the key, before any group is bound or any output opened.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use clap::ValueEnum;
use nflog::filter::Expr;
use serde::Deserialize;
use toml::Spanned;

use crate::capture::{self, Planned};
use crate::cli::{
    CaptureArgs, LinkTypeArg, OutputFormat, RotateArgs, ServeArgs, SyslogArgs, SyslogFormatArg,
};
use crate::output::{self, Destination, OutputSpec};
use nflog::format::syslog::{Body, InvalidField, SyslogFormat};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// What to capture.
    input: Input,
    /// Where it goes: `[[output]]` tables, one per output.
    #[serde(default)]
    output: Vec<Spanned<OutputTable>>,
    /// Drop privileges to this user once the groups are bound (`-Z`).
    user: Option<String>,
    /// Serve the counters here (`--metrics`).
    metrics: Option<String>,
    /// How file outputs rotate (`-C`, `-G`, `-W`, `-z`).
    rotate: Option<Rotate>,
}

/// The `[rotate]` table: how every file output rotates, as `-C`, `-G`, `-W` and `-z` say.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rotate {
    /// A new file past this size (`-C`): bytes, or with a unit (`10M`).
    file_size: Option<Spanned<String>>,
    /// A new file every this many seconds (`-G`).
    rotate_seconds: Option<Spanned<u64>>,
    /// Keep this many files, a ring (`-W`).
    file_count: Option<Spanned<u32>>,
    /// Run this on each file once closed (`-z`).
    post_rotate: Option<String>,
}

/// The `[input]` table: the groups and their settings, as `nflog capture` takes them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    groups: Vec<u16>,
    netns: Option<Spanned<String>>,
    snaplen: Option<u32>,
    #[serde(default)]
    meta: bool,
    qthresh: Option<u32>,
    flush_timeout_ms: Option<u64>,
    nlbufsiz: Option<u32>,
    rcvbuf: Option<u64>,
    #[serde(default)]
    seq: bool,
    #[serde(default)]
    seq_global: bool,
    #[serde(default)]
    conntrack: bool,
    #[serde(default)]
    numeric: bool,
    #[serde(default)]
    packet_buffered: bool,
}

/// One `[[output]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutputTable {
    destination: Spanned<String>,
    format: Option<Spanned<String>>,
    linktype: Option<Spanned<String>>,
    queue_size: Option<usize>,
    filter: Option<Spanned<String>>,
    /// Days an SQLite output keeps its rows (`--retain`).
    retain: Option<Spanned<u32>>,
    /// Whether a database output stores each packet's bytes (`--raw`).
    raw: Option<Spanned<bool>>,
    /// How a syslog output writes its messages (the `--syslog-*` options, for this output
    /// alone).
    syslog: Option<Spanned<SyslogTable>>,
    /// How this file output rotates, instead of the `[rotate]` table.
    rotate: Option<Spanned<Rotate>>,
}

/// An output's `[output.syslog]` table: what `--syslog-*` says on the command line, for
/// that output only.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SyslogTable {
    /// `rfc5424` or `rfc3164` (`--syslog-format`).
    format: Option<Spanned<String>>,
    /// `--syslog-facility`.
    facility: Option<Spanned<String>>,
    /// `--syslog-severity`.
    severity: Option<Spanned<String>>,
    /// `--syslog-hostname`.
    hostname: Option<Spanned<String>>,
    /// `--syslog-app-name`.
    app_name: Option<Spanned<String>>,
    /// `--syslog-sd-id`.
    sd_id: Option<Spanned<String>>,
    /// `--syslog-backlog`, in bytes.
    backlog: Option<Spanned<usize>>,
}

/// Runs the capture the configuration file describes.
pub fn run(args: &ServeArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read the configuration {}", args.config.display()))?;
    let (capture, outputs) = load(&args.config, &text)?;
    capture::run_planned(&capture, outputs)
}

/// Reads a configuration: the capture's arguments and its outputs.
///
/// # Errors
///
/// The first mistake in it, with the file, line and key.
fn load(path: &Path, text: &str) -> Result<(CaptureArgs, Vec<Planned>)> {
    let at = |span: Option<Range<usize>>, message: String| Located {
        file: path.to_path_buf(),
        text,
        span,
        message,
    };
    let file: File = toml::from_str(text).map_err(|e| at(e.span(), e.message().to_string()))?;
    // The command line's own defaults, so the file and the options mean the same.
    let mut capture = crate::cli::parse_from(["nflog"])
        .map_err(|e| anyhow!("{e}"))?
        .capture;
    let input = file.input;
    if input.groups.is_empty() {
        return Err(at(
            key_span(text, "input", "groups"),
            "no group: name the groups your rules log to, as in groups = [5]".into(),
        )
        .into());
    }
    capture.groups = input.groups;
    if let Some(netns) = &input.netns {
        capture.netns = Some(
            netns
                .get_ref()
                .parse()
                .map_err(|e| at(Some(netns.span()), format!("{e}")))?,
        );
    }
    capture.snaplen = input.snaplen;
    capture.meta = input.meta;
    if let Some(qthresh) = input.qthresh {
        capture.qthresh = qthresh;
    }
    capture.flush_timeout = input.flush_timeout_ms;
    capture.nlbufsiz = input.nlbufsiz;
    capture.rcvbuf = input.rcvbuf;
    capture.seq = input.seq;
    capture.seq_global = input.seq_global;
    capture.conntrack = input.conntrack;
    capture.output.numeric = input.numeric;
    capture.output.packet_buffered = input.packet_buffered;
    capture.user = file.user;
    capture.metrics = file.metrics;
    if let Some(rotate) = &file.rotate {
        *capture.rotate = rotate_args(rotate).map_err(|(span, e)| at(Some(span), e))?;
    }
    if file.output.is_empty() {
        return Err(at(
            None,
            "no [[output]]: add one, as in [[output]] destination = \"-\"".into(),
        )
        .into());
    }
    let mut planned: Vec<Planned> = Vec::with_capacity(file.output.len());
    for table in &file.output {
        let table = table.get_ref();
        let destination = Destination::parse(std::ffi::OsStr::new(table.destination.get_ref()))
            .map_err(|e| at(Some(table.destination.span()), e.to_string()))?;
        let format = match &table.format {
            Some(name) => Some(OutputFormat::from_str(name.get_ref(), false).map_err(|_| {
                at(
                    Some(name.span()),
                    unknown("format", name, OutputFormat::value_variants()),
                )
            })?),
            None => None,
        };
        if let (Some(name), true) = (&table.format, output::is_database(&destination)) {
            return Err(at(
                Some(name.span()),
                "a database stores each packet as a row of typed columns, in no format: \
                 leave format out for this output"
                    .into(),
            )
            .into());
        }
        let linktype = match &table.linktype {
            Some(name) => Some(LinkTypeArg::from_str(name.get_ref(), false).map_err(|_| {
                at(
                    Some(name.span()),
                    unknown("link type", name, LinkTypeArg::value_variants()),
                )
            })?),
            None => None,
        };
        if let Some(file) = destination.file() {
            if planned
                .iter()
                .any(|p| p.spec.destination.file() == Some(file))
            {
                return Err(at(
                    Some(table.destination.span()),
                    format!(
                        "{} is the destination of an output before: two outputs cannot write \
                         one file",
                        file.display()
                    ),
                )
                .into());
            }
        }
        let retain = match &table.retain {
            Some(days) if !matches!(destination, Destination::Sqlite(_)) => {
                return Err(at(
                    Some(days.span()),
                    "retain deletes old rows of a database: only for destination = \
                     \"sqlite:PATH\""
                        .into(),
                )
                .into())
            }
            Some(days) if *days.get_ref() == 0 => {
                return Err(at(
                    Some(days.span()),
                    "retain is a number of days, 1 or more".into(),
                )
                .into())
            }
            Some(days) => Some(*days.get_ref()),
            None => None,
        };
        let syslog = match &table.syslog {
            Some(syslog) if !output::is_syslog(&destination) => {
                return Err(at(
                    Some(syslog.span()),
                    "[output.syslog] applies to syslog outputs only: destination = \
                     \"syslog://HOST\", \"syslog+tcp://HOST\" or \"unix:/dev/log\""
                        .into(),
                )
                .into())
            }
            Some(syslog) => syslog_args(syslog.get_ref()).map_err(|(span, e)| at(Some(span), e))?,
            None => SyslogArgs::default(),
        };
        let raw = match &table.raw {
            Some(raw) if *raw.get_ref() && !output::is_database(&destination) => {
                return Err(at(
                    Some(raw.span()),
                    "raw adds the packet's bytes to a database's rows: only for destination = \
                     \"sqlite:PATH\", \"postgres://...\" or \"clickhouse://...\""
                        .into(),
                )
                .into())
            }
            Some(raw) => *raw.get_ref(),
            None => false,
        };
        let spec = OutputSpec {
            format: output::format_for(format, &destination),
            destination,
            linktype,
            retain,
            syslog,
            raw,
        };
        let span = table
            .linktype
            .as_ref()
            .map(Spanned::span)
            .unwrap_or_else(|| table.destination.span());
        output::check_options(&spec, capture.meta).map_err(|e| at(Some(span), e.to_string()))?;
        let filter = match &table.filter {
            Some(expression) => Some(
                Expr::parse(expression.get_ref())
                    .map_err(|e| at(Some(expression.span()), format!("filter: {e}")))?,
            ),
            None => None,
        };
        let rotate = match &table.rotate {
            Some(rotate) => {
                let Destination::File(path) = &spec.destination else {
                    return Err(at(
                        Some(rotate.span()),
                        format!(
                            "rotate applies to files, and the destination is {}: leave it out",
                            spec.destination
                        ),
                    )
                    .into());
                };
                let args = rotate_args(rotate.get_ref()).map_err(|(span, e)| at(Some(span), e))?;
                if args.rotate_seconds.is_some()
                    && args.file_count.is_some()
                    && args.file_size.is_none()
                {
                    return Err(at(
                        Some(rotate.span()),
                        "rotate_seconds with file_count and no file_size ends the whole capture \
                         after that many files: give it in the [rotate] table, or add file_size"
                            .into(),
                    )
                    .into());
                }
                crate::rotate::check_options(&args, &[path.as_path()])
                    .map_err(|e| at(Some(rotate.span()), e.to_string()))?;
                Some(args)
            }
            None => None,
        };
        planned.push(Planned {
            spec,
            queue_size: table.queue_size.unwrap_or(crate::cli::QUEUE_SIZE),
            filter,
            rotate,
        });
    }
    Ok((capture, planned))
}

/// The `--syslog-*` options an `[output.syslog]` table says, each value checked as the
/// message format will use it.
///
/// # Errors
///
/// The span of the first value that is wrong, and why.
fn syslog_args(table: &SyslogTable) -> Result<SyslogArgs, (Range<usize>, String)> {
    fn parsed<T: std::str::FromStr>(
        value: &Option<Spanned<String>>,
    ) -> Result<Option<T>, (Range<usize>, String)>
    where
        T::Err: std::fmt::Display,
    {
        value
            .as_ref()
            .map(|v| {
                v.get_ref()
                    .parse()
                    .map_err(|e: T::Err| (v.span(), e.to_string()))
            })
            .transpose()
    }
    let format = match &table.format {
        Some(name) => Some(
            SyslogFormatArg::from_str(name.get_ref(), false).map_err(|_| {
                (
                    name.span(),
                    unknown("syslog format", name, SyslogFormatArg::value_variants()),
                )
            })?,
        ),
        None => None,
    };
    // The same checks the output makes when it starts, made now, at the key.
    let probe = || SyslogFormat::new(Body::Text(nflog::format::TextFormat::new()));
    type Check = fn(SyslogFormat, &str) -> Result<SyslogFormat, InvalidField>;
    let checks: [(&Option<Spanned<String>>, Check); 3] = [
        (&table.hostname, SyslogFormat::hostname),
        (&table.app_name, SyslogFormat::app_name),
        (&table.sd_id, SyslogFormat::sd_id),
    ];
    for (value, check) in checks {
        if let Some(value) = value {
            check(probe(), value.get_ref()).map_err(|e| (value.span(), e.to_string()))?;
        }
    }
    if let Some(backlog) = &table.backlog {
        if *backlog.get_ref() == 0 {
            return Err((
                backlog.span(),
                "the backlog is a number of bytes, 1 or more".into(),
            ));
        }
    }
    Ok(SyslogArgs {
        format,
        facility: parsed(&table.facility)?,
        severity: parsed(&table.severity)?,
        hostname: table.hostname.as_ref().map(|v| v.get_ref().clone()),
        app_name: table.app_name.as_ref().map(|v| v.get_ref().clone()),
        sd_id: table.sd_id.as_ref().map(|v| v.get_ref().clone()),
        backlog: table.backlog.as_ref().map(|v| *v.get_ref()),
    })
}

/// The rotation a `[rotate]` table (or an output's `rotate`) asks for, as -C, -G, -W and -z;
/// a mistake with where it is.
fn rotate_args(rotate: &Rotate) -> Result<RotateArgs, (Range<usize>, String)> {
    let mut args = RotateArgs::default();
    if let Some(size) = &rotate.file_size {
        args.file_size =
            Some(crate::rotate::parse_size(size.get_ref()).map_err(|e| (size.span(), e))?);
    }
    if let Some(seconds) = &rotate.rotate_seconds {
        if *seconds.get_ref() == 0 {
            return Err((seconds.span(), "1 second or more".into()));
        }
        args.rotate_seconds = Some(*seconds.get_ref());
    }
    if let Some(count) = &rotate.file_count {
        if *count.get_ref() == 0 {
            return Err((count.span(), "1 file or more".into()));
        }
        args.file_count = Some(*count.get_ref());
    }
    args.post_rotate = rotate.post_rotate.clone().map(Into::into);
    Ok(args)
}

/// The message of a name that is none of `variants`.
fn unknown<T: ValueEnum>(what: &str, name: &Spanned<String>, variants: &[T]) -> String {
    let names: Vec<String> = variants
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    format!(
        "unknown {what} `{}`: give one of {}",
        name.get_ref(),
        names.join(", ")
    )
}

/// Where `key` of `[table]` is written, for an error about a value that was there but is
/// not right; `None` when it cannot be found.
fn key_span(text: &str, table: &str, key: &str) -> Option<Range<usize>> {
    let mut in_table = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            in_table = trimmed.trim_matches(|c| c == '[' || c == ']').trim() == table;
        } else if in_table
            && trimmed
                .split_once('=')
                .is_some_and(|(k, _)| k.trim() == key)
        {
            let start = offset + (line.len() - line.trim_start().len());
            return Some(start..start + key.len());
        }
        offset += line.len();
    }
    None
}

/// A mistake in the configuration, and where it is.
#[derive(Debug)]
struct Located<'a> {
    file: PathBuf,
    text: &'a str,
    span: Option<Range<usize>>,
    message: String,
}

impl std::fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(span) = &self.span else {
            return write!(f, "{}: {}", self.file.display(), self.message);
        };
        let start = span.start.min(self.text.len());
        let line = self.text[..start].matches('\n').count() + 1;
        write!(f, "{}:{line}: ", self.file.display())?;
        if let Some(key) = key_at(self.text, start) {
            write!(f, "{key}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl From<Located<'_>> for anyhow::Error {
    fn from(located: Located<'_>) -> anyhow::Error {
        // The text is borrowed: keep the message, which says everything.
        anyhow!("{located}")
    }
}

/// The key at byte `offset` of `text`, as a reader finds it: the table (`[input]`, or
/// `[[output]] #N` for the Nth output) and the key of the line, when the line has one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let mut table = None;
    let mut outputs = 0;
    for header in text[..line_start].lines().map(str::trim) {
        if header.starts_with("[[") {
            let name = header.trim_matches(|c| c == '[' || c == ']').trim();
            if name == "output" {
                outputs += 1;
                table = Some(format!("[[output]] #{outputs}"));
            } else {
                table = Some(format!("[[{name}]]"));
            }
        } else if header.starts_with('[') {
            let name = header.trim_matches(|c| c == '[' || c == ']').trim();
            table = Some(format!("[{name}]"));
        }
    }
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim())
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .map(|k| format!("key `{k}`"));
    match (table, key) {
        (Some(table), Some(key)) => Some(format!("{table}, {key}")),
        (None, Some(key)) => Some(key),
        (Some(table), None) => Some(table),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match load(Path::new("/etc/nflog.toml"), text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => format!("{e:#}"),
        }
    }

    const GOOD: &str = r#"# two outputs
user = "nobody"

[input]
groups = [5, 6]
seq = true
qthresh = 200

[[output]]
destination = "/var/log/nflog/fw.json"
format = "json"
queue_size = 1048576
filter = "udp port 53"

[[output]]
destination = "/var/log/nflog/fw.pcapng"
"#;

    #[test]
    fn a_good_file_gives_the_capture_and_its_outputs() {
        let (capture, outputs) = load(Path::new("x.toml"), GOOD).unwrap();
        assert_eq!(capture.groups, [5, 6]);
        assert!(capture.seq);
        assert_eq!(capture.qthresh, 200);
        assert_eq!(capture.user.as_deref(), Some("nobody"));
        assert_eq!(outputs.len(), 2);
        assert_eq!(outputs[0].spec.format, OutputFormat::Json);
        assert_eq!(outputs[0].queue_size, 1 << 20);
        assert!(outputs[0].filter.is_some());
        assert_eq!(
            outputs[1].spec.destination,
            Destination::File("/var/log/nflog/fw.pcapng".into())
        );
        assert_eq!(outputs[1].spec.format, OutputFormat::Pcapng);
        // What the file leaves out is the command line's default.
        assert_eq!(outputs[1].queue_size, 64 << 20);
        assert!(outputs[1].filter.is_none());
    }

    #[test]
    fn an_unknown_key_names_the_file_line_and_key() {
        let text = GOOD.replace("seq = true", "sequence = true");
        let e = error(&text);
        assert!(
            e.starts_with("/etc/nflog.toml:6: [input], key `sequence`: unknown field `sequence`"),
            "{e}"
        );
    }

    #[test]
    fn a_wrong_type_names_the_file_line_and_key() {
        let text = GOOD.replace("queue_size = 1048576", "queue_size = \"1M\"");
        let e = error(&text);
        assert!(
            e.starts_with("/etc/nflog.toml:12: [[output]] #1, key `queue_size`: invalid type"),
            "{e}"
        );
        let text = GOOD.replace("groups = [5, 6]", "groups = [5, 70000]");
        let e = error(&text);
        assert!(
            e.starts_with("/etc/nflog.toml:5: [input], key `groups`: "),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_format_names_the_file_line_and_key() {
        let text = GOOD.replace("format = \"json\"", "format = \"jsn\"");
        let e = error(&text);
        assert_eq!(
            e,
            "/etc/nflog.toml:11: [[output]] #1, key `format`: unknown format `jsn`: give one of \
             text, json, xml, pcap, pcapng"
        );
    }

    #[test]
    fn two_outputs_to_one_file_name_the_second() {
        let text = GOOD.replace("fw.pcapng", "fw.json");
        let e = error(&text);
        assert_eq!(
            e,
            "/etc/nflog.toml:16: [[output]] #2, key `destination`: /var/log/nflog/fw.json is the \
             destination of an output before: two outputs cannot write one file"
        );
    }

    #[test]
    fn an_unknown_scheme_and_a_bad_filter_are_located() {
        let text = GOOD.replace("/var/log/nflog/fw.pcapng", "postgress://db/logs");
        let e = error(&text);
        assert!(
            e.starts_with(
                "/etc/nflog.toml:16: [[output]] #2, key `destination`: unknown destination \
                 scheme `postgress:`"
            ),
            "{e}"
        );
        let text = GOOD.replace("udp port 53", "udp prot 53");
        let e = error(&text);
        assert!(
            e.starts_with("/etc/nflog.toml:13: [[output]] #1, key `filter`: filter: "),
            "{e}"
        );
    }

    #[test]
    fn a_file_without_groups_or_outputs_says_what_to_add() {
        let e = error("[input]\ngroups = []\n[[output]]\ndestination = \"-\"\n");
        assert_eq!(
            e,
            "/etc/nflog.toml:2: [input], key `groups`: no group: name the groups your rules \
             log to, as in groups = [5]"
        );
        let e = error("[input]\ngroups = [5]\n");
        assert_eq!(
            e,
            "/etc/nflog.toml: no [[output]]: add one, as in [[output]] destination = \"-\""
        );
        let e = error("[[output]]\ndestination = \"-\"\n");
        assert!(e.starts_with("/etc/nflog.toml"), "{e}");
        assert!(e.contains("missing field `input`"), "{e}");
    }

    #[test]
    fn an_sqlite_output_takes_retain_and_no_other_does() {
        let text = format!(
            "{GOOD}\n[[output]]\ndestination = \"sqlite:/var/log/nflog/fw.db\"\nretain = 30\n"
        );
        let (_, outputs) = load(Path::new("x.toml"), &text).unwrap();
        assert_eq!(
            outputs[2].spec.destination,
            Destination::Sqlite("/var/log/nflog/fw.db".into())
        );
        assert_eq!(outputs[2].spec.retain, Some(30));
        assert_eq!(outputs[0].spec.retain, None);
        let text = GOOD.replace("queue_size = 1048576", "retain = 7");
        assert_eq!(
            error(&text),
            "/etc/nflog.toml:12: [[output]] #1, key `retain`: retain deletes old rows of a \
             database: only for destination = \"sqlite:PATH\""
        );
        // A database has no format: the key goes with the destination.
        let text = text
            .replace("/var/log/nflog/fw.json", "sqlite:/var/log/nflog/fw.db")
            .replace("format = \"json\"\n", "");
        let text = text.replace("retain = 7", "retain = 0");
        assert_eq!(
            error(&text),
            "/etc/nflog.toml:11: [[output]] #1, key `retain`: retain is a number of days, 1 or \
             more"
        );
    }

    #[test]
    fn rotation_is_read_and_its_mistakes_located() {
        let text = format!("{GOOD}\n[rotate]\nfile_size = \"10M\"\nfile_count = 4\n");
        let (capture, _) = load(Path::new("x.toml"), &text).unwrap();
        assert_eq!(capture.rotate.file_size, Some(10 << 20));
        assert_eq!(capture.rotate.file_count, Some(4));
        assert_eq!(capture.rotate.rotate_seconds, None);
        let e = error(&format!("{GOOD}\n[rotate]\nrotate_seconds = 0\n"));
        assert_eq!(
            e,
            "/etc/nflog.toml:19: [rotate], key `rotate_seconds`: 1 second or more"
        );
        let e = error(&format!("{GOOD}\n[rotate]\nfile_size = \"ten\"\n"));
        assert!(
            e.starts_with("/etc/nflog.toml:19: [rotate], key `file_size`: "),
            "{e}"
        );
    }

    #[test]
    fn an_output_rotates_by_its_own_table_and_its_mistakes_are_located() {
        let text = format!(
            "{GOOD}rotate = {{ file_size = \"2M\", file_count = 3 }}\n\n\
             [rotate]\nrotate_seconds = 3600\n"
        );
        let (capture, outputs) = load(Path::new("x.toml"), &text).unwrap();
        assert_eq!(capture.rotate.rotate_seconds, Some(3600));
        assert!(outputs[0].rotate.is_none(), "the [rotate] table's");
        let own = outputs[1].rotate.as_ref().unwrap();
        assert_eq!(own.file_size, Some(2 << 20));
        assert_eq!(own.file_count, Some(3));
        assert_eq!(own.rotate_seconds, None, "its own table, not merged");
        let e = error(&format!("{GOOD}rotate = {{ file_count = 0 }}\n"));
        assert_eq!(
            e,
            "/etc/nflog.toml:17: [[output]] #2, key `rotate`: 1 file or more"
        );
        let e = error(&format!("{GOOD}rotate = {{ file_count = 3 }}\n"));
        assert!(
            e.starts_with("/etc/nflog.toml:17: [[output]] #2, key `rotate`: -W COUNT keeps"),
            "{e}"
        );
        let e = error(&format!(
            "{GOOD}rotate = {{ rotate_seconds = 60, file_count = 3 }}\n"
        ));
        assert!(
            e.contains("give it in the [rotate] table, or add file_size"),
            "{e}"
        );
        let e = error(&GOOD.replace(
            "destination = \"/var/log/nflog/fw.pcapng\"",
            "destination = \"-\"\nrotate = { file_size = \"1M\" }",
        ));
        assert_eq!(
            e,
            "/etc/nflog.toml:17: [[output]] #2, key `rotate`: rotate applies to files, and \
             the destination is -: leave it out"
        );
    }

    #[test]
    fn the_example_in_contrib_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/nflog.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let (capture, outputs) = load(&path, &text).unwrap();
        assert!(!capture.groups.is_empty());
        assert!(outputs.len() >= 2);
    }

    #[test]
    fn each_syslog_output_has_its_own_syslog_table() {
        let text = format!(
            "{GOOD}\n[[output]]\ndestination = \"syslog://127.0.0.1:514\"\nformat = \"json\"\n\
             [output.syslog]\nformat = \"rfc3164\"\nfacility = \"local3\"\n\
             severity = \"info\"\nsd_id = \"fw@32473\"\napp_name = \"edge\"\n\
             hostname = \"gw1\"\nbacklog = 4096\n\n\
             [[output]]\ndestination = \"syslog+tcp://127.0.0.1:601\"\n"
        );
        let (_, outputs) = load(Path::new("x.toml"), &text).unwrap();
        let first = &outputs[2].spec.syslog;
        assert_eq!(first.format, Some(SyslogFormatArg::Rfc3164));
        assert_eq!(first.facility, Some("local3".parse().unwrap()));
        assert_eq!(first.severity, Some("info".parse().unwrap()));
        assert_eq!(first.sd_id.as_deref(), Some("fw@32473"));
        assert_eq!(first.app_name.as_deref(), Some("edge"));
        assert_eq!(first.hostname.as_deref(), Some("gw1"));
        assert_eq!(first.backlog, Some(4096));
        // The other syslog output keeps the defaults: nothing is global.
        assert_eq!(outputs[3].spec.syslog, SyslogArgs::default());
    }

    #[test]
    fn a_syslog_table_is_checked_at_its_keys() {
        let with = |table: &str| {
            error(&format!(
                "{GOOD}\n[[output]]\ndestination = \"syslog://h:514\"\n[output.syslog]\n{table}\n"
            ))
        };
        let e = with("facility = \"local9\"");
        assert!(
            e.starts_with(
                "/etc/nflog.toml:21: [output.syslog], key `facility`: not a syslog facility: "
            ),
            "{e}"
        );
        let e = with("format = \"rfc1\"");
        assert!(
            e.contains("key `format`: unknown syslog format `rfc1`: give one of rfc5424, rfc3164"),
            "{e}"
        );
        let e = with("sd_id = \"no at sign\"");
        assert!(e.contains("key `sd_id`: "), "{e}");
        let e = with("severity = \"loud\"");
        assert!(e.contains("key `severity`: "), "{e}");
        let e = with("colour = \"red\"");
        assert!(e.contains("unknown field `colour`"), "{e}");
        // Only for syslog outputs.
        let e = error(&format!("{GOOD}[output.syslog]\nfacility = \"user\"\n"));
        assert!(
            e.contains("[output.syslog] applies to syslog outputs only"),
            "{e}"
        );
    }

    #[test]
    fn a_format_for_a_database_output_is_refused_at_its_key() {
        let e = error(&format!(
            "{GOOD}\n[[output]]\ndestination = \"sqlite:/var/log/nflog/fw.db\"\nformat = \"json\"\n"
        ));
        assert_eq!(
            e,
            "/etc/nflog.toml:20: [[output]] #3, key `format`: a database stores each packet as a \
             row of typed columns, in no format: leave format out for this output"
        );
    }

    #[test]
    fn raw_is_for_database_outputs() {
        let text = format!("{GOOD}\n[[output]]\ndestination = \"postgres://u@h/db\"\nraw = true\n");
        let (_, outputs) = load(Path::new("x.toml"), &text).unwrap();
        assert!(outputs[2].spec.raw);
        assert!(!outputs[0].spec.raw);
        let e = error(&GOOD.replace("queue_size = 1048576", "raw = true"));
        assert_eq!(
            e,
            "/etc/nflog.toml:12: [[output]] #1, key `raw`: raw adds the packet's bytes to a \
             database's rows: only for destination = \"sqlite:PATH\", \"postgres://...\" or \
             \"clickhouse://...\""
        );
    }
}
