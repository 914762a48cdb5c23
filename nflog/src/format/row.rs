//! One packet as one typed row of a table: [`Row`], its [`COLUMNS`] and their [`Value`]s.
//!
//! The columns are data (name, type, JSON key, doc) that every SQL sink reads to create its
//! table and bind its values, and that the schema page of the documentation is generated
//! from. Their names are ulogd2's: the keys of its plugins with `.` written `_` (the SQL
//! output plugins look a column `ip_saddr_str` up as key `ip.saddr.str`), so queries written
//! for ulogd2's SQLITE3, PGSQL and MYSQL databases keep working. Columns of our own
//! (`time`, `nflog_group`, `tcp_flags`, the binary addresses) follow the same rule.
//!
//! A column's value is the value of the JSON key it names in [`Column::json`], for the
//! same packet: the same decoder, the same ulogd2 quirks ([`JsonFormat`](super::JsonFormat)
//! lists them). A key the JSON object leaves out is a NULL. Only `timestamp` (the `time`
//! column's text), `dvc` and the two keys ulogd2 always writes 0 (`tcp.offset`,
//! `tcp.reserved`) have no column.

use std::net::IpAddr;
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use super::json::sctp;
use super::put::{push_dec, push_hex_bytes, push_ipv4_addr, push_ipv6_addr};
use super::text::push_interface;
use super::{packet_time, ResolveInterface};
use crate::conntrack::{Conntrack, CtInfo};
use crate::decode::{self, Cut, Icmp, Layer, Network, Tcp, Transport, ETHERNET_HEADER_LEN};
use crate::wire::packet::Packet;
use crate::wire::proto::{ARPHRD_ETHER, ARPHRD_VOID, IPPROTO_ESP};

/// What a column holds, for a sink to pick its own SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ColumnType {
    /// A moment, as [`Value::Int`] microseconds since 1970-01-01T00:00:00Z (a timestamp
    /// with microseconds: SQLite text, PostgreSQL `timestamptz`, ClickHouse `DateTime64(6)`).
    Time,
    /// 0 or 1, as [`Value::Int`].
    Bool,
    /// An unsigned integer of 8 bits, as [`Value::Int`].
    U8,
    /// An unsigned integer of 16 bits, as [`Value::Int`].
    U16,
    /// An unsigned integer of 32 bits, as [`Value::Int`].
    U32,
    /// An unsigned integer of 64 bits (up to `i64::MAX`), as [`Value::Int`].
    U64,
    /// UTF-8 text, as [`Value::Text`].
    Text,
    /// An IPv4 or IPv6 address written as `inet_ntop` writes it, as [`Value::Text`]
    /// (PostgreSQL `inet`).
    Address,
    /// Bytes, as [`Value::Bytes`].
    Bytes,
}

/// A column of the packet table: its name, type, the JSON key of the same value, and what
/// it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Column {
    /// The column's name: ulogd2's key with `.` as `_` (`oob_prefix`, `ip_saddr_str`).
    pub name: &'static str,
    /// What it holds.
    pub kind: ColumnType,
    /// The key of [`JsonFormat`](super::JsonFormat) whose value it equals, when it has one.
    /// Ports share `src_port`/`dest_port` in JSON (ulogd2's CIM names) and have a column per
    /// protocol (`tcp_sport`, `udp_sport`, `sctp_sport`).
    pub json: Option<&'static str>,
    /// One line on what it holds and when it is NULL.
    pub doc: &'static str,
}

/// A value of a [`Row`]: NULL when the packet has no such field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Value<'a> {
    /// The packet has no such field.
    Null,
    /// An integer, a boolean (0/1) or a time in microseconds since 1970 (by [`ColumnType`]).
    Int(i64),
    /// Text.
    Text(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
}

macro_rules! columns {
    ($($id:ident: $name:literal, $kind:ident, $json:expr, $doc:literal;)*) => {
        /// Each column's place in [`COLUMNS`] and in a row.
        #[allow(
            non_camel_case_types,
            clippy::enum_variant_names,
            clippy::upper_case_acronyms
        )]
        #[derive(Clone, Copy)]
        enum C { $($id),* }

        /// The columns of the packet table, in table order: ulogd2's keys in the order its
        /// JSON object writes them, with ours beside the ones they extend.
        pub const COLUMNS: &[Column] = &[$(Column {
            name: $name,
            kind: ColumnType::$kind,
            json: $json,
            doc: $doc,
        }),*];

        /// [`COLUMNS`] and, last, [`RAW_PKT`]: the columns of a [`Row`] that keeps the
        /// packet's bytes ([`Row::with_raw`]).
        pub const COLUMNS_WITH_RAW: &[Column] = &[$(Column {
            name: $name,
            kind: ColumnType::$kind,
            json: $json,
            doc: $doc,
        }),*, RAW_PKT];
    };
}

/// ulogd2's `raw.pkt`: the packet's bytes from the network header, as NFULA_PAYLOAD holds
/// them. Not one of [`COLUMNS`]: a row as large as its packet is a choice a sink offers
/// ([`Row::with_raw`]), never a default.
pub const RAW_PKT: Column = Column {
    name: "raw_pkt",
    kind: ColumnType::Bytes,
    json: None,
    doc: "The packet's bytes from the network header (ulogd2's raw.pkt), as many as \
          raw_pktlen says; only in tables written with the raw option; NULL in copy mode meta.",
};

columns! {
    TIME: "time", Time, None,
        "When the packet was logged: the kernel's timestamp, else when it was received.";
    NFLOG_GROUP: "nflog_group", U16, Some("nflog.group"), "The NFLOG group.";
    RAW_PKTLEN: "raw_pktlen", U32, Some("raw.pktlen"),
        "Bytes of payload copied; NULL in copy mode meta.";
    RAW_PKTCOUNT: "raw_pktcount", U32, Some("raw.pktcount"), "1 (ulogd2's packet count).";
    OOB_PREFIX: "oob_prefix", Text, Some("oob.prefix"),
        "The rule's log prefix (invalid UTF-8 as U+FFFD); NULL when the rule gave none.";
    OOB_TIME_SEC: "oob_time_sec", U64, Some("oob.time.sec"), "Seconds of `time`.";
    OOB_TIME_USEC: "oob_time_usec", U32, Some("oob.time.usec"), "Microseconds of `time`.";
    OOB_MARK: "oob_mark", U32, Some("oob.mark"), "The packet mark (0 without one).";
    OOB_IFINDEX_IN: "oob_ifindex_in", U32, Some("oob.ifindex_in"),
        "Input interface index; NULL when none.";
    OOB_IFINDEX_OUT: "oob_ifindex_out", U32, Some("oob.ifindex_out"),
        "Output interface index; NULL when none.";
    OOB_HOOK: "oob_hook", U8, Some("oob.hook"),
        "The netfilter hook: 0 PREROUTING, 1 INPUT, 2 FORWARD, 3 OUTPUT, 4 POSTROUTING.";
    RAW_MAC_LEN: "raw_mac_len", U16, Some("raw.mac_len"),
        "Hardware header length; NULL when none.";
    OOB_SEQ_LOCAL: "oob_seq_local", U32, Some("oob.seq.local"),
        "The group's sequence number (flag SEQ).";
    OOB_SEQ_GLOBAL: "oob_seq_global", U32, Some("oob.seq.global"),
        "The namespace's sequence number (flag SEQ_GLOBAL).";
    OOB_FAMILY: "oob_family", U8, Some("oob.family"),
        "Protocol family of the hook: 2 IPv4, 10 IPv6, 7 bridge, 5 netdev, 3 ARP.";
    OOB_PROTOCOL: "oob_protocol", U16, Some("oob.protocol"),
        "EtherType (of the Ethernet header when there is one, else the kernel's).";
    OOB_UID: "oob_uid", U32, Some("oob.uid"), "Owner of the local socket; NULL when none.";
    OOB_GID: "oob_gid", U32, Some("oob.gid"), "Group of the local socket; NULL when none.";
    RAW_LABEL: "raw_label", U8, Some("raw.label"), "0 (ulogd2's label).";
    RAW_TYPE: "raw_type", U16, Some("raw.type"),
        "Hardware type (ARPHRD_*) with a hardware header; 65535 for an address alone.";
    RAW_MAC_ADDRLEN: "raw_mac_addrlen", U16, Some("raw.mac.addrlen"),
        "Length of the hardware source address; NULL when none.";
    IP_PROTOCOL: "ip_protocol", U8, Some("ip.protocol"),
        "IP protocol (IPv6: after the extension headers): 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6.";
    IP_TOS: "ip_tos", U8, Some("ip.tos"), "IPv4 type of service.";
    IP_TTL: "ip_ttl", U8, Some("ip.ttl"), "IPv4 time to live.";
    IP_TOTLEN: "ip_totlen", U16, Some("ip.totlen"), "IPv4 total length.";
    IP_IHL: "ip_ihl", U8, Some("ip.ihl"), "IPv4 header length in 32-bit words.";
    IP_CSUM: "ip_csum", U16, Some("ip.csum"), "IPv4 header checksum.";
    IP_ID: "ip_id", U16, Some("ip.id"), "IPv4 identification.";
    IP_FRAGOFF: "ip_fragoff", U16, Some("ip.fragoff"),
        "IPv4 flags and fragment offset, the raw 16-bit field (16384: DF).";
    IP6_PAYLOADLEN: "ip6_payloadlen", U16, Some("ip6.payloadlen"), "IPv6 payload length.";
    IP6_PRIORITY: "ip6_priority", U8, Some("ip6.priority"), "IPv6 traffic class.";
    IP6_FLOWLABEL: "ip6_flowlabel", U32, Some("ip6.flowlabel"), "IPv6 flow label.";
    IP6_HOPLIMIT: "ip6_hoplimit", U8, Some("ip6.hoplimit"), "IPv6 hop limit.";
    IP6_NEXTHDR: "ip6_nexthdr", U8, Some("ip6.nexthdr"),
        "IPv6 protocol after the extension headers.";
    IP6_FRAGOFF: "ip6_fragoff", U32, Some("ip6.fragoff"), "IPv6 fragment offset in bytes.";
    IP6_FRAGID: "ip6_fragid", U32, Some("ip6.fragid"), "IPv6 fragment identification.";
    TCP_SPORT: "tcp_sport", U16, Some("src_port"), "TCP source port.";
    TCP_DPORT: "tcp_dport", U16, Some("dest_port"), "TCP destination port.";
    TCP_SEQ: "tcp_seq", U32, Some("tcp.seq"), "TCP sequence number.";
    TCP_ACKSEQ: "tcp_ackseq", U32, Some("tcp.ackseq"), "TCP acknowledgement number.";
    TCP_WINDOW: "tcp_window", U16, Some("tcp.window"), "TCP window.";
    TCP_FLAGS: "tcp_flags", U8, None,
        "TCP flags byte: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32, ECE 64, CWR 128.";
    TCP_URG: "tcp_urg", Bool, Some("tcp.urg"), "TCP URG flag.";
    TCP_URGP: "tcp_urgp", U16, Some("tcp.urgp"), "TCP urgent pointer; NULL without URG.";
    TCP_ACK: "tcp_ack", Bool, Some("tcp.ack"), "TCP ACK flag.";
    TCP_PSH: "tcp_psh", Bool, Some("tcp.psh"), "TCP PSH flag.";
    TCP_RST: "tcp_rst", Bool, Some("tcp.rst"), "TCP RST flag.";
    TCP_SYN: "tcp_syn", Bool, Some("tcp.syn"), "TCP SYN flag.";
    TCP_FIN: "tcp_fin", Bool, Some("tcp.fin"), "TCP FIN flag.";
    TCP_RES1: "tcp_res1", U8, Some("tcp.res1"), "TCP reserved bits (AE the lowest).";
    TCP_RES2: "tcp_res2", U8, Some("tcp.res2"), "TCP ECE (1) and CWR (2) flags.";
    TCP_CSUM: "tcp_csum", U16, Some("tcp.csum"), "TCP checksum.";
    UDP_SPORT: "udp_sport", U16, Some("src_port"), "UDP (or UDP-Lite) source port.";
    UDP_DPORT: "udp_dport", U16, Some("dest_port"), "UDP (or UDP-Lite) destination port.";
    UDP_LEN: "udp_len", U16, Some("udp.len"), "UDP length.";
    UDP_CSUM: "udp_csum", U16, Some("udp.csum"), "UDP checksum.";
    ICMP_TYPE: "icmp_type", U8, Some("icmp.type"), "ICMP type.";
    ICMP_CODE: "icmp_code", U8, Some("icmp.code"), "ICMP code.";
    ICMP_ECHOID: "icmp_echoid", U16, Some("icmp.echoid"), "ICMP echo identifier.";
    ICMP_ECHOSEQ: "icmp_echoseq", U16, Some("icmp.echoseq"), "ICMP echo sequence number.";
    ICMP_FRAGMTU: "icmp_fragmtu", U16, Some("icmp.fragmtu"),
        "Next-hop MTU of ICMP fragmentation needed (type 3 code 4).";
    ICMP_CSUM: "icmp_csum", U16, Some("icmp.csum"),
        "ICMP checksum, its wire bytes read little-endian (as ulogd2 on x86).";
    ICMPV6_TYPE: "icmpv6_type", U8, Some("icmpv6.type"), "ICMPv6 type.";
    ICMPV6_CODE: "icmpv6_code", U8, Some("icmpv6.code"), "ICMPv6 code.";
    ICMPV6_ECHOID: "icmpv6_echoid", U16, Some("icmpv6.echoid"), "ICMPv6 echo identifier.";
    ICMPV6_ECHOSEQ: "icmpv6_echoseq", U16, Some("icmpv6.echoseq"),
        "ICMPv6 echo sequence number.";
    ICMPV6_CSUM: "icmpv6_csum", U16, Some("icmpv6.csum"),
        "ICMPv6 checksum, its wire bytes read little-endian (as ulogd2 on x86).";
    ARP_HWTYPE: "arp_hwtype", U16, Some("arp.hwtype"), "ARP hardware type.";
    ARP_PROTOCOLTYPE: "arp_protocoltype", U16, Some("arp.protocoltype"),
        "ARP protocol type.";
    ARP_OPERATION: "arp_operation", U16, Some("arp.operation"), "ARP operation.";
    SCTP_SPORT: "sctp_sport", U16, Some("src_port"), "SCTP source port.";
    SCTP_DPORT: "sctp_dport", U16, Some("dest_port"), "SCTP destination port.";
    SCTP_CSUM: "sctp_csum", U32, Some("sctp.csum"), "SCTP checksum.";
    OOB_IN: "oob_in", Text, Some("oob.in"),
        "Input interface name ('' for none, if:N when it has no name).";
    OOB_OUT: "oob_out", Text, Some("oob.out"),
        "Output interface name ('' for none, if:N when it has no name).";
    IP_SADDR_STR: "ip_saddr_str", Address, Some("src_ip"), "IPv4 or IPv6 source address.";
    IP_DADDR_STR: "ip_daddr_str", Address, Some("dest_ip"),
        "IPv4 or IPv6 destination address.";
    IP_SADDR_BIN: "ip_saddr_bin", Bytes, None,
        "Source address in 16 bytes (IPv4 mapped, ::ffff:a.b.c.d) for range queries.";
    IP_DADDR_BIN: "ip_daddr_bin", Bytes, None,
        "Destination address in 16 bytes (IPv4 mapped) for range queries.";
    ARP_SADDR_STR: "arp_saddr_str", Address, Some("arp.saddr.str"),
        "ARP sender IPv4 address (Ethernet/IPv4 ARP).";
    ARP_DADDR_STR: "arp_daddr_str", Address, Some("arp.daddr.str"),
        "ARP target IPv4 address (Ethernet/IPv4 ARP).";
    MAC_SADDR_STR: "mac_saddr_str", Text, Some("mac.saddr.str"),
        "Hardware source address, %02x joined by ':'.";
    MAC_DADDR_STR: "mac_daddr_str", Text, Some("mac.daddr.str"),
        "Ethernet destination address, %02x joined by ':'.";
    MAC_STR: "mac_str", Text, Some("mac.str"), "The whole hardware header, %02x joined by ':'.";
    ORIG_IP_SADDR_STR: "orig_ip_saddr_str", Address, Some("orig.ip.saddr.str"),
        "Conntrack: source address of the original direction.";
    ORIG_IP_DADDR_STR: "orig_ip_daddr_str", Address, Some("orig.ip.daddr.str"),
        "Conntrack: destination address of the original direction.";
    ORIG_IP_PROTOCOL: "orig_ip_protocol", U8, Some("orig.ip.protocol"),
        "Conntrack: IP protocol of the original direction.";
    ORIG_L4_SPORT: "orig_l4_sport", U16, Some("orig.l4.sport"),
        "Conntrack: source port of the original direction.";
    ORIG_L4_DPORT: "orig_l4_dport", U16, Some("orig.l4.dport"),
        "Conntrack: destination port of the original direction.";
    ORIG_ICMP_TYPE: "orig_icmp_type", U8, Some("orig.icmp.type"),
        "Conntrack: ICMP type of the original direction.";
    ORIG_ICMP_CODE: "orig_icmp_code", U8, Some("orig.icmp.code"),
        "Conntrack: ICMP code of the original direction.";
    ORIG_ICMP_ID: "orig_icmp_id", U16, Some("orig.icmp.id"),
        "Conntrack: ICMP echo identifier of the original direction.";
    ORIG_RAW_PKTLEN: "orig_raw_pktlen", U64, Some("orig.raw.pktlen"),
        "Conntrack: bytes of the original direction (nf_conntrack_acct=1).";
    ORIG_RAW_PKTCOUNT: "orig_raw_pktcount", U64, Some("orig.raw.pktcount"),
        "Conntrack: packets of the original direction (nf_conntrack_acct=1).";
    REPLY_IP_SADDR_STR: "reply_ip_saddr_str", Address, Some("reply.ip.saddr.str"),
        "Conntrack: source address of the reply direction.";
    REPLY_IP_DADDR_STR: "reply_ip_daddr_str", Address, Some("reply.ip.daddr.str"),
        "Conntrack: destination address of the reply direction.";
    REPLY_IP_PROTOCOL: "reply_ip_protocol", U8, Some("reply.ip.protocol"),
        "Conntrack: IP protocol of the reply direction.";
    REPLY_L4_SPORT: "reply_l4_sport", U16, Some("reply.l4.sport"),
        "Conntrack: source port of the reply direction.";
    REPLY_L4_DPORT: "reply_l4_dport", U16, Some("reply.l4.dport"),
        "Conntrack: destination port of the reply direction.";
    REPLY_ICMP_TYPE: "reply_icmp_type", U8, Some("reply.icmp.type"),
        "Conntrack: ICMP type of the reply direction.";
    REPLY_ICMP_CODE: "reply_icmp_code", U8, Some("reply.icmp.code"),
        "Conntrack: ICMP code of the reply direction.";
    REPLY_ICMP_ID: "reply_icmp_id", U16, Some("reply.icmp.id"),
        "Conntrack: ICMP echo identifier of the reply direction.";
    REPLY_RAW_PKTLEN: "reply_raw_pktlen", U64, Some("reply.raw.pktlen"),
        "Conntrack: bytes of the reply direction (nf_conntrack_acct=1).";
    REPLY_RAW_PKTCOUNT: "reply_raw_pktcount", U64, Some("reply.raw.pktcount"),
        "Conntrack: packets of the reply direction (nf_conntrack_acct=1).";
    CT_MARK: "ct_mark", U32, Some("ct.mark"), "Conntrack mark.";
    CT_ID: "ct_id", U32, Some("ct.id"), "Conntrack entry id.";
    CT_STATE: "ct_state", Text, Some("ct.state"),
        "How the packet relates to its entry: NEW, ESTABLISHED, RELATED, ..._REPLY.";
    CT_STATUS: "ct_status", U32, Some("ct.status"), "Conntrack status bits (IPS_*).";
    CT_STATUS_STR: "ct_status_str", Text, Some("ct.status.str"),
        "Conntrack status bits by name: SEEN_REPLY|ASSURED|CONFIRMED.";
    CT_ZONE: "ct_zone", U16, Some("ct.zone"), "Conntrack zone.";
    CT_TIMEOUT: "ct_timeout", U32, Some("ct.timeout"), "Seconds the entry has left.";
}

/// Where a value of a row is: inline, or a range of the row's text or bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Slot {
    Null,
    Int(i64),
    Text(Range<usize>),
    Bytes(Range<usize>),
}

/// One packet as the values of [`COLUMNS`], in their order.
///
/// A row is filled again for each packet ([`fill`](Row::fill)) and keeps its buffers, so
/// that a sink writing many rows allocates nothing per packet once warmed up.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use nflog::format::{Numeric, Row, Value};
///
/// // A packet message body: nfgenmsg (IPv4, group 5), then NFULA_PACKET_HDR (IPv4, OUTPUT).
/// let mut body = vec![2, 0, 0, 5];
/// body.extend_from_slice(&8u16.to_ne_bytes());
/// body.extend_from_slice(&1u16.to_ne_bytes());
/// body.extend_from_slice(&[0x08, 0x00, 3, 0]);
/// let packet = nflog::Packet::parse(&body).unwrap();
///
/// let mut row = Row::new();
/// row.fill(&packet, UNIX_EPOCH + Duration::from_micros(1_500_000), &mut Numeric);
/// assert_eq!(row.get("nflog_group"), Some(Value::Int(5)));
/// assert_eq!(row.get("oob_hook"), Some(Value::Int(3)));
/// assert_eq!(row.get("time"), Some(Value::Int(1_500_000)));
/// assert_eq!(row.get("oob_prefix"), Some(Value::Null));
/// assert_eq!(row.get("no_such_column"), None);
/// ```
#[derive(Debug, Clone)]
pub struct Row {
    /// [`COLUMNS`], or [`COLUMNS_WITH_RAW`] for a row that keeps the packet's bytes.
    columns: &'static [Column],
    slots: Vec<Slot>,
    text: String,
    bytes: Vec<u8>,
    /// Where text is written before it is checked and copied into `text`.
    scratch: Vec<u8>,
}

impl Default for Row {
    fn default() -> Self {
        Row::new()
    }
}

impl Row {
    /// An empty row of [`COLUMNS`]: every value NULL.
    pub fn new() -> Row {
        Row {
            columns: COLUMNS,
            slots: vec![Slot::Null; COLUMNS_WITH_RAW.len()],
            text: String::with_capacity(256),
            bytes: Vec::with_capacity(64),
            scratch: Vec::with_capacity(64),
        }
    }

    /// An empty row of [`COLUMNS_WITH_RAW`]: [`fill`](Row::fill) copies the packet's
    /// bytes into its last column, [`RAW_PKT`].
    pub fn with_raw() -> Row {
        Row {
            columns: COLUMNS_WITH_RAW,
            ..Row::new()
        }
    }

    /// The columns of this row, in table order: [`COLUMNS`], or [`COLUMNS_WITH_RAW`].
    pub fn columns(&self) -> &'static [Column] {
        self.columns
    }

    /// The value of column `index` of [`columns`](Row::columns); NULL past the last column.
    pub fn value(&self, index: usize) -> Value<'_> {
        match self.slots.get(index) {
            None | Some(Slot::Null) => Value::Null,
            Some(Slot::Int(n)) => Value::Int(*n),
            // The ranges were taken from these buffers while they were written.
            Some(Slot::Text(range)) => Value::Text(self.text.get(range.clone()).unwrap_or("")),
            Some(Slot::Bytes(range)) => Value::Bytes(self.bytes.get(range.clone()).unwrap_or(&[])),
        }
    }

    /// The value of the column named `name`, or `None` if there is no such column.
    pub fn get(&self, name: &str) -> Option<Value<'_>> {
        let index = self.columns.iter().position(|column| column.name == name)?;
        Some(self.value(index))
    }

    /// Every column of [`columns`](Row::columns) with its value, in table order.
    pub fn values(&self) -> impl Iterator<Item = (&'static Column, Value<'_>)> + '_ {
        self.columns
            .iter()
            .enumerate()
            .map(|(index, column)| (column, self.value(index)))
    }

    /// Makes this row the values of `packet`, timed by its kernel timestamp or else by
    /// `received`, its interfaces named by `names` as [`JsonFormat`](super::JsonFormat)
    /// names them.
    pub fn fill(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) {
        self.slots.iter_mut().for_each(|slot| *slot = Slot::Null);
        self.text.clear();
        self.bytes.clear();
        self.fill_nflog(packet, received, names);
        let decoded = decode::decode(packet);
        self.fill_network(&decoded);
        self.fill_transport(&decoded);
        if let Some((src_port, dst_port, checksum)) =
            sctp(&decoded, packet.payload().unwrap_or(&[]))
        {
            self.int(C::SCTP_SPORT, src_port);
            self.int(C::SCTP_DPORT, dst_port);
            self.int(C::SCTP_CSUM, checksum);
        }
        // A conntrack entry that does not parse gives no conntrack columns, as the JSON
        // object gives no keys for it.
        if let Ok(Some(ct)) = Conntrack::from_packet(packet) {
            self.fill_conntrack(&ct, CtInfo::from_packet(packet));
        }
    }

    /// NFLOG's, IFINDEX's and HWHDR's columns, and ours: what the message says beside the
    /// payload's headers.
    fn fill_nflog(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) {
        let time = packet_time(packet, received);
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        self.slots[C::TIME as usize] =
            Slot::Int(i64::try_from(since.as_micros()).unwrap_or(i64::MAX));
        self.int(C::OOB_TIME_SEC, since.as_secs());
        self.int(C::OOB_TIME_USEC, since.subsec_micros());
        self.int(C::NFLOG_GROUP, packet.group());
        if let Some(payload) = packet.payload() {
            self.int(C::RAW_PKTLEN, payload.len() as u64);
            if self.columns.len() > COLUMNS.len() {
                let start = self.bytes.len();
                self.bytes.extend_from_slice(payload);
                self.slots[COLUMNS.len()] = Slot::Bytes(start..self.bytes.len());
            }
        }
        self.int(C::RAW_PKTCOUNT, 1u8);
        if let Some(prefix) = packet.prefix_bytes() {
            let start = self.text.len();
            for chunk in prefix.utf8_chunks() {
                self.text.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    self.text.push('\u{fffd}');
                }
            }
            self.slots[C::OOB_PREFIX as usize] = Slot::Text(start..self.text.len());
        }
        self.int(C::OOB_MARK, packet.mark().unwrap_or(0));
        let indev = packet.indev().unwrap_or(0);
        let outdev = packet.outdev().unwrap_or(0);
        if indev > 0 {
            self.int(C::OOB_IFINDEX_IN, indev);
        }
        if outdev > 0 {
            self.int(C::OOB_IFINDEX_OUT, outdev);
        }
        self.interface(C::OOB_IN, names, indev);
        self.interface(C::OOB_OUT, names, outdev);
        self.int(C::OOB_HOOK, packet.hook_number());
        if let Some(seq) = packet.seq() {
            self.int(C::OOB_SEQ_LOCAL, seq);
        }
        if let Some(seq) = packet.seq_global() {
            self.int(C::OOB_SEQ_GLOBAL, seq);
        }
        self.int(C::OOB_FAMILY, packet.family().number());
        if let Some(uid) = packet.uid() {
            self.int(C::OOB_UID, uid);
        }
        if let Some(gid) = packet.gid() {
            self.int(C::OOB_GID, gid);
        }
        self.int(C::RAW_LABEL, 0u8);

        // The hardware header as NFLOG and HWHDR read it (see JsonFormat's write_object).
        let hwlen = packet.hwlen().filter(|&len| len != 0);
        let hwaddr = packet.hwaddr();
        let hwheader = packet.hwheader();
        let raw_type = hwlen.map(|_| packet.hwtype().unwrap_or(0));
        let ethernet = match (raw_type, hwheader) {
            (Some(ARPHRD_ETHER), Some(header)) => header.first_chunk::<ETHERNET_HEADER_LEN>(),
            _ => None,
        };
        let protocol = match ethernet {
            Some(header) => u16::from_be_bytes([header[12], header[13]]),
            None => packet.hw_protocol(),
        };
        self.int(C::OOB_PROTOCOL, protocol);
        if let Some(len) = hwlen {
            self.int(C::RAW_MAC_LEN, len);
        }
        match raw_type {
            Some(hwtype) => self.int(C::RAW_TYPE, hwtype),
            None if hwaddr.is_some() => self.int(C::RAW_TYPE, ARPHRD_VOID),
            None => {}
        }
        if let Some(addr) = hwaddr {
            self.int(C::RAW_MAC_ADDRLEN, addr.len() as u64);
        }
        if let Some(source) = hwaddr.or(ethernet.map(|header| &header[6..12])) {
            self.hex(C::MAC_SADDR_STR, source);
        }
        if let Some(header) = ethernet {
            self.hex(C::MAC_DADDR_STR, &header[..6]);
        }
        if let (Some(len), Some(header)) = (hwlen, hwheader) {
            self.hex(C::MAC_STR, &header[..header.len().min(usize::from(len))]);
        }
    }

    /// BASE's IPv4, IPv6 and ARP columns, and IP2STR's.
    fn fill_network(&mut self, decoded: &decode::Decoded) {
        match decoded.network {
            Some(Network::Ipv4(ip)) => {
                self.int(C::IP_PROTOCOL, ip.protocol);
                self.int(C::IP_TOS, ip.tos);
                self.int(C::IP_TTL, ip.ttl);
                self.int(C::IP_TOTLEN, ip.total_len);
                self.int(C::IP_IHL, ip.ihl);
                self.int(C::IP_CSUM, ip.checksum);
                self.int(C::IP_ID, ip.id);
                let fragoff = u16::from(ip.reserved_flag) << 15
                    | u16::from(ip.dont_fragment) << 14
                    | u16::from(ip.more_fragments) << 13
                    | ip.fragment_offset;
                self.int(C::IP_FRAGOFF, fragoff);
                self.addresses(IpAddr::V4(ip.src), IpAddr::V4(ip.dst));
            }
            Some(Network::Ipv6(ip)) => {
                let later_fragment = ip.fragment.is_some_and(|f| f.offset != 0);
                let extensions_failed = matches!(
                    decoded.cut,
                    Some(Cut::Extension | Cut::Malformed(Layer::Network))
                );
                if !later_fragment && !extensions_failed && ip.protocol != IPPROTO_ESP {
                    self.int(C::IP_PROTOCOL, ip.protocol);
                }
                self.int(C::IP6_PAYLOADLEN, ip.payload_len);
                self.int(C::IP6_PRIORITY, ip.traffic_class);
                self.int(C::IP6_FLOWLABEL, ip.flow_label);
                self.int(C::IP6_HOPLIMIT, ip.hop_limit);
                if !extensions_failed {
                    self.int(C::IP6_NEXTHDR, ip.protocol);
                }
                if let Some(fragment) = ip.fragment {
                    self.int(C::IP6_FRAGOFF, u32::from(fragment.offset) * 8);
                    self.int(C::IP6_FRAGID, fragment.id);
                }
                self.addresses(IpAddr::V6(ip.src), IpAddr::V6(ip.dst));
            }
            Some(Network::Arp(arp)) => {
                self.int(C::ARP_HWTYPE, arp.hardware_type);
                self.int(C::ARP_PROTOCOLTYPE, arp.protocol_type);
                self.int(C::ARP_OPERATION, arp.operation);
                if let Some(addresses) = arp.ethernet_ipv4 {
                    self.address(C::ARP_SADDR_STR, IpAddr::V4(addresses.sender_ip));
                    self.address(C::ARP_DADDR_STR, IpAddr::V4(addresses.target_ip));
                }
            }
            None => {}
        }
    }

    /// BASE's TCP, UDP, ICMP and ICMPv6 columns, and our TCP flags byte.
    fn fill_transport(&mut self, decoded: &decode::Decoded) {
        match decoded.transport {
            Some(Transport::Tcp(tcp)) => {
                let flag = |bit| u8::from(tcp.has(bit));
                self.int(C::TCP_SPORT, tcp.src_port);
                self.int(C::TCP_DPORT, tcp.dst_port);
                self.int(C::TCP_SEQ, tcp.seq);
                self.int(C::TCP_ACKSEQ, tcp.ack_seq);
                self.int(C::TCP_WINDOW, tcp.window);
                self.int(C::TCP_FLAGS, tcp.flags);
                self.int(C::TCP_URG, flag(Tcp::URG));
                if tcp.has(Tcp::URG) {
                    self.int(C::TCP_URGP, tcp.urgent_ptr);
                }
                self.int(C::TCP_ACK, flag(Tcp::ACK));
                self.int(C::TCP_PSH, flag(Tcp::PSH));
                self.int(C::TCP_RST, flag(Tcp::RST));
                self.int(C::TCP_SYN, flag(Tcp::SYN));
                self.int(C::TCP_FIN, flag(Tcp::FIN));
                self.int(C::TCP_RES1, tcp.reserved);
                self.int(C::TCP_RES2, tcp.flags >> 6);
                self.int(C::TCP_CSUM, tcp.checksum);
            }
            Some(Transport::Udp(udp)) => {
                self.int(C::UDP_SPORT, udp.src_port);
                self.int(C::UDP_DPORT, udp.dst_port);
                self.int(C::UDP_LEN, udp.len);
                self.int(C::UDP_CSUM, udp.checksum);
            }
            Some(Transport::Icmpv4(icmp)) => self.icmp(&icmp, false),
            Some(Transport::Icmpv6(icmp)) => self.icmp(&icmp, true),
            None => {}
        }
    }

    fn icmp(&mut self, icmp: &Icmp, v6: bool) {
        let [kind, code, id, seq, csum] = if v6 {
            [
                C::ICMPV6_TYPE,
                C::ICMPV6_CODE,
                C::ICMPV6_ECHOID,
                C::ICMPV6_ECHOSEQ,
                C::ICMPV6_CSUM,
            ]
        } else {
            [
                C::ICMP_TYPE,
                C::ICMP_CODE,
                C::ICMP_ECHOID,
                C::ICMP_ECHOSEQ,
                C::ICMP_CSUM,
            ]
        };
        self.int(kind, icmp.icmp_type);
        self.int(code, icmp.code);
        if let Some((echo_id, echo_seq)) = icmp.echo(v6) {
            self.int(id, echo_id);
            self.int(seq, echo_seq);
        }
        if !v6 && icmp.icmp_type == 3 && icmp.code == 4 {
            self.int(
                C::ICMP_FRAGMTU,
                u16::from_be_bytes([icmp.rest[2], icmp.rest[3]]),
            );
        }
        // As BASE and JsonFormat: the checksum's wire bytes read little-endian.
        self.int(csum, icmp.checksum.swap_bytes());
    }

    /// The packet's conntrack entry, as the JSON format's conntrack keys (ulogd2's NFCT
    /// names, as in its `ulog2_ct` table, and ours).
    fn fill_conntrack(&mut self, ct: &Conntrack<'_>, info: Option<CtInfo>) {
        use C::*;
        let directions = [
            (
                ct.original(),
                ct.counters_original(),
                [
                    ORIG_IP_SADDR_STR,
                    ORIG_IP_DADDR_STR,
                    ORIG_IP_PROTOCOL,
                    ORIG_L4_SPORT,
                    ORIG_L4_DPORT,
                    ORIG_ICMP_TYPE,
                    ORIG_ICMP_CODE,
                    ORIG_ICMP_ID,
                    ORIG_RAW_PKTLEN,
                    ORIG_RAW_PKTCOUNT,
                ],
            ),
            (
                ct.reply(),
                ct.counters_reply(),
                [
                    REPLY_IP_SADDR_STR,
                    REPLY_IP_DADDR_STR,
                    REPLY_IP_PROTOCOL,
                    REPLY_L4_SPORT,
                    REPLY_L4_DPORT,
                    REPLY_ICMP_TYPE,
                    REPLY_ICMP_CODE,
                    REPLY_ICMP_ID,
                    REPLY_RAW_PKTLEN,
                    REPLY_RAW_PKTCOUNT,
                ],
            ),
        ];
        for (tuple, counters, [saddr, daddr, proto, sport, dport, itype, icode, iid, len, count]) in
            directions
        {
            if let Some(tuple) = tuple {
                if let Some(addr) = tuple.src {
                    self.address(saddr, addr);
                }
                if let Some(addr) = tuple.dst {
                    self.address(daddr, addr);
                }
                self.some(proto, tuple.protocol);
                self.some(sport, tuple.src_port);
                self.some(dport, tuple.dst_port);
                self.some(itype, tuple.icmp_type);
                self.some(icode, tuple.icmp_code);
                self.some(iid, tuple.icmp_id);
            }
            if let Some(counters) = counters {
                self.int(len, counters.bytes);
                self.int(count, counters.packets);
            }
        }
        self.some(CT_MARK, ct.mark());
        self.some(CT_ID, ct.id());
        if let Some(info) = info {
            // As JSON: the kernel's name, or the number of one this crate does not know.
            self.text_with(CT_STATE, |buf| match info.name() {
                Some(name) => buf.extend_from_slice(name.as_bytes()),
                None => push_dec(buf, info.number()),
            });
        }
        if let Some(status) = ct.status() {
            self.int(CT_STATUS, status.bits());
            self.text_with(CT_STATUS_STR, |buf| {
                // Perf: no allocation; the Display impl writes into the row's scratch.
                let _ = std::io::Write::write_fmt(buf, format_args!("{status}"));
            });
        }
        self.some(CT_ZONE, ct.zone());
        self.some(CT_TIMEOUT, ct.timeout());
    }

    /// IP2STR's text addresses and our 16-byte ones.
    fn addresses(&mut self, src: IpAddr, dst: IpAddr) {
        self.address(C::IP_SADDR_STR, src);
        self.address(C::IP_DADDR_STR, dst);
        for (column, addr) in [(C::IP_SADDR_BIN, src), (C::IP_DADDR_BIN, dst)] {
            // ulogd2's IP2BIN: IPv4 as the mapped IPv6 address, so that one column orders
            // both families.
            let octets = match addr {
                IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                IpAddr::V6(v6) => v6.octets(),
            };
            let start = self.bytes.len();
            self.bytes.extend_from_slice(&octets);
            self.slots[column as usize] = Slot::Bytes(start..self.bytes.len());
        }
    }

    /// An address as `inet_ntop` writes it, as the JSON format does.
    fn address(&mut self, column: C, addr: IpAddr) {
        self.text_with(column, |buf| match addr {
            IpAddr::V4(v4) => push_ipv4_addr(buf, v4),
            IpAddr::V6(v6) => push_ipv6_addr(buf, &v6),
        });
    }

    fn hex(&mut self, column: C, bytes: &[u8]) {
        self.text_with(column, |buf| push_hex_bytes(buf, bytes, Some(b':')));
    }

    /// Interface `index` as the JSON format's `oob.in` value: the text format's word
    /// (`""` for 0).
    fn interface(&mut self, column: C, names: &mut dyn ResolveInterface, index: u32) {
        self.text_with(column, |buf| push_interface(buf, names, Some(index)));
    }

    /// Text written by `write` (through the row's scratch buffer, as the writers push
    /// bytes), as the value of `column`.
    fn text_with(&mut self, column: C, write: impl FnOnce(&mut Vec<u8>)) {
        self.scratch.clear();
        write(&mut self.scratch);
        // Every writer pushes ASCII or whole UTF-8 strings; should one ever not, the value
        // stays NULL rather than the row holding invalid text.
        if let Ok(text) = std::str::from_utf8(&self.scratch) {
            let start = self.text.len();
            self.text.push_str(text);
            self.slots[column as usize] = Slot::Text(start..self.text.len());
        }
    }

    fn some(&mut self, column: C, value: Option<impl Into<u64>>) {
        if let Some(value) = value {
            self.int(column, value);
        }
    }

    fn int(&mut self, column: C, value: impl Into<u64>) {
        let value = i64::try_from(value.into()).unwrap_or(i64::MAX);
        self.slots[column as usize] = Slot::Int(value);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::IpAddr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use etherparse::PacketBuilder;
    use proptest::prelude::*;

    use super::*;
    use crate::format::JsonFormat;
    use crate::format::TimeZone;
    use crate::wire::family::Family;
    use crate::wire::packet::PacketRepr;

    /// Names index 1 "lo", 2 "eth0" and 3 a name that is not UTF-8 with a backslash.
    struct Names;

    impl ResolveInterface for Names {
        fn interface_name(&mut self, index: u32) -> Option<&str> {
            match index {
                1 => Some("lo"),
                2 => Some("eth0"),
                _ => None,
            }
        }

        fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
            match index {
                3 => Some(b"caf\xe9\\x"),
                _ => self.interface_name(index).map(str::as_bytes),
            }
        }
    }

    fn received() -> SystemTime {
        UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000)
    }

    /// Checks that every column equals the JSON key it names, that every JSON key but
    /// `timestamp` and `dvc` is some column's, and our columns without a key.
    fn check_against_json(body: &[u8]) -> Result<(), TestCaseError> {
        let packet = Packet::parse(body).unwrap();
        let mut line = Vec::new();
        JsonFormat::new()
            .time_zone(TimeZone::Utc)
            .write(&mut line, &packet, received(), &mut Names)
            .unwrap();
        let line = String::from_utf8(line).unwrap();
        let json: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line).unwrap();
        let mut row = Row::new();
        row.fill(&packet, received(), &mut Names);

        let shared: HashSet<&str> = ["src_port", "dest_port"].into();
        let mut covered = HashSet::new();
        for (column, value) in row.values() {
            let Some(key) = column.json else { continue };
            let expected = json.get(key);
            match value {
                Value::Null => prop_assert!(
                    shared.contains(key) || expected.is_none(),
                    "{} is NULL, JSON has {key}: {line}",
                    column.name
                ),
                Value::Int(n) => {
                    prop_assert_eq!(
                        expected.and_then(|v| v.as_i64()),
                        Some(n),
                        "{}",
                        column.name
                    );
                    covered.insert(key);
                }
                Value::Text(text) => {
                    // `ct.state` is the number of a state without a name.
                    let expected = expected.map(|v| match v {
                        serde_json::Value::Number(n) => n.to_string(),
                        other => other.as_str().unwrap_or_default().to_owned(),
                    });
                    prop_assert_eq!(expected.as_deref(), Some(text), "{}", column.name);
                    covered.insert(key);
                }
                Value::Bytes(_) => prop_assert!(false, "{} has bytes and a JSON key", column.name),
            }
        }
        // `tcp.offset` and `tcp.reserved` are always 0 in ulogd2 (BASE's ntohs of a 4-bit
        // field): no column for them; our `tcp_flags` and `tcp_res1` hold the bits.
        let without_column = ["timestamp", "dvc", "tcp.offset", "tcp.reserved"];
        for key in json.keys() {
            prop_assert!(
                covered.contains(key.as_str()) || without_column.contains(&key.as_str()),
                "no column holds {key}: {line}"
            );
        }

        // Ours: the time, the flags byte and the addresses in 16 bytes.
        let sec = json["oob.time.sec"].as_i64().unwrap();
        let usec = json["oob.time.usec"].as_i64().unwrap();
        prop_assert_eq!(row.get("time"), Some(Value::Int(sec * 1_000_000 + usec)));
        for (text, bin) in [("src_ip", "ip_saddr_bin"), ("dest_ip", "ip_daddr_bin")] {
            let expected = json.get(text).map(|addr| {
                match addr.as_str().unwrap().parse::<IpAddr>().unwrap() {
                    IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
                    IpAddr::V6(v6) => v6.octets(),
                }
            });
            match row.get(bin).unwrap() {
                Value::Bytes(bytes) => {
                    prop_assert_eq!(Some(bytes), expected.as_ref().map(|o| &o[..]))
                }
                other => prop_assert!(expected.is_none(), "{bin} {other:?}"),
            }
        }
        let flags = [
            "tcp.fin", "tcp.syn", "tcp.rst", "tcp.psh", "tcp.ack", "tcp.urg",
        ]
        .iter()
        .enumerate()
        .map(|(bit, key)| json.get(*key).map(|v| v.as_i64().unwrap() << bit))
        .sum::<Option<i64>>()
        .map(|low| low | json["tcp.res2"].as_i64().unwrap() << 6);
        prop_assert_eq!(
            row.get("tcp_flags"),
            Some(flags.map_or(Value::Null, Value::Int))
        );
        Ok(())
    }

    /// Valid packets of every kind the JSON format knows, which the property test cuts and
    /// alters.
    fn payloads() -> Vec<(Family, u16, Vec<u8>)> {
        let mut out = Vec::new();
        let data = b"payload";
        let ipv4 = || PacketBuilder::ipv4([192, 0, 2, 1], [198, 51, 100, 7], 64);
        let ipv6 = || {
            PacketBuilder::ipv6(
                [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1],
                64,
            )
        };
        macro_rules! built {
            ($family:expr, $ethertype:expr, $builder:expr) => {{
                let builder = $builder;
                let mut bytes = Vec::with_capacity(builder.size(data.len()));
                builder.write(&mut bytes, data).unwrap();
                out.push(($family, $ethertype, bytes));
            }};
        }
        built!(
            Family::Ipv4,
            0x0800,
            ipv4().tcp(40000, 22, 1234, 512).syn().ack(99).urg(3).psh()
        );
        built!(Family::Ipv4, 0x0800, ipv4().udp(5353, 40000));
        built!(Family::Ipv4, 0x0800, ipv4().icmpv4_echo_request(0x1234, 1));
        built!(
            Family::Ipv4,
            0x0800,
            ipv4().icmpv4(etherparse::Icmpv4Type::DestinationUnreachable(
                etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded {
                    next_hop_mtu: 1400
                },
            ))
        );
        built!(
            Family::Ipv6,
            0x86dd,
            ipv6().tcp(40000, 443, 7, 100).fin().rst()
        );
        built!(Family::Ipv6, 0x86dd, ipv6().udp(40002, 5353));
        built!(Family::Ipv6, 0x86dd, ipv6().icmpv6_echo_reply(7, 9));
        // SCTP over IPv4 (protocol 132), which BASE reads and the decoder does not.
        let mut sctp = vec![
            0x45, 0, 0, 32, 0, 1, 0, 0, 64, 132, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        sctp.extend_from_slice(&[0x13, 0x88, 0x13, 0x89, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef]);
        out.push((Family::Ipv4, 0x0800, sctp));
        // Ethernet/IPv4 ARP request, as the bridge family logs it.
        let arp = [
            0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2,
        ];
        out.push((Family::Bridge, 0x0806, arp.to_vec()));
        out
    }

    fn packet_strategy() -> impl Strategy<Value = Vec<u8>> {
        let payloads = payloads();
        (
            0..payloads.len(),
            any::<Option<usize>>(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            (
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..12)),
                proptest::option::of(0u32..5),
                proptest::option::of(0u32..5),
                proptest::option::of(any::<u32>()),
                any::<Option<u32>>(),
                any::<Option<u32>>(),
                proptest::option::of(any::<(u64, u64)>()),
                0u8..5,
            ),
            prop_oneof![
                Just(None),
                Just(Some((vec![2, 0, 0, 0, 0, 9], 1u16, 14u16))),
                Just(Some((vec![2, 0, 0, 0, 0, 9], 0u16, 0u16))),
            ],
            any::<bool>(),
            (any::<bool>(), proptest::option::of(0u32..8)),
        )
            .prop_map(
                move |(which, cut, flips, meta, hw, with_payload, (ct, ct_info))| {
                    let (family, ethertype, mut payload) = payloads[which].clone();
                    for (at, byte) in flips {
                        let len = payload.len();
                        payload[at % len] ^= byte;
                    }
                    if let Some(cut) = cut {
                        payload.truncate(cut % (payload.len() + 1));
                    }
                    let (prefix, indev, outdev, mark, uid, seq, timestamp, hook) = meta;
                    let (hwaddr, hwtype, hwlen, hwheader) = match hw {
                        Some((addr, hwtype, hwlen)) => {
                            let mut header = vec![2, 0, 0, 0, 0, 1];
                            header.extend_from_slice(&addr);
                            header.extend_from_slice(&ethertype.to_be_bytes());
                            (Some(addr), Some(hwtype), Some(hwlen), Some(header))
                        }
                        None => (None, None, None, None),
                    };
                    PacketRepr {
                        family,
                        group: 7,
                        hw_protocol: ethertype,
                        hook,
                        prefix,
                        indev,
                        outdev,
                        mark,
                        uid,
                        gid: uid.map(|uid| uid / 2),
                        seq,
                        seq_global: seq.map(|seq| seq + 1),
                        timestamp: timestamp.map(|(sec, usec)| (sec % (1 << 40), usec % 1_000_000)),
                        hwaddr,
                        hwtype,
                        hwlen,
                        hwheader,
                        payload: with_payload.then_some(payload),
                        conntrack: ct.then(|| {
                            crate::conntrack::tests::host_order(
                                &crate::conntrack::tests::TCP_ESTABLISHED,
                            )
                        }),
                        ct_info,
                        ..PacketRepr::default()
                    }
                    .to_bytes()
                },
            )
    }

    proptest! {
        #[test]
        fn every_column_equals_its_json_key(body in packet_strategy()) {
            check_against_json(&body)?;
        }
    }

    #[test]
    fn the_columns_have_unique_names_in_ulogd2s_spelling() {
        let mut names = HashSet::new();
        for column in COLUMNS {
            assert!(names.insert(column.name), "{} twice", column.name);
            assert!(
                column
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                column.name
            );
            if let Some(key) = column.json {
                if !["src_port", "dest_port", "src_ip", "dest_ip"].contains(&key) {
                    assert_eq!(key.replace('.', "_"), column.name);
                }
            }
            assert!(
                !column.doc.is_empty() && column.doc.ends_with('.'),
                "{}",
                column.name
            );
        }
        // The names queries written for ulogd2's SQL plugins use.
        for name in [
            "oob_time_sec",
            "oob_prefix",
            "oob_in",
            "oob_out",
            "oob_mark",
            "oob_uid",
            "oob_gid",
            "ip_saddr_str",
            "ip_daddr_str",
            "ip_protocol",
            "tcp_sport",
            "tcp_dport",
            "udp_sport",
            "udp_dport",
            "icmp_type",
            "raw_pktlen",
            "mac_saddr_str",
            "orig_ip_saddr_str",
        ] {
            assert!(names.contains(name), "{name}");
        }
    }

    #[test]
    fn a_row_refilled_keeps_nothing_of_the_last_packet() {
        let with = PacketRepr {
            group: 5,
            hook: 1,
            prefix: Some(b"first".to_vec()),
            indev: Some(2),
            ..PacketRepr::default()
        }
        .to_bytes();
        let without = PacketRepr {
            group: 6,
            hook: 3,
            ..PacketRepr::default()
        }
        .to_bytes();
        let mut row = Row::new();
        row.fill(&Packet::parse(&with).unwrap(), received(), &mut Names);
        assert_eq!(row.get("oob_prefix"), Some(Value::Text("first")));
        assert_eq!(row.get("oob_in"), Some(Value::Text("eth0")));
        row.fill(&Packet::parse(&without).unwrap(), received(), &mut Names);
        assert_eq!(row.get("oob_prefix"), Some(Value::Null));
        assert_eq!(row.get("oob_in"), Some(Value::Text("")));
        assert_eq!(row.get("nflog_group"), Some(Value::Int(6)));
        assert_eq!(row.value(COLUMNS.len()), Value::Null);
    }

    #[test]
    fn an_interface_without_a_utf8_name_is_written_as_json_writes_it() {
        let body = PacketRepr {
            hook: 1,
            indev: Some(3),
            outdev: Some(9),
            ..PacketRepr::default()
        }
        .to_bytes();
        check_against_json(&body).unwrap();
        let mut row = Row::new();
        row.fill(&Packet::parse(&body).unwrap(), received(), &mut Names);
        assert_eq!(row.get("oob_in"), Some(Value::Text("caf\\xe9\\\\x")));
        assert_eq!(row.get("oob_out"), Some(Value::Text("if:9")));
    }

    #[test]
    fn a_row_with_raw_keeps_the_packet_bytes_and_a_plain_row_does_not() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let body = PacketRepr {
            payload: Some(bytes.clone()),
            ..PacketRepr::default()
        }
        .to_bytes();
        let meta = PacketRepr::default().to_bytes();
        let mut raw = Row::with_raw();
        assert_eq!(raw.columns().last(), Some(&RAW_PKT));
        assert_eq!(raw.columns().len(), COLUMNS.len() + 1);
        assert_eq!(&raw.columns()[..COLUMNS.len()], COLUMNS);
        raw.fill(&Packet::parse(&body).unwrap(), received(), &mut Names);
        assert_eq!(raw.get("raw_pkt"), Some(Value::Bytes(&bytes)));
        assert_eq!(raw.get("raw_pktlen"), Some(Value::Int(300)));
        assert_eq!(raw.values().count(), COLUMNS.len() + 1);
        // Copy mode meta: no bytes, NULL, and nothing left of the packet before.
        raw.fill(&Packet::parse(&meta).unwrap(), received(), &mut Names);
        assert_eq!(raw.get("raw_pkt"), Some(Value::Null));
        let mut plain = Row::new();
        plain.fill(&Packet::parse(&body).unwrap(), received(), &mut Names);
        assert_eq!(plain.get("raw_pkt"), None);
        assert_eq!(plain.values().count(), COLUMNS.len());
        assert_eq!(plain.value(COLUMNS.len()), Value::Null);
        // Its name in ulogd2's spelling, unique among the others.
        assert!(COLUMNS.iter().all(|c| c.name != RAW_PKT.name));
    }
}
