//! The two back ends of one filter expression agree: for random expressions and random
//! packets sent in a private network namespace, the packets the kernel rule logs (the
//! expression compiled to nf_tables by `nflog::filter::compile`, installed by
//! `nflog::nft::CaptureRules`) are exactly those of all the packets that the user-space
//! evaluator (`nflog::filter::Expr::matches`) accepts.
//!
//! Two captures at the output hook: one of every packet, one of the expression. Each packet
//! logged by both is the same skb at the same hook, so its bytes identify it. Each case
//! ends with a sentinel datagram carrying its number: the capture of every packet is read
//! up to it, not until a quiet spell, so a case never takes in the late packets of the one
//! before when the machine is loaded.

mod support;

use std::net::{Ipv4Addr, Ipv6Addr, UdpSocket};
use std::time::{Duration, Instant};

use nflog::filter;
use nflog::format::Numeric;
use nflog::nft::{CaptureRules, Filter, FREE_GROUP_START};
use nflog::{Family, GroupConfig, Hook, Listener};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::{in_netns, ping4, ping6, privileged, tcp_syn};

const PORTS: [u16; 4] = [22, 53, 8080, 9999];
/// Where each case's sentinel goes: a port no case sends to, where a socket of the test
/// listens, so that no ICMP error follows the sentinel.
const SENTINEL_PORT: u16 = 7;

/// One packet to send.
#[derive(Debug, Clone)]
enum Send {
    /// UDP from 127.0.0.`src` (or ::1 when `v6`) to `port`, with `len` payload bytes.
    Udp {
        v6: bool,
        src: u8,
        port: u16,
        len: usize,
    },
    /// A TCP SYN to 127.0.0.1:`port` (the kernel answers with a RST, logged too).
    Syn { port: u16 },
    /// An ICMP or ICMPv6 echo request (the kernel answers it).
    Ping { v6: bool },
}

fn send() -> impl Strategy<Value = Send> {
    let port = proptest::sample::select(PORTS.to_vec());
    prop_oneof![
        4 => (any::<bool>(), 1u8..4, port.clone(), 0usize..200)
            .prop_map(|(v6, src, port, len)| Send::Udp { v6, src, port, len }),
        1 => port.prop_map(|port| Send::Syn { port }),
        1 => any::<bool>().prop_map(|v6| Send::Ping { v6 }),
    ]
}

fn primitive() -> impl Strategy<Value = String> {
    let port = proptest::sample::select(PORTS.to_vec());
    prop_oneof![
        proptest::sample::select(vec![
            "ip",
            "ip6",
            "tcp",
            "udp",
            "icmp",
            "icmp6",
            "tcp-syn",
            "tcp-rst",
            "icmp[icmptype] == icmp-echo",
            "icmp6[icmp6type] == icmp6-echoreply",
            "host ::1",
            "src net 127.0.0.0/31",
            "dst host 127.0.0.1",
        ])
        .prop_map(str::to_owned),
        (
            proptest::sample::select(vec!["", "src ", "dst ", "tcp ", "udp ", "udp dst "]),
            port
        )
            .prop_map(|(q, p)| format!("{q}port {p}")),
        (1u8..4).prop_map(|h| format!("src host 127.0.0.{h}")),
        (0u16..9000, 0u16..2000).prop_map(|(a, w)| format!("portrange {a}-{}", a + w)),
        (40u32..300).prop_map(|n| format!("less {n}")),
        (40u32..300).prop_map(|n| format!("greater {n}")),
    ]
}

fn expression() -> impl Strategy<Value = String> {
    primitive().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn output_only(filter: Filter) -> CaptureRules {
    CaptureRules {
        hooks: vec![Hook::Output],
        filter,
        ..CaptureRules::default()
    }
}

fn transmit(packets: &[Send]) {
    for p in packets {
        match p {
            Send::Udp {
                v6: false,
                src,
                port,
                len,
            } => {
                let s = UdpSocket::bind((Ipv4Addr::new(127, 0, 0, *src), 0)).unwrap();
                s.send_to(&vec![0x5a; *len], (Ipv4Addr::LOCALHOST, *port))
                    .unwrap();
            }
            Send::Udp {
                v6: true,
                port,
                len,
                ..
            } => {
                let s = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
                s.send_to(&vec![0xa5; *len], (Ipv6Addr::LOCALHOST, *port))
                    .unwrap();
            }
            Send::Syn { port } => tcp_syn(*port),
            Send::Ping { v6: false } => ping4(),
            Send::Ping { v6: true } => ping6(),
        }
    }
}

/// The payload bytes that end case `case`'s sentinel datagram.
fn sentinel(case: usize) -> Vec<u8> {
    format!("end of case {case}").into_bytes()
}

/// Sends case `case`'s sentinel, after its packets.
fn send_sentinel(case: usize) {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    s.send_to(&sentinel(case), (Ipv4Addr::LOCALHOST, SENTINEL_PORT))
        .unwrap();
}

/// The logged packet's bytes (the IP packet), which identify it.
fn payload(p: &nflog::OwnedPacket) -> Vec<u8> {
    p.view().payload().unwrap_or_default().to_vec()
}

/// What `listener` receives up to and including case `case`'s sentinel: the kernel logs one
/// group's packets in order, so that is every packet of the case and nothing after it.
fn drain_to_sentinel(
    listener: &mut Listener,
    case: usize,
) -> Result<Vec<nflog::OwnedPacket>, TestCaseError> {
    let end = sentinel(case);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        match listener.try_recv().unwrap() {
            Some(batch) => {
                for p in batch {
                    let packet = p.unwrap().into_owned();
                    let last = payload(&packet).ends_with(&end);
                    got.push(packet);
                    if last {
                        return Ok(got);
                    }
                }
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    Err(TestCaseError::fail(format!(
        "case {case}'s sentinel not logged in 20 s"
    )))
}

/// What `listener` receives until it holds at least `expected` packets and has then been
/// quiet for a while (or 20 s passed): fewer or more than `expected` is for the caller to
/// judge, and a late packet under load is waited for, not missed.
fn drain_at_least(listener: &mut Listener, expected: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quiet = Instant::now();
    while Instant::now() < deadline
        && (got.len() < expected || quiet.elapsed() < Duration::from_millis(150))
    {
        match listener.try_recv().unwrap() {
            Some(batch) => {
                for p in batch {
                    got.push(payload(&p.unwrap().into_owned()));
                }
                quiet = Instant::now();
            }
            None => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    got
}

#[test]
fn the_kernel_logs_exactly_what_the_evaluator_accepts() {
    if !privileged("the_kernel_logs_exactly_what_the_evaluator_accepts") {
        return;
    }
    in_netns(|| {
        let config = GroupConfig::default().flush_timeout(Duration::from_millis(10));
        let everything = std::cell::RefCell::new(Listener::builder().bind().unwrap());
        let all_group = everything
            .borrow_mut()
            .add_free_group(FREE_GROUP_START, &[], &config)
            .unwrap();
        let _all = output_only(Filter::all()).install(all_group).unwrap();
        let mut runner = TestRunner::new(Config {
            cases: 48,
            failure_persistence: None,
            ..Config::default()
        });
        let _sentinel_sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, SENTINEL_PORT)).unwrap();
        let compared = std::cell::Cell::new(0usize);
        let cases = std::cell::Cell::new(0usize);
        runner
            .run(
                &(expression(), proptest::collection::vec(send(), 1..24)),
                |(text, packets)| {
                    let expr = filter::Expr::parse(&text)
                        .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                    let compiled = match filter::compile(&expr, Family::Inet) {
                        Ok(c) => c,
                        // Too many rules, a negation nf_tables cannot express: not this test's.
                        Err(e) => return Err(TestCaseError::reject(e.to_string())),
                    };
                    let mut matched = Listener::builder().bind().unwrap();
                    let group = matched.add_free_group(all_group + 1, &[], &config).unwrap();
                    let guard = output_only(compiled.into_filter(1)).install(group);
                    let _guard = guard.map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                    transmit(&packets);
                    let case = cases.get();
                    cases.set(case + 1);
                    send_sentinel(case);
                    let all = drain_to_sentinel(&mut everything.borrow_mut(), case)?;
                    let mut accepted: Vec<Vec<u8>> = all
                        .iter()
                        .filter(|p| expr.matches(&p.view(), &mut Numeric))
                        .map(payload)
                        .collect();
                    let mut logged = drain_at_least(&mut matched, accepted.len());
                    accepted.sort();
                    logged.sort();
                    compared.set(compared.get() + all.len());
                    prop_assert_eq!(logged, accepted, "expression {}", text);
                    Ok(())
                },
            )
            .unwrap();
        assert!(
            compared.get() > 100,
            "only {} packets compared",
            compared.get()
        );
    });
}
