//! `--conntrack` end to end: a TCP exchange logged with its conntrack entries by the real
//! kernel, captured live as pcap and as JSON, the pcap read back as text, JSON and XML:
//! every format carries the entry the kernel attached (NFULA_CT, NFULA_CT_INFO).
//!
//! Needs a kernel built with CONFIG_NETFILTER_NETLINK_GLUE_CT (Debian's: `.ci/run` runs
//! this test on Debian 12's kernel under qemu, `vmtest/run`). On a kernel without it (the
//! CI host's 6.18) the command must refuse `--conntrack` in its own words, which is what
//! the test then checks.

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use nflog::conntrack::{Conntrack, CtInfo};
use nflog::Packet;
use support::{in_netns, nflog_output, nft, privileged, records, Proc, Scratch};

const PORT: u16 = 7777;
/// The group the pcap capture reads; the JSON capture reads the next one.
const GROUP: u16 = 21;
/// SYN, SYN-ACK, ACK, "hi", "ho": the packets every run logs (delayed ACKs may add more).
const PACKETS: usize = 5;

/// What the kernel attached to one packet, read from the pcap capture by the library.
#[derive(Debug, PartialEq)]
struct Entry {
    id: u32,
    state: &'static str,
    status: u32,
    orig_sport: u16,
}

fn entries_of(pcap: &std::path::Path) -> Vec<Entry> {
    records(pcap)
        .iter()
        .map(|(_, data)| {
            let packet = Packet::parse(data).expect("a record of the capture parses");
            let ct = Conntrack::from_packet(&packet)
                .expect("NFULA_CT parses")
                .expect("every logged packet carries NFULA_CT");
            let info = CtInfo::from_packet(&packet).expect("NFULA_CT_INFO");
            let original = ct.original().expect("CTA_TUPLE_ORIG");
            Entry {
                id: ct.id().expect("CTA_ID"),
                state: info.name().expect("a known NFULA_CT_INFO"),
                status: ct.status().expect("CTA_STATUS").bits(),
                orig_sport: original.src_port.expect("a source port"),
            }
        })
        .collect()
}

/// One TCP connection to `PORT` on loopback, a word each way; returns the client's port.
fn tcp_exchange() -> u16 {
    let server = TcpListener::bind(("127.0.0.1", PORT)).unwrap();
    let mut client = TcpStream::connect(("127.0.0.1", PORT)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let (mut accepted, _) = server.accept().unwrap();
    let mut buf = [0u8; 2];
    client.write_all(b"hi").unwrap();
    accepted.read_exact(&mut buf).unwrap();
    accepted.write_all(b"ho").unwrap();
    client.read_exact(&mut buf).unwrap();
    client_port
}

#[test]
fn every_format_carries_the_conntrack_entry() {
    if !privileged("every_format_carries_the_conntrack_entry") {
        return;
    }
    in_netns(|| {
        // `ct state` makes the kernel track connections in this namespace (a `log` rule
        // alone does not, and NFULA_CT would be absent); each packet goes to both groups.
        let json_group = GROUP + 1;
        nft(&format!(
            "table inet t {{\n chain out {{\n type filter hook output priority 0;\n \
             tcp dport {PORT} ct state new,established log group {GROUP} log group {json_group}\n \
             tcp sport {PORT} ct state new,established log group {GROUP} log group {json_group}\n \
             }}\n}}\n"
        ));
        let scratch = Scratch::new();
        let pcap = scratch.join("ct.pcap");
        let json = scratch.join("ct.json");
        let count = PACKETS.to_string();
        let group = GROUP.to_string();
        let mut capture = Proc::nflog(
            &[
                "-g",
                &group,
                "--conntrack",
                "-c",
                &count,
                "-w",
                pcap.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog pcap",
        );
        if let Some(status) = wait_bound_or_exit(&mut capture, GROUP) {
            let stderr = capture.stderr();
            assert!(!status.success());
            assert!(
                stderr.starts_with(
                    "nflog: --conntrack: this kernel cannot attach conntrack entries to NFLOG"
                ) && stderr.contains("leave out --conntrack"),
                "a refused --conntrack says why and what to do: {stderr}"
            );
            eprintln!(
                "NOT TESTED every_format_carries_the_conntrack_entry: this kernel lacks \
                 CONFIG_NETFILTER_NETLINK_GLUE_CT (the command refused --conntrack as it \
                 should); vmtest/run runs it on Debian's kernel"
            );
            return;
        }
        let json_group_arg = json_group.to_string();
        let mut live_json = Proc::nflog(
            &[
                "-g",
                &json_group_arg,
                "--conntrack",
                "-c",
                &count,
                "-F",
                "json",
                "-w",
                json.to_str().unwrap(),
            ],
            scratch.path(),
            "nflog json",
        );
        live_json.wait_bound(json_group);

        let client_port = tcp_exchange();
        for capture in [&mut capture, &mut live_json] {
            let status = capture.wait();
            assert!(status.success(), "{}", capture.stderr());
        }

        let entries = entries_of(&pcap);
        assert_eq!(entries.len(), PACKETS);
        assert!(
            entries.windows(2).all(|w| w[0].id == w[1].id),
            "one connection, one id: {entries:?}"
        );
        assert_eq!(entries[0].state, "NEW", "{entries:?}");
        assert!(entries.iter().all(|e| e.orig_sport == client_port));

        // The pcap read back, in each line format.
        let read = |format: &str| -> Vec<String> {
            let (status, stdout, stderr) =
                nflog_output(&["read", pcap.to_str().unwrap(), "-F", format]);
            assert!(status.success(), "nflog read -F {format}: {stderr}");
            stdout.lines().map(str::to_string).collect()
        };
        let objects = read("json");
        assert_eq!(objects.len(), PACKETS);
        for (line, entry) in objects.iter().zip(&entries) {
            assert_json(&serde_json::from_str(line).unwrap(), entry, client_port);
        }
        let texts = read("text");
        assert_eq!(texts.len(), PACKETS);
        for (line, entry) in texts.iter().zip(&entries) {
            for field in [
                format!(" CTID={} CTSTATE={} ", entry.id, entry.state),
                format!(" ORIGSRC=127.0.0.1 ORIGDST=127.0.0.1 ORIGPROTO=TCP ORIGSPT={client_port} ORIGDPT={PORT} "),
                format!(" REPLYSRC=127.0.0.1 REPLYDST=127.0.0.1 REPLYPROTO=TCP REPLYSPT={PORT} REPLYDPT={client_port} "),
            ] {
                assert!(line.contains(&field), "{field:?} not in {line:?}");
            }
        }
        let xmls = read("xml");
        assert_eq!(xmls.len(), PACKETS);
        for (line, entry) in xmls.iter().zip(&entries) {
            for element in [
                format!(
                    "<ctid>{}</ctid><flow><meta direction=\"original\">",
                    entry.id
                ),
                format!("<sport>{client_port}</sport><dport>{PORT}</dport>"),
                format!("<sport>{PORT}</sport><dport>{client_port}</dport>"),
                format!("<id>{}</id>", entry.id),
                format!(
                    "<status>{}</status></meta></flow><ctinfo>{}</ctinfo>",
                    entry.status, entry.state
                ),
            ] {
                assert!(line.contains(&element), "{element:?} not in {line:?}");
            }
        }
        // The live JSON capture: the same entry, under ulogd2's names.
        let live: Vec<serde_json::Value> = support::lines(&json)
            .iter()
            .map(|line| serde_json::from_str(line).expect("a JSON object"))
            .collect();
        assert_eq!(live.len(), PACKETS);
        for (object, entry) in live.iter().zip(&entries) {
            assert_json(object, entry, client_port);
        }
    });
}

/// The JSON object of one packet carries its entry under ulogd2's NFCT names, and ours.
fn assert_json(object: &serde_json::Value, entry: &Entry, client_port: u16) {
    let expect = [
        ("ct.id", serde_json::json!(entry.id)),
        ("ct.state", serde_json::json!(entry.state)),
        ("ct.status", serde_json::json!(entry.status)),
        ("orig.ip.saddr.str", serde_json::json!("127.0.0.1")),
        ("orig.ip.daddr.str", serde_json::json!("127.0.0.1")),
        ("orig.ip.protocol", serde_json::json!(6)),
        ("orig.l4.sport", serde_json::json!(client_port)),
        ("orig.l4.dport", serde_json::json!(PORT)),
        ("reply.ip.saddr.str", serde_json::json!("127.0.0.1")),
        ("reply.l4.sport", serde_json::json!(PORT)),
        ("reply.l4.dport", serde_json::json!(client_port)),
    ];
    for (key, value) in expect {
        assert_eq!(object[key], value, "{key} in {object}");
    }
    assert!(object["ct.timeout"].is_u64(), "{object}");
}

/// Waits until `group` is bound; `Some(status)` when the process exited first.
fn wait_bound_or_exit(proc: &mut Proc, group: u16) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if support::bound_groups().contains(&group) {
            return None;
        }
        if let Some(status) = proc.exited() {
            return Some(status);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nflog did not bind group {group}: {}",
            proc.stderr()
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
