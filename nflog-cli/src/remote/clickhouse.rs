//! The ClickHouse sink, `-w clickhouse://[USER[:PASSWORD]@]HOST:PORT/DB`: the packet table
//! as a MergeTree ordered by time, created if missing, rows sent over the HTTP interface in
//! one `INSERT ... FORMAT RowBinary` per batch.
//!
//! Types are those ClickHouse 18.16 (Debian's) already has, which current releases keep:
//! `time` is a `DateTime` (seconds; the microseconds are in `oob_time_usec`), addresses are
//! `String`s, every column but `time` is `Nullable`. The `nflog_batch` column holds the id of
//! the batch a row came in: an INSERT of one block is atomic, so after a connection broke
//! the shipper counts the rows of that id to learn whether it was committed.
//!
//! HTTP/1.1 over a TCP stream of our own, one connection per request (`Connection: close`):
//! a batch is a large request, so the handshake is noise, and a server that went away is
//! never found out on a stale kept-alive connection.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use nflog::format::{Column, ColumnType, Row, Value, COLUMNS, COLUMNS_WITH_RAW, RAW_PKT};

use super::{Batch, Failure, Server};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server may take to answer one request.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// ClickHouse error codes that say "not now" rather than "never": too many parts, memory,
/// too many queries, a timeout, the network. A batch refused with one is sent again.
const TRANSIENT: &[u32] = &[159, 202, 209, 210, 241, 252];

/// A ClickHouse server's HTTP interface, as the URL names it.
pub struct ClickHouse {
    /// `HOST:PORT`.
    address: String,
    database: String,
    table: String,
    user: Option<String>,
    password: Option<String>,
    /// This host's name, as the `hostname` column holds it.
    host: String,
    /// The columns rows have: [`COLUMNS`], or with `raw_pkt` too.
    columns: &'static [Column],
}

impl ClickHouse {
    /// The server `url` names (its sink options already split off by
    /// [`sink_options`](super::sink_options)), writing to `table` as `host`, with the
    /// packet's bytes in `raw_pkt` when `raw`.
    ///
    /// # Errors
    ///
    /// A URL without a host and port, or with a database name that is not a plain
    /// identifier.
    pub fn new(url: &str, table: &str, host: &str, raw: bool) -> Result<ClickHouse, String> {
        let rest = url
            .strip_prefix("clickhouse://")
            .ok_or("the URL must start with clickhouse://")?;
        if let Some((_, query)) = rest.split_once('?') {
            return Err(format!(
                "unknown option ?{query}: a clickhouse:// URL takes table=NAME and backlog=BYTES"
            ));
        }
        let (authority, database) = rest.split_once('/').unwrap_or((rest, "default"));
        let database = if database.is_empty() {
            "default"
        } else {
            database
        };
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "database {database:?}: a database name is letters, digits and _"
            ));
        }
        let (credentials, address) = match authority.rsplit_once('@') {
            Some((credentials, address)) => (Some(credentials), address),
            None => (None, authority),
        };
        let (user, password) = match credentials.map(|c| c.split_once(':').unwrap_or((c, ""))) {
            Some((user, password)) => (
                Some(percent_decode(user)),
                Some(percent_decode(password)).filter(|p| !p.is_empty()),
            ),
            None => (None, None),
        };
        let has_port = address
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !has_port {
            return Err(format!(
                "{address:?}: give the HTTP interface's host and port, as clickhouse://HOST:8123/DB"
            ));
        }
        Ok(ClickHouse {
            address: address.to_string(),
            database: database.to_string(),
            table: table.to_string(),
            user,
            password,
            host: host.to_string(),
            columns: if raw { COLUMNS_WITH_RAW } else { COLUMNS },
        })
    }

    /// The statements that create the database and the table: the DDL the docs show.
    pub fn schema(database: &str, table: &str) -> [String; 2] {
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {database}.{table} (\n    hostname String,\n    \
             nflog_batch UInt64"
        );
        for column in COLUMNS {
            let _ = write!(sql, ",\n    {} {}", column.name, column_type(column.kind));
        }
        sql.push_str(
            "\n) ENGINE = MergeTree()\nPARTITION BY toYYYYMM(time)\nORDER BY (time, hostname)",
        );
        [format!("CREATE DATABASE IF NOT EXISTS {database}"), sql]
    }

    /// Sends `query` (in the URL) with `body`; the answer's body, or why there is none.
    fn request(&self, query: &str, body: &[u8]) -> Result<String, Failure> {
        let broken = |what: &str, e: std::io::Error| Failure::Broken(format!("{what}: {e}"));
        let address = self
            .address
            .to_socket_addrs()
            .map_err(|e| broken(&self.address, e))?
            .next()
            .ok_or_else(|| Failure::Broken(format!("{}: no address", self.address)))?;
        let mut stream = TcpStream::connect_timeout(&address, CONNECT_TIMEOUT)
            .map_err(|e| broken("connect", e))?;
        stream
            .set_read_timeout(Some(ANSWER_TIMEOUT))
            .and_then(|()| stream.set_write_timeout(Some(ANSWER_TIMEOUT)))
            .map_err(|e| broken("socket", e))?;
        // Names are qualified with the database in every statement: a `database=`
        // parameter would fail the CREATE DATABASE of a database not there yet.
        let mut target = "/?query=".to_string();
        percent_encode(&mut target, query);
        for (name, value) in [("user", &self.user), ("password", &self.password)] {
            if let Some(value) = value {
                let _ = write!(target, "&{name}=");
                percent_encode(&mut target, value);
            }
        }
        let head = format!(
            "POST {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            self.address,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body))
            .map_err(|e| broken("sending", e))?;
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .map_err(|e| broken("reading the answer", e))?;
        let (status, body) = parse_answer(&answer)
            .ok_or_else(|| Failure::Broken("the connection closed before an answer".to_string()))?;
        if status == 200 {
            return Ok(body);
        }
        let message = format!("HTTP {status}: {}", body.trim());
        match error_code(&body) {
            Some(code) if TRANSIENT.contains(&code) => Err(Failure::Broken(message)),
            _ if status >= 500 && error_code(&body).is_none() => Err(Failure::Broken(message)),
            _ => Err(Failure::Refused(message)),
        }
    }
}

/// The ClickHouse type of a column.
fn column_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Time => "DateTime",
        ColumnType::Bool | ColumnType::U8 => "Nullable(UInt8)",
        ColumnType::U16 => "Nullable(UInt16)",
        ColumnType::U32 => "Nullable(UInt32)",
        ColumnType::U64 => "Nullable(UInt64)",
        _ => "Nullable(String)",
    }
}

impl Server for ClickHouse {
    fn encode(&mut self, row: &Row, batch: u64, out: &mut Vec<u8>) {
        push_string(out, self.host.as_bytes());
        out.extend_from_slice(&batch.to_le_bytes());
        for (column, value) in row.values() {
            if column.kind == ColumnType::Time {
                let micros = match value {
                    Value::Int(n) => n,
                    _ => 0,
                };
                let secs = u32::try_from(micros.div_euclid(1_000_000)).unwrap_or(u32::MAX);
                out.extend_from_slice(&secs.to_le_bytes());
                continue;
            }
            // Nullable: a byte, 1 for NULL, else 0 and the value.
            match value {
                Value::Null => out.push(1),
                Value::Int(n) => {
                    out.push(0);
                    match column.kind {
                        ColumnType::Bool | ColumnType::U8 => out.push(n as u8),
                        ColumnType::U16 => out.extend_from_slice(&(n as u16).to_le_bytes()),
                        ColumnType::U32 => out.extend_from_slice(&(n as u32).to_le_bytes()),
                        ColumnType::U64 => out.extend_from_slice(&(n as u64).to_le_bytes()),
                        _ => push_string(out, n.to_string().as_bytes()),
                    }
                }
                Value::Text(text) => {
                    out.push(0);
                    push_string(out, text.as_bytes());
                }
                Value::Bytes(bytes) => {
                    out.push(0);
                    push_string(out, bytes);
                }
            }
        }
    }

    fn connect(&mut self) -> Result<(), String> {
        let text = |e| match e {
            Failure::Refused(e) | Failure::Broken(e) => e,
        };
        for statement in ClickHouse::schema(&self.database, &self.table) {
            self.request(&statement, b"").map_err(text)?;
        }
        if self.columns.len() > COLUMNS.len() {
            // Also to a table made without it, by a run without raw. (ClickHouse 18.16 has
            // no ADD COLUMN IF NOT EXISTS: ask first.)
            let present = self
                .request(
                    &format!(
                        "SELECT count() FROM system.columns WHERE database = '{}' AND \
                         table = '{}' AND name = '{}'",
                        self.database, self.table, RAW_PKT.name
                    ),
                    b"",
                )
                .map_err(text)?;
            if present.trim() == "0" {
                let alter = format!(
                    "ALTER TABLE {}.{} ADD COLUMN {} {}",
                    self.database,
                    self.table,
                    RAW_PKT.name,
                    column_type(RAW_PKT.kind)
                );
                self.request(&alter, b"").map_err(text)?;
            }
        }
        Ok(())
    }

    fn send(&mut self, batch: &Batch) -> Result<(), Failure> {
        // The columns named: a table may have more than this run writes (raw_pkt).
        let mut query = format!(
            "INSERT INTO {}.{} (hostname, nflog_batch",
            self.database, self.table
        );
        for column in self.columns {
            query.push_str(", ");
            query.push_str(column.name);
        }
        query.push_str(") FORMAT RowBinary");
        self.request(&query, &batch.data).map(|_| ())
    }

    fn committed(&mut self, batch: &Batch) -> Result<bool, String> {
        let since = batch.first_time.div_euclid(1_000_000);
        let mut query = format!(
            "SELECT count() FROM {}.{} WHERE time >= toDateTime({since}) AND nflog_batch = {} \
             AND hostname = '",
            self.database, self.table, batch.id
        );
        for c in self.host.chars() {
            if c == '\'' || c == '\\' {
                query.push('\\');
            }
            query.push(c);
        }
        query.push('\'');
        let answer = self.request(&query, b"").map_err(|e| match e {
            Failure::Refused(e) | Failure::Broken(e) => e,
        })?;
        let rows: u64 = answer
            .trim()
            .parse()
            .map_err(|_| format!("count of batch {}: {answer:?}", batch.id))?;
        match rows {
            0 => Ok(false),
            n if n == batch.rows => Ok(true),
            n => Err(format!(
                "batch {} has {n} of its {} rows in the table",
                batch.id, batch.rows
            )),
        }
    }

    fn disconnect(&mut self) {}
}

/// A string in RowBinary: its length as LEB128, then its bytes.
fn push_string(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut len = bytes.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(bytes);
}

/// `text` percent-encoded for a URL's query, every byte but the unreserved ones.
fn percent_encode(out: &mut String, text: &str) {
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// `%XX` sequences of a URL's user or password (or a sink option) decoded (others kept as
/// they are).
pub(super) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The status and body of an HTTP/1.1 answer (a chunked body decoded); `None` when it is
/// not one.
fn parse_answer(answer: &[u8]) -> Option<(u16, String)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..end]).ok()?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut body = &answer[end + 4..];
    let chunked = head.lines().any(|line| {
        line.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    if !chunked {
        return Some((status, String::from_utf8_lossy(body).into_owned()));
    }
    let mut decoded = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            break;
        }
        decoded.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
    Some((status, String::from_utf8_lossy(&decoded).into_owned()))
}

/// The code of a ClickHouse error text, `Code: 252, e.displayText() = ...`.
fn error_code(body: &str) -> Option<u32> {
    let rest = body.trim_start().strip_prefix("Code: ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_server_database_and_credentials() {
        let ch = ClickHouse::new("clickhouse://127.0.0.1:8123/logs", "t", "h", false).unwrap();
        assert_eq!(
            (
                ch.address.as_str(),
                ch.database.as_str(),
                ch.user,
                ch.password
            ),
            ("127.0.0.1:8123", "logs", None, None)
        );
        let ch = ClickHouse::new("clickhouse://me:p%40ss@db:8123/", "t", "h", false).unwrap();
        assert_eq!(ch.database, "default");
        assert_eq!(ch.user.as_deref(), Some("me"));
        assert_eq!(ch.password.as_deref(), Some("p@ss"));
        for bad in [
            "clickhouse://db/logs",
            "clickhouse://db:x/logs",
            "clickhouse://db:8123/lo;gs",
            "clickhouse://db:8123/logs?x=1",
        ] {
            assert!(ClickHouse::new(bad, "t", "h", false).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_plain_and_chunked_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n42\n";
        assert_eq!(parse_answer(plain), Some((200, "42\n".to_string())));
        let chunked = b"HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n\
                        5\r\nCode:\r\n6\r\n 252, \r\n0\r\n\r\n";
        let (status, body) = parse_answer(chunked).unwrap();
        assert_eq!((status, body.as_str()), (500, "Code: 252, "));
        assert_eq!(error_code(&body), Some(252));
        assert_eq!(parse_answer(b"HTTP/1.1 200 OK\r\n"), None);
    }

    #[test]
    fn strings_carry_their_length_as_leb128() {
        let mut out = Vec::new();
        push_string(&mut out, &[7; 300]);
        assert_eq!(&out[..2], &[0xac, 0x02]);
        assert_eq!(out.len(), 302);
    }

    #[test]
    fn the_schema_orders_by_time_with_every_column() {
        let [database, table] = ClickHouse::schema("logs", "nflog");
        assert_eq!(database, "CREATE DATABASE IF NOT EXISTS logs");
        assert!(table.contains("    time DateTime,\n"), "{table}");
        assert!(table.contains("ORDER BY (time, hostname)"), "{table}");
        for column in COLUMNS {
            assert!(
                table.contains(&format!("    {} ", column.name)),
                "{}",
                column.name
            );
        }
    }
}
