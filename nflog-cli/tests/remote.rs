//! `-w postgres://...` and `-w clickhouse://...` against the real servers (Debian's
//! PostgreSQL 15 and ClickHouse 18.16), each a throwaway instance of the test's own in its
//! private network namespace (see `support`): the rows equal our JSON output for the same
//! packets, and a server stopped mid-burst and started again gets every row once.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::{
    in_netns, mixed_rules, mixed_traffic, privileged, skip, time_received_packets, ClickHouse,
    Postgres, Proc, Scratch, Signal, MIXED_PACKETS,
};

/// Whether the test can run: root and the tools, and the server's packages.
fn can_run(test: &str, missing: Option<&str>) -> bool {
    if !privileged(test) {
        return false;
    }
    match missing {
        Some(package) => skip(test, &format!("install {package}")),
        None => true,
    }
}

/// The JSON keys whose values no column holds (the row's docs list them), and ours that
/// differ between the two captures (each has its own group).
const NOT_COLUMNS: &[&str] = &[
    "timestamp",
    "dvc",
    "tcp.offset",
    "tcp.reserved",
    "nflog.group",
];

/// Loads rules logging the mixed traffic at INPUT and OUTPUT to both groups, numbered
/// (`--seq` numbers each group's copies alike, so rows and lines pair by it).
fn log_mix_to(db_group: u16, json_group: u16) {
    let action = format!(
        "log group {db_group} prefix \"{{hook}}\" log group {json_group} prefix \"{{hook}}\""
    );
    let chains: String = ["input", "output"]
        .iter()
        .map(|hook| mixed_rules(hook, &action.replace("{hook}", hook)))
        .collect();
    support::nft(&format!("table inet t {{\n{chains}}}\n"));
}

/// The JSON lines of a file, by `oob.seq.local`.
fn json_by_seq(path: &Path) -> BTreeMap<u64, Value> {
    support::lines(path)
        .iter()
        .map(|line| {
            let value: Value = serde_json::from_str(line).expect("a JSON line");
            (
                value["oob.seq.local"].as_u64().expect("oob.seq.local"),
                value,
            )
        })
        .collect()
}

/// Checks a row from the database (column name to JSON value, NULLs left out or null)
/// against our JSON line for the same packet: every column with a JSON key holds that
/// key's value, and every key of the line is in some column.
fn assert_row_equals_line(row: &Value, line: &Value, what: &str) {
    let row = row.as_object().expect("a row object");
    let line = line.as_object().expect("a line object");
    let json_key = |column: &str| -> Option<&'static str> {
        nflog::format::COLUMNS
            .iter()
            .find(|c| c.name == column)
            .and_then(|c| c.json)
    };
    for (column, value) in row {
        if value.is_null() {
            continue;
        }
        let Some(key) = json_key(column) else {
            continue;
        };
        if NOT_COLUMNS.contains(&key) || key.starts_with("oob.time") {
            continue;
        }
        let expected = &line.get(key).unwrap_or_else(|| {
            panic!("{what}: column {column} = {value} but no {key} in {line:?}")
        });
        // Booleans: the JSON's true/false, the database's true/false or 1/0.
        let same = match (value, expected) {
            (Value::Number(n), Value::Bool(b)) | (Value::Bool(b), Value::Number(n)) => {
                n.as_u64() == Some(u64::from(*b))
            }
            _ => value == *expected,
        };
        assert!(
            same,
            "{what}: column {column} = {value}, JSON {key} = {expected}"
        );
    }
    for (key, expected) in line {
        if NOT_COLUMNS.contains(&key.as_str()) || key.starts_with("oob.time") {
            continue;
        }
        let held = nflog::format::COLUMNS
            .iter()
            .filter(|c| c.json == Some(key.as_str()))
            .any(|c| row.get(c.name).is_some_and(|v| !v.is_null()));
        assert!(
            held,
            "{what}: JSON {key} = {expected} is in no column of {row:?}"
        );
    }
    // The time: the kernel's for INPUT (each group's copy stamped within microseconds of
    // the other), each program's own for OUTPUT.
    let micros = |v: &Value, sec: &str, usec: &str| {
        v[sec].as_u64().expect(sec) * 1_000_000 + v[usec].as_u64().expect(usec)
    };
    let row_time = micros(&Value::Object(row.clone()), "oob_time_sec", "oob_time_usec");
    let line_time = micros(
        &Value::Object(line.clone()),
        "oob.time.sec",
        "oob.time.usec",
    );
    assert!(
        row_time.abs_diff(line_time) < 2_000_000,
        "{what}: times {row_time} and {line_time} µs"
    );
}

/// Spawns `nflog -g GROUP --seq -U -w DESTINATION` (and `-F json` for a file), and waits
/// until it bound the group.
fn nflog(group: u16, destination: &str, json: bool, scratch: &Scratch, name: &str) -> Proc {
    let group_text = group.to_string();
    let mut args = vec!["-g", &group_text, "--seq", "-U", "-w", destination];
    if json {
        args.extend(["-F", "json"]);
    }
    let mut command = std::process::Command::new(support::NFLOG);
    command.args(&args).env("TZ", "UTC");
    let mut proc = Proc::spawn(command, scratch.path(), name);
    proc.wait_bound(group);
    proc
}

/// Stops `proc` with SIGINT and returns its statistics line (the last line of stderr).
fn stop(mut proc: Proc) -> String {
    proc.signal(Signal::INT);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while proc.exited().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "nflog did not exit: {}",
            proc.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(proc.exited().unwrap().success(), "{}", proc.stderr());
    let stderr = proc.stderr();
    stderr
        .lines()
        .rfind(|l| l.contains(" packets written; "))
        .unwrap_or_else(|| panic!("no statistics in {stderr}"))
        .to_string()
}

#[test]
fn postgres_rows_equal_the_json_lines_for_the_same_packets() {
    const TEST: &str = "postgres_rows_equal_the_json_lines_for_the_same_packets";
    if !can_run(TEST, Postgres::missing()) {
        return;
    }
    in_netns(|| {
        let _timed = time_received_packets();
        let pg = Postgres::start(false).unwrap_or_else(|e| panic!("{e}"));
        log_mix_to(71, 72);
        let scratch = Scratch::new();
        let json = scratch.join("nflog.json");
        let to_db = nflog(71, &pg.url(), false, &scratch, "nflog-pg");
        let to_json = nflog(72, json.to_str().unwrap(), true, &scratch, "nflog-json");
        mixed_traffic();
        let expected = 2 * MIXED_PACKETS;
        support::wait_until("every packet in both", || {
            support::lines(&json).len() >= expected
                && pg
                    .psql("nflog", "SELECT count(*) FROM nflog")
                    .is_ok_and(|n| n.trim() == expected.to_string())
        });
        let db_stats = stop(to_db);
        stop(to_json);
        support::assert_statistics(&db_stats, expected as u64);

        let lines = json_by_seq(&json);
        assert_eq!(lines.len(), expected);
        let rows = pg
            .psql(
                "nflog",
                "SELECT row_to_json(n) FROM nflog n ORDER BY oob_seq_local",
            )
            .unwrap();
        let rows: Vec<Value> = rows
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), expected);
        for row in &rows {
            let seq = row["oob_seq_local"].as_u64().unwrap();
            assert_eq!(row["nflog_group"], 71);
            assert_eq!(row["hostname"].as_str(), Some(hostname().as_str()));
            assert_row_equals_line(row, &lines[&seq], &format!("packet {seq}"));
        }
        // Native types: the addresses are inet, the time a timestamptz equal to the
        // seconds and microseconds.
        let checked = pg
            .psql(
                "nflog",
                "SELECT count(*) FROM nflog WHERE family(ip_saddr_str) IN (4, 6) AND \
                 time = to_timestamp(oob_time_sec) + oob_time_usec * interval '1 microsecond'",
            )
            .unwrap();
        assert_eq!(checked.trim(), expected.to_string());
    });
}

#[test]
fn postgres_over_tls_when_the_url_asks() {
    const TEST: &str = "postgres_over_tls_when_the_url_asks";
    if !can_run(TEST, Postgres::missing()) {
        return;
    }
    in_netns(|| {
        let pg = Postgres::start(true).unwrap_or_else(|e| panic!("{e}"));
        support::nft(&format!(
            "table inet t {{\n{}}}\n",
            mixed_rules("output", "log group 73")
        ));
        let scratch = Scratch::new();
        let url = format!("{}?sslmode=require&application_name=nflogtls", pg.url());
        let to_db = nflog(73, &url, false, &scratch, "nflog-pg");
        mixed_traffic();
        support::wait_until("the rows in", || {
            pg.psql("nflog", "SELECT count(*) FROM nflog")
                .is_ok_and(|n| n.trim() == MIXED_PACKETS.to_string())
        });
        // The sink's connection is encrypted: the server says so of it.
        let ssl = pg
            .psql(
                "nflog",
                "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
                 WHERE a.application_name = 'nflogtls'",
            )
            .unwrap();
        assert_eq!(ssl.trim(), "t");
        stop(to_db);
    });
}

/// The host name as the sink writes it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

/// Polls `done` until it holds; panics with `what` after a minute (a server starting again
/// under a loaded machine takes seconds, and the sink's backoff as many again).
fn wait_long(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `count` UDP packets to port 40001 of 127.0.0.1, each numbered.
fn burst(count: usize) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..count {
        socket
            .send_to(&(i as u32).to_be_bytes(), "127.0.0.1:40001")
            .unwrap();
        if i % 100 == 99 {
            // Paced, so that the burst spans the server's absence.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Packets logged at OUTPUT to `group` from UDP port 40001.
fn log_burst_to(group: u16) {
    support::nft(&format!(
        "table inet t {{\n  chain output {{\n    type filter hook output priority 0;\n\
         \x20   udp dport 40001 log group {group}\n  }}\n}}\n"
    ));
}

/// The burst's check: the statistics say every packet received was written, and the
/// database holds that many rows, each packet (by its sequence number) once.
fn assert_once_each(stats: &str, rows: u64, distinct: u64, sent: u64) {
    let received = support::figure(stats, " packets (");
    let written = support::figure(stats, " packets written");
    assert_eq!(received, sent, "{stats}");
    assert_eq!(written, received, "every packet written: {stats}");
    assert_eq!(rows, written, "the table holds what was written: {stats}");
    assert_eq!(distinct, rows, "no row twice");
}

/// [`assert_once_each`] on the rows of PostgreSQL's table `nflog`.
fn assert_postgres_holds_once_each(pg: &Postgres, stats: &str, sent: u64) {
    let counts = pg
        .psql(
            "nflog",
            "SELECT count(*), count(DISTINCT oob_seq_local) FROM nflog",
        )
        .unwrap();
    let (rows, distinct) = counts.trim().split_once('|').unwrap();
    assert_once_each(
        stats,
        rows.parse().unwrap(),
        distinct.parse().unwrap(),
        sent,
    );
}

#[test]
fn postgres_stopped_mid_burst_gets_every_row_once() {
    const TEST: &str = "postgres_stopped_mid_burst_gets_every_row_once";
    if !can_run(TEST, Postgres::missing()) {
        return;
    }
    in_netns(|| {
        let mut pg = Postgres::start(false).unwrap_or_else(|e| panic!("{e}"));
        log_burst_to(74);
        let scratch = Scratch::new();
        let to_db = nflog(74, &pg.url(), false, &scratch, "nflog-pg");
        burst(3000);
        pg.stop();
        burst(3000);
        // Away longer than a batch's age, so the sink finds it away.
        std::thread::sleep(Duration::from_secs(2));
        pg.start_again().unwrap();
        burst(3000);
        wait_long("every row in", || {
            pg.psql("nflog", "SELECT count(*) FROM nflog")
                .is_ok_and(|n| n.trim() == "9000")
        });
        let stderr_before = to_db.stderr();
        let stats = stop(to_db);
        assert_postgres_holds_once_each(&pg, &stats, 9000);
        assert!(
            stderr_before.contains("connected again"),
            "the outage is reported: {stderr_before}"
        );
    });
}

/// The spill file: PostgreSQL stopped mid-burst with a memory backlog (64 KiB)
/// far too small for the rows of the gap; they wait in the spill file (`spill=PATH`) and
/// every row arrives once, in the statistics and in the table.
#[test]
fn postgres_stopped_mid_burst_with_a_small_backlog_gets_every_row_once_from_the_spill_file() {
    const TEST: &str =
        "postgres_stopped_mid_burst_with_a_small_backlog_gets_every_row_once_from_the_spill_file";
    if !can_run(TEST, Postgres::missing()) {
        return;
    }
    in_netns(|| {
        let mut pg = Postgres::start(false).unwrap_or_else(|e| panic!("{e}"));
        log_burst_to(73);
        let scratch = Scratch::new();
        let spill = scratch.join("pg.spill");
        let url = format!("{}?backlog=65536&spill={}", pg.url(), spill.display());
        let to_db = nflog(73, &url, false, &scratch, "nflog-pg");
        burst(3000);
        pg.stop();
        burst(3000);
        // Away longer than a batch's age, so the sink finds it away.
        std::thread::sleep(Duration::from_secs(2));
        let spilled = std::fs::metadata(&spill).map_or(0, |m| m.len());
        pg.start_again().unwrap();
        burst(3000);
        wait_long("every row in", || {
            pg.psql("nflog", "SELECT count(*) FROM nflog")
                .is_ok_and(|n| n.trim() == "9000")
        });
        let stderr_before = to_db.stderr();
        let stats = stop(to_db);
        assert_postgres_holds_once_each(&pg, &stats, 9000);
        assert!(
            spilled > 65536,
            "the gap's rows did not fit the backlog: {spilled} bytes spilled"
        );
        assert!(
            stderr_before.contains("the backlog is full (65536 bytes); holding rows in"),
            "the spill is reported: {stderr_before}"
        );
        assert_eq!(std::fs::metadata(&spill).unwrap().len(), 0, "emptied");
    });
}

#[test]
fn clickhouse_rows_equal_the_json_lines_for_the_same_packets() {
    const TEST: &str = "clickhouse_rows_equal_the_json_lines_for_the_same_packets";
    if !can_run(TEST, ClickHouse::missing()) {
        return;
    }
    in_netns(|| {
        let _timed = time_received_packets();
        let ch = ClickHouse::start().unwrap_or_else(|e| panic!("{e}"));
        log_mix_to(75, 76);
        let scratch = Scratch::new();
        let json = scratch.join("nflog.json");
        let to_db = nflog(75, &ch.url("logs"), false, &scratch, "nflog-ch");
        let to_json = nflog(76, json.to_str().unwrap(), true, &scratch, "nflog-json");
        mixed_traffic();
        let expected = 2 * MIXED_PACKETS;
        support::wait_until("every packet in both", || {
            support::lines(&json).len() >= expected
                && ch
                    .query("SELECT count() FROM logs.nflog")
                    .is_ok_and(|n| n.trim() == expected.to_string())
        });
        let db_stats = stop(to_db);
        stop(to_json);
        support::assert_statistics(&db_stats, expected as u64);

        let lines = json_by_seq(&json);
        let rows = ch
            .query("SELECT * FROM logs.nflog ORDER BY oob_seq_local FORMAT JSONEachRow")
            .unwrap();
        let rows: Vec<Value> = rows
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(rows.len(), expected);
        for row in &rows {
            // ClickHouse writes 64-bit integers as strings in JSON; numbers for the rest.
            let seq: u64 = match &row["oob_seq_local"] {
                Value::String(s) => s.parse().unwrap(),
                other => other.as_u64().unwrap(),
            };
            let row = unquote_u64(row);
            assert_eq!(row["nflog_group"], 75);
            assert_eq!(row["hostname"].as_str(), Some(hostname().as_str()));
            assert_row_equals_line(&row, &lines[&seq], &format!("packet {seq}"));
        }
    });
}

/// A ClickHouse JSON row with the UInt64 columns (quoted by ClickHouse) as numbers, and
/// the binary addresses (not in JSON) left out.
fn unquote_u64(row: &Value) -> Value {
    let mut row = row.as_object().unwrap().clone();
    for column in nflog::format::COLUMNS {
        if column.kind == nflog::format::ColumnType::U64 {
            if let Some(Value::String(s)) = row.get(column.name) {
                let n: u64 = s.parse().unwrap();
                row.insert(column.name.to_string(), n.into());
            }
        }
    }
    Value::Object(row)
}

#[test]
fn clickhouse_killed_mid_burst_gets_every_row_once() {
    const TEST: &str = "clickhouse_killed_mid_burst_gets_every_row_once";
    if !can_run(TEST, ClickHouse::missing()) {
        return;
    }
    in_netns(|| {
        let mut ch = ClickHouse::start().unwrap_or_else(|e| panic!("{e}"));
        log_burst_to(77);
        let scratch = Scratch::new();
        let to_db = nflog(77, &ch.url("logs"), false, &scratch, "nflog-ch");
        burst(3000);
        ch.stop();
        burst(3000);
        // Away longer than a batch's age, so the sink finds it away.
        std::thread::sleep(Duration::from_secs(2));
        ch.start_again().unwrap();
        burst(3000);
        wait_long("every row in", || {
            ch.query("SELECT count() FROM logs.nflog")
                .is_ok_and(|n| n.trim() == "9000")
        });
        let stderr_before = to_db.stderr();
        let stats = stop(to_db);
        let counts = ch
            .query("SELECT count(), uniqExact(oob_seq_local) FROM logs.nflog")
            .unwrap();
        let (rows, distinct) = counts.trim().split_once('\t').unwrap();
        assert_once_each(
            &stats,
            rows.parse().unwrap(),
            distinct.parse().unwrap(),
            9000,
        );
        assert!(
            stderr_before.contains("connected again"),
            "the outage is reported: {stderr_before}"
        );
    });
}

/// Stops `proc` with SIGINT, waits up to `limit` for it to end well, and returns its
/// statistics: the line of what was received, then one line per output.
fn stop_outputs(mut proc: Proc, outputs: usize, limit: Duration) -> Vec<String> {
    proc.signal(Signal::INT);
    let deadline = std::time::Instant::now() + limit;
    while proc.exited().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "nflog did not exit: {}",
            proc.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let stderr = proc.stderr();
    assert!(proc.exited().unwrap().success(), "{stderr}");
    let lines: Vec<String> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("nflog: received "))
        .map(str::to_string)
        .collect();
    assert_eq!(
        lines.len(),
        1 + outputs,
        "a line received, one per output: {stderr}"
    );
    lines
}

/// The hex of each row's `raw_pkt` and its `raw_pktlen`, by `oob_seq_local`, from lines
/// of `seq SEP hex SEP len`.
fn raw_by_seq(text: &str, separator: char) -> BTreeMap<u64, (String, u64)> {
    text.lines()
        .map(|line| {
            let fields: Vec<&str> = line.trim().split(separator).collect();
            assert_eq!(fields.len(), 3, "{line}");
            (
                fields[0].parse().unwrap(),
                (fields[1].to_ascii_uppercase(), fields[2].parse().unwrap()),
            )
        })
        .collect()
}

/// `--raw` after each database's `-w`: the mixed traffic (IPv4 and IPv6, UDP, TCP, ICMP)
/// in SQLite, PostgreSQL and ClickHouse at once, each row's `raw_pkt` (a BLOB, a bytea, a
/// String) byte for byte the packet `--linktype raw` writes to a pcap file in the same
/// capture, `raw_pktlen` its length.
#[test]
fn raw_pkt_holds_the_packet_bytes_in_sqlite_postgres_and_clickhouse() {
    const TEST: &str = "raw_pkt_holds_the_packet_bytes_in_sqlite_postgres_and_clickhouse";
    if !can_run(TEST, Postgres::missing().or(ClickHouse::missing()))
        || !support::has_tool(TEST, "sqlite3", "--version", "sqlite3")
    {
        return;
    }
    in_netns(|| {
        let pg = Postgres::start(false).unwrap_or_else(|e| panic!("{e}"));
        let ch = ClickHouse::start().unwrap_or_else(|e| panic!("{e}"));
        let chains: String = ["input", "output"]
            .iter()
            .map(|hook| mixed_rules(hook, "log group 78"))
            .collect();
        support::nft(&format!("table inet t {{\n{chains}}}\n"));
        let scratch = Scratch::new();
        let db = scratch.join("raw.db");
        let pcap = scratch.join("raw.pcap");
        let (sqlite, pcap_arg) = (
            format!("sqlite:{}", db.display()),
            pcap.display().to_string(),
        );
        let (pg_url, ch_url) = (pg.url(), ch.url("logs"));
        let args = [
            "-g",
            "78",
            "--seq",
            "-U",
            "-w",
            &sqlite,
            "--raw",
            "-w",
            &pg_url,
            "--raw",
            "-w",
            &ch_url,
            "--raw",
            "-w",
            &pcap_arg,
            "--linktype",
            "raw",
        ];
        let mut nflog = Proc::nflog(&args, scratch.path(), "nflog-raw");
        nflog.wait_bound(78);
        mixed_traffic();
        let expected = 2 * MIXED_PACKETS;
        wait_long("every packet in each store", || {
            pg.psql("nflog", "SELECT count(*) FROM nflog")
                .is_ok_and(|n| n.trim() == expected.to_string())
                && ch
                    .query("SELECT count() FROM logs.nflog")
                    .is_ok_and(|n| n.trim() == expected.to_string())
        });
        let stats = stop_outputs(nflog, 4, Duration::from_secs(30));
        for line in &stats[1..] {
            assert!(
                line.contains(&format!(": {expected} packets written")),
                "{line}"
            );
        }
        let packets: Vec<Vec<u8>> = support::records(&pcap)
            .into_iter()
            .map(|(link_type, data)| {
                assert_eq!(link_type, 101, "LINKTYPE_RAW");
                data
            })
            .collect();
        assert_eq!(packets.len(), expected);
        let sql = "SELECT oob_seq_local, hex(raw_pkt), raw_pktlen FROM nflog ORDER BY 1";
        let out = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(sql)
            .output()
            .unwrap();
        assert!(out.status.success());
        let in_sqlite = raw_by_seq(&String::from_utf8(out.stdout).unwrap(), '|');
        let in_pg = raw_by_seq(
            &pg.psql(
                "nflog",
                "SELECT oob_seq_local, encode(raw_pkt, 'hex'), raw_pktlen FROM nflog ORDER BY 1",
            )
            .unwrap(),
            '|',
        );
        let in_ch = raw_by_seq(
            &ch.query(
                "SELECT oob_seq_local, hex(raw_pkt), raw_pktlen FROM logs.nflog ORDER BY \
                 oob_seq_local",
            )
            .unwrap(),
            '\t',
        );
        for (store, rows) in [
            ("sqlite", &in_sqlite),
            ("postgres", &in_pg),
            ("clickhouse", &in_ch),
        ] {
            assert_eq!(rows.len(), expected, "{store}");
            // The pcap file's records are in the order of the sequence numbers, from 0.
            for (seq, packet) in packets.iter().enumerate() {
                let hex: String = packet.iter().map(|b| format!("{b:02X}")).collect();
                let (stored, len) = &rows[&(seq as u64)];
                assert_eq!(stored, &hex, "{store}: packet {seq}");
                assert_eq!(*len, packet.len() as u64, "{store}: packet {seq}");
            }
        }
    });
}

/// The burst: 200,000 packets to SQLite, PostgreSQL and ClickHouse at once, each a
/// throwaway server of the test's own: nothing lost by the kernel or by any output, and
/// every packet (by its sequence number) one row in each store.
#[test]
fn a_200000_packet_burst_reaches_sqlite_postgres_and_clickhouse_at_once_without_loss() {
    const TEST: &str =
        "a_200000_packet_burst_reaches_sqlite_postgres_and_clickhouse_at_once_without_loss";
    const PACKETS: u64 = 200_000;
    if !can_run(TEST, Postgres::missing().or(ClickHouse::missing()))
        || !support::has_tool(TEST, "sqlite3", "--version", "sqlite3")
    {
        return;
    }
    in_netns(|| {
        let pg = Postgres::start(false).unwrap_or_else(|e| panic!("{e}"));
        let ch = ClickHouse::start().unwrap_or_else(|e| panic!("{e}"));
        support::nft(
            "table inet t {\n  chain output {\n    type filter hook output priority 0;\n\
             \x20   udp dport 40079 log group 79\n  }\n  chain input {\n\
             \x20   type filter hook input priority 0;\n    udp dport 40079 drop\n  }\n}\n",
        );
        let scratch = Scratch::new();
        let db = scratch.join("burst.db");
        let sqlite = format!("sqlite:{}", db.display());
        let (pg_url, ch_url) = (pg.url(), ch.url("logs"));
        // A socket buffer the reader cannot fall behind on a loaded machine: the burst
        // proves the outputs, whose queues (64 MiB each) absorb what a store cannot take
        // at once.
        let args = [
            "-g", "79", "--seq", "--rcvbuf", "33554432", "-w", &sqlite, "-w", &pg_url, "-w",
            &ch_url,
        ];
        let mut nflog = Proc::nflog(&args, scratch.path(), "nflog-burst");
        nflog.wait_bound(79);
        let started = std::time::Instant::now();
        support::send_paced(40079, PACKETS as usize, 64);
        let sqlite_count = |sql: &str| -> String {
            let out = std::process::Command::new("sqlite3")
                .arg(&db)
                .arg(sql)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let all = PACKETS.to_string();
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        while !(sqlite_count("SELECT count(*) FROM nflog") == all
            && pg
                .psql("nflog", "SELECT count(*) FROM nflog")
                .is_ok_and(|n| n.trim() == all)
            && ch
                .query("SELECT count() FROM logs.nflog")
                .is_ok_and(|n| n.trim() == all))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "not every row in after 300 s: {}",
                nflog.stderr()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        eprintln!(
            "{PACKETS} packets in all three stores {:.1} s after the first was sent",
            started.elapsed().as_secs_f64()
        );
        let stats = stop_outputs(nflog, 3, Duration::from_secs(30));
        let received = &stats[0];
        assert_eq!(
            support::figure(received, "packets ("),
            PACKETS,
            "{received}"
        );
        assert_eq!(
            support::figure(received, "kernel overruns"),
            0,
            "{received}"
        );
        assert_eq!(
            support::figure(received, "packets lost (sequence gaps)"),
            0,
            "{received}"
        );
        for line in &stats[1..] {
            assert!(
                line.contains(&format!(": {PACKETS} packets written")),
                "{line}"
            );
            assert!(
                !line.contains("dropped") && !line.contains("lost"),
                "{line}"
            );
        }
        assert_eq!(
            sqlite_count("SELECT count(*), count(DISTINCT oob_seq_local) FROM nflog"),
            format!("{all}|{all}")
        );
        assert_eq!(
            pg.psql(
                "nflog",
                "SELECT count(*), count(DISTINCT oob_seq_local) FROM nflog"
            )
            .unwrap()
            .trim(),
            format!("{all}|{all}")
        );
        assert_eq!(
            ch.query("SELECT count(), uniqExact(oob_seq_local) FROM logs.nflog")
                .unwrap()
                .trim(),
            format!("{all}\t{all}")
        );
    });
}
