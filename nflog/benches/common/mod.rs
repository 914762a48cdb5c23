//! Kernel-shaped NFLOG packet messages, shared by the benchmarks (`mod common;`).
//!
//! Messages are laid out the way nfnetlink_log.c (`__build_packet_message`) builds them:
//! the nfgenmsg, then the attributes in the kernel's order, each padded to 4 bytes, with
//! the payload starting at the network header.
//!
//! Two shapes, each what the kernel sends at its hook:
//! - [`Hook::Input`]: a packet received on an Ethernet device, logged at INPUT: PACKET_HDR,
//!   PREFIX, IFINDEX_INDEV, MARK, HWADDR, HWTYPE, HWLEN, HWHEADER, TIMESTAMP, UID, GID (the
//!   socket early demux found), SEQ, PAYLOAD.
//! - [`Hook::Output`]: a locally generated packet logged at OUTPUT: PACKET_HDR, PREFIX,
//!   IFINDEX_OUTDEV, MARK, UID, GID, SEQ, PAYLOAD. No TIMESTAMP (the kernel sends one only
//!   up to FORWARD) and no hardware header (there is no input device).
//!
//! Payloads are an IPv4 header with a UDP header, or an IPv6 header with a TCP header
//! carrying the timestamp option (as Linux sends on an established connection), followed
//! by `len` bytes of data.

// Each bench uses a part of this module.
#![allow(dead_code)]

use nflog::wire::{emit_message, MSG_PACKET, NLMSG_DONE};
use nflog::{Family, PacketRepr};

/// Packets per datagram: the kernel's batch of a busy group.
pub const PACKETS: usize = 64;
/// The NFLOG group of every message.
pub const GROUP: u16 = 9;
/// The mark every message carries.
pub const MARK: u32 = 0x2a;

/// The hook the packet was logged at, which decides the attributes it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// NF_INET_LOCAL_IN, received on Ethernet.
    Input,
    /// NF_INET_LOCAL_OUT.
    Output,
}

/// The network and transport headers of the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ip {
    /// IPv4 and UDP.
    V4Udp,
    /// IPv6 and TCP (with the timestamp option).
    V6Tcp,
}

impl Ip {
    /// A short name for benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Ip::V4Udp => "ipv4_udp",
            Ip::V6Tcp => "ipv6_tcp",
        }
    }

    fn ethertype(self) -> u16 {
        match self {
            Ip::V4Udp => 0x0800,
            Ip::V6Tcp => 0x86dd,
        }
    }

    fn family(self) -> u8 {
        match self {
            Ip::V4Udp => 2,  // AF_INET
            Ip::V6Tcp => 10, // AF_INET6
        }
    }

    /// The packet (network header onwards) with `len` bytes of data.
    pub fn packet(self, len: usize) -> Vec<u8> {
        match self {
            Ip::V4Udp => ipv4_udp(len),
            Ip::V6Tcp => ipv6_tcp(len),
        }
    }
}

impl Hook {
    /// A short name for benchmark ids.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Output => "output",
        }
    }
}

/// One packet message body (what `Packet::parse` takes): nfgenmsg, then the attributes in
/// the kernel's order, as `PacketRepr::emit` writes them.
pub fn packet_body(hook: Hook, ip: Ip, seq: u32, data_len: usize) -> Vec<u8> {
    let common = PacketRepr {
        family: Family::from_number(ip.family()),
        group: GROUP,
        hw_protocol: ip.ethertype(),
        mark: Some(MARK),
        uid: Some(1000),
        gid: Some(1000),
        seq: Some(seq),
        payload: Some(ip.packet(data_len)),
        ..PacketRepr::default()
    };
    let repr = match hook {
        Hook::Input => {
            // The MAC header: destination, source, ethertype.
            let mut mac = vec![0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01];
            mac.extend_from_slice(&ip.ethertype().to_be_bytes());
            PacketRepr {
                hook: 1, // NF_INET_LOCAL_IN
                prefix: Some(b"bench-in".to_vec()),
                indev: Some(2),
                hwaddr: Some(vec![0x02, 0x00, 0x00, 0x00, 0x00, 0x01]),
                hwtype: Some(1), // ARPHRD_ETHER
                hwlen: Some(14),
                hwheader: Some(mac),
                timestamp: Some((1_760_000_000, 123_456)),
                ..common
            }
        }
        Hook::Output => PacketRepr {
            hook: 3, // NF_INET_LOCAL_OUT
            prefix: Some(b"bench-out".to_vec()),
            outdev: Some(2),
            ..common
        },
    };
    repr.to_bytes()
}

/// An IPv4 header (10.0.0.1 to 10.0.0.2, DF), a UDP header from port 40000 to port 9 and
/// `len` bytes of data.
pub fn ipv4_udp(len: usize) -> Vec<u8> {
    let total = (20 + 8 + len) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&9u16.to_be_bytes());
    p.extend_from_slice(&((8 + len) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend((0..len).map(|i| i as u8));
    p
}

/// An IPv6 header (2001:db8::1 to 2001:db8::2, flow label set), a 32-byte TCP header from
/// port 40000 to port 443 (ACK PSH, options NOP NOP TIMESTAMP) and `len` bytes of data.
pub fn ipv6_tcp(len: usize) -> Vec<u8> {
    let mut p = vec![0x60, 0x01, 0x23, 0x45]; // version 6, traffic class 0, flow label
    p.extend_from_slice(&((32 + len) as u16).to_be_bytes());
    p.extend_from_slice(&[6, 64]); // next header TCP, hop limit
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    let mut dst = src;
    src[15] = 1;
    dst[15] = 2;
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&40000u16.to_be_bytes());
    p.extend_from_slice(&443u16.to_be_bytes());
    p.extend_from_slice(&0x1234_5678u32.to_be_bytes()); // sequence number
    p.extend_from_slice(&0x9abc_def0u32.to_be_bytes()); // acknowledgement number
    p.extend_from_slice(&[8 << 4, 0x18]); // data offset 8 words; ACK PSH
    p.extend_from_slice(&502u16.to_be_bytes()); // window
    p.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    p.extend_from_slice(&[1, 1, 8, 10]); // NOP NOP TIMESTAMP(10)
    p.extend_from_slice(&1_000_000u32.to_be_bytes());
    p.extend_from_slice(&999_000u32.to_be_bytes());
    p.extend((0..len).map(|i| i as u8));
    p
}

/// A batch datagram: `PACKETS` packet messages, then `NLMSG_DONE`.
pub fn datagram(hook: Hook, ip: Ip, data_len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for seq in 0..PACKETS as u32 {
        emit_message(
            &mut out,
            MSG_PACKET,
            0,
            0,
            &packet_body(hook, ip, seq, data_len),
        );
    }
    // nfnetlink_log.c: nlmsg_put(skb, 0, 0, NLMSG_DONE, sizeof(struct nfgenmsg), NLM_F_MULTI)
    emit_message(&mut out, NLMSG_DONE, 0x2, 0, &[0; 4]);
    out
}
