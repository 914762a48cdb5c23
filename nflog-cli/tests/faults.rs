//! `nflog capture` when things go wrong around it, against the real kernel: killed while
//! writing, the disk full, its rule removed, its network namespace deleted, its group
//! wanted by another listener.
//!
//! Every test runs from a thread in a private network namespace of its own, with its own
//! nftables rules and loopback traffic (see `support`); the disk-full test also mounts its
//! small tmpfs in a private mount namespace of that thread, inside its own temporary
//! directory; the namespace test names its namespace after this process and deletes it.
//! Without root a test says why and skips; under CI (`CI` set) a skip is a failure.
#![allow(unsafe_code)]

mod support;

use std::fs::{self, File};
use std::io::BufReader;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nflog::pcap::{CaptureReader, LinkType, ReadError};
use nflog::Packet;
use support::{
    assert_statistics, bound_groups, figure, in_netns, in_netns_of, lines, nflog_output, nft,
    one_line, privileged, records, run, wait_until, Proc, Scratch, Signal,
};

/// The nftables table of every test, in the test's own namespace: UDP to `port` at OUTPUT
/// is logged to `group` with `prefix` (no rule when `prefix` is `None`).
fn ruleset(group: u16, port: u16, prefix: Option<&str>) -> String {
    let rule = prefix.map_or(String::new(), |p| {
        format!("    udp dport {port} log group {group} prefix \"{p}\"\n")
    });
    format!(
        "table inet t {{\n  chain out {{\n    type filter hook output priority 0;\n{rule}  }}\n}}\n"
    )
}

/// Numbered UDP datagrams to 127.0.0.1:`port`, from one socket: the payload is the tag, a
/// space, the number in six digits, then padding up to `size` bytes.
struct Stream {
    socket: UdpSocket,
    port: u16,
    tag: &'static str,
    size: usize,
    sent: u32,
}

impl Stream {
    fn new(port: u16, tag: &'static str, size: usize) -> Stream {
        Stream::on(
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP"),
            port,
            tag,
            size,
        )
    }

    fn on(socket: UdpSocket, port: u16, tag: &'static str, size: usize) -> Stream {
        Stream {
            socket,
            port,
            tag,
            size,
            sent: 0,
        }
    }

    /// Sends the next datagram.
    fn send(&mut self) {
        let mut payload = format!("{} {:06}", self.tag, self.sent).into_bytes();
        payload.resize(self.size.max(payload.len()), b'.');
        self.socket
            .send_to(&payload, (Ipv4Addr::LOCALHOST, self.port))
            .expect("send UDP");
        self.sent += 1;
    }

    fn send_n(&mut self, n: u32) {
        for _ in 0..n {
            self.send();
        }
    }
}

/// The (prefix, tag, number) of an NFLOG record of a [`Stream`] datagram; panics if the
/// record is anything else.
fn stream_packet(record: &[u8]) -> (String, String, u32) {
    let packet = Packet::parse(record).expect("an NFLOG record");
    let prefix = packet.prefix().expect("a prefix").into_owned();
    let ip = packet.payload().expect("packet bytes");
    assert_eq!(ip[0] >> 4, 4, "IPv4");
    assert_eq!(ip[9], 17, "UDP");
    let data = &ip[usize::from(ip[0] & 0x0f) * 4 + 8..];
    let text = std::str::from_utf8(&data[..data.len().min(40)]).unwrap_or("");
    let mut words = text.split([' ', '.']);
    let tag = words.next().unwrap_or("").to_string();
    let number = words
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a stream datagram: {text:?}"));
    (prefix, tag, number)
}

/// A capture file read to its end by the library: the records of [`Stream`] datagrams, and
/// the byte offset of a cut final record, if the file ends inside one.
struct Contents {
    packets: Vec<(String, String, u32)>,
    cut_at: Option<u64>,
}

/// Reads `path` with the library's reader; every whole record must be an NFLOG record of
/// our traffic, and the only fault allowed is a final record cut short.
fn read_capture(path: &Path) -> Contents {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = CaptureReader::new(BufReader::new(file))
        .unwrap_or_else(|e| panic!("{}: header: {e}", path.display()));
    let mut packets = Vec::new();
    let cut_at = loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                assert_eq!(record.link_type, LinkType::Nflog);
                packets.push(stream_packet(record.data));
            }
            Ok(None) => break None,
            Err(ReadError::Truncated { offset, .. }) => break Some(offset),
            Err(e) => panic!("{}: after {} records: {e}", path.display(), packets.len()),
        }
    };
    Contents { packets, cut_at }
}

/// Asserts that `packets` are numbers `0..` of `tag` in order, each with `prefix`, at most
/// `sent` of them; returns how many.
fn assert_in_order(packets: &[(String, String, u32)], prefix: &str, tag: &str, sent: u32) -> u32 {
    for (i, (p, t, n)) in packets.iter().enumerate() {
        assert_eq!((p.as_str(), t.as_str()), (prefix, tag), "record {i}");
        assert_eq!(
            *n, i as u32,
            "record {i} is datagram {n}: one lost or repeated"
        );
    }
    let count = packets.len() as u32;
    assert!(count <= sent, "{count} records of {sent} datagrams sent");
    count
}

/// `nflog read` prints every whole record of `path` and, when the file is cut, names the
/// offset of the cut record (exit 1); a whole file reads with exit 0 and nothing on stderr.
fn assert_nflog_reads(path: &Path, contents: &Contents) {
    let (status, stdout, stderr) = nflog_output(&["read", path.to_str().unwrap()]);
    let whole = contents.packets.len();
    assert_eq!(stdout.lines().count(), whole, "{stdout}{stderr}");
    for ((prefix, tag, number), line) in contents.packets.iter().zip(stdout.lines()) {
        assert!(line.contains(&format!(" {prefix} IN= OUT=")), "{line}");
        assert!(line.contains(" PROTO=UDP "), "{line}: {tag} {number}");
    }
    match contents.cut_at {
        None => {
            assert!(status.success(), "{stderr}");
            assert_eq!(stderr, "");
        }
        Some(offset) => {
            assert_eq!(status.code(), Some(1), "{stderr}");
            let expected = format!(
                "nflog: {}: after {whole} records: file cut short at byte {offset}: ",
                path.display()
            );
            let line = one_line(&stderr);
            assert!(line.starts_with(&expected), "{line}\nexpected: {expected}");
        }
    }
}

/// Whether tcpdump is installed: the tests that use it only to cross-check do without it.
fn tcpdump_installed() -> bool {
    let found = Command::new("tcpdump")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("tcpdump not installed: its part of the test is left out");
    }
    found
}

/// tcpdump reads every whole record of `path` (one line each); a cut final record is its
/// "truncated dump file" error.
fn assert_tcpdump_reads(path: &Path, contents: &Contents) {
    if !tcpdump_installed() {
        return;
    }
    let out = Command::new("tcpdump")
        .args(["-nn", "-r"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .expect("run tcpdump");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout.lines().count(),
        contents.packets.len(),
        "tcpdump: {stdout}{stderr}"
    );
    if contents.cut_at.is_some() {
        // libpcap: "truncated dump file" or "truncated pcapng dump file".
        assert!(
            stderr.contains("pcap_loop: truncated ") && stderr.contains("dump file"),
            "tcpdump: {stderr}"
        );
    } else {
        assert!(out.status.success(), "tcpdump: {stderr}");
    }
}

/// Waits until `path` has stopped growing: the same size over 250 ms, longer than the
/// kernel's 100 ms flush timeout and the capture's batch.
fn wait_still(path: &Path) {
    let mut last = u64::MAX;
    wait_until("the file stops growing", || {
        let size = fs::metadata(path).map_or(0, |m| m.len());
        let still = size == last;
        last = size;
        if !still {
            std::thread::sleep(Duration::from_millis(250));
        }
        still
    });
}

/// Starts `nflog -g GROUP -U -w FILE` (each batch flushed as it comes) with its output in
/// `dir`, and waits until it has bound the group.
fn capture_flushed(group: u16, file: &Path, dir: &Path, name: &str) -> Proc {
    let mut nflog = Proc::nflog(
        &["-g", &group.to_string(), "-U", "-w", file.to_str().unwrap()],
        dir,
        name,
    );
    nflog.wait_bound(group);
    nflog
}

/// Ends a capture that must still be running with SIGINT: exit 0 and one statistics line
/// for `packets` written and received, which it returns.
fn interrupt(nflog: &mut Proc, packets: u64) -> String {
    assert!(
        nflog.exited().is_none(),
        "still capturing: {}",
        nflog.stderr()
    );
    nflog.signal(Signal::INT);
    let status = nflog.wait();
    let stderr = nflog.stderr();
    assert!(status.success(), "{stderr}");
    let line = one_line(&stderr).to_string();
    assert_statistics(&line, packets);
    assert!(
        line.contains(&format!("received {packets} packets")),
        "{line}"
    );
    line
}

fn assert_killed(nflog: &mut Proc) {
    let status = nflog.wait();
    assert_eq!(
        status.signal(),
        Some(9),
        "killed: {status}; {}",
        nflog.stderr()
    );
}

// 1. Killed while writing.

/// With `-U` every batch is flushed: once the datagrams sent are in the file and it has
/// stopped growing, SIGKILL loses none of them, and the file is whole.
#[test]
fn kill_after_a_flushed_batch_loses_nothing() {
    if !privileged("kill_after_a_flushed_batch_loses_nothing") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        for (group, port, name) in [(101, 6101, "flushed.pcap"), (102, 6102, "flushed.pcapng")] {
            nft(&ruleset(group, port, Some("kill")));
            let file = scratch.join(name);
            let mut nflog = capture_flushed(group, &file, scratch.path(), name);
            let mut stream = Stream::new(port, "flushed", 300);
            stream.send_n(40);
            wait_until("every datagram is in the file", || {
                records(&file).len() == 40
            });
            wait_still(&file);
            nflog.signal(Signal::KILL);
            assert_killed(&mut nflog);

            let contents = read_capture(&file);
            assert_eq!(contents.cut_at, None, "{name}: nothing is cut");
            assert_eq!(
                assert_in_order(&contents.packets, "kill", "flushed", stream.sent),
                40,
                "{name}: every datagram sent before the kill"
            );
            assert_nflog_reads(&file, &contents);
            assert_tcpdump_reads(&file, &contents);
            nft("delete table inet t");
        }
    });
}

/// Killed while a stream of datagrams is being captured, with and without `-U`: the file
/// holds at least every record that was in it before the kill, every whole record is one
/// of our datagrams, in order, and the only fault is a final record cut short, which
/// `nflog read` and tcpdump report as such after printing the rest.
#[test]
fn kill_while_writing_keeps_every_whole_record() {
    if !privileged("kill_while_writing_keeps_every_whole_record") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let cases = [
            (103, 6103, "stream-U.pcap", true),
            (104, 6104, "stream-U.pcapng", true),
            (105, 6105, "stream.pcap", false),
            (106, 6106, "stream.pcapng", false),
        ];
        for (group, port, name, packet_buffered) in cases {
            nft(&ruleset(group, port, Some("kill")));
            let file = scratch.join(name);
            let group_arg = group.to_string();
            let mut args = vec!["-g", &group_arg, "-w", file.to_str().unwrap()];
            if packet_buffered {
                args.push("-U");
            }
            let mut nflog = Proc::nflog(&args, scratch.path(), name);
            nflog.wait_bound(group);

            // With -U the file grows batch by batch; without, in 256 KiB buffers. Kill once
            // well into the file, while datagrams keep coming.
            let threshold = if packet_buffered { 64 * 1024 } else { 1 };
            let mut stream = Stream::new(port, "stream", 1000);
            let mut flushed = None;
            while stream.sent < 20_000 {
                stream.send();
                if stream.sent % 16 == 0
                    && fs::metadata(&file).map_or(0, |m| m.len()) > threshold + 32
                {
                    let before = records(&file).len();
                    if before > 0 {
                        nflog.signal(Signal::KILL);
                        flushed = Some(before);
                        stream.send_n(16);
                        break;
                    }
                }
            }
            let flushed = flushed.unwrap_or_else(|| {
                panic!(
                    "{name}: the file never grew past {threshold} bytes; stderr: {}",
                    nflog.stderr()
                )
            });
            assert_killed(&mut nflog);

            let contents = read_capture(&file);
            let whole = assert_in_order(&contents.packets, "kill", "stream", stream.sent);
            assert!(
                whole as usize >= flushed,
                "{name}: {whole} records after the kill, {flushed} before"
            );
            eprintln!(
                "{name}: {whole} whole records ({flushed} seen before the kill), cut at {:?}",
                contents.cut_at
            );
            assert_nflog_reads(&file, &contents);
            assert_tcpdump_reads(&file, &contents);
            nft("delete table inet t");
        }
    });
}

// 2. The disk full.

/// A tmpfs of `size` mounted on `dir` in the calling thread's private mount namespace;
/// unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: PathBuf, size: &str) -> Tmpfs {
        fs::create_dir(&dir).unwrap();
        run(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "nflog-faults",
                dir.to_str().unwrap(),
            ],
        );
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Moves the calling thread into a mount namespace of its own, whose mounts propagate
/// nowhere: children spawned from it see its mounts, nothing else does.
fn private_mounts() {
    // SAFETY: CLONE_NEWNS (with the CLONE_FS it implies) changes only this thread's mount
    // namespace, root and working directory; descriptors stay valid.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNS) }
        .expect("unshare(CLONE_NEWNS)");
    run("mount", &["--make-rprivate", "/"]);
}

/// Capturing to a 64 KiB tmpfs while more than that arrives, with `-U` (each batch flushed)
/// and without (one 256 KiB buffer): exit status 1, the statistics line, then the error
/// naming the full disk; the file holds whole records of our datagrams up to the last,
/// which may be cut.
#[test]
fn full_disk_ends_the_capture_with_statistics_and_a_readable_file() {
    if !privileged("full_disk_ends_the_capture_with_statistics_and_a_readable_file") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        private_mounts();
        for (group, port, name, packet_buffered) in [
            (111, 6111, "full-U.pcap", true),
            (112, 6112, "full.pcapng", false),
        ] {
            nft(&ruleset(group, port, Some("full")));
            let disk = Tmpfs::mount(scratch.join(format!("{name}.d").as_str()), "64k");
            let file = disk.0.join(name);
            let group_arg = group.to_string();
            let mut args = vec!["-g", &group_arg, "-w", file.to_str().unwrap()];
            if packet_buffered {
                args.push("-U");
            }
            let mut nflog = Proc::nflog(&args, scratch.path(), name);
            nflog.wait_bound(group);
            let mut stream = Stream::new(port, "full", 1000);
            while nflog.exited().is_none() && stream.sent < 2_000 {
                stream.send_n(8);
                std::thread::sleep(Duration::from_millis(1));
            }
            let status = nflog.wait();
            // The file goes with the tmpfs: a copy stays with the logs if the test fails.
            fs::copy(&file, scratch.join(name)).unwrap();
            let stderr = nflog.stderr();
            assert_eq!(status.code(), Some(1), "{name}: {stderr}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(
                lines.len(),
                2,
                "{name}: statistics, then the error: {stderr}"
            );
            let written = figure(lines[0], " packets written");
            assert_statistics(lines[0], written);
            assert!(
                lines[1].starts_with("nflog: writing the output failed: the disk is full (ENOSPC)"),
                "{name}: {}",
                lines[1]
            );
            assert!(lines[1].contains("No space left on device"), "{}", lines[1]);

            let size = fs::metadata(&file).unwrap().len();
            assert!(size <= 64 * 1024, "{name}: {size} bytes on a 64 KiB disk");
            let contents = read_capture(&file);
            let whole = assert_in_order(&contents.packets, "full", "full", stream.sent);
            assert!(whole > 0, "{name}: some records fit");
            // "written" counts the packets whose every byte the system took, not the ones
            // still in the output's buffer when the disk filled.
            assert_eq!(
                u64::from(whole),
                written,
                "{name}: {whole} records in the file, {written} said written"
            );
            // Every packet received is accounted for: written, or lost with the output.
            let received = figure(lines[0], " packets (");
            let lost = figure(lines[0], " packets lost when the output failed");
            assert_eq!(written + lost, received, "{name}: {}", lines[0]);
            assert!(lost > 0, "{name}: the buffer held packets: {}", lines[0]);
            eprintln!(
                "{name}: {size} bytes, {whole} whole records, cut at {:?}; statistics: {}",
                contents.cut_at, lines[0]
            );
            assert_nflog_reads(&file, &contents);
            assert_tcpdump_reads(&file, &contents);
            drop(disk);
            nft("delete table inet t");
        }
    });
}

/// Rows in table `nflog` of `db`, as Debian's sqlite3 counts them.
fn sqlite_rows(db: &Path) -> u64 {
    sqlite_number(db, "SELECT count(*) FROM nflog")
}

/// The number a query of `db` answers (0 for none, or NULL).
fn sqlite_number(db: &Path, sql: &str) -> u64 {
    let out = Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("run sqlite3 (apt-get install sqlite3)");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// SQLite on a full filesystem: the batches whose commit fails are counted as dropped with
/// SQLite's reason and a warning, the capture goes on, and once there is room again the
/// rows are written again; the exit status says rows were lost, and written + dropped is
/// every packet received.
#[test]
fn sqlite_on_a_full_disk_counts_the_rows_it_lost_and_goes_on() {
    const TEST: &str = "sqlite_on_a_full_disk_counts_the_rows_it_lost_and_goes_on";
    if !privileged(TEST) || !support::has_tool(TEST, "sqlite3", "--version", "sqlite3") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        private_mounts();
        let (group, port) = (113, 6113);
        nft(&ruleset(group, port, Some("full")));
        let disk = Tmpfs::mount(scratch.join("sqlite.d"), "1m");
        let db = disk.0.join("fw.db");
        let group_arg = group.to_string();
        let target = format!("sqlite:{}", db.display());
        // Numbered (--seq), so the test knows when the last packet is in.
        let mut nflog = Proc::nflog(
            &["-g", &group_arg, "--seq", "-w", &target],
            scratch.path(),
            "sqlite",
        );
        nflog.wait_bound(group);
        let mut stream = Stream::new(port, "full", 1000);
        stream.send_n(20);
        wait_until("the first rows", || sqlite_rows(&db) == 20);
        // The rest of the disk taken: the next commits fail.
        let filler = disk.0.join("filler");
        let mut fill = File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while std::io::Write::write_all(&mut fill, &block).is_ok() {}
        drop(fill);
        stream.send_n(300);
        wait_until("the warning", || nflog.stderr().contains("not committed"));
        assert!(
            nflog.exited().is_none(),
            "the capture goes on: {}",
            nflog.stderr()
        );
        // Room again: rows are written again.
        fs::remove_file(&filler).unwrap();
        let before = sqlite_rows(&db);
        stream.send_n(30);
        // The last packet's row, not only 30 more: rows of the burst before may commit
        // late on a loaded machine, while the last packets are still on their way.
        wait_until("rows after the disk had room", || {
            sqlite_rows(&db) >= before + 30
                && sqlite_number(&db, "SELECT max(oob_seq_local) FROM nflog") == 349
        });
        nflog.signal(Signal::INT);
        let status = nflog.wait();
        let stderr = nflog.stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        let line = stderr
            .lines()
            .find(|l| l.contains(" packets written; "))
            .unwrap_or_else(|| panic!("no statistics: {stderr}"));
        let written = figure(line, " packets written");
        let received = figure(line, " packets (");
        let dropped = figure(line, " packets not committed to SQLite");
        assert!(
            line.contains("not committed to SQLite (database or disk is full)"),
            "{line}"
        );
        assert_eq!(received, 350, "{line}");
        assert_eq!(written + dropped, received, "{line}");
        assert!(dropped > 0 && written >= 50, "{line}");
        assert_eq!(sqlite_rows(&db), written, "{line}");
        assert!(
            stderr.contains("packets were not committed (database or disk is full)"),
            "the exit status's error: {stderr}"
        );
        drop(disk);
        nft("delete table inet t");
    });
}

// 3. The rule removed mid-capture.

/// The handle of the rule `nft --echo --handle add rule ...` added.
fn add_rule(rule: &str) -> String {
    let mut args = vec!["--echo", "--handle", "add", "rule", "inet", "t", "out"];
    args.extend(rule.split(' '));
    let out = run("nft", &args);
    out.split_once("# handle ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .filter(|h| h.parse::<u64>().is_ok())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no handle in {out:?}"))
}

/// The capture outlives its rule: packets before are captured, none while the rule is
/// gone, and those after it is added again; the capture never errs, and SIGINT ends it
/// with exit 0 and statistics that count them all.
#[test]
fn rule_removed_and_added_again_mid_capture() {
    if !privileged("rule_removed_and_added_again_mid_capture") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        nft(&ruleset(121, 6121, None));
        let handle = add_rule("udp dport 6121 log group 121 prefix \"before\"");
        let file = scratch.join("rule.pcap");
        let mut nflog = capture_flushed(121, &file, scratch.path(), "nflog");

        let mut before = Stream::new(6121, "before", 100);
        before.send_n(5);
        wait_until("the packets before", || records(&file).len() == 5);

        run(
            "nft",
            &["delete", "rule", "inet", "t", "out", "handle", &handle],
        );
        let mut gap = Stream::new(6121, "gap", 100);
        gap.send_n(5);
        add_rule("udp dport 6121 log group 121 prefix \"after\"");
        let mut after = Stream::new(6121, "after", 100);
        after.send_n(5);
        wait_until("the packets after", || records(&file).len() >= 10);
        wait_still(&file);
        let line = interrupt(&mut nflog, 10);
        assert!(
            line.contains(" 0 kernel overruns, 0 packets lost"),
            "{line}"
        );

        let contents = read_capture(&file);
        assert_eq!(contents.cut_at, None);
        let (first, second) = contents.packets.split_at(5);
        assert_eq!(assert_in_order(first, "before", "before", 5), 5);
        assert_eq!(assert_in_order(second, "after", "after", 5), 5);
    });
}

/// Regression: the closing statistics written to a failing standard error (a full disk
/// under `2>file`, seen as exit 0 and an empty stderr in a loaded run) were dropped without
/// a word, and the capture still exited 0.
#[test]
fn statistics_lost_to_a_full_stderr_fail_the_exit_status() {
    if !privileged("statistics_lost_to_a_full_stderr_fail_the_exit_status") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        nft(&ruleset(151, 6151, Some("full")));
        let file = scratch.join("full.pcap");
        let full = File::options().write(true).open("/dev/full").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_nflog"))
            .args(["-g", "151", "-U", "-w", file.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(full)
            .spawn()
            .unwrap();
        wait_until("group 151 bound", || {
            bound_groups().contains(&151) || child.try_wait().unwrap().is_some()
        });
        // A packet in the file: the capture runs, its signal handler installed.
        Stream::new(6151, "full", 100).send_n(1);
        wait_until("the packet", || {
            records(&file).len() == 1 || child.try_wait().unwrap().is_some()
        });
        assert_eq!(child.try_wait().unwrap(), None, "still capturing");
        let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
        rustix::process::kill_process(pid, Signal::INT).unwrap();
        let mut status = None;
        wait_until("nflog exited", || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        let status = status.unwrap();
        assert_eq!(status.code(), Some(1), "{status}");
    });
}

// 4. The namespace gone.

/// A namespace made with `ip netns add`, deleted on drop if it still has its name.
struct NamedNetns(String);

impl NamedNetns {
    fn add(name: String) -> NamedNetns {
        run("ip", &["netns", "add", &name]);
        NamedNetns(name)
    }

    fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.0)
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        if self.path().exists() {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.0])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `nflog --netns NAME` keeps capturing after `ip netns del NAME`: its socket holds the
/// namespace, interface names still resolve through it, packets sent there still arrive,
/// and once nothing but the capture holds the namespace SIGINT still ends it with exit 0
/// and its statistics.
#[test]
fn named_namespace_deleted_mid_capture() {
    if !privileged("named_namespace_deleted_mid_capture") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let named = NamedNetns::add(format!("nflog-faults-{}", std::process::id()));
        let ns = File::open(named.path()).unwrap();
        let socket = in_netns_of(&ns, || {
            run("ip", &["link", "set", "lo", "up"]);
            nft(&ruleset(131, 6131, Some("gone")));
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP in the namespace")
        });
        let file = scratch.join("netns.txt");
        let mut nflog = Proc::nflog(
            &[
                "--netns",
                &named.0,
                "-g",
                "131",
                "-U",
                "-w",
                file.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog",
        );
        wait_until("nflog binds group 131 in the named namespace", || {
            assert!(nflog.exited().is_none(), "nflog exited: {}", nflog.stderr());
            in_netns_of(&ns, bound_groups).contains(&131)
        });
        assert!(!bound_groups().contains(&131), "not in its own namespace");

        let mut stream = Stream::on(socket, 6131, "gone", 100);
        stream.send_n(3);
        wait_until("3 lines", || lines(&file).len() == 3);

        run("ip", &["netns", "del", &named.0]);
        assert!(!named.path().exists(), "the name is gone");
        stream.send_n(3);
        wait_until("3 more lines", || lines(&file).len() == 6);
        for line in lines(&file) {
            assert!(line.contains(" gone IN= OUT=lo "), "{line}");
            assert!(line.contains(" DPT=6131 "), "{line}");
        }

        // Now only the capture's socket holds the namespace.
        drop(stream);
        drop(ns);
        std::thread::sleep(Duration::from_millis(200));
        interrupt(&mut nflog, 6);
        assert_eq!(lines(&file).len(), 6);
    });
}

// 5. The group taken over.

/// While our capture holds group 141, a second `nflog -g 141` and `tcpdump -i nflog:141`
/// both fail at once with a clear error, the group stays ours, and our capture receives
/// every packet sent afterwards.
#[test]
fn group_cannot_be_taken_over_mid_capture() {
    if !privileged("group_cannot_be_taken_over_mid_capture") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        nft(&ruleset(141, 6141, Some("ours")));
        let file = scratch.join("ours.pcap");
        let mut nflog = capture_flushed(141, &file, scratch.path(), "nflog");
        let mut stream = Stream::new(6141, "ours", 100);
        stream.send_n(3);
        wait_until("the first packets", || records(&file).len() == 3);

        let owner = || {
            fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")
                .unwrap()
                .lines()
                .find_map(|l| {
                    let mut fields = l.split_whitespace();
                    (fields.next()? == "141").then(|| fields.next()?.parse::<u32>().ok())?
                })
        };
        assert_eq!(
            owner(),
            Some(nflog.pid()),
            "our capture's port holds the group"
        );

        let (status, stdout, stderr) = nflog_output(&["-g", "141", "-c", "1"]);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout, "");
        let line = one_line(&stderr);
        assert!(
            line.starts_with("nflog: group 141 is already bound by another socket"),
            "{line}"
        );
        assert!(
            line.contains(&format!("process {} \"nflog\"", nflog.pid())),
            "{line}"
        );

        if tcpdump_installed() {
            let mut command = Command::new("tcpdump");
            command.args(["-Z", "root", "-i", "nflog:141", "-w", "/dev/null"]);
            let mut tcpdump = Proc::spawn(command, scratch.path(), "tcpdump");
            let status = tcpdump.wait();
            let stderr = tcpdump.stderr();
            assert!(!status.success(), "tcpdump must fail: {stderr}");
            assert!(
                stderr.contains("Can't listen on group index: Operation not permitted"),
                "{stderr}"
            );
        }
        assert_eq!(owner(), Some(nflog.pid()), "the group is still ours");

        stream.send_n(50);
        wait_until("every packet sent afterwards", || {
            records(&file).len() >= 53
        });
        wait_still(&file);
        interrupt(&mut nflog, 53);

        let contents = read_capture(&file);
        assert_eq!(contents.cut_at, None);
        assert_eq!(assert_in_order(&contents.packets, "ours", "ours", 53), 53);
    });
}
