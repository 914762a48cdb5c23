//! The ruleset text of a compiled filter (`nflog::filter::ruleset_text`, what `nflog
//! --print-rule` prints) is what `nft -f` reads: checked with `nft -c -f` in a private
//! network namespace, for every primitive and every table family that can match it.

mod support;

use nflog::filter::{compile, ruleset_text, Expr};
use nflog::nft::{CaptureRules, Limit, LimitUnit};
use nflog::{Family, Hook};
use support::{in_netns, privileged, try_load_ruleset};

/// Expressions that cover every primitive, negations and folded sets.
const INET: &[&str] = &[
    "host 10.0.0.1",
    "src host 2001:db8::1 or dst host 2001:db8::2",
    "src and dst host 10.0.0.1",
    "net 10.0.0.0/8 or 192.168.0.0/16 or 10.1.2.3",
    "not dst net 2001:db8::/32",
    "tcp port 22 or 80 or 443",
    "udp dst portrange 6000-6010 or udp dst port 53",
    "port 53 and not portrange 1-1023",
    "sctp src port 9",
    "ip or ip6",
    "tcp or udp or icmp or icmp6 or proto 47 or ip6 proto 50",
    "not tcp",
    "tcp-syn and not tcp-ack",
    "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
    "tcp[tcpflags] == tcp-rst",
    "icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply",
    "icmp6[icmp6type] != icmp6-echo and icmp6[icmp6code] == 0",
    "less 100 or greater 1400",
    "not less 64",
    "mark 0x10 or mark 0x20",
    "mark 0x10/0xf0 and not mark 0",
    "iif lo or iif eth0 or oif veth*",
    "not oif lo",
    "skuid 0 or skuid 1000 and skgid 100",
    "ct state new,established",
    "not ct state invalid",
    "(tcp dst port 22 and src net 10.0.0.0/8) or (udp and not host 10.0.0.9)",
];

fn check(family: Family, hooks: &[Hook], device: Option<&str>, expressions: &[&str]) {
    for text in expressions {
        let expr = Expr::parse(text).unwrap();
        let compiled = compile(&expr, family).unwrap_or_else(|e| panic!("{text}: {e}"));
        let rules = CaptureRules {
            family,
            hooks: hooks.to_vec(),
            device: device.map(str::to_owned),
            limit: Some(Limit {
                rate: 100,
                unit: LimitUnit::Second,
                burst: 5,
            }),
            prefix: Some("ssh".into()),
            snaplen: Some(128),
            ..CaptureRules::default()
        };
        let ruleset = ruleset_text(&rules, &compiled, "nflog-1-32768", 32768);
        let mut nft = std::process::Command::new("nft");
        nft.arg("-c");
        try_load_ruleset(nft, &ruleset).unwrap_or_else(|e| panic!("{text}:\n{e}"));
    }
}

#[test]
fn nft_reads_the_printed_ruleset_of_every_family() {
    if !privileged("nft_reads_the_printed_ruleset_of_every_family") {
        return;
    }
    in_netns(|| {
        let ip_hooks = [Hook::Input, Hook::Forward, Hook::Output];
        check(Family::Inet, &ip_hooks, None, INET);
        check(
            Family::Ipv4,
            &[Hook::Prerouting, Hook::Postrouting],
            None,
            &["host 10.0.0.1 and tcp port 22", "not icmp", "less 100"],
        );
        check(
            Family::Ipv6,
            &ip_hooks,
            None,
            &["net 2001:db8::/32 and not tcp-syn", "icmp6", "greater 1280"],
        );
        let bridge = [
            "vlan 100 or vlan 200",
            "vlan and ip and udp dst port 53",
            "arp or ip6",
            "not host 10.0.0.1",
        ];
        check(Family::Bridge, &ip_hooks, None, &bridge);
        check(
            Family::Netdev,
            &[Hook::Ingress, Hook::Egress],
            Some("lo"),
            &bridge,
        );
        check(
            Family::Arp,
            &[Hook::ArpIn, Hook::ArpOut],
            None,
            &["arp and mark 1", "iif lo or oif lo"],
        );
    });
}
