//! `nflog demo`, `nflog completions` and `nflog man`, run as a user would run them.
//!
//! The demo makes its own private network namespace, rules and traffic: this test runs it
//! from the host's namespace on purpose, to prove that it leaves the host's group bindings,
//! default loggers and ruleset as they were. The other two need no privilege.

mod support;

use std::fs;
use std::process::{Command, Stdio};

use support::{nflog_output, privileged};

/// What the calling thread's network namespace shows of NFLOG and nftables: the bound
/// groups, the default loggers per family, and the ruleset (all read-only).
fn host_state() -> (String, String, String) {
    let read = |path: &str| fs::read_to_string(path).unwrap_or_default();
    let ruleset = Command::new("nft")
        .args(["list", "ruleset"])
        .output()
        .expect("nft list ruleset");
    assert!(ruleset.status.success(), "nft list ruleset failed");
    (
        read("/proc/thread-self/net/netfilter/nfnetlink_log"),
        read("/proc/thread-self/net/netfilter/nf_log"),
        String::from_utf8_lossy(&ruleset.stdout).into_owned(),
    )
}

#[test]
fn demo_logs_every_kind_of_traffic_and_leaves_the_host_alone() {
    if !privileged("demo_logs_every_kind_of_traffic_and_leaves_the_host_alone") {
        return;
    }
    // This test thread is in the host's namespace (it never unshares).
    let before = host_state();
    let (status, stdout, stderr) = nflog_output(&["demo"]);
    let after = host_state();
    assert!(status.success(), "nflog demo failed: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 10, "at least 10 packets: {stdout}");
    // The text format: the prefix, then " IN=".
    for prefix in [
        "demo udp IN=",
        "demo tcp in IN=",
        "demo tcp out IN=",
        "demo ping IN=",
        "demo ping6 IN=",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(prefix)),
            "no {prefix:?} line in: {stdout}"
        );
    }
    assert!(lines.iter().all(|l| l.ends_with("GROUP=1 ")), "{stdout}");
    assert!(stderr.contains("nflog demo: "), "{stderr}");
    assert_eq!(before.0, after.0, "the host's group bindings changed");
    assert_eq!(before.1, after.1, "the host's default loggers changed");
    assert_eq!(before.2, after.2, "the host's ruleset changed");
}

#[test]
fn completions_mention_the_group_option() {
    let (status, stdout, stderr) = nflog_output(&["completions", "bash"]);
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("--group"), "{stdout}");
    assert!(
        stdout.contains("complete -F"),
        "a bash completion script: {stdout}"
    );
}

#[test]
fn man_page_mentions_the_group_option() {
    let (status, stdout, stderr) = nflog_output(&["man"]);
    assert!(status.success(), "{stderr}");
    assert!(
        stdout.starts_with(".ie") || stdout.contains(".TH nflog"),
        "roff: {stdout}"
    );
    // roff escapes the dashes: \-\-group
    assert!(
        stdout.contains("--group") || stdout.contains("\\-\\-group"),
        "{stdout}"
    );
}

/// Runs `nflog ARGS` with its stdout on `stdout`; returns the status and stderr.
fn with_stdout(args: &[&str], stdout: Stdio) -> (std::process::ExitStatus, String) {
    let out = Command::new(support::NFLOG)
        .args(args)
        .stdout(stdout)
        .output()
        .expect("run nflog");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_and_man_into_a_closed_pipe_exit_zero_without_a_panic() {
    // Regression: clap_complete panicked (status 101) and `man` said "Broken pipe"
    // (status 1) when the reader was gone, as with `nflog completions bash | head -1`.
    for args in [
        &["completions", "bash"][..],
        &["completions", "zsh"],
        &["man"],
        &["--help"],
    ] {
        let (reader, writer) = rustix::pipe::pipe().expect("pipe");
        drop(reader);
        let (status, stderr) = with_stdout(args, Stdio::from(writer));
        assert!(status.success(), "{args:?}: {status}: {stderr}");
        assert_eq!(stderr, "", "{args:?}");
    }
}

#[test]
fn help_completions_and_man_on_a_full_disk_say_so() {
    // Regression: `nflog --help > /dev/full` exited 0 (clap ignores a failed write).
    for args in [
        &["completions", "bash"][..],
        &["man"],
        &["--help"],
        &["-h"],
        &["read", "--help"],
        &["--version"],
    ] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let (status, stderr) = with_stdout(args, Stdio::from(full));
        assert_eq!(status.code(), Some(1), "{args:?}: {stderr}");
        let line = support::one_line(&stderr);
        assert!(
            line.starts_with("nflog: writing the output failed: the disk is full (ENOSPC)"),
            "{args:?}: {line}"
        );
    }
}
