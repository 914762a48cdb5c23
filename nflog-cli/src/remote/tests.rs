//! The shipper against a scripted server held in memory: what a server that goes away,
//! refuses, or loses a commit's answer does to the counts. (The real servers are in
//! `tests/remote.rs`.)

use super::*;
use nflog::format::{Numeric, Sink as _};
use std::collections::BTreeMap;

/// What the scripted server committed and what it is told to do next.
#[derive(Default)]
struct Script {
    /// Committed batches: id to rows.
    committed: BTreeMap<u64, u64>,
    /// Every batch sent, in order (ids), resends included.
    sent: Vec<u64>,
    /// Refuse connections while set.
    down: bool,
    /// Commit the next batch, then say the connection broke (the answer lost).
    lose_next_answer: bool,
    /// Break the connection on the next batch before committing it.
    break_next: bool,
    /// Refuse the next batch (a server error).
    refuse_next: bool,
}

#[derive(Clone, Default)]
struct Scripted(Arc<Mutex<Script>>);

impl Scripted {
    fn script(&self) -> MutexGuard<'_, Script> {
        self.0.lock().unwrap()
    }
}

impl Server for Scripted {
    fn encode(&mut self, row: &Row, _batch: u64, out: &mut Vec<u8>) {
        // One byte per row is enough to count them; the group, to tell rows apart.
        if let nflog::format::Value::Int(group) = row.get("nflog_group").unwrap() {
            out.push(group as u8);
        }
    }

    fn connect(&mut self) -> Result<(), String> {
        if self.script().down {
            Err("connection refused".to_string())
        } else {
            Ok(())
        }
    }

    fn send(&mut self, batch: &Batch) -> Result<(), Failure> {
        let mut script = self.script();
        script.sent.push(batch.id);
        if script.down {
            return Err(Failure::Broken("connection reset".to_string()));
        }
        if std::mem::take(&mut script.refuse_next) {
            return Err(Failure::Refused("invalid input".to_string()));
        }
        if std::mem::take(&mut script.break_next) {
            return Err(Failure::Broken(
                "connection reset before commit".to_string(),
            ));
        }
        assert!(
            script.committed.insert(batch.id, batch.rows).is_none(),
            "batch {} committed twice",
            batch.id
        );
        if std::mem::take(&mut script.lose_next_answer) {
            return Err(Failure::Broken("connection reset after commit".to_string()));
        }
        Ok(())
    }

    fn committed(&mut self, batch: &Batch) -> Result<bool, String> {
        let script = self.script();
        if script.down {
            return Err("connection refused".to_string());
        }
        Ok(script.committed.contains_key(&batch.id))
    }

    fn disconnect(&mut self) {}
}

fn packet_bytes(group: u16) -> Vec<u8> {
    nflog::PacketRepr {
        group,
        hook: 3,
        ..nflog::PacketRepr::default()
    }
    .to_bytes()
}

/// Writes `n` packets, each in a batch of its own (sealed by the age rule is too slow for a
/// test: these seal by hand, as a full batch would).
fn write_batches(sink: &mut Remote, n: usize) {
    let bytes = packet_bytes(7);
    let packet = nflog::Packet::parse(&bytes).unwrap();
    for _ in 0..n {
        sink.write(&packet, SystemTime::now(), &mut Numeric)
            .unwrap();
        sink.shared.lock().seal();
        sink.shared.wake.notify_one();
    }
}

fn start(server: &Scripted, backlog: usize) -> Remote {
    start_spilling(server, backlog, None)
}

fn start_spilling(server: &Scripted, backlog: usize, spill: Option<Spill>) -> Remote {
    Remote::start(
        "test://".to_string(),
        Box::new(server.clone()),
        Box::new(server.clone()),
        backlog,
        spill,
        Row::new(),
    )
    .unwrap()
}

/// The ids the server was sent, each once, and whether they came in the order the
/// batches were sealed (ids count up).
fn sent_in_order(server: &Scripted) -> bool {
    let mut sent = server.script().sent.clone();
    sent.dedup();
    sent.windows(2).all(|w| w[0] < w[1])
}

fn committed_rows(server: &Scripted) -> u64 {
    server.script().committed.values().sum()
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn rows_reach_the_server_once_each() {
    let server = Scripted::default();
    let mut sink = start(&server, DEFAULT_BACKLOG);
    write_batches(&mut sink, 50);
    sink.finish(&[]).unwrap();
    assert_eq!(committed_rows(&server), 50);
    assert_eq!(
        sink.counts(),
        Counts {
            written: 50,
            ..Counts::default()
        }
    );
}

#[test]
fn a_commit_whose_answer_was_lost_is_not_sent_twice() {
    let server = Scripted::default();
    server.script().lose_next_answer = true;
    let mut sink = start(&server, DEFAULT_BACKLOG);
    write_batches(&mut sink, 3);
    sink.finish(&[]).unwrap();
    // The first batch was committed once (the scripted server panics on a second commit)
    // and sent once: asked about, not resent.
    assert_eq!(committed_rows(&server), 3);
    assert_eq!(server.script().sent.len(), 3, "{:?}", server.script().sent);
    assert_eq!(sink.counts().written, 3);
}

#[test]
fn a_batch_cut_before_its_commit_is_sent_again() {
    let server = Scripted::default();
    server.script().break_next = true;
    let mut sink = start(&server, DEFAULT_BACKLOG);
    write_batches(&mut sink, 3);
    sink.finish(&[]).unwrap();
    let sent = server.script().sent.clone();
    assert_eq!(sent.len(), 4, "the first batch twice: {sent:?}");
    assert_eq!(sent[0], sent[1]);
    assert_eq!(committed_rows(&server), 3);
    assert_eq!(sink.counts().written, 3);
}

#[test]
fn a_server_away_is_waited_for_and_the_backlog_sent_in_order() {
    let server = Scripted::default();
    server.script().down = true;
    let mut sink = start(&server, DEFAULT_BACKLOG);
    write_batches(&mut sink, 20);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(committed_rows(&server), 0);
    assert_eq!(sink.pending(), 20);
    server.script().down = false;
    wait_for("the backlog sent", || committed_rows(&server) == 20);
    sink.finish(&[]).unwrap();
    let ids: Vec<u64> = server.script().committed.keys().copied().collect();
    let mut sent = server.script().sent.clone();
    sent.dedup();
    assert_eq!(sent, ids, "in order, each once");
    assert_eq!(sink.counts().written, 20);
}

#[test]
fn what_overflows_the_backlog_is_dropped_and_counted() {
    let server = Scripted::default();
    server.script().down = true;
    // Each batch is one byte: room for 5.
    let mut sink = start(&server, 5);
    write_batches(&mut sink, 12);
    server.script().down = false;
    sink.finish(&[]).unwrap();
    let counts = sink.counts();
    assert_eq!(counts.written, 5);
    assert_eq!(counts.backlog_full, 7);
    assert_eq!(counts.total(), 12);
    assert_eq!(
        counts.dropped(),
        vec![(7, "dropped: backlog full while the server was away")]
    );
}

#[test]
fn refused_batches_are_counted_and_the_rest_goes_on() {
    let server = Scripted::default();
    server.script().refuse_next = true;
    let mut sink = start(&server, DEFAULT_BACKLOG);
    write_batches(&mut sink, 4);
    sink.finish(&[]).unwrap();
    let counts = sink.counts();
    assert_eq!((counts.written, counts.refused), (3, 1));
    assert_eq!(counts.total(), 4);
}

#[test]
fn a_server_still_away_at_the_end_leaves_rows_counted_as_unsent_or_unknown() {
    let server = Scripted::default();
    server.script().lose_next_answer = true;
    let mut sink = start(&server, DEFAULT_BACKLOG);
    write_batches(&mut sink, 1);
    wait_for("the first batch sent", || server.script().sent.len() == 1);
    server.script().down = true;
    write_batches(&mut sink, 2);
    let started = Instant::now();
    sink.finish(&[]).unwrap();
    assert!(started.elapsed() >= DRAIN - Duration::from_millis(50));
    let counts = sink.counts();
    // The first batch was committed, but its answer was lost and the server never came
    // back to say so: unknown, not guessed. The other two were never sent.
    assert_eq!(
        (counts.written, counts.unknown, counts.unsent),
        (0, 1, 2),
        "{counts:?}"
    );
    assert_eq!(counts.total(), 3);
}

#[test]
fn a_quiet_sink_sends_its_rows_within_the_batch_age() {
    let server = Scripted::default();
    let mut sink = start(&server, DEFAULT_BACKLOG);
    let bytes = packet_bytes(7);
    let packet = nflog::Packet::parse(&bytes).unwrap();
    sink.write(&packet, SystemTime::now(), &mut Numeric)
        .unwrap();
    sink.flush().unwrap();
    wait_for("the lone row sent", || committed_rows(&server) == 1);
    assert!(sink.shipper.is_some(), "sent while the sink is open");
    sink.finish(&[]).unwrap();
}

#[test]
fn sink_options_are_split_off_the_url() {
    let options = sink_options(
        "postgres://u@h/db?sslmode=require&table=fw&backlog=1000",
        "nflog",
    )
    .unwrap();
    assert_eq!(options.url, "postgres://u@h/db?sslmode=require");
    assert_eq!((options.table.as_str(), options.backlog), ("fw", 1000));
    assert_eq!(options.spill, None);
    let options = sink_options("clickhouse://h:8123/db", "nflog").unwrap();
    assert_eq!(options.url, "clickhouse://h:8123/db");
    assert_eq!(
        (options.table.as_str(), options.backlog),
        ("nflog", DEFAULT_BACKLOG)
    );
    assert!(sink_options("postgres://h/db?table=x;drop", "nflog").is_err());
    assert!(sink_options("postgres://h/db?backlog=lots", "nflog").is_err());
    let options = sink_options(
        "postgres://h/db?spill=/var/spool/a%26b.spill&spill_size=4096&x=1",
        "nflog",
    )
    .unwrap();
    assert_eq!(options.url, "postgres://h/db?x=1");
    assert_eq!(options.spill, Some("/var/spool/a&b.spill".into()));
    assert_eq!(options.spill_size, 4096);
    let options = sink_options("postgres://h/db?spill=/s", "nflog").unwrap();
    assert_eq!(options.spill_size, 1 << 30, "1 GiB unless said");
    assert!(sink_options("postgres://h/db?spill_size=10", "nflog")
        .unwrap_err()
        .contains("add spill=PATH"));
    assert!(sink_options("postgres://h/db?spill=", "nflog").is_err());
    assert!(sink_options("postgres://h/db?spill=/s&spill_size=0", "nflog").is_err());
}

#[test]
fn a_server_away_longer_than_the_backlog_holds_gets_every_row_once_from_the_spill_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pg.spill");
    let server = Scripted::default();
    server.script().down = true;
    // Each batch is one byte: room for 5 in memory, the rest in the file.
    let spill = Spill::open(&path, 1 << 20).unwrap();
    let mut sink = start_spilling(&server, 5, Some(spill));
    write_batches(&mut sink, 20);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(committed_rows(&server), 0);
    assert_eq!(sink.pending(), 20);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 15);
    // The server is back while rows go on coming: those after the file's wait their turn.
    server.script().down = false;
    write_batches(&mut sink, 20);
    wait_for("every row sent", || committed_rows(&server) == 40);
    sink.finish(&[]).unwrap();
    assert!(sent_in_order(&server), "{:?}", server.script().sent);
    assert_eq!(
        sink.counts(),
        Counts {
            written: 40,
            ..Counts::default()
        }
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "emptied");
}

#[test]
fn what_overflows_backlog_and_spill_file_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let server = Scripted::default();
    server.script().down = true;
    // Room for 5 batches in memory and 3 in the file.
    let spill = Spill::open(&dir.path().join("s"), 3).unwrap();
    let mut sink = start_spilling(&server, 5, Some(spill));
    write_batches(&mut sink, 12);
    server.script().down = false;
    sink.finish(&[]).unwrap();
    let counts = sink.counts();
    assert_eq!((counts.written, counts.backlog_full), (8, 4), "{counts:?}");
    assert_eq!(counts.total(), 12);
    assert!(sent_in_order(&server), "{:?}", server.script().sent);
}

#[test]
fn a_spill_file_that_cannot_be_written_counts_its_rows() {
    let server = Scripted::default();
    server.script().down = true;
    // Every write fails (ENOSPC).
    let spill = Spill::open(std::path::Path::new("/dev/full"), 1 << 20).unwrap();
    let mut sink = start_spilling(&server, 2, Some(spill));
    write_batches(&mut sink, 5);
    server.script().down = false;
    sink.finish(&[]).unwrap();
    let counts = sink.counts();
    assert_eq!((counts.written, counts.spill_failed), (2, 3), "{counts:?}");
    assert_eq!(
        counts.dropped(),
        vec![(3, "dropped: the spill file failed (its error was printed)")]
    );
}

#[test]
fn a_spill_file_still_full_at_the_end_counts_its_rows_as_unsent() {
    let dir = tempfile::tempdir().unwrap();
    let server = Scripted::default();
    server.script().down = true;
    let spill = Spill::open(&dir.path().join("s"), 1 << 20).unwrap();
    let mut sink = start_spilling(&server, 2, Some(spill));
    write_batches(&mut sink, 6);
    sink.finish(&[]).unwrap();
    let counts = sink.counts();
    assert_eq!((counts.written, counts.unsent), (0, 6), "{counts:?}");
    assert_eq!(std::fs::metadata(dir.path().join("s")).unwrap().len(), 0);
}

#[test]
fn passwords_are_not_shown() {
    assert_eq!(
        shown("postgres://me:secret@db:5432/logs"),
        "postgres://me:***@db:5432/logs"
    );
    assert_eq!(shown("postgres://me@db/logs"), "postgres://me@db/logs");
    assert_eq!(shown("clickhouse://db:8123/x"), "clickhouse://db:8123/x");
}

#[test]
fn the_docs_show_the_schema_the_sinks_create() {
    let docs = include_str!("../../../docs/remote-sinks.md");
    assert!(docs.contains(&postgres::Postgres::schema("nflog")));
    let [database, table] = clickhouse::ClickHouse::schema("logs", "nflog");
    assert!(docs.contains(&format!("{database};\n{table};")));
}
