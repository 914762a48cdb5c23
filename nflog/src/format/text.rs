//! The text format: ulogd2 LOGEMU lines; see [`TextFormat`].

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

use super::clock::{Calendar, TimeZone};
use super::names::{push_pieces, shown_as_is};
use super::put::{
    push_dec, push_hex, push_hex_byte, push_hex_bytes, push_ipv4_addr, push_ipv6_addr,
    push_two_digits, FixedLine, LineRoom, Put,
};
use crate::conntrack::{Conntrack, CtInfo};
use crate::decode::{
    self, Ah, Arp, Cut, Decoded, Esp, Icmp, Ipv4, Ipv6, Network, Sctp, Tcp, Transport,
};
use crate::format::ResolveInterface;
use crate::wire::family::Family;
use crate::wire::kind::PacketAttr;
use crate::wire::packet::Packet;
use crate::wire::proto::{
    ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_AH, IPPROTO_ESP, IPPROTO_ICMP,
    IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
};

/// The text format: one line per packet as ulogd2's LOGEMU writes it, the line firewall
/// administrators, fail2ban and logwatch already read.
///
/// ```text
/// Nov 28 04:35:06 golden in IN=lo OUT= MAC=00:00:00:00:00:00:00:00:00:00:00:00:08:00 SRC=127.0.0.1 DST=127.0.0.1 LEN=33 TOS=00 PREC=0x00 TTL=64 ID=9387 DF PROTO=UDP SPT=40000 DPT=5353 LEN=13 MARK=0x0 GROUP=6
/// ```
///
/// The grammar is ulogd2 2.0.8's `PRINTPKT` behind `LOGEMU` (docs/formats-reference.md,
/// section 1): `Mmm dd HH:MM:SS host `, the prefix and a space when the packet has a prefix
/// attribute (an empty one gives two spaces), `IN= OUT= `, `MAC=` with the hardware header,
/// the IPv4, IPv6, ARP or bridge part, `UID= GID= ` when present, `MARK=0x..` always, and a
/// space before the newline. For the packets of the golden run (`tests/text_golden.rs`) our
/// line is ulogd's byte for byte, once `GROUP=` is taken out.
///
/// # Where we differ from ulogd2, on purpose
///
/// Where ulogd2 is plainly wrong we do what the kernel's LOG target does
/// (`net/netfilter/nf_log_syslog.c`):
///
/// - **ICMP extras by type.** ulogd2 switches on the ICMP *code*, so every code-0 message
///   gets `ID=0 SEQ=0` and no message ever gets `MTU=`. We print `ID= SEQ=` for echo request
///   and reply (types 8, 0), `PARAMETER=` for parameter problem (12), `GATEWAY=` for
///   redirect (5), `MTU=` for "fragmentation needed" (type 3 code 4). ICMPv6: `ID= SEQ=` for
///   echo (128, 129) as ulogd2, and `MTU=` for packet too big (2) as the kernel.
/// - **`INCOMPLETE ` has its space.** ulogd2 glues the next token on (`INCOMPLETEMARK=0x0`).
/// - **Later fragments show no ports.** ulogd2 reads the fragment's data as a transport
///   header (`FRAG:160 PROTO=UDP SPT=16705 DPT=16705 LEN=16705`, or `INCOMPLETE` for IPv6).
///   The kernel prints `PROTO=UDP ` and stops; so do we, for IPv4 and IPv6.
/// - **ESP and AH show their SPI** (`PROTO=ESP SPI=0x..`), as PRINTPKT means to and the
///   kernel does; ulogd2's BASE never decodes them (its code is `#if 0`), so it prints
///   `PROTO=ESP INCOMPLETE` for a complete header.
/// - **A header that is not there is not printed as zeros.** ulogd2 prints
///   `LEN=0 TOS=00 PREC=0x00 TTL=0 ID=0 PROTO=0` for an IPv4 family packet without payload
///   (copy mode meta) or with a payload too short for an IP header. In meta mode we print no
///   network part (the line goes from `MAC=` to `MARK=`); a payload cut inside the IP header
///   gives `TRUNCATED ` (the kernel's word), bytes that are no IP header `MALFORMED `.
/// - **A malformed TCP header** (data offset below 5) still shows its fields, as the kernel
///   and ulogd2 do; an ARP packet cut short shows what it has, then `INCOMPLETE `.
/// - **Interface names** come from the resolver. An index it cannot name (`-n`, a capture
///   file read, an interface gone) is written `if:3` (`IN=if:3`): no interface can be named
///   that, as the kernel refuses `:` in names, whereas a bare `3` could be an interface's
///   name. ulogd2 prints the name of the previous packet in that case (a stale buffer), or
///   nothing. A name that is not UTF-8 is written with each byte that is not as `\xNN`
///   (`IN=caf\xe9`), a backslash in it as `\\` (the JSON format's `oob.in` and `oob.out`
///   say the same, the same way).
/// - **Control characters** in the prefix, host or interface names are written `\xNN`, so a
///   packet is always exactly one line, and a **backslash** is written `\\`, so that a
///   prefix holding the four characters `\x0a` (written `\\x0a`) cannot be mistaken for one
///   holding a newline (written `\x0a`). ulogd2 writes both raw; other bytes are written
///   as they are, as ulogd2 does.
///
/// Kept as ulogd2 writes them, although the kernel differs: `TOS=%02X` without `0x`, `SEQ=`
/// and `ACK=` always, no `RES=`/`CWR`/`ECE`, `URGP=0` unless URG is set, `MARK=0x0` always,
/// `MAC= ` on OUTPUT, `PROTO=SCTP SPT= DPT=`, `PROTO=136` for UDP-Lite, compressed IPv6
/// addresses (glibc's `inet_ntop`, `::1.2.3.4` included), `FRAG: n ID: %08x` for IPv6
/// fragments, and ARP as `SRC= DST= PROTO=ARP REQUEST|REPLY|NAK|CODE=n [REPLY_MAC=]`.
///
/// # Additions
///
/// - `PHYSIN=name ` and `PHYSOUT=name ` (bridge ports, with br_netfilter or in the bridge
///   family) right after `OUT=`, where the kernel's LOG target puts them and where every
///   parser of kernel lines already meets them; like the kernel, only when the port differs
///   from `IN`/`OUT`. ulogd2 never prints them.
/// - The conntrack entry (`--conntrack`, flag CONNTRACK), after `MARK=`, each field only
///   when the kernel sent it: `CTID=` (the entry's id), `CTSTATE=` (how this packet
///   relates to it: `NEW`, `ESTABLISHED`, `RELATED`, `ESTABLISHED_REPLY`,
///   `RELATED_REPLY`), `CTSTATUS=` (the `IPS_*` bits: `SEEN_REPLY|ASSURED|CONFIRMED`),
///   `CTMARK=0x..`, `CTZONE=`, then each direction's tuple and counters, `ORIGSRC=
///   ORIGDST= ORIGPROTO= ORIGSPT= ORIGDPT= ` (`ORIGID= ORIGTYPE= ORIGCODE=` for ICMP)
///   `ORIGPKTS= ORIGBYTES=` and the same with `REPLY`. The words of ulogd2's PRINTFLOW
///   with the direction glued on, so that no key repeats the packet's own `SRC=`, `DST=`.
/// - `GROUP=n ` last, before the newline: the NFLOG group the packet came from.
///
/// The bridge (family 7) and netdev (5) parts follow the EtherType: IPv4, IPv6 or ARP as
/// above, anything else `PROTO=<EtherType in decimal> `.
#[derive(Debug, Clone)]
pub struct TextFormat {
    /// The start of the line for the last second shown: time and host.
    calendar: Calendar,
    host: Vec<u8>,
    /// Whether lines start with the time and host (`Mmm dd HH:MM:SS host `).
    header: bool,
    /// The room the line is written in.
    room: Box<LineRoom>,
    /// A line that does not fit in `room`, reused from packet to packet.
    line: Vec<u8>,
}

impl Default for TextFormat {
    fn default() -> Self {
        TextFormat::new()
    }
}

impl TextFormat {
    /// Local time, and this machine's host name up to its first `.` (as LOGEMU does).
    pub fn new() -> Self {
        let uname = rustix::system::uname();
        let node = uname.nodename().to_bytes();
        let host = node.split(|&b| b == b'.').next().unwrap_or_default();
        TextFormat {
            calendar: Calendar::new(TimeZone::Local),
            host: host.to_vec(),
            header: true,
            room: LineRoom::new(),
            line: Vec::new(),
        }
    }

    /// Writes times in `tz` instead of local time.
    pub fn time_zone(mut self, tz: TimeZone) -> Self {
        self.calendar = Calendar::new(tz);
        self
    }

    /// Writes `name` as the host name, as it is (not cut at a `.`).
    pub fn hostname(mut self, name: &str) -> Self {
        self.host = name.as_bytes().to_vec();
        // The cached start of the line holds the host.
        self.calendar = Calendar::new(self.calendar.zone());
        self
    }

    /// Leaves out the time and host that start each line: the line from the prefix on, as
    /// the kernel's LOG target hands it to syslog and ulogd2's SYSLOG output sends it (the
    /// syslog header carries the time and host).
    pub fn without_time_and_host(mut self) -> Self {
        self.header = false;
        self
    }

    /// Writes one line for `packet`, ending in `" \n"`, with one `write_all`.
    ///
    /// `received` is shown for packets without a kernel timestamp (OUTPUT, POSTROUTING);
    /// `names` names interfaces (an index it cannot name is printed as a number).
    ///
    /// # Errors
    ///
    /// Those of `out`.
    pub fn write<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        let calendar = self.header.then_some(&mut self.calendar);
        let line = FixedLine::new(&mut self.room);
        let line = write_line(line, calendar, &self.host, packet, received, names);
        if let Some(line) = line.written() {
            return out.write_all(line);
        }
        // Longer than the room: written again, into a `Vec` that grows.
        self.line.clear();
        let calendar = self.header.then_some(&mut self.calendar);
        let line = std::mem::take(&mut self.line);
        self.line = write_line(line, calendar, &self.host, packet, received, names);
        out.write_all(&self.line)
    }
}

/// Writes the line of one packet, starting with the time and `host` when given a calendar.
// Perf: the line taken and given back by value, and the writers it calls on the common
// path inlined, so that a `FixedLine`'s place stays in a register (figures:
// docs/benchmarks.md, "Code shaped for speed").
fn write_line<P: Put>(
    mut line: P,
    calendar: Option<&mut Calendar>,
    host: &[u8],
    packet: &Packet<&[u8]>,
    received: SystemTime,
    names: &mut dyn ResolveInterface,
) -> P {
    if let Some(calendar) = calendar {
        let (second, _) = calendar.packet_parts(packet, received);
        let (start, _) = calendar.text(second, |text, moment| {
            push_ctime(text, &moment.time);
            text.push(b' ');
            push_text(text, host);
            text.push(b' ');
            [0; 2]
        });
        start.push(&mut line, 0, usize::MAX);
    }
    if let Some(prefix) = packet.attribute(PacketAttr::Prefix) {
        push_prefix(&mut line, prefix);
        line.push(b' ');
    }
    line.put(b"IN=");
    push_interface(&mut line, names, packet.indev());
    line.put(b" OUT=");
    push_interface(&mut line, names, packet.outdev());
    line.push(b' ');
    // nf_log_syslog.c: "if (physindev && in != physindev)", likewise for physoutdev.
    if let Some(port) = packet.physindev().filter(|&p| Some(p) != packet.indev()) {
        line.put(b"PHYSIN=");
        push_interface(&mut line, names, Some(port));
        line.push(b' ');
    }
    if let Some(port) = packet.physoutdev().filter(|&p| Some(p) != packet.outdev()) {
        line.put(b"PHYSOUT=");
        push_interface(&mut line, names, Some(port));
        line.push(b' ');
    }
    push_mac(&mut line, packet);
    line = push_family_part(line, packet);
    if let Some(uid) = packet.uid() {
        line.put(b"UID=");
        push_dec(&mut line, uid);
        line.push(b' ');
    }
    if let Some(gid) = packet.gid() {
        line.put(b"GID=");
        push_dec(&mut line, gid);
        line.push(b' ');
    }
    // ulogd2's NFLOG input always sets oob.mark (0 without NFULA_MARK).
    line.put(b"MARK=0x");
    push_hex(&mut line, packet.mark().unwrap_or(0).into(), 1, false);
    line.push(b' ');
    // A malformed NFULA_CT writes none of its fields.
    if let Ok(Some(ct)) = Conntrack::from_packet(packet) {
        line = push_conntrack(line, &ct, CtInfo::from_packet(packet));
    }
    line.put(b"GROUP=");
    push_dec(&mut line, packet.group());
    line.put(b" \n");
    line
}

/// The conntrack fields, each followed by a space (see [`TextFormat`], "Additions").
fn push_conntrack<P: Put>(mut line: P, ct: &Conntrack<'_>, info: Option<CtInfo>) -> P {
    if let Some(id) = ct.id() {
        line.put(b"CTID=");
        push_dec(&mut line, id);
        line.push(b' ');
    }
    if let Some(info) = info {
        line.put(b"CTSTATE=");
        match info.name() {
            Some(name) => line.put(name.as_bytes()),
            None => push_dec(&mut line, info.number()),
        }
        line.push(b' ');
    }
    if let Some(status) = ct.status() {
        line.put(b"CTSTATUS=");
        line.put(status.to_string().as_bytes());
        line.push(b' ');
    }
    if let Some(mark) = ct.mark() {
        line.put(b"CTMARK=0x");
        push_hex(&mut line, mark.into(), 1, false);
        line.push(b' ');
    }
    if let Some(zone) = ct.zone() {
        line.put(b"CTZONE=");
        push_dec(&mut line, zone);
        line.push(b' ');
    }
    for (direction, tuple, counters) in [
        (&b"ORIG"[..], ct.original(), ct.counters_original()),
        (b"REPLY", ct.reply(), ct.counters_reply()),
    ] {
        if let Some(tuple) = tuple {
            for (name, addr) in [(&b"SRC="[..], tuple.src), (b"DST=", tuple.dst)] {
                if let Some(addr) = addr {
                    push_key(&mut line, direction, name);
                    match addr {
                        IpAddr::V4(addr) => push_ipv4_addr(&mut line, addr),
                        IpAddr::V6(addr) => line.put_with(|line| push_ipv6_addr(line, &addr)),
                    }
                    line.push(b' ');
                }
            }
            if let Some(protocol) = tuple.protocol {
                push_key(&mut line, direction, b"PROTO=");
                match protocol_name(protocol) {
                    Some(name) => line.put(name),
                    None => push_dec(&mut line, protocol),
                }
                line.push(b' ');
            }
            for (name, value) in [
                (&b"SPT="[..], tuple.src_port),
                (b"DPT=", tuple.dst_port),
                (b"ID=", tuple.icmp_id),
                (b"TYPE=", tuple.icmp_type.map(u16::from)),
                (b"CODE=", tuple.icmp_code.map(u16::from)),
            ] {
                if let Some(value) = value {
                    push_key(&mut line, direction, name);
                    push_dec(&mut line, value);
                    line.push(b' ');
                }
            }
        }
        if let Some(counters) = counters {
            push_key(&mut line, direction, b"PKTS=");
            push_dec(&mut line, counters.packets);
            line.push(b' ');
            push_key(&mut line, direction, b"BYTES=");
            push_dec(&mut line, counters.bytes);
            line.push(b' ');
        }
    }
    line
}

/// `ORIGSRC=`, `REPLYDPT=`, ...: a conntrack direction and a field.
#[inline]
fn push_key(line: &mut impl Put, direction: &[u8], name: &[u8]) {
    line.put(direction);
    line.put(name);
}

/// The name `PROTO=` gives a transport protocol in a conntrack tuple.
fn protocol_name(protocol: u8) -> Option<&'static [u8]> {
    Some(match protocol {
        IPPROTO_TCP => b"TCP",
        IPPROTO_UDP => b"UDP",
        IPPROTO_ICMP => b"ICMP",
        IPPROTO_ICMPV6 => b"ICMPv6",
        IPPROTO_SCTP => b"SCTP",
        _ => return None,
    })
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `Mmm dd HH:MM:SS`: characters 4 to 18 of `ctime()`, the day padded with a space.
pub(super) fn push_ctime(line: &mut Vec<u8>, time: &DateTime<FixedOffset>) {
    // Perf: the calendar fields of a DateTime<FixedOffset> each add the offset again
    // (`naive_local`); the local date and time once, then its fields.
    let time = time.naive_local();
    line.extend_from_slice(MONTHS[time.month0() as usize % 12]);
    line.push(b' ');
    let day = time.day();
    if day < 10 {
        line.push(b' ');
    }
    push_dec(line, day);
    line.push(b' ');
    push_two_digits(line, time.hour());
    line.push(b':');
    push_two_digits(line, time.minute());
    line.push(b':');
    push_two_digits(line, time.second());
}

/// An interface as [`interface_pieces`] shows it (its name, escaped; `if:N` when unnamed),
/// nothing for none or index 0 (as ulogd2's IFINDEX writes "" for 0).
#[inline]
pub(super) fn push_interface(
    line: &mut impl Put,
    names: &mut dyn ResolveInterface,
    index: Option<u32>,
) {
    let Some(index) = index.filter(|&i| i != 0) else {
        return;
    };
    let name = names.interface_name_bytes(index);
    if let Some(name) = name.filter(|name| name.iter().all(|&byte| shown_as_is(byte))) {
        line.put(name);
        return;
    }
    let plain: fn(&mut Vec<u8>, &str) = |line, text| line.extend_from_slice(text.as_bytes());
    line.put_with(|line| push_pieces(line, name, index, plain, b"\\"));
}

/// `MAC=` and the hardware header, `hh:hh:...` in lowercase, or `MAC= ` without one.
// Perf: inlined, and a packet without a hardware header (every one logged at OUTPUT and
// POSTROUTING) writes `MAC= ` as one constant, with no call (figures: docs/benchmarks.md,
// "Code shaped for speed").
#[inline]
fn push_mac(line: &mut impl Put, packet: &Packet<&[u8]>) {
    let header = packet.hwheader().unwrap_or_default();
    // ulogd2 prints NFULA_HWLEN bytes of NFULA_HWHEADER; never more than there are.
    let len = packet
        .hwlen()
        .map_or(header.len(), usize::from)
        .min(header.len());
    if len == 0 {
        line.put(b"MAC= ");
        return;
    }
    line.put(b"MAC=");
    line.put_with(|line| push_hex_bytes(line, &header[..len], Some(b':')));
    line.push(b' ');
}

/// The part after `MAC=`, chosen by family, and by EtherType for bridge and netdev.
#[inline]
// Perf: the line taken and given back by value, as `push_network` takes it, which the
// compiler keeps out of line: the line of `write_line` is then never borrowed by a call,
// and its place stays in a register (figures: docs/benchmarks.md, "Code shaped for speed").
fn push_family_part<P: Put>(mut line: P, packet: &Packet<&[u8]>) -> P {
    match packet.family() {
        Family::Ipv4 | Family::Ipv6 | Family::Arp => push_network(line, packet),
        Family::Bridge | Family::Netdev => match packet.hw_protocol() {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 | ETHERTYPE_ARP => push_network(line, packet),
            ethertype => {
                line.put(b"PROTO=");
                push_dec(&mut line, ethertype);
                line.push(b' ');
                line
            }
        },
        // ulogd2 prints nothing for another family.
        _ => line,
    }
}

/// The IPv4, IPv6 or ARP part of a packet whose payload should hold one.
#[inline]
fn push_network<P: Put>(mut line: P, packet: &Packet<&[u8]>) -> P {
    // Copy mode meta: no payload, nothing to say (ulogd2 prints a line of zeros).
    let Some(payload) = packet.payload() else {
        return line;
    };
    let decoded = decode::decode(packet);
    match decoded.network {
        Some(Network::Ipv4(ip)) => push_ipv4(&mut line, &ip, &decoded, payload),
        Some(Network::Ipv6(ip)) => push_ipv6(&mut line, &ip, &decoded, payload),
        Some(Network::Arp(arp)) => push_arp(&mut line, Some(&arp), decoded.cut.is_some()),
        None if packet.family() == Family::Arp || packet.hw_protocol() == ETHERTYPE_ARP => {
            push_arp(&mut line, None, true);
        }
        None => match decoded.cut {
            Some(Cut::Malformed(_)) => line.put(b"MALFORMED "),
            _ => line.put(b"TRUNCATED "),
        },
    }
    line
}

#[inline]
fn push_ipv4(line: &mut impl Put, ip: &Ipv4, decoded: &Decoded, payload: &[u8]) {
    line.put(b"SRC=");
    push_ipv4_addr(line, ip.src);
    line.put(b" DST=");
    push_ipv4_addr(line, ip.dst);
    line.put(b" LEN=");
    push_dec(line, ip.total_len);
    // printpkt.c: TOS = tos & IPTOS_TOS_MASK (0x1E) without "0x", PREC = tos & 0xE0.
    line.put(b" TOS=");
    push_hex_byte(line, ip.tos & 0x1e, true);
    line.put(b" PREC=0x");
    push_hex_byte(line, ip.tos & 0xe0, true);
    line.put(b" TTL=");
    push_dec(line, ip.ttl);
    line.put(b" ID=");
    push_dec(line, ip.id);
    line.push(b' ');
    if ip.reserved_flag {
        line.put(b"CE ");
    }
    if ip.dont_fragment {
        line.put(b"DF ");
    }
    if ip.more_fragments {
        line.put(b"MF ");
    }
    if ip.fragment_offset != 0 {
        line.put(b"FRAG:");
        push_dec(line, ip.fragment_offset);
        line.push(b' ');
    }
    // The bytes after the IP header, for what `decode` does not follow (SCTP, ESP, AH).
    let rest = || upper_layer(decoded, payload);
    push_protocol(
        line,
        false,
        ip.protocol,
        ip.fragment_offset != 0,
        decoded,
        rest,
    );
}

#[inline]
fn push_ipv6(line: &mut impl Put, ip: &Ipv6, decoded: &Decoded, payload: &[u8]) {
    line.put(b"SRC=");
    line.put_with(|line| push_ipv6_addr(line, &ip.src));
    line.put(b" DST=");
    line.put_with(|line| push_ipv6_addr(line, &ip.dst));
    line.put(b" LEN=");
    push_dec(line, u32::from(ip.payload_len) + 40);
    line.put(b" TC=");
    push_dec(line, ip.traffic_class);
    line.put(b" HOPLIMIT=");
    push_dec(line, ip.hop_limit);
    line.put(b" FLOWLBL=");
    push_dec(line, ip.flow_label);
    line.push(b' ');
    let mut later_fragment = false;
    if let Some(fragment) = ip.fragment {
        // printpkt.c: "FRAG: %u ID: %08x ", the offset in bytes (offlg & 0xfff8).
        line.put(b"FRAG: ");
        push_dec(line, u32::from(fragment.offset) * 8);
        line.put(b" ID: ");
        push_hex(line, fragment.id.into(), 8, false);
        line.push(b' ');
        later_fragment = fragment.offset != 0;
    }
    let rest = || upper_layer(decoded, payload);
    push_protocol(line, true, ip.protocol, later_fragment, decoded, rest);
}

/// The bytes after the network headers; empty when those are cut.
fn upper_layer<'a>(decoded: &Decoded, payload: &'a [u8]) -> &'a [u8] {
    decoded
        .upper_layer
        .and_then(|at| payload.get(at..))
        .unwrap_or_default()
}

/// The transport part: `PROTO=...` and the header's fields.
///
/// `rest` gives the bytes after the network headers; it is called only for what `decode`
/// does not read.
#[inline]
fn push_protocol<'a>(
    line: &mut impl Put,
    v6: bool,
    protocol: u8,
    later_fragment: bool,
    decoded: &Decoded,
    rest: impl Fn() -> &'a [u8],
) {
    let name: &[u8] = match protocol {
        IPPROTO_TCP => b"TCP",
        IPPROTO_UDP => b"UDP",
        IPPROTO_SCTP => b"SCTP",
        IPPROTO_ESP => b"ESP",
        IPPROTO_AH => b"AH",
        IPPROTO_ICMP if !v6 => b"ICMP",
        IPPROTO_ICMPV6 if v6 => b"ICMPv6",
        _ => {
            line.put(b"PROTO=");
            push_dec(line, protocol);
            line.push(b' ');
            // An extension header was cut: `protocol` is that header's number.
            if matches!(decoded.cut, Some(Cut::Extension)) {
                line.put(b"INCOMPLETE ");
            }
            return;
        }
    };
    line.put(b"PROTO=");
    line.put(name);
    line.push(b' ');
    // nf_log_syslog.c: a fragment with a non-zero offset has no transport header; the
    // kernel prints "PROTO=TCP " (UDP, ICMP) and nothing more.
    if later_fragment {
        return;
    }
    let complete = match (protocol, decoded.transport) {
        (IPPROTO_TCP, Some(Transport::Tcp(tcp))) => push_tcp(line, &tcp),
        // A data offset below 5 is malformed, but the fixed fields are there to print.
        (IPPROTO_TCP, _) => Tcp::parse_fixed(rest()).is_some_and(|tcp| push_tcp(line, &tcp)),
        (IPPROTO_UDP, Some(Transport::Udp(udp))) => {
            line.put(b"SPT=");
            push_dec(line, udp.src_port);
            line.put(b" DPT=");
            push_dec(line, udp.dst_port);
            line.put(b" LEN=");
            push_dec(line, udp.len);
            line.push(b' ');
            true
        }
        (IPPROTO_ICMP, Some(Transport::Icmpv4(icmp))) => push_icmp(line, &icmp),
        (IPPROTO_ICMPV6, Some(Transport::Icmpv6(icmp))) => push_icmpv6(line, &icmp),
        // ulogd2's BASE needs a whole `struct sctphdr` (12 bytes).
        (IPPROTO_SCTP, _) => Sctp::parse(rest()).is_some_and(|sctp| {
            line.put(b"SPT=");
            push_dec(line, sctp.src_port);
            line.put(b" DPT=");
            push_dec(line, sctp.dst_port);
            line.push(b' ');
            true
        }),
        // nf_log_syslog.c needs a whole `struct ip_esp_hdr` (8 bytes), SPI first ...
        (IPPROTO_ESP, _) => Esp::parse(rest()).is_some_and(|esp| push_spi(line, esp.spi)),
        // ... and a whole `struct ip_auth_hdr` (12 bytes), SPI at offset 4.
        (IPPROTO_AH, _) => Ah::parse(rest()).is_some_and(|ah| push_spi(line, ah.spi)),
        _ => false,
    };
    if !complete {
        line.put(b"INCOMPLETE ");
    }
}

/// `SPT= DPT= SEQ= ACK= WINDOW= ` the flags `URGP=`, as printpkt.c writes them.
#[inline]
fn push_tcp(line: &mut impl Put, tcp: &Tcp) -> bool {
    line.put(b"SPT=");
    push_dec(line, tcp.src_port);
    line.put(b" DPT=");
    push_dec(line, tcp.dst_port);
    line.put(b" SEQ=");
    push_dec(line, tcp.seq);
    line.put(b" ACK=");
    push_dec(line, tcp.ack_seq);
    line.put(b" WINDOW=");
    push_dec(line, tcp.window);
    line.push(b' ');
    for (flag, name) in [
        (Tcp::URG, &b"URG "[..]),
        (Tcp::ACK, b"ACK "),
        (Tcp::PSH, b"PSH "),
        (Tcp::RST, b"RST "),
        (Tcp::SYN, b"SYN "),
        (Tcp::FIN, b"FIN "),
    ] {
        if tcp.has(flag) {
            line.put(name);
        }
    }
    // ulogd2's BASE sets tcp.urgp only when URG is set.
    line.put(b"URGP=");
    push_dec(line, if tcp.has(Tcp::URG) { tcp.urgent_ptr } else { 0 });
    line.push(b' ');
    true
}

#[inline]
fn push_spi(line: &mut impl Put, spi: u32) -> bool {
    line.put(b"SPI=0x");
    push_hex(line, spi.into(), 1, false);
    line.push(b' ');
    true
}

/// `TYPE= CODE= ` and the extra field of the type (nf_log_syslog.c switches on the type;
/// ulogd2 on the code, which is its bug).
#[inline]
fn push_icmp(line: &mut impl Put, icmp: &Icmp) -> bool {
    push_type_code(line, icmp);
    let [r0, r1, r2, r3] = icmp.rest;
    match icmp.icmp_type {
        // Echo reply, echo request.
        0 | 8 => push_echo(line, icmp),
        // Parameter problem: the pointer, the first byte after the checksum.
        12 => {
            line.put(b"PARAMETER=");
            push_dec(line, r0);
            line.push(b' ');
        }
        // Redirect.
        5 => {
            line.put(b"GATEWAY=");
            push_ipv4_addr(line, Ipv4Addr::new(r0, r1, r2, r3));
            line.push(b' ');
        }
        // Destination unreachable, fragmentation needed: the next-hop MTU.
        3 if icmp.code == 4 => {
            line.put(b"MTU=");
            push_dec(line, u16::from_be_bytes([r2, r3]));
            line.push(b' ');
        }
        _ => {}
    }
    true
}

/// `TYPE= CODE= `, `ID= SEQ= ` for echo, `MTU= ` for packet too big.
#[inline]
fn push_icmpv6(line: &mut impl Put, icmp: &Icmp) -> bool {
    push_type_code(line, icmp);
    match icmp.icmp_type {
        128 | 129 => push_echo(line, icmp),
        2 => {
            line.put(b"MTU=");
            push_dec(line, u32::from_be_bytes(icmp.rest));
            line.push(b' ');
        }
        _ => {}
    }
    true
}

#[inline]
fn push_type_code(line: &mut impl Put, icmp: &Icmp) {
    line.put(b"TYPE=");
    push_dec(line, icmp.icmp_type);
    line.put(b" CODE=");
    push_dec(line, icmp.code);
    line.push(b' ');
}

#[inline]
fn push_echo(line: &mut impl Put, icmp: &Icmp) {
    let [r0, r1, r2, r3] = icmp.rest;
    line.put(b"ID=");
    push_dec(line, u16::from_be_bytes([r0, r1]));
    line.put(b" SEQ=");
    push_dec(line, u16::from_be_bytes([r2, r3]));
    line.push(b' ');
}

/// printpkt.c `printpkt_arp`: `SRC= DST= PROTO=ARP ` and the operation.
#[inline]
fn push_arp(line: &mut impl Put, arp: Option<&Arp>, cut: bool) {
    let addresses = arp.and_then(|arp| arp.ethernet_ipv4);
    if let Some(addresses) = addresses {
        line.put(b"SRC=");
        push_ipv4_addr(line, addresses.sender_ip);
        line.put(b" DST=");
        push_ipv4_addr(line, addresses.target_ip);
        line.push(b' ');
    }
    line.put(b"PROTO=ARP ");
    if let Some(arp) = arp {
        match arp.operation {
            1 => line.put(b"REQUEST "),
            2 => line.put(b"REPLY "),
            // ARPOP_NAK
            10 => line.put(b"NAK "),
            code => {
                line.put(b"CODE=");
                push_dec(line, code);
                line.push(b' ');
            }
        }
        if let (2, Some(addresses)) = (arp.operation, addresses) {
            line.put(b"REPLY_MAC=");
            line.put_with(|line| push_hex_bytes(line, &addresses.sender_mac, Some(b':')));
            line.push(b' ');
        }
    }
    if cut {
        line.put(b"INCOMPLETE ");
    }
}

/// The value of a packet's prefix attribute as the line shows it: up to its terminating NUL
/// ([`Packet::prefix_bytes`]), through [`push_text`].
// Perf: one look at each byte finds both where the prefix ends and that nothing in it needs
// escaping, the common case, where the NUL and the escapes took a walk each (figures:
// docs/benchmarks.md, "Code shaped for speed").
#[inline]
fn push_prefix(line: &mut impl Put, value: &[u8]) {
    let plain = value
        .iter()
        .position(|&byte| byte < 0x20 || byte == 0x7f || byte == b'\\')
        .unwrap_or(value.len());
    match value.get(plain) {
        None | Some(0) => line.put(&value[..plain]),
        Some(_) => {
            let end = value.iter().position(|&byte| byte == 0);
            line.put_with(|line| push_text(line, &value[..end.unwrap_or(value.len())]));
        }
    }
}

/// Text from the packet or the user: as it is, but control characters as `\xNN`, so that
/// a packet stays one line, and the backslash as `\\`, so that an escape cannot be forged
/// by the text itself.
pub(super) fn push_text(line: &mut Vec<u8>, text: &[u8]) {
    // Perf: prefixes nearly always have nothing to escape: one look at each byte, one copy.
    if text
        .iter()
        .all(|&byte| byte >= 0x20 && byte != 0x7f && byte != b'\\')
    {
        line.extend_from_slice(text);
        return;
    }
    for &byte in text {
        if byte < 0x20 || byte == 0x7f {
            line.extend_from_slice(b"\\x");
            push_hex_byte(line, byte, false);
        } else if byte == b'\\' {
            line.extend_from_slice(b"\\\\");
        } else {
            line.push(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;
    use std::time::{Duration, UNIX_EPOCH};

    use etherparse::{
        ArpHardwareId, ArpOperation, ArpPacket, EtherType, IcmpEchoHeader, Icmpv4Type, Icmpv6Type,
        IpNumber, Ipv4Header, PacketBuilder,
    };

    use super::*;
    use crate::wire::attr::emit;
    use crate::wire::packet::{PacketRepr, Vlan};

    /// 2026-11-28 04:35:06 UTC, the time of the golden run.
    const GOLDEN_SEC: u64 = 1_795_840_506;
    const SRC4: [u8; 4] = [192, 0, 2, 1];
    const DST4: [u8; 4] = [198, 51, 100, 7];
    const ETH_HEADER: [u8; 14] = [0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00];

    /// Names index 1 "lo" and 2 "eth0"; nothing else.
    struct Names;

    impl ResolveInterface for Names {
        fn interface_name(&mut self, index: u32) -> Option<&str> {
            match index {
                1 => Some("lo"),
                2 => Some("eth0"),
                3 => Some("br0"),
                4 => Some("veth1"),
                _ => None,
            }
        }
    }

    /// A packet of the family numbered `family`, logged to `group` at `hook`, with no
    /// attribute but NFULA_PACKET_HDR: tests add theirs with `..repr(...)`.
    fn repr(family: u8, group: u16, hw_protocol: u16, hook: u8) -> PacketRepr {
        PacketRepr {
            family: Family::from_number(family),
            group,
            hw_protocol,
            hook,
            ..PacketRepr::default()
        }
    }

    /// A packet message body laid out by hand: nfgenmsg, then NFULA_PACKET_HDR, then
    /// `attrs` (headers in host order, values as given, no NUL added to a prefix). Only for
    /// layouts `PacketRepr` does not write: a prefix without the kernel's terminating NUL.
    fn raw_body(
        family: u8,
        group: u16,
        hw_protocol: u16,
        hook: u8,
        attrs: &[(PacketAttr, &[u8])],
    ) -> Vec<u8> {
        let mut out = vec![family, 0];
        out.extend_from_slice(&group.to_be_bytes());
        let [p0, p1] = hw_protocol.to_be_bytes();
        emit(&mut out, PacketAttr::PacketHdr as u16, &[p0, p1, hook, 0]);
        for (kind, value) in attrs {
            emit(&mut out, *kind as u16, value);
        }
        out
    }

    /// The line for `body`, in UTC, host "golden", received at `GOLDEN_SEC`.
    fn line_of(body: &[u8]) -> String {
        let packet = Packet::parse(body).unwrap();
        let mut out = Vec::new();
        TextFormat::new()
            .time_zone(TimeZone::Utc)
            .hostname("golden")
            .write(
                &mut out,
                &packet,
                UNIX_EPOCH + Duration::from_secs(GOLDEN_SEC),
                &mut Names,
            )
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// IPv4 at INPUT on eth0 (index 2) with an Ethernet header, prefix "t", group 5.
    fn ipv4_in(payload: &[u8]) -> String {
        line_of(
            &PacketRepr {
                prefix: Some(b"t".to_vec()),
                indev: Some(2),
                hwlen: Some(14),
                hwheader: Some(ETH_HEADER.to_vec()),
                payload: Some(payload.to_vec()),
                ..repr(2, 5, 0x0800, 1)
            }
            .to_bytes(),
        )
    }

    const HEAD4: &str = "Nov 28 04:35:06 golden t IN=eth0 OUT= \
        MAC=02:00:00:00:00:02:02:00:00:00:00:01:08:00 SRC=192.0.2.1 DST=198.51.100.7 ";

    /// The part of an `ipv4_in` line after `PROTO=`'s start, checked to begin with HEAD4.
    fn after_ip_header(line: &str) -> &str {
        assert!(line.starts_with(HEAD4), "{line:?}");
        assert!(line.ends_with(" MARK=0x0 GROUP=5 \n"), "{line:?}");
        let proto = line.find("PROTO=").unwrap();
        &line[proto..line.len() - " MARK=0x0 GROUP=5 \n".len() + 1]
    }

    fn icmp4(icmp_type: Icmpv4Type, data: &[u8]) -> Vec<u8> {
        let mut packet = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .icmpv4(icmp_type)
            .write(&mut packet, data)
            .unwrap();
        packet
    }

    fn icmp_raw(icmp_type: u8, code: u8, rest: [u8; 4]) -> Vec<u8> {
        let mut packet = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .icmpv4_raw(icmp_type, code, rest)
            .write(&mut packet, &[0x45, 0, 0, 20])
            .unwrap();
        packet
    }

    #[test]
    fn udp_line_in_full() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(40000, 53)
            .write(&mut payload, b"query")
            .unwrap();
        assert_eq!(
            ipv4_in(&payload),
            format!("{HEAD4}LEN=33 TOS=00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=40000 DPT=53 LEN=13 MARK=0x0 GROUP=5 \n")
        );
    }

    #[test]
    fn tcp_every_flag_and_urgent_pointer() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(1, 2, 3, 4)
            .urg(7)
            .ack(5)
            .psh()
            .rst()
            .syn()
            .fin()
            .ece()
            .cwr()
            .write(&mut payload, &[])
            .unwrap();
        assert_eq!(
            after_ip_header(&ipv4_in(&payload)),
            "PROTO=TCP SPT=1 DPT=2 SEQ=3 ACK=5 WINDOW=4 URG ACK PSH RST SYN FIN URGP=7 "
        );
    }

    #[test]
    fn tcp_urgent_pointer_without_urg_is_zero() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(1, 2, 3, 4)
            .syn()
            .write(&mut payload, &[])
            .unwrap();
        payload[20 + 18..20 + 20].copy_from_slice(&9u16.to_be_bytes());
        assert_eq!(
            after_ip_header(&ipv4_in(&payload)),
            "PROTO=TCP SPT=1 DPT=2 SEQ=3 ACK=0 WINDOW=4 SYN URGP=0 "
        );
    }

    #[test]
    fn tcp_with_a_bad_data_offset_still_shows_its_fields() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(1, 2, 3, 4)
            .syn()
            .write(&mut payload, &[])
            .unwrap();
        payload[20 + 12] = 0x20; // data offset 2
        assert_eq!(
            after_ip_header(&ipv4_in(&payload)),
            "PROTO=TCP SPT=1 DPT=2 SEQ=3 ACK=0 WINDOW=4 SYN URGP=0 "
        );
    }

    #[test]
    fn tos_precedence_and_flags() {
        // ulogd2 run: ip.tos 0xb8 gave "TOS=18 PREC=0xA0"; frag_off 0xC000 gave "CE DF".
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(1, 2)
            .write(&mut payload, &[])
            .unwrap();
        payload[1] = 0xb8;
        payload[6] = 0xc0;
        let line = ipv4_in(&payload);
        assert!(
            line.contains(" LEN=28 TOS=18 PREC=0xA0 TTL=64 ID=0 CE DF PROTO=UDP "),
            "{line}"
        );
    }

    #[test]
    fn icmp_extras_follow_the_type() {
        let echo = IcmpEchoHeader { id: 4660, seq: 1 };
        let cases: [(Vec<u8>, &str); 8] = [
            (
                icmp4(Icmpv4Type::EchoRequest(echo), b"pingdata"),
                "PROTO=ICMP TYPE=8 CODE=0 ID=4660 SEQ=1 ",
            ),
            (
                icmp4(Icmpv4Type::EchoReply(IcmpEchoHeader { id: 7, seq: 9 }), b""),
                "PROTO=ICMP TYPE=0 CODE=0 ID=7 SEQ=9 ",
            ),
            // Redirect for host (code 1), gateway 192.0.2.254: ulogd2 printed no GATEWAY.
            (
                icmp_raw(5, 1, [192, 0, 2, 254]),
                "PROTO=ICMP TYPE=5 CODE=1 GATEWAY=192.0.2.254 ",
            ),
            // Parameter problem, pointer 20: ulogd2 printed "ID=0 SEQ=0".
            (
                icmp_raw(12, 0, [20, 0, 0, 0]),
                "PROTO=ICMP TYPE=12 CODE=0 PARAMETER=20 ",
            ),
            // Fragmentation needed, MTU 1400: ulogd2 printed no MTU.
            (
                icmp_raw(3, 4, [0, 0, 0x05, 0x78]),
                "PROTO=ICMP TYPE=3 CODE=4 MTU=1400 ",
            ),
            (icmp_raw(3, 3, [0; 4]), "PROTO=ICMP TYPE=3 CODE=3 "),
            // Network unreachable, code 0: ulogd2 printed "ID=0 SEQ=0".
            (icmp_raw(3, 0, [0; 4]), "PROTO=ICMP TYPE=3 CODE=0 "),
            (icmp_raw(11, 0, [0; 4]), "PROTO=ICMP TYPE=11 CODE=0 "),
        ];
        for (payload, expected) in cases {
            assert_eq!(after_ip_header(&ipv4_in(&payload)), expected);
        }
    }

    #[test]
    fn ipv4_fragments_first_shows_ports_later_does_not() {
        // ulogd2 run: a first fragment gives "MF", the second "FRAG:160" (and garbage ports).
        let mut header = Ipv4Header::new(0, 64, IpNumber::UDP, SRC4, DST4).unwrap();
        header.dont_fragment = false;
        header.more_fragments = true;
        let mut first = Vec::new();
        PacketBuilder::ip(etherparse::IpHeaders::Ipv4(
            header.clone(),
            Default::default(),
        ))
        .udp(16705, 7000)
        .write(&mut first, &[0x41; 32])
        .unwrap();
        let line = ipv4_in(&first);
        assert!(
            line.contains(" ID=0 MF PROTO=UDP SPT=16705 DPT=7000 LEN=40 MARK="),
            "{line}"
        );

        let mut later = first.clone();
        later[6] = 0; // no MF
        later[7] = 160; // offset 160 * 8 bytes
        let line = ipv4_in(&later);
        assert!(
            line.contains(" ID=0 FRAG:160 PROTO=UDP MARK=0x0 GROUP=5 \n"),
            "{line}"
        );

        // ICMP and TCP alike.
        later[9] = 6;
        assert!(ipv4_in(&later).contains(" FRAG:160 PROTO=TCP MARK="));
        later[9] = 1;
        assert!(ipv4_in(&later).contains(" FRAG:160 PROTO=ICMP MARK="));
    }

    /// IPv6 ::1 -> ::1, a fragment header (offset in 8-byte units, M, id 0xefd6e298), then
    /// UDP 40004 -> 7002 with a length of 2008 and 16 bytes of data.
    fn ipv6_fragment(offset: u16, more: bool) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(8u16 + 8 + 16).to_be_bytes());
        p.extend_from_slice(&[44, 64]);
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&[17, 0]);
        p.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
        p.extend_from_slice(&0xefd6_e298_u32.to_be_bytes());
        p.extend_from_slice(&[0x9c, 0x44, 0x1b, 0x5a, 0x07, 0xd8, 0, 0]);
        p.extend_from_slice(&[0x41; 16]);
        p
    }

    fn ipv6_in(payload: &[u8]) -> String {
        line_of(
            &PacketRepr {
                indev: Some(1),
                payload: Some(payload.to_vec()),
                ..repr(10, 6, 0x86dd, 1)
            }
            .to_bytes(),
        )
    }

    #[test]
    fn ipv6_fragments() {
        // ulogd2 run: "FRAG: 0 ID: efd6e298 PROTO=UDP SPT=40004 DPT=7002 LEN=2008", then
        // "FRAG: 1248 ID: efd6e298 PROTO=UDP INCOMPLETEMARK=0x0".
        assert_eq!(
            ipv6_in(&ipv6_fragment(0, true)),
            "Nov 28 04:35:06 golden IN=lo OUT= MAC= SRC=::1 DST=::1 LEN=72 TC=0 HOPLIMIT=64 \
             FLOWLBL=0 FRAG: 0 ID: efd6e298 PROTO=UDP SPT=40004 DPT=7002 LEN=2008 MARK=0x0 GROUP=6 \n"
        );
        let line = ipv6_in(&ipv6_fragment(156, false));
        assert!(
            line.ends_with(" FRAG: 1248 ID: efd6e298 PROTO=UDP MARK=0x0 GROUP=6 \n"),
            "{line}"
        );
    }

    #[test]
    fn icmpv6_echo_and_packet_too_big() {
        let src = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let dst = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
        let mut echo = Vec::new();
        PacketBuilder::ipv6(src, dst, 64)
            .icmpv6_echo_request(17185, 5)
            .write(&mut echo, b"ping6")
            .unwrap();
        let line = ipv6_in(&echo);
        assert!(
            line.contains(
                " SRC=2001:db8::1 DST=2001:db8::2 LEN=53 TC=0 HOPLIMIT=64 FLOWLBL=0 \
                 PROTO=ICMPv6 TYPE=128 CODE=0 ID=17185 SEQ=5 MARK=0x0 "
            ),
            "{line}"
        );
        let mut too_big = Vec::new();
        PacketBuilder::ipv6(src, dst, 64)
            .icmpv6(Icmpv6Type::PacketTooBig { mtu: 1280 })
            .write(&mut too_big, &[0x60, 0, 0, 0])
            .unwrap();
        let line = ipv6_in(&too_big);
        assert!(
            line.contains(" PROTO=ICMPv6 TYPE=2 CODE=0 MTU=1280 MARK="),
            "{line}"
        );
    }

    #[test]
    fn cut_transport_header_is_incomplete_with_a_space() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .tcp(1, 2, 3, 4)
            .syn()
            .write(&mut payload, &[])
            .unwrap();
        // ulogd2: "PROTO=TCP INCOMPLETEMARK=0x0".
        assert_eq!(
            after_ip_header(&ipv4_in(&payload[..30])),
            "PROTO=TCP INCOMPLETE "
        );
        let mut udp = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(1, 2)
            .write(&mut udp, &[])
            .unwrap();
        assert_eq!(
            after_ip_header(&ipv4_in(&udp[..27])),
            "PROTO=UDP INCOMPLETE "
        );
        let icmp = icmp_raw(3, 3, [0; 4]);
        assert_eq!(
            after_ip_header(&ipv4_in(&icmp[..24])),
            "PROTO=ICMP INCOMPLETE "
        );
    }

    #[test]
    fn cut_or_invalid_ip_header() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(1, 2)
            .write(&mut payload, &[])
            .unwrap();
        let line = ipv4_in(&payload[..19]);
        assert!(
            line.ends_with(":08:00 TRUNCATED MARK=0x0 GROUP=5 \n"),
            "{line}"
        );
        payload[0] = 0x65;
        let line = ipv4_in(&payload);
        assert!(
            line.ends_with(":08:00 MALFORMED MARK=0x0 GROUP=5 \n"),
            "{line}"
        );
    }

    #[test]
    fn sctp_esp_ah_and_other_protocols() {
        let with_protocol = |protocol: u8, transport: &[u8]| {
            let mut payload = Vec::new();
            PacketBuilder::ip(etherparse::IpHeaders::Ipv4(
                Ipv4Header::new(0, 64, IpNumber(protocol), SRC4, DST4).unwrap(),
                Default::default(),
            ))
            .write(&mut payload, IpNumber(protocol), transport)
            .unwrap();
            after_ip_header(&ipv4_in(&payload)).to_owned()
        };
        let sctp = [0x13, 0x88, 0x13, 0x89, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(with_protocol(132, &sctp), "PROTO=SCTP SPT=5000 DPT=5001 ");
        assert_eq!(with_protocol(132, &sctp[..11]), "PROTO=SCTP INCOMPLETE ");
        let esp = [0, 0, 0x12, 0x34, 0, 0, 0, 1];
        assert_eq!(with_protocol(50, &esp), "PROTO=ESP SPI=0x1234 ");
        assert_eq!(with_protocol(50, &esp[..7]), "PROTO=ESP INCOMPLETE ");
        let ah = [17, 1, 0, 0, 0xab, 0xcd, 0, 1, 0, 0, 0, 1];
        assert_eq!(with_protocol(51, &ah), "PROTO=AH SPI=0xabcd0001 ");
        assert_eq!(with_protocol(200, b"xyz"), "PROTO=200 ");
        assert_eq!(with_protocol(136, &[0; 8]), "PROTO=136 ");
    }

    #[test]
    fn meta_mode_has_no_network_part() {
        let line = line_of(
            &PacketRepr {
                prefix: Some(b"meta".to_vec()),
                indev: Some(1),
                ..repr(2, 5, 0x0800, 1)
            }
            .to_bytes(),
        );
        assert_eq!(
            line,
            "Nov 28 04:35:06 golden meta IN=lo OUT= MAC= MARK=0x0 GROUP=5 \n"
        );
    }

    #[test]
    fn prefix_empty_absent_and_with_a_space() {
        let with_prefix = |prefix: Option<&[u8]>| {
            line_of(
                &PacketRepr {
                    prefix: prefix.map(<[u8]>::to_vec),
                    mark: Some(0x100),
                    ..repr(2, 5, 0x0800, 3)
                }
                .to_bytes(),
            )
        };
        assert_eq!(
            with_prefix(None),
            "Nov 28 04:35:06 golden IN= OUT= MAC= MARK=0x100 GROUP=5 \n"
        );
        // nft "log group N" without prefix sends "": two spaces, as ulogd2 writes.
        assert_eq!(
            with_prefix(Some(b"")),
            "Nov 28 04:35:06 golden  IN= OUT= MAC= MARK=0x100 GROUP=5 \n"
        );
        assert_eq!(
            with_prefix(Some(b"mark ")),
            "Nov 28 04:35:06 golden mark  IN= OUT= MAC= MARK=0x100 GROUP=5 \n"
        );
        // A control character cannot break the line.
        assert_eq!(
            with_prefix(Some(b"a\nb")),
            "Nov 28 04:35:06 golden a\\x0ab IN= OUT= MAC= MARK=0x100 GROUP=5 \n"
        );
    }

    #[test]
    fn a_line_longer_than_its_room_is_written_whole() {
        // Escaped, the prefix alone is longer than the room: the line is written again
        // into a `Vec`, and the next line, which fits, in the room again.
        let prefix: Vec<u8> = (0..crate::format::put::LINE_ROOM)
            .map(|i| [b'\n', b'a', b'\\'][i % 3])
            .collect();
        let escaped: String = (0..crate::format::put::LINE_ROOM)
            .map(|i| ["\\x0a", "a", "\\\\"][i % 3])
            .collect();
        let body = |prefix: Option<Vec<u8>>| {
            PacketRepr {
                prefix,
                mark: Some(0x100),
                ..repr(2, 5, 0x0800, 3)
            }
            .to_bytes()
        };
        let (long, short) = (body(Some(prefix)), body(None));
        let mut format = TextFormat::new()
            .time_zone(TimeZone::Utc)
            .hostname("golden");
        let mut line = |body: &[u8]| {
            let mut out = Vec::new();
            let packet = Packet::parse(body).unwrap();
            let time = UNIX_EPOCH + Duration::from_secs(GOLDEN_SEC);
            format.write(&mut out, &packet, time, &mut Names).unwrap();
            String::from_utf8(out).unwrap()
        };
        let tail = "MARK=0x100 GROUP=5 \n";
        let first = line(&short);
        assert_eq!(
            line(&long),
            format!("Nov 28 04:35:06 golden {escaped} IN= OUT= MAC= {tail}")
        );
        assert_eq!(line(&short), first);
        assert_eq!(
            first,
            format!("Nov 28 04:35:06 golden IN= OUT= MAC= {tail}")
        );
    }

    #[test]
    fn literal_backslash_escape_in_prefix_differs_from_a_control_character() {
        let with_prefix = |prefix: &[u8]| {
            line_of(
                &PacketRepr {
                    prefix: Some(prefix.to_vec()),
                    ..repr(2, 5, 0x0800, 3)
                }
                .to_bytes(),
            )
        };
        let newline = with_prefix(b"a\nb");
        let literal = with_prefix(b"a\\x0ab");
        assert_ne!(newline, literal, "a newline and the text \\x0a print alike");
        assert_eq!(
            literal,
            "Nov 28 04:35:06 golden a\\\\x0ab IN= OUT= MAC= MARK=0x0 GROUP=5 \n"
        );
        assert_eq!(
            with_prefix(b"\\\\"),
            "Nov 28 04:35:06 golden \\\\\\\\ IN= OUT= MAC= MARK=0x0 GROUP=5 \n"
        );
    }

    #[test]
    fn unnamed_interface_is_if_and_its_index_never_a_bare_number() {
        let line = line_of(
            &PacketRepr {
                indev: Some(2),
                outdev: Some(77),
                uid: Some(1000),
                gid: Some(100),
                ..repr(2, 5, 0x0800, 2)
            }
            .to_bytes(),
        );
        assert_eq!(
            line,
            "Nov 28 04:35:06 golden IN=eth0 OUT=if:77 MAC= UID=1000 GID=100 MARK=0x0 GROUP=5 \n"
        );
        // The numeric resolver the CLI passes for -n.
        let body = PacketRepr {
            indev: Some(2),
            ..repr(2, 5, 0x0800, 2)
        }
        .to_bytes();
        let packet = Packet::parse(&body).unwrap();
        let mut out = Vec::new();
        TextFormat::new()
            .hostname("h")
            .write(
                &mut out,
                &packet,
                SystemTime::now(),
                &mut crate::format::Numeric,
            )
            .unwrap();
        assert!(String::from_utf8(out)
            .unwrap()
            .contains(" h IN=if:2 OUT= MAC= "));
    }

    #[test]
    fn bridge_with_vlan_and_physical_ports() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(1000, 2000)
            .write(&mut payload, b"x")
            .unwrap();
        // Bridge family, FORWARD: INDEV/OUTDEV are the bridge, PHYS* the ports.
        let line = line_of(
            &PacketRepr {
                indev: Some(3),
                outdev: Some(3),
                physindev: Some(2),
                physoutdev: Some(4),
                hwlen: Some(14),
                hwheader: Some(ETH_HEADER.to_vec()),
                vlan: Some(Vlan {
                    proto: 0x8100,
                    tci: 0x2064,
                }),
                payload: Some(payload.clone()),
                ..repr(7, 9, 0x0800, 2)
            }
            .to_bytes(),
        );
        assert_eq!(
            line,
            "Nov 28 04:35:06 golden IN=br0 OUT=br0 PHYSIN=eth0 PHYSOUT=veth1 \
             MAC=02:00:00:00:00:02:02:00:00:00:00:01:08:00 SRC=192.0.2.1 DST=198.51.100.7 \
             LEN=29 TOS=00 PREC=0x00 TTL=64 ID=0 DF PROTO=UDP SPT=1000 DPT=2000 LEN=9 \
             MARK=0x0 GROUP=9 \n"
        );
        // A port equal to IN is not repeated (nf_log_syslog.c); another EtherType is a number.
        let line = line_of(
            &PacketRepr {
                indev: Some(2),
                physindev: Some(2),
                payload: Some(b"lldp".to_vec()),
                ..repr(7, 9, 0x88cc, 0)
            }
            .to_bytes(),
        );
        assert_eq!(
            line,
            "Nov 28 04:35:06 golden IN=eth0 OUT= MAC= PROTO=35020 MARK=0x0 GROUP=9 \n"
        );
        // Netdev alike.
        let line = line_of(
            &PacketRepr {
                payload: Some(payload),
                ..repr(5, 9, 0x0800, 0)
            }
            .to_bytes(),
        );
        assert!(
            line.contains(" MAC= SRC=192.0.2.1 DST=198.51.100.7 LEN=29 "),
            "{line}"
        );
    }

    fn arp(operation: ArpOperation) -> Vec<u8> {
        ArpPacket::new(
            ArpHardwareId::ETHERNET,
            EtherType::IPV4,
            operation,
            &[2, 0, 0, 0, 0, 1],
            &[192, 0, 2, 1],
            &[2, 0, 0, 0, 0, 7],
            &[192, 0, 2, 7],
        )
        .unwrap()
        .to_bytes()
        .to_vec()
    }

    #[test]
    fn arp_request_and_reply() {
        let arp_line = |payload: &[u8]| {
            line_of(
                &PacketRepr {
                    indev: Some(2),
                    payload: Some(payload.to_vec()),
                    ..repr(3, 4, 0x0806, 0)
                }
                .to_bytes(),
            )
        };
        assert_eq!(
            arp_line(&arp(ArpOperation::REQUEST)),
            "Nov 28 04:35:06 golden IN=eth0 OUT= MAC= SRC=192.0.2.1 DST=192.0.2.7 PROTO=ARP REQUEST MARK=0x0 GROUP=4 \n"
        );
        assert_eq!(
            arp_line(&arp(ArpOperation::REPLY)),
            "Nov 28 04:35:06 golden IN=eth0 OUT= MAC= SRC=192.0.2.1 DST=192.0.2.7 PROTO=ARP REPLY REPLY_MAC=02:00:00:00:00:01 MARK=0x0 GROUP=4 \n"
        );
        assert!(arp_line(&arp(ArpOperation(10))).contains(" PROTO=ARP NAK MARK="));
        assert!(arp_line(&arp(ArpOperation(3))).contains(" PROTO=ARP CODE=3 MARK="));
        let request = arp(ArpOperation::REQUEST);
        assert!(arp_line(&request[..10]).contains(" MAC= PROTO=ARP REQUEST INCOMPLETE MARK="));
        assert!(arp_line(&request[..5]).contains(" MAC= PROTO=ARP INCOMPLETE MARK="));
        // In the bridge family, by EtherType.
        let line = line_of(
            &PacketRepr {
                payload: Some(request),
                ..repr(7, 4, 0x0806, 0)
            }
            .to_bytes(),
        );
        assert!(line.contains(" MAC= SRC=192.0.2.1 DST=192.0.2.7 PROTO=ARP REQUEST MARK="));
    }

    #[test]
    fn arp_output_hook_decodes_the_arp_header_after_the_ethernet_header() {
        // The arp family's output hook copies the frame: an Ethernet header, then ARP. It
        // was read as ARP from its first byte: `PROTO=ARP CODE=18147 INCOMPLETE`.
        let mut frame = [[0xff; 6], [2, 0, 0, 0, 0, 1]].concat();
        frame.extend_from_slice(&[0x08, 0x06]);
        frame.extend_from_slice(&arp(ArpOperation::REQUEST));
        let line = line_of(
            &PacketRepr {
                outdev: Some(2),
                payload: Some(frame),
                ..repr(3, 4, 0x0806, 1)
            }
            .to_bytes(),
        );
        assert_eq!(
            line,
            "Nov 28 04:35:06 golden IN= OUT=eth0 MAC= SRC=192.0.2.1 DST=192.0.2.7 PROTO=ARP REQUEST MARK=0x0 GROUP=4 \n"
        );
    }

    #[test]
    fn ipv6_addresses_as_glibc_writes_them() {
        // Checked against Python's socket.inet_ntop (glibc 2.36).
        for (addr, expected) in [
            ("::", "::"),
            ("::1", "::1"),
            ("::2", "::2"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:0:0", "::ffff:0.0.0.0"),
            ("1::", "1::"),
            ("1:0:0:2::3", "1:0:0:2::3"),
            ("0:0:0:0:0:1:0:0", "::1:0:0"),
            ("0:0:0:1::", "0:0:0:1::"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
            ("fe80::abcd:ef01", "fe80::abcd:ef01"),
        ] {
            let mut out = Vec::new();
            push_ipv6_addr(&mut out, &addr.parse().unwrap());
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{addr}");
        }
    }

    #[test]
    fn time_is_the_kernel_timestamp_in_the_zone_given() {
        let input = PacketRepr {
            timestamp: Some((GOLDEN_SEC + 86_400 * 3, 5)),
            ..repr(2, 5, 0x0800, 1)
        }
        .to_bytes();
        let packet = Packet::parse(&input).unwrap();
        let mut out = Vec::new();
        TextFormat::new()
            .hostname("h")
            .time_zone(TimeZone::Fixed(-5 * 3600))
            .write(&mut out, &packet, UNIX_EPOCH, &mut Names)
            .unwrap();
        assert_eq!(out, b"Nov 30 23:35:06 h IN= OUT= MAC= MARK=0x0 GROUP=5 \n");
        // The day is padded with a space, as ctime() does.
        let mut out = Vec::new();
        let output = repr(2, 5, 0x0800, 3).to_bytes();
        TextFormat::new()
            .hostname("h")
            .time_zone(TimeZone::Utc)
            .write(
                &mut out,
                &Packet::parse(&output).unwrap(),
                UNIX_EPOCH,
                &mut Names,
            )
            .unwrap();
        assert_eq!(out, b"Jan  1 00:00:00 h IN= OUT= MAC= MARK=0x0 GROUP=5 \n");
    }

    #[test]
    fn default_host_name_is_cut_at_the_first_dot() {
        let format = TextFormat::new();
        assert!(!format.host.contains(&b'.'));
        let uname = rustix::system::uname();
        assert!(uname.nodename().to_bytes().starts_with(&format.host));
    }

    #[test]
    fn no_allocation_after_the_first_line() {
        let mut payload = Vec::new();
        PacketBuilder::ipv4(SRC4, DST4, 64)
            .udp(1, 2)
            .write(&mut payload, b"data")
            .unwrap();
        let body = PacketRepr {
            payload: Some(payload),
            ..repr(2, 5, 0x0800, 1)
        }
        .to_bytes();
        let packet = Packet::parse(&body).unwrap();
        let mut format = TextFormat::new().time_zone(TimeZone::Utc);
        let mut out = Vec::new();
        format
            .write(&mut out, &packet, UNIX_EPOCH, &mut Names)
            .unwrap();
        let capacity = format.line.capacity();
        let pointer = format.line.as_ptr();
        for _ in 0..10 {
            format
                .write(&mut out, &packet, UNIX_EPOCH, &mut Names)
                .unwrap();
        }
        assert_eq!(
            (format.line.capacity(), format.line.as_ptr()),
            (capacity, pointer)
        );
    }

    /// A small deterministic generator (xorshift), so failures reproduce.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn arbitrary_packets_give_exactly_one_line() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        let mut format = TextFormat::new().time_zone(TimeZone::Utc);
        let templates = [
            icmp4(
                Icmpv4Type::EchoRequest(IcmpEchoHeader { id: 1, seq: 2 }),
                b"abcd",
            ),
            ipv6_fragment(0, true),
            arp(ArpOperation::REPLY),
        ];
        for round in 0..20_000 {
            let family = [2, 10, 3, 7, 5, 0, 1, 99][(next(&mut state) % 8) as usize];
            let hw_protocol = [0x0800, 0x86dd, 0x0806, 0x8100, 0][(next(&mut state) % 5) as usize];
            // Either a mutated real header or random bytes, cut anywhere.
            let mut payload = templates[round % templates.len()].clone();
            if round % 2 == 0 {
                for byte in payload.iter_mut() {
                    if next(&mut state) % 8 == 0 {
                        *byte = next(&mut state) as u8;
                    }
                }
            } else {
                payload = (0..next(&mut state) % 80)
                    .map(|_| next(&mut state) as u8)
                    .collect();
            }
            let cut = (next(&mut state) as usize) % (payload.len() + 1);
            let prefix: Vec<u8> = (0..next(&mut state) % 6)
                .map(|_| next(&mut state) as u8)
                .collect();
            let header_len = (next(&mut state) % 20) as usize;
            let header: Vec<u8> = (0..header_len).map(|_| next(&mut state) as u8).collect();
            let mut attrs: Vec<(PacketAttr, &[u8])> = vec![
                (PacketAttr::Prefix, &prefix),
                (PacketAttr::Hwheader, &header),
            ];
            if round % 3 != 0 {
                attrs.push((PacketAttr::Payload, &payload[..cut]));
            }
            let index = (next(&mut state) % 6) as u32;
            let index = index.to_be_bytes();
            attrs.push((PacketAttr::IfindexPhysindev, &index));
            // Raw, not `PacketRepr`: the random prefix goes without the kernel's NUL.
            let body = raw_body(family, 1, hw_protocol, (round % 7) as u8, &attrs);
            let packet = Packet::parse(&body).unwrap();
            let mut out = Vec::new();
            format
                .write(&mut out, &packet, UNIX_EPOCH, &mut Names)
                .unwrap();
            assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "{out:?}");
            assert!(out.ends_with(b" GROUP=1 \n"), "{out:?}");
        }
    }

    /// The TCP entry the kernel built (conntrack/tests.rs), on a reply-direction packet.
    fn with_conntrack(ct: Vec<u8>) -> Vec<u8> {
        PacketRepr {
            conntrack: Some(ct),
            ct_info: Some(3),
            ..repr(2, 5, 0x0800, 3)
        }
        .to_bytes()
    }

    #[test]
    fn conntrack_fields_follow_the_mark() {
        let ct = crate::conntrack::tests::host_order(&crate::conntrack::tests::TCP_ESTABLISHED);
        let line = line_of(&with_conntrack(ct));
        assert!(
            line.ends_with(
                " MARK=0x0 CTID=709571538 CTSTATE=ESTABLISHED_REPLY \
                 CTSTATUS=SEEN_REPLY|ASSURED|CONFIRMED CTMARK=0x2a ORIGSRC=127.0.0.1 \
                 ORIGDST=127.0.0.1 ORIGPROTO=TCP ORIGSPT=40000 ORIGDPT=8080 ORIGPKTS=4 \
                 ORIGBYTES=221 REPLYSRC=127.0.0.1 REPLYDST=127.0.0.1 REPLYPROTO=TCP \
                 REPLYSPT=8080 REPLYDPT=40000 REPLYPKTS=3 REPLYBYTES=170 GROUP=5 \n"
            ),
            "{line}"
        );
        // An entry the parser rejects (a cut attribute) writes no field, and the line stays.
        let line = line_of(&with_conntrack(vec![8, 0, 12, 0, 0, 0]));
        assert!(line.ends_with(" MARK=0x0 GROUP=5 \n"), "{line}");
    }

    proptest::proptest! {
        /// The prefix as one walk writes it, against the NUL found first and then the
        /// text escaped: any bytes, NULs and escapes anywhere, or none.
        #[test]
        fn prefix_in_one_walk_is_the_prefix_escaped(
            value in super::super::prefix_values(),
        ) {
            let (shown, expected) =
                super::super::prefix_both_ways(&value, push_text, push_prefix);
            proptest::prop_assert_eq!(shown, expected);
        }
    }
}
