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
    Remote::start(
        "test://".to_string(),
        Box::new(server.clone()),
        Box::new(server.clone()),
        backlog,
        Row::new(),
    )
    .unwrap()
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
    let (url, table, backlog) = sink_options(
        "postgres://u@h/db?sslmode=require&table=fw&backlog=1000",
        "nflog",
    )
    .unwrap();
    assert_eq!(url, "postgres://u@h/db?sslmode=require");
    assert_eq!((table.as_str(), backlog), ("fw", 1000));
    let (url, table, backlog) = sink_options("clickhouse://h:8123/db", "nflog").unwrap();
    assert_eq!(url, "clickhouse://h:8123/db");
    assert_eq!((table.as_str(), backlog), ("nflog", DEFAULT_BACKLOG));
    assert!(sink_options("postgres://h/db?table=x;drop", "nflog").is_err());
    assert!(sink_options("postgres://h/db?backlog=lots", "nflog").is_err());
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
