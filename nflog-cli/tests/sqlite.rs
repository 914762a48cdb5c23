//! `-w sqlite:PATH`: rows read back with Debian's `sqlite3` equal our JSON lines for the
//! same packets, field by field; `--retain` deletes old rows. The kernel test runs in a
//! private network namespace with its own rules and loopback traffic (see `support`).

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use nflog::format::{ColumnType, COLUMNS};
use serde_json::{Map, Value};
use support::{
    has_tool, in_netns, nflog_output, nft, privileged, sink_mix, sink_mix_rules,
    time_received_packets, wait_until, Proc, Scratch, Signal, SINK_MIX_PACKETS,
};

/// A capture of ours: UDP, ICMP and ICMPv6 on loopback, groups 22 and 23.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fuzz/seeds/capture_file/nflog.pcapng"
);

/// A pcap file of tcpdump's, whose 24-byte header alone is an empty capture.
const PCAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fuzz/seeds/capture_file/tcpdump-le.pcap"
);

/// The rows of table `nflog`, as `sqlite3 -json` prints them, with the 16-byte addresses
/// in hex (`ip_saddr_hex`, `ip_daddr_hex`): JSON has no bytes.
fn rows(db: &Path) -> Vec<Map<String, Value>> {
    let out = Command::new("sqlite3")
        .arg("-json")
        .arg(db)
        .arg(format!(
            "SELECT {}, hex(ip_saddr_bin) AS ip_saddr_hex, hex(ip_daddr_bin) AS ip_daddr_hex \
             FROM nflog ORDER BY id",
            COLUMNS
                .iter()
                .filter(|c| c.kind != ColumnType::Bytes)
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .output()
        .expect("run sqlite3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("sqlite3 printed UTF-8");
    if text.trim().is_empty() {
        return Vec::new();
    }
    serde_json::from_str::<Vec<Map<String, Value>>>(&text).unwrap()
}

/// How many rows the table holds (0 while the database does not exist yet).
fn count(db: &Path) -> usize {
    if !db.exists() {
        return 0;
    }
    let out = Command::new("sqlite3")
        .arg(db)
        .arg("SELECT count(*) FROM nflog")
        .output()
        .expect("run sqlite3");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of `sec` and `usec`.
fn datetime(sec: i64, usec: i64) -> String {
    let days = sec.div_euclid(86_400);
    let of_day = sec.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{usec:06}",
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// The 16 bytes of an address in hex, IPv4 mapped into IPv6, as `ip_saddr_bin` holds it.
fn mapped_hex(addr: &str) -> String {
    let octets = match addr.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        std::net::IpAddr::V6(v6) => v6.octets(),
    };
    octets.iter().map(|b| format!("{b:02X}")).collect()
}

/// Asserts that `row` holds, in every column, what `json` says under the column's key
/// (NULL where the key is absent), that every key of `json` is some column's, and that our
/// own columns agree with it. `group` is the row's group, when the JSON line is of another.
fn assert_row_is_json(
    i: usize,
    row: &Map<String, Value>,
    json: &Map<String, Value>,
    group: Option<u64>,
) {
    let shared = ["src_port", "dest_port"];
    let mut covered = Vec::new();
    for column in COLUMNS.iter().filter(|c| c.kind != ColumnType::Bytes) {
        let value = &row[column.name];
        if column.name == "nflog_group" {
            if let Some(group) = group {
                assert_eq!(value, &Value::from(group), "row {i}");
                covered.push("nflog.group");
                continue;
            }
        }
        let Some(key) = column.json else { continue };
        // Two groups' copies of a packet: the kernel stamps each when it logs it (6.6 on,
        // unless the packet was timed on arrival), microseconds apart.
        if group.is_some() && ["oob.time.sec", "oob.time.usec"].contains(&key) {
            covered.push(key);
            continue;
        }
        match (value, json.get(key)) {
            (Value::Null, None) => {}
            (Value::Null, Some(_)) => assert!(
                shared.contains(&key),
                "row {i}: {} is NULL, JSON has {key}",
                column.name
            ),
            (value, Some(expected)) => {
                // `ct.state` of a state without a name is a number in JSON, text here.
                let same = value == expected
                    || matches!((value, expected), (Value::String(s), Value::Number(n)) if s == &n.to_string());
                assert!(
                    same,
                    "row {i}: {} is {value}, JSON {key} is {expected}",
                    column.name
                );
                covered.push(key);
            }
            (value, None) => panic!("row {i}: {} is {value}, JSON has no {key}", column.name),
        }
    }
    for key in json.keys() {
        assert!(
            covered.contains(&key.as_str())
                || ["timestamp", "dvc", "tcp.offset", "tcp.reserved"].contains(&key.as_str()),
            "row {i}: no column holds {key}"
        );
    }
    let micros = |m: &Map<String, Value>, sec: &str, usec: &str| {
        m[sec].as_i64().unwrap() * 1_000_000 + m[usec].as_i64().unwrap()
    };
    let ours = micros(row, "oob_time_sec", "oob_time_usec");
    let theirs = micros(json, "oob.time.sec", "oob.time.usec");
    let slack = if group.is_some() { 50_000 } else { 0 };
    assert!(
        ours.abs_diff(theirs) <= slack,
        "row {i}: time {ours} µs, JSON {theirs} µs"
    );
    let time = datetime(ours.div_euclid(1_000_000), ours.rem_euclid(1_000_000));
    assert_eq!(row["time"], Value::from(time), "row {i}");
    for (text, hex) in [("src_ip", "ip_saddr_hex"), ("dest_ip", "ip_daddr_hex")] {
        match json.get(text) {
            Some(addr) => assert_eq!(
                row[hex],
                Value::from(mapped_hex(addr.as_str().unwrap())),
                "row {i}"
            ),
            None => assert_eq!(row[hex], Value::from(""), "row {i}"),
        }
    }
}

fn sqlite3_installed(test: &str) -> bool {
    has_tool(test, "sqlite3", "--version", "sqlite3")
}

fn json_lines(text: &str) -> Vec<Map<String, Value>> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A capture file read into SQLite: each row, read back with `sqlite3`, is the JSON line of
/// the same packet.
#[test]
fn a_capture_read_into_sqlite_gives_the_rows_of_its_json_lines() {
    const TEST: &str = "a_capture_read_into_sqlite_gives_the_rows_of_its_json_lines";
    if !sqlite3_installed(TEST) {
        return;
    }
    let scratch = Scratch::new();
    let db = scratch.join("read.db");
    let target = format!("sqlite:{}", db.display());
    let (status, _, stderr) = nflog_output(&["read", FIXTURE, "-w", &target]);
    assert!(status.success(), "{stderr}");
    let (status, json, stderr) = nflog_output(&["read", FIXTURE, "-F", "json"]);
    assert!(status.success(), "{stderr}");
    let json = json_lines(&json);
    let rows = rows(&db);
    assert_eq!(rows.len(), json.len());
    assert!(rows.len() >= 10);
    for (i, (row, json)) in rows.iter().zip(&json).enumerate() {
        assert_row_is_json(i, row, json, None);
    }
}

/// `--retain 1` deletes the rows older than a day, at start, and keeps the others.
#[test]
fn retain_deletes_rows_older_than_its_days() {
    const TEST: &str = "retain_deletes_rows_older_than_its_days";
    if !sqlite3_installed(TEST) {
        return;
    }
    let scratch = Scratch::new();
    let db = scratch.join("retain.db");
    let target = format!("sqlite:{}", db.display());
    // The fixture's packets were logged on 2026-11-28: older than a day from now on.
    let (status, _, stderr) = nflog_output(&["read", FIXTURE, "-w", &target]);
    assert!(status.success(), "{stderr}");
    let old = count(&db);
    assert!(old >= 10);
    let fresh = Command::new("sqlite3")
        .arg(&db)
        .arg(
            "INSERT INTO nflog (time, oob_prefix) \
             VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now', '-23 hours'), 'fresh')",
        )
        .status()
        .unwrap();
    assert!(fresh.success());
    // A capture file with a header and no packet: the run does nothing but trim.
    let empty = scratch.join("empty.pcap");
    fs::write(&empty, &fs::read(PCAP).unwrap()[..24]).unwrap();
    let (status, _, stderr) = nflog_output(&[
        "read",
        empty.to_str().unwrap(),
        "-w",
        &target,
        "--retain",
        "1",
    ]);
    assert!(status.success(), "{stderr}");
    let rows = rows(&db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["oob_prefix"], Value::from("fresh"));

    // --retain without a database is a mistake named as such.
    let (status, _, stderr) = nflog_output(&["read", FIXTURE, "--retain", "1"]);
    assert!(!status.success());
    assert!(
        stderr.contains("--retain") && stderr.contains("-w sqlite:PATH"),
        "{stderr}"
    );
}

/// The sink mix (UDP over IPv4 and IPv6, a TCP exchange, ICMP and ICMPv6 echo) logged to
/// two groups at INPUT, one captured to SQLite, one to JSON: every field of every row,
/// read back with `sqlite3`, equals the JSON line of the same packet (the kernel stamps
/// both copies with the same time).
#[test]
fn every_field_of_the_sink_mix_in_sqlite_equals_our_json() {
    const TEST: &str = "every_field_of_the_sink_mix_in_sqlite_equals_our_json";
    if !privileged(TEST) || !sqlite3_installed(TEST) {
        return;
    }
    in_netns(|| {
        const SQL_GROUP: u16 = 61;
        const JSON_GROUP: u16 = 62;
        let _timed = time_received_packets();
        nft(&format!(
            "table inet t {{\n{}}}\n",
            sink_mix_rules(&format!("log group {SQL_GROUP} log group {JSON_GROUP}"))
        ));
        let scratch = Scratch::new();
        let (db, json) = (scratch.join("mix.db"), scratch.join("mix.json"));
        let mut sql = Proc::nflog(
            &[
                "-g",
                &SQL_GROUP.to_string(),
                "-w",
                &format!("sqlite:{}", db.display()),
            ],
            scratch.path(),
            "nflog-sqlite",
        );
        let mut lines = Proc::nflog(
            &[
                "-g",
                &JSON_GROUP.to_string(),
                "-F",
                "json",
                "-U",
                "-w",
                json.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog-json",
        );
        sql.wait_bound(SQL_GROUP);
        lines.wait_bound(JSON_GROUP);
        sink_mix();
        wait_until("both outputs have every packet", || {
            count(&db) >= SINK_MIX_PACKETS && support::lines(&json).len() >= SINK_MIX_PACKETS
        });
        for nflog in [&mut sql, &mut lines] {
            nflog.signal(Signal::INT);
            assert!(nflog.wait().success(), "{}", nflog.stderr());
        }
        let statistics = sql.stderr();
        assert!(
            statistics.starts_with(&format!("nflog: {SINK_MIX_PACKETS} packets written; ")),
            "{statistics}"
        );
        let rows = rows(&db);
        let json = json_lines(&fs::read_to_string(&json).unwrap());
        assert_eq!(rows.len(), SINK_MIX_PACKETS);
        assert_eq!(json.len(), SINK_MIX_PACKETS);
        for (i, (row, json)) in rows.iter().zip(&json).enumerate() {
            assert_row_is_json(i, row, json, Some(SQL_GROUP.into()));
        }
        // The mix: IPv4 and IPv6; UDP, TCP, ICMP, ICMPv6; the TCP exchange's SYN, SYN-ACK,
        // data both ways and FIN both ways.
        let protocols: Vec<i64> = rows
            .iter()
            .map(|r| r["ip_protocol"].as_i64().unwrap())
            .collect();
        for (protocol, n) in [(17, 9), (6, 6), (1, 2), (58, 2)] {
            assert_eq!(
                protocols.iter().filter(|&&p| p == protocol).count(),
                n,
                "{protocols:?}"
            );
        }
        let flags: Vec<i64> = rows
            .iter()
            .filter_map(|r| r["tcp_flags"].as_i64())
            .collect();
        assert_eq!(
            flags.iter().filter(|&&f| f & 0x02 != 0).count(),
            2,
            "SYN {flags:?}"
        );
        assert_eq!(
            flags.iter().filter(|&&f| f & 0x08 != 0).count(),
            2,
            "PSH {flags:?}"
        );
        assert_eq!(
            flags.iter().filter(|&&f| f & 0x01 != 0).count(),
            2,
            "FIN {flags:?}"
        );
        nft("delete table inet t");
    });
}

/// `-F` after a database's `-w` was silently ignored: a database has typed columns, no
/// format, so the command refuses it, naming both options, and creates no database.
#[test]
fn a_format_given_for_a_database_output_is_refused() {
    let scratch = Scratch::new();
    let db = scratch.join("f.db");
    let target = format!("sqlite:{}", db.display());
    for args in [
        vec!["read", FIXTURE, "-w", &target, "-F", "json"],
        vec!["read", FIXTURE, "-F", "text", "-w", &target],
        vec!["-g", "5", "-w", "postgres://u@127.0.0.1/db", "-F", "json"],
        vec![
            "-g",
            "5",
            "-w",
            "x.json",
            "-w",
            "clickhouse://h:8123/db",
            "-F",
            "text",
        ],
    ] {
        let (status, _, stderr) = nflog_output(&args);
        assert!(!status.success(), "{args:?}");
        assert!(
            stderr.contains("-F ")
                && stderr.contains("given for the output -w ")
                && stderr.contains("leave -F out for it"),
            "{args:?}: {stderr}"
        );
    }
    assert!(!db.exists());
}
