//! Packets logged by the real kernel, decoded: a TCP handshake and an ICMP echo exchange on
//! loopback, in a private network namespace.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::time::Duration;

use nflog::decode::{decode, Network, Tcp, Transport};
use nflog::Listener;
use support::{checksum, collect, in_netns, nft, privileged};

#[test]
fn tcp_handshake_is_decoded() {
    if !privileged("tcp_handshake_is_decoded") {
        return;
    }
    in_netns(|| {
        let mut listener = Listener::bind(90).unwrap();
        nft(r#"
            table inet t {
                chain in {
                    type filter hook input priority 0;
                    tcp dport 7090 log group 90;
                    tcp sport 7090 log group 90;
                }
            }
        "#);
        let server = TcpListener::bind((Ipv4Addr::LOCALHOST, 7090)).unwrap();
        let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, 7090)).unwrap();
        let client_port = client.local_addr().unwrap().port();
        let (mut accepted, _) = server.accept().unwrap();
        client.write_all(b"hello").unwrap();
        let mut got = [0u8; 5];
        accepted.read_exact(&mut got).unwrap();

        // SYN, SYN/ACK, ACK, then the data segment (and the server's ACK of it, maybe in
        // the same batch).
        let packets = collect(&mut listener, 4, Duration::from_secs(5));
        assert!(
            packets.len() >= 4,
            "SYN, SYN/ACK, ACK and data arrive: {}",
            packets.len()
        );
        let tcp: Vec<Tcp> = packets
            .iter()
            .map(|c| {
                let d = decode(&c.view());
                assert!(d.cut.is_none(), "whole packets: {d:?}");
                let Some(Network::Ipv4(ip)) = d.network else {
                    panic!("IPv4 expected: {d:?}")
                };
                assert_eq!(ip.protocol, 6);
                assert_eq!((ip.src, ip.dst), (Ipv4Addr::LOCALHOST, Ipv4Addr::LOCALHOST));
                match d.transport {
                    Some(Transport::Tcp(tcp)) => tcp,
                    other => panic!("TCP expected: {other:?}"),
                }
            })
            .collect();
        let (syn, syn_ack, ack, data) = (tcp[0], tcp[1], tcp[2], tcp[3]);
        assert_eq!((syn.src_port, syn.dst_port), (client_port, 7090));
        assert_eq!(syn.flags & (Tcp::SYN | Tcp::ACK), Tcp::SYN);
        assert!(syn.options_len > 0, "a SYN carries MSS and more");
        assert_eq!((syn_ack.src_port, syn_ack.dst_port), (7090, client_port));
        assert_eq!(syn_ack.flags & (Tcp::SYN | Tcp::ACK), Tcp::SYN | Tcp::ACK);
        assert_eq!(
            syn_ack.ack_seq,
            syn.seq.wrapping_add(1),
            "SYN/ACK acknowledges the SYN"
        );
        assert_eq!(ack.flags & (Tcp::SYN | Tcp::ACK), Tcp::ACK);
        assert_eq!(ack.seq, syn.seq.wrapping_add(1));
        assert_eq!(
            ack.ack_seq,
            syn_ack.seq.wrapping_add(1),
            "ACK acknowledges the SYN/ACK"
        );
        assert!(data.has(Tcp::PSH) && data.has(Tcp::ACK));
        assert_eq!(data.seq, ack.seq);
        let payload = packets[3].view().payload().unwrap().to_vec();
        let header_len = 20 + usize::from(data.data_offset) * 4;
        assert_eq!(&payload[header_len..], b"hello");
    });
}

#[test]
fn icmp_echo_is_decoded() {
    if !privileged("icmp_echo_is_decoded") {
        return;
    }
    in_netns(|| {
        use rustix::net::{ipproto, sendto, socket, AddressFamily, SendFlags, SocketType};
        let mut listener = Listener::bind(91).unwrap();
        nft(r#"
            table inet t {
                chain in {
                    type filter hook input priority 0;
                    icmp type { echo-request, echo-reply } log group 91;
                }
            }
        "#);
        let fd = socket(AddressFamily::INET, SocketType::RAW, Some(ipproto::ICMP)).unwrap();
        let mut echo = [8u8, 0, 0, 0, 0x0b, 0xad, 0x00, 0x07, b'p', b'i', b'n', b'g'];
        let sum = checksum(&echo);
        echo[2..4].copy_from_slice(&sum.to_be_bytes());
        let to = std::net::SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
        sendto(&fd, &echo, SendFlags::empty(), &to).unwrap();

        let packets = collect(&mut listener, 2, Duration::from_secs(5));
        assert_eq!(packets.len(), 2, "the request and the kernel's reply");
        let kinds: Vec<EchoSeen> = packets
            .iter()
            .map(|c| match decode(&c.view()).transport {
                Some(Transport::Icmpv4(icmp)) => (icmp.icmp_type, icmp.code, icmp.echo(false)),
                other => panic!("ICMP expected: {other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            vec![(8, 0, Some((0x0bad, 7))), (0, 0, Some((0x0bad, 7)))],
            "request then reply, same identifier and sequence"
        );
    });
}

/// ICMP type, code, and echo identifier and sequence, as decoded.
type EchoSeen = (u8, u8, Option<(u16, u16)>);
