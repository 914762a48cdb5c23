//! `nflog --netns`: the command captures in another network namespace, against the real
//! kernel.
//!
//! The namespace is held by a child process (`unshare -n sleep 60`, killed at the end); the
//! command runs from a thread in a private namespace of its own, so nothing touches the
//! host's rules or group bindings. Without root the test says why and skips; under CI
//! (`CI` set) a skip is a failure.
#![allow(unsafe_code)]

use std::fs;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether this process can run the test; if not, says why, and panics under CI.
fn privileged(test: &str) -> bool {
    let reason = if !nix::unistd::geteuid().is_root() {
        Some("not running as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)")
    } else if Command::new("nft").arg("--version").output().is_err() {
        Some("`nft` not found: install the nftables package")
    } else if Command::new("nsenter").arg("--version").output().is_err() {
        Some("`nsenter` not found: install util-linux")
    } else {
        None
    };
    match reason {
        None => true,
        Some(reason) if std::env::var_os("CI").is_some() => {
            panic!("{test}: privileged test cannot run under CI: {reason}")
        }
        Some(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            false
        }
    }
}

/// Kills the child on drop, panic or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a command inside the network namespace of `pid` and panics if it fails.
fn nsenter(pid: u32, args: &[&str], stdin: &str) {
    let mut child = Command::new("nsenter")
        .args(["-t", &pid.to_string(), "-n"])
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nsenter");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nsenter {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The groups bound in the network namespace of `pid`.
fn bound_groups(pid: u32) -> Vec<u16> {
    fs::read_to_string(format!("/proc/{pid}/net/netfilter/nfnetlink_log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

#[test]
fn capture_with_netns_receives_a_packet_made_in_that_namespace() {
    if !privileged("capture_with_netns_receives_a_packet_made_in_that_namespace") {
        return;
    }
    std::thread::spawn(|| {
        // SAFETY: CLONE_NEWNET changes only this thread's network namespace; the file
        // descriptor table is not unshared, so no descriptor becomes unusable.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
            .expect("unshare(CLONE_NEWNET)");

        let holder = KillOnDrop(
            Command::new("unshare")
                .args(["-n", "sleep", "60"])
                .spawn()
                .expect("spawn unshare -n sleep 60"),
        );
        let ns_pid = holder.0.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs::read_to_string(format!("/proc/{ns_pid}/comm"))
            .unwrap_or_default()
            .trim_end()
            != "sleep"
        {
            assert!(Instant::now() < deadline, "unshare -n sleep did not start");
            std::thread::sleep(Duration::from_millis(2));
        }
        nsenter(ns_pid, &["ip", "link", "set", "lo", "up"], "");
        nsenter(
            ns_pid,
            &["nft", "-f", "-"],
            "table inet t {\n chain out {\n type filter hook output priority 0;\n \
             udp dport 4781 log group 81\n }\n}\n",
        );

        // The command starts in this thread's private namespace and captures in the other.
        let mut nflog = KillOnDrop(
            Command::new(env!("CARGO_BIN_EXE_nflog"))
                .args(["--netns", &format!("pid:{ns_pid}")])
                .args(["-g", "81", "-c", "1", "-F", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn nflog"),
        );
        let nflog_pid = nflog.0.id();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !bound_groups(ns_pid).contains(&81) {
            assert!(
                Instant::now() < deadline && nflog.0.try_wait().unwrap().is_none(),
                "nflog did not bind group 81 in the other namespace"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            !bound_groups(nflog_pid).contains(&81),
            "the group is not bound in the command's own namespace"
        );

        // Send until the command has its one packet and exits.
        let status = loop {
            if let Some(status) = nflog.0.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "nflog did not exit after -c 1");
            nsenter(
                ns_pid,
                &["bash", "-c", "echo x > /dev/udp/127.0.0.1/4781"],
                "",
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        nflog
            .0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        nflog
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(status.success(), "nflog failed: {stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one JSON line for -c 1: {stdout}");
        assert!(lines[0].starts_with('{'), "{stdout}");
        assert!(lines[0].contains("\"dest_port\": 4781"), "{stdout}");
        assert!(lines[0].contains("\"oob.out\": \"lo\""), "{stdout}");
        assert!(lines[0].ends_with("\"nflog.group\": 81}"), "{stdout}");
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
}
