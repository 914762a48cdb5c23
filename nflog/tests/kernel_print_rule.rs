//! The ruleset text of a compiled filter (`nflog::filter::ruleset_text`, what `nflog
//! --print-rule` prints) is what `nft -f` reads: checked with `nft -c -f` in a private
//! network namespace, for every primitive and every table family that can match it; and,
//! loaded, it is the ruleset the library installs: `nft list table` shows the two tables
//! alike, but for their names, the owner flag and the counters' values.

mod support;

use nflog::filter::{compile, family_name, ruleset_text, Expr};
use nflog::nft::{CaptureRules, Limit, LimitUnit};
use nflog::{Family, Hook};
use support::{in_netns, privileged, run, try_load_ruleset};

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

/// The capture rules of the tests: every option of the log rule given.
fn capture_rules(family: Family, hooks: &[Hook], device: Option<&str>) -> CaptureRules {
    CaptureRules {
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
    }
}

fn check(family: Family, hooks: &[Hook], device: Option<&str>, expressions: &[&str]) {
    for text in expressions {
        let expr = Expr::parse(text).unwrap();
        let compiled = compile(&expr, family).unwrap_or_else(|e| panic!("{text}: {e}"));
        let rules = capture_rules(family, hooks, device);
        let ruleset = ruleset_text(&rules, &compiled, "nflog-1-32768", 32768);
        let mut nft = std::process::Command::new("nft");
        nft.arg("-c");
        try_load_ruleset(nft, &ruleset).unwrap_or_else(|e| panic!("{text}:\n{e}"));
    }
}

/// A table family, hooks (and device) it can take, and expressions it can match.
type Case = (Family, Vec<Hook>, Option<&'static str>, Vec<&'static str>);

/// Every family with hooks (and device) it can take, and expressions it can match.
fn cases() -> Vec<Case> {
    let ip_hooks = vec![Hook::Input, Hook::Forward, Hook::Output];
    let bridge = vec![
        "vlan 100 or vlan 200",
        "vlan and ip and udp dst port 53",
        "arp or ip6",
        "not host 10.0.0.1",
    ];
    vec![
        (Family::Inet, ip_hooks.clone(), None, INET.to_vec()),
        (
            Family::Ipv4,
            vec![Hook::Prerouting, Hook::Postrouting],
            None,
            vec!["host 10.0.0.1 and tcp port 22", "not icmp", "less 100"],
        ),
        (
            Family::Ipv6,
            ip_hooks.clone(),
            None,
            vec!["net 2001:db8::/32 and not tcp-syn", "icmp6", "greater 1280"],
        ),
        (Family::Bridge, ip_hooks, None, bridge.clone()),
        (
            Family::Netdev,
            vec![Hook::Ingress, Hook::Egress],
            Some("lo"),
            bridge,
        ),
        (
            Family::Arp,
            vec![Hook::ArpIn, Hook::ArpOut],
            None,
            vec!["arp and mark 1", "iif lo or oif lo"],
        ),
    ]
}

#[test]
fn nft_reads_the_printed_ruleset_of_every_family() {
    if !privileged("nft_reads_the_printed_ruleset_of_every_family") {
        return;
    }
    in_netns(|| {
        for (family, hooks, device, expressions) in cases() {
            check(family, &hooks, device, &expressions);
        }
    });
}

/// `nft list table` of a table, with what may differ between the table the library
/// installed and the same one loaded from the printed text left out: its name, the owner
/// flag and the owner's name that nft adds as a comment (`# progname P`), which belong to
/// the installing process and are not printed, the counters' values, blank lines.
fn listed(family: &str, table: &str) -> String {
    let text = run("nft", &["list", "table", family, table]);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split(" # progname ").next().unwrap_or_default();
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed == "flags owner" {
            continue;
        }
        let indent = &line[..line.len() - line.trim_start().len()];
        let mut words = Vec::new();
        let mut rest = trimmed.split(' ').peekable();
        while let Some(word) = rest.next() {
            words.push(word);
            // `counter packets N bytes M`: the values are the kernel's count so far.
            if word == "counter" && rest.peek() == Some(&"packets") {
                rest.nth(3);
            }
        }
        out.push(format!(
            "{indent}{}",
            words.join(" ").replace(table, "TABLE")
        ));
    }
    out.join("\n")
}

/// Expressions whose match rules nft lists differently installed and printed, though they
/// match the same packets; for these only the rest of the table is compared (the log rule,
/// the base chains, the number of rules), and the difference must still be there (when it
/// goes, the expression leaves this list).
///
/// - A single prefix (`net 2001:db8::/32`) is installed as a range, which nft lists as
///   `A-B`; the printed prefix is nft's mask and compare.
/// - Sets of host-order keys (marks, uids, interface names) are listed with their bytes
///   swapped, and ICMP types as numbers: nft keeps a set's byte order and type names in the
///   set's user data, which the library does not send. kernel_filter_primitives proves the
///   kernel matches these sets as written.
/// - In the netdev family nft's `ether type` adds `meta iiftype ether` before it; the
///   installed rule loads the type without it, listed as `@ll,96,16`.
const LISTED_DIFFERENTLY: &[(&str, &str)] = &[
    ("inet", "not dst net 2001:db8::/32"),
    (
        "inet",
        "(tcp dst port 22 and src net 10.0.0.0/8) or (udp and not host 10.0.0.9)",
    ),
    ("ip6", "net 2001:db8::/32 and not tcp-syn"),
    (
        "inet",
        "icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply",
    ),
    ("inet", "mark 0x10 or mark 0x20"),
    ("inet", "iif lo or iif eth0 or oif veth*"),
    ("inet", "skuid 0 or skuid 1000 and skgid 100"),
    ("netdev", "vlan 100 or vlan 200"),
    ("netdev", "vlan and ip and udp dst port 53"),
];

/// A listing without the rules of the match chain (those that end in `goto logged`).
fn without_match_rules(listing: &str) -> String {
    listing
        .lines()
        .filter(|l| !l.ends_with(" goto logged"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_printed_ruleset_loaded_lists_as_the_installed_table() {
    if !privileged("the_printed_ruleset_loaded_lists_as_the_installed_table") {
        return;
    }
    in_netns(|| {
        let mut compared = 0;
        let mut mismatches = Vec::new();
        for (family, hooks, device, expressions) in cases() {
            let name = family_name(family).unwrap();
            for text in expressions {
                let compiled = compile(&Expr::parse(text).unwrap(), family).unwrap();
                let rules = capture_rules(family, &hooks, device);
                let installed = CaptureRules {
                    filter: compiled.clone().into_filter(1),
                    ..rules.clone()
                }
                .install(32768)
                .unwrap_or_else(|e| panic!("{name} {text}: {e}"));
                support::nft(&ruleset_text(&rules, &compiled, "printed", 32768));
                let ours = listed(name, installed.table());
                let printed = listed(name, "printed");
                if LISTED_DIFFERENTLY.contains(&(name, text)) {
                    assert_ne!(ours, printed, "{name} {text}: listed alike now");
                    assert_eq!(
                        without_match_rules(&ours),
                        without_match_rules(&printed),
                        "{name} {text}"
                    );
                    assert_eq!(
                        printed.matches("goto logged").count(),
                        compiled.rules.len(),
                        "{name} {text}"
                    );
                } else if ours != printed {
                    let differ: Vec<String> = ours
                        .lines()
                        .zip(printed.lines())
                        .filter(|(a, b)| a != b)
                        .map(|(a, b)| format!("installed: {a}\n  printed: {b}"))
                        .collect();
                    mismatches.push(format!("{name} {text}:\n{}", differ.join("\n")));
                }
                // Not two empty listings: each of the filter's rules is there.
                let rules_listed = ours.matches("goto logged").count();
                assert_eq!(rules_listed, compiled.rules.len(), "{name} {text}: {ours}");
                run("nft", &["delete", "table", name, "printed"]);
                drop(installed);
                compared += 1;
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
        assert!(compared > 40, "{compared}");
    });
}
