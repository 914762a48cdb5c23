use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::*;

fn p(input: &str) -> Expr {
    Expr::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
}

fn prim(primitive: Primitive) -> Expr {
    Expr::Primitive(primitive)
}

fn err(input: &str) -> String {
    match Expr::parse(input) {
        Ok(e) => panic!("{input:?} parsed as {e:?}"),
        Err(e) => e.to_string(),
    }
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn primitives_parse_to_typed_values() {
    use Primitive as P;
    let cases: Vec<(&str, Primitive)> = vec![
        ("host 10.0.0.1", P::Host(Dir::SrcOrDst, v4("10.0.0.1"))),
        ("src host 10.0.0.1", P::Host(Dir::Src, v4("10.0.0.1"))),
        ("dst 2001:db8::1", P::Host(Dir::Dst, v4("2001:db8::1"))),
        ("src and dst host ::1", P::Host(Dir::SrcAndDst, v4("::1"))),
        ("src or dst host ::1", P::Host(Dir::SrcOrDst, v4("::1"))),
        ("10.0.0.1", P::Host(Dir::SrcOrDst, v4("10.0.0.1"))),
        ("ip host 10.0.0.1", P::Host(Dir::SrcOrDst, v4("10.0.0.1"))),
        (
            "net 10.0.0.0/8",
            P::Net(Dir::SrcOrDst, Prefix::V4(Ipv4Addr::new(10, 0, 0, 0), 8)),
        ),
        (
            "net 10.1",
            P::Net(Dir::SrcOrDst, Prefix::V4(Ipv4Addr::new(10, 1, 0, 0), 16)),
        ),
        (
            "dst net 192.168.0.0 mask 255.255.0.0",
            P::Net(Dir::Dst, Prefix::V4(Ipv4Addr::new(192, 168, 0, 0), 16)),
        ),
        (
            "src 10.0.0.0/8",
            P::Net(Dir::Src, Prefix::V4(Ipv4Addr::new(10, 0, 0, 0), 8)),
        ),
        (
            "ip6 net 2001:db8::/32",
            P::Net(
                Dir::SrcOrDst,
                Prefix::V6("2001:db8::".parse::<Ipv6Addr>().unwrap(), 32),
            ),
        ),
        ("port 22", P::Port(None, Dir::SrcOrDst, 22)),
        ("port ssh", P::Port(None, Dir::SrcOrDst, 22)),
        (
            "tcp dst port 0x50",
            P::Port(Some(PortProto::Tcp), Dir::Dst, 80),
        ),
        (
            "udp src port 53",
            P::Port(Some(PortProto::Udp), Dir::Src, 53),
        ),
        (
            "sctp port 9",
            P::Port(Some(PortProto::Sctp), Dir::SrcOrDst, 9),
        ),
        (
            "tcp portrange 6000-6010",
            P::PortRange(Some(PortProto::Tcp), Dir::SrcOrDst, 6000, 6010),
        ),
        (
            "portrange ftp-data-ftp",
            P::PortRange(None, Dir::SrcOrDst, 20, 21),
        ),
        ("ip", P::Network(NetworkProto::Ipv4)),
        ("ip6", P::Network(NetworkProto::Ipv6)),
        ("arp", P::Network(NetworkProto::Arp)),
        ("tcp", P::Proto(None, 6)),
        ("udp", P::Proto(None, 17)),
        ("icmp", P::Proto(Some(IpFamily::V4), 1)),
        ("icmp6", P::Proto(Some(IpFamily::V6), 58)),
        ("proto 47", P::Proto(None, 47)),
        ("ip proto tcp", P::Proto(Some(IpFamily::V4), 6)),
        ("ip6 proto esp", P::Proto(Some(IpFamily::V6), 50)),
        (
            "tcp-syn",
            P::TcpFlags(TcpFlags {
                mask: 0x02,
                cmp: Cmp::Ne,
                value: 0,
            }),
        ),
        (
            "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
            P::TcpFlags(TcpFlags {
                mask: 0x12,
                cmp: Cmp::Eq,
                value: 0x02,
            }),
        ),
        (
            "tcp[13]&2!=0",
            P::TcpFlags(TcpFlags {
                mask: 0x02,
                cmp: Cmp::Ne,
                value: 0,
            }),
        ),
        (
            "tcp[tcpflags] = tcp-rst",
            P::TcpFlags(TcpFlags {
                mask: 0xff,
                cmp: Cmp::Eq,
                value: 0x04,
            }),
        ),
        (
            "icmp[icmptype] == icmp-echo",
            P::Icmp(IcmpTest {
                v6: false,
                field: IcmpField::Type,
                cmp: Cmp::Eq,
                value: 8,
            }),
        ),
        (
            "icmp6[icmp6type] != icmp6-echoreply",
            P::Icmp(IcmpTest {
                v6: true,
                field: IcmpField::Type,
                cmp: Cmp::Ne,
                value: 129,
            }),
        ),
        (
            "icmp[1] = 3",
            P::Icmp(IcmpTest {
                v6: false,
                field: IcmpField::Code,
                cmp: Cmp::Eq,
                value: 3,
            }),
        ),
        ("less 100", P::Length(LengthTest::AtMost(100))),
        ("greater 1500", P::Length(LengthTest::AtLeast(1500))),
        ("vlan", P::Vlan(None)),
        ("vlan 100", P::Vlan(Some(100))),
        (
            "mark 7",
            P::Mark(Mark {
                value: 7,
                mask: u32::MAX,
            }),
        ),
        (
            "mark 0x10/0xf0",
            P::Mark(Mark {
                value: 0x10,
                mask: 0xf0,
            }),
        ),
        ("iif eth0", P::Interface(IfaceDir::In, "eth0".into())),
        ("oif \"veth*\"", P::Interface(IfaceDir::Out, "veth*".into())),
        ("iif tcp", P::Interface(IfaceDir::In, "tcp".into())),
        ("skuid 1000", P::SkUid(1000)),
        ("skgid 0", P::SkGid(0)),
        (
            "ct state new,established",
            P::CtState(CtStates::NEW.union(CtStates::ESTABLISHED)),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(p(input), prim(want), "{input}");
    }
}

#[test]
fn and_or_have_one_precedence_and_group_left_to_right() {
    let (a, b, c) = (p("tcp"), p("udp"), p("icmp"));
    assert_eq!(
        p("tcp or udp and icmp"),
        a.clone().or(b.clone()).and(c.clone())
    );
    assert_eq!(
        p("tcp and udp or icmp"),
        a.clone().and(b.clone()).or(c.clone())
    );
    assert_eq!(
        p("tcp or (udp and icmp)"),
        a.clone().or(b.clone().and(c.clone()))
    );
    assert_eq!(p("not tcp and udp"), a.clone().not().and(b.clone()));
    assert_eq!(p("! tcp && udp || icmp"), a.clone().not().and(b).or(c));
    assert_eq!(p("not not tcp"), a.not().not());
}

#[test]
fn a_bare_value_repeats_the_previous_qualifiers() {
    assert_eq!(
        p("tcp dst port 22 or 80"),
        p("tcp dst port 22 or tcp dst port 80")
    );
    assert_eq!(
        p("host 10.0.0.1 and not 10.0.0.2"),
        p("host 10.0.0.1 and not host 10.0.0.2")
    );
    assert_eq!(
        p("src net 10.0.0.0/8 or (192.168 or 172.16.0.0/12)"),
        p("src net 10.0.0.0/8 or (src net 192.168.0.0/16 or src net 172.16.0.0/12)")
    );
    assert_eq!(p("iif eth0 or eth1"), p("iif eth0 or iif eth1"));
    assert_eq!(p("vlan 1 or 2"), p("vlan 1 or vlan 2"));
    assert_eq!(p("ip proto 6 or 17"), p("ip proto 6 or ip proto 17"));
}

#[test]
fn display_expands_lists_and_parenthesizes_right_operands() {
    let cases = [
        ("tcp port 22 or 80", "tcp port 22 or tcp port 80"),
        (
            "a::1 or (1.2.3.4 and not ::2)",
            "host a::1 or (host 1.2.3.4 and not host ::2)",
        ),
        ("not (tcp or udp)", "not (tcp or udp)"),
        (
            "tcp-syn or tcp-fin",
            "tcp[tcpflags] & tcp-syn != 0 or tcp[tcpflags] & tcp-fin != 0",
        ),
        (
            "tcp[13] & 0x12 = 2",
            "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
        ),
        ("icmp[0] == 8", "icmp[icmptype] == icmp-echo"),
        ("mark 16", "mark 0x10"),
        ("iif \"a(b\"", "iif \"a(b\""),
        ("ct state established,new", "ct state established,new"),
        (
            "ip proto 1 or ip6 proto 6 or proto 1",
            "icmp or ip6 proto 6 or proto 1",
        ),
    ];
    for (input, want) in cases {
        assert_eq!(p(input).to_string(), want, "{input}");
        assert_eq!(p(want), p(input), "{want}");
    }
}

#[test]
fn errors_say_what_was_expected_and_where() {
    let cases = [
        ("tcp port x", "expected a port number at column 10, found `x`"),
        ("tcp port", "expected a port number at column 9, found the end"),
        ("tcp port 70000", "expected a port number at column 10, found `70000`"),
        ("port 22 host 1.2.3.4", "expected `and`, `or` or the end of the expression at column 9, found `host`"),
        ("tcp and", "expected a primitive (host, net, port, tcp, ...), `not` or `(` at column 8, found the end"),
        ("(tcp", "expected `)` at column 5, found the end"),
        ("tcp)", "unmatched `)` at column 4"),
        ("host example.com", "expected an IP address at column 6, found `example.com`"),
        ("host 10.0.0.0/8", "`10.0.0.0/8` is a network: write `net 10.0.0.0/8` for a prefix at column 6"),
        ("net 10.0.0.1/8", "10.0.0.1/8 has bits set past the prefix length at column 5"),
        ("net 10.0.0.0/33", "prefix length 33 is over 32 at column 5"),
        ("net 10.0.0.0 mask 255.0.255.0", "mask 255.0.255.0 is not contiguous at column 5"),
        ("ip6 host 10.0.0.1", "the address is not an IPv6 address at column 5"),
        ("portrange 30-20", "port range 30-20 ends before it starts at column 11"),
        ("vlan 4096", "VLAN id 4096 is over 4095 at column 6"),
        ("mark 0x100/0xff", "mark 0x100/0xff has bits outside its mask, so it never matches at column 6"),
        ("iif", "expected an interface name at column 4, found the end"),
        ("iif abcdefghijklmnop", "interface name `abcdefghijklmnop` is longer than 15 bytes at column 5"),
        ("iif a:b", "interface name `a:b` has a character no interface name has (/, :, \", white space) at column 5"),
        ("ct new", "expected `state` at column 4, found `new`"),
        ("ct state new,bogus", "expected a conntrack state (new, established, related, invalid, untracked) at column 14, found `bogus`"),
        ("ether host 1:2:3:4:5:6", "`ether` at column 1 is not supported by nflog's filter language"),
        ("ip[0] & 0xf != 5", "`ip[...]` at column 3 is not supported by nflog's filter language"),
        ("tcp host 1.2.3.4", "`tcp host` at column 5 is not supported by nflog's filter language"),
        ("tcp[tcpflags] > 2", "expected `&`, `==` or `!=` at column 15, found `>`"),
        ("tcp[tcpflags] & tcp-bogus != 0", "expected a byte value (0 to 255) or its name at column 17, found `tcp-bogus`"),
        ("icmp[icmptype] == icmp6-echo", "expected a byte value (0 to 255) or its name at column 19, found `icmp6-echo`"),
        ("less", "expected a number at column 5, found the end"),
        ("22", "expected a primitive (host, net, port, tcp, ...), `not` or `(` at column 1, found `22`"),
        ("iif \"eth0", "expected an interface name at column 5, found `\"`"),
        ("", "expected a primitive (host, net, port, tcp, ...), `not` or `(` at column 1, found the end"),
    ];
    for (input, want) in cases {
        assert_eq!(err(input), want, "{input}");
    }
}

#[test]
fn deep_nesting_and_long_lists_are_refused_not_overflowed() {
    let deep = format!("{}tcp{}", "(".repeat(100), ")".repeat(100));
    assert_eq!(
        Expr::parse(&deep).unwrap_err().kind,
        ParseErrorKind::TooDeep
    );
    let nots = format!("{}tcp", "not ".repeat(10_000));
    assert_eq!(
        Expr::parse(&nots).unwrap_err().kind,
        ParseErrorKind::TooDeep
    );
    let long = format!("port 1{}", " or 2".repeat(MAX_PRIMITIVES));
    assert_eq!(
        Expr::parse(&long).unwrap_err().kind,
        ParseErrorKind::TooLong
    );
    let fits = format!("port 1{}", " or 2".repeat(MAX_PRIMITIVES - 1));
    assert!(Expr::parse(&fits).is_ok());
}

// Strategies for trees the parser can build, to check that printing and parsing agree.

fn dir() -> impl Strategy<Value = Dir> {
    prop_oneof![
        Just(Dir::Src),
        Just(Dir::Dst),
        Just(Dir::SrcOrDst),
        Just(Dir::SrcAndDst)
    ]
}

fn port_proto() -> impl Strategy<Value = Option<PortProto>> {
    prop_oneof![
        Just(None),
        Just(Some(PortProto::Tcp)),
        Just(Some(PortProto::Udp)),
        Just(Some(PortProto::Sctp))
    ]
}

fn addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
        any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
    ]
}

fn prefix() -> impl Strategy<Value = Prefix> {
    prop_oneof![
        (any::<u32>(), 0u8..=32)
            .prop_map(|(a, len)| Prefix::V4((a & ast::mask_v4(len)).into(), len)),
        (any::<u128>(), 0u8..=128)
            .prop_map(|(a, len)| Prefix::V6((a & ast::mask_v6(len)).into(), len)),
    ]
}

fn cmp() -> impl Strategy<Value = Cmp> {
    prop_oneof![Just(Cmp::Eq), Just(Cmp::Ne)]
}

fn primitive() -> impl Strategy<Value = Primitive> {
    use Primitive as P;
    prop_oneof![
        (dir(), addr()).prop_map(|(d, a)| P::Host(d, a)),
        (dir(), prefix()).prop_map(|(d, n)| P::Net(d, n)),
        (port_proto(), dir(), any::<u16>()).prop_map(|(p, d, n)| P::Port(p, d, n)),
        (port_proto(), dir(), any::<u16>(), any::<u16>()).prop_map(|(p, d, a, b)| P::PortRange(
            p,
            d,
            a.min(b),
            a.max(b)
        )),
        prop_oneof![
            Just(NetworkProto::Ipv4),
            Just(NetworkProto::Ipv6),
            Just(NetworkProto::Arp)
        ]
        .prop_map(P::Network),
        (
            prop_oneof![
                Just(None),
                Just(Some(IpFamily::V4)),
                Just(Some(IpFamily::V6))
            ],
            any::<u8>()
        )
            .prop_map(|(f, n)| P::Proto(f, n)),
        (any::<u8>(), cmp(), any::<u8>()).prop_map(|(mask, cmp, value)| P::TcpFlags(TcpFlags {
            mask,
            cmp,
            value
        })),
        (
            any::<bool>(),
            prop_oneof![Just(IcmpField::Type), Just(IcmpField::Code)],
            cmp(),
            any::<u8>()
        )
            .prop_map(|(v6, field, cmp, value)| P::Icmp(IcmpTest {
                v6,
                field,
                cmp,
                value
            })),
        any::<u32>().prop_map(|n| P::Length(LengthTest::AtMost(n))),
        any::<u32>().prop_map(|n| P::Length(LengthTest::AtLeast(n))),
        proptest::option::of(0u16..4096).prop_map(P::Vlan),
        (any::<u32>(), any::<u32>()).prop_map(|(v, m)| P::Mark(Mark {
            value: v & m,
            mask: m
        })),
        (any::<bool>(), "[a-zA-Z0-9._()!&|=<>,\\[\\]-]{1,14}\\*?")
            .prop_filter("a name", |(_, n)| n != "." && n != "..")
            .prop_map(|(out, name)| P::Interface(
                if out { IfaceDir::Out } else { IfaceDir::In },
                name
            )),
        any::<u32>().prop_map(P::SkUid),
        any::<u32>().prop_map(P::SkGid),
        (1u8..=0x4f)
            .prop_filter_map("ct states", CtStates::from_bits)
            .prop_map(P::CtState),
    ]
}

pub(crate) fn expr() -> impl Strategy<Value = Expr> {
    primitive()
        .prop_map(Expr::Primitive)
        .prop_recursive(6, 48, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(Expr::not),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
                (inner.clone(), inner).prop_map(|(a, b)| a.or(b)),
            ]
        })
}

proptest! {
    #[test]
    fn printing_and_parsing_give_the_same_tree(e in expr()) {
        let text = e.to_string();
        let back = Expr::parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&e), "{}", text);
    }

    #[test]
    fn no_input_panics(input in "\\PC{0,64}") {
        let _ = Expr::parse(&input);
    }

    #[test]
    fn no_token_soup_panics(words in proptest::collection::vec(prop_oneof![
        Just("host"), Just("src"), Just("dst"), Just("and"), Just("or"), Just("not"),
        Just("("), Just(")"), Just("port"), Just("22"), Just("10.0.0.1"), Just("tcp"),
        Just("["), Just("]"), Just("tcpflags"), Just("&"), Just("|"), Just("!="),
        Just("=="), Just("tcp-syn"), Just("icmp"), Just("icmptype"), Just("vlan"),
        Just("mark"), Just("0x1/0x3"), Just("iif"), Just("ct"), Just("state"), Just("new"),
        Just(","), Just("net"), Just("mask"), Just("255.0.0.0"), Just("10"), Just("\""),
        Just("portrange"), Just("1-2"), Just("proto"), Just("ip6"), Just("less"),
    ], 0..24)) {
        let input = words.join(" ");
        if let Ok(e) = Expr::parse(&input) {
            let text = e.to_string();
            prop_assert_eq!(Expr::parse(&text), Ok(e), "{} printed as {}", input, text);
        }
    }
}

mod eval {
    use etherparse::{IcmpEchoHeader, Icmpv4Type, Icmpv6Type, PacketBuilder, TcpHeader};

    use super::*;
    use crate::format::{Numeric, ResolveInterface};
    use crate::wire::family::Family;
    use crate::wire::packet::{Packet, PacketRepr, Vlan};

    const A4: [u8; 4] = [192, 0, 2, 1];
    const B4: [u8; 4] = [198, 51, 100, 7];
    const A6: [u8; 16] = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    const B6: [u8; 16] = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

    /// Names index 1 "lo", 2 "eth0", 3 "veth1".
    struct Names;

    impl ResolveInterface for Names {
        fn interface_name(&mut self, index: u32) -> Option<&str> {
            match index {
                1 => Some("lo"),
                2 => Some("eth0"),
                3 => Some("veth1"),
                _ => None,
            }
        }
    }

    fn ipv4(payload: Vec<u8>) -> PacketRepr {
        PacketRepr {
            payload: Some(payload),
            ..PacketRepr::default()
        }
    }

    fn ipv6(payload: Vec<u8>) -> PacketRepr {
        PacketRepr {
            family: Family::Ipv6,
            hw_protocol: 0x86dd,
            payload: Some(payload),
            ..PacketRepr::default()
        }
    }

    /// TCP over IPv4 from A4:sport to B4:dport, with `flags` set on the header.
    fn tcp4(sport: u16, dport: u16, flags: impl Fn(&mut TcpHeader)) -> PacketRepr {
        let mut out = Vec::new();
        let mut header = TcpHeader::new(sport, dport, 1, 1000);
        flags(&mut header);
        PacketBuilder::ipv4(A4, B4, 64)
            .tcp_header(header)
            .write(&mut out, &[0u8; 10])
            .unwrap();
        ipv4(out)
    }

    fn udp6(sport: u16, dport: u16) -> PacketRepr {
        let mut out = Vec::new();
        PacketBuilder::ipv6(A6, B6, 64)
            .udp(sport, dport)
            .write(&mut out, &[1, 2, 3])
            .unwrap();
        ipv6(out)
    }

    fn icmp4(ty: Icmpv4Type) -> PacketRepr {
        let mut out = Vec::new();
        PacketBuilder::ipv4(A4, B4, 64)
            .icmpv4(ty)
            .write(&mut out, &[])
            .unwrap();
        ipv4(out)
    }

    fn icmp6(ty: Icmpv6Type) -> PacketRepr {
        let mut out = Vec::new();
        PacketBuilder::ipv6(A6, B6, 64)
            .icmpv6(ty)
            .write(&mut out, &[])
            .unwrap();
        ipv6(out)
    }

    /// SCTP's common header (and nothing else) over IPv4.
    fn sctp4(sport: u16, dport: u16) -> PacketRepr {
        let mut sctp = Vec::new();
        sctp.extend_from_slice(&sport.to_be_bytes());
        sctp.extend_from_slice(&dport.to_be_bytes());
        sctp.extend_from_slice(&[0; 8]);
        let mut out = Vec::new();
        PacketBuilder::ipv4(A4, B4, 64)
            .write(&mut out, 132.into(), &sctp)
            .unwrap();
        ipv4(out)
    }

    fn check(expr: &str, repr: &PacketRepr) -> bool {
        let bytes = repr.to_bytes();
        let packet = Packet::parse(&bytes).unwrap();
        p(expr).matches(&packet, &mut Names)
    }

    /// Each expression must match `yes` and must not match `no`.
    fn split(exprs: &[&str], yes: &[&PacketRepr], no: &[&PacketRepr]) {
        for expr in exprs {
            for (i, repr) in yes.iter().enumerate() {
                assert!(check(expr, repr), "{expr} should match packet {i}");
            }
            for (i, repr) in no.iter().enumerate() {
                assert!(!check(expr, repr), "{expr} should not match packet {i}");
            }
        }
    }

    #[test]
    fn host_and_net_look_at_either_address_as_told() {
        let t = tcp4(1000, 22, |_| {});
        let u = udp6(53, 2000);
        split(
            &["host 192.0.2.1", "src host 192.0.2.1", "dst 198.51.100.7"],
            &[&t],
            &[&u],
        );
        split(
            &["dst host 192.0.2.1", "src and dst host 192.0.2.1"],
            &[],
            &[&t, &u],
        );
        split(
            &[
                "net 192.0.2.0/24",
                "src net 192.0",
                "dst net 198.51.100.0 mask 255.255.255.0",
            ],
            &[&t],
            &[&u],
        );
        split(
            &[
                "host 2001:db8::2",
                "dst net 2001:db8::/32",
                "src and dst net 2001:db8::/64",
            ],
            &[&u],
            &[&t],
        );
        split(&["not host 10.0.0.1"], &[&t, &u], &[]);
    }

    #[test]
    fn ports_match_tcp_udp_and_sctp_by_direction() {
        let t = tcp4(1000, 22, |_| {});
        let u = udp6(53, 2000);
        let s = sctp4(5000, 22);
        split(
            &["port 22", "dst port ssh", "portrange 20-22"],
            &[&t, &s],
            &[&u],
        );
        split(
            &["tcp port 22", "tcp src port 1000", "tcp portrange 999-1001"],
            &[&t],
            &[&u, &s],
        );
        split(
            &["udp src port 53", "udp dst portrange 2000-2000", "port 53"],
            &[&u],
            &[&t, &s],
        );
        split(
            &["sctp dst port 22", "sctp src port 5000"],
            &[&s],
            &[&t, &u],
        );
        split(
            &["src and dst port 22", "tcp src port 22", "port 23"],
            &[],
            &[&t, &u, &s],
        );
    }

    #[test]
    fn a_later_fragment_has_protocol_but_no_ports() {
        let mut out = Vec::new();
        PacketBuilder::ipv4(A4, B4, 64)
            .write(
                &mut out,
                6.into(),
                &[
                    0, 22, 0, 22, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 2, 0, 0, 0, 0, 0, 0,
                ],
            )
            .unwrap();
        out[6] = 0x00;
        out[7] = 0x10; // fragment offset 16 (128 bytes)
        let header_checksum_irrelevant = ipv4(out);
        split(&["tcp", "ip proto 6"], &[&header_checksum_irrelevant], &[]);
        split(&["port 22", "tcp-syn"], &[], &[&header_checksum_irrelevant]);
    }

    #[test]
    fn protocols_and_network_protocols() {
        let t = tcp4(1, 2, |_| {});
        let u = udp6(1, 2);
        let i = icmp4(Icmpv4Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 1 }));
        let i6 = icmp6(Icmpv6Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 1 }));
        split(&["ip", "tcp", "proto 6", "ip proto tcp"], &[&t], &[&u, &i6]);
        split(&["ip6", "udp", "ip6 proto 17"], &[&u], &[&t, &i]);
        split(&["icmp", "ip proto 1", "proto 1"], &[&i], &[&t, &i6]);
        split(&["icmp6", "ip6 proto 58"], &[&i6], &[&i, &u]);
        split(&["ip proto 17", "ip6 proto 6", "arp"], &[], &[&t, &u]);
        // Without payload, the family still tells the network protocol.
        let meta = PacketRepr {
            family: Family::Ipv6,
            hw_protocol: 0x86dd,
            ..PacketRepr::default()
        };
        split(&["ip6"], &[&meta], &[]);
        split(&["ip", "tcp", "port 22", "less 100"], &[], &[&meta]);
    }

    #[test]
    fn tcp_flags_masked_and_compared() {
        let syn = tcp4(1, 2, |h| h.syn = true);
        let synack = tcp4(1, 2, |h| {
            h.syn = true;
            h.ack = true;
        });
        let rst = tcp4(1, 2, |h| h.rst = true);
        split(
            &[
                "tcp-syn",
                "tcp[tcpflags] & tcp-syn != 0",
                "tcp[13] & 2 == 2",
            ],
            &[&syn, &synack],
            &[&rst],
        );
        split(
            &[
                "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn",
                "tcp[tcpflags] == tcp-syn",
            ],
            &[&syn],
            &[&synack, &rst],
        );
        split(
            &["tcp[tcpflags] & tcp-syn == 0", "tcp-rst"],
            &[&rst],
            &[&syn, &synack],
        );
        split(
            &["tcp[tcpflags] & tcp-ack != tcp-ack"],
            &[&syn, &rst],
            &[&synack],
        );
        split(&["tcp-syn"], &[], &[&udp6(1, 2)]);
    }

    #[test]
    fn icmp_type_and_code() {
        let echo = icmp4(Icmpv4Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 1 }));
        let reply = icmp4(Icmpv4Type::EchoReply(IcmpEchoHeader { id: 1, seq: 1 }));
        let echo6 = icmp6(Icmpv6Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 1 }));
        split(
            &["icmp[icmptype] == icmp-echo", "icmp[0] = 8"],
            &[&echo],
            &[&reply, &echo6],
        );
        split(&["icmp[icmpcode] == 0"], &[&echo, &reply], &[&echo6]);
        split(
            &["icmp[icmptype] != icmp-echo"],
            &[&reply],
            &[&echo, &echo6],
        );
        split(
            &["icmp6[icmp6type] == icmp6-echo", "icmp6[icmp6code] != 1"],
            &[&echo6],
            &[&echo, &reply],
        );
    }

    #[test]
    fn less_and_greater_read_the_ip_length() {
        let t = tcp4(1, 2, |_| {}); // 20 + 20 + 10 = 50 bytes
        let u = udp6(1, 2); // 40 + 8 + 3 = 51 bytes
        split(&["less 50", "greater 50", "less 1000"], &[&t], &[]);
        split(&["less 49", "greater 51"], &[], &[&t]);
        split(&["less 51 and greater 51"], &[&u], &[&t]);
        // The copy range cut the payload: the header still says how long the packet was.
        let mut cut = t.clone();
        cut.payload.as_mut().unwrap().truncate(20);
        split(&["greater 50"], &[&cut], &[]);
        // Only IP has a length field, as in the kernel rule: an ARP packet matches neither.
        let mut arp = vec![0, 1, 8, 0, 6, 4, 0, 1];
        arp.extend_from_slice(&[2, 0, 0, 0, 0, 1, 192, 0, 2, 1]);
        arp.extend_from_slice(&[0, 0, 0, 0, 0, 0, 192, 0, 2, 2]);
        let arp = PacketRepr {
            family: Family::Arp,
            hw_protocol: 0x0806,
            payload: Some(arp),
            ..PacketRepr::default()
        };
        split(&["arp"], &[&arp], &[]);
        split(&["less 1000", "greater 0"], &[], &[&arp]);
    }

    #[test]
    fn vlan_reads_the_tag_the_kernel_took_out() {
        let mut tagged = tcp4(1, 2, |_| {});
        tagged.family = Family::Bridge;
        tagged.l2hdr = Some(vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0]);
        tagged.vlan = Some(Vlan {
            proto: 0x8100,
            tci: 0x2064,
        });
        let mut untagged = tagged.clone();
        untagged.vlan = None;
        split(
            &["vlan", "vlan 100", "vlan 5 or 100"],
            &[&tagged],
            &[&untagged],
        );
        split(&["vlan 101"], &[], &[&tagged, &untagged]);
    }

    #[test]
    fn mark_uid_gid_and_interfaces_come_from_attributes() {
        let mut r = tcp4(1, 2, |_| {});
        let bare = r.clone();
        r.mark = Some(0x1234);
        r.uid = Some(1000);
        r.gid = Some(100);
        r.indev = Some(2);
        r.outdev = Some(3);
        split(
            &["mark 0x1234", "mark 0x4/0xf", "skuid 1000", "skgid 100"],
            &[&r],
            &[&bare],
        );
        split(
            &[
                "iif eth0",
                "iif eth*",
                "oif veth1",
                "oif v*",
                "iif eth1 or eth0",
            ],
            &[&r],
            &[&bare],
        );
        split(
            &["iif lo", "oif eth0", "iif eth0x", "mark 0x1235", "skuid 0"],
            &[],
            &[&r, &bare],
        );
        // No NFULA_MARK: the mark is 0.
        split(&["mark 0", "mark 0/0xff"], &[&bare], &[&r]);
        // An interface the resolver cannot name does not match.
        let bytes = r.to_bytes();
        let packet = Packet::parse(&bytes).unwrap();
        assert!(!p("iif eth0").matches(&packet, &mut Numeric));
        assert!(p("not iif eth0").matches(&packet, &mut Numeric));
    }

    #[test]
    fn ct_state_reads_ct_info_and_needs_it() {
        let mut new = tcp4(1, 2, |_| {});
        let none = new.clone();
        new.ct_info = Some(2);
        let mut reply = none.clone();
        reply.ct_info = Some(3); // IP_CT_ESTABLISHED_REPLY
        let mut related = none.clone();
        related.ct_info = Some(4);
        split(
            &["ct state new", "ct state new,related"],
            &[&new],
            &[&reply, &none],
        );
        split(
            &["ct state new,established"],
            &[&new, &reply],
            &[&related, &none],
        );
        split(
            &["ct state established"],
            &[&reply],
            &[&new, &related, &none],
        );
        split(&["ct state related"], &[&related], &[&new, &reply, &none]);
        split(
            &["ct state invalid,untracked"],
            &[],
            &[&new, &reply, &related, &none],
        );
    }

    #[test]
    fn combinations_follow_the_tree() {
        let t = tcp4(1000, 22, |h| h.syn = true);
        let u = udp6(53, 2000);
        split(
            &[
                "tcp and port 22",
                "udp or port 22",
                "not udp and tcp-syn",
                "(udp or tcp) and not port 23",
            ],
            &[&t],
            &[],
        );
        split(&["tcp or udp and port 53"], &[&u], &[&t]);
        split(&["tcp or (udp and port 53)"], &[&u, &t], &[]);
    }
}

proptest! {
    #[test]
    fn matching_never_panics(
        e in expr(),
        payload in proptest::collection::vec(any::<u8>(), 0..96),
        family in prop_oneof![Just(2u8), Just(10), Just(7), Just(5), Just(3)],
        hook in 0u8..5,
        ct_info in proptest::option::of(0u32..8),
        indev in proptest::option::of(0u32..4),
    ) {
        let repr = crate::wire::packet::PacketRepr {
            family: crate::wire::family::Family::from_number(family),
            hook,
            ct_info,
            indev,
            payload: Some(payload),
            ..Default::default()
        };
        let bytes = repr.to_bytes();
        let packet = crate::wire::packet::Packet::parse(&bytes).unwrap();
        let _ = e.matches(&packet, &mut crate::format::Numeric);
    }
}

mod compiler {
    use super::*;
    use crate::nft::{CmpOp, Expr as NftExpr, MetaKey, PayloadBase, Register, SetElem};
    use crate::wire::family::Family;

    fn rules(expr: &str, family: Family) -> Vec<String> {
        let compiled = compile(&p(expr), family).unwrap_or_else(|e| panic!("{expr}: {e}"));
        compiled.rules.into_iter().map(|r| r.text).collect()
    }

    fn inet(expr: &str) -> Vec<String> {
        rules(expr, Family::Inet)
    }

    #[test]
    fn tcp_flags_equal_to_a_flag_print_as_equality_not_nfts_any_of() {
        // nft reads `tcp flags rst` as `tcp flags & rst != 0`: any packet with RST.
        assert_eq!(
            inet("tcp[tcpflags] == tcp-rst"),
            ["meta l4proto 6 tcp flags == rst"]
        );
    }

    #[test]
    fn vlan_ids_print_as_the_outer_tag_nft_reads_back() {
        // `ether type { 8021q, 8021ad } vlan id 100` is @ll,144 in nft 1.0.6: the inner tag.
        assert_eq!(
            rules("vlan 100 or vlan 200", Family::Netdev),
            ["ether type { 0x8100, 0x88a8 } @ll,112,16 & 0xfff == { 100, 200 }"]
        );
    }

    #[test]
    fn set_ids_are_renumbered_for_a_shared_batch() {
        let compiled = compile(
            &p("tcp dst port 22 or tcp dst port 80 or udp src port 53 or 54"),
            Family::Inet,
        )
        .unwrap();
        let elements: Vec<_> = compiled
            .rules
            .iter()
            .flat_map(|r| &r.sets)
            .cloned()
            .collect();
        let filter = compiled.into_filter(7);
        assert_eq!(filter.alternatives.len(), 2);
        let ids: Vec<u32> = filter.sets.iter().map(|s| s.id).collect();
        assert_eq!(ids, [7, 8]);
        // Renumbered, and nothing else changed.
        for (set, before) in filter.sets.iter().zip(&elements) {
            assert_eq!(
                (set.key_type, set.key_len, &set.elements),
                (before.key_type, before.key_len, &before.elements)
            );
        }
        let lookups: Vec<_> = filter
            .alternatives
            .iter()
            .flatten()
            .filter_map(|e| match e {
                NftExpr::Lookup { set_id, .. } => *set_id,
                _ => None,
            })
            .collect();
        assert_eq!(lookups, [7, 8]);
    }

    #[test]
    fn primitives_get_nfts_dependencies_first() {
        assert_eq!(
            inet("src host 10.0.0.1"),
            ["meta nfproto ipv4 ip saddr 10.0.0.1"]
        );
        assert_eq!(
            inet("dst net 2001:db8::/32"),
            ["meta nfproto ipv6 ip6 daddr 2001:db8::/32"]
        );
        assert_eq!(inet("tcp dst port 22"), ["meta l4proto 6 th dport 22"]);
        assert_eq!(inet("tcp-syn"), ["meta l4proto 6 tcp flags & syn != 0x0"]);
        assert_eq!(
            inet("icmp[icmptype] == icmp-echo"),
            ["meta nfproto ipv4 meta l4proto 1 icmp type 8"]
        );
        assert_eq!(inet("icmp6"), ["meta nfproto ipv6 meta l4proto 58"]);
        assert_eq!(
            inet("mark 0x10/0xff"),
            ["meta mark & 0x000000ff == 0x00000010"]
        );
        assert_eq!(inet("iif eth*"), ["iifname \"eth*\""]);
        assert_eq!(
            inet("ct state new,established"),
            ["ct state established,new"]
        );
        assert_eq!(inet("skuid 1000"), ["meta skuid 1000"]);
        // In the ip family, IPv4 needs no test.
        assert_eq!(rules("host 10.0.0.1 and tcp", Family::Ipv4).len(), 2);
        assert_eq!(
            rules("src host 10.0.0.1", Family::Ipv4),
            ["ip saddr 10.0.0.1"]
        );
        assert_eq!(
            rules("vlan 100", Family::Bridge),
            ["ether type { 0x8100, 0x88a8 } @ll,112,16 & 0xfff == 100"]
        );
        assert_eq!(rules("ip6", Family::Netdev), ["meta protocol 0x86dd"]);
    }

    #[test]
    fn alternatives_of_one_field_become_a_set() {
        assert_eq!(
            inet("tcp dst port 22 or 80 or 443"),
            ["meta l4proto 6 th dport { 22, 80, 443 }"]
        );
        assert_eq!(
            inet("port 53"),
            [
                "meta l4proto { 6, 17, 132 } th sport 53",
                "meta l4proto { 6, 17, 132 } th dport 53"
            ]
        );
        assert_eq!(
            inet("src net 10.0.0.0/8 or 192.168.0.0/16 or src host 172.16.0.1"),
            ["meta nfproto ipv4 ip saddr { 172.16.0.1, 10.0.0.0/8, 192.168.0.0/16 }"]
        );
        assert_eq!(
            inet("tcp dst portrange 6000-6010 or tcp dst port 22"),
            ["meta l4proto 6 th dport { 22, 6000-6010 }"]
        );
        assert_eq!(inet("iif eth0 or lo"), ["iifname { \"eth0\", \"lo\" }"]);
        assert_eq!(inet("tcp or udp"), ["meta l4proto { 6, 17 }"]);
        // The same alternative twice is one rule.
        assert_eq!(inet("tcp or tcp"), ["meta l4proto 6"]);
    }

    #[test]
    fn a_negation_also_matches_packets_without_the_data() {
        assert_eq!(
            inet("not host 10.0.0.1"),
            [
                "meta nfproto != ipv4",
                "meta nfproto ipv4 ip saddr != 10.0.0.1 ip daddr != 10.0.0.1"
            ]
        );
        assert_eq!(
            inet("not tcp port 22"),
            [
                "meta l4proto != 6",
                "meta l4proto 6 th sport != 22 th dport != 22"
            ]
        );
        assert_eq!(inet("not ct state new"), ["ct state & (new) == 0"]);
        assert_eq!(inet("not iif eth0"), ["iifname != \"eth0\""]);
        assert_eq!(
            inet("tcp and not tcp-syn"),
            ["meta l4proto 6 tcp flags & syn == 0x0"]
        );
    }

    #[test]
    fn contradictions_are_dropped_and_tautologies_match_all() {
        assert_eq!(inet("ip and ip6").len(), 0);
        assert_eq!(inet("tcp and udp").len(), 0);
        assert_eq!(inet("ip or ip6"), ["meta nfproto { ipv4, ipv6 }"]);
        assert_eq!(inet("net 0.0.0.0/0"), ["meta nfproto ipv4"]);
        assert_eq!(rules("ip", Family::Ipv4), [""]);
    }

    #[test]
    fn less_and_greater_read_the_ip_length_fields() {
        assert_eq!(
            inet("less 100"),
            [
                "meta nfproto ipv4 ip length 0-100",
                "meta nfproto ipv6 ip6 length 0-60"
            ]
        );
        assert_eq!(
            inet("greater 30"),
            ["meta nfproto ipv4 ip length 30-65535", "meta nfproto ipv6"]
        );
        let e = compile(&p("less 30"), Family::Ipv6).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`less 30` cannot match any packet of family ip6"
        );
    }

    #[test]
    fn the_family_decides_what_can_match() {
        let e = compile(&p("vlan 5"), Family::Inet).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`vlan 5` cannot match any packet of family inet"
        );
        let e = compile(&p("tcp and ip6"), Family::Ipv4).unwrap_err();
        assert_eq!(e.to_string(), "`ip6` cannot match any packet of family ip");
        let e = compile(&p("port 22"), Family::Arp).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`port 22` cannot match any packet of family arp"
        );
        assert_eq!(rules("arp", Family::Arp), [""]);
        assert_eq!(rules("arp", Family::Bridge), ["meta protocol 0x0806"]);
        assert_eq!(rules("mark 1 and iif eth0", Family::Arp).len(), 1);
    }

    #[test]
    fn what_cannot_be_a_kernel_rule_is_an_error() {
        let e = compile(&p("not skuid 0"), Family::Inet).unwrap_err();
        assert!(matches!(e, CompileError::Negated { .. }), "{e}");
        assert!(e
            .to_string()
            .starts_with("`not skuid 0` cannot be a kernel rule"));
        // 2^9 alternatives that no set can fold.
        let many = (0..9)
            .map(|i| format!("(mark {0:#x}/{0:#x} or tcp-syn)", 1 << i))
            .collect::<Vec<_>>()
            .join(" and ");
        let e = compile(&p(&many), Family::Inet).unwrap_err();
        assert!(matches!(e, CompileError::TooManyRules { .. }), "{e}");
    }

    #[test]
    fn rules_load_compare_and_look_up() {
        let c = compile(&p("tcp dst port 22 or 80"), Family::Inet).unwrap();
        let [rule] = c.rules.as_slice() else {
            panic!("{c:?}")
        };
        assert_eq!(rule.sets.len(), 1);
        let set = &rule.sets[0];
        assert_eq!((set.id, set.key_type, set.key_len), (1, 13, 2));
        assert_eq!(
            set.elements,
            [SetElem::Value(vec![0, 22]), SetElem::Value(vec![0, 80])]
        );
        assert_eq!(
            rule.exprs,
            [
                NftExpr::Meta {
                    key: MetaKey::L4Proto,
                    dreg: Register::R1
                },
                NftExpr::Cmp {
                    sreg: Register::R1,
                    op: CmpOp::Eq,
                    data: vec![6]
                },
                NftExpr::Payload {
                    base: PayloadBase::Transport,
                    offset: 2,
                    len: 2,
                    dreg: Register::R1
                },
                NftExpr::Lookup {
                    sreg: Register::R1,
                    set: "__set%d".into(),
                    set_id: Some(1),
                    invert: false
                },
            ]
        );
        // Ids are unique across the rules.
        let c = compile(&p("port 22 or 80"), Family::Inet).unwrap();
        let ids: Vec<u32> = c
            .rules
            .iter()
            .flat_map(|r| r.sets.iter().map(|s| s.id))
            .collect();
        assert_eq!(ids, [1, 2, 3, 4]);
    }

    proptest! {
        #[test]
        fn compiling_never_panics(e in expr(), family in prop_oneof![
            Just(Family::Inet), Just(Family::Ipv4), Just(Family::Ipv6), Just(Family::Bridge),
            Just(Family::Netdev), Just(Family::Arp)
        ]) {
            if let Ok(c) = compile(&e, family) {
                prop_assert!(c.rules.len() <= MAX_RULES);
                for rule in &c.rules {
                    for x in &rule.exprs {
                        prop_assert!(x.validate().is_ok(), "{:?}", x);
                    }
                }
            }
        }
    }
}
