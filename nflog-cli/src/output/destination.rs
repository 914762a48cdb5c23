//! Where an output goes, as `-w` (or an output's `destination` in the configuration file)
//! names it: `-` for standard output, a file path, or a URL-like destination of one of the
//! sinks that are not byte streams.
//!
//! One parser for the command line and the configuration file, so both accept the same
//! destinations and refuse the same mistakes. A value that starts like a scheme (letters,
//! digits, `+`, `-` or `.` after a letter, then `:`) is read as one: an unknown scheme is an
//! error, not a file of that name, so a mistyped `postgress://...` is never created as a
//! directory tree under the working directory. A file whose name has a colon is written
//! `./NAME`.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where one output writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output (`-`, or no `-w` at all).
    Stdout,
    /// A file, created or truncated.
    File(PathBuf),
    /// An SQLite database file (`sqlite:PATH`).
    Sqlite(PathBuf),
    /// A PostgreSQL server (`postgres://...` or `postgresql://...`, the whole URL).
    Postgres(String),
    /// A ClickHouse server's HTTP interface (`clickhouse://HOST:PORT/DB`, the whole URL).
    Clickhouse(String),
    /// A syslog collector over UDP (`syslog://HOST:PORT`): the `HOST:PORT`.
    Syslog(String),
    /// A syslog collector over TCP with octet counting (`syslog+tcp://HOST:PORT`): the
    /// `HOST:PORT`.
    SyslogTcp(String),
    /// A local syslog socket (`unix:PATH`, as `unix:/dev/log`).
    Unix(PathBuf),
}

/// The schemes [`Destination::parse`] knows, as a user writes them: what the error of an
/// unknown one lists.
pub const SCHEMES: &str = "sqlite:PATH, postgres://USER@HOST/DB, clickhouse://HOST:PORT/DB, \
                           syslog://HOST:PORT, syslog+tcp://HOST:PORT, unix:PATH";

/// Why a destination was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestinationError {
    /// The value is empty.
    Empty,
    /// A scheme no sink has.
    UnknownScheme {
        /// The scheme, without its colon.
        scheme: String,
    },
    /// A known scheme without what must follow it.
    Incomplete {
        /// The scheme, without its colon.
        scheme: &'static str,
        /// What must follow it, as a user writes it.
        expected: &'static str,
    },
    /// A destination that is not valid UTF-8 where it must be (a URL or a host).
    NotUtf8,
}

impl fmt::Display for DestinationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DestinationError::Empty => {
                write!(
                    f,
                    "empty destination: give a FILE, - for standard output, or one of {SCHEMES}"
                )
            }
            DestinationError::UnknownScheme { scheme } => write!(
                f,
                "unknown destination scheme `{scheme}:`: give one of {SCHEMES}, - for standard \
                 output, or a FILE (./NAME for a file whose name has a colon)"
            ),
            DestinationError::Incomplete { scheme, expected } => {
                write!(f, "`{scheme}:` needs {expected}")
            }
            DestinationError::NotUtf8 => {
                write!(f, "a URL destination must be valid UTF-8")
            }
        }
    }
}

impl std::error::Error for DestinationError {}

impl Destination {
    /// Reads a destination as `-w` takes it.
    ///
    /// # Errors
    ///
    /// [`DestinationError`] for an empty value, an unknown scheme, or a known scheme with
    /// nothing after it.
    pub fn parse(value: &OsStr) -> Result<Destination, DestinationError> {
        let bytes = value.as_encoded_bytes();
        if bytes.is_empty() {
            return Err(DestinationError::Empty);
        }
        if bytes == b"-" {
            return Ok(Destination::Stdout);
        }
        let Some(colon) = scheme_end(bytes) else {
            return Ok(Destination::File(PathBuf::from(value)));
        };
        // The scheme is ASCII (see `scheme_end`), so both halves are whole characters.
        let scheme = String::from_utf8_lossy(&bytes[..colon]).to_ascii_lowercase();
        let rest = &bytes[colon + 1..];
        let path = |scheme: &'static str, expected: &'static str| {
            if rest.is_empty() {
                return Err(DestinationError::Incomplete { scheme, expected });
            }
            Ok(PathBuf::from(OsStr::from_bytes(rest)))
        };
        let text = || std::str::from_utf8(bytes).map_err(|_| DestinationError::NotUtf8);
        let authority = |scheme: &'static str, expected: &'static str| {
            let whole = text()?;
            let after = whole[colon + 1..]
                .strip_prefix("//")
                .filter(|a| !a.is_empty())
                .ok_or(DestinationError::Incomplete { scheme, expected })?;
            Ok(after.to_string())
        };
        match scheme.as_str() {
            "sqlite" => path("sqlite", "a database file, as in sqlite:/var/log/nflog.db")
                .map(Destination::Sqlite),
            "unix" => path("unix", "a socket path, as in unix:/dev/log").map(Destination::Unix),
            "postgres" | "postgresql" => {
                authority("postgres", "a server, as in postgres://USER@HOST/DB")?;
                Ok(Destination::Postgres(text()?.to_string()))
            }
            "clickhouse" => {
                authority("clickhouse", "a server, as in clickhouse://HOST:PORT/DB")?;
                Ok(Destination::Clickhouse(text()?.to_string()))
            }
            "syslog" => authority("syslog", "a collector, as in syslog://HOST:PORT")
                .map(Destination::Syslog),
            "syslog+tcp" => authority("syslog+tcp", "a collector, as in syslog+tcp://HOST:PORT")
                .map(Destination::SyslogTcp),
            _ => Err(DestinationError::UnknownScheme { scheme }),
        }
    }

    /// The file this destination writes, if it writes a file of its own (a plain file or a
    /// database file): two outputs must not write the same one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Destination::File(path) | Destination::Sqlite(path) => Some(path),
            _ => None,
        }
    }
}

/// Where a scheme's colon is, if `bytes` starts with a scheme: a letter, then letters,
/// digits, `+`, `-` or `.` (RFC 3986's scheme), then `:`.
fn scheme_end(bytes: &[u8]) -> Option<usize> {
    let colon = bytes.iter().position(|&b| b == b':')?;
    let scheme = &bytes[..colon];
    let first = *scheme.first()?;
    let valid = first.is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    valid.then_some(colon)
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Stdout => write!(f, "-"),
            Destination::File(path) => write!(f, "{}", path.display()),
            Destination::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            // Shown in errors, the statistics and the metrics: never the password.
            Destination::Postgres(url) | Destination::Clickhouse(url) => {
                write!(f, "{}", shown(url))
            }
            Destination::Syslog(to) => write!(f, "syslog://{to}"),
            Destination::SyslogTcp(to) => write!(f, "syslog+tcp://{to}"),
            Destination::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A destination as `-w` gave it, fit to show in a message: a URL's password, in its user
/// part (`postgres://me:secret@db/logs`) or its query (`?password=secret`), becomes `***`.
/// Anything else is shown as it is.
pub fn shown(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, rest) = rest.split_at(authority_end);
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => out.push_str(&format!("{name}:***@{host}")),
            None => out.push_str(authority),
        },
        None => out.push_str(authority),
    }
    let Some((path, query)) = rest.split_once('?') else {
        out.push_str(rest);
        return out;
    };
    out.push_str(path);
    out.push('?');
    // libpq and ClickHouse both take the password as a query parameter too.
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                out.push_str(key);
                out.push_str("=***");
            }
            _ => out.push_str(pair),
        }
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Result<Destination, DestinationError> {
        Destination::parse(OsStr::new(value))
    }

    #[test]
    fn files_and_standard_output() {
        assert_eq!(parse("-"), Ok(Destination::Stdout));
        assert_eq!(parse("x.pcap"), Ok(Destination::File("x.pcap".into())));
        assert_eq!(
            parse("/var/log/nflog.json"),
            Ok(Destination::File("/var/log/nflog.json".into()))
        );
        // A colon after a slash or a dot-led name is no scheme.
        assert_eq!(parse("./a:b"), Ok(Destination::File("./a:b".into())));
        assert_eq!(parse("logs/a:b"), Ok(Destination::File("logs/a:b".into())));
        assert_eq!(parse("1:2"), Ok(Destination::File("1:2".into())));
        // Not UTF-8: a file name like any other.
        let name = OsStr::from_bytes(b"caf\xe9.txt");
        assert_eq!(
            Destination::parse(name),
            Ok(Destination::File(PathBuf::from(name)))
        );
        assert_eq!(parse(""), Err(DestinationError::Empty));
    }

    #[test]
    fn each_scheme_of_the_sinks() {
        assert_eq!(
            parse("sqlite:/var/log/nflog.db"),
            Ok(Destination::Sqlite("/var/log/nflog.db".into()))
        );
        assert_eq!(
            parse("sqlite:rel.db"),
            Ok(Destination::Sqlite("rel.db".into()))
        );
        assert_eq!(
            parse("postgres://nflog@db.example/logs"),
            Ok(Destination::Postgres(
                "postgres://nflog@db.example/logs".into()
            ))
        );
        assert_eq!(
            parse("postgresql://db/logs?sslmode=require"),
            Ok(Destination::Postgres(
                "postgresql://db/logs?sslmode=require".into()
            ))
        );
        assert_eq!(
            parse("clickhouse://127.0.0.1:8123/logs"),
            Ok(Destination::Clickhouse(
                "clickhouse://127.0.0.1:8123/logs".into()
            ))
        );
        assert_eq!(
            parse("syslog://127.0.0.1:514"),
            Ok(Destination::Syslog("127.0.0.1:514".into()))
        );
        assert_eq!(
            parse("SYSLOG+TCP://[::1]:601"),
            Ok(Destination::SyslogTcp("[::1]:601".into()))
        );
        assert_eq!(
            parse("unix:/dev/log"),
            Ok(Destination::Unix("/dev/log".into()))
        );
        // Each prints back as written (schemes in lower case).
        for value in [
            "-",
            "x.pcap",
            "sqlite:/var/log/nflog.db",
            "postgres://nflog@db.example/logs",
            "clickhouse://127.0.0.1:8123/logs",
            "syslog://127.0.0.1:514",
            "syslog+tcp://[::1]:601",
            "unix:/dev/log",
        ] {
            assert_eq!(parse(value).unwrap().to_string(), value);
        }
    }

    #[test]
    fn an_unknown_scheme_is_an_error_not_a_file() {
        let e = parse("postgress://db/logs").unwrap_err();
        assert_eq!(
            e,
            DestinationError::UnknownScheme {
                scheme: "postgress".into()
            }
        );
        let text = e.to_string();
        assert!(
            text.starts_with("unknown destination scheme `postgress:`"),
            "{text}"
        );
        assert!(text.contains("postgres://USER@HOST/DB"), "{text}");
        assert!(text.contains("./NAME"), "{text}");
        assert!(matches!(
            parse("mysql:db"),
            Err(DestinationError::UnknownScheme { .. })
        ));
    }

    #[test]
    fn a_scheme_without_its_target_is_an_error() {
        for (value, scheme) in [
            ("sqlite:", "sqlite"),
            ("unix:", "unix"),
            ("syslog:", "syslog"),
            ("syslog://", "syslog"),
            ("syslog+tcp:host", "syslog+tcp"),
            ("postgres:", "postgres"),
            ("clickhouse://", "clickhouse"),
        ] {
            match parse(value) {
                Err(DestinationError::Incomplete { scheme: s, .. }) => {
                    assert_eq!(s, scheme, "{value}")
                }
                other => panic!("{value}: {other:?}"),
            }
        }
        assert_eq!(
            parse("sqlite:").unwrap_err().to_string(),
            "`sqlite:` needs a database file, as in sqlite:/var/log/nflog.db"
        );
    }

    #[test]
    fn a_url_never_shows_its_password() {
        // Regression: the statistics, the errors of -w and of the sinks showed a database
        // URL whole, password included.
        for (value, expected) in [
            (
                "postgres://me:secret@db:5432/logs",
                "postgres://me:***@db:5432/logs",
            ),
            (
                "postgresql://me:se:cr@et@db/logs?sslmode=require",
                "postgresql://me:***@db/logs?sslmode=require",
            ),
            (
                "postgres://db/logs?user=me&password=secret&sslmode=require",
                "postgres://db/logs?user=me&password=***&sslmode=require",
            ),
            (
                "clickhouse://default:secret@127.0.0.1:8123/logs?PASSWORD=x#y",
                "clickhouse://default:***@127.0.0.1:8123/logs?PASSWORD=***#y",
            ),
            ("postgres://me@db/logs", "postgres://me@db/logs"),
            ("clickhouse://db:8123/x", "clickhouse://db:8123/x"),
            ("/var/log/a:b@c.json", "/var/log/a:b@c.json"),
        ] {
            assert_eq!(shown(value), expected, "{value}");
            if let Ok(destination) = parse(value) {
                assert!(!destination.to_string().contains("secret"), "{value}");
            }
        }
        // What a user sees of a mistyped scheme: the value, without the password.
        assert_eq!(
            shown("postgress://me:secret@db/logs"),
            "postgress://me:***@db/logs"
        );
    }

    #[test]
    fn the_files_two_outputs_could_share() {
        assert_eq!(parse("a.json").unwrap().file(), Some(Path::new("a.json")));
        assert_eq!(
            parse("sqlite:a.db").unwrap().file(),
            Some(Path::new("a.db"))
        );
        assert_eq!(parse("-").unwrap().file(), None);
        assert_eq!(parse("syslog://h:514").unwrap().file(), None);
    }
}
