//! Traffic the tests log, all on loopback (or `::1`) of the test's own namespace.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6, TcpStream, UdpSocket};
use std::time::Duration;

/// A ruleset that logs UDP to each `(port, group)` on the output hook.
pub fn log_ports(rules: &[(u16, u16)]) -> String {
    let lines: String = rules
        .iter()
        .map(|(port, group)| format!("udp dport {port} log group {group}\n"))
        .collect();
    format!(
        "table inet t {{\n chain out {{\n type filter hook output priority 0;\n{lines} }}\n}}\n"
    )
}

/// Sends `count` UDP datagrams of `payload` from an ephemeral port to `to` (loopback).
pub fn send_udp(to: &str, payload: &[u8], count: usize) {
    let bind = if to.starts_with('[') {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    };
    let socket = UdpSocket::bind(bind).expect("bind UDP sender");
    for _ in 0..count {
        socket.send_to(payload, to).expect("send UDP");
    }
}

/// Sends a UDP datagram from an ephemeral port to 127.0.0.1:`port`.
pub fn udp4(port: u16, payload: &[u8]) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP");
    socket
        .send_to(payload, (Ipv4Addr::LOCALHOST, port))
        .expect("send UDP");
}

/// Sends a UDP datagram from an ephemeral port to `[::1]:port`.
pub fn udp6(port: u16, payload: &[u8]) {
    let socket = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).expect("bind UDP6");
    socket
        .send_to(payload, (Ipv6Addr::LOCALHOST, port))
        .expect("send UDP6");
}

/// Sends one TCP SYN to 127.0.0.1:`port`, where nothing listens: the kernel answers with a
/// RST, so there is no retransmission.
pub fn tcp_syn(port: u16) {
    let refused =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(5));
    assert!(refused.is_err(), "something listens on port {port}");
}

/// Sends one ICMP echo request (id 0x1234, seq 1) to 127.0.0.1 over a raw socket; the
/// kernel answers it.
pub fn ping4() {
    use rustix::net::{ipproto, socket, AddressFamily, SendFlags, SocketType};
    let fd = socket(AddressFamily::INET, SocketType::RAW, Some(ipproto::ICMP)).expect("ICMP");
    let mut echo = *b"\x08\x00\x00\x00\x12\x34\x00\x01pingdata";
    let sum = checksum(&echo);
    echo[2..4].copy_from_slice(&sum.to_be_bytes());
    rustix::net::sendto(
        &fd,
        &echo,
        SendFlags::empty(),
        &SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
    )
    .expect("send ICMP echo");
}

/// Sends one ICMPv6 echo request (id 0x1234, seq 1) to ::1 (the kernel computes the
/// checksum of ICMPv6 raw sockets).
pub fn ping6() {
    use rustix::net::{ipproto, socket, AddressFamily, SendFlags, SocketType};
    let fd = socket(AddressFamily::INET6, SocketType::RAW, Some(ipproto::ICMPV6)).expect("ICMPv6");
    let echo = *b"\x80\x00\x00\x00\x12\x34\x00\x01pingdata";
    rustix::net::sendto(
        &fd,
        &echo,
        SendFlags::empty(),
        &SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0),
    )
    .expect("send ICMPv6 echo");
}

/// The Internet checksum (RFC 1071).
pub fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The mixed traffic several tests log: UDP over IPv4 and IPv6 to port 40000, a TCP SYN to
/// the closed port 5555, ICMP and ICMPv6 echo requests. Each is one packet at OUTPUT and
/// one at INPUT for the rules of [`mixed_rules`].
pub fn mixed_traffic() {
    udp4(40000, b"hello");
    udp6(40000, b"hello6");
    tcp_syn(5555);
    ping4();
    ping6();
}

/// How many packets [`mixed_traffic`] makes at one hook.
pub const MIXED_PACKETS: usize = 5;

/// nftables rules matching each packet of [`mixed_traffic`] once at `hook`, then applying
/// `action` (such as `log group 5 prefix "in"`) to it.
pub fn mixed_rules(hook: &str, action: &str) -> String {
    format!(
        "  chain {hook} {{\n    type filter hook {hook} priority 0; policy accept;\n\
         \x20   meta l4proto udp udp dport 40000 {action}\n\
         \x20   tcp dport 5555 {action}\n\
         \x20   icmp type echo-request {action}\n\
         \x20   icmpv6 type echo-request {action}\n  }}\n"
    )
}

/// The packets [`sink_mix`] makes that the rules of [`sink_mix_rules`] log at INPUT.
pub const SINK_MIX_PACKETS: usize = 19;

/// The traffic the sink tests log (SQLite, PostgreSQL, ClickHouse, syslog), on loopback:
/// five UDP datagrams over IPv4 and four over IPv6 to port 40000 (nobody listens); an ICMP
/// and an ICMPv6 echo request, each answered by the kernel; a TCP exchange on port 5556
/// (connect, "ping", "pong", both ends close). [`sink_mix_rules`] logs 19 packets of it at
/// INPUT: the nine datagrams, the two requests and two replies, and the six TCP segments
/// that carry SYN, PSH or FIN (the pure ACKs, whose number the kernel's delayed and quick
/// acknowledgements decide, are left out).
pub fn sink_mix() {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    for i in 0..5u8 {
        udp4(40000, &[b'v', b'4', b'0' + i]);
    }
    for i in 0..4u8 {
        udp6(40000, &[b'v', b'6', b'0' + i]);
    }
    ping4();
    ping6();
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 5556)).expect("listen on 5556");
    let server = std::thread::spawn(move || {
        let (mut peer, _) = listener.accept().expect("accept");
        let mut ping = [0u8; 4];
        peer.read_exact(&mut ping).expect("read ping");
        peer.write_all(b"pong").expect("write pong");
        // Until the client's FIN, then our own.
        let mut rest = Vec::new();
        peer.read_to_end(&mut rest).expect("read to the end");
    });
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, 5556)).expect("connect to 5556");
    client.write_all(b"ping").expect("write ping");
    let mut pong = [0u8; 4];
    client.read_exact(&mut pong).expect("read pong");
    drop(client);
    server.join().expect("the TCP server");
}

/// nftables rules logging the 19 packets of [`sink_mix`] at INPUT with `action` (such as
/// `log group 5`), in a chain `input` of the table they go in.
pub fn sink_mix_rules(action: &str) -> String {
    format!(
        "  chain input {{\n    type filter hook input priority 0; policy accept;\n\
         \x20   meta l4proto udp udp dport 40000 {action}\n\
         \x20   tcp dport 5556 tcp flags & (fin | syn | psh) != 0 {action}\n\
         \x20   tcp sport 5556 tcp flags & (fin | syn | psh) != 0 {action}\n\
         \x20   icmp type {{ echo-request, echo-reply }} {action}\n\
         \x20   icmpv6 type {{ echo-request, echo-reply }} {action}\n  }}\n"
    )
}
