//! Filter expressions in the command: `nflog -g N EXPRESSION` filters a group whose rule
//! the user wrote, in user space; `nflog --print-rule EXPRESSION` prints the ruleset
//! `nflog EXPRESSION` would install, which `nft -f` reads. Kernel tests run in a private
//! network namespace of their own.

mod support;

use std::process::Command;

use support::{
    in_netns, nflog_output, nft, one_line, privileged, try_load_ruleset, udp4, udp6, Proc, Scratch,
};

const GROUP: u16 = 5;

#[test]
fn a_group_with_an_expression_is_filtered_in_user_space() {
    if !privileged("a_group_with_an_expression_is_filtered_in_user_space") {
        return;
    }
    in_netns(|| {
        // The user's rule logs every UDP datagram sent.
        nft(&format!(
            "table inet t {{\n  chain out {{\n    type filter hook output priority 0;\n\
             \x20   meta l4proto udp log group {GROUP}\n  }}\n}}\n"
        ));
        let scratch = Scratch::new();
        let mut nflog = Proc::nflog(
            // -c counts the packets the expression takes, as tcpdump's.
            &["-g", "5", "-c", "3", "-n", "udp dst port 6001 or ip6"],
            scratch.path(),
            "nflog",
        );
        nflog.wait_bound(GROUP);
        // Five that the filter rejects, three it takes; the last is the third taken.
        for (v6, port) in [
            (false, 6000),
            (false, 6001),
            (false, 6002),
            (true, 6000),
            (false, 6000),
            (false, 6002),
            (false, 6003),
            (false, 6001),
        ] {
            if v6 {
                udp6(port, b"six");
            } else {
                udp4(port, b"four");
            }
        }
        let status = nflog.wait();
        let stderr = nflog.stderr();
        assert!(status.success(), "{stderr}");
        let stdout = nflog.stdout();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        assert!(lines[0].contains(" DPT=6001 "), "{stdout}");
        assert!(lines[1].contains("SRC=::1 "), "{stdout}");
        assert!(lines[2].contains(" DPT=6001 "), "{stdout}");
        let line = one_line(&stderr);
        assert!(
            line.starts_with("nflog: 3 packets written; received 8 "),
            "{line}"
        );
        assert!(
            line.ends_with("; 5 packets left out by the output's filter"),
            "{line}"
        );
    });
}

#[test]
fn a_bad_expression_with_a_group_is_refused_before_binding() {
    let (status, stdout, stderr) = nflog_output(&["-g", "5", "udp", "port", "x"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "nflog: filter: expected a port number at column 10, found `x`\n"
    );
}

#[test]
fn print_rule_prints_the_table_and_installs_nothing() {
    // No privilege needed: nothing is bound or installed.
    let (status, stdout, stderr) = nflog_output(&[
        "--print-rule",
        "-g",
        "7",
        "--hook",
        "input",
        "--limit",
        "10/second",
        "--prefix",
        "ssh",
        "tcp dst port 22 or 80",
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(
        stdout,
        "table inet nflog-7 {\n\
         \tchain logged {\n\
         \t\tcounter limit rate 10/second burst 5 packets counter log prefix \"ssh\" group 7\n\
         \t}\n\
         \tchain match {\n\
         \t\tmeta l4proto 6 th dport { 22, 80 } goto logged\n\
         \t}\n\
         \tchain input {\n\
         \t\ttype filter hook input priority -150; policy accept;\n\
         \t\tgoto match\n\
         \t}\n\
         }\n"
    );
    let (status, _, stderr) = nflog_output(&["--print-rule", "vlan 5"]);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "nflog: filter: `vlan 5` cannot match any packet of family inet\n"
    );
}

#[test]
fn nft_reads_what_print_rule_prints() {
    if !privileged("nft_reads_what_print_rule_prints") {
        return;
    }
    in_netns(|| {
        for args in [
            &["--print-rule", "tcp port 22 and not src net 10.0.0.0/8"][..],
            &[
                "--print-rule",
                "--family",
                "ip6",
                "--hook",
                "prerouting",
                "icmp6 or udp",
            ][..],
            &[
                "--print-rule",
                "-i",
                "lo",
                "vlan 10 or arp",
                "--limit",
                "5/minute",
            ][..],
            &["--print-rule", "--family", "bridge", "not host 10.0.0.1"][..],
        ] {
            let (status, stdout, stderr) = nflog_output(args);
            assert!(status.success(), "{args:?}: {stderr}");
            let mut check = Command::new("nft");
            check.arg("-c");
            try_load_ruleset(check, &stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        }
        // Loaded for real, the table is there and nflog-32768's; nft lists it back.
        let (_, stdout, _) = nflog_output(&["--print-rule", "udp dst port 53"]);
        nft(&stdout);
        let listed = support::run("nft", &["list", "table", "inet", "nflog-32768"]);
        assert!(listed.contains("udp dport 53 goto logged"), "{listed}");
    });
}
