//! Conntrack against the real kernel: what a group that asks for conntrack entries (flag
//! CONNTRACK) gets, and the conntrack parser on entries the kernel itself built.
//!
//! nfnetlink_log attaches `NFULA_CT` only when the kernel was built with
//! `CONFIG_NETFILTER_NETLINK_GLUE_CT`; otherwise its config handler answers the flag with
//! EOPNOTSUPP before it looks at the command (nfnetlink_log.c: `nfulnl_recv_config`, "Check
//! if we support these flags in first place"). Which of the two this kernel does is found
//! by binding; `/proc/config.gz`, when there, must agree.
//!
//! The `CTA_*` attributes inside `NFULA_CT` come from the same ctnetlink helpers as a
//! ctnetlink dump's (nf_conntrack_netlink.c: `__ctnetlink_glue_build` calls
//! `ctnetlink_dump_tuples`, `ctnetlink_dump_status`, ...), so a dump proves the parser on
//! live kernel output even where NFLOG cannot attach entries.
//!
//! Every test runs in a private network namespace of its own, with its own nftables rules
//! and its own traffic on loopback.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

use nflog::conntrack::{Conntrack, CtInfo, Status};
use nflog::wire::{emit_header, Messages, NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLM_F_REQUEST};
use nflog::{group_bindings, Error, Flags, GroupConfig, Listener, Request, Socket};
use support::{collect, in_netns, nft, privileged, Captured};

const GROUP: u16 = 21;
const LOCALHOST: Option<IpAddr> = Some(IpAddr::V4(Ipv4Addr::LOCALHOST));

/// A group configuration asking for conntrack entries, sending each packet at once.
fn conntrack_config() -> GroupConfig {
    GroupConfig::new()
        .flags(Flags::CONNTRACK)
        .queue_threshold(1)
}

/// What `/proc/config.gz` says about `CONFIG_NETFILTER_NETLINK_GLUE_CT`, if it is there.
fn kernel_config_has_glue_ct() -> Option<bool> {
    let out = Command::new("zcat").arg("/proc/config.gz").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("CONFIG_NETFILTER_NETLINK_GLUE_CT=y") {
        Some(true)
    } else if text.contains("# CONFIG_NETFILTER_NETLINK_GLUE_CT is not set") {
        Some(false)
    } else {
        None
    }
}

/// Whether `group` is bound in this thread's network namespace.
fn bound(group: u16) -> bool {
    group_bindings()
        .expect("read /proc/net/netfilter/nfnetlink_log")
        .iter()
        .any(|b| b.group == group)
}

/// Checks the error a CONNTRACK request gets from a kernel without NETLINK_GLUE_CT: a bind
/// (which carries the settings in the same request) or a configure of a bound group.
fn assert_unsupported(e: &Error, expected: Request) {
    let Error::Unsupported {
        request,
        what,
        errno,
    } = e
    else {
        panic!("expected Error::Unsupported, got {e:?}: {e}");
    };
    assert_eq!(*request, expected);
    assert_eq!(*errno, libc::EOPNOTSUPP, "{e}");
    assert_eq!(e.raw_os_error(), Some(libc::EOPNOTSUPP));
    assert!(what.contains("CONFIG_NETFILTER_NETLINK_GLUE_CT"), "{what}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot {expected}: the kernel lacks conntrack support for NFLOG"
        )),
        "{text}"
    );
    // It says what a user can do about it.
    assert!(text.contains("use a kernel built with it"), "{text}");
    assert!(text.contains("Flags::CONNTRACK"), "{text}");
}

#[test]
fn conntrack_flag_without_glue_ct_is_unsupported_and_binds_nothing() {
    if !privileged("conntrack_flag_without_glue_ct_is_unsupported_and_binds_nothing") {
        return;
    }
    in_netns(|| {
        let config = kernel_config_has_glue_ct();
        let listener = Listener::builder()
            .group(GROUP)
            .config(conntrack_config())
            .bind();
        let e = match listener {
            Ok(_) => {
                assert_ne!(
                    config,
                    Some(false),
                    "bound with CONNTRACK, but /proc/config.gz lacks GLUE_CT"
                );
                eprintln!(
                    "this kernel attaches conntrack entries to NFLOG: \
                     conntrack_entries_follow_a_tcp_connection tests them"
                );
                return;
            }
            Err(e) => e,
        };
        assert_ne!(config, Some(true), "GLUE_CT built in, yet: {e}");
        assert_unsupported(&e, Request::Bind);
        assert!(!bound(GROUP), "a failed bind left group {GROUP} bound");

        // The same with the socket alone, which stays open: the group is unbound again
        // and free for a bind without the flag.
        let mut socket = Socket::open().unwrap();
        assert_unsupported(
            &socket.bind_group(GROUP, &conntrack_config()).unwrap_err(),
            Request::Bind,
        );
        assert!(!bound(GROUP));
        socket.bind_group(GROUP, &GroupConfig::new()).unwrap();
        let binding = group_bindings()
            .unwrap()
            .into_iter()
            .find(|b| b.group == GROUP)
            .expect("bound without the flag");
        assert_eq!(binding.port_id, socket.port_id());

        // Asking for the flag on a bound group fails alike and leaves the group bound.
        assert_unsupported(
            &socket
                .configure_group(GROUP, &conntrack_config())
                .unwrap_err(),
            Request::Configure,
        );
        assert!(bound(GROUP));
        // The other flags alone are fine.
        socket
            .configure_group(
                GROUP,
                &GroupConfig::new().flags(Flags::SEQ | Flags::SEQ_GLOBAL),
            )
            .unwrap();
    });
}

/// The TCP ports and flags of a logged IPv4 packet's payload.
fn tcp_of(packet: &Captured) -> (u16, u16, u8) {
    let packet = packet.view();
    let ip = packet.payload().expect("payload copied");
    assert_eq!(ip[0] >> 4, 4, "an IPv4 packet");
    let tcp = &ip[usize::from(ip[0] & 0x0f) * 4..];
    (
        u16::from_be_bytes([tcp[0], tcp[1]]),
        u16::from_be_bytes([tcp[2], tcp[3]]),
        tcp[13],
    )
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

#[test]
fn conntrack_entries_follow_a_tcp_connection() {
    if !privileged("conntrack_entries_follow_a_tcp_connection") {
        return;
    }
    in_netns(|| {
        // The `ct state` match is what makes the kernel track connections in this
        // namespace at all: conntrack registers its hooks in a network namespace only once
        // a rule there needs it (nf_ct_netns_get), and a `log` rule alone does not. Without
        // it the packets carry no entry and NFULA_CT is absent (seen on Debian's 6.1).
        nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n \
             tcp dport 7777 ct state new,established log group 21\n \
             tcp sport 7777 ct state new,established log group 21\n }\n}\n",
        );
        let mut listener = match Listener::builder()
            .group(GROUP)
            .config(conntrack_config())
            .bind()
        {
            Ok(listener) => listener,
            Err(e @ Error::Unsupported { .. }) => {
                eprintln!(
                    "NOT TESTED conntrack_entries_follow_a_tcp_connection: this kernel cannot \
                     attach conntrack entries to NFLOG ({e}); \
                     conntrack_flag_without_glue_ct_is_unsupported_and_binds_nothing proves that"
                );
                return;
            }
            Err(e) => panic!("bind with CONNTRACK: {e}"),
        };

        let server = TcpListener::bind("127.0.0.1:7777").unwrap();
        let mut client = TcpStream::connect("127.0.0.1:7777").unwrap();
        let client_port = client.local_addr().unwrap().port();
        let (mut accepted, _) = server.accept().unwrap();
        client.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        accepted.read_exact(&mut buf).unwrap();
        accepted.write_all(b"ho").unwrap();
        client.read_exact(&mut buf).unwrap();

        // SYN, SYN-ACK, ACK, "hi", "ho", and the ACKs of "hi" and "ho" unless delayed.
        let got = collect(&mut listener, 7, Duration::from_secs(2));
        assert!(got.len() >= 5, "got {} packets", got.len());

        let mut ids = Vec::new();
        for (i, captured) in got.iter().enumerate() {
            let packet = captured.view();
            let ct = Conntrack::from_packet(&packet)
                .expect("NFULA_CT parses")
                .unwrap_or_else(|| panic!("packet {i} lacks NFULA_CT"));
            let info = CtInfo::from_packet(&packet).expect("NFULA_CT_INFO");
            let (sport, dport, flags) = tcp_of(captured);
            let original = ct.original().expect("CTA_TUPLE_ORIG");
            let reply = ct.reply().expect("CTA_TUPLE_REPLY");
            assert_eq!((original.src, original.dst), (LOCALHOST, LOCALHOST));
            assert_eq!(original.protocol, Some(6));
            assert_eq!(
                (original.src_port, original.dst_port),
                (Some(client_port), Some(7777))
            );
            assert_eq!(
                (reply.src_port, reply.dst_port),
                (Some(7777), Some(client_port))
            );
            let status = ct.status().expect("CTA_STATUS");
            ids.push(ct.id().expect("CTA_ID"));
            assert!(ct.timeout().is_some(), "CTA_TIMEOUT");
            // ctnetlink_glue_build sends no CTA_USE.
            assert_eq!(ct.use_count(), None);

            let from_client = sport == client_port;
            if i == 0 {
                assert_eq!(flags & (SYN | ACK), SYN, "the first packet is the SYN");
                assert_eq!(info, CtInfo::New);
                // At OUTPUT the entry is not confirmed yet (that happens at POSTROUTING),
                // and no reply has been seen.
                assert!(!status.contains(Status::CONFIRMED), "{status}");
                assert!(!status.contains(Status::SEEN_REPLY), "{status}");
            } else if from_client {
                assert_eq!(info, CtInfo::Established, "packet {i}");
                assert!(status.contains(Status::SEEN_REPLY | Status::CONFIRMED));
            } else {
                assert_eq!(dport, client_port);
                assert_eq!(info, CtInfo::EstablishedReply, "packet {i}");
                assert!(info.is_reply());
                assert!(status.contains(Status::SEEN_REPLY | Status::CONFIRMED));
            }
        }
        assert!(
            ids.windows(2).all(|w| w[0] == w[1]),
            "one connection, one id: {ids:?}"
        );
        // What ctnetlink reports for the entry is what NFLOG attached: the same id,
        // tuples and status. Nothing changes the entry after the last logged packet: at
        // OUTPUT conntrack has seen the packet before the rule logs it, and on loopback the
        // packet keeps its entry, so PREROUTING does not process it again.
        let last = Conntrack::from_packet(&got[got.len() - 1].view())
            .unwrap()
            .unwrap();
        let entries = ctnetlink_dump();
        let dumped = entries
            .iter()
            .map(|e| Conntrack::parse(e).expect("a live entry parses"))
            .find(|ct| ct.id() == Some(ids[0]))
            .unwrap_or_else(|| panic!("ctnetlink has no entry with id {:#x}", ids[0]));
        assert_eq!(dumped.original(), last.original());
        assert_eq!(dumped.reply(), last.reply());
        assert_eq!(dumped.status(), last.status());
        assert_eq!(dumped.mark(), last.mark());
        let infos: Vec<_> = got
            .iter()
            .map(|c| CtInfo::from_packet(&c.view()).unwrap())
            .collect();
        assert_eq!(
            &infos[..3],
            [CtInfo::New, CtInfo::EstablishedReply, CtInfo::Established]
        );
    });
}

/// `nlmsg_type` of a ctnetlink GET: `NFNL_SUBSYS_CTNETLINK (1) << 8 | IPCTNL_MSG_CT_GET (1)`.
const CT_GET: u16 = 1 << 8 | 1;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
const NLM_F_DUMP: u16 = 0x300;

/// Dumps the conntrack table of this thread's namespace over ctnetlink; returns each
/// entry's attributes (the message body after its nfgenmsg).
fn ctnetlink_dump() -> Vec<Vec<u8>> {
    use rustix::net::netlink::{SocketAddrNetlink, NETFILTER};
    use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(NETFILTER),
    )
    .expect("NETLINK_NETFILTER socket");
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 0)).unwrap();
    rustix::net::connect(&fd, &SocketAddrNetlink::new(0, 0)).unwrap();
    let mut request = Vec::new();
    emit_header(
        &mut request,
        (NLMSG_HDRLEN + 4) as u32,
        CT_GET,
        NLM_F_REQUEST | NLM_F_DUMP,
        1,
    );
    // nfgenmsg: every family, version 0, res_id 0.
    request.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
    rustix::net::send(&fd, &request, SendFlags::empty()).unwrap();

    let mut entries = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (len, _) = rustix::net::recv(&fd, &mut buf[..], RecvFlags::empty()).unwrap();
        for message in Messages::new(&buf[..len]) {
            let message = message.expect("ctnetlink message parses");
            match message.message_type() {
                NLMSG_DONE => return entries,
                NLMSG_ERROR => panic!("ctnetlink error {:?}", message.error_code()),
                CT_GET | 0x0100 => entries.push(message.body()[4..].to_vec()),
                other => panic!("unexpected message type {other:#06x}"),
            }
        }
    }
}

#[test]
fn ctnetlink_dump_of_live_entries_parses() {
    if !privileged("ctnetlink_dump_of_live_entries_parses") {
        return;
    }
    in_netns(|| {
        // Accounting is per network namespace; this is ours alone.
        std::fs::write("/proc/sys/net/netfilter/nf_conntrack_acct", "1")
            .expect("set nf_conntrack_acct in the test's namespace");
        nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n \
             ct state new,established accept\n }\n \
             chain mangle {\n type filter hook output priority mangle;\n \
             tcp dport 7778 ct mark set 0x7\n }\n}\n",
        );
        let server = TcpListener::bind("127.0.0.1:7778").unwrap();
        let mut client = TcpStream::connect("127.0.0.1:7778").unwrap();
        let client_port = client.local_addr().unwrap().port();
        let (mut accepted, _) = server.accept().unwrap();
        client.write_all(b"hello").unwrap();
        let mut buf = [0u8; 6];
        accepted.read_exact(&mut buf[..5]).unwrap();
        accepted.write_all(b"world!").unwrap();
        client.read_exact(&mut buf).unwrap();
        let udp_server = UdpSocket::bind("127.0.0.1:5354").unwrap();
        let udp_client = UdpSocket::bind("127.0.0.1:0").unwrap();
        udp_client.send_to(b"ping", "127.0.0.1:5354").unwrap();
        let (_, from) = udp_server.recv_from(&mut buf).unwrap();
        udp_server.send_to(b"pong", from).unwrap();
        udp_client.recv_from(&mut buf).unwrap();

        let entries = ctnetlink_dump();
        assert!(entries.len() >= 2, "{} entries", entries.len());
        let parsed: Vec<Conntrack<'_>> = entries
            .iter()
            .map(|e| Conntrack::parse(e).expect("a live entry parses"))
            .collect();
        let tcp = parsed
            .iter()
            .find(|ct| ct.original().and_then(|t| t.dst_port) == Some(7778))
            .expect("the TCP entry");
        let original = tcp.original().unwrap();
        assert_eq!((original.src, original.dst), (LOCALHOST, LOCALHOST));
        assert_eq!(
            (original.protocol, original.src_port),
            (Some(6), Some(client_port))
        );
        let reply = tcp.reply().unwrap();
        assert_eq!(
            (reply.src_port, reply.dst_port),
            (Some(7778), Some(client_port))
        );
        let status = tcp.status().unwrap();
        assert!(
            status.contains(Status::SEEN_REPLY | Status::ASSURED | Status::CONFIRMED),
            "{status}"
        );
        assert_eq!(tcp.mark(), Some(7));
        assert!(tcp.id().is_some() && tcp.use_count().is_some());
        assert!(tcp.timeout().is_some_and(|t| t > 0));
        // Out: SYN, ACK, "hello" (and the ACK of "world!"); back: SYN-ACK, "world!" (and
        // the ACK of "hello", unless delayed into "world!"). At least 40 bytes each (IPv4
        // and TCP headers).
        let out = tcp.counters_original().expect("accounting is on");
        let back = tcp.counters_reply().expect("accounting is on");
        assert!((3..=4).contains(&out.packets), "{out:?}");
        assert!((2..=3).contains(&back.packets), "{back:?}");
        assert!(out.bytes >= out.packets * 40 && back.bytes >= back.packets * 40);

        let udp = parsed
            .iter()
            .find(|ct| ct.original().and_then(|t| t.dst_port) == Some(5354))
            .expect("the UDP entry");
        assert_eq!(udp.original().unwrap().protocol, Some(17));
        assert_eq!(udp.reply().unwrap().src_port, Some(5354));
        assert_eq!(udp.counters_original().map(|c| c.packets), Some(1));
        assert_eq!(udp.counters_reply().map(|c| c.packets), Some(1));
    });
}
