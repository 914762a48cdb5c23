//! File outputs against the real kernel: rotation by size and by time gives readable files
//! (read back by `nflog read` and `tcpdump -r`) whose records together are one unrotated
//! capture's; a ring keeps exactly its count of files and `-z` runs on each closed one;
//! SIGHUP under a burst loses nothing; the real logrotate, with `create` and with
//! `copytruncate`, rotates a running capture without a record lost, damaged or doubled and
//! without NUL bytes.
//!
//! Each test runs from a thread in a private network namespace of its own, with its own
//! rules and loopback traffic (see `support`); logrotate runs with its own configuration
//! and state file in the test's scratch directory.

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, SystemTime};

use support::{
    figure, has_tool, in_netns, nft, privileged, records, send_paced, wait_until, Proc, Scratch,
    Signal,
};

const PORT: u16 = 6021;

/// NFULA_SEQ.
const NFULA_SEQ: u16 = 12;

/// Logs every UDP datagram to `PORT` at OUTPUT to each of `groups`, and drops it at INPUT.
fn log_udp_to(groups: &[u16]) {
    let logs: String = groups
        .iter()
        .map(|g| format!(" log group {g} prefix \"rot\""))
        .collect();
    nft(&format!(
        "table inet t {{\n\
         \x20 chain out {{ type filter hook output priority 0; udp dport {PORT}{logs}; }}\n\
         \x20 chain in {{ type filter hook input priority 0; udp dport {PORT} drop; }}\n\
         }}\n"
    ));
}

/// The files of `dir` whose names start with `prefix`, sorted by `key`.
fn files_by<K: Ord>(dir: &Path, prefix: &str, key: impl Fn(&str) -> K) -> Vec<PathBuf> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort_by_key(|n| key(n));
    names.into_iter().map(|n| dir.join(n)).collect()
}

/// The number after `prefix` in `name` (0 for none): tcpdump's rotation numbers.
fn number_after(name: &str, prefix: &str) -> u64 {
    name.get(prefix.len()..)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The sequence number (NFULA_SEQ) of an NFLOG record.
fn record_seq(record: &[u8]) -> u32 {
    let (_, at, len) = support::tlvs(record)
        .into_iter()
        .find(|&(kind, _, _)| kind == NFULA_SEQ)
        .expect("every record has NFULA_SEQ (--seq)");
    assert_eq!(len, 4);
    u32::from_be_bytes(record[at..at + 4].try_into().unwrap())
}

/// The records of `files`, in order, each with its group zeroed; every file must read to
/// its end without damage.
fn all_records(files: &[PathBuf]) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for file in files {
        let bytes = fs::read(file).unwrap();
        let mut reader = nflog::pcap::CaptureReader::new(&bytes[..])
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        while let Some(record) = reader
            .next_record()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        {
            assert_eq!(record.link_type.number(), 239);
            let mut data = record.data.to_vec();
            data[2..4].fill(0);
            all.push(data);
        }
    }
    all
}

/// The `oob.seq.local` of every JSON line of `files`, in order; every line must parse and
/// no file may hold a NUL byte.
fn json_seqs(files: &[PathBuf]) -> Vec<u64> {
    let mut seqs = Vec::new();
    for file in files {
        let bytes = fs::read(file).unwrap();
        assert!(!bytes.contains(&0), "{}: NUL bytes", file.display());
        for line in String::from_utf8(bytes).unwrap().lines() {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{}: {e}: {line:?}", file.display()));
            seqs.push(value["oob.seq.local"].as_u64().expect("oob.seq.local"));
        }
    }
    seqs
}

/// Asserts that `seqs` holds each of 0 to `count - 1` exactly once.
fn assert_each_once(mut seqs: Vec<u64>, count: u64, what: &str) {
    seqs.sort_unstable();
    let expected: Vec<u64> = (0..count).collect();
    assert!(
        seqs == expected,
        "{what}: {} records, not 0..{count} each once",
        seqs.len()
    );
}

/// Asserts that a capture's statistics say every packet was written and none lost.
fn assert_nothing_lost(nflog: &Proc, packets: u64) {
    let stderr = nflog.stderr();
    for line in stderr.lines().filter(|l| l.contains("packets written")) {
        assert_eq!(figure(line, " packets written"), packets, "{stderr}");
    }
    assert!(
        stderr.contains(&format!("received {packets} packets")),
        "{stderr}"
    );
    assert!(
        stderr.contains(" 0 packets lost (sequence gaps)"),
        "{stderr}"
    );
    assert!(!stderr.contains("dropped"), "{stderr}");
}

/// Reads `file` back with `nflog read` and with `tcpdump -r`: both succeed and print a line
/// per record.
fn read_back(file: &Path, records: usize) {
    let out = Command::new(support::NFLOG)
        .arg("read")
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "nflog read {}", file.display());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        records
    );
    let out = Command::new("tcpdump")
        .args(["-n", "-r"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tcpdump -r {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        records
    );
}

#[test]
fn size_rotation_gives_readable_files_that_together_equal_one_capture() {
    let test = "size_rotation_gives_readable_files_that_together_equal_one_capture";
    if !privileged(test) || !has_tool(test, "tcpdump", "--version", "tcpdump") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[41, 42]);
        let whole = scratch.join("whole.pcap");
        let rotated = scratch.join("rot.pcap");
        let count = "3000";
        let mut one = Proc::nflog(
            &[
                "-g",
                "41",
                "--seq",
                "-c",
                count,
                "-w",
                whole.to_str().unwrap(),
            ],
            scratch.path(),
            "whole",
        );
        let mut split = Proc::nflog(
            &[
                "-g",
                "42",
                "--seq",
                "-c",
                count,
                "-C",
                "100k",
                "-w",
                rotated.to_str().unwrap(),
            ],
            scratch.path(),
            "split",
        );
        one.wait_bound(41);
        split.wait_bound(42);
        send_paced(PORT, 3000, 200);
        assert!(one.wait().success(), "{}", one.stderr());
        assert!(split.wait().success(), "{}", split.stderr());
        assert_nothing_lost(&split, 3000);

        let files = files_by(scratch.path(), "rot.pcap", |n| number_after(n, "rot.pcap"));
        assert!(files.len() >= 5, "{} files", files.len());
        for (i, file) in files.iter().enumerate() {
            let name = file.file_name().unwrap().to_str().unwrap();
            let expected = if i == 0 {
                "rot.pcap".to_string()
            } else {
                format!("rot.pcap{i}")
            };
            assert_eq!(name, expected, "tcpdump's names, in order");
            // A file passes 100 KiB by at most its last record.
            let size = fs::metadata(file).unwrap().len();
            assert!(size <= 100 * 1024 + 512, "{name}: {size} bytes");
            read_back(file, records(file).len());
        }
        let theirs = all_records(&[whole]);
        let ours = all_records(&files);
        assert_eq!(ours.len(), 3000);
        assert!(
            ours == theirs,
            "the rotated records are the unrotated capture's"
        );
    });
}

#[test]
fn time_rotation_gives_files_named_by_their_time_that_together_equal_one_capture() {
    let test = "time_rotation_gives_files_named_by_their_time_that_together_equal_one_capture";
    if !privileged(test) || !has_tool(test, "tcpdump", "--version", "tcpdump") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[43, 44]);
        let whole = scratch.join("whole.pcapng");
        let started = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut one = Proc::nflog(
            &[
                "-g",
                "43",
                "--seq",
                "-c",
                "1000",
                "-w",
                whole.to_str().unwrap(),
            ],
            scratch.path(),
            "whole",
        );
        // Two outputs of one capture, both rotated every second: pcapng and JSON.
        let pcapng = scratch.join("t-%s.pcapng");
        let json = scratch.join("t-%s.json");
        let mut timed = Proc::nflog(
            &[
                "-g",
                "44",
                "--seq",
                "-c",
                "1000",
                "-G",
                "1",
                "-w",
                pcapng.to_str().unwrap(),
                "-w",
                json.to_str().unwrap(),
            ],
            scratch.path(),
            "timed",
        );
        one.wait_bound(43);
        timed.wait_bound(44);
        for _ in 0..4 {
            send_paced(PORT, 250, 100);
            thread::sleep(Duration::from_millis(1200));
        }
        assert!(one.wait().success(), "{}", one.stderr());
        assert!(timed.wait().success(), "{}", timed.stderr());
        assert_nothing_lost(&timed, 1000);
        let ended = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();

        let seconds = |name: &str| -> u64 {
            let stem = name.trim_start_matches("t-");
            stem[..stem.find('.').unwrap()].parse().unwrap()
        };
        let pcapngs: Vec<PathBuf> = files_by(scratch.path(), "t-", seconds)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "pcapng"))
            .collect();
        let jsons: Vec<PathBuf> = files_by(scratch.path(), "t-", seconds)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        // Four rounds 1.2 s apart: a new file for each at least.
        assert!(pcapngs.len() >= 4, "{pcapngs:?}");
        assert_eq!(pcapngs.len(), jsons.len());
        for file in &pcapngs {
            let time = seconds(file.file_name().unwrap().to_str().unwrap());
            assert!((started..=ended).contains(&time), "{}", file.display());
            read_back(file, records(file).len());
        }
        let theirs = all_records(&[whole]);
        let ours = all_records(&pcapngs);
        assert!(
            ours == theirs,
            "the rotated records are the unrotated capture's"
        );
        let seqs = json_seqs(&jsons);
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in order across files"
        );
        assert_each_once(seqs, 1000, "JSON");
    });
}

/// Reads `file` with `tshark -r`: it succeeds and prints a line per record.
fn tshark_reads(file: &Path, records: usize) {
    let out = Command::new("tshark").arg("-r").arg(file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tshark -r {}: {stderr}",
        file.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        records,
        "tshark -r {}: {stderr}",
        file.display()
    );
}

#[test]
fn an_idle_time_window_gives_a_pcapng_file_tcpdump_and_tshark_read() {
    let test = "an_idle_time_window_gives_a_pcapng_file_tcpdump_and_tshark_read";
    if !privileged(test)
        || !has_tool(test, "tcpdump", "--version", "tcpdump")
        || !has_tool(test, "tshark", "--version", "tshark")
    {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[50, 51]);
        let template = scratch.join("idle-%s.pcapng");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "50,51",
                "--seq",
                "-G",
                "1",
                "-w",
                template.to_str().unwrap(),
            ],
            scratch.path(),
            "idle",
        );
        nflog.wait_bound(50);
        nflog.wait_bound(51);
        // The first file's window passes with no packet: the next packet closes it empty.
        thread::sleep(Duration::from_millis(2500));
        send_paced(PORT, 40, 100);
        thread::sleep(Duration::from_millis(1500));
        send_paced(PORT, 40, 100);
        // Past that window too, so a file is made and closed by the packets' rotation.
        thread::sleep(Duration::from_millis(1500));
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        assert_nothing_lost(&nflog, 160);

        let files = files_by(scratch.path(), "idle-", |n| n.to_string());
        assert!(files.len() >= 3, "{files:?}");
        let counts: Vec<usize> = files.iter().map(|f| records(f).len()).collect();
        assert_eq!(counts[0], 0, "the first window was idle: {counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), 160, "{counts:?}");
        for (file, &count) in files.iter().zip(&counts) {
            read_back(file, count);
            tshark_reads(file, count);
        }
    });
}

#[test]
fn rotate_seconds_with_a_file_count_ends_the_capture_after_that_many_files() {
    if !privileged("rotate_seconds_with_a_file_count_ends_the_capture_after_that_many_files") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[52]);
        let template = scratch.join("w-%s.json");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "52",
                "--seq",
                "-G",
                "1",
                "-W",
                "3",
                "-w",
                template.to_str().unwrap(),
            ],
            scratch.path(),
            "windows",
        );
        nflog.wait_bound(52);
        // Windows are whole seconds: past the first one, so that each round below (one
        // batch of the kernel's) begins a window of its own. The first file stays empty,
        // the next two hold a round each, and the third round begins a fourth window,
        // where tcpdump's -G 1 -W 3 ends. No signal: the capture must end by itself.
        for _ in 0..3 {
            thread::sleep(Duration::from_millis(1600));
            send_paced(PORT, 50, 100);
        }
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        let stderr = nflog.stderr();
        let files = files_by(scratch.path(), "w-", |n| n.to_string());
        assert_eq!(files.len(), 3, "{files:?}; {stderr}");
        assert_each_once(json_seqs(&files), 100, "three windows");
        let ended = stderr
            .lines()
            .find(|l| l.starts_with("nflog: -G 1 -W 3: the capture ends with its last file; "))
            .unwrap_or_else(|| panic!("{stderr}"));
        let unwritten = figure(ended, " packets received after the last window");
        assert!((1..=50).contains(&unwritten), "{ended}");
        assert!(stderr.contains("nflog: 100 packets written; "), "{stderr}");
        assert!(
            stderr.contains(&format!("received {} packets", 100 + unwritten)),
            "{stderr}"
        );
    });
}

/// Waits until the kernel holds nothing more for `group`: its instance's queue (`qlen` in
/// /proc/net/netfilter/nfnetlink_log) and the socket's are empty; then a little longer, for
/// the command's writer to take what its reader received. A fixed wait alone was too short
/// on the emulated 6.1 guest, where the kernel's batch left late.
fn taken_from_the_kernel(group: u16) {
    let qlen = || -> Option<u64> {
        let text = fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log").ok()?;
        text.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.first()?.parse::<u16>().ok()? == group).then(|| fields.get(2)?.parse().ok())?
        })
    };
    wait_until("the kernel's queue is empty", || {
        qlen() == Some(0) && support::socket_queue_empty(group)
    });
    thread::sleep(Duration::from_millis(300));
}

/// A directory `logs` in `scratch`, whose own directory anyone may enter, owned by `uid`
/// with mode 0755: only its owner writes there.
fn logs_of(scratch: &Scratch, uid: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let logs = scratch.join("logs");
    fs::create_dir(&logs).unwrap();
    fs::set_permissions(&logs, fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&logs, Some(uid), Some(uid)).unwrap();
    logs
}

#[test]
fn rotation_under_z_into_a_directory_the_user_cannot_write_is_refused_at_start() {
    if !privileged("rotation_under_z_into_a_directory_the_user_cannot_write_is_refused_at_start") {
        return;
    }
    in_netns(|| {
        log_udp_to(&[53]);
        // Root's directory: nobody gets the first file (-Z hands it over), not the next.
        let scratch = Scratch::new();
        let logs = logs_of(&scratch, 0);
        let file = logs.join("x.pcap");
        let mut refused = Proc::nflog(
            &[
                "-g",
                "53",
                "-Z",
                "nobody",
                "-C",
                "1k",
                "-w",
                file.to_str().unwrap(),
            ],
            scratch.path(),
            "refused",
        );
        let status = refused.wait();
        let stderr = refused.stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        let expected = format!(
            "nflog: -Z nobody: -C and -G make new files in {dir}, and user nobody cannot write \
             there (Permission denied (os error 13)): give nobody write access to it (chown \
             nobody {dir}), or choose -w in a directory nobody can write",
            dir = logs.display()
        );
        assert!(
            stderr.lines().any(|l| l == expected),
            "{stderr}\nexpected: {expected}"
        );

        // The user's own directory: the capture rotates there.
        let scratch = Scratch::new();
        let logs = logs_of(&scratch, 65534);
        let file = logs.join("x.pcap");
        let mut rotating = Proc::nflog(
            &[
                "-g",
                "53",
                "-Z",
                "nobody",
                "--seq",
                "-c",
                "300",
                "-C",
                "10k",
                "-w",
                file.to_str().unwrap(),
            ],
            scratch.path(),
            "rotating",
        );
        rotating.wait_bound(53);
        send_paced(PORT, 300, 100);
        assert!(rotating.wait().success(), "{}", rotating.stderr());
        assert_nothing_lost(&rotating, 300);
        let files = files_by(&logs, "x.pcap", |n| number_after(n, "x.pcap"));
        assert!(files.len() >= 3, "{files:?}");
        assert_eq!(all_records(&files).len(), 300);
    });
}

#[test]
fn a_reopen_under_z_in_a_directory_the_user_cannot_write_says_what_to_do() {
    if !privileged("a_reopen_under_z_in_a_directory_the_user_cannot_write_says_what_to_do") {
        return;
    }
    in_netns(|| {
        log_udp_to(&[54]);
        let scratch = Scratch::new();
        let logs = logs_of(&scratch, 0);
        let log = logs.join("x.json");
        // No rotation: the file is made at start, before -Z, so the capture starts.
        // -U: every line is in the file once its batch is written, so the test waits for
        // them there rather than for a while (which an emulated machine may not keep).
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "54",
                "-Z",
                "nobody",
                "--seq",
                "-U",
                "-w",
                log.to_str().unwrap(),
            ],
            scratch.path(),
            "reopen",
        );
        nflog.wait_bound(54);
        send_paced(PORT, 20, 100);
        wait_until("the 20 lines are written", || {
            support::lines(&log).len() == 20
        });
        // logrotate without `create` moves the file; nflog must make the name again.
        fs::rename(&log, logs.join("x.json.1")).unwrap();
        nflog.signal(Signal::HUP);
        let status = nflog.wait();
        let stderr = nflog.stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        let expected = format!(
            "cannot create {}: Permission denied (os error 13): nflog runs as uid 65534 (the \
             -Z user, if given), which needs write access to {} to make new files there (-C, \
             -G, and SIGHUP once the file was moved): give that user the directory, or choose \
             -w in one it can write",
            log.display(),
            logs.display()
        );
        assert!(stderr.contains(&expected), "{stderr}\nexpected: {expected}");
        assert_each_once(json_seqs(&[logs.join("x.json.1")]), 20, "before the reopen");
    });
}

#[test]
fn a_ring_keeps_exactly_its_files_and_post_rotate_runs_on_each_closed_one() {
    if !privileged("a_ring_keeps_exactly_its_files_and_post_rotate_runs_on_each_closed_one") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[45]);
        let done = scratch.join("closed.log");
        let script = scratch.join("closed.sh");
        fs::write(
            &script,
            format!("#!/bin/sh\necho \"$1\" >> {}\n", done.display()),
        )
        .unwrap();
        fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let logs = scratch.join("logs");
        fs::create_dir(&logs).unwrap();
        let ring = logs.join("ring.json");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "45",
                "--seq",
                "-c",
                "2000",
                "-C",
                "40k",
                "-W",
                "3",
                "-z",
                script.to_str().unwrap(),
                "-w",
                ring.to_str().unwrap(),
            ],
            scratch.path(),
            "ring",
        );
        nflog.wait_bound(45);
        send_paced(PORT, 2000, 100);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        assert_nothing_lost(&nflog, 2000);

        let files = files_by(&logs, "ring.json", |n| n.to_string());
        let names: Vec<&str> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["ring.json0", "ring.json1", "ring.json2"]);
        // The ring holds the latest records, each once: a run that ends with the last.
        let mut kept = json_seqs(&files);
        kept.sort_unstable();
        let first = kept[0];
        assert!(first > 0, "the oldest files were overwritten");
        assert_eq!(kept, (first..2000).collect::<Vec<u64>>());
        // Each file closed by a rotation went to -z: the ring's names in turn, though
        // the commands, not waited for, may end in any order.
        let expected = |closed: usize| -> Vec<String> {
            let mut names: Vec<String> = (0..closed)
                .map(|i| {
                    logs.join(format!("ring.json{}", i % 3))
                        .display()
                        .to_string()
                })
                .collect();
            names.sort();
            names
        };
        wait_until("-z ran on every closed file", || {
            let text = fs::read_to_string(&done).unwrap_or_default();
            let mut closed: Vec<String> = text.lines().map(str::to_string).collect();
            closed.sort();
            closed.len() >= 5 && closed == expected(closed.len())
        });
    });
}

#[test]
fn sighup_during_a_burst_loses_nothing() {
    if !privileged("sighup_during_a_burst_loses_nothing") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[46]);
        let json = scratch.join("hup.json");
        let pcap = scratch.join("hup.pcap");
        let packets = 20_000;
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "46",
                "--seq",
                "--rcvbuf",
                // Room for the whole burst: under emulation (the 6.1 guest) the command
                // is five times slower, and this test is about the reopen, not the reader.
                "33554432",
                "-c",
                &packets.to_string(),
                "-w",
                json.to_str().unwrap(),
                "-w",
                pcap.to_str().unwrap(),
            ],
            scratch.path(),
            "hup",
        );
        nflog.wait_bound(46);
        let sender = thread::spawn(move || send_paced(PORT, packets, 64));
        // As logrotate's `create` does: move each file away, then SIGHUP; the next round
        // waits for the command to have made both files again.
        let mut rounds = 0;
        while !sender.is_finished() && rounds < 20 {
            if json.exists() && pcap.exists() {
                rounds += 1;
                fs::rename(&json, scratch.join(&format!("hup.json.{rounds}"))).unwrap();
                fs::rename(&pcap, scratch.join(&format!("hup.pcap.{rounds}"))).unwrap();
                nflog.signal(Signal::HUP);
            }
            thread::sleep(Duration::from_millis(10));
        }
        sender.join().unwrap();
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        assert!(rounds >= 3, "{rounds} reopens during the burst");
        assert_nothing_lost(&nflog, packets as u64);

        let jsons = files_by(scratch.path(), "hup.json", |n| n.to_string());
        assert_each_once(json_seqs(&jsons), packets as u64, "JSON");
        let pcaps = files_by(scratch.path(), "hup.pcap", |n| n.to_string());
        let seqs = all_records(&pcaps)
            .iter()
            .map(|r| u64::from(record_seq(r)))
            .collect();
        assert_each_once(seqs, packets as u64, "pcap");
    });
}

/// Sends `packets` in six rounds and runs logrotate, forced, with `config` and a state file
/// of its own in `dir`, after each of the first five; `nflog` has `-c packets`, so it ends
/// by itself after the last round, once logrotate is done with it.
fn logrotate_during_traffic(dir: &Path, config: &str, nflog: &mut Proc, packets: usize) {
    let conf = dir.join("logrotate.conf");
    fs::write(&conf, config).unwrap();
    let state = dir.join("logrotate.state");
    for _ in 0..5 {
        send_paced(PORT, packets / 6, 100);
        thread::sleep(Duration::from_millis(50));
        let out = Command::new("logrotate")
            .arg("-f")
            .arg("-s")
            .arg(&state)
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "logrotate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    send_paced(PORT, packets - 5 * (packets / 6), 100);
    assert!(nflog.wait().success(), "{}", nflog.stderr());
    assert_nothing_lost(nflog, packets as u64);
}

/// The log file and the files logrotate made of it (`NAME.1`, `NAME.2`, ...), oldest first.
fn rotated_logs(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut files = files_by(dir, name, |n| {
        std::cmp::Reverse(number_after(n, &format!("{name}.")))
    });
    // The log itself has no number: it is the newest.
    let log = dir.join(name);
    files.retain(|f| *f != log);
    files.push(log);
    files
}

#[test]
fn logrotate_create_with_sighup_loses_nothing() {
    let test = "logrotate_create_with_sighup_loses_nothing";
    if !privileged(test) || !has_tool(test, "logrotate", "--version", "logrotate") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[47]);
        let log = scratch.join("nflog.json");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "47",
                "--seq",
                "-c",
                "3000",
                "-w",
                log.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(47);
        let config = format!(
            "{} {{\n  create 0640 root root\n  rotate 50\n  nocompress\n  postrotate\n    \
             kill -HUP {}\n  endscript\n}}\n",
            log.display(),
            nflog.pid()
        );
        logrotate_during_traffic(scratch.path(), &config, &mut nflog, 3000);
        let files = rotated_logs(scratch.path(), "nflog.json");
        assert!(files.len() >= 6, "{files:?}");
        let seqs = json_seqs(&files);
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in order across files"
        );
        assert_each_once(seqs, 3000, "create");
    });
}

#[test]
fn logrotate_copytruncate_leaves_no_nul_bytes_and_loses_nothing() {
    let test = "logrotate_copytruncate_leaves_no_nul_bytes_and_loses_nothing";
    if !privileged(test) || !has_tool(test, "logrotate", "--version", "logrotate") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[48]);
        let log = scratch.join("nflog.json");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "48",
                "--seq",
                "-c",
                "3000",
                "-w",
                log.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(48);
        // copytruncate loses what is written between its copy and its truncation, unless
        // the writer is paused around them (README: logrotate): stopped, and every thread
        // seen stopped, before the copy; continued after the truncation.
        let pid = nflog.pid();
        let config = format!(
            "{} {{\n  copytruncate\n  rotate 50\n  nocompress\n  prerotate\n    \
             kill -STOP {pid}\n    for t in /proc/{pid}/task/*; do while grep -qE \
             '^State:.(R|S|D)' \"$t/status\"; do sleep 0.01; done; done\n  endscript\n  \
             postrotate\n    kill -CONT {pid}\n  endscript\n}}\n",
            log.display(),
        );
        logrotate_during_traffic(scratch.path(), &config, &mut nflog, 3000);
        let files = rotated_logs(scratch.path(), "nflog.json");
        assert!(files.len() >= 6, "{files:?}");
        let seqs = json_seqs(&files);
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "in order across files"
        );
        assert_each_once(seqs, 3000, "copytruncate");
    });
}

#[test]
fn the_shipped_logrotate_configuration_is_accepted() {
    let test = "the_shipped_logrotate_configuration_is_accepted";
    if !has_tool(test, "logrotate", "--version", "logrotate") {
        return;
    }
    let scratch = Scratch::new();
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/logrotate.nflog");
    // -d: read and plan, touch nothing; a state file of its own, not the system's.
    let out = Command::new("logrotate")
        .arg("-d")
        .arg("-s")
        .arg(scratch.join("state"))
        .arg(&conf)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(!said.contains("error:"), "{said}");
    assert!(said.contains("/var/log/nflog/*.json"), "{said}");
}

#[test]
fn sighup_reopens_an_idle_capture_without_waiting_for_a_packet() {
    if !privileged("sighup_reopens_an_idle_capture_without_waiting_for_a_packet") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        log_udp_to(&[49]);
        let log = scratch.join("idle.json");
        let mut nflog = Proc::nflog(
            &["-g", "49", "--seq", "-w", log.to_str().unwrap()],
            scratch.path(),
            "idle",
        );
        nflog.wait_bound(49);
        send_paced(PORT, 100, 100);
        // The 100 lines wait in the file's buffer; logrotate's `create` moves the file.
        taken_from_the_kernel(49);
        let moved = scratch.join("idle.json.1");
        fs::rename(&log, &moved).unwrap();
        nflog.signal(Signal::HUP);
        // With no packet to come, the reopen writes them to the moved file and makes the
        // name again: what a `compress` right after postrotate needs.
        wait_until(
            "the moved file holds every line and the name is back",
            || log.exists() && json_seqs(std::slice::from_ref(&moved)).len() == 100,
        );
        assert_each_once(json_seqs(&[moved]), 100, "moved");
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
    });
}
