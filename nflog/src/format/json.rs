//! ulogd2's JSON lines: [`JsonFormat`].
//!
//! What matches ulogd2 2.0.8 byte for byte, our one key, and every intentional difference
//! from ulogd2 are documented on [`JsonFormat`], where rustdoc shows them.

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::SystemTime;

use super::clock::{Calendar, SecondText};
use super::names::{push_pieces, shown_as_is};
use super::put::{
    push_date_time, push_dec, push_hex_bytes, push_ipv4_addr, push_ipv6_addr, push_two_digits,
    FixedLine, LineRoom, Micros, Put,
};
use super::TimeZone;
use crate::conntrack::{Conntrack, CtInfo, Tuple};
use crate::decode::{
    self, Cut, Decoded, Icmp, Layer, Network, Sctp, Tcp, Transport, ETHERNET_HEADER_LEN,
};
use crate::format::ResolveInterface;
use crate::wire::kind::PacketAttr;
use crate::wire::packet::Packet;
// BASE treats ESP and SCTP specially; HWHDR writes ARPHRD_VOID as `raw.type` for a source
// address without header.
use crate::wire::proto::{ARPHRD_ETHER, ARPHRD_VOID, IPPROTO_ESP, IPPROTO_SCTP};

/// 9999-12-31T23:59:59Z: the last second the `timestamp` string shows.
const LAST_SHOWN_SECOND: u64 = 253_402_300_799;

/// `, "name": `: a key after the first (`timestamp`), with its separators, as one static
/// string.
/// With a value, `, "name": value`: a key whose value never changes.
macro_rules! key {
    ($name:literal) => {
        concat!(", \"", $name, "\": ").as_bytes()
    };
    ($name:literal, $value:literal) => {
        concat!(", \"", $name, "\": ", $value).as_bytes()
    };
}

/// Writes packets as ulogd2's JSON lines: one object per packet, with the keys, key order,
/// value types and values that ulogd2 2.0.8 writes for the stack
/// `NFLOG, BASE, IFINDEX, IP2STR, HWHDR, JSON` (docs/formats-reference.md, section 2), plus
/// `"nflog.group"` as the last key.
///
/// ```
/// use std::time::SystemTime;
/// use nflog::format::{JsonFormat, TimeZone};
/// use nflog::format::Numeric;
///
/// // A packet message body: nfgenmsg (IPv4, group 5), then NFULA_PACKET_HDR (IPv4, OUTPUT).
/// let mut body = vec![2, 0, 0, 5];
/// body.extend_from_slice(&8u16.to_ne_bytes());
/// body.extend_from_slice(&1u16.to_ne_bytes());
/// body.extend_from_slice(&[0x08, 0x00, 3, 0]);
/// let packet = nflog::Packet::parse(&body).unwrap();
///
/// let mut json = JsonFormat::new().time_zone(TimeZone::Utc);
/// let mut out = Vec::new();
/// json.write(&mut out, &packet, SystemTime::UNIX_EPOCH, &mut Numeric).unwrap();
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\"timestamp\": \"1970-01-01T00:00:00.000000\", \"dvc\": \"Netfilter\", \
///      \"raw.pktcount\": 1, \"oob.time.sec\": 0, \"oob.time.usec\": 0, \"oob.mark\": 0, \
///      \"oob.hook\": 3, \"oob.family\": 2, \"oob.protocol\": 2048, \"raw.label\": 0, \
///      \"oob.in\": \"\", \"oob.out\": \"\", \"nflog.group\": 5}\n"
/// );
/// ```
///
/// # What matches ulogd2 byte for byte
///
/// The golden test (`tests/json_golden.rs`) replays the datagrams ulogd2 2.0.8 received and
/// compares our lines with what it wrote. In general:
///
/// - **Serialisation** as jansson's `json_dumps(msg, 0)`: separators `", "` and `": "`, no
///   indentation, `\n` after the object. Strings escape `"` and `\`, use `\b \f \n \r \t`,
///   write other control characters as `\u00XX` with uppercase hex, and write `/`, DEL and
///   UTF-8 as they are (but see below for three line separators). Every number is a plain
///   decimal integer (no booleans, no floats).
/// - **Key order** is ulogd's: the keys of NFLOG, BASE, IFINDEX, IP2STR and HWHDR in the
///   order of each plugin's key array, a key that two plugins write (`oob.protocol`,
///   `raw.type`, `src_port`, ...) sitting where it was first written.
/// - **`timestamp`** `"YYYY-MM-DDTHH:MM:SS.uuuuuu"` in the chosen [`TimeZone`], with
///   ulogd's suffix rule: none when the UTC offset is 0 (ulogd's `cached_tz` bug), else
///   `"+HHMM"`/`"-HHMM"` computed as ulogd does (`-0330`; an offset between -1 h and 0
///   gives `+00MM`, as in ulogd). The time is the kernel's timestamp, else the `received`
///   time given to [`write`](JsonFormat::write) (ulogd uses its clock at that point);
///   `oob.time.sec` and `oob.time.usec` are the same time.
/// - **`dvc`**: `"Netfilter"`, or the name given to [`device`](JsonFormat::device).
/// - **NFLOG keys**: `raw.pktlen` only with a payload (absent in copy mode meta),
///   `raw.pktcount` 1, `oob.prefix` when the rule gave one, `oob.mark` always (0 without a
///   mark), `oob.ifindex_in`/`_out` only for indexes above 0, `raw.mac_len` and `raw.type`
///   only when `NFULA_HWLEN` is non-zero, `oob.seq.local`/`global`, `oob.uid`/`gid` when
///   sent, `raw.label` 0, `raw.mac.addrlen` with `NFULA_HWADDR`.
/// - **BASE quirks**, reproduced: `ip.fragoff` is the raw 16-bit field with the flag bits
///   (16384 = DF); `ip.csum`, `tcp.csum` and `udp.csum` are the checksum as a big-endian
///   number but `icmp.csum` and `icmpv6.csum` are the two wire bytes read little-endian
///   (ulogd forgets `ntohs` there; we write what x86 ulogd writes, on any host);
///   `tcp.offset` and `tcp.reserved` are always 0 (ulogd's `ntohs` of a 4-bit field);
///   TCP flags are integers 0/1; `tcp.res1` is the 4 reserved bits (0-15, AE the lowest) and
///   `tcp.res2` the ECE/CWR pair (0-3); `tcp.urgp` only with URG; `icmp.echoid`/`echoseq`
///   for types 0 and 8, `icmp.fragmtu` for type 3 code 4, `icmpv6.echoid`/`echoseq` for 128
///   and 129; ports are `src_port`/`dest_port`, also for SCTP (with `sctp.csum`);
///   `ip.protocol` is also written for IPv6 (the protocol after the extension headers) but
///   not for a later fragment nor for ESP; `ip6.nexthdr` is that same protocol;
///   `ip6.fragoff` is the fragment offset in bytes; ARP's `arp.hwtype`, `arp.protocoltype`,
///   `arp.operation`.
/// - **IFINDEX**: `oob.in` and `oob.out` always both, `""` for index 0 (see difference 2
///   for an index nobody names).
/// - **IP2STR**: `src_ip`/`dest_ip` as `inet_ntop` writes them (IPv6 compressed, and
///   `::1.2.3.4` / `::ffff:1.2.3.4` for the IPv4-compatible and -mapped forms, which Rust's
///   `Display` writes differently); `arp.saddr.str`/`arp.daddr.str` for ARP.
/// - **HWHDR**: `mac.saddr.str` from `NFULA_HWADDR` (else, for Ethernet, from the header),
///   `mac.daddr.str` only when `raw.type` is 1 (`ARPHRD_ETHER`), `mac.str` the whole
///   hardware header, bytes as `%02x` joined by `:`. For Ethernet `oob.protocol` is the
///   EtherType read from the header, as HWHDR overwrites it. With `NFULA_HWADDR` but
///   `NFULA_HWLEN` absent or 0, `raw.type` is 65535 (`ARPHRD_VOID`) after the IP2STR keys,
///   where HWHDR writes it.
///
/// # Our key
///
/// `"nflog.group": N`, the log group, is the **last** key of every object: ulogd has no key
/// for it. A consumer that removes `, "nflog.group": N` gets ulogd's line.
///
/// # Intentional differences from ulogd2
///
/// Where ulogd writes nothing, crashes, or writes something absurd, we follow the header
/// decoder ([`crate::decode`]) and write what the packet says:
///
/// 1. **A prefix that is not valid UTF-8** is written with each invalid sequence replaced by
///    U+FFFD. ulogd's `json_string()` refuses it and the `oob.prefix` key silently
///    disappears; a replaced byte is better than a lost prefix.
/// 2. **An interface index nobody can name** (`-n`, a capture file read, an interface
///    gone) gives `"if:N"`, its index (`"if:3"`), which can be no interface's name (the
///    kernel refuses `:` in names). ulogd writes the name its static buffer still holds
///    from an earlier packet (a stale name), or `""` at start. **A name that is not UTF-8**
///    has each byte that is not written as `\xNN` (the value `caf\xe9`, JSON
///    `"caf\\xe9"`), and a backslash in a name is `\\` in the value: the text format's
///    `IN=`/`OUT=` word exactly. ulogd's `json_string()` refuses such a name (the key
///    disappears) and writes a backslash as it is.
/// 3. **Families netdev (5), unspec and unknown ones**, and **bridge packets that are not
///    IPv4, IPv6 or ARP**, get a line with everything we know (the headers the decoder
///    reads by EtherType). ulogd's IP2STR returns an error for them, which aborts the stack:
///    ulogd writes no line at all.
/// 4. **Later fragments** (IPv4 offset not 0): no ports or other transport keys, as the
///    bytes after the IP header are not a transport header. ulogd's BASE reads them as one
///    anyway (made-up ports). IPv6 later fragments agree with ulogd.
/// 5. **An IPv4 header with nothing after it** (a payload of exactly IHL × 4 bytes, e.g.
///    with a 20-byte snaplen) **or with its options cut** still gets its `ip.*` keys and
///    `src_ip`/`dest_ip`. ulogd's BASE skips the whole IP layer unless more bytes than the
///    header length were copied.
/// 6. **Headers the decoder finds malformed** (TCP data offset below 5, IPv4 IHL below 5,
///    an IPv6 hop-by-hop header not first, ...) give no keys for that layer; ulogd reads
///    the bytes as if they were valid. An IPv6 extension header that is cut or malformed
///    gives neither `ip.protocol` nor `ip6.nexthdr` (ulogd: the same when it is cut).
/// 7. **IPv4 with an authentication header (AH)**: the transport after the AH is written
///    (ports and all); ulogd stops at the AH. `ip.protocol` is 51 in both.
/// 8. **UDP-Lite** (protocol 136) gets the UDP keys (`udp.len` is then its checksum
///    coverage); ulogd writes no transport keys for it. `ip.protocol` tells them apart.
/// 9. **ARP**: `arp.hwtype`, `arp.protocoltype` and `arp.operation` are written once the
///    8-byte fixed part is there (ulogd wants 28 bytes), and `arp.saddr.str`/`daddr.str`
///    only for Ethernet/IPv4 ARP (ulogd reads any ARP as if it were that).
/// 10. **A hardware header longer than 42 bytes** is written in `mac.str`; ulogd's HWHDR
///     returns an error for it, and writes no line. A hardware header attribute missing
///     or shorter than `NFULA_HWLEN` says (which ulogd reads past, or crashes on) gives
///     what is there: `mac.str` from the bytes present, no Ethernet fields under 14 bytes.
/// 11. **Times**: `oob.time.sec` is not cut to 32 bits (ulogd's key is a `u32`: it wraps in
///     2106). A kernel timestamp whose second is 0 is shown as is (ulogd replaces it with
///     its clock). A time past the year 9999 is shown as 9999-12-31T23:59:59 in the
///     `timestamp` string (the numbers stay exact).
/// 12. **U+0085, U+2028 and U+2029** (next line, line separator, paragraph separator) in a
///     string are written `\u0085`, `\u2028`, `\u2029`; jansson writes them raw. Python's
///     `str.splitlines` and other readers that split on Unicode line boundaries end a line
///     there, which would cut one object in two. A JSON parser reads the same value.
///
/// ulogd configuration this does not imitate: `eventv1=1` (`@version`, `@timestamp`),
/// `timestamp=0`, `boolean_label=1` (`action`), `numeric_label` (we write `raw.label` 0,
/// the default).
///
/// # Conntrack
///
/// A packet with a conntrack entry (`--conntrack`, flag CONNTRACK) gets its keys last, by
/// the names ulogd2's NFCT input and IP2STR give them: `orig.ip.saddr.str`,
/// `orig.ip.daddr.str`, `orig.ip.protocol`, `orig.l4.sport`, `orig.l4.dport`,
/// `orig.raw.pktlen`, `orig.raw.pktcount` (bytes and packets, with
/// `nf_conntrack_acct=1`), the same under `reply.`, `ct.mark` and `ct.id`. Ours, where
/// ulogd2 has no name: `orig.icmp.type`, `orig.icmp.code`, `orig.icmp.id` (and `reply.`),
/// `ct.state` (`NEW`, `ESTABLISHED`, `RELATED`, `ESTABLISHED_REPLY`, `RELATED_REPLY`:
/// how this packet relates to the entry), `ct.status` and `ct.status.str` (the `IPS_*`
/// bits, `SEEN_REPLY|ASSURED|CONFIRMED`), `ct.zone`, `ct.timeout` (seconds left). ulogd2
/// 2.0.8's NFLOG input hands the entry on only as a pointer no output prints.
#[derive(Debug, Clone)]
pub struct JsonFormat {
    /// The `timestamp` of the last second shown, in the chosen time zone.
    calendar: Calendar,
    /// The `dvc` value as a JSON string, escaped once.
    device: Vec<u8>,
    /// The room the line is written in.
    room: Box<LineRoom>,
    /// A line that does not fit in `room`, kept between packets so that its allocation is
    /// reused.
    line: Vec<u8>,
}

impl Default for JsonFormat {
    fn default() -> Self {
        JsonFormat::new()
    }
}

impl JsonFormat {
    /// A formatter writing local time (as ulogd2 does) with `dvc` "Netfilter".
    pub fn new() -> JsonFormat {
        JsonFormat {
            calendar: Calendar::new(TimeZone::Local),
            device: quoted_string("Netfilter"),
            room: LineRoom::new(),
            line: Vec::new(),
        }
    }

    /// Writes the `timestamp` key in this time zone.
    pub fn time_zone(mut self, tz: TimeZone) -> JsonFormat {
        self.calendar = Calendar::new(tz);
        self
    }

    /// Sets the `dvc` value (ulogd2's `device` setting; default "Netfilter").
    pub fn device(mut self, name: &str) -> JsonFormat {
        self.device = quoted_string(name);
        // The calendar's text of the last second ends in the `dvc` value.
        self.calendar = Calendar::new(self.calendar.zone());
        self
    }

    /// Writes one packet as one line (an object and `\n`) with a single `write_all`.
    ///
    /// `received` is used when the kernel sent no timestamp (packets logged at OUTPUT and
    /// POSTROUTING); `names` names the interfaces of `oob.in` and `oob.out`.
    ///
    /// # Errors
    ///
    /// Only the errors of `out`.
    pub fn write<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        let line = FixedLine::new(&mut self.room);
        let line = write_object(
            line,
            packet,
            received,
            names,
            &mut self.calendar,
            &self.device,
        );
        if let Some(line) = line.written() {
            return out.write_all(line);
        }
        // Longer than the room: written again, into a `Vec` that grows.
        self.line.clear();
        self.line = write_object(
            std::mem::take(&mut self.line),
            packet,
            received,
            names,
            &mut self.calendar,
            &self.device,
        );
        out.write_all(&self.line)
    }
}

/// Writes every key of one packet, in ulogd's order, then ours, and the object's end.
// Perf: the line taken and given back by value, and every writer it calls on the common
// path inlined, so that a `FixedLine`'s place stays in a register (figures:
// docs/benchmarks.md, "Code shaped for speed").
fn write_object<P: Put>(
    mut line: P,
    packet: &Packet<&[u8]>,
    received: SystemTime,
    names: &mut dyn ResolveInterface,
    calendar: &mut Calendar,
    device: &[u8],
) -> P {
    let decoded = decode::decode(packet);
    let payload = packet.payload();

    // Hardware header, as NFLOG and HWHDR read it.
    let hwlen = packet.hwlen().filter(|&len| len != 0);
    let hwaddr = packet.hwaddr();
    let hwheader = packet.hwheader();
    // NFLOG's raw.type, which HWHDR repeats: only with a non-zero NFULA_HWLEN.
    let raw_type = hwlen.map(|_| packet.hwtype().unwrap_or(0));
    let ethernet = match (raw_type, hwheader) {
        (Some(ARPHRD_ETHER), Some(header)) => header.first_chunk::<ETHERNET_HEADER_LEN>(),
        _ => None,
    };
    // HWHDR overwrites oob.protocol with the EtherType of an Ethernet header.
    let protocol = match ethernet {
        Some(header) => u16::from_be_bytes([header[12], header[13]]),
        None => packet.hw_protocol(),
    };

    // JSON: timestamp and dvc.
    let (sec, usec) = calendar.packet_parts(packet, received);
    let usec = Micros::new(usec);
    let (calendar_text, sec_at) = write_timestamp(&mut line, calendar, device, sec, usec);

    // NFLOG.
    if let Some(payload) = payload {
        line.int(key!("raw.pktlen"), payload.len() as u64);
    }
    line.lit(key!("raw.pktcount", "1"));
    if let Some(prefix) = packet.attribute(PacketAttr::Prefix) {
        line.lit(key!("oob.prefix"));
        write_prefix(&mut line, prefix);
    }
    line.lit(key!("oob.time.sec"));
    calendar_text.push(&mut line, sec_at, usize::MAX);
    line.lit(key!("oob.time.usec"));
    usec.push(&mut line);
    line.int(key!("oob.mark"), packet.mark().unwrap_or(0));
    let indev = packet.indev().unwrap_or(0);
    let outdev = packet.outdev().unwrap_or(0);
    if indev > 0 {
        line.int(key!("oob.ifindex_in"), indev);
    }
    if outdev > 0 {
        line.int(key!("oob.ifindex_out"), outdev);
    }
    line.int(key!("oob.hook"), packet.hook_number());
    if let Some(len) = hwlen {
        line.int(key!("raw.mac_len"), len);
    }
    if let Some(seq) = packet.seq() {
        line.int(key!("oob.seq.local"), seq);
    }
    if let Some(seq) = packet.seq_global() {
        line.int(key!("oob.seq.global"), seq);
    }
    line.int(key!("oob.family"), packet.family().number());
    line.int(key!("oob.protocol"), protocol);
    if let Some(uid) = packet.uid() {
        line.int(key!("oob.uid"), uid);
    }
    if let Some(gid) = packet.gid() {
        line.int(key!("oob.gid"), gid);
    }
    line.lit(key!("raw.label", "0"));
    if let Some(hwtype) = raw_type {
        line.int(key!("raw.type"), hwtype);
    }
    if let Some(addr) = hwaddr {
        line.int(key!("raw.mac.addrlen"), addr.len() as u64);
    }

    // BASE.
    write_base(&mut line, &decoded, payload.unwrap_or(&[]));

    // IFINDEX.
    // Perf: an index of 0 (no interface, one of the two at every hook but FORWARD) written
    // with its key, as one constant, not by a call.
    match indev {
        0 => line.lit(key!("oob.in", "\"\"")),
        _ => {
            line.lit(key!("oob.in"));
            write_name(&mut line, names, indev);
        }
    }
    match outdev {
        0 => line.lit(key!("oob.out", "\"\"")),
        _ => {
            line.lit(key!("oob.out"));
            write_name(&mut line, names, outdev);
        }
    }

    // IP2STR.
    match decoded.network {
        Some(Network::Ipv4(ip)) => {
            line.lit(key!("src_ip"));
            write_quoted_ipv4(&mut line, ip.src);
            line.lit(key!("dest_ip"));
            write_quoted_ipv4(&mut line, ip.dst);
        }
        Some(Network::Ipv6(ip)) => {
            line.lit(key!("src_ip"));
            write_quoted_ipv6(&mut line, ip.src);
            line.lit(key!("dest_ip"));
            write_quoted_ipv6(&mut line, ip.dst);
        }
        Some(Network::Arp(arp)) => {
            if let Some(addresses) = arp.ethernet_ipv4 {
                line.lit(key!("arp.saddr.str"));
                write_quoted_ipv4(&mut line, addresses.sender_ip);
                line.lit(key!("arp.daddr.str"));
                write_quoted_ipv4(&mut line, addresses.target_ip);
            }
        }
        None => {}
    }

    // HWHDR. Its raw.type and oob.protocol sit where NFLOG put them, except raw.type
    // without a hardware header: ARPHRD_VOID, first written here.
    if raw_type.is_none() && hwaddr.is_some() {
        line.int(key!("raw.type"), ARPHRD_VOID);
    }
    if let Some(source) = hwaddr.or(ethernet.map(|header| &header[6..12])) {
        line.lit(key!("mac.saddr.str"));
        write_hex_string(&mut line, source);
    }
    if let Some(header) = ethernet {
        line.lit(key!("mac.daddr.str"));
        write_hex_string(&mut line, &header[..6]);
    }
    if let (Some(len), Some(header)) = (hwlen, hwheader) {
        line.lit(key!("mac.str"));
        write_hex_string(&mut line, &header[..header.len().min(usize::from(len))]);
    }

    // Ours.
    line.int(key!("nflog.group"), packet.group());

    // The conntrack entry (flag CONNTRACK). A malformed NFULA_CT writes none of its keys.
    if let Ok(Some(ct)) = Conntrack::from_packet(packet) {
        line = write_conntrack(line, &ct, CtInfo::from_packet(packet));
    }
    line.put(b"}\n");
    line
}

/// The keys of one direction of a conntrack entry.
struct DirectionKeys {
    saddr: &'static [u8],
    daddr: &'static [u8],
    protocol: &'static [u8],
    sport: &'static [u8],
    dport: &'static [u8],
    icmp_type: &'static [u8],
    icmp_code: &'static [u8],
    icmp_id: &'static [u8],
    pktlen: &'static [u8],
    pktcount: &'static [u8],
}

/// ulogd2's NFCT names (with IP2STR's `.str` on addresses), ours for ICMP.
const ORIGINAL: DirectionKeys = DirectionKeys {
    saddr: key!("orig.ip.saddr.str"),
    daddr: key!("orig.ip.daddr.str"),
    protocol: key!("orig.ip.protocol"),
    sport: key!("orig.l4.sport"),
    dport: key!("orig.l4.dport"),
    icmp_type: key!("orig.icmp.type"),
    icmp_code: key!("orig.icmp.code"),
    icmp_id: key!("orig.icmp.id"),
    pktlen: key!("orig.raw.pktlen"),
    pktcount: key!("orig.raw.pktcount"),
};

const REPLY: DirectionKeys = DirectionKeys {
    saddr: key!("reply.ip.saddr.str"),
    daddr: key!("reply.ip.daddr.str"),
    protocol: key!("reply.ip.protocol"),
    sport: key!("reply.l4.sport"),
    dport: key!("reply.l4.dport"),
    icmp_type: key!("reply.icmp.type"),
    icmp_code: key!("reply.icmp.code"),
    icmp_id: key!("reply.icmp.id"),
    pktlen: key!("reply.raw.pktlen"),
    pktcount: key!("reply.raw.pktcount"),
};

/// The keys of a conntrack entry, by the names ulogd2's NFCT input gives them where it has
/// names: tuples and counters of both directions, `ct.mark`, `ct.id`; then ours:
/// `ct.state` (how this packet relates to the entry, `NFULA_CT_INFO`: `NEW`,
/// `ESTABLISHED_REPLY`, ...), `ct.status` (the `IPS_*` bits) with `ct.status.str`
/// (`SEEN_REPLY|ASSURED|CONFIRMED`), `ct.zone` and `ct.timeout` (seconds). Each key only
/// when the kernel sent its attribute.
fn write_conntrack<P: Put>(mut line: P, ct: &Conntrack<'_>, info: Option<CtInfo>) -> P {
    for (keys, tuple, counters) in [
        (&ORIGINAL, ct.original(), ct.counters_original()),
        (&REPLY, ct.reply(), ct.counters_reply()),
    ] {
        if let Some(tuple) = tuple {
            write_tuple(&mut line, keys, &tuple);
        }
        if let Some(counters) = counters {
            line.int(keys.pktlen, counters.bytes);
            line.int(keys.pktcount, counters.packets);
        }
    }
    if let Some(mark) = ct.mark() {
        line.int(key!("ct.mark"), mark);
    }
    if let Some(id) = ct.id() {
        line.int(key!("ct.id"), id);
    }
    if let Some(info) = info {
        line.lit(key!("ct.state"));
        match info.name() {
            Some(name) => line.put_with(|line| write_string(line, name)),
            None => push_dec(&mut line, info.number()),
        }
    }
    if let Some(status) = ct.status() {
        line.int(key!("ct.status"), status.bits());
        line.lit(key!("ct.status.str"));
        line.push(b'"');
        // Names and hexadecimal digits only: nothing to escape.
        line.put(status.to_string().as_bytes());
        line.push(b'"');
    }
    if let Some(zone) = ct.zone() {
        line.int(key!("ct.zone"), zone);
    }
    if let Some(timeout) = ct.timeout() {
        line.int(key!("ct.timeout"), timeout);
    }
    line
}

fn write_tuple(line: &mut impl Put, keys: &DirectionKeys, tuple: &Tuple) {
    for (key, addr) in [(keys.saddr, tuple.src), (keys.daddr, tuple.dst)] {
        match addr {
            Some(IpAddr::V4(addr)) => {
                line.lit(key);
                write_quoted_ipv4(line, addr);
            }
            Some(IpAddr::V6(addr)) => {
                line.lit(key);
                write_quoted_ipv6(line, addr);
            }
            None => {}
        }
    }
    if let Some(protocol) = tuple.protocol {
        line.int(keys.protocol, protocol);
    }
    for (key, value) in [
        (keys.sport, tuple.src_port),
        (keys.dport, tuple.dst_port),
        (keys.icmp_id, tuple.icmp_id),
    ] {
        if let Some(value) = value {
            line.int(key, value);
        }
    }
    for (key, value) in [
        (keys.icmp_type, tuple.icmp_type),
        (keys.icmp_code, tuple.icmp_code),
    ] {
        if let Some(value) = value {
            line.int(key, value);
        }
    }
}

/// The keys of ulogd's BASE plugin: network, transport, ARP and SCTP headers.
#[inline]
fn write_base(line: &mut impl Put, decoded: &Decoded, payload: &[u8]) {
    match decoded.network {
        Some(Network::Ipv4(ip)) => {
            line.int(key!("ip.protocol"), ip.protocol);
            line.int(key!("ip.tos"), ip.tos);
            line.int(key!("ip.ttl"), ip.ttl);
            line.int(key!("ip.totlen"), ip.total_len);
            line.int(key!("ip.ihl"), ip.ihl);
            line.int(key!("ip.csum"), ip.checksum);
            line.int(key!("ip.id"), ip.id);
            // The raw field: flags (reserved, DF, MF) above the 13-bit offset.
            let fragoff = u16::from(ip.reserved_flag) << 15
                | u16::from(ip.dont_fragment) << 14
                | u16::from(ip.more_fragments) << 13
                | ip.fragment_offset;
            line.int(key!("ip.fragoff"), fragoff);
        }
        Some(Network::Ipv6(ip)) => {
            let later_fragment = ip.fragment.is_some_and(|f| f.offset != 0);
            // ulogd returns before ip.protocol and ip6.nexthdr when an extension header is
            // cut; a malformed one we treat alike.
            let extensions_failed = matches!(
                decoded.cut,
                Some(Cut::Extension | Cut::Malformed(Layer::Network))
            );
            // BASE: a later fragment or ESP jumps past `ip.protocol` to `ip6.nexthdr`.
            if !later_fragment && !extensions_failed && ip.protocol != IPPROTO_ESP {
                line.int(key!("ip.protocol"), ip.protocol);
            }
            line.int(key!("ip6.payloadlen"), ip.payload_len);
            line.int(key!("ip6.priority"), ip.traffic_class);
            line.int(key!("ip6.flowlabel"), ip.flow_label);
            line.int(key!("ip6.hoplimit"), ip.hop_limit);
            if !extensions_failed {
                line.int(key!("ip6.nexthdr"), ip.protocol);
            }
            if let Some(fragment) = ip.fragment {
                // ulogd: ntohs(ip6f_offlg & IP6F_OFF_MASK), the offset in bytes.
                line.int(key!("ip6.fragoff"), u32::from(fragment.offset) * 8);
                line.int(key!("ip6.fragid"), fragment.id);
            }
        }
        _ => {}
    }
    match decoded.transport {
        Some(Transport::Tcp(tcp)) => write_tcp(line, &tcp),
        Some(Transport::Udp(udp)) => {
            line.int(key!("src_port"), udp.src_port);
            line.int(key!("dest_port"), udp.dst_port);
            line.int(key!("udp.len"), udp.len);
            line.int(key!("udp.csum"), udp.checksum);
        }
        Some(Transport::Icmpv4(icmp)) => write_icmp(line, &icmp, false),
        Some(Transport::Icmpv6(icmp)) => write_icmp(line, &icmp, true),
        None => {}
    }
    if let Some(Network::Arp(arp)) = decoded.network {
        line.int(key!("arp.hwtype"), arp.hardware_type);
        line.int(key!("arp.protocoltype"), arp.protocol_type);
        line.int(key!("arp.operation"), arp.operation);
    }
    if let Some((src_port, dst_port, checksum)) = sctp(decoded, payload) {
        line.int(key!("src_port"), src_port);
        line.int(key!("dest_port"), dst_port);
        line.int(key!("sctp.csum"), checksum);
    }
}

#[inline]
fn write_tcp(line: &mut impl Put, tcp: &Tcp) {
    let flag = |bit| u8::from(tcp.has(bit));
    line.int(key!("src_port"), tcp.src_port);
    line.int(key!("dest_port"), tcp.dst_port);
    line.int(key!("tcp.seq"), tcp.seq);
    line.int(key!("tcp.ackseq"), tcp.ack_seq);
    line.int(key!("tcp.window"), tcp.window);
    // BASE: okey_set_u8(ntohs(tcph->doff)), a 4-bit value swapped out of the low byte.
    line.lit(concat!(", \"tcp.offset\": 0", ", \"tcp.reserved\": 0").as_bytes());
    line.int(key!("tcp.urg"), flag(Tcp::URG));
    if tcp.has(Tcp::URG) {
        line.int(key!("tcp.urgp"), tcp.urgent_ptr);
    }
    line.int(key!("tcp.ack"), flag(Tcp::ACK));
    line.int(key!("tcp.psh"), flag(Tcp::PSH));
    line.int(key!("tcp.rst"), flag(Tcp::RST));
    line.int(key!("tcp.syn"), flag(Tcp::SYN));
    line.int(key!("tcp.fin"), flag(Tcp::FIN));
    // glibc's struct tcphdr: res1 is the 4 reserved bits, res2 the 2 bits ECE and CWR.
    line.int(key!("tcp.res1"), tcp.reserved);
    line.int(key!("tcp.res2"), tcp.flags >> 6);
    line.int(key!("tcp.csum"), tcp.checksum);
}

#[inline]
fn write_icmp(line: &mut impl Put, icmp: &Icmp, v6: bool) {
    let (type_key, code_key, id_key, seq_key, csum_key) = if v6 {
        (
            key!("icmpv6.type"),
            key!("icmpv6.code"),
            key!("icmpv6.echoid"),
            key!("icmpv6.echoseq"),
            key!("icmpv6.csum"),
        )
    } else {
        (
            key!("icmp.type"),
            key!("icmp.code"),
            key!("icmp.echoid"),
            key!("icmp.echoseq"),
            key!("icmp.csum"),
        )
    };
    line.int(type_key, icmp.icmp_type);
    line.int(code_key, icmp.code);
    if let Some((id, seq)) = icmp.echo(v6) {
        line.int(id_key, id);
        line.int(seq_key, seq);
    }
    // Destination unreachable, fragmentation needed: the next-hop MTU.
    if !v6 && icmp.icmp_type == 3 && icmp.code == 4 {
        line.int(
            key!("icmp.fragmtu"),
            u16::from_be_bytes([icmp.rest[2], icmp.rest[3]]),
        );
    }
    // BASE: okey_set_u16(&ret[KEY_ICMP_CSUM], icmph->checksum), no ntohs: the wire bytes
    // read little-endian on the x86 machines ulogd runs on.
    line.int(csum_key, icmp.checksum.swap_bytes());
}

/// SCTP's common header (ports and checksum), which BASE reads and the decoder does not:
/// for a first or only fragment whose protocol, after any extension headers, is SCTP.
pub(super) fn sctp(decoded: &Decoded, payload: &[u8]) -> Option<(u16, u16, u32)> {
    if decoded.transport.is_some() || decoded.cut.is_some() {
        return None;
    }
    let first = match decoded.network? {
        Network::Ipv4(ip) => ip.protocol == IPPROTO_SCTP && ip.fragment_offset == 0,
        Network::Ipv6(ip) => {
            ip.protocol == IPPROTO_SCTP && ip.fragment.is_none_or(|f| f.offset == 0)
        }
        Network::Arp(_) => false,
    };
    if !first {
        return None;
    }
    let sctp = Sctp::parse(payload.get(decoded.upper_layer?..)?)?;
    Some((sctp.src_port, sctp.dst_port, sctp.checksum))
}

/// The keys of an object being written.
trait Line: Put {
    /// Writes `bytes`: a key from [`key!`], with its separators.
    // Perf: inlined at each call, so that the key's length is a constant and its copy a few
    // stores, not a call to memcpy, and one copy for the separators and the key together;
    // `int` likewise (figures: docs/benchmarks.md, "Code shaped for speed").
    #[inline(always)]
    fn lit(&mut self, bytes: &[u8]) {
        self.put(bytes);
    }

    /// Writes a key from [`key!`] and a number.
    #[inline(always)]
    fn int(&mut self, key: &[u8], value: impl Into<u64>) {
        self.lit(key);
        push_dec(self, value.into());
    }
}

impl<P: Put> Line for P {}

/// Interface `index` as a JSON string: `""` for 0, else as [`interface_pieces`] shows it,
/// like the text format (its name, escaped; `if:N` when unnamed).
// Perf: inlined, with the walk through the pieces of a name that is not copied whole out of
// line (`write_name_pieces`), so that the common name costs no call of its own (figures:
// docs/benchmarks.md, "Code shaped for speed").
#[inline]
fn write_name(buf: &mut impl Put, names: &mut dyn ResolveInterface, index: u32) {
    buf.push(b'"');
    if index != 0 {
        let name = names.interface_name_bytes(index);
        match name {
            // `"` is the one byte shown as it is that JSON escapes.
            Some(name) if name.iter().all(|&byte| shown_as_is(byte) && byte != b'"') => {
                buf.put(name);
            }
            _ => buf.put_with(|buf| write_name_pieces(buf, name, index)),
        }
    }
    buf.push(b'"');
}

/// The inside of [`write_name`]'s string for a name that is not copied whole.
#[inline(never)]
fn write_name_pieces(buf: &mut Vec<u8>, name: Option<&[u8]>, index: u32) {
    // The value's `\xNN` and `\\`, each backslash escaped for JSON.
    push_pieces(buf, name, index, escape_into, b"\\\\");
}

/// The object's start and first key, `{"timestamp": `, and its value:
/// `"%04d-%02d-%02dT%02d:%02d:%02d.%06u%s"` as ulogd's JSON plugin writes it, then the
/// `dvc` key and its value, `device`. Returns the calendar's text and where `sec` is in it,
/// in decimal, for `oob.time.sec`, which is written once a second with the rest.
// Perf: `dvc` follows the time's last piece in the calendar's text: one copy for both.
#[inline]
fn write_timestamp<'c>(
    buf: &mut impl Put,
    calendar: &'c mut Calendar,
    device: &[u8],
    sec: u64,
    usec: Micros,
) -> (SecondText<'c>, usize) {
    let zone = calendar.zone();
    let (text, [usec_at, sec_at]) = calendar.text(sec, |text, moment| {
        // The last second shown is 9999-12-31T23:59:59 in the zone's own time: east of
        // UTC it comes before LAST_SHOWN_SECOND, west of it after (by less than a day).
        let moment = match sec > LAST_SHOWN_SECOND - 86_400 {
            true => {
                let at_last = zone.moment_at(LAST_SHOWN_SECOND, 0).time;
                let gmtoff = i64::from(at_last.offset().local_minus_utc());
                let last = LAST_SHOWN_SECOND.saturating_add_signed(-gmtoff);
                match sec > last {
                    true => zone.moment_at(last, 0).time,
                    false => moment.time,
                }
            }
            false => moment.time,
        };
        text.extend_from_slice(b"{\"timestamp\": \"");
        // Perf: the calendar fields of a DateTime<FixedOffset> each add the offset again
        // (`naive_local`); the local date and time once, then its fields.
        push_date_time(text, &moment.naive_local(), 0);
        // The place of the microseconds (`000000` here), which each packet writes.
        let usec_at = text.len() - USEC_DIGITS;
        // ulogd_output_JSON.c: `if (*opi->cached_tz = '\0' || ...)` assigns, so the suffix
        // is empty when the offset is 0 and "%+03d%02d" otherwise.
        let gmtoff = moment.offset().local_minus_utc();
        if gmtoff != 0 {
            let gmtoff = gmtoff % 86400;
            let hours = gmtoff / 3600;
            let minutes = gmtoff.unsigned_abs() / 60 % 60;
            text.push(if hours < 0 { b'-' } else { b'+' });
            push_two_digits(text, hours.unsigned_abs());
            push_two_digits(text, minutes);
        }
        text.push(b'"');
        text.extend_from_slice(key!("dvc"));
        text.extend_from_slice(device);
        // Then `oob.time.sec`'s value, the unclamped second: the same for the whole second.
        let sec_at = text.len();
        push_dec(text, sec);
        [usec_at, sec_at]
    });
    text.push(buf, 0, usec_at);
    usec.push_padded(buf);
    text.push(buf, usec_at.saturating_add(USEC_DIGITS), sec_at);
    (text, sec_at)
}

/// The digits of the microseconds in `timestamp`.
const USEC_DIGITS: usize = 6;

/// `value` as a JSON string, quoted and escaped.
fn quoted_string(value: &str) -> Vec<u8> {
    let mut quoted = Vec::new();
    write_string(&mut quoted, value);
    quoted
}

/// A JSON string, escaped as jansson's `json_dumps` with flags 0 does.
fn write_string(buf: &mut Vec<u8>, value: &str) {
    buf.push(b'"');
    escape_into(buf, value);
    buf.push(b'"');
}

/// A JSON string from bytes that should be UTF-8: each invalid sequence becomes U+FFFD,
/// as `String::from_utf8_lossy` does.
fn write_lossy_string(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.push(b'"');
    // Perf: prefixes are nearly always short ASCII with nothing to escape.
    if bytes
        .iter()
        .all(|&byte| byte < 0x80 && PLAIN[usize::from(byte)])
    {
        buf.extend_from_slice(bytes);
        buf.push(b'"');
        return;
    }
    for chunk in bytes.utf8_chunks() {
        escape_into(buf, chunk.valid());
        if !chunk.invalid().is_empty() {
            buf.extend_from_slice("\u{fffd}".as_bytes());
        }
    }
    buf.push(b'"');
}

/// The value of a packet's prefix attribute as `oob.prefix` shows it: up to its terminating
/// NUL ([`Packet::prefix_bytes`]), through [`write_lossy_string`].
// Perf: one look at each byte finds both where the prefix ends and that nothing in it needs
// escaping, the common case, where the NUL and the escapes took a walk each (figures:
// docs/benchmarks.md, "Code shaped for speed").
#[inline]
fn write_prefix(buf: &mut impl Put, value: &[u8]) {
    let plain = value
        .iter()
        .position(|&byte| byte >= 0x80 || !PLAIN[usize::from(byte)])
        .unwrap_or(value.len());
    match value.get(plain) {
        None | Some(0) => {
            buf.push(b'"');
            buf.put(&value[..plain]);
            buf.push(b'"');
        }
        Some(_) => {
            let end = value.iter().position(|&byte| byte == 0);
            buf.put_with(|buf| write_lossy_string(buf, &value[..end.unwrap_or(value.len())]));
        }
    }
}

/// jansson's escaping: `"` and `\`, the short forms of `\b \f \n \r \t`, other control
/// characters as `\u00XX` (uppercase hex); `/`, DEL and other non-ASCII are written raw,
/// except the three characters that line-splitting tools take for a line end (see
/// [`JsonFormat`]): U+0085 as `\u0085`, U+2028 as `\u2028`, U+2029 as `\u2029`.
fn escape_into(buf: &mut Vec<u8>, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = value.as_bytes();
    // Perf: most strings have nothing to escape: one look at each byte, one copy.
    if bytes.iter().all(|&byte| PLAIN[usize::from(byte)]) {
        buf.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        // What replaces the `len` bytes from `at`, if anything.
        let (escape, len): (&[u8], usize) = match byte {
            b'"' => (b"\\\"", 1),
            b'\\' => (b"\\\\", 1),
            0x08 => (b"\\b", 1),
            0x0c => (b"\\f", 1),
            b'\n' => (b"\\n", 1),
            b'\r' => (b"\\r", 1),
            b'\t' => (b"\\t", 1),
            0..=0x1f => (b"\\u00", 1),
            // U+0085 is C2 85, U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
            0xc2 if bytes.get(at + 1) == Some(&0x85) => (b"\\u0085", 2),
            0xe2 => match bytes.get(at + 1..at + 3) {
                Some([0x80, 0xa8]) => (b"\\u2028", 3),
                Some([0x80, 0xa9]) => (b"\\u2029", 3),
                _ => (b"", 0),
            },
            _ => (b"", 0),
        };
        if len == 0 {
            at += 1;
            continue;
        }
        buf.extend_from_slice(&bytes[start..at]);
        buf.extend_from_slice(escape);
        if escape == b"\\u00" {
            buf.extend_from_slice(&[HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 0xf)]]);
        }
        at += len;
        start = at;
    }
    buf.extend_from_slice(&bytes[start..]);
}

/// The bytes [`escape_into`] writes as they are, wherever they are in valid UTF-8: not `"`,
/// `\`, control characters, nor the first bytes of U+0085, U+2028 and U+2029 (C2, E2).
const PLAIN: [bool; 256] = {
    let mut plain = [true; 256];
    let mut byte = 0;
    while byte < 0x20 {
        plain[byte] = false;
        byte += 1;
    }
    plain[b'"' as usize] = false;
    plain[b'\\' as usize] = false;
    plain[0xc2] = false;
    plain[0xe2] = false;
    plain
};

/// Bytes as HWHDR writes them: `%02x` joined by `:`, quoted.
#[inline]
fn write_hex_string(buf: &mut impl Put, bytes: &[u8]) {
    buf.push(b'"');
    buf.put_with(|buf| push_hex_bytes(buf, bytes, Some(b':')));
    buf.push(b'"');
}

#[inline]
fn write_quoted_ipv4(buf: &mut impl Put, addr: Ipv4Addr) {
    buf.push(b'"');
    push_ipv4_addr(buf, addr);
    buf.push(b'"');
}

#[inline]
fn write_quoted_ipv6(buf: &mut impl Put, addr: Ipv6Addr) {
    buf.push(b'"');
    buf.put_with(|buf| push_ipv6_addr(buf, &addr));
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use etherparse::PacketBuilder;

    use super::*;
    use crate::format::Numeric;
    use crate::wire::attr::emit;
    use crate::wire::family::Family;
    use crate::wire::packet::PacketRepr;

    /// Names index 1 "lo" and index 2 "eth0", nothing else.
    struct Names;

    impl ResolveInterface for Names {
        fn interface_name(&mut self, index: u32) -> Option<&str> {
            match index {
                1 => Some("lo"),
                2 => Some("eth0"),
                _ => None,
            }
        }
    }

    /// 2023-11-14T22:13:20.123456Z.
    fn received() -> SystemTime {
        UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_000)
    }

    const TS: &str = "2023-11-14T22:13:20.123456";

    /// A packet of the family numbered `family`, logged to group 7 at `hook`, with no
    /// attribute but NFULA_PACKET_HDR: tests add theirs with `..repr(...)`.
    fn repr(family: u8, hw_protocol: u16, hook: u8) -> PacketRepr {
        PacketRepr {
            family: Family::from_number(family),
            group: 7,
            hw_protocol,
            hook,
            ..PacketRepr::default()
        }
    }

    /// A packet message body laid out by hand: nfgenmsg (family, version 0, group 7) then
    /// attributes, values as given. Only for what `PacketRepr` does not write.
    fn raw_body(family: u8, attrs: &[(PacketAttr, &[u8])]) -> Vec<u8> {
        let mut out = vec![family, 0, 0, 7];
        for (kind, value) in attrs {
            emit(&mut out, *kind as u16, value);
        }
        out
    }

    fn header(hw_protocol: u16, hook: u8) -> [u8; 4] {
        let p = hw_protocol.to_be_bytes();
        [p[0], p[1], hook, 0]
    }

    fn line_with(format: &mut JsonFormat, body: &[u8]) -> String {
        let packet = Packet::parse(body).unwrap();
        let mut out = Vec::new();
        format
            .write(&mut out, &packet, received(), &mut Names)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with("}\n"), "{text}");
        assert_eq!(text.matches('\n').count(), 1, "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(value.is_object(), "{text}");
        text
    }

    fn line(body: &[u8]) -> String {
        line_with(&mut JsonFormat::new().time_zone(TimeZone::Utc), body)
    }

    /// The keys of a line, in order: the strings followed by `": `.
    fn keys(text: &str) -> Vec<String> {
        let bytes = text.as_bytes();
        let mut keys = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            if bytes[at] != b'"' {
                at += 1;
                continue;
            }
            let start = at + 1;
            at = start;
            while bytes[at] != b'"' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            if bytes[at + 1..].starts_with(b": ") {
                keys.push(text[start..at].to_owned());
            }
            at += 1;
        }
        keys
    }

    fn udp4(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [198, 51, 100, 7], 64)
            .udp(1234, 53)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    #[test]
    fn tcp_with_every_flag_and_urgent_pointer() {
        let mut ip = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 63)
            .tcp(40001, 443, 0xdead_beef, 1024)
            .ns()
            .fin()
            .syn()
            .rst()
            .psh()
            .ack(77)
            .urg(9)
            .ece()
            .cwr()
            .write(&mut ip, b"data")
            .unwrap();
        let csum = u16::from_be_bytes([ip[36], ip[37]]);
        let b = PacketRepr {
            mark: Some(42),
            prefix: Some(b"fwd".to_vec()),
            indev: Some(2),
            outdev: Some(1),
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 2)
        }
        .to_bytes();
        let text = line(&b);
        let tcp = format!(
            "\"src_port\": 40001, \"dest_port\": 443, \"tcp.seq\": 3735928559, \
             \"tcp.ackseq\": 77, \"tcp.window\": 1024, \"tcp.offset\": 0, \"tcp.reserved\": 0, \
             \"tcp.urg\": 1, \"tcp.urgp\": 9, \"tcp.ack\": 1, \"tcp.psh\": 1, \"tcp.rst\": 1, \
             \"tcp.syn\": 1, \"tcp.fin\": 1, \"tcp.res1\": 1, \"tcp.res2\": 3, \
             \"tcp.csum\": {csum}, \"oob.in\": \"eth0\", \"oob.out\": \"lo\", \
             \"src_ip\": \"10.0.0.1\", \"dest_ip\": \"10.0.0.2\", \"nflog.group\": 7}}\n"
        );
        assert!(text.ends_with(&tcp), "{text}");
        let start = format!(
            "{{\"timestamp\": \"{TS}\", \"dvc\": \"Netfilter\", \"raw.pktlen\": 44, \
             \"raw.pktcount\": 1, \"oob.prefix\": \"fwd\", \"oob.time.sec\": 1700000000, \
             \"oob.time.usec\": 123456, \"oob.mark\": 42, \"oob.ifindex_in\": 2, \
             \"oob.ifindex_out\": 1, \"oob.hook\": 2, \"oob.family\": 2, \
             \"oob.protocol\": 2048, \"raw.label\": 0, \"ip.protocol\": 6, \"ip.tos\": 0, \
             \"ip.ttl\": 63, \"ip.totlen\": 44, \"ip.ihl\": 5, "
        );
        assert!(text.starts_with(&start), "{text}");
    }

    #[test]
    fn tcp_without_urg_has_no_urgent_pointer() {
        let mut ip = Vec::new();
        PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(1, 2, 3, 4)
            .syn()
            .write(&mut ip, &[])
            .unwrap();
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 3)
        }
        .to_bytes();
        let text = line(&b);
        assert!(text.contains("\"tcp.urg\": 0, \"tcp.ack\": 0"), "{text}");
        assert!(!text.contains("tcp.urgp"), "{text}");
        assert!(text.contains("\"tcp.res1\": 0, \"tcp.res2\": 0"), "{text}");
    }

    #[test]
    fn ip_fragoff_is_the_raw_field_and_checksums_swap_as_in_ulogd() {
        // DF and the reserved bit: 0x8000 | 0x4000 = 49152.
        let mut ip = udp4(b"x");
        ip[6] = 0xc0;
        ip[7] = 0;
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        let ip_csum = u16::from_be_bytes([ip[10], ip[11]]);
        let udp_csum = u16::from_be_bytes([ip[26], ip[27]]);
        assert!(
            text.contains(&format!("\"ip.csum\": {ip_csum}, ")),
            "{text}"
        );
        assert!(text.contains("\"ip.fragoff\": 49152, "), "{text}");
        assert!(
            text.contains(&format!(
                "\"src_port\": 1234, \"dest_port\": 53, \"udp.len\": 9, \
                 \"udp.csum\": {udp_csum}, \"oob.in\": \"\", \"oob.out\": \"\""
            )),
            "{text}"
        );
    }

    #[test]
    fn icmp_echo_with_ids_and_unswapped_checksum() {
        let mut ip = Vec::new();
        PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .icmpv4_echo_request(0x1234, 1)
            .write(&mut ip, b"pingdata")
            .unwrap();
        let wire = [ip[22], ip[23]];
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 3)
        }
        .to_bytes();
        let text = line(&b);
        let csum = u16::from_le_bytes(wire);
        assert!(
            text.contains(&format!(
                "\"icmp.type\": 8, \"icmp.code\": 0, \"icmp.echoid\": 4660, \
                 \"icmp.echoseq\": 1, \"icmp.csum\": {csum}, \"oob.in\""
            )),
            "{text}"
        );
    }

    #[test]
    fn icmp_fragmentation_needed_has_the_mtu() {
        let mut ip = Vec::new();
        PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .icmpv4_raw(3, 4, [0, 0, 0x05, 0xdc])
            .write(&mut ip, &[0; 28])
            .unwrap();
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"icmp.type\": 3, \"icmp.code\": 4, \"icmp.fragmtu\": 1500, \"icmp.csum\""
            ),
            "{text}"
        );
        assert!(!text.contains("echoid"), "{text}");
    }

    #[test]
    fn icmpv6_echo() {
        let src = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        let dst = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let mut ip = Vec::new();
        PacketBuilder::ipv6(src.octets(), dst.octets(), 255)
            .icmpv6_echo_reply(0xabcd, 2)
            .write(&mut ip, b"ping6")
            .unwrap();
        let wire = [ip[42], ip[43]];
        let b = PacketRepr {
            indev: Some(1),
            payload: Some(ip.to_vec()),
            ..repr(10, 0x86dd, 1)
        }
        .to_bytes();
        let text = line(&b);
        let csum = u16::from_le_bytes(wire);
        assert!(
            text.contains(&format!(
                "\"oob.family\": 10, \"oob.protocol\": 34525, \"raw.label\": 0, \
                 \"ip.protocol\": 58, \"ip6.payloadlen\": 13, \"ip6.priority\": 0, \
                 \"ip6.flowlabel\": 0, \"ip6.hoplimit\": 255, \"ip6.nexthdr\": 58, \
                 \"icmpv6.type\": 129, \"icmpv6.code\": 0, \"icmpv6.echoid\": 43981, \
                 \"icmpv6.echoseq\": 2, \"icmpv6.csum\": {csum}, \"oob.in\": \"lo\", \
                 \"oob.out\": \"\", \"src_ip\": \"2001:db8::1\", \"dest_ip\": \"fe80::1\", \
                 \"nflog.group\": 7}}\n"
            )),
            "{text}"
        );
    }

    /// IPv6 (traffic class 0x2e, flow 0x12345) + fragment header (offset in 8-byte units,
    /// M flag, id 0xdeadbeef) + UDP 1000 -> 2000 with 4 bytes of data.
    fn ipv6_fragment(offset: u16, more: bool) -> Vec<u8> {
        let mut p = vec![0x62, 0xe1, 0x23, 0x45, 0, 20, 44, 64];
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0x1, 0).octets());
        let offlg = (offset << 3) | u16::from(more);
        p.extend_from_slice(&[17, 0]);
        p.extend_from_slice(&offlg.to_be_bytes());
        p.extend_from_slice(&0xdead_beef_u32.to_be_bytes());
        p.extend_from_slice(&[
            0x03, 0xe8, 0x07, 0xd0, 0, 12, 0x11, 0x11, b'd', b'a', b't', b'a',
        ]);
        p
    }

    #[test]
    fn ipv6_first_fragment() {
        let ip = ipv6_fragment(0, true);
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(10, 0x86dd, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"ip.protocol\": 17, \"ip6.payloadlen\": 20, \"ip6.priority\": 46, \
                 \"ip6.flowlabel\": 74565, \"ip6.hoplimit\": 64, \"ip6.nexthdr\": 17, \
                 \"ip6.fragoff\": 0, \"ip6.fragid\": 3735928559, \"src_port\": 1000, \
                 \"dest_port\": 2000, \"udp.len\": 12, \"udp.csum\": 4369, "
            ),
            "{text}"
        );
        assert!(
            text.contains("\"src_ip\": \"::1\", \"dest_ip\": \"2001:db8::1:0\""),
            "{text}"
        );
    }

    #[test]
    fn ipv6_later_fragment_has_no_protocol_and_no_ports() {
        let ip = ipv6_fragment(185, false);
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(10, 0x86dd, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"raw.label\": 0, \"ip6.payloadlen\": 20, \"ip6.priority\": 46, \
                 \"ip6.flowlabel\": 74565, \"ip6.hoplimit\": 64, \"ip6.nexthdr\": 17, \
                 \"ip6.fragoff\": 1480, \"ip6.fragid\": 3735928559, \"oob.in\""
            ),
            "{text}"
        );
        assert!(
            !text.contains("ip.protocol") && !text.contains("port"),
            "{text}"
        );
    }

    #[test]
    fn ipv4_later_fragment_has_no_ports() {
        let mut ip = udp4(b"0123456789");
        ip[6] = 0x20; // MF, offset 0x0010 (128 bytes)
        ip[7] = 0x10;
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(text.contains("\"ip.fragoff\": 8208, \"oob.in\""), "{text}");
        assert!(!text.contains("port"), "{text}");
    }

    #[test]
    fn meta_mode_has_no_payload_keys() {
        let b = PacketRepr {
            prefix: Some(b"meta".to_vec()),
            outdev: Some(1),
            uid: Some(1000),
            gid: Some(1001),
            seq: Some(0),
            seq_global: Some(9),
            ..repr(2, 0x0800, 3)
        }
        .to_bytes();
        let text = line(&b);
        assert_eq!(
            text,
            format!(
                "{{\"timestamp\": \"{TS}\", \"dvc\": \"Netfilter\", \"raw.pktcount\": 1, \
                 \"oob.prefix\": \"meta\", \"oob.time.sec\": 1700000000, \
                 \"oob.time.usec\": 123456, \"oob.mark\": 0, \"oob.ifindex_out\": 1, \
                 \"oob.hook\": 3, \"oob.seq.local\": 0, \"oob.seq.global\": 9, \
                 \"oob.family\": 2, \"oob.protocol\": 2048, \"oob.uid\": 1000, \
                 \"oob.gid\": 1001, \"raw.label\": 0, \"oob.in\": \"\", \"oob.out\": \"lo\", \
                 \"nflog.group\": 7}}\n"
            )
        );
    }

    const SRC_MAC: [u8; 6] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
    const DST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    fn ethernet_header(ethertype: u16) -> Vec<u8> {
        let mut h = DST_MAC.to_vec();
        h.extend_from_slice(&SRC_MAC);
        h.extend_from_slice(&ethertype.to_be_bytes());
        h
    }

    #[test]
    fn ethernet_hardware_header() {
        let ip = udp4(b"hi");
        let hw = SRC_MAC;
        let eth = ethernet_header(0x0800);
        let b = PacketRepr {
            indev: Some(2),
            hwaddr: Some(hw.to_vec()),
            hwtype: Some(1),
            hwlen: Some(14),
            hwheader: Some(eth.to_vec()),
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"oob.hook\": 1, \"raw.mac_len\": 14, \"oob.family\": 2, \
                 \"oob.protocol\": 2048, \"raw.label\": 0, \"raw.type\": 1, \
                 \"raw.mac.addrlen\": 6, \"ip.protocol\": 17, "
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "\"oob.in\": \"eth0\", \"oob.out\": \"\", \"src_ip\": \"192.0.2.1\", \
                 \"dest_ip\": \"198.51.100.7\", \"mac.saddr.str\": \"02:42:ac:11:00:02\", \
                 \"mac.daddr.str\": \"52:54:00:12:34:56\", \
                 \"mac.str\": \"52:54:00:12:34:56:02:42:ac:11:00:02:08:00\", \
                 \"nflog.group\": 7}\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn ethernet_protocol_comes_from_the_header_and_source_from_it_without_hwaddr() {
        // A bridge packet whose MAC header carries an 802.1Q tag that was not accelerated.
        let eth = ethernet_header(0x8100);
        let b = PacketRepr {
            hwtype: Some(1),
            hwlen: Some(14),
            hwheader: Some(eth.to_vec()),
            payload: Some([0x00, 0x05, 0x08, 0x00, 0x45].to_vec()),
            ..repr(7, 0x8100, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(text.contains("\"oob.protocol\": 33024, "), "{text}");
        assert!(
            text.contains(
                "\"mac.saddr.str\": \"02:42:ac:11:00:02\", \"mac.daddr.str\": \"52:54:00:12:34:56\""
            ),
            "{text}"
        );
        assert!(!text.contains("ip."), "{text}");
    }

    #[test]
    fn loopback_hardware_header_has_no_destination() {
        let b = PacketRepr {
            hwaddr: Some([0; 6].to_vec()),
            hwtype: Some(772),
            hwlen: Some(14),
            hwheader: Some(ethernet_header(0x0800)),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(text.contains("\"raw.type\": 772, "), "{text}");
        assert!(
            text.contains("\"mac.saddr.str\": \"00:00:00:00:00:00\", \"mac.str\": "),
            "{text}"
        );
        assert!(!text.contains("mac.daddr.str"), "{text}");
    }

    #[test]
    fn hwaddr_without_hardware_header_writes_arphrd_void_late() {
        let b = PacketRepr {
            hwaddr: Some(SRC_MAC.to_vec()),
            hwtype: Some(65534),
            hwlen: Some(0),
            hwheader: Some(Vec::new()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(!text.contains("raw.mac_len"), "{text}");
        assert!(
            text.ends_with(
                "\"oob.out\": \"\", \"raw.type\": 65535, \
                 \"mac.saddr.str\": \"02:42:ac:11:00:02\", \"nflog.group\": 7}\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn prefix_escaping_as_jansson() {
        let b = PacketRepr {
            prefix: Some(b"a\"b\\c\td\x01e\x1f/\x7f\xc3\xa9\n\r\x08\x0c".to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"oob.prefix\": \"a\\\"b\\\\c\\td\\u0001e\\u001F/\u{7f}\u{e9}\\n\\r\\b\\f\", "
            ),
            "{text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["oob.prefix"],
            "a\"b\\c\td\u{1}e\u{1f}/\u{7f}\u{e9}\n\r\u{8}\u{c}"
        );
    }

    #[test]
    fn a_line_longer_than_its_room_is_written_whole() {
        // Escaped, the prefix alone is six times the room: the line is written again into
        // a `Vec`, and the next line, which fits, in the room again.
        let prefix: Vec<u8> = (0..crate::format::put::LINE_ROOM)
            .map(|i| [b'\x01', b'a', b'"'][i % 3])
            .collect();
        let long = PacketRepr {
            prefix: Some(prefix.clone()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let short = repr(2, 0x0800, 1).to_bytes();
        let mut format = JsonFormat::new();
        let first = line_with(&mut format, &short);
        let text = line_with(&mut format, &long);
        assert!(text.len() > crate::format::put::LINE_ROOM, "{}", text.len());
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["oob.prefix"].as_str().unwrap().as_bytes(), prefix);
        assert_eq!(value["nflog.group"], 7, "{text}");
        assert_eq!(line_with(&mut format, &short), first);
    }

    #[test]
    fn unicode_line_separators_are_escaped_so_one_object_stays_one_line() {
        let b = PacketRepr {
            prefix: Some(
                "a\u{85}b\u{2028}c\u{2029}d\u{e9}\u{2027}\u{202a}\u{20ac}"
                    .as_bytes()
                    .to_vec(),
            ),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"oob.prefix\": \"a\\u0085b\\u2028c\\u2029d\u{e9}\u{2027}\u{202a}\u{20ac}\", "
            ),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["oob.prefix"],
            "a\u{85}b\u{2028}c\u{2029}d\u{e9}\u{2027}\u{202a}\u{20ac}"
        );
    }

    #[test]
    fn invalid_utf8_prefix_is_written_lossily() {
        let b = PacketRepr {
            prefix: Some(b"bad\xff\xfeend\xc3".to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains("\"oob.prefix\": \"bad\u{fffd}\u{fffd}end\u{fffd}\", "),
            "{text}"
        );
    }

    #[test]
    fn device_name_is_escaped() {
        let b = repr(2, 0x0800, 1).to_bytes();
        let mut format = JsonFormat::new()
            .time_zone(TimeZone::Utc)
            .device("fw \"edge\"");
        let text = line_with(&mut format, &b);
        assert!(text.contains(", \"dvc\": \"fw \\\"edge\\\"\", "), "{text}");
    }

    #[test]
    fn device_named_after_a_line_in_the_same_second_is_written() {
        // The calendar keeps the text of the last second, `dvc` and all.
        let b = repr(2, 0x0800, 1).to_bytes();
        let mut format = JsonFormat::new().time_zone(TimeZone::Utc);
        assert!(line_with(&mut format, &b).contains(", \"dvc\": \"Netfilter\", "));
        let mut format = format.device("edge");
        let text = line_with(&mut format, &b);
        assert!(text.contains(", \"dvc\": \"edge\", "), "{text}");
    }

    fn timestamp_in(tz: TimeZone) -> String {
        let b = repr(2, 0x0800, 3).to_bytes();
        let text = line_with(&mut JsonFormat::new().time_zone(tz), &b);
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value["timestamp"].as_str().unwrap().to_owned()
    }

    #[test]
    fn timezone_suffix_as_ulogd() {
        assert_eq!(timestamp_in(TimeZone::Utc), TS);
        assert_eq!(timestamp_in(TimeZone::Fixed(0)), TS);
        assert_eq!(
            timestamp_in(TimeZone::Fixed(3600)),
            "2023-11-14T23:13:20.123456+0100"
        );
        assert_eq!(
            timestamp_in(TimeZone::Fixed(-12600)),
            "2023-11-14T18:43:20.123456-0330"
        );
        assert_eq!(
            timestamp_in(TimeZone::Fixed(20700)),
            "2023-11-15T03:58:20.123456+0545"
        );
        // ulogd's arithmetic: hours 0 print as "+00" even west of UTC.
        assert_eq!(
            timestamp_in(TimeZone::Fixed(-1800)),
            "2023-11-14T21:43:20.123456+0030"
        );
    }

    #[test]
    fn kernel_timestamp_wins_over_received() {
        let ts = (1_795_840_506, 5);
        let b = PacketRepr {
            timestamp: Some(ts),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.starts_with(
                "{\"timestamp\": \"2026-11-28T04:35:06.000005\", \"dvc\": \"Netfilter\", \
                 \"raw.pktcount\": 1, \"oob.time.sec\": 1795840506, \"oob.time.usec\": 5, "
            ),
            "{text}"
        );
    }

    #[test]
    fn far_future_timestamp_does_not_panic() {
        let ts = (u64::MAX / 4, 999_999);
        let b = PacketRepr {
            timestamp: Some(ts),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        for tz in [TimeZone::Utc, TimeZone::Local, TimeZone::Fixed(50400)] {
            let text = line_with(&mut JsonFormat::new().time_zone(tz), &b);
            assert!(
                text.contains(&format!("\"oob.time.sec\": {}, ", u64::MAX / 4)),
                "{text}"
            );
        }
    }

    /// Past the year 9999 the `timestamp` string shows 9999-12-31T23:59:59 in the zone's own
    /// time, east or west of UTC; before it, the time itself. It was clamped at that second
    /// in UTC: at UTC+14 the string read `10000-01-01T13:59:59`.
    #[test]
    fn times_past_the_year_9999_show_its_last_second_in_every_zone() {
        let shown = |zone: TimeZone, sec: u64| {
            let b = PacketRepr {
                timestamp: Some((sec, 5)),
                ..repr(2, 0x0800, 1)
            }
            .to_bytes();
            let text = line_with(&mut JsonFormat::new().time_zone(zone), &b);
            let start = text.find("\"timestamp\": \"").expect("a timestamp") + 14;
            text[start..].split('"').next().unwrap().to_owned()
        };
        let last = LAST_SHOWN_SECOND;
        for sec in [last + 12 * 3600 + 1, last + 86_400, 1 << 40, u64::MAX / 4] {
            assert_eq!(shown(TimeZone::Utc, sec), "9999-12-31T23:59:59.000005");
            assert_eq!(
                shown(TimeZone::Fixed(14 * 3600), sec),
                "9999-12-31T23:59:59.000005+1400"
            );
            assert_eq!(
                shown(TimeZone::Fixed(-12 * 3600), sec),
                "9999-12-31T23:59:59.000005-1200"
            );
        }
        assert_eq!(shown(TimeZone::Utc, last + 1), "9999-12-31T23:59:59.000005");
        // West of UTC the last hours of 9999 are shown as they are; east of it, the
        // calendar's last second comes 14 hours sooner.
        assert_eq!(
            shown(TimeZone::Fixed(-12 * 3600), last + 3600),
            "9999-12-31T12:59:59.000005-1200"
        );
        assert_eq!(
            shown(TimeZone::Fixed(14 * 3600), last - 14 * 3600),
            "9999-12-31T23:59:59.000005+1400"
        );
        assert_eq!(
            shown(TimeZone::Fixed(14 * 3600), last - 14 * 3600 - 1),
            "9999-12-31T23:59:58.000005+1400"
        );
    }

    /// An Ethernet/IPv4 ARP request from SRC_MAC, 192.0.2.1, for 192.0.2.7.
    fn arp_request() -> Vec<u8> {
        let mut arp = vec![0, 1, 0x08, 0x00, 6, 4, 0, 1];
        arp.extend_from_slice(&SRC_MAC);
        arp.extend_from_slice(&[192, 0, 2, 1]);
        arp.extend_from_slice(&[0; 6]);
        arp.extend_from_slice(&[192, 0, 2, 7]);
        arp
    }

    #[test]
    fn arp_family() {
        let arp = arp_request();
        let b = PacketRepr {
            indev: Some(2),
            payload: Some(arp.to_vec()),
            ..repr(3, 0x0806, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"oob.family\": 3, \"oob.protocol\": 2054, \"raw.label\": 0, \
                 \"arp.hwtype\": 1, \"arp.protocoltype\": 2048, \"arp.operation\": 1, \
                 \"oob.in\": \"eth0\", \"oob.out\": \"\", \"arp.saddr.str\": \"192.0.2.1\", \
                 \"arp.daddr.str\": \"192.0.2.7\", \"nflog.group\": 7}\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn arp_output_hook_decodes_the_arp_header_after_the_ethernet_header() {
        // The arp family's output hook copies the frame: broadcast, our MAC, 0x0806, ARP.
        let mut frame = vec![0xff; 6];
        frame.extend_from_slice(&SRC_MAC);
        frame.extend_from_slice(&[0x08, 0x06]);
        frame.extend_from_slice(&arp_request());
        let b = PacketRepr {
            outdev: Some(2),
            payload: Some(frame.to_vec()),
            ..repr(3, 0x0806, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"arp.hwtype\": 1, \"arp.protocoltype\": 2048, \"arp.operation\": 1, \
                 \"oob.in\": \"\", \"oob.out\": \"eth0\", \"arp.saddr.str\": \"192.0.2.1\", \
                 \"arp.daddr.str\": \"192.0.2.7\", "
            ),
            "{text}"
        );
    }

    #[test]
    fn bridge_and_netdev_families() {
        let ip = udp4(b"x");
        for family in [7u8, 5] {
            let b = PacketRepr {
                indev: Some(2),
                payload: Some(ip.to_vec()),
                ..repr(family, 0x0800, 0)
            }
            .to_bytes();
            let text = line(&b);
            assert!(
                text.contains(&format!("\"oob.family\": {family}, \"oob.protocol\": 2048")),
                "{text}"
            );
            assert!(
                text.contains("\"src_ip\": \"192.0.2.1\", \"dest_ip\": \"198.51.100.7\""),
                "{text}"
            );
            assert!(text.contains("\"dest_port\": 53, "), "{text}");
        }
        // A bridge frame that is not IP or ARP: the metadata, nothing decoded.
        let b = PacketRepr {
            payload: Some([1, 2, 3, 4].to_vec()),
            ..repr(7, 0x88cc, 0)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains("\"raw.pktlen\": 4, ") && text.contains("\"oob.protocol\": 35020, "),
            "{text}"
        );
        assert!(!text.contains("src_ip"), "{text}");
    }

    #[test]
    fn sctp_ports_and_checksum() {
        let mut ip = udp4(&[0; 8]);
        ip[9] = 132;
        // Source 5000, destination 38412, tag, checksum 0x01020304.
        ip[20..32].copy_from_slice(&[0x13, 0x88, 0x96, 0x0c, 0, 0, 0, 1, 1, 2, 3, 4]);
        let b = PacketRepr {
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(
            text.contains(
                "\"ip.fragoff\": 16384, \"src_port\": 5000, \"dest_port\": 38412, \
                 \"sctp.csum\": 16909060, \"oob.in\""
            ),
            "{text}"
        );
    }

    #[test]
    fn ipv4_header_alone_still_has_addresses() {
        let ip = udp4(b"");
        let b = PacketRepr {
            payload: Some(ip[..20].to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        assert!(text.contains("\"ip.protocol\": 17, "), "{text}");
        assert!(text.contains("\"src_ip\": \"192.0.2.1\""), "{text}");
        assert!(!text.contains("port"), "{text}");
    }

    #[test]
    fn unknown_interface_is_if_and_its_index() {
        let b = PacketRepr {
            indev: Some(9),
            outdev: Some(0),
            ..repr(2, 0x0800, 2)
        }
        .to_bytes();
        let packet = Packet::parse(&b).unwrap();
        let mut out = Vec::new();
        JsonFormat::new()
            .write(&mut out, &packet, received(), &mut Numeric)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\"oob.ifindex_in\": 9, \"oob.hook\""),
            "{text}"
        );
        // Index 0 is no interface: "" as in ulogd.
        assert!(
            text.contains("\"oob.in\": \"if:9\", \"oob.out\": \"\""),
            "{text}"
        );
    }

    #[test]
    fn interface_names_say_the_same_in_json_and_text() {
        for (index, shown) in [
            (5u32, "5"),
            (2, "caf\\xe9"),
            (3, "a\\\\x0ab"),
            (4, "q\"\\x01\\x7fn\u{e9}"),
            (9, "if:9"),
        ] {
            let b = PacketRepr {
                indev: Some(index),
                ..repr(2, 0x0800, 2)
            }
            .to_bytes();
            let packet = Packet::parse(&b).unwrap();
            let mut json = Vec::new();
            JsonFormat::new()
                .write(
                    &mut json,
                    &packet,
                    received(),
                    &mut crate::format::names::OddNames,
                )
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
            assert_eq!(json["oob.in"], shown, "{json}");
            let mut text = Vec::new();
            crate::format::TextFormat::new()
                .hostname("h")
                .write(
                    &mut text,
                    &packet,
                    received(),
                    &mut crate::format::names::OddNames,
                )
                .unwrap();
            let text = String::from_utf8(text).unwrap();
            assert!(text.contains(&format!(" h IN={shown} OUT= ")), "{text}");
        }
        // A name that is not UTF-8 was "" (ulogd drops the key); "5" and index 5 differ.
        let shown = |names: &mut dyn ResolveInterface| {
            let b = PacketRepr {
                indev: Some(5),
                ..repr(2, 0x0800, 2)
            }
            .to_bytes();
            let mut json = Vec::new();
            JsonFormat::new()
                .write(&mut json, &Packet::parse(&b).unwrap(), received(), names)
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&json).unwrap()["oob.in"].clone()
        };
        assert_ne!(
            shown(&mut crate::format::names::OddNames),
            shown(&mut Numeric)
        );
    }

    #[test]
    fn ipv6_like_inet_ntop() {
        // Expected values from glibc's inet_ntop (Python's socket.inet_ntop).
        let cases = [
            ("00000000000000000000000000000000", "::"),
            ("00000000000000000000000000000001", "::1"),
            ("00000000000000000000000000000002", "::2"),
            ("00000000000000000000000001020304", "::1.2.3.4"),
            ("00000000000000000000ffff01020304", "::ffff:1.2.3.4"),
            ("00000000000000000000ffff00000000", "::ffff:0.0.0.0"),
            ("00010000000000000000000000000000", "1::"),
            ("00010000000000020000000000000003", "1:0:0:2::3"),
            ("20010db8000000000000000000000001", "2001:db8::1"),
            ("fe800000000000000001000000000001", "fe80::1:0:0:1"),
            ("00000001000000000000000000000000", "0:1::"),
            ("00010000000100000001000000010000", "1:0:1:0:1:0:1:0"),
            ("00000000000000000000000000010000", "::0.1.0.0"),
            ("00000000000000000000000100000000", "::1:0:0"),
            ("00000000000a000b000c000d000e000f", "::a:b:c:d:e:f"),
            ("0000000000000000ffff000000010002", "::ffff:0:1:2"),
            ("0064ff9b0000000000000000c0000201", "64:ff9b::c000:201"),
            (
                "abcdef0123456789abcdef0123456789",
                "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
            ),
        ];
        for (hex, expected) in cases {
            let bits = u128::from_str_radix(hex, 16).unwrap();
            let mut buf = Vec::new();
            push_ipv6_addr(&mut buf, &Ipv6Addr::from(bits));
            assert_eq!(String::from_utf8(buf).unwrap(), expected, "{hex}");
        }
    }

    #[test]
    fn golden_key_order_for_ulogd_keys() {
        // Every key ulogd could write here appears in the order of section 2.4.
        let ip = udp4(b"x");
        let b = PacketRepr {
            mark: Some(1),
            prefix: Some(b"p".to_vec()),
            indev: Some(1),
            outdev: Some(2),
            hwaddr: Some(SRC_MAC.to_vec()),
            hwtype: Some(1),
            hwlen: Some(14),
            hwheader: Some(ethernet_header(0x0800)),
            uid: Some(0),
            gid: Some(0),
            seq: Some(0),
            seq_global: Some(1),
            payload: Some(ip.to_vec()),
            ..repr(2, 0x0800, 1)
        }
        .to_bytes();
        let text = line(&b);
        let expected = [
            "timestamp",
            "dvc",
            "raw.pktlen",
            "raw.pktcount",
            "oob.prefix",
            "oob.time.sec",
            "oob.time.usec",
            "oob.mark",
            "oob.ifindex_in",
            "oob.ifindex_out",
            "oob.hook",
            "raw.mac_len",
            "oob.seq.local",
            "oob.seq.global",
            "oob.family",
            "oob.protocol",
            "oob.uid",
            "oob.gid",
            "raw.label",
            "raw.type",
            "raw.mac.addrlen",
            "ip.protocol",
            "ip.tos",
            "ip.ttl",
            "ip.totlen",
            "ip.ihl",
            "ip.csum",
            "ip.id",
            "ip.fragoff",
            "src_port",
            "dest_port",
            "udp.len",
            "udp.csum",
            "oob.in",
            "oob.out",
            "src_ip",
            "dest_ip",
            "mac.saddr.str",
            "mac.daddr.str",
            "mac.str",
            "nflog.group",
        ];
        assert_eq!(keys(&text), expected, "{text}");
    }

    /// xorshift64: reproducible bytes without a dependency.
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn random_packets_give_one_valid_object_each() {
        let mut state = 0x2545_f491_4f6c_dd1d;
        let mut format = JsonFormat::new().time_zone(TimeZone::Fixed(-12600));
        let mut out = Vec::new();
        let families = [0u8, 2, 3, 5, 7, 10, 99];
        let protocols = [0u16, 0x0800, 0x86dd, 0x0806, 0x8100];
        let attrs = [
            PacketAttr::Mark,
            PacketAttr::Timestamp,
            PacketAttr::IfindexIndev,
            PacketAttr::IfindexOutdev,
            PacketAttr::Hwaddr,
            PacketAttr::Prefix,
            PacketAttr::Uid,
            PacketAttr::Gid,
            PacketAttr::Seq,
            PacketAttr::SeqGlobal,
            PacketAttr::Hwtype,
            PacketAttr::Hwheader,
            PacketAttr::Hwlen,
        ];
        for round in 0..5000 {
            let family = families[round % families.len()];
            let protocol = protocols[(round / 7) % protocols.len()];
            let mut list: Vec<(PacketAttr, Vec<u8>)> = vec![(
                PacketAttr::PacketHdr,
                header(protocol, round as u8 % 6).to_vec(),
            )];
            for &attr in &attrs {
                if next(&mut state) % 2 == 0 {
                    continue;
                }
                let len = match attr {
                    PacketAttr::Timestamp => 16,
                    PacketAttr::Hwtype | PacketAttr::Hwlen => 2,
                    PacketAttr::Prefix | PacketAttr::Hwheader => (next(&mut state) % 40) as usize,
                    PacketAttr::Hwaddr => 12,
                    _ => 4,
                };
                let mut value: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
                if attr == PacketAttr::Hwaddr {
                    value[0] = 0;
                    value[1] %= 9;
                }
                if attr == PacketAttr::Hwtype && round % 3 == 0 {
                    value = 1u16.to_be_bytes().to_vec();
                }
                list.push((attr, value));
            }
            // A payload: random bytes steered towards IP headers.
            if round % 5 != 0 {
                let len = (next(&mut state) % 90) as usize;
                let mut payload: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
                if let Some(first) = payload.first_mut() {
                    *first = match round % 4 {
                        0 => 0x45,
                        1 => 0x60 | (*first & 0x0f),
                        _ => *first,
                    };
                }
                if round % 4 == 0 && payload.len() > 9 {
                    payload[6] &= 0xe0;
                    payload[7] = 0;
                    payload[9] = [1, 6, 17, 132, 51, 136][round / 4 % 6];
                }
                list.push((PacketAttr::Payload, payload));
            }
            let refs: Vec<(PacketAttr, &[u8])> =
                list.iter().map(|(a, v)| (*a, v.as_slice())).collect();
            // Raw, not `PacketRepr`: random prefixes without the kernel's NUL and random
            // NFULA_HWADDR structures, which `PacketRepr` does not write.
            let b = raw_body(family, &refs);
            let Ok(packet) = Packet::parse(&b) else {
                continue;
            };
            out.clear();
            format
                .write(&mut out, &packet, received(), &mut Names)
                .unwrap();
            let text = std::str::from_utf8(&out).unwrap();
            assert!(text.ends_with("}\n"), "{text}");
            assert_eq!(text.matches('\n').count(), 1, "{text}");
            let value: serde_json::Value =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
            let object = value.as_object().unwrap();
            // No key twice: serde_json keeps the last, so the counts would differ.
            assert_eq!(object.len(), keys(text).len(), "{text}");
            assert_eq!(object["nflog.group"], 7);
        }
    }

    #[test]
    fn conntrack_keys_by_ulogd_names_come_last() {
        let ct = crate::conntrack::tests::host_order(&crate::conntrack::tests::TCP_ESTABLISHED);
        let body = PacketRepr {
            conntrack: Some(ct),
            ct_info: Some(2),
            ..repr(2, 0x0800, 3)
        }
        .to_bytes();
        let text = line(&body);
        assert!(
            text.ends_with(
                "\"nflog.group\": 7, \"orig.ip.saddr.str\": \"127.0.0.1\", \
                 \"orig.ip.daddr.str\": \"127.0.0.1\", \"orig.ip.protocol\": 6, \
                 \"orig.l4.sport\": 40000, \"orig.l4.dport\": 8080, \
                 \"orig.raw.pktlen\": 221, \"orig.raw.pktcount\": 4, \
                 \"reply.ip.saddr.str\": \"127.0.0.1\", \"reply.ip.daddr.str\": \"127.0.0.1\", \
                 \"reply.ip.protocol\": 6, \"reply.l4.sport\": 8080, \"reply.l4.dport\": 40000, \
                 \"reply.raw.pktlen\": 170, \"reply.raw.pktcount\": 3, \"ct.mark\": 42, \
                 \"ct.id\": 709571538, \"ct.state\": \"NEW\", \"ct.status\": 14, \
                 \"ct.status.str\": \"SEEN_REPLY|ASSURED|CONFIRMED\", \"ct.timeout\": 431999}\n"
            ),
            "{text}"
        );
        // A rejected entry writes no key.
        let body = PacketRepr {
            conntrack: Some(vec![8, 0, 12, 0, 0, 0]),
            ..repr(2, 0x0800, 3)
        }
        .to_bytes();
        assert!(line(&body).ends_with("\"nflog.group\": 7}\n"));
    }

    proptest::proptest! {
        /// The prefix as one walk writes it, against the NUL found first and then the
        /// string escaped: any bytes, NULs, escapes and UTF-8 anywhere, or none.
        #[test]
        fn prefix_in_one_walk_is_the_prefix_escaped(
            value in super::super::prefix_values(),
        ) {
            let (shown, expected) =
                super::super::prefix_both_ways(&value, write_lossy_string, write_prefix);
            proptest::prop_assert_eq!(shown, expected);
        }
    }
}
