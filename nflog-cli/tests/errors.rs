//! The errors a user of the command meets: each is one line on stderr that says what to do,
//! with a non-zero exit status.
//!
//! Tests that could reach the kernel run from a thread in a private network namespace of
//! their own (see `support`); the argument error never gets that far and needs no privilege.

mod support;

use std::fs;
use std::process::Command;

use support::{
    assert_statistics, has_tool, in_netns, nflog_output, nft, one_line, privileged, udp4,
    wait_until, Proc, Scratch, NFLOG,
};

const GROUP: u16 = 7;
const PORT: u16 = 6007;

/// Logs every UDP datagram to `PORT` at OUTPUT, with prefix "err", to `GROUP`.
fn log_udp_to_group() {
    nft(&format!(
        "table inet t {{\n  chain out {{\n    type filter hook output priority 0;\n\
         \x20   udp dport {PORT} log group {GROUP} prefix \"err\"\n  }}\n}}\n"
    ));
}

#[test]
fn without_cap_net_admin_says_how_to_grant_it() {
    if !privileged("without_cap_net_admin_says_how_to_grant_it")
        || !has_tool(
            "without_cap_net_admin_says_how_to_grant_it",
            "setpriv",
            "--version",
            "util-linux",
        )
    {
        return;
    }
    in_netns(|| {
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", NFLOG])
            .args(["-g", "7"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(out.stdout.is_empty());
        let line = one_line(&stderr);
        assert!(
            line.starts_with("nflog: not permitted to bind group 7"),
            "{line}"
        );
        assert!(line.contains("CAP_NET_ADMIN"), "{line}");
        assert!(line.contains("setcap cap_net_admin+ep"), "{line}");
        assert!(support::bound_groups().is_empty());
    });
}

#[test]
fn group_held_by_another_process_names_it() {
    if !privileged("group_held_by_another_process_names_it") {
        return;
    }
    in_netns(|| {
        // This test process holds the group, in the namespace the command runs in.
        let _held = nflog::Listener::bind(GROUP).expect("bind the group first");
        let (status, stdout, stderr) = nflog_output(&["-g", "7"]);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout, "");
        let line = one_line(&stderr);
        let comm = fs::read_to_string("/proc/self/comm").unwrap();
        let owner = format!("process {} \"{}\"", std::process::id(), comm.trim_end());
        assert!(
            line.starts_with("nflog: group 7 is already bound by another socket"),
            "{line}"
        );
        assert!(line.contains(&owner), "{owner} not named in {line}");
    });
}

#[test]
fn bad_group_argument_is_a_usage_error() {
    // Argument parsing fails before anything is opened: no privilege, no namespace.
    let (status, stdout, stderr) = nflog_output(&["-g", "notanumber"]);
    assert_eq!(
        status.code(),
        Some(2),
        "clap's usage error status: {stderr}"
    );
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("error: invalid value 'notanumber' for '--group <GROUP>'"),
        "{stderr}"
    );
}

#[test]
fn missing_group_says_how_to_pass_one() {
    if !privileged("missing_group_says_how_to_pass_one") {
        return;
    }
    in_netns(|| {
        for args in [&[][..], &["capture"], &["-w", "x.pcap"]] {
            let (status, stdout, stderr) = nflog_output(args);
            assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
            assert_eq!(stdout, "");
            let line = one_line(&stderr);
            assert!(line.starts_with("nflog: no group given"), "{line}");
            assert!(line.contains("`nflog -g 5`"), "{line}");
            assert!(line.contains("log group 5"), "{line}");
        }
        assert!(support::bound_groups().is_empty(), "nothing was bound");
    });
}

/// The library refuses these settings with a typed `InvalidConfig`; the command must
/// match its setting to name the option that fixes it.
#[test]
fn settings_the_kernel_would_ignore_name_their_option() {
    if !privileged("settings_the_kernel_would_ignore_name_their_option") {
        return;
    }
    in_netns(|| {
        let u64_max = u64::MAX.to_string();
        for (args, start) in [
            (
                ["-g", "7", "--nlbufsiz", "1"],
                "nflog: --nlbufsiz: nlbufsiz = 1 would be ignored by the kernel; use ",
            ),
            (
                ["-g", "7", "--flush-timeout", u64_max.as_str()],
                "nflog: --flush-timeout: flush timeout (ms) = 18446744073709551615 would be \
                 ignored by the kernel; use ",
            ),
        ] {
            let (status, stdout, stderr) = nflog_output(&args);
            assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
            assert_eq!(stdout, "");
            let line = one_line(&stderr);
            assert!(line.starts_with(start), "{line}");
        }
        assert!(support::bound_groups().is_empty(), "nothing was bound");
    });
}

#[test]
fn unwritable_output_file_is_named() {
    if !privileged("unwritable_output_file_is_named") {
        return;
    }
    in_netns(|| {
        let (status, stdout, stderr) = nflog_output(&["-g", "7", "-w", "/proc/nonexistent/x"]);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout, "");
        let line = one_line(&stderr);
        assert!(
            line.starts_with("nflog: cannot write /proc/nonexistent/x: "),
            "{line}"
        );
        assert!(line.contains("No such file or directory"), "{line}");
    });
}

#[test]
fn full_disk_is_reported_after_the_statistics() {
    if !privileged("full_disk_is_reported_after_the_statistics") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        let mut nflog = Proc::nflog(
            &["-g", "7", "-c", "1", "-w", "/dev/full"],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(GROUP);
        wait_until("nflog gives up", || {
            udp4(PORT, b"no room");
            nflog.exited().is_some()
        });
        let status = nflog.wait();
        let stderr = nflog.stderr();
        assert_eq!(status.code(), Some(1), "{stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "statistics, then the error: {stderr}");
        // The packet was received, and did not reach the full device.
        assert_statistics(lines[0], 0);
        assert!(
            lines[0].ends_with("; 1 packets lost when the output failed"),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("nflog: writing the output failed: the disk is full (ENOSPC)"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("No space left on device"), "{}", lines[1]);
    });
}

/// Captures three packets to `dir/full.pcap` with the command, in the calling thread's
/// namespace; returns the file.
fn capture_three(scratch: &Scratch, args: &[&str]) -> std::path::PathBuf {
    log_udp_to_group();
    let file = scratch.join("full.pcap");
    let mut command_args = vec!["-g", "7", "-c", "3", "-w", file.to_str().unwrap()];
    command_args.extend_from_slice(args);
    let mut nflog = Proc::nflog(&command_args, scratch.path(), "capture");
    nflog.wait_bound(GROUP);
    for payload in [&b"one"[..], b"two", b"three"] {
        udp4(PORT, payload);
    }
    assert!(nflog.wait().success(), "{}", nflog.stderr());
    file
}

/// The byte offsets where the records of a host-order pcap file start.
fn pcap_record_offsets(bytes: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        offsets.push(at);
        let caplen = u32::from_ne_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + caplen;
    }
    offsets
}

/// The byte offsets where the blocks of a host-order pcapng file start, with their types.
fn pcapng_blocks(bytes: &[u8]) -> Vec<(usize, u32)> {
    let mut blocks = Vec::new();
    let mut at = 0;
    while at + 12 <= bytes.len() {
        let kind = u32::from_ne_bytes(bytes[at..at + 4].try_into().unwrap());
        let len = u32::from_ne_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        blocks.push((at, kind));
        at += len;
    }
    blocks
}

#[test]
fn cut_capture_prints_whole_records_then_names_the_offset() {
    if !privileged("cut_capture_prints_whole_records_then_names_the_offset") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let full = capture_three(&scratch, &[]);
        let bytes = fs::read(&full).unwrap();

        // pcap: cut the third record in the middle of its data.
        let offsets = pcap_record_offsets(&bytes);
        assert_eq!(offsets.len(), 3);
        let third = offsets[2];
        let cut = scratch.join("cut.pcap");
        fs::write(&cut, &bytes[..third + 16 + 10]).unwrap();
        let (status, stdout, stderr) = nflog_output(&["read", cut.to_str().unwrap()]);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout.lines().count(), 2, "the two whole records: {stdout}");
        assert!(
            stdout.lines().all(|l| l.contains(" err IN= OUT=if:1 ")),
            "{stdout}"
        );
        let line = one_line(&stderr);
        let expected = format!(
            "nflog: {}: after 2 records: file cut short at byte {third}: ",
            cut.display()
        );
        assert!(line.starts_with(&expected), "{line}\nexpected: {expected}");

        // pcapng (the same packets, converted by `nflog read`): cut inside the third
        // packet block.
        let whole = scratch.join("full.pcapng");
        let (status, _, stderr) = nflog_output(&[
            "read",
            full.to_str().unwrap(),
            "-w",
            whole.to_str().unwrap(),
        ]);
        assert!(status.success(), "{stderr}");
        let bytes = fs::read(&whole).unwrap();
        let packets: Vec<usize> = pcapng_blocks(&bytes)
            .into_iter()
            .filter(|&(_, kind)| kind == 6)
            .map(|(at, _)| at)
            .collect();
        assert_eq!(packets.len(), 3);
        let third = packets[2];
        let cut = scratch.join("cut.pcapng");
        fs::write(&cut, &bytes[..third + 40]).unwrap();
        let (status, stdout, stderr) = nflog_output(&["read", cut.to_str().unwrap()]);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout.lines().count(), 2, "the two whole records: {stdout}");
        let line = one_line(&stderr);
        let expected = format!(
            "nflog: {}: after 2 records: file cut short at byte {third}: ",
            cut.display()
        );
        assert!(line.starts_with(&expected), "{line}\nexpected: {expected}");
    });
}

#[test]
fn capture_of_raw_ip_is_read_and_another_link_type_refused() {
    if !privileged("capture_of_raw_ip_is_read_and_another_link_type_refused") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let raw = capture_three(&scratch, &["--linktype", "raw"]);
        let bytes = fs::read(&raw).unwrap();
        assert_eq!(
            u32::from_ne_bytes(bytes[20..24].try_into().unwrap()),
            101,
            "LINKTYPE_RAW"
        );
        // Our own `--linktype raw` output reads as the IP packets it holds.
        let (status, stdout, stderr) = nflog_output(&["read", raw.to_str().unwrap()]);
        assert!(status.success(), "{stderr}");
        assert_eq!(stdout.lines().count(), 3, "{stdout}");
        assert!(
            stdout
                .lines()
                .all(|l| l.contains(" SRC=127.0.0.1 DST=127.0.0.1 ")
                    && l.contains(&format!(" DPT={PORT} "))),
            "{stdout}"
        );

        // Another link type is refused from the file header alone, before any output.
        let mut ethernet = bytes[..24].to_vec();
        ethernet[20..24].copy_from_slice(&1u32.to_ne_bytes());
        let path = scratch.join("empty-ethernet.pcap");
        fs::write(&path, &ethernet).unwrap();
        let (status, stdout, stderr) = nflog_output(&["read", path.to_str().unwrap()]);
        assert_eq!(status.code(), Some(1), "{stderr}");
        assert_eq!(stdout, "");
        let line = one_line(&stderr);
        assert!(
            line.contains("has link type 1 (not NFLOG, 239, or raw IP, 101)"),
            "{line}"
        );
        assert!(line.contains("tcpdump -i nflog:N -w"), "{line}");
    });
}

/// A capture tcpdump wrote (`tcpdump -i nflog:21 -w`, little-endian), from the fuzz seeds.
const TCPDUMP_PCAP: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../fuzz/seeds/capture_file/tcpdump-le.pcap"
);

#[test]
fn a_cause_is_printed_once() {
    // Regression: `read error: Is a directory (os error 21): Is a directory (os error 21)`.
    let (status, stdout, stderr) = nflog_output(&["read", "/"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        one_line(&stderr),
        "nflog: /: read error: Is a directory (os error 21)"
    );
}

#[test]
fn option_errors_name_the_option() {
    // Regression: `--rcvbuf 18446744073709551615` failed at bind with `(SO_RCVBUF): Invalid
    // argument` and no option named; `-c 0` captured a batch (tcpdump refuses it). Refused
    // before anything is bound now; run in a namespace of its own all the same, so that a
    // regression cannot bind the host's group.
    if !privileged("option_errors_name_the_option") {
        return;
    }
    in_netns(|| {
        for (args, option) in [
            (
                &["-g", "5", "--rcvbuf", "18446744073709551615"][..],
                "--rcvbuf",
            ),
            (&["-g", "5", "--rcvbuf", "2147483648"], "--rcvbuf"),
            (&["-g", "5", "-c", "0"], "--count"),
            (&["read", "-", "-c", "0"], "--count"),
        ] {
            let (status, stdout, stderr) = nflog_output(args);
            assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
            assert_eq!(stdout, "");
            assert!(
                stderr.starts_with("error: invalid value ") && stderr.contains(option),
                "{args:?}: {stderr}"
            );
        }
    });
}

#[test]
fn meaningless_option_combinations_are_refused() {
    // Regression: `--meta --linktype raw` wrote a bare file header and said "3 packets
    // written"; `--linktype` with a text format was ignored.
    if !privileged("meaningless_option_combinations_are_refused") {
        return;
    }
    in_netns(|| {
        let scratch = Scratch::new();
        let out = scratch.join("meta.pcap");
        let out = out.to_str().unwrap();
        for (args, expected) in [
            (
                &["-g", "5", "--meta", "--linktype", "raw", "-w", out][..],
                "nflog: --meta copies no packet bytes, and --linktype raw writes nothing else",
            ),
            (
                &["-g", "5", "--linktype", "raw"],
                "nflog: --linktype applies to pcap and pcapng output only, and the output is text",
            ),
            (
                &["-g", "5", "-F", "json", "--linktype", "nflog"],
                "nflog: --linktype applies to pcap and pcapng output only, and the output is json",
            ),
            (
                &["read", TCPDUMP_PCAP, "--linktype", "raw"],
                "nflog: --linktype applies to pcap and pcapng output only, and the output is text",
            ),
        ] {
            // Refused before anything is bound or opened: no privilege needed, no file made.
            let (status, stdout, stderr) = nflog_output(args);
            assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
            assert_eq!(stdout, "");
            assert!(
                one_line(&stderr).starts_with(expected),
                "{args:?}: {stderr}"
            );
            assert!(!std::path::Path::new(out).exists(), "{args:?}");
            assert!(support::bound_groups().is_empty(), "{args:?}");
        }
    });
}

#[test]
fn file_name_extension_chooses_the_format_in_any_case() {
    // Regression: `-w X.PCAP` wrote text.
    let scratch = Scratch::new();
    for (name, magic) in [
        ("X.PCAP", &0xa1b2_c3d4_u32.to_ne_bytes()[..]),
        ("x.Pcap", &0xa1b2_c3d4_u32.to_ne_bytes()),
        ("X.PCAPNG", &0x0a0d_0d0a_u32.to_ne_bytes()),
        ("X.JSON", b"{"),
        ("X.XML", b"<"),
    ] {
        let out = scratch.join(name);
        let (status, _, stderr) =
            nflog_output(&["read", TCPDUMP_PCAP, "-w", out.to_str().unwrap()]);
        assert!(status.success(), "{name}: {stderr}");
        let bytes = fs::read(&out).unwrap();
        assert!(bytes.starts_with(magic), "{name}: {:?}", &bytes[..8]);
    }
}

#[test]
fn reading_and_writing_one_file_is_refused() {
    // Regression: `nflog read x.pcap -w x.pcap` truncated its input to an empty capture.
    let scratch = Scratch::new();
    let original = fs::read(TCPDUMP_PCAP).unwrap();
    let input = scratch.join("x.pcap");
    fs::write(&input, &original).unwrap();
    let link = scratch.join("link.pcap");
    fs::hard_link(&input, &link).unwrap();
    let input = input.to_str().unwrap();
    let via_dot = format!("{}/./x.pcap", scratch.path().display());
    for args in [
        &["read", input, "-w", input][..],
        &["read", input, "-w", &via_dot],
        &["read", input, "-w", link.to_str().unwrap()],
        &["read", input, "-F", "pcap", "-w", input],
    ] {
        let (status, stdout, stderr) = nflog_output(args);
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        let line = one_line(&stderr);
        assert!(line.contains("is also the output"), "{args:?}: {line}");
        assert!(line.contains("-w another file"), "{args:?}: {line}");
        assert_eq!(
            fs::read(input).unwrap(),
            original,
            "{args:?}: the input is intact"
        );
    }
    // Standard input and standard output on the same file (`nflog read - < x >> x`).
    let out = Command::new(NFLOG)
        .args(["read", "-", "-F", "pcap"])
        .stdin(fs::File::open(input).unwrap())
        .stdout(fs::OpenOptions::new().append(true).open(input).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("standard input is also the output"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fs::read(input).unwrap(), original);
    // Another file, and /dev/null as both ends, are fine.
    let other = scratch.join("y.pcap");
    let (status, _, stderr) = nflog_output(&["read", input, "-w", other.to_str().unwrap()]);
    assert!(status.success(), "{stderr}");
    let status = Command::new(NFLOG)
        .args(["read", "-"])
        .stdin(fs::File::open("/dev/null").unwrap())
        .stdout(
            fs::OpenOptions::new()
                .write(true)
                .open("/dev/null")
                .unwrap(),
        )
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "an empty input is not a capture");
}

#[test]
fn full_standard_output_counts_no_pcap_record_written() {
    // Settles issue 15's suspicion about `io::stdout()`'s line buffer, which takes the bytes
    // after a chunk's last newline byte and says they were written. NFLOG records always
    // hold one (the NFULA_PREFIX type, 10, in host order), so on /dev/full the write up to
    // it fails first and nothing was miscounted here; the command now writes standard output
    // through a descriptor of its own, with no buffer but the sink's, and this holds for
    // any bytes.
    if !privileged("full_standard_output_counts_no_pcap_record_written") {
        return;
    }
    in_netns(|| {
        log_udp_to_group();
        let scratch = Scratch::new();
        for format in ["pcap", "pcapng"] {
            let mut command = Command::new(NFLOG);
            command.args(["-g", "7", "-c", "1", "-F", format]);
            let stderr_path = scratch.join(&format!("{format}.stderr"));
            let mut nflog = command
                .stdin(std::process::Stdio::null())
                .stdout(
                    fs::OpenOptions::new()
                        .write(true)
                        .open("/dev/full")
                        .unwrap(),
                )
                .stderr(fs::File::create(&stderr_path).unwrap())
                .spawn()
                .unwrap();
            wait_until("nflog binds the group", || {
                support::bound_groups().contains(&GROUP)
            });
            wait_until("nflog gives up", || {
                udp4(PORT, b"no room");
                nflog.try_wait().unwrap().is_some()
            });
            let status = nflog.wait().unwrap();
            let stderr = fs::read_to_string(&stderr_path).unwrap();
            assert_eq!(status.code(), Some(1), "{format}: {stderr}");
            let lines: Vec<&str> = stderr.lines().collect();
            assert_eq!(
                lines.len(),
                2,
                "{format}: statistics, then the error: {stderr}"
            );
            assert_statistics(lines[0], 0);
            assert!(
                lines[0].ends_with("; 1 packets lost when the output failed"),
                "{format}: {}",
                lines[0]
            );
            wait_until("the group is released", || {
                !support::bound_groups().contains(&GROUP)
            });
        }
    });
}

#[test]
fn an_unknown_destination_scheme_names_the_option_before_binding() {
    // No privilege needed: the destination is read before any group is bound.
    let (status, stdout, stderr) = nflog_output(&["-g", "7", "-w", "postgress://db/logs"]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty());
    let line = one_line(&stderr);
    assert!(
        line.starts_with("nflog: -w postgress://db/logs: unknown destination scheme `postgress:`"),
        "{line}"
    );
    assert!(
        line.contains("./NAME for a file whose name has a colon"),
        "{line}"
    );
    // No file or directory of that name was made.
    assert!(!std::path::Path::new("postgress:").exists());
}

#[test]
fn a_configuration_mistake_names_file_line_and_key_before_binding() {
    // No privilege needed: the whole file is read before any group is bound.
    let scratch = Scratch::new();
    let config = scratch.join("nflog.toml");
    fs::write(
        &config,
        "[input]\ngroups = [7]\n\n[[output]]\ndestination = \"a.json\"\nformat = \"jsn\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let (status, stdout, stderr) = nflog_output(&["serve", "--config", config]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stdout.is_empty());
    let line = one_line(&stderr);
    assert_eq!(
        line,
        format!(
            "nflog: {config}:6: [[output]] #1, key `format`: unknown format `jsn`: give one of \
             text, json, xml, pcap, pcapng"
        )
    );
    assert!(!scratch.join("a.json").exists(), "nothing was opened");
}
