//! What the command says on standard error, one line per message: its closing statistics,
//! its warnings, its errors.
//!
//! Under systemd, standard error goes to the journal, which reads a `<N>` at the start of a
//! line as the line's priority (`sd-daemon(3)`) and keeps the rest as the message: with
//! `--log-format journal`, or by default when `JOURNAL_STREAM` names standard error, each
//! line starts with its priority, so `journalctl -p warning` finds the warnings. A message
//! is kept to one line either way: a line break in it (an error's cause) becomes a space,
//! or the journal would see two messages.

use std::os::fd::AsFd;
use std::sync::OnceLock;

use clap::ValueEnum;

/// How lines on standard error are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// journal when standard error is systemd's journal (JOURNAL_STREAM), else plain.
    Auto,
    /// As on a terminal: the message alone.
    Plain,
    /// Each line starts with its syslog priority (`<3>` error, `<4>` warning, `<6>` info),
    /// which the journal reads and takes off.
    Journal,
}

/// A line's priority, as syslog numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// What ended the command.
    Error = 3,
    /// Something went wrong, and the command went on.
    Warning = 4,
    /// The statistics.
    Info = 6,
}

/// Whether lines carry their priority, once decided.
static JOURNAL: OnceLock<bool> = OnceLock::new();

/// Decides how lines are written, from `--log-format`; the first decision stands.
pub fn init(format: LogFormat) {
    let journal = match format {
        LogFormat::Auto => stderr_is_journal(),
        LogFormat::Plain => false,
        LogFormat::Journal => true,
    };
    let _ = JOURNAL.set(journal);
}

/// `message` as the one line to write (without its line end), at `level`.
pub fn line(level: Level, message: &str) -> String {
    format_line(level, message, journal())
}

/// `text`, lines that are each a message of their own (the statistics of several
/// outputs), each as [`line`] makes it, joined by line breaks.
pub fn lines(level: Level, text: &str) -> String {
    let journal = journal();
    text.lines()
        .map(|l| format_line(level, l, journal))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether lines carry their priority: as [`init`] decided, else as `auto` would.
fn journal() -> bool {
    *JOURNAL.get_or_init(stderr_is_journal)
}

/// [`line`], with the format given.
fn format_line(level: Level, message: &str, journal: bool) -> String {
    let mut out = String::with_capacity(message.len() + 3);
    if journal {
        out.push('<');
        out.push(char::from(b'0' + level as u8));
        out.push('>');
    }
    // `\r` too: a terminal would overwrite the line with what follows it.
    let mut pieces = message.split(['\n', '\r']).filter(|p| !p.is_empty());
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        out.push(' ');
        out.push_str(piece);
    }
    out
}

/// Whether standard error is the journal's stream: `JOURNAL_STREAM` is its `DEVICE:INODE`
/// (`systemd.exec(5)`), which a service's children inherit even when their standard error
/// goes elsewhere, so both are compared.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((device, inode)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    let (Ok(device), Ok(inode)) = (device.parse::<u64>(), inode.parse::<u64>()) else {
        return false;
    };
    rustix::fs::fstat(std::io::stderr().as_fd())
        .is_ok_and(|stat| stat.st_dev == device && stat.st_ino == inode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_lines_carry_their_priority() {
        assert_eq!(
            format_line(Level::Info, "nflog: 2 packets written", true),
            "<6>nflog: 2 packets written"
        );
        assert_eq!(format_line(Level::Warning, "w", true), "<4>w");
        assert_eq!(format_line(Level::Error, "e", true), "<3>e");
        assert_eq!(
            format_line(Level::Info, "nflog: 2 packets written", false),
            "nflog: 2 packets written"
        );
    }

    #[test]
    fn a_message_stays_on_one_line() {
        // Regression: a message with a line break (the kernel's extended ACK text, a cause)
        // reached the journal as two entries, the second without its priority.
        assert_eq!(
            format_line(Level::Error, "nflog: bad\nsecond line\r\n", true),
            "<3>nflog: bad second line"
        );
        assert_eq!(format_line(Level::Warning, "a\n\nb", false), "a b");
    }
}
