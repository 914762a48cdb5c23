//! The database sinks that live on another machine: PostgreSQL (`-w postgres://...`) and
//! ClickHouse (`-w clickhouse://...`).
//!
//! Both share one shape, [`Remote`]: the output's thread turns each packet into a typed
//! [`Row`] (ulogd2's column names, the same values as the JSON output) and encodes it into
//! the open batch, in the server's own bulk format (COPY text for PostgreSQL, RowBinary for
//! ClickHouse). A batch is sealed when it is large or old enough and queued for a thread of
//! the sink's own, the shipper, which sends each batch in one transaction (one INSERT for
//! ClickHouse). So a slow or absent server never stalls the capture.
//!
//! While the server is away the shipper reconnects with a doubling backoff, and the sealed
//! batches wait in a backlog bounded in bytes (`backlog=BYTES` in the URL). With a spill
//! file (`spill=PATH`, bounded by `spill_size=BYTES`), the batches the full backlog cannot
//! take go to the file, and every batch after them too until it is empty, so that order
//! holds; a batch that fits nowhere is dropped and counted. When the server is back the
//! backlog is sent in order, then the file's batches.
//!
//! None twice: every batch carries an id (random per run, then counted) that the server
//! stores with the rows, in the same transaction (PostgreSQL: a row of `nflog_batches`;
//! ClickHouse: the `nflog_batch` column, an INSERT of one block being atomic). When a
//! connection breaks after a batch was sent but before the server said it was committed,
//! the shipper asks the server, once it is back, whether that id is there: if so the batch
//! counts as written, if not it is sent again. A batch whose fate cannot be learned before
//! the command ends is reported as lost, "unknown whether committed", never guessed.
//!
//! Accounting: every row handed to the sink ends in exactly one count: written
//! (committed), dropped because the backlog was full, refused by the server (its error
//! said), left unsent when the command ended with the server still away, or unknown.

pub mod clickhouse;
pub mod postgres;
mod spill;

use std::cell::Cell;
use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use nflog::format::{ResolveInterface, Row};
use nflog::pcap::InterfaceStats;
use nflog::Packet;

use crate::output::{warn, Destination, Dropped, Output};
pub use spill::Spill;

/// The table of packets when the URL names none (`table=NAME`).
pub const DEFAULT_TABLE: &str = "nflog";
/// A batch is sealed once its encoded rows reach this many bytes.
const BATCH_BYTES: usize = 8 << 20;
/// A batch is sealed once it holds this many rows.
const BATCH_ROWS: u64 = 100_000;
/// A batch is sealed this long after its first row, so a quiet group's rows still go out.
const BATCH_AGE: Duration = Duration::from_secs(1);
/// The backlog's default bound, in bytes of encoded rows.
pub const DEFAULT_BACKLOG: usize = 64 << 20;
/// The first wait before reconnecting; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How long the command waits at its end for the backlog to reach the server.
const DRAIN: Duration = Duration::from_secs(10);

/// Rows encoded for the server, sent in one transaction.
#[derive(Debug)]
pub struct Batch {
    /// The id stored with the rows, by which the shipper learns whether a batch whose
    /// commit went unconfirmed is in the database.
    pub id: u64,
    /// The rows, in the server's bulk format.
    pub data: Vec<u8>,
    /// How many rows.
    pub rows: u64,
    /// The time of the earliest row, microseconds since 1970 (ClickHouse narrows its
    /// search for the id to the rows since then).
    pub first_time: i64,
    /// Whether it was sent on a connection that broke before the commit was confirmed.
    in_doubt: bool,
    /// When its first row was encoded.
    opened: Instant,
}

/// How sending a batch failed.
#[derive(Debug)]
pub enum Failure {
    /// The server answered and rolled the batch back; sending it again would fail again.
    Refused(String),
    /// The connection failed (or the server is going away): whether the batch was
    /// committed is unknown until the server is asked.
    Broken(String),
}

/// One server's side of a remote sink: its connection, schema and bulk format.
pub trait Server: Send + 'static {
    /// Appends `row` to `out` in the bulk format, for the batch `batch`.
    fn encode(&mut self, row: &Row, batch: u64, out: &mut Vec<u8>);

    /// Connects (a no-op when connected) and creates the table if it is missing.
    ///
    /// # Errors
    ///
    /// Why the server cannot be reached or refused the schema, for people to read.
    fn connect(&mut self) -> Result<(), String>;

    /// Sends one batch, committed as one whole.
    ///
    /// # Errors
    ///
    /// [`Failure`]: refused, or unknown.
    fn send(&mut self, batch: &Batch) -> Result<(), Failure>;

    /// Whether the batch is in the database (asked after a [`Failure::Broken`]).
    ///
    /// # Errors
    ///
    /// Why the server could not be asked.
    fn committed(&mut self, batch: &Batch) -> Result<bool, String>;

    /// Forgets the connection, so that the next [`connect`](Server::connect) makes a new one.
    fn disconnect(&mut self);
}

/// Rows the sink gave up on, by reason.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Rows the server committed.
    pub written: u64,
    /// Rows dropped because the backlog was full while the server was away or slow (and
    /// the spill file too, or there was none).
    pub backlog_full: u64,
    /// Rows dropped because the spill file could not be written or read back.
    pub spill_failed: u64,
    /// Rows the server refused (its error was printed).
    pub refused: u64,
    /// Rows still waiting when the command ended with the server away.
    pub unsent: u64,
    /// Rows sent on a connection that broke before the commit was confirmed, whose fate
    /// could not be learned before the command ended.
    pub unknown: u64,
}

impl Counts {
    /// Every row handed to the sink and accounted for.
    #[cfg(test)]
    pub fn total(&self) -> u64 {
        self.written
            + self.backlog_full
            + self.spill_failed
            + self.refused
            + self.unsent
            + self.unknown
    }

    /// The counts other than `written`, each with the words that follow "N packets" in
    /// the statistics.
    pub fn dropped(&self) -> Vec<(u64, &'static str)> {
        [
            (
                self.backlog_full,
                "dropped: backlog full while the server was away",
            ),
            (
                self.spill_failed,
                "dropped: the spill file failed (its error was printed)",
            ),
            (self.refused, "refused by the server"),
            (
                self.unsent,
                "not sent: the server was away when nflog stopped",
            ),
            (
                self.unknown,
                "lost: unknown whether the server committed them",
            ),
        ]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .collect()
    }
}

/// What the output's thread and the shipper share.
struct State {
    /// The batch rows are encoded into; sealed by size by the writer, by age by either.
    open: Option<Batch>,
    /// Sealed batches, oldest first; the one being sent is out of it but still counted in
    /// `backlog_bytes`.
    queue: VecDeque<Batch>,
    /// Bytes of sealed batches not yet settled.
    backlog_bytes: usize,
    /// The backlog's bound.
    backlog_limit: usize,
    /// Where batches go when the backlog is full (`spill=PATH`), with the batches after
    /// them; sent after the backlog.
    spill: Option<Spill>,
    /// The sink's name, for the warnings of the spill file.
    name: String,
    /// Whether the rows of this outage were said to overflow, to say it once.
    overflow_said: bool,
    counts: Counts,
    /// The ids of the next batches.
    next_id: u64,
    /// Set by [`Remote::finish`]: send what is left, until this moment at most.
    closing: Option<Instant>,
    /// Set by the shipper when it has ended.
    ended: bool,
}

impl State {
    /// Seals the open batch into the queue; when the backlog has no room, or the spill
    /// file already holds batches (which go first), into the spill file; else drops it.
    fn seal(&mut self) {
        let Some(batch) = self.open.take() else {
            return;
        };
        if batch.rows == 0 {
            return;
        }
        let spilling = self.spill.as_ref().is_some_and(|s| !s.is_empty());
        if !spilling && self.backlog_bytes + batch.data.len() <= self.backlog_limit {
            self.backlog_bytes += batch.data.len();
            self.queue.push_back(batch);
            return;
        }
        let Some(spill) = self.spill.as_mut() else {
            self.counts.backlog_full += batch.rows;
            return;
        };
        match spill.push(&batch) {
            Ok(true) => {
                if !self.overflow_said {
                    self.overflow_said = true;
                    warn(&format!(
                        "nflog: {}: the backlog is full ({} bytes); holding rows in {} (up to \
                         {} bytes)",
                        self.name,
                        self.backlog_limit,
                        spill.path().display(),
                        spill.limit()
                    ));
                }
            }
            // A batch the file has no room for (larger than the whole file when it is
            // empty: the next one may fit).
            Ok(false) => self.counts.backlog_full += batch.rows,
            Err(e) => {
                self.counts.spill_failed += batch.rows;
                warn(&format!(
                    "nflog: {}: {} rows lost: cannot write the spill file {}: {e}",
                    self.name,
                    batch.rows,
                    spill.path().display()
                ));
            }
        }
    }

    /// The next batch to send: the backlog's oldest, else the spill file's; a batch the
    /// file cannot give back is counted and the next one tried.
    fn next_batch(&mut self) -> Option<Batch> {
        if let Some(batch) = self.queue.pop_front() {
            return Some(batch);
        }
        loop {
            match self.spill.as_mut()?.pop()? {
                Ok(batch) => {
                    // Held in memory now, like the backlog's batches, until settled.
                    self.backlog_bytes += batch.data.len();
                    if self.spill.as_ref().is_some_and(Spill::is_empty) {
                        self.overflow_said = false;
                    }
                    return Some(batch);
                }
                Err((rows, e)) => {
                    self.counts.spill_failed += rows;
                    warn(&format!(
                        "nflog: {}: {rows} rows lost: cannot read the spill file back: {e}",
                        self.name
                    ));
                }
            }
        }
    }
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when a batch is sealed or the sink closes.
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic on either side leaves counts that are still counts.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A remote sink: rows encoded here, sent by the shipper thread. See the module docs.
pub struct Remote {
    shared: Arc<Shared>,
    /// The server's encoder; the shipper owns a second [`Server`] for the connection.
    encoder: Box<dyn Server>,
    row: Row,
    shipper: Option<JoinHandle<()>>,
    /// The counts as of the last write, flush or finish: what [`Output`] reports, the same
    /// however often it is asked between two writes while the shipper moves on.
    seen: Cell<Counts>,
}

impl Remote {
    /// Starts the shipper for `server` (whose connection it makes) with rows (of `row`'s
    /// columns) encoded by `encoder` (the same server's format; it never connects), a
    /// backlog of at most `backlog` bytes and the batches it cannot take in `spill`, and
    /// messages naming the sink `name` (its URL without a password).
    pub fn start(
        name: String,
        encoder: Box<dyn Server>,
        server: Box<dyn Server>,
        backlog: usize,
        spill: Option<Spill>,
        row: Row,
    ) -> io::Result<Remote> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                open: None,
                queue: VecDeque::new(),
                backlog_bytes: 0,
                backlog_limit: backlog,
                spill,
                name: name.clone(),
                overflow_said: false,
                counts: Counts::default(),
                next_id: first_batch_id(),
                closing: None,
                ended: false,
            }),
            wake: Condvar::new(),
        });
        let shipper = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("nflog-remote".to_string())
                .spawn(move || ship(&shared, server, &name))?
        };
        Ok(Remote {
            shared,
            encoder,
            row,
            shipper: Some(shipper),
            seen: Cell::new(Counts::default()),
        })
    }

    /// Where every row handed to the sink is now.
    pub fn counts(&self) -> Counts {
        self.shared.lock().counts
    }

    /// Rows handed to the sink and not yet settled (open, queued or being sent).
    #[cfg(test)]
    pub fn pending(&self) -> u64 {
        let state = self.shared.lock();
        state.open.as_ref().map_or(0, |b| b.rows)
            + state.queue.iter().map(|b| b.rows).sum::<u64>()
            + state.spill.as_ref().map_or(0, Spill::rows)
    }
}

impl nflog::format::Sink for Remote {
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        self.row.fill(packet, received, names);
        let mut state = self.shared.lock();
        if state.open.is_none() {
            let id = state.next_id;
            state.next_id = state.next_id.wrapping_add(1);
            let time = match self.row.value(0) {
                nflog::format::Value::Int(t) => t,
                _ => 0,
            };
            state.open = Some(Batch {
                id,
                data: Vec::with_capacity(64 * 1024),
                rows: 0,
                first_time: time,
                in_doubt: false,
                opened: Instant::now(),
            });
        }
        let Some(batch) = state.open.as_mut() else {
            return Ok(());
        };
        self.encoder.encode(&self.row, batch.id, &mut batch.data);
        batch.rows += 1;
        let full = batch.data.len() >= BATCH_BYTES || batch.rows >= BATCH_ROWS;
        if full {
            state.seal();
        }
        self.seen.set(state.counts);
        drop(state);
        if full {
            self.shared.wake.notify_one();
        }
        Ok(())
    }

    /// Nothing to push: the shipper seals a batch by age, so a quiet group's rows go out
    /// within [`BATCH_AGE`] without an INSERT per packet.
    fn flush(&mut self) -> io::Result<()> {
        self.seen.set(self.counts());
        Ok(())
    }

    /// Seals the open batch and waits until the shipper has settled every batch, for at
    /// most [`DRAIN`] while the server is away.
    fn finish(&mut self, _groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        {
            let mut state = self.shared.lock();
            state.seal();
            state.closing = Some(Instant::now() + DRAIN);
        }
        self.shared.wake.notify_one();
        if let Some(shipper) = self.shipper.take() {
            let _ = shipper.join();
        }
        self.seen.set(self.counts());
        Ok(())
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        if self.shipper.is_some() {
            let _ = nflog::format::Sink::finish(self, &[]);
        }
    }
}

impl Output for Remote {
    fn delivered(&self) -> u64 {
        self.seen.get().written
    }

    fn dropped(&self) -> Vec<Dropped> {
        self.seen
            .get()
            .dropped()
            .into_iter()
            .map(|(packets, reason)| Dropped {
                packets,
                reason: reason.to_string(),
            })
            .collect()
    }
}

/// Makes a [`Server`] from a URL, a table, this host's name and whether rows hold the
/// packet's bytes.
type MakeServer = fn(&str, &str, &str, bool) -> Result<Box<dyn Server>, String>;

/// Opens the sink `-w` names: a `postgres://` or `clickhouse://` URL; with `raw`, its rows
/// hold the packet's bytes (`--raw`). The server need not be up: rows wait in the backlog
/// until it is.
///
/// # Errors
///
/// A URL the sink cannot use, naming `-w`.
pub fn open(destination: &Destination, raw: bool) -> anyhow::Result<Remote> {
    let host = hostname();
    let (url, make): (&str, MakeServer) = match destination {
        Destination::Postgres(url) => (url, |url, table, host, raw| {
            Ok(Box::new(postgres::Postgres::new(url, table, host, raw)?))
        }),
        Destination::Clickhouse(url) => (url, |url, table, host, raw| {
            Ok(Box::new(clickhouse::ClickHouse::new(
                url, table, host, raw,
            )?))
        }),
        other => anyhow::bail!("-w {other}: not a PostgreSQL or ClickHouse URL"),
    };
    let name = shown(url);
    let fail = |e: String| anyhow::anyhow!("-w {name}: {e}");
    let options = sink_options(url, DEFAULT_TABLE).map_err(fail)?;
    let (url, table) = (&options.url, &options.table);
    let encoder = make(url, table, &host, raw).map_err(fail)?;
    let server = make(url, table, &host, raw).map_err(fail)?;
    let row = if raw { Row::with_raw() } else { Row::new() };
    let spill = match &options.spill {
        Some(path) => Some(Spill::open(path, options.spill_size).map_err(|e| {
            anyhow::anyhow!(
                "-w {name}: spill={}: cannot create the spill file: {e}",
                path.display()
            )
        })?),
        None => None,
    };
    Remote::start(name.clone(), encoder, server, options.backlog, spill, row)
        .map_err(|e| anyhow::anyhow!("-w {name}: starting its thread: {e}"))
}

/// The id of this run's first batch: random, so that runs and hosts sharing a table do
/// not share ids (the ids of one run then count up from it).
fn first_batch_id() -> u64 {
    let mut bytes = [0u8; 8];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut bytes))
        .is_err()
    {
        // No /dev/urandom (a chroot): the clock and the process id are unique enough per
        // host, and the hostname column tells hosts apart.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        bytes = (now.as_nanos() as u64 ^ (u64::from(std::process::id()) << 40)).to_ne_bytes();
    }
    // Positive as a signed 64-bit number (PostgreSQL's bigint), with room to count up.
    u64::from_ne_bytes(bytes) >> 2
}

/// The shipper: sends sealed batches in order, reconnecting with backoff, until the sink
/// closes and the queue is empty, or the drain deadline passes.
fn ship(shared: &Shared, mut server: Box<dyn Server>, name: &str) {
    let mut connected = false;
    let mut backoff = FIRST_BACKOFF;
    let mut next_attempt = Instant::now();
    // When the server went away, for the message when it is back.
    let mut away_since: Option<Instant> = None;
    loop {
        let mut state = shared.lock();
        // Seal an open batch that has waited long enough, or is all that is left.
        let age_due = state.open.as_ref().map(|b| b.opened + BATCH_AGE);
        if age_due.is_some_and(|due| Instant::now() >= due) || state.closing.is_some() {
            state.seal();
        }
        if state.queue.is_empty() && state.spill.as_ref().is_none_or(Spill::is_empty) {
            if state.closing.is_some() {
                break;
            }
            let wait = age_due
                .map(|due| due.saturating_duration_since(Instant::now()))
                .unwrap_or(BATCH_AGE)
                .max(Duration::from_millis(1));
            let _ = shared.wake.wait_timeout(state, wait);
            continue;
        }
        if let Some(deadline) = state.closing {
            if Instant::now() >= deadline {
                break;
            }
        }
        if !connected {
            let now = Instant::now();
            if now < next_attempt {
                let mut wait = next_attempt - now;
                if let Some(due) = age_due {
                    wait = wait.min(due.saturating_duration_since(now));
                }
                if let Some(deadline) = state.closing {
                    wait = wait.min(deadline.saturating_duration_since(now));
                }
                let _ = shared
                    .wake
                    .wait_timeout(state, wait.max(Duration::from_millis(1)));
                continue;
            }
            drop(state);
            match server.connect() {
                Ok(()) => {
                    connected = true;
                    backoff = FIRST_BACKOFF;
                    if let Some(since) = away_since.take() {
                        warn(&format!(
                            "nflog: {name}: connected again after {:.1} s; sending the backlog",
                            since.elapsed().as_secs_f64()
                        ));
                    }
                }
                Err(e) => {
                    if away_since.is_none() {
                        away_since = Some(Instant::now());
                        warn(&format!(
                            "nflog: {name}: {e}; holding rows (backlog up to {} bytes) and \
                             reconnecting",
                            shared.lock().backlog_limit
                        ));
                    }
                    server.disconnect();
                    next_attempt = Instant::now() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            continue;
        }
        let Some(batch) = state.next_batch() else {
            continue;
        };
        drop(state);
        // A batch sent before on a connection that broke: first learn whether it is in.
        let outcome = if batch.in_doubt {
            match server.committed(&batch) {
                Ok(true) => Ok(()),
                Ok(false) => server.send(&batch),
                Err(e) => Err(Failure::Broken(e)),
            }
        } else {
            server.send(&batch)
        };
        let mut state = shared.lock();
        match outcome {
            Ok(()) => {
                state.backlog_bytes -= batch.data.len();
                state.counts.written += batch.rows;
            }
            Err(Failure::Refused(e)) => {
                state.backlog_bytes -= batch.data.len();
                state.counts.refused += batch.rows;
                drop(state);
                warn(&format!(
                    "nflog: {name}: the server refused {} rows: {e}",
                    batch.rows
                ));
            }
            Err(Failure::Broken(e)) => {
                let mut batch = batch;
                batch.in_doubt = true;
                state.queue.push_front(batch);
                drop(state);
                connected = false;
                server.disconnect();
                if away_since.is_none() {
                    away_since = Some(Instant::now());
                    warn(&format!(
                        "nflog: {name}: connection lost: {e}; holding rows and reconnecting"
                    ));
                }
                next_attempt = Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    // Closing: what is left could not be sent in time.
    let mut state = shared.lock();
    state.seal();
    let left: Vec<Batch> = state.queue.drain(..).collect();
    if let Some(rows) = state.spill.as_mut().map(Spill::clear) {
        state.counts.unsent += rows;
    }
    for batch in left {
        state.backlog_bytes -= batch.data.len();
        if batch.in_doubt {
            state.counts.unknown += batch.rows;
        } else {
            state.counts.unsent += batch.rows;
        }
    }
    state.ended = true;
    let counts = state.counts;
    drop(state);
    if counts.unsent + counts.unknown > 0 {
        warn(&format!(
            "nflog: {name}: the server was away when nflog stopped: {} rows not sent, {} \
             sent but unconfirmed",
            counts.unsent, counts.unknown
        ));
    }
    server.disconnect();
}

/// The options of a remote sink, split off its URL by [`sink_options`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkOptions {
    /// The URL without them, for the server's client.
    pub url: String,
    /// `table=NAME`.
    pub table: String,
    /// `backlog=BYTES`: the memory backlog's bound.
    pub backlog: usize,
    /// `spill=PATH`: the spill file, if any.
    pub spill: Option<PathBuf>,
    /// `spill_size=BYTES`: the spill file's bound.
    pub spill_size: u64,
}

/// Splits the options this sink reads (`table=NAME`, `backlog=BYTES`, `spill=PATH`,
/// `spill_size=BYTES`) off a URL's query.
///
/// # Errors
///
/// A table name that is not a plain SQL identifier, a size that is not a number, or a
/// spill size without a spill file.
pub fn sink_options(url: &str, default_table: &str) -> Result<SinkOptions, String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, query),
        None => (url, ""),
    };
    let mut table = default_table.to_string();
    let mut backlog = DEFAULT_BACKLOG;
    let mut spill = None;
    let mut spill_size = None;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("table", name)) => {
                let plain = name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    && name.len() <= 63;
                if !plain {
                    return Err(format!(
                        "table={name}: a table name is lower-case letters, digits and _ \
                         (at most 63), starting with a letter or _"
                    ));
                }
                table = name.to_string();
            }
            Some(("backlog", bytes)) => {
                backlog = bytes.parse().ok().filter(|&b| b > 0).ok_or_else(|| {
                    format!(
                        "backlog={bytes}: give the backlog's bound in bytes, as backlog=67108864"
                    )
                })?;
            }
            Some(("spill", path)) => {
                if path.is_empty() {
                    return Err("spill=: give the spill file's path, as \
                                spill=/var/spool/nflog/fw.spill"
                        .to_string());
                }
                // Decoded, so a path with `&` or `?` can be written in a query.
                spill = Some(PathBuf::from(clickhouse::percent_decode(path)));
            }
            Some(("spill_size", bytes)) => {
                spill_size = Some(bytes.parse().ok().filter(|&b| b > 0).ok_or_else(|| {
                    format!(
                        "spill_size={bytes}: give the spill file's bound in bytes, as \
                         spill_size=1073741824"
                    )
                })?);
            }
            _ => kept.push(pair),
        }
    }
    if spill_size.is_some() && spill.is_none() {
        return Err("spill_size bounds a spill file: add spill=PATH, or leave it out".to_string());
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok(SinkOptions {
        url,
        table,
        backlog,
        spill,
        spill_size: spill_size.unwrap_or(spill::DEFAULT_SPILL_SIZE),
    })
}

/// This host's name, for the `hostname` column that tells the hosts of a fleet apart.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// A URL fit to show: its password, if any, replaced by `***`.
pub use crate::output::shown;

#[cfg(test)]
mod tests;
