//! Rows per second and CPU per packet of our command's database outputs: `nflog capture -g 9
//! -w URL` against a throwaway PostgreSQL 15 and ClickHouse (test-support's, as `nobody` on
//! 127.0.0.1 of a private network namespace), beside `-w FILE.json` as the reference.
//!
//! ```sh
//! cargo build --release --workspace --bins
//! target/release/remote_sinks [PACKETS]     # default 200000, 64-byte UDP payloads
//! ```
//!
//! For each sink: the command binds group 9, a sender floods 127.0.0.1:9 (logged at OUTPUT
//! and dropped at INPUT), and the program waits until the table holds every packet the command
//! received. It prints the packets received, the rows in the table, the time from the first
//! packet sent to the last row visible (rows per second), and the command's CPU time (user
//! + system, from /proc, read once everything is in) per packet. As root.
//!
//! Last, the issue's burst: one command writing SQLite, PostgreSQL and ClickHouse at once
//! (three `-w`), its rows the fewest any of the three holds, and a line with each store's
//! rows and what was lost (received minus rows, which must be 0).
#![allow(unsafe_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nflog_bench::{enter_private_netns, nft, send, BoxError, PORT};
use nflog_test_support::{ClickHouse, Postgres};

const GROUP: u16 = 9;

fn main() -> Result<(), BoxError> {
    let packets: u64 = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(200_000);
    let nflog = std::env::current_exe()?
        .parent()
        .ok_or("no directory")?
        .join("nflog");
    std::thread::spawn(move || run(&nflog, packets))
        .join()
        .map_err(|_| "the benchmark thread panicked")?
}

fn run(nflog: &std::path::Path, packets: u64) -> Result<(), BoxError> {
    enter_private_netns()?;
    nft(&format!(
        "table inet bench {{\n  chain output {{\n    type filter hook output priority 0;\n\
         \x20   udp dport {PORT} log group {GROUP}\n  }}\n  chain input {{\n\
         \x20   type filter hook input priority 0;\n    udp dport {PORT} drop\n  }}\n}}\n"
    ))?;
    println!("| sink | received | rows | seconds | rows/s | CPU µs/packet |");
    println!("|---|---:|---:|---:|---:|---:|");
    let dir = std::env::temp_dir().join(format!("nflog-remote-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let json = dir.join("burst.json");
    one(
        nflog,
        packets,
        "json file",
        &[json.to_str().ok_or("path")?],
        |_| {
            Ok(vec![std::fs::read_to_string(&json)
                .map(|t| t.lines().count() as u64)
                .unwrap_or(0)])
        },
    )?;
    let db = dir.join("burst.db");
    let sqlite_rows = |db: &std::path::Path| -> u64 {
        Command::new("sqlite3")
            .arg(db)
            .arg("SELECT count(*) FROM nflog")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    one(
        nflog,
        packets,
        "sqlite",
        &[&format!("sqlite:{}", db.display())],
        |_| Ok(vec![sqlite_rows(&db)]),
    )?;

    let pg = Postgres::start(false)?;
    let pg_rows = |table: &str| -> u64 {
        pg.psql("nflog", &format!("SELECT count(*) FROM {table}"))
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    one(nflog, packets, "postgres", &[&pg.url()], |_| {
        Ok(vec![pg_rows("nflog")])
    })?;

    let ch = ClickHouse::start()?;
    let ch_rows = |table: &str| -> u64 {
        ch.query(&format!("SELECT count() FROM bench.{table}"))
            .ok()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    one(nflog, packets, "clickhouse", &[&ch.url("bench")], |_| {
        Ok(vec![ch_rows("nflog")])
    })?;

    // The three at once, each to a table of its own that starts empty.
    let all = dir.join("all.db");
    one(
        nflog,
        packets,
        "sqlite + postgres + clickhouse",
        &[
            &format!("sqlite:{}", all.display()),
            &format!("{}?table=all3", pg.url()),
            &format!("{}?table=all3", ch.url("bench")),
        ],
        |_| Ok(vec![sqlite_rows(&all), pg_rows("all3"), ch_rows("all3")]),
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// One capture to the sinks `destinations`: start the command, send, wait for the rows
/// (`rows` gives each sink's count; the fewest count), measure, stop.
fn one(
    nflog: &std::path::Path,
    packets: u64,
    name: &str,
    destinations: &[&str],
    rows: impl Fn(()) -> Result<Vec<u64>, BoxError>,
) -> Result<(), BoxError> {
    let stderr = std::env::temp_dir().join(format!(
        "nflog-remote-bench-{}.stderr",
        name.replace(' ', "")
    ));
    let mut command = Command::new(nflog);
    command.args(["capture", "-g", &GROUP.to_string()]);
    for destination in destinations {
        command.args(["-w", destination]);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr)?)
        .spawn()?;
    let started = Instant::now();
    while !bound() {
        if started.elapsed() > Duration::from_secs(10) || child.try_wait()?.is_some() {
            return Err(format!("{name}: nflog did not bind group {GROUP}").into());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let first = Instant::now();
    send(packets, 64, 1)?;
    // Every packet the kernel logged, in the table: as many as the command received, which
    // it says once it is idle; wait for the rows to stop growing, then for the count.
    // Settled when no store's count changed for 5 s: the fewest alone could stand still
    // on one store (a ClickHouse INSERT of 100,000 rows) while another still grows.
    let mut last: (Vec<u64>, Instant) = (Vec::new(), Instant::now());
    let (settled, each) = loop {
        let each = rows(())?;
        let n = each.iter().copied().min().unwrap_or(0);
        if each != last.0 {
            last = (each.clone(), Instant::now());
        }
        if n > 0 && last.1.elapsed() > Duration::from_secs(5) {
            break ((n, last.1), each);
        }
        if first.elapsed() > Duration::from_secs(300) {
            return Err(format!("{name}: rows still arriving after 300 s").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let seconds = settled.1.duration_since(first).as_secs_f64();
    let cpu = cpu_time(&child)?;
    stop(&mut child)?;
    let text = std::fs::read_to_string(&stderr)?;
    let received = text
        .lines()
        .find_map(|l| {
            let at = l.find(" packets (")?;
            l[..at].rsplit(' ').next()?.parse::<u64>().ok()
        })
        .ok_or_else(|| format!("{name}: no statistics: {text}"))?;
    println!(
        "| {name} | {received} | {} | {seconds:.2} | {:.0} | {:.2} |",
        settled.0,
        settled.0 as f64 / seconds,
        cpu.as_secs_f64() * 1e6 / received.max(1) as f64
    );
    if destinations.len() > 1 {
        // Counted again once the command has ended (its outputs drained): what is missing
        // then is lost, not late; the command's own lines say why.
        let after = rows(())?;
        let lost = received.saturating_sub(after.iter().copied().min().unwrap_or(0));
        println!(
            "|  | rows per store when settled: {}; after exit: {} | lost: {lost} | | | |",
            each.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" / "),
            after
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" / ")
        );
        for line in text.lines().filter(|l| l.starts_with("nflog: output ")) {
            println!("|  | {line} | | | | |");
        }
    }
    let _ = std::fs::remove_file(stderr);
    Ok(())
}

/// Whether group 9 is bound in this thread's namespace.
fn bound() -> bool {
    std::fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().next() == Some(&GROUP.to_string()))
}

/// The user and system CPU time of a process so far.
fn cpu_time(child: &Child) -> Result<Duration, BoxError> {
    let stat = std::fs::read_to_string(PathBuf::from(format!("/proc/{}/stat", child.id())))?;
    // Fields after the command name (which may hold spaces), from its closing parenthesis.
    let rest = &stat[stat.rfind(')').ok_or("stat")? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// Stops the command with SIGINT and reaps it.
fn stop(child: &mut Child) -> Result<(), BoxError> {
    // SAFETY: kill with a pid of our own child and a valid signal.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("nflog exited with {status}").into());
    }
    Ok(())
}
