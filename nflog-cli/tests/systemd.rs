//! `nflog` under systemd: the notifications (`READY=1` once bound, `WATCHDOG=1`,
//! `STOPPING=1`) sent to a socket the test binds as `NOTIFY_SOCKET`, and the shipped unit
//! `contrib/nflog.service` checked by `systemd-analyze verify`.

mod support;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use support::{
    assert_statistics, bound_groups, has_tool, in_netns, nft, one_line, privileged, udp4, Proc,
    Scratch, Signal, NFLOG,
};

/// The next notification, within 10 s.
fn next(manager: &UnixDatagram) -> String {
    let mut buffer = [0; 4096];
    let n = manager
        .recv(&mut buffer)
        .expect("a notification within the timeout");
    String::from_utf8(buffer[..n].to_vec()).unwrap()
}

#[test]
fn ready_after_bind_then_watchdog_then_stopping() {
    if !privileged("ready_after_bind_then_watchdog_then_stopping") {
        return;
    }
    in_netns(|| {
        nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n\
             udp dport 6200 log group 21 prefix \"sd\"\n }\n}\n",
        );
        let scratch = Scratch::new();
        // An abstract socket, as systemd's own are named `@...` in some setups; abstract
        // names belong to the network namespace, which the command shares with the test.
        let name = format!("nflog-notify-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let manager = UnixDatagram::bind_addr(&address).unwrap();
        manager
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let file = scratch.join("sd.txt");
        let mut command = Command::new(NFLOG);
        command
            .args(["-g", "21", "-U", "-w", file.to_str().unwrap()])
            .env("NOTIFY_SOCKET", format!("@{name}"))
            .env("WATCHDOG_USEC", "200000");
        let mut nflog = Proc::spawn(command, scratch.path(), "nflog");

        let ready = next(&manager);
        assert_eq!(ready, "READY=1\nSTATUS=capturing group 21");
        // Ready means bound, and privileges already dropped.
        assert!(bound_groups().contains(&21), "READY=1 before the bind");
        let status = std::fs::read_to_string(format!("/proc/{}/status", nflog.pid())).unwrap();
        assert!(status.contains("\nCapEff:\t0000000000000000\n"), "{status}");

        // WATCHDOG=1 every half of WATCHDOG_USEC: five within a second or so.
        let started = Instant::now();
        for _ in 0..5 {
            assert_eq!(next(&manager), "WATCHDOG=1");
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(5),
            "five watchdog pings in {took:?}, at an interval of 100 ms"
        );

        udp4(6200, b"one");
        support::wait_until("the packet is written", || support::lines(&file).len() == 1);
        nflog.signal(Signal::TERM);
        // Watchdog pings may come before it; STOPPING=1 must come.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let said = next(&manager);
            if said == "STOPPING=1" {
                break;
            }
            assert_eq!(said, "WATCHDOG=1");
            assert!(Instant::now() < deadline, "no STOPPING=1");
        }
        let status = nflog.wait();
        assert!(status.success(), "{}", nflog.stderr());
        assert_statistics(one_line(&nflog.stderr()), 1);
    });
}

#[test]
fn the_shipped_unit_passes_systemd_analyze_verify() {
    const TEST: &str = "the_shipped_unit_passes_systemd_analyze_verify";
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib/nflog.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    // What the issue asks of the unit, each as a line of it.
    for line in [
        "Type=notify",
        "WatchdogSec=30s",
        "CapabilityBoundingSet=CAP_NET_ADMIN",
        "AmbientCapabilities=CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "DynamicUser=yes",
        "ReadWritePaths=-/var/log/nflog",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "no {line:?} in {}",
            unit.display()
        );
    }
    if !has_tool(TEST, "systemd-analyze", "--version", "systemd") {
        return;
    }
    // verify checks that ExecStart's program exists: the one just built stands in for the
    // installed one.
    let scratch = Scratch::new();
    let copy = scratch.join("nflog.service");
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("an ExecStart line");
    let program = exec.split(' ').next().unwrap();
    std::fs::write(&copy, text.replace(program, NFLOG)).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .expect("run systemd-analyze");
    // verify exits 0 even for settings it ignores as invalid; it says so on stderr.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.is_empty(),
        "{}: {said}",
        out.status
    );
    // The check can fail: a setting it does not know is reported.
    std::fs::write(&copy, text.replace("Type=notify", "Type=notified")).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Failed to parse service type"), "{said}");
}

/// Runs `nflog ARGS` with standard error to a file that `JOURNAL_STREAM` names when
/// `journal` (else names another file, as a service's child that writes elsewhere sees
/// it), while one datagram is logged to group 23; returns its status and standard error.
fn under_journal(args: &[&str], journal: bool) -> (std::process::ExitStatus, String) {
    use std::os::unix::fs::MetadataExt;
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    in_netns(move || {
        nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n\
             udp dport 6300 log group 23\n }\n}\n",
        );
        let scratch = Scratch::new();
        let stderr = scratch.join("nflog.stderr");
        let other = scratch.join("elsewhere");
        std::fs::write(&stderr, "").unwrap();
        std::fs::write(&other, "").unwrap();
        let named = std::fs::metadata(if journal { &stderr } else { &other }).unwrap();
        let mut command = Command::new(NFLOG);
        command
            .args(&args)
            .env("JOURNAL_STREAM", format!("{}:{}", named.dev(), named.ino()));
        // Proc::spawn truncates the file it was given, which keeps its inode.
        let mut nflog = Proc::spawn(command, scratch.path(), "nflog");
        if args.iter().any(|a| a == "-c") {
            nflog.wait_bound(23);
            udp4(6300, b"journal");
        }
        let status = nflog.wait();
        (status, nflog.stderr())
    })
}

#[test]
fn lines_carry_their_priority_when_standard_error_is_the_journal() {
    // Regression: under systemd every line reached the journal at one priority, so a
    // service's errors could not be told from its statistics (`journalctl -p err`).
    if !privileged("lines_carry_their_priority_when_standard_error_is_the_journal") {
        return;
    }
    let capture = ["-g", "23", "-c", "1", "-w", "/dev/null"];
    let (status, stderr) = under_journal(&capture, true);
    assert!(status.success(), "{stderr}");
    let line = one_line(&stderr);
    assert!(
        line.starts_with("<6>nflog: 1 packets written; received "),
        "{line}"
    );
    // The statistics after the priority are as they always were.
    assert_statistics(line.strip_prefix("<6>").unwrap(), 1);
    // An error: priority 3.
    let failing = ["-g", "23", "-w", "/dev/null", "--metrics", "not an address"];
    let (status, stderr) = under_journal(&failing, true);
    assert!(!status.success());
    let line = one_line(&stderr);
    assert!(
        line.starts_with("<3>nflog: --metrics not an address: "),
        "{line}"
    );
    // Standard error elsewhere, or --log-format plain: the lines as on a terminal.
    let (_, stderr) = under_journal(&capture, false);
    assert_statistics(one_line(&stderr), 1);
    let mut plain = capture.to_vec();
    plain.extend(["--log-format", "plain"]);
    let (_, stderr) = under_journal(&plain, true);
    assert_statistics(one_line(&stderr), 1);
}
