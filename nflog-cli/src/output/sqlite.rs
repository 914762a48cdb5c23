//! `-w sqlite:PATH`: each packet one row of table `nflog` in an SQLite database, in the
//! columns of [`nflog::format::COLUMNS`] (ulogd2's SQL names).
//!
//! The database is opened in WAL mode with `synchronous=NORMAL`: a commit is an append to
//! the log, not an fsync, and readers (`sqlite3 PATH 'SELECT ...'`) never block the writer.
//! Rows are inserted in one transaction per batch, committed when the writer has caught up
//! with the queue, every [`BATCH_ROWS`] rows, or [`BATCH_AGE`] after the batch began;
//! only committed rows count as delivered. A commit that fails (a full disk) is rolled
//! back: its rows are counted as dropped with SQLite's reason, a warning says so, and the
//! next batch tries again, so a full disk loses what it must and nothing after room
//! returns. With `--retain DAYS` a thread of its own, on a connection of its own, deletes
//! rows older than that at start and every [`RETAIN_EVERY`] after, a few thousand at a
//! time so the writer never waits long for the database.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use nflog::format::{self, Column, ColumnType, ResolveInterface, Row, Value, COLUMNS, RAW_PKT};
use nflog::pcap::InterfaceStats;
use nflog::Packet;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;

use super::{warn, Dropped, Output};

/// The table the rows go to.
pub const TABLE: &str = "nflog";

/// Rows after which a batch is committed even if the writer has not caught up.
pub const BATCH_ROWS: u64 = 8192;

/// Age after which a batch is committed even if the writer has not caught up, so that a
/// steady stream becomes visible to readers.
pub const BATCH_AGE: Duration = Duration::from_secs(1);

/// How often `--retain` deletes old rows after the first time, at start.
pub const RETAIN_EVERY: Duration = Duration::from_secs(600);

/// Rows `--retain` deletes in one statement: a short write lock each.
const DELETE_CHUNK: u32 = 5000;

/// How long a connection waits for the other (writer or retention) to release the
/// database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite type of a column: integers, text (times as `YYYY-MM-DD HH:MM:SS.ffffff` in
/// UTC, which SQLite's date functions read and which sorts as time does), blobs.
fn sql_type(kind: ColumnType) -> &'static str {
    match kind {
        ColumnType::Time | ColumnType::Text | ColumnType::Address => "TEXT",
        ColumnType::Bytes => "BLOB",
        _ => "INTEGER",
    }
}

/// The statements that create the table of [`COLUMNS`] and its indexes, if missing.
pub fn schema() -> String {
    let mut sql = format!("CREATE TABLE IF NOT EXISTS {TABLE} (\n  id INTEGER PRIMARY KEY");
    for column in COLUMNS {
        let _ = write!(sql, ",\n  {} {}", column.name, sql_type(column.kind));
    }
    sql.push_str("\n);\n");
    let _ = write!(
        sql,
        "CREATE INDEX IF NOT EXISTS {TABLE}_time ON {TABLE}(time);\n\
         CREATE INDEX IF NOT EXISTS {TABLE}_oob_prefix ON {TABLE}(oob_prefix);\n"
    );
    sql
}

/// The statement that inserts one row of `columns`.
fn insert(columns: &[Column]) -> String {
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {TABLE} ({}) VALUES ({})",
        names.join(", "),
        marks.join(", ")
    )
}

/// An SQLite database as an output.
pub struct Sqlite {
    db: Connection,
    path: PathBuf,
    insert: String,
    row: Row,
    /// The text of the `time` column, rewritten for each row.
    time: String,
    /// Whether a transaction is open, and since when.
    batch_started: Option<Instant>,
    /// Rows inserted in the open transaction.
    pending: u64,
    delivered: u64,
    /// Rows whose transaction failed, and SQLite's reason for the last failure.
    failed: u64,
    reason: Option<String>,
    retention: Option<Retention>,
}

impl Sqlite {
    /// Opens (or creates) the database at `path` with its table and indexes; with `retain`,
    /// starts deleting rows older than that many days; with `raw`, writes the packet's
    /// bytes too, in column `raw_pkt` (added to a table made without it).
    ///
    /// # Errors
    ///
    /// A database that cannot be opened or written, or whose table `nflog` lacks columns
    /// this version writes; each names `-w sqlite:PATH`.
    pub fn open(path: &Path, retain: Option<u32>, raw: bool) -> Result<Sqlite> {
        let context = || {
            format!(
                "-w sqlite:{}: cannot use the database: choose a writable path",
                path.display()
            )
        };
        let db = Connection::open(path).with_context(context)?;
        let mode: String = db
            .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
            .with_context(context)?;
        if !mode.eq_ignore_ascii_case("wal") {
            anyhow::bail!(
                "-w sqlite:{}: the database refused WAL mode (journal mode {mode}): \
                 choose a database on a local filesystem",
                path.display()
            );
        }
        db.pragma_update(None, "synchronous", "NORMAL")
            .with_context(context)?;
        db.busy_timeout(BUSY_TIMEOUT).with_context(context)?;
        let row = if raw { Row::with_raw() } else { Row::new() };
        db.execute_batch(&schema()).with_context(context)?;
        // raw_pkt is added last, also to a table made without it, by a run without raw.
        if raw {
            add_raw_column(&db).with_context(context)?;
        }
        let insert = insert(row.columns());
        db.prepare_cached(&insert).with_context(|| {
            format!(
                "-w sqlite:{}: table {TABLE} exists with other columns than this nflog \
                 writes: give another database, or rename the table",
                path.display()
            )
        })?;
        let retention = retain
            .map(|days| Retention::start(path, days))
            .transpose()?;
        Ok(Sqlite {
            db,
            path: path.to_path_buf(),
            insert,
            row,
            time: String::with_capacity(32),
            batch_started: None,
            pending: 0,
            delivered: 0,
            failed: 0,
            reason: None,
            retention,
        })
    }

    /// Inserts the row, in a transaction begun if none is open.
    fn insert_row(&mut self) -> rusqlite::Result<()> {
        if self.batch_started.is_none() {
            // IMMEDIATE: take the write lock now, waiting for the retention thread if it
            // holds it, rather than fail on the first insert.
            self.db.execute_batch("BEGIN IMMEDIATE")?;
            self.batch_started = Some(Instant::now());
        }
        let mut insert = self.db.prepare_cached(&self.insert)?;
        for (index, (column, value)) in self.row.values().enumerate() {
            let value = match (column.kind, value) {
                (ColumnType::Time, Value::Int(micros)) => {
                    self.time.clear();
                    write_time(&mut self.time, micros);
                    ValueRef::Text(self.time.as_bytes())
                }
                (_, Value::Null) => ValueRef::Null,
                (_, Value::Int(n)) => ValueRef::Integer(n),
                (_, Value::Text(text)) => ValueRef::Text(text.as_bytes()),
                (_, Value::Bytes(bytes)) => ValueRef::Blob(bytes),
            };
            insert.raw_bind_parameter(index + 1, ToSqlOutput::Borrowed(value))?;
        }
        insert.raw_execute()?;
        Ok(())
    }

    /// Commits the open transaction, if any: its rows are delivered, or, if the commit
    /// fails, rolled back and counted as dropped.
    fn commit(&mut self) {
        if self.batch_started.take().is_none() {
            return;
        }
        let rows = std::mem::take(&mut self.pending);
        match self.db.execute_batch("COMMIT") {
            Ok(()) => self.delivered += rows,
            Err(e) => self.lose(rows, &e),
        }
    }

    /// Rolls back the open transaction after `error`: its `rows` are dropped.
    fn lose(&mut self, rows: u64, error: &rusqlite::Error) {
        // A failed COMMIT (SQLITE_FULL) can leave the transaction open; a failed BEGIN
        // leaves none, and ROLLBACK then fails harmlessly.
        let _ = self.db.execute_batch("ROLLBACK");
        self.batch_started = None;
        self.pending = 0;
        let reason = error.to_string();
        if self.failed == 0 || self.reason.as_deref() != Some(reason.as_str()) {
            warn(&format!(
                "nflog: -w sqlite:{}: {rows} packets not committed ({reason}); \
                 trying again with the next packets",
                self.path.display()
            ));
        }
        self.failed += rows;
        self.reason = Some(reason);
    }
}

impl format::Sink for Sqlite {
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        self.row.fill(packet, received, names);
        match self.insert_row() {
            Ok(()) => self.pending += 1,
            // The packet and the batch with it are lost; the output goes on.
            Err(e) => {
                let rows = self.pending + 1;
                self.lose(rows, &e);
                return Ok(());
            }
        }
        let old = self
            .batch_started
            .is_some_and(|started| started.elapsed() >= BATCH_AGE);
        if self.pending >= BATCH_ROWS || old {
            self.commit();
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.commit();
        Ok(())
    }

    fn finish(&mut self, _groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        self.commit();
        if let Some(retention) = self.retention.take() {
            retention.stop();
        }
        match (&self.reason, self.failed) {
            (Some(reason), failed) if failed > 0 => Err(io::Error::other(format!(
                "-w sqlite:{}: {failed} packets were not committed ({reason})",
                self.path.display()
            ))),
            _ => Ok(()),
        }
    }
}

impl Output for Sqlite {
    fn delivered(&self) -> u64 {
        self.delivered
    }

    fn dropped(&self) -> Vec<Dropped> {
        match &self.reason {
            Some(reason) if self.failed > 0 => vec![Dropped {
                packets: self.failed,
                reason: format!("not committed to SQLite ({reason})"),
            }],
            _ => Vec::new(),
        }
    }
}

/// Adds [`RAW_PKT`] to a table made without it (by a run without `raw`): the rows before
/// have it NULL, as a packet of copy mode meta would.
fn add_raw_column(db: &Connection) -> rusqlite::Result<()> {
    let present: bool = db.query_row(
        &format!("SELECT count(*) > 0 FROM pragma_table_info('{TABLE}') WHERE name = ?1"),
        [RAW_PKT.name],
        |row| row.get(0),
    )?;
    if !present {
        db.execute_batch(&format!(
            "ALTER TABLE {TABLE} ADD COLUMN {} {}",
            RAW_PKT.name,
            sql_type(RAW_PKT.kind)
        ))?;
    }
    Ok(())
}

/// Writes `micros` since 1970 as `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, the form of SQLite's
/// `datetime()` with microseconds.
pub fn write_time(out: &mut String, micros: i64) {
    let secs = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let (days, of_day) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day number.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{fraction:06}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    );
}

/// The `--retain` thread: deletes old rows now and every [`RETAIN_EVERY`] until stopped.
struct Retention {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: JoinHandle<()>,
}

impl Retention {
    fn start(path: &Path, days: u32) -> Result<Retention> {
        let db = Connection::open(path)
            .and_then(|db| db.busy_timeout(BUSY_TIMEOUT).map(|()| db))
            .with_context(|| format!("--retain: cannot open {}", path.display()))?;
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let stop = Arc::clone(&stop);
            let path = path.to_path_buf();
            thread::Builder::new()
                .name("nflog retain".into())
                .spawn(move || retain(&db, &path, days, &stop))
                .context("starting the --retain thread")?
        };
        Ok(Retention { stop, thread })
    }

    fn stop(self) {
        let (stopped, wake) = &*self.stop;
        *stopped.lock().unwrap_or_else(PoisonError::into_inner) = true;
        wake.notify_all();
        let _ = self.thread.join();
    }
}

/// Deletes rows older than `days` days, a chunk per statement, then waits for the next
/// round or the stop.
fn retain(db: &Connection, path: &Path, days: u32, stop: &(Mutex<bool>, Condvar)) {
    let delete = format!(
        "DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE} \
         WHERE time < strftime('%Y-%m-%d %H:%M:%f', 'now', '-{days} days') LIMIT {DELETE_CHUNK})"
    );
    let (stopped, wake) = stop;
    // The first round, at start, runs to its end even if the output stops meanwhile: a
    // short `nflog read` with --retain still trims the database.
    let mut first = true;
    loop {
        loop {
            if !first && *stopped.lock().unwrap_or_else(PoisonError::into_inner) {
                return;
            }
            match db.execute(&delete, []) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    warn(&format!(
                        "nflog: --retain: deleting old rows of {}: {e}; trying again later",
                        path.display()
                    ));
                    break;
                }
            }
        }
        first = false;
        let guard = stopped.lock().unwrap_or_else(PoisonError::into_inner);
        let (guard, _) = wake
            .wait_timeout_while(guard, RETAIN_EVERY, |stopped| !*stopped)
            .unwrap_or_else(PoisonError::into_inner);
        if *guard {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(micros: i64) -> String {
        let mut out = String::new();
        write_time(&mut out, micros);
        out
    }

    #[test]
    fn times_are_written_as_sqlite_datetimes_with_microseconds() {
        assert_eq!(time(0), "1970-01-01 00:00:00.000000");
        assert_eq!(time(1_700_000_000_123_456), "2023-11-14 22:13:20.123456");
        assert_eq!(time(951_782_400_000_001), "2000-02-29 00:00:00.000001");
        assert_eq!(time(-1), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn sqlite_reads_our_times_as_its_own() {
        let db = Connection::open_in_memory().unwrap();
        for micros in [
            0,
            1_700_000_000_123_456,
            951_782_400_000_001,
            4_102_444_800_000_000,
        ] {
            let ours = time(micros);
            let theirs: String = db
                .query_row(
                    "SELECT strftime('%Y-%m-%d %H:%M:%f', ?1 / 1000000.0, 'unixepoch')",
                    [micros],
                    |row| row.get(0),
                )
                .unwrap();
            // SQLite shows milliseconds.
            assert_eq!(ours[..23], theirs[..], "{micros}");
        }
    }

    #[test]
    fn raw_adds_raw_pkt_to_a_table_made_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("raw.db");
        let names = |db: &Connection| -> Vec<String> {
            let mut columns = db
                .prepare("SELECT name FROM pragma_table_info('nflog')")
                .unwrap();
            let names = columns
                .query_map([], |row| row.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            names
        };
        drop(Sqlite::open(&path, None, false).unwrap());
        let db = Connection::open(&path).unwrap();
        assert!(!names(&db).contains(&"raw_pkt".to_string()));
        // Twice: the second run finds the column there.
        drop(Sqlite::open(&path, None, true).unwrap());
        drop(Sqlite::open(&path, None, true).unwrap());
        assert_eq!(names(&db).last().map(String::as_str), Some("raw_pkt"));
        assert_eq!(names(&db).len(), COLUMNS.len() + 2);
        // A run without raw writes the table as it is, raw_pkt NULL.
        drop(Sqlite::open(&path, None, false).unwrap());
    }

    #[test]
    fn the_schema_has_every_column_and_the_two_indexes() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(&schema()).unwrap();
        // Twice: IF NOT EXISTS.
        db.execute_batch(&schema()).unwrap();
        let mut columns = db
            .prepare("SELECT name FROM pragma_table_info('nflog')")
            .unwrap();
        let names: Vec<String> = columns
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(names[0], "id");
        assert_eq!(
            names[1..],
            COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>()[..]
        );
        let mut indexes = db
            .prepare("SELECT name FROM pragma_index_list('nflog') ORDER BY name")
            .unwrap();
        let names: Vec<String> = indexes
            .query_map([], |row| row.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(names, ["nflog_oob_prefix", "nflog_time"]);
        db.prepare(&insert(COLUMNS)).unwrap();
    }
}

/// The schema section of `docs/sqlite.md`, made from [`COLUMNS`]: the table of columns and
/// the statements that create them.
#[cfg(test)]
fn schema_page() -> String {
    let mut page = String::from(
        "| column | SQLite type | JSON key | what it holds |\n|---|---|---|---|\n| `id` | \
         INTEGER PRIMARY KEY | | the row's number, in the order rows were written |\n",
    );
    for column in COLUMNS {
        let json = column.json.map(|k| format!("`{k}`")).unwrap_or_default();
        let _ = writeln!(
            page,
            "| `{}` | {} | {json} | {} |",
            column.name,
            sql_type(column.kind),
            column.doc.replace('|', "\\|")
        );
    }
    let _ = writeln!(
        page,
        "| `{}` | {} | | {} |",
        RAW_PKT.name,
        sql_type(RAW_PKT.kind),
        RAW_PKT.doc
    );
    let _ = write!(page, "\n```sql\n{}```\n", schema());
    page
}

#[cfg(test)]
mod docs {
    use super::schema_page;

    const BEGIN: &str = "<!-- schema: made from nflog::format::COLUMNS; NFLOG_BLESS=1 cargo test \
                         -p nflog-cli schema_page rewrites it -->\n";
    const END: &str = "<!-- end of schema -->\n";

    /// docs/sqlite.md lists the columns this version writes; `NFLOG_BLESS=1` rewrites the
    /// list when the columns change.
    #[test]
    fn the_schema_page_lists_the_columns_of_this_version() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/sqlite.md");
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find(BEGIN).expect("the schema's start marker") + BEGIN.len();
        let end = text.find(END).expect("the schema's end marker");
        let expected = schema_page();
        if std::env::var_os("NFLOG_BLESS").is_some() {
            let text = format!("{}{expected}{}", &text[..start], &text[end..]);
            std::fs::write(&path, text).unwrap();
            return;
        }
        assert!(
            text[start..end] == expected,
            "docs/sqlite.md's schema is not this version's: \
             NFLOG_BLESS=1 cargo test -p nflog-cli schema_page"
        );
    }
}
