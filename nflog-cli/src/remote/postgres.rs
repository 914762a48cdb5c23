//! The PostgreSQL sink, `-w postgres://USER@HOST[:PORT]/DB`: the packet table with native
//! types (`timestamptz`, `inet`, `bytea`), created if missing, rows sent with `COPY ... FROM
//! STDIN` in text format, one transaction per batch.
//!
//! The URL is libpq's (`sslmode=require` for TLS, `password`, `connect_timeout`, ...), plus
//! `table=NAME` (default `nflog`) and `backlog=BYTES`. `sslmode=prefer` and `require`
//! encrypt without checking the server's certificate, as libpq does; `verify-full` checks it
//! against the system's roots, or the file `sslrootcert=PATH` names.
//!
//! Each batch's id goes into `TABLE_batches` (hostname, batch, rows) in the transaction of
//! its rows, so after a connection broke during a commit the shipper asks that table
//! whether the commit happened (see the parent module).

use std::fmt::Write as _;
use std::io::Write as _;
use std::str::FromStr;
use std::time::Duration;

use nflog::format::{Column, ColumnType, Row, Value, COLUMNS, COLUMNS_WITH_RAW, RAW_PKT};
use postgres::config::SslMode;
use postgres::{Client, Config};

use super::{Batch, Failure, Server};

/// How long a connection attempt may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How TLS is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tls {
    /// `sslmode=disable`, or no TLS connector needed.
    Off,
    /// `sslmode=prefer` or `require`: encrypted, the certificate unchecked (libpq's rule).
    Unchecked,
    /// `sslmode=verify-full`: the certificate checked against the roots and the host name.
    Verified {
        /// `sslrootcert=PATH`: the roots to trust instead of the system's.
        root: Option<String>,
    },
}

/// A PostgreSQL server, as the URL names it.
pub struct Postgres {
    config: Config,
    tls: Tls,
    table: String,
    /// This host's name, as the `hostname` column holds it.
    host: String,
    /// The host name escaped for COPY's text format, with the tab after it.
    host_field: Vec<u8>,
    /// The columns rows have: [`COLUMNS`], or with `raw_pkt` too.
    columns: &'static [Column],
    client: Option<Client>,
}

impl Postgres {
    /// The server `url` names (its sink options already split off by
    /// [`sink_options`](super::sink_options)), writing to `table` as `host`, with the
    /// packet's bytes in `raw_pkt` when `raw`.
    ///
    /// # Errors
    ///
    /// A URL that libpq's rules do not accept, or an `sslmode` we cannot honour.
    pub fn new(url: &str, table: &str, host: &str, raw: bool) -> Result<Postgres, String> {
        let (url, tls) = split_tls(url)?;
        let mut config = Config::from_str(&url).map_err(|e| format!("the URL: {e}"))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.keepalives(true);
        config.keepalives_idle(Duration::from_secs(30));
        let tls = match (config.get_ssl_mode(), tls) {
            (SslMode::Disable, _) => Tls::Off,
            (_, Some(verified)) => verified,
            _ => Tls::Unchecked,
        };
        let mut host_field = Vec::new();
        push_text(&mut host_field, host);
        host_field.push(b'\t');
        Ok(Postgres {
            config,
            tls,
            table: table.to_string(),
            host: host.to_string(),
            host_field,
            columns: if raw { COLUMNS_WITH_RAW } else { COLUMNS },
            client: None,
        })
    }

    /// The statements that create the table, its indexes and the batch table.
    pub fn schema(table: &str) -> String {
        let mut sql = format!("CREATE TABLE IF NOT EXISTS {table} (\n    hostname text NOT NULL");
        for column in COLUMNS {
            let _ = write!(sql, ",\n    {} {}", column.name, sql_type(column.kind));
        }
        let _ = write!(
            sql,
            "\n);\nCREATE INDEX IF NOT EXISTS {table}_time ON {table} (time);\n\
             CREATE INDEX IF NOT EXISTS {table}_oob_prefix ON {table} (oob_prefix);\n\
             CREATE TABLE IF NOT EXISTS {table}_batches (\n    hostname text NOT NULL,\n    \
             batch bigint NOT NULL,\n    rows bigint NOT NULL,\n    \
             committed timestamptz NOT NULL DEFAULT now(),\n    PRIMARY KEY (hostname, batch)\n);\n"
        );
        sql
    }

    fn copy_statement(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        format!(
            "COPY {} (hostname, {}) FROM STDIN",
            self.table,
            names.join(", ")
        )
    }

    fn open(&self) -> Result<Client, postgres::Error> {
        match &self.tls {
            Tls::Off => self.config.connect(postgres::NoTls),
            tls => {
                let mut builder = native_tls::TlsConnector::builder();
                match tls {
                    Tls::Verified { root: Some(path) } => {
                        if let Some(cert) = std::fs::read(path)
                            .ok()
                            .and_then(|pem| native_tls::Certificate::from_pem(&pem).ok())
                        {
                            builder.add_root_certificate(cert);
                        }
                    }
                    Tls::Verified { root: None } => {}
                    _ => {
                        builder
                            .danger_accept_invalid_certs(true)
                            .danger_accept_invalid_hostnames(true);
                    }
                }
                match builder.build() {
                    Ok(connector) => self
                        .config
                        .connect(postgres_native_tls::MakeTlsConnector::new(connector)),
                    // No TLS library to be had: say so at the connection, where the user
                    // sees it with the URL.
                    Err(e) => self.config.connect(Refuse(e.to_string())),
                }
            }
        }
    }
}

/// A TLS maker that refuses, carrying why TLS could not be set up.
#[derive(Clone)]
struct Refuse(String);

impl<S> postgres::tls::MakeTlsConnect<S> for Refuse {
    type Stream = postgres::tls::NoTlsStream;
    type TlsConnect = postgres::tls::NoTls;
    type Error = std::io::Error;

    fn make_tls_connect(&mut self, _: &str) -> Result<Self::TlsConnect, Self::Error> {
        Err(std::io::Error::other(format!("TLS: {}", self.0)))
    }
}

/// Splits `sslmode=verify-full` / `verify-ca` and `sslrootcert` (which the client library
/// does not know) off the URL: the URL with `sslmode=require` in their place, and how to
/// check the certificate.
fn split_tls(url: &str) -> Result<(String, Option<Tls>), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), None));
    };
    let mut verify = false;
    let mut root = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", "verify-full")) => {
                verify = true;
                kept.push("sslmode=require".to_string());
            }
            Some(("sslmode", "verify-ca")) => {
                return Err(
                    "sslmode=verify-ca: use verify-full (checks the host name too) \
                            or require"
                        .to_string(),
                )
            }
            Some(("sslrootcert", path)) => root = Some(path.to_string()),
            _ => kept.push(pair.to_string()),
        }
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, verify.then_some(Tls::Verified { root })))
}

/// The PostgreSQL type of a column.
fn sql_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Time => "timestamptz",
        ColumnType::Bool => "boolean",
        ColumnType::U8 => "smallint",
        ColumnType::U16 => "integer",
        ColumnType::U32 | ColumnType::U64 => "bigint",
        ColumnType::Text => "text",
        ColumnType::Address => "inet",
        ColumnType::Bytes => "bytea",
        _ => "text",
    }
}

/// Whether a failure leaves the connection usable and the batch rolled back for good (an
/// error the server answered), or says nothing of the commit (the connection broke, or
/// the server is shutting down, out of resources, or cancelled us: try again).
fn classify(e: &postgres::Error) -> Failure {
    let text = e.to_string();
    match e.as_db_error() {
        Some(db) if !e.is_closed() => {
            let code = db.code().code();
            let fatal = matches!(db.severity(), "FATAL" | "PANIC");
            let transient = ["08", "53", "57", "40"].iter().any(|c| code.starts_with(c));
            if fatal || transient {
                Failure::Broken(text)
            } else {
                Failure::Refused(text)
            }
        }
        _ => Failure::Broken(text),
    }
}

impl Server for Postgres {
    fn encode(&mut self, row: &Row, _batch: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.host_field);
        for (i, (column, value)) in row.values().enumerate() {
            if i > 0 {
                out.push(b'\t');
            }
            match value {
                Value::Null => out.extend_from_slice(b"\\N"),
                Value::Int(n) => match column.kind {
                    ColumnType::Time => push_time(out, n),
                    ColumnType::Bool => out.push(if n != 0 { b't' } else { b'f' }),
                    _ => {
                        let _ = write!(out, "{n}");
                    }
                },
                Value::Text(text) => push_text(out, text),
                Value::Bytes(bytes) => {
                    // bytea's hex input, its backslash doubled for COPY.
                    out.extend_from_slice(b"\\\\x");
                    for byte in bytes {
                        let _ = write!(out, "{byte:02x}");
                    }
                }
            }
        }
        out.push(b'\n');
    }

    fn connect(&mut self) -> Result<(), String> {
        if self.client.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        self.client = None;
        let mut client = self.open().map_err(|e| describe(&e))?;
        let mut schema = Postgres::schema(&self.table);
        if self.columns.len() > COLUMNS.len() {
            // Also to a table made without it, by a run without raw.
            let _ = writeln!(
                schema,
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {};",
                self.table,
                RAW_PKT.name,
                sql_type(RAW_PKT.kind)
            );
        }
        client
            .batch_execute(&schema)
            .map_err(|e| format!("creating table {}: {}", self.table, describe(&e)))?;
        self.client = Some(client);
        Ok(())
    }

    fn send(&mut self, batch: &Batch) -> Result<(), Failure> {
        let copy = self.copy_statement();
        let mark = format!(
            "INSERT INTO {}_batches (hostname, batch, rows) VALUES ($1, $2, $3)",
            self.table
        );
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| Failure::Broken("not connected".to_string()))?;
        let mut tx = client.transaction().map_err(|e| classify(&e))?;
        let mut writer = tx.copy_in(&copy).map_err(|e| classify(&e))?;
        if let Err(e) = writer.write_all(&batch.data) {
            return Err(Failure::Broken(e.to_string()));
        }
        writer.finish().map_err(|e| classify(&e))?;
        let (id, rows) = (batch.id as i64, batch.rows as i64);
        tx.execute(&mark, &[&self.host, &id, &rows])
            .map_err(|e| classify(&e))?;
        tx.commit().map_err(|e| classify(&e))
    }

    fn committed(&mut self, batch: &Batch) -> Result<bool, String> {
        let client = self.client.as_mut().ok_or("not connected")?;
        let query = format!(
            "SELECT 1 FROM {}_batches WHERE hostname = $1 AND batch = $2",
            self.table
        );
        client
            .query_opt(&query, &[&self.host, &(batch.id as i64)])
            .map(|row| row.is_some())
            .map_err(|e| describe(&e))
    }

    fn disconnect(&mut self) {
        self.client = None;
    }
}

/// A client error with its cause: the crate's own text says "error connecting to server"
/// and leaves out why.
fn describe(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Text in COPY's text format: backslash, tab, newline and carriage return escaped.
fn push_text(out: &mut Vec<u8>, text: &str) {
    for &byte in text.as_bytes() {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

/// Microseconds since 1970 as a `timestamptz` literal in UTC,
/// `YYYY-MM-DD HH:MM:SS.uuuuuu+00`.
fn push_time(out: &mut Vec<u8>, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let usec = micros.rem_euclid(1_000_000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{usec:06}+00",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// The date of a day counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc_with_microseconds() {
        let mut out = Vec::new();
        push_time(&mut out, 1_764_581_696_123_456);
        assert_eq!(out, b"2025-12-01 09:34:56.123456+00");
        out.clear();
        push_time(&mut out, 0);
        assert_eq!(out, b"1970-01-01 00:00:00.000000+00");
        out.clear();
        push_time(&mut out, 951_782_400_000_001); // 2000-02-29, a leap day
        assert_eq!(out, b"2000-02-29 00:00:00.000001+00");
    }

    #[test]
    fn copy_text_escapes_what_copy_reads_as_control() {
        let mut out = Vec::new();
        push_text(&mut out, "a\tb\\c\nd\re");
        assert_eq!(out, b"a\\tb\\\\c\\nd\\re");
    }

    #[test]
    fn verify_full_becomes_require_with_checking() {
        let (url, tls) =
            split_tls("postgres://u@h/db?sslmode=verify-full&sslrootcert=/ca.pem&x=1").unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=require&x=1");
        assert_eq!(
            tls,
            Some(Tls::Verified {
                root: Some("/ca.pem".to_string())
            })
        );
        let (url, tls) = split_tls("postgres://u@h/db?sslmode=require").unwrap();
        assert_eq!(url, "postgres://u@h/db?sslmode=require");
        assert_eq!(tls, None);
        assert!(split_tls("postgres://u@h/db?sslmode=verify-ca").is_err());
    }

    #[test]
    fn the_url_decides_tls() {
        let plain = Postgres::new("postgres://u@127.0.0.1/db", "t", "h", false).unwrap();
        assert_eq!(plain.tls, Tls::Unchecked, "prefer, libpq's default");
        let off =
            Postgres::new("postgres://u@127.0.0.1/db?sslmode=disable", "t", "h", false).unwrap();
        assert_eq!(off.tls, Tls::Off);
        let e = Postgres::new("postgres://u@127.0.0.1/db?nonsense=1", "t", "h", false)
            .err()
            .unwrap();
        assert!(e.starts_with("the URL: "), "{e}");
    }

    #[test]
    fn the_schema_has_every_column_with_a_native_type() {
        let sql = Postgres::schema("nflog");
        assert!(
            sql.contains("    hostname text NOT NULL,\n    time timestamptz,"),
            "{sql}"
        );
        assert!(sql.contains("    ip_saddr_str inet,"), "{sql}");
        assert!(sql.contains("    ip_saddr_bin bytea,"), "{sql}");
        assert!(sql.contains("    tcp_syn boolean,"), "{sql}");
        for column in COLUMNS {
            assert!(
                sql.contains(&format!("    {} ", column.name)),
                "{}",
                column.name
            );
        }
    }
}
