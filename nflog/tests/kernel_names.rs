//! Interface names against the real kernel: an [`InterfaceNames`] follows renames, deletions
//! and reused indexes through rtnetlink link notifications, and keeps nothing of the NFLOG
//! socket alive.
//!
//! Each test runs in a private network namespace of its own (`in_netns`), with its own
//! interfaces, nftables rules and traffic, on addresses from 192.0.2.0/24 that exist only
//! there. Groups 130 to 131 are used here.

mod support;

use std::net::UdpSocket;

use nflog::{group_bindings, GroupConfig, InterfaceNames, Listener};
use support::{collect, in_netns, nft, privileged, run, wait_until, WAIT};

/// Sends one UDP datagram to `to` from an address the route chooses (not loopback, which
/// the kernel refuses to send out of another interface).
fn send_routed(to: &str) {
    let socket = UdpSocket::bind("0.0.0.0:0").expect("bind UDP sender");
    socket.send_to(b"name", to).expect("send UDP");
}

/// Logs one packet routed out of the interface that holds 192.0.2.1/24 and returns its
/// output interface index.
fn log_one_out_of(listener: &mut Listener) -> u32 {
    send_routed("192.0.2.2:5130");
    let got = collect(listener, 1, WAIT);
    assert_eq!(got.len(), 1, "the packet is logged");
    got[0].outdev().expect("an output interface")
}

#[test]
fn names_follow_renames_deletions_and_reused_indexes() {
    if !privileged("names_follow_renames_deletions_and_reused_indexes") {
        return;
    }
    in_netns(|| {
        run("ip", &["link", "add", "br0", "type", "bridge"]);
        run("ip", &["addr", "add", "192.0.2.1/24", "dev", "br0"]);
        run("ip", &["link", "set", "br0", "up"]);
        nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n \
             udp dport 5130 log group 130\n }\n}\n",
        );
        let mut listener = Listener::builder()
            .group(130)
            .config(GroupConfig::new().queue_threshold(1))
            .bind()
            .unwrap();
        let mut names = InterfaceNames::new(&listener).unwrap();

        // Each name is asked right after its packet arrives, as a writer would.
        let index = log_one_out_of(&mut listener);
        assert_eq!(names.interface_name(index), Some("br0"));

        run("ip", &["link", "set", "br0", "down"]);
        run("ip", &["link", "set", "br0", "name", "renamed0"]);
        run("ip", &["link", "set", "renamed0", "up"]);
        assert_eq!(log_one_out_of(&mut listener), index);
        assert_eq!(names.interface_name(index), Some("renamed0"));

        run("ip", &["link", "del", "renamed0"]);
        assert_eq!(names.interface_name(index), None, "deleted");
        let index_text = index.to_string();
        run(
            "ip",
            &[
                "link",
                "add",
                "other0",
                "index",
                &index_text,
                "type",
                "bridge",
            ],
        );
        run("ip", &["addr", "add", "192.0.2.1/24", "dev", "other0"]);
        run("ip", &["link", "set", "other0", "up"]);
        assert_eq!(log_one_out_of(&mut listener), index, "the index is reused");
        assert_eq!(names.interface_name(index), Some("other0"));
        assert_eq!(names.interface_name(1), Some("lo"));
    });
}

#[test]
fn interface_names_do_not_keep_the_group_bound() {
    if !privileged("interface_names_do_not_keep_the_group_bound") {
        return;
    }
    in_netns(|| {
        let listener = Listener::bind(131).unwrap();
        let mut names = InterfaceNames::new(&listener).unwrap();
        drop(listener);
        // At once, but for a fork by another test's thread, which holds a copy of every
        // descriptor until it execs.
        wait_until("the group is released with the listener", || {
            group_bindings().unwrap().iter().all(|b| b.group != 131)
        });
        let again = Listener::bind(131).unwrap();
        assert_eq!(
            group_bindings()
                .unwrap()
                .iter()
                .find(|b| b.group == 131)
                .map(|b| b.port_id),
            Some(again.socket().port_id())
        );
        // The names still answer, for the packets already received.
        assert_eq!(names.interface_name(1), Some("lo"));
    });
}
