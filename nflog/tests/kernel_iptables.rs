//! The rule users actually write, with iptables: `iptables -A OUTPUT ... -j NFLOG
//! --nflog-group 0`, with `--nflog-prefix`, `--nflog-size` and `--nflog-threshold`, through
//! the nft backend (`iptables-nft`, Debian's default) and the legacy one (`iptables-legacy`)
//! where the kernel has it. Without `--nflog-threshold` iptables 1.8.9 stores no threshold,
//! so the listener's queue threshold and flush timeout decide when packets come.
//!
//! Each test runs in a private network namespace of its own (see `support`), so its rules
//! and its group 0 are its own; traffic is UDP on loopback. Group 0 belongs to this file.

mod support;

use std::process::Command;
use std::time::Duration;

use nflog::{Family, GroupConfig, Hook, Listener};
use support::{
    bound_groups, collect, has_tool, in_netns, privileged, run, send_udp, udp_dport, wait_until,
    Captured,
};

/// iptables' default `--nflog-group`.
const GROUP: u16 = 0;

/// A listener on group 0 that holds packets on its own: a queue threshold of 100 and a
/// flush timeout of `flush`.
fn listener(flush: Duration) -> Listener {
    // The kernel releases the previous step's group 0 after its socket closed, not at once.
    wait_until("group 0 released", || !bound_groups().contains(&GROUP));
    Listener::builder()
        .group(GROUP)
        .config(GroupConfig::new().queue_threshold(100).flush_timeout(flush))
        .bind()
        .expect("bind group 0")
}

/// Appends the seed's rule for UDP to `port` through `program`, with `extra` options.
fn seed_rule(program: &str, port: u16, extra: &[&str]) {
    let port = port.to_string();
    let mut args = vec![
        "-A",
        "OUTPUT",
        "-o",
        "lo",
        "-p",
        "udp",
        "--dport",
        &port,
        "-j",
        "NFLOG",
        "--nflog-group",
        "0",
        "--nflog-prefix",
        "seed",
        "--nflog-size",
        "64",
    ];
    args.extend_from_slice(extra);
    run(program, &args);
}

/// Whether the tests may run: root, `nft`, `ip`, and `program` (from Debian's iptables).
fn can_run(test: &str, program: &str) -> bool {
    privileged(test) && has_tool(test, program, "--version", "iptables")
}

/// Logged packets to `port` among `got`.
fn to_port(got: &[Captured], port: u16) -> Vec<&Captured> {
    got.iter()
        .filter(|c| udp_dport(&c.view()) == port)
        .collect()
}

/// Checks what a packet logged by `-j NFLOG --nflog-prefix seed --nflog-size 64` carries.
fn assert_seed_rule_packet(captured: &Captured) {
    let packet = captured.view();
    assert_eq!(packet.group(), GROUP);
    assert_eq!(packet.family(), Family::Ipv4);
    assert_eq!(packet.hook(), Hook::Output);
    assert_eq!(packet.prefix().as_deref(), Some("seed"));
    // --nflog-size 64 cuts the 228-byte datagram (IPv4 20 + UDP 8 + 200) to 64 bytes.
    assert_eq!(packet.payload().map(<[u8]>::len), Some(64));
    assert_eq!(packet.uid(), Some(0), "sent by this root process");
}

/// Receives, within 10 s, the three packets to `port` that the seed's rule logged, and
/// checks each; `what` says what sent them.
fn three_seed_packets(listener: &mut Listener, port: u16, what: &str) {
    let got = collect(listener, 3, Duration::from_secs(10));
    let got = to_port(&got, port);
    assert_eq!(got.len(), 3, "{what} sent three packets");
    for captured in got {
        assert_seed_rule_packet(captured);
    }
}

/// The seed's rule through `program`, its threshold left out: iptables 1.8.9 stores none
/// (`-S` prints `--nflog-threshold 1` only when given; iptables-nft writes no
/// `queue-threshold`), so the listener's own settings hold the packets: none comes before
/// its 3 s flush timeout, all come with it.
fn without_threshold_the_listeners_settings_hold_packets(test: &str, program: &str) {
    let mut listener = listener(Duration::from_secs(3));
    seed_rule(program, 5090, &[]);
    send_udp("127.0.0.1:5090", &[7; 200], 3);
    let early = collect(&mut listener, 1, Duration::from_secs(1));
    assert!(
        early.is_empty(),
        "{test}: a packet came before the listener's flush timeout"
    );
    three_seed_packets(&mut listener, 5090, &format!("{test}: the flush timeout"));
}

/// `--nflog-threshold 1` through `program`: each packet comes at once although the
/// listener asked for batches of 100 or 30 s.
fn threshold_1_of_the_rule_sends_each_packet_at_once(test: &str, program: &str) {
    let mut listener = listener(Duration::from_secs(30));
    seed_rule(program, 5091, &["--nflog-threshold", "1"]);
    send_udp("127.0.0.1:5091", &[7; 200], 3);
    // Within 10 s, where the listener's settings alone would hold them for 30 s.
    three_seed_packets(&mut listener, 5091, &format!("{test}: threshold 1"));
}

/// `--nflog-threshold 3` through `program`: two packets wait in the kernel (the listener's
/// own flush timeout is 30 s), the third sends all three.
fn threshold_3_of_the_rule_holds_packets_until_reached(test: &str, program: &str) {
    let mut listener = listener(Duration::from_secs(30));
    seed_rule(program, 5092, &["--nflog-threshold", "3"]);
    send_udp("127.0.0.1:5092", &[7; 200], 2);
    let early = collect(&mut listener, 1, Duration::from_secs(1));
    assert!(
        early.is_empty(),
        "{test}: {} packets came before the threshold of 3",
        early.len()
    );
    send_udp("127.0.0.1:5092", &[7; 200], 1);
    three_seed_packets(&mut listener, 5092, &format!("{test}: the third packet"));
}

/// The three, through `program`, each with a listener and a rule of its own.
fn seed_rules(test: &str, program: &str) {
    without_threshold_the_listeners_settings_hold_packets(test, program);
    threshold_1_of_the_rule_sends_each_packet_at_once(test, program);
    threshold_3_of_the_rule_holds_packets_until_reached(test, program);
}

#[test]
fn iptables_nft_nflog_rules_log_to_group_0_with_prefix_size_and_threshold() {
    let test = "iptables_nft_nflog_rules_log_to_group_0_with_prefix_size_and_threshold";
    if !can_run(test, "iptables-nft") {
        return;
    }
    in_netns(move || seed_rules(test, "iptables-nft"));
}

/// Whether this kernel has the legacy iptables tables (`CONFIG_IP_NF_IPTABLES`): listing
/// the filter table works. Says so when it does not.
fn kernel_has_legacy_iptables(test: &str) -> bool {
    let out = Command::new("iptables-legacy")
        .args(["-w", "-L", "OUTPUT", "-n"])
        .output()
        .expect("run iptables-legacy");
    if !out.status.success() {
        eprintln!(
            "NOT TESTED {test}: this kernel has no legacy iptables ({})",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    out.status.success()
}

#[test]
fn iptables_legacy_nflog_rules_log_to_group_0_with_prefix_size_and_threshold() {
    let test = "iptables_legacy_nflog_rules_log_to_group_0_with_prefix_size_and_threshold";
    if !can_run(test, "iptables-legacy") {
        return;
    }
    in_netns(move || {
        if kernel_has_legacy_iptables(test) {
            seed_rules(test, "iptables-legacy");
        }
    });
}
