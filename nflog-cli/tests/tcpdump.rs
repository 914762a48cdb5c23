//! The command against tcpdump, on the same packets: our pcap records are tcpdump's byte
//! for byte, tcpdump reads our pcap and pcapng files, and `nflog read` prints tcpdump's
//! file as it prints our own.
//!
//! Each test runs from a thread in a private network namespace of its own, with its own
//! rules and loopback traffic (see `support`). libpcap's `nflog:N` sends PF_UNBIND/PF_BIND
//! for AF_INET, which changes the default logger of that private namespace only.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{
    has_tool, in_netns, mixed_rules, mixed_traffic, nflog_output, nft, privileged, records,
    time_received_packets, tlvs, wait_until, Proc, Scratch, Signal, MIXED_PACKETS,
};

/// tcpdump's group and ours.
const TCPDUMP_GROUP: u16 = 31;
const NFLOG_GROUP: u16 = 32;

/// NFULA_TIMESTAMP.
const NFULA_TIMESTAMP: u16 = 3;

fn can_run(test: &str) -> bool {
    privileged(test) && has_tool(test, "tcpdump", "--version", "tcpdump")
}

/// In the calling thread's namespace: logs the mixed traffic at each of `hooks` to both
/// groups, captures with `tcpdump -i nflog:31 -w a.pcap -U` and `nflog -g 32 -w b.pcap
/// -U`, waits until both files hold every packet, stops both with SIGINT, and returns
/// both files.
fn tcpdump_and_nflog(scratch: &Scratch, hooks: &[&str]) -> (PathBuf, PathBuf, usize) {
    let action = format!(
        "log group {TCPDUMP_GROUP} prefix \"same\" log group {NFLOG_GROUP} prefix \"same\""
    );
    let chains: String = hooks.iter().map(|h| mixed_rules(h, &action)).collect();
    nft(&format!("table inet t {{\n{chains}}}\n"));
    let expected = MIXED_PACKETS * hooks.len();

    let theirs = scratch.join("tcpdump.pcap");
    let ours = scratch.join("nflog.pcap");
    let mut command = Command::new("tcpdump");
    // -Z root: as root, tcpdump would otherwise switch to its own user before it creates
    // the file, which it may not do in our scratch directory.
    command.args([
        "-Z",
        "root",
        "-U",
        "-i",
        &format!("nflog:{TCPDUMP_GROUP}"),
        "-w",
    ]);
    command.arg(&theirs);
    let mut tcpdump = Proc::spawn(command, scratch.path(), "tcpdump");
    tcpdump.wait_bound(TCPDUMP_GROUP);
    let mut nflog = Proc::nflog(
        &["-g", "32", "-U", "-w", ours.to_str().unwrap()],
        scratch.path(),
        "nflog",
    );
    nflog.wait_bound(NFLOG_GROUP);

    mixed_traffic();
    wait_until("both captures hold every packet", || {
        records(&theirs).len() >= expected && records(&ours).len() >= expected
    });
    nflog.signal(Signal::INT);
    tcpdump.signal(Signal::INT);
    assert!(nflog.wait().success(), "nflog: {}", nflog.stderr());
    assert!(tcpdump.wait().success(), "tcpdump: {}", tcpdump.stderr());
    (theirs, ours, expected)
}

/// The records of both files, checked to be NFLOG records of the right groups, with the
/// group number zeroed.
fn records_without_group(
    theirs: &Path,
    ours: &Path,
    expected: usize,
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let strip = |path: &Path, group: u16| -> Vec<Vec<u8>> {
        let records = records(path);
        assert_eq!(records.len(), expected, "{}", path.display());
        records
            .into_iter()
            .map(|(link_type, mut data)| {
                assert_eq!(link_type, 239);
                assert_eq!(&data[2..4], &group.to_be_bytes(), "res_id is the group");
                data[2..4].fill(0);
                data
            })
            .collect()
    };
    (strip(theirs, TCPDUMP_GROUP), strip(ours, NFLOG_GROUP))
}

#[test]
fn pcap_records_equal_tcpdumps_at_output() {
    if !can_run("pcap_records_equal_tcpdumps_at_output") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let (theirs, ours, expected) = tcpdump_and_nflog(&scratch, &["output"]);
        let (theirs, ours) = records_without_group(&theirs, &ours, expected);
        for (i, (t, o)) in theirs.iter().zip(&ours).enumerate() {
            // OUTPUT: the kernel sends no timestamp, so nothing differs but the group.
            assert!(
                !tlvs(o).iter().any(|&(kind, _, _)| kind == NFULA_TIMESTAMP),
                "no NFULA_TIMESTAMP at OUTPUT"
            );
            assert_eq!(t, o, "record {i}");
        }
    });
}

#[test]
fn pcap_records_equal_tcpdumps_at_input_but_the_timestamp() {
    if !can_run("pcap_records_equal_tcpdumps_at_input_but_the_timestamp") {
        return;
    }
    in_netns(|| {
        // Kernels before 6.6 stamp only timed packets: time them.
        let _timed = time_received_packets();
        let scratch = Scratch::new();
        let (theirs, ours, expected) = tcpdump_and_nflog(&scratch, &["input"]);
        let (mut theirs, mut ours) = records_without_group(&theirs, &ours, expected);
        for (i, (t, o)) in theirs.iter_mut().zip(&mut ours).enumerate() {
            // INPUT: the kernel stamps each group's copy when it builds it (the skb has no
            // timestamp on loopback), so the two values may differ by microseconds.
            for record in [&mut *t, &mut *o] {
                let stamps: Vec<(usize, usize)> = tlvs(record)
                    .into_iter()
                    .filter(|&(kind, _, _)| kind == NFULA_TIMESTAMP)
                    .map(|(_, at, len)| (at, len))
                    .collect();
                assert_eq!(stamps.len(), 1, "one NFULA_TIMESTAMP at INPUT");
                let (at, len) = stamps[0];
                assert_eq!(len, 16);
                record[at..at + len].fill(0);
            }
            assert_eq!(t, o, "record {i}");
        }
    });
}

#[test]
fn tcpdump_reads_our_pcap_and_pcapng() {
    if !can_run("tcpdump_reads_our_pcap_and_pcapng") {
        return;
    }
    in_netns(|| {
        let action =
            "log group 41 prefix \"r\" log group 42 prefix \"r\" log group 43 prefix \"r\"";
        nft(&format!(
            "table inet t {{\n{}}}\n",
            mixed_rules("output", action)
        ));
        let scratch = Scratch::new();
        let pcap = scratch.join("ours.pcap");
        let pcapng = scratch.join("ours.pcapng");
        let count = MIXED_PACKETS.to_string();
        let both = (2 * MIXED_PACKETS).to_string();
        let mut one = Proc::nflog(
            &["-g", "41", "-c", &count, "-w", pcap.to_str().unwrap()],
            scratch.path(),
            "pcap",
        );
        // Two groups on one socket: a pcapng file with two interfaces.
        let mut two = Proc::nflog(
            &["-g", "42,43", "-c", &both, "-w", pcapng.to_str().unwrap()],
            scratch.path(),
            "pcapng",
        );
        one.wait_bound(41);
        two.wait_bound(42);
        two.wait_bound(43);
        mixed_traffic();
        assert!(one.wait().success(), "{}", one.stderr());
        assert!(two.wait().success(), "{}", two.stderr());

        for (file, groups, kind) in [(&pcap, &[41][..], "pcap"), (&pcapng, &[42, 43], "pcapng")] {
            let out = Command::new("tcpdump")
                .args(["-nn", "-e", "-r"])
                .arg(file)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "tcpdump -r {kind}: {stderr}");
            assert!(
                stderr.contains("link-type NFLOG (Linux netfilter log messages)"),
                "{stderr}"
            );
            let lines: Vec<&str> = stdout.lines().collect();
            assert_eq!(
                lines.len(),
                MIXED_PACKETS * groups.len(),
                "{kind}: {stdout}"
            );
            for &group in groups {
                let mine: Vec<&str> = lines
                    .iter()
                    .copied()
                    .filter(|l| l.contains(&format!(" version 0, resource ID {group}, ")))
                    .collect();
                assert_eq!(mine.len(), MIXED_PACKETS, "{kind} group {group}: {stdout}");
                // tcpdump decodes each packet from the NFULA_PAYLOAD attribute.
                for (line, what) in mine.iter().zip([
                    "family IPv4 (2), length ",
                    "family IPv6 (10), length ",
                    "family IPv4 (2), length ",
                    "family IPv4 (2), length ",
                    "family IPv6 (10), length ",
                ]) {
                    assert!(line.contains(what), "{what:?} not in {line}");
                }
                assert!(
                    mine[0].contains("127.0.0.1.") && mine[0].contains(".40000: UDP, length 5")
                );
                assert!(mine[1].contains("::1.") && mine[1].contains(".40000: UDP, length 6"));
                assert!(mine[2].contains(".5555: Flags [S]"), "{}", mine[2]);
                assert!(
                    mine[3].contains("ICMP echo request, id 4660, seq 1"),
                    "{}",
                    mine[3]
                );
                assert!(
                    mine[4].contains("ICMP6, echo request, id 4660, seq 1"),
                    "{}",
                    mine[4]
                );
            }
        }
    });
}

/// The JSON lines of `nflog read FILE -F json` without the keys that differ between two
/// captures of the same packets: the times and the group.
fn read_json(file: &Path) -> Vec<serde_json::Value> {
    let (status, stdout, stderr) = nflog_output(&["read", file.to_str().unwrap(), "-F", "json"]);
    assert!(status.success(), "{stderr}");
    stdout
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            let object = value.as_object_mut().unwrap();
            for key in ["timestamp", "oob.time.sec", "oob.time.usec", "nflog.group"] {
                object.remove(key);
            }
            value
        })
        .collect()
}

/// The lines of `nflog read FILE` with the time (the first three fields) and `GROUP=`
/// masked.
fn read_text(file: &Path) -> Vec<String> {
    let (status, stdout, stderr) = nflog_output(&["read", file.to_str().unwrap()]);
    assert!(status.success(), "{stderr}");
    stdout
        .lines()
        .map(|line| {
            // The time is ctime's `Mmm dd HH:MM:SS`: 15 characters.
            let (_, rest) = line.split_at(15);
            let (before, group) = rest.rsplit_once(" GROUP=").expect("GROUP= at the end");
            assert!(group.trim_end().parse::<u16>().is_ok(), "{line}");
            format!("TIME{before} GROUP=N")
        })
        .collect()
}

#[test]
fn read_prints_tcpdumps_capture_as_our_own() {
    if !can_run("read_prints_tcpdumps_capture_as_our_own") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let (theirs, ours, expected) = tcpdump_and_nflog(&scratch, &["output", "input"]);
        let (theirs_json, ours_json) = (read_json(&theirs), read_json(&ours));
        assert_eq!(ours_json.len(), expected);
        assert_eq!(theirs_json, ours_json);
        // Both hooks, both families, all four protocols made it.
        for (key, value) in [
            ("oob.hook", 1),
            ("oob.hook", 3),
            ("oob.family", 10),
            ("ip.protocol", 6),
        ] {
            assert!(ours_json.iter().any(|o| o[key] == value), "{key} = {value}");
        }
        let (theirs_text, ours_text) = (read_text(&theirs), read_text(&ours));
        assert_eq!(ours_text.len(), expected);
        assert_eq!(theirs_text, ours_text);
    });
}
