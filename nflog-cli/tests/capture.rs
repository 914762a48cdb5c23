//! `nflog capture` end to end: every output format written from real kernel packets, and
//! every way a capture ends (`-c`, SIGINT, SIGTERM, a closed pipe), and `-Z`.
//!
//! Each test runs the built command from a thread in a private network namespace of its
//! own, with its own rules and its own loopback traffic (see `support`).

mod support;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

use nflog::pcap::CaptureReader;
use nflog::{Hook, Packet};
use support::{
    assert_statistics, in_netns, nft, one_line, privileged, udp4, wait_until, Proc, Scratch,
    Signal, NFLOG,
};

const GROUP: u16 = 5;
const PORT: u16 = 6000;

/// Logs every UDP datagram to `PORT` at OUTPUT, with prefix "fmt", to `GROUP`.
fn log_udp_to_group() {
    nft(&format!(
        "table inet t {{\n  chain out {{\n    type filter hook output priority 0;\n\
         \x20   udp dport {PORT} log group {GROUP} prefix \"fmt\"\n  }}\n}}\n"
    ));
}

/// Runs `nflog -g GROUP -c count -w FILE` plus `args` while sending `count` datagrams;
/// checks that it ends by itself, with status 0 and only the statistics on stderr.
/// Returns the scratch directory and the file.
fn capture(
    file_name: &'static str,
    args: &'static [&'static str],
    count: usize,
) -> (Scratch, PathBuf) {
    in_netns(move || {
        log_udp_to_group();
        let scratch = Scratch::new();
        let file = scratch.join(file_name);
        let count_arg = count.to_string();
        let mut command_args = vec!["-g", "5", "-c", &count_arg, "-w", file.to_str().unwrap()];
        command_args.extend_from_slice(args);
        let mut nflog = Proc::nflog(&command_args, scratch.path(), "nflog");
        nflog.wait_bound(GROUP);
        for i in 0..count {
            udp4(PORT, format!("packet {i}").as_bytes());
        }
        let status = nflog.wait();
        let stderr = nflog.stderr();
        assert!(status.success(), "nflog failed: {stderr}");
        assert_statistics(one_line(&stderr), count as u64);
        assert_eq!(nflog.stdout(), "", "with -w, nothing on stdout");
        (scratch, file)
    })
}

#[test]
fn text_capture_has_the_kernel_log_fields() {
    if !privileged("text_capture_has_the_kernel_log_fields") {
        return;
    }
    let (_scratch, file) = capture("log.txt", &["-F", "text"], 3);
    let lines = support::lines(&file);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for line in &lines {
        for field in [
            " fmt IN= OUT=lo ",
            " SRC=127.0.0.1 DST=127.0.0.1 ",
            " PROTO=UDP SPT=",
            &format!(" DPT={PORT} "),
            &format!(" GROUP={GROUP}"),
        ] {
            assert!(line.contains(field), "{field:?} not in {line:?}");
        }
    }
}

#[test]
fn json_capture_has_ulogd_keys() {
    if !privileged("json_capture_has_ulogd_keys") {
        return;
    }
    // The file name says JSON: no -F needed.
    let (_scratch, file) = capture("log.json", &[], 3);
    let lines = support::lines(&file);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for line in &lines {
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert_eq!(object["oob.prefix"], "fmt", "{line}");
        assert_eq!(object["src_ip"], "127.0.0.1", "{line}");
        assert_eq!(object["dest_ip"], "127.0.0.1", "{line}");
        assert_eq!(object["dest_port"], PORT, "{line}");
        assert_eq!(object["ip.protocol"], 17, "{line}");
        assert_eq!(object["oob.hook"], 3, "{line}");
        assert_eq!(object["oob.out"], "lo", "{line}");
        assert_eq!(object["nflog.group"], GROUP, "{line}");
    }
}

#[test]
fn xml_capture_has_log_elements() {
    if !privileged("xml_capture_has_log_elements") {
        return;
    }
    let (_scratch, file) = capture("log.xml", &["-F", "xml"], 3);
    let lines = support::lines(&file);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for line in &lines {
        assert!(line.starts_with("<log>"), "{line}");
        assert!(line.ends_with("</log>"), "{line}");
        assert!(line.contains("<prefix>fmt</prefix>"), "{line}");
        assert!(line.contains("<hook>3</hook>"), "{line}");
        assert!(
            line.contains("<payload>45"),
            "an IPv4 payload in hex: {line}"
        );
    }
}

/// Reads a capture of ours back, with the library's reader and with `nflog read`.
fn check_capture_file(file: &std::path::Path, count: usize) {
    let mut reader = CaptureReader::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut records = 0;
    while let Some(record) = reader.next_record().expect("a whole, valid file") {
        records += 1;
        assert_eq!(record.link_type.number(), 239, "LINKTYPE_NFLOG");
        assert_eq!(record.orig_len as usize, record.data.len());
        let packet = Packet::parse(record.data).expect("the record is an NFLOG message");
        assert_eq!(packet.group(), GROUP);
        assert_eq!(packet.prefix().as_deref(), Some("fmt"));
        assert_eq!(packet.hook(), Hook::Output);
        let ip = packet.payload().expect("copy mode packet");
        assert_eq!(ip[9], 17, "UDP");
        assert_eq!(u16::from_be_bytes([ip[22], ip[23]]), PORT);
    }
    assert_eq!(records, count);

    let out = Command::new(NFLOG).arg("read").arg(file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), count, "{stdout}");
    for line in lines {
        assert!(line.contains(" fmt IN= OUT=if:1 "), "{line}");
        assert!(line.contains(&format!(" DPT={PORT} ")), "{line}");
        assert!(line.contains(&format!(" GROUP={GROUP}")), "{line}");
    }
}

#[test]
fn pcap_capture_reads_back() {
    if !privileged("pcap_capture_reads_back") {
        return;
    }
    let (_scratch, file) = capture("log.pcap", &[], 3);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(
        u32::from_ne_bytes(bytes[0..4].try_into().unwrap()),
        0xa1b2_c3d4,
        "pcap, host order"
    );
    check_capture_file(&file, 3);
}

#[test]
fn pcapng_capture_reads_back() {
    if !privileged("pcapng_capture_reads_back") {
        return;
    }
    let (_scratch, file) = capture("log.out", &["-F", "pcapng"], 3);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[0..4], b"\x0a\x0d\x0d\x0a", "a pcapng section header");
    check_capture_file(&file, 3);
}

#[test]
fn count_stops_after_that_many_packets() {
    if !privileged("count_stops_after_that_many_packets") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        let mut nflog = Proc::nflog(&["-g", "5", "-c", "2"], scratch.path(), "nflog");
        nflog.wait_bound(GROUP);
        // More than the count, likely in one batch: the rest are received, not written.
        for i in 0..6 {
            udp4(PORT, format!("packet {i}").as_bytes());
        }
        let status = nflog.wait();
        assert!(status.success(), "{}", nflog.stderr());
        assert_eq!(nflog.stdout().lines().count(), 2, "{}", nflog.stdout());
        assert_statistics(one_line(&nflog.stderr()), 2);
        assert!(
            !support::bound_groups().contains(&GROUP),
            "the group is released at exit"
        );
    });
}

#[test]
fn sigint_and_sigterm_exit_zero_with_statistics() {
    if !privileged("sigint_and_sigterm_exit_zero_with_statistics") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        for (name, signal) in [("sigint", Signal::INT), ("sigterm", Signal::TERM)] {
            let mut nflog = Proc::nflog(&["-g", "5", "-U"], scratch.path(), name);
            nflog.wait_bound(GROUP);
            udp4(PORT, b"one");
            udp4(PORT, b"two");
            wait_until("two lines on stdout", || {
                nflog.stdout().lines().count() == 2
            });
            nflog.signal(signal);
            let status = nflog.wait();
            assert!(status.success(), "{name}: {status}: {}", nflog.stderr());
            assert_statistics(one_line(&nflog.stderr()), 2);
            wait_until("the group is released", || {
                !support::bound_groups().contains(&GROUP)
            });
        }
    });
}

#[test]
fn closed_pipe_ends_the_capture_quietly() {
    if !privileged("closed_pipe_ends_the_capture_quietly") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        // pipefail: the pipeline's status is nflog's unless nflog succeeded.
        let mut command = Command::new("bash");
        command.args(["-c", "set -o pipefail; \"$0\" -g 5 | head -n 1", NFLOG]);
        let mut pipeline = Proc::spawn(command, scratch.path(), "pipeline");
        pipeline.wait_bound(GROUP);
        // Without -U the output reaches head only when nflog's buffer fills: keep sending
        // until head has its line, nflog meets the closed pipe, and both are gone.
        wait_until("the pipeline ends", || {
            for i in 0..100 {
                udp4(PORT, format!("packet {i}").as_bytes());
            }
            pipeline.exited().is_some()
        });
        let status = pipeline.wait();
        let stderr = pipeline.stderr();
        assert!(status.success(), "{status}: {stderr}");
        let stdout = pipeline.stdout();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.contains(" fmt IN= OUT=lo "), "{stdout}");
        let line = one_line(&stderr);
        assert!(
            line.starts_with("nflog: ") && line.contains(" packets written; received "),
            "only the statistics: {stderr}"
        );
    });
}

#[test]
fn drop_to_nobody_keeps_capturing() {
    if !privileged("drop_to_nobody_keeps_capturing") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        let file = scratch.join("after-drop.txt");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "5",
                "-Z",
                "nobody",
                "-c",
                "2",
                "-w",
                file.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(GROUP);
        assert_switched(&nflog, 65534, 65534, &file);
        // Both packets are sent after the drop.
        udp4(PORT, b"one");
        udp4(PORT, b"two");
        let status = nflog.wait();
        assert!(status.success(), "{}", nflog.stderr());
        assert_statistics(one_line(&nflog.stderr()), 2);
        let lines = support::lines(&file);
        assert_eq!(lines.len(), 2, "{lines:#?}");
        assert!(
            lines.iter().all(|l| l.contains(" fmt IN= OUT=lo ")),
            "{lines:#?}"
        );
    });
}

/// Waits until the command switched to `uid`, then asserts that its group is `gid`, with
/// no supplementary group (as -Z's help says) and no capability, and that its output `file`
/// was handed to that user, as tcpdump's are.
fn assert_switched(nflog: &Proc, uid: u32, gid: u32, file: &std::path::Path) {
    let status_file = format!("/proc/{}/status", nflog.pid());
    let field = |name: &str| -> String {
        std::fs::read_to_string(&status_file)
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    wait_until(&format!("nflog runs as uid {uid}"), || {
        field("Uid:") == format!("{uid}\t{uid}\t{uid}\t{uid}")
    });
    assert_eq!(field("Gid:"), format!("{gid}\t{gid}\t{gid}\t{gid}"));
    assert_eq!(field("Groups:"), "");
    assert_no_capabilities(nflog.pid());
    let meta = std::fs::metadata(file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (uid, gid));
}

/// Asserts that every thread of process `pid` has no capability in any set (effective,
/// permitted, inheritable, bounding, ambient): each thread has its own.
fn assert_no_capabilities(pid: u32) {
    let tasks: Vec<PathBuf> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!tasks.is_empty());
    for task in tasks {
        let status = std::fs::read_to_string(task.join("status")).unwrap();
        for set in ["CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"] {
            let value = status
                .lines()
                .find_map(|l| l.strip_prefix(set))
                .unwrap_or_else(|| panic!("no {set} in {}", task.display()))
                .trim();
            assert_eq!(value, "0000000000000000", "{set} of {}", task.display());
        }
    }
}

#[test]
fn capabilities_are_dropped_after_bind_without_z() {
    // Regression: a capture kept every capability of root (or the CAP_NET_ADMIN of a
    // `setcap cap_net_admin+ep` binary) for its whole run unless -Z was given.
    if !privileged("capabilities_are_dropped_after_bind_without_z") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        let file = scratch.join("no-caps.txt");
        let mut nflog = Proc::nflog(
            &["-g", "5", "-c", "2", "-w", file.to_str().unwrap()],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(GROUP);
        let status_file = format!("/proc/{}/status", nflog.pid());
        wait_until("nflog drops its capabilities", || {
            std::fs::read_to_string(&status_file)
                .unwrap_or_default()
                .contains("CapEff:\t0000000000000000")
        });
        // Still root, with nothing root's uid alone does not give.
        let status = std::fs::read_to_string(&status_file).unwrap();
        assert!(status.contains("\nUid:\t0\t0\t0\t0\n"), "{status}");
        assert_no_capabilities(nflog.pid());
        // The socket keeps working: both packets are sent after the drop.
        udp4(PORT, b"one");
        udp4(PORT, b"two");
        let status = nflog.wait();
        assert!(status.success(), "{}", nflog.stderr());
        assert_statistics(one_line(&nflog.stderr()), 2);
        assert_eq!(support::lines(&file).len(), 2);
    });
}

#[test]
fn z_takes_a_numeric_uid_without_a_user() {
    if !privileged("z_takes_a_numeric_uid_without_a_user") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        // The user needs to reach the directory only if it opens files itself; this
        // output is opened before the switch.
        let file = scratch.join("numeric.pcap");
        let mut nflog = Proc::nflog(
            &[
                "-g",
                "5",
                "-Z",
                "4242:4343",
                "-c",
                "1",
                "-w",
                file.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(GROUP);
        assert_switched(&nflog, 4242, 4343, &file);
        udp4(PORT, b"numeric");
        let status = nflog.wait();
        assert!(status.success(), "{}", nflog.stderr());
        assert_statistics(one_line(&nflog.stderr()), 1);
        assert_eq!(support::records(&file).len(), 1);
    });
}

#[test]
fn a_group_given_twice_is_bound_once() {
    // Regression: `-g 5,5` asked the kernel to bind group 5 twice, which it refuses.
    let (_scratch, file) = capture("twice.txt", &["-g", "5,5"], 2);
    let lines = support::lines(&file);
    assert_eq!(lines.len(), 2, "{lines:#?}");
}

#[test]
fn closed_standard_error_ends_the_capture_quietly() {
    // Regression: `nflog -g 7 2>&1 | head` died with status 101, a panic in the closing
    // `eprintln!` of the statistics.
    if !privileged("closed_standard_error_ends_the_capture_quietly") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        let file = scratch.join("out.txt");
        // Standard error into a pipe whose reader is gone before nflog writes to it; with
        // pipefail the pipeline's status is nflog's.
        let mut command = Command::new("bash");
        command.args([
            "-c",
            "set -o pipefail; \"$0\" -g 5 -c 1 -w \"$1\" 2>&1 >/dev/null | true",
            NFLOG,
            file.to_str().unwrap(),
        ]);
        let mut pipeline = Proc::spawn(command, scratch.path(), "pipeline");
        pipeline.wait_bound(GROUP);
        udp4(PORT, b"one");
        let status = pipeline.wait();
        assert!(status.success(), "{status}: {}", pipeline.stderr());
        assert_eq!(support::lines(&file).len(), 1);
    });
}
