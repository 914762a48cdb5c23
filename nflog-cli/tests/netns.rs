//! `nflog --netns`: the command captures in another network namespace, against the real
//! kernel.
//!
//! The namespace is held by a child process (`unshare -n sleep 60`, killed at the end); the
//! command runs from a thread in a private namespace of its own, so nothing touches the
//! host's rules or group bindings. Without root the test says why and skips; under CI
//! (`CI` set) a skip is a failure.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};

use support::{
    has_tool, in_netns, parse_bound_groups, privileged, wait_until, Namespace, PeerNetns, Reaped,
};

#[test]
fn capture_with_netns_receives_a_packet_made_in_that_namespace() {
    let test = "capture_with_netns_receives_a_packet_made_in_that_namespace";
    if !privileged(test) || !has_tool(test, "nsenter", "--version", "util-linux") {
        return;
    }
    in_netns(|| {
        let peer = PeerNetns::new(support::DEADLINE);
        let ns_pid = peer.pid();
        peer.run("ip", &["link", "set", "lo", "up"]);
        peer.nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n \
             udp dport 4781 log group 81\n }\n}\n",
        );

        // The command starts in this thread's private namespace and captures in the other.
        let mut nflog = Reaped(
            Command::new(support::NFLOG)
                .args(["--netns", &format!("pid:{ns_pid}")])
                .args(["-g", "81", "-c", "1", "-F", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn nflog"),
        );
        wait_until("nflog binds group 81 in the other namespace", || {
            assert!(nflog.0.try_wait().unwrap().is_none(), "nflog exited early");
            peer.bound_groups().contains(&81)
        });
        let own = format!("/proc/{}/net/netfilter/nfnetlink_log", nflog.0.id());
        assert!(
            !parse_bound_groups(&std::fs::read_to_string(own).unwrap_or_default()).contains(&81),
            "the group is not bound in the command's own namespace"
        );
        let deadline = std::time::Instant::now() + support::DEADLINE;

        // Send until the command has its one packet and exits.
        let status = loop {
            if let Some(status) = nflog.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "nflog did not exit after -c 1"
            );
            peer.send_udp("127.0.0.1", 4781, 1);
            std::thread::sleep(std::time::Duration::from_millis(50));
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
    });
}
