//! The XML format: libnetfilter_log's `nflog_snprintf_xml`; see [`XmlFormat`].

use std::io::{self, Write};
use std::net::IpAddr;
use std::time::SystemTime;

use chrono::{Datelike, Timelike};

use super::clock::{Calendar, TimeZone};
use super::put::{push_dec, push_hex_bytes, push_ipv4_addr, push_ipv6_addr, push_two_digits};
use crate::conntrack::{Conntrack, CtInfo, Status, Tuple};
use crate::format::ResolveInterface;
use crate::wire::packet::Packet;
use crate::wire::proto::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};

/// The XML format: libnetfilter_log's `nflog_snprintf_xml` with `NFLOG_XML_ALL`, one
/// `<log>` element per line.
///
/// ```text
/// <log><when><hour>4</hour><min>21</min><sec>54</sec><wday>7</wday><day>28</day><month>11</month><year>2026</year></when><prefix>xml-in</prefix><hook>1</hook><hw><proto>0800</proto><src>000000000000</src></hw><mark>7</mark><indev>1</indev><payload>4500...</payload></log>
/// ```
///
/// Elements, in libnetfilter_log 1.0.2's order (docs/formats-reference.md, section 3):
/// `<when>` (hour not padded, minutes and seconds in two digits, `wday` 1 for Sunday,
/// month 1 to 12), `<prefix>` when the packet has one, `<hook>`, `<hw>` with the EtherType
/// in four hex digits and the source hardware address (`<src>`) when there is one, `<mark>`
/// when not 0, `<indev>`, `<outdev>`, `<physindev>`, `<physoutdev>` as interface *indexes*
/// when not 0 (never names: an interface the text and JSON formats show as `if:N`, or by a
/// name that is not UTF-8, is its index here too), `<ctid>` (the conntrack id, `CTA_ID` in
/// `NFULA_CT`), then the whole entry as libnetfilter_conntrack's XML writes a connection
/// (`<flow>` with `<meta direction="original">` and `"reply"`: `<layer3>` with `<src>` and
/// `<dst>`, `<layer4>` with `<sport>`/`<dport>` or ICMP's `<type>`/`<code>`/`<id>`,
/// `<counters>`; `<meta direction="independent">` with `<timeout>`, `<mark>`, `<zone>`,
/// `<id>`, `<assured/>`, `<unreplied/>` and ours, `<status>`, the `IPS_*` bits as a number)
/// and `<ctinfo>` (ours: `NEW`, `ESTABLISHED_REPLY`, ...), `<payload>` in hex. libnetfilter_log writes the element without a newline;
/// we end each with `"\n"`.
///
/// # Where we differ from libnetfilter_log, on purpose
///
/// - **`<when>` is the packet's time**: the kernel's timestamp, else the time the packet was
///   received. libnetfilter_log calls `time(NULL)` when it formats, so a replayed or
///   delayed packet got the wrong time (the old `nflog` crate inherited that bug).
/// - **The prefix is escaped** (`&amp; &lt; &gt; &quot; &apos;`), so that the output is
///   well-formed XML; libnetfilter_log copies it raw. Tab, newline, carriage return and the
///   Unicode line ends U+0085, U+2028 and U+2029 become character references (so the
///   element stays on one line, also for readers that split on Unicode line ends); other control
///   characters, which XML 1.0 cannot carry at all, and bytes that are not UTF-8 become
///   U+FFFD.
#[derive(Debug, Clone)]
pub struct XmlFormat {
    /// `<log><when>...</when>` for the last second shown.
    calendar: Calendar,
    /// The element being built, reused from packet to packet.
    line: Vec<u8>,
}

impl Default for XmlFormat {
    fn default() -> Self {
        XmlFormat::new()
    }
}

impl XmlFormat {
    /// Times in local time, as libnetfilter_log (`localtime_r`).
    pub fn new() -> Self {
        XmlFormat {
            calendar: Calendar::new(TimeZone::Local),
            line: Vec::with_capacity(1024),
        }
    }

    /// Writes times in `tz` instead of local time.
    pub fn time_zone(mut self, tz: TimeZone) -> Self {
        self.calendar = Calendar::new(tz);
        self
    }

    /// Writes one `<log>` element for `packet`, then `"\n"`, with one `write_all`.
    ///
    /// `received` is shown for packets without a kernel timestamp. Interfaces are written
    /// as indexes, as libnetfilter_log does, so `_names` is not used.
    ///
    /// # Errors
    ///
    /// Those of `out`.
    pub fn write<W: Write + ?Sized>(
        &mut self,
        out: &mut W,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        _names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        let (second, _) = self.calendar.packet_parts(packet, received);
        let (when, _) = self.calendar.text(second, |line, moment| {
            // Perf: the calendar fields of a DateTime<FixedOffset> each add the offset again
            // (`naive_local`); the local date and time once, then its fields.
            let time = moment.time.naive_local();
            line.extend_from_slice(b"<log><when><hour>");
            push_dec(line, time.hour());
            line.extend_from_slice(b"</hour><min>");
            push_two_digits(line, time.minute());
            line.extend_from_slice(b"</min><sec>");
            push_two_digits(line, time.second());
            line.extend_from_slice(b"</sec><wday>");
            // tm_wday + 1: Sunday is 1.
            push_dec(line, time.weekday().number_from_sunday());
            line.extend_from_slice(b"</wday><day>");
            push_dec(line, time.day());
            line.extend_from_slice(b"</day><month>");
            push_dec(line, time.month());
            line.extend_from_slice(b"</month><year>");
            push_dec(line, u32::try_from(time.year()).unwrap_or(0));
            line.extend_from_slice(b"</year></when>");
            [0; 2]
        });
        line.extend_from_slice(when.bytes());
        if let Some(prefix) = packet.prefix_bytes() {
            line.extend_from_slice(b"<prefix>");
            push_escaped(line, prefix);
            line.extend_from_slice(b"</prefix>");
        }
        line.extend_from_slice(b"<hook>");
        push_dec(line, packet.hook_number());
        line.extend_from_slice(b"</hook><hw><proto>");
        push_hex_bytes(line, &packet.hw_protocol().to_be_bytes(), None);
        line.extend_from_slice(b"</proto>");
        if let Some(address) = packet.hwaddr() {
            line.extend_from_slice(b"<src>");
            push_hex_bytes(line, address, None);
            line.extend_from_slice(b"</src>");
        }
        line.extend_from_slice(b"</hw>");
        for (value, open, close) in [
            (packet.mark(), &b"<mark>"[..], &b"</mark>"[..]),
            (packet.indev(), b"<indev>", b"</indev>"),
            (packet.outdev(), b"<outdev>", b"</outdev>"),
            (packet.physindev(), b"<physindev>", b"</physindev>"),
            (packet.physoutdev(), b"<physoutdev>", b"</physoutdev>"),
        ] {
            // libnetfilter_log's getters return 0 for an absent attribute; 0 is not written.
            if let Some(value) = value.filter(|&v| v != 0) {
                line.extend_from_slice(open);
                push_dec(line, value);
                line.extend_from_slice(close);
            }
        }
        // A malformed NFULA_CT writes none of its elements.
        let ct = Conntrack::from_packet(packet).ok().flatten();
        if let Some(id) = ct.and_then(|ct| ct.id()) {
            line.extend_from_slice(b"<ctid>");
            push_dec(line, id);
            line.extend_from_slice(b"</ctid>");
        }
        if let Some(ct) = ct {
            push_flow(line, &ct, CtInfo::from_packet(packet));
        }
        // nflog_get_payload returns -1 when absent; an empty payload is `<payload></payload>`.
        if let Some(payload) = packet.payload() {
            line.extend_from_slice(b"<payload>");
            push_hex_bytes(line, payload, None);
            line.extend_from_slice(b"</payload>");
        }
        line.extend_from_slice(b"</log>\n");
        out.write_all(line)
    }
}

/// The conntrack entry as libnetfilter_conntrack's XML writes a `<flow>`, and `<ctinfo>`.
fn push_flow(line: &mut Vec<u8>, ct: &Conntrack<'_>, info: Option<CtInfo>) {
    line.extend_from_slice(b"<flow>");
    for (direction, tuple, counters) in [
        (&b"original"[..], ct.original(), ct.counters_original()),
        (b"reply", ct.reply(), ct.counters_reply()),
    ] {
        if tuple.is_none() && counters.is_none() {
            continue;
        }
        line.extend_from_slice(b"<meta direction=\"");
        line.extend_from_slice(direction);
        line.extend_from_slice(b"\">");
        if let Some(tuple) = tuple {
            push_tuple(line, &tuple);
        }
        if let Some(counters) = counters {
            line.extend_from_slice(b"<counters><packets>");
            push_dec(line, counters.packets);
            line.extend_from_slice(b"</packets><bytes>");
            push_dec(line, counters.bytes);
            line.extend_from_slice(b"</bytes></counters>");
        }
        line.extend_from_slice(b"</meta>");
    }
    line.extend_from_slice(b"<meta direction=\"independent\">");
    for (value, open, close) in [
        (ct.timeout(), &b"<timeout>"[..], &b"</timeout>"[..]),
        (ct.mark(), b"<mark>", b"</mark>"),
        (ct.zone().map(u32::from), b"<zone>", b"</zone>"),
        (ct.id(), b"<id>", b"</id>"),
    ] {
        if let Some(value) = value {
            line.extend_from_slice(open);
            push_dec(line, value);
            line.extend_from_slice(close);
        }
    }
    if let Some(status) = ct.status() {
        // libnetfilter_conntrack's empty elements for the status bits it shows.
        if status.contains(Status::ASSURED) {
            line.extend_from_slice(b"<assured/>");
        }
        if !status.contains(Status::SEEN_REPLY) {
            line.extend_from_slice(b"<unreplied/>");
        }
        line.extend_from_slice(b"<status>");
        push_dec(line, status.bits());
        line.extend_from_slice(b"</status>");
    }
    line.extend_from_slice(b"</meta></flow>");
    if let Some(info) = info {
        line.extend_from_slice(b"<ctinfo>");
        match info.name() {
            Some(name) => line.extend_from_slice(name.as_bytes()),
            None => push_dec(line, info.number()),
        }
        line.extend_from_slice(b"</ctinfo>");
    }
}

/// `<layer3>` and `<layer4>` of one direction, as libnetfilter_conntrack writes them.
fn push_tuple(line: &mut Vec<u8>, tuple: &Tuple) {
    let family = match tuple.src.or(tuple.dst) {
        Some(IpAddr::V4(_)) => Some((&b"2"[..], &b"ipv4"[..])),
        Some(IpAddr::V6(_)) => Some((&b"10"[..], &b"ipv6"[..])),
        None => None,
    };
    if let Some((number, name)) = family {
        line.extend_from_slice(b"<layer3 protonum=\"");
        line.extend_from_slice(number);
        line.extend_from_slice(b"\" protoname=\"");
        line.extend_from_slice(name);
        line.extend_from_slice(b"\">");
        for (addr, open, close) in [
            (tuple.src, &b"<src>"[..], &b"</src>"[..]),
            (tuple.dst, b"<dst>", b"</dst>"),
        ] {
            if let Some(addr) = addr {
                line.extend_from_slice(open);
                match addr {
                    IpAddr::V4(addr) => push_ipv4_addr(line, addr),
                    IpAddr::V6(addr) => push_ipv6_addr(line, &addr),
                }
                line.extend_from_slice(close);
            }
        }
        line.extend_from_slice(b"</layer3>");
    }
    if let Some(protocol) = tuple.protocol {
        line.extend_from_slice(b"<layer4 protonum=\"");
        push_dec(line, protocol);
        line.extend_from_slice(b"\" protoname=\"");
        line.extend_from_slice(match protocol {
            IPPROTO_TCP => b"tcp",
            IPPROTO_UDP => b"udp",
            IPPROTO_ICMP => b"icmp",
            IPPROTO_ICMPV6 => b"icmpv6",
            IPPROTO_SCTP => b"sctp",
            _ => b"unknown",
        });
        line.extend_from_slice(b"\">");
        for (value, open, close) in [
            (tuple.src_port, &b"<sport>"[..], &b"</sport>"[..]),
            (tuple.dst_port, b"<dport>", b"</dport>"),
            (tuple.icmp_type.map(u16::from), b"<type>", b"</type>"),
            (tuple.icmp_code.map(u16::from), b"<code>", b"</code>"),
            (tuple.icmp_id, b"<id>", b"</id>"),
        ] {
            if let Some(value) = value {
                line.extend_from_slice(open);
                push_dec(line, value);
                line.extend_from_slice(close);
            }
        }
        line.extend_from_slice(b"</layer4>");
    }
}

/// Text as XML character data: the five special characters escaped, control characters
/// and bytes that are not UTF-8 replaced (see [`XmlFormat`]).
fn push_escaped(line: &mut Vec<u8>, text: &[u8]) {
    const REPLACEMENT: &[u8] = "\u{fffd}".as_bytes();
    // Perf: prefixes are nearly always printable ASCII without markup: one look at each
    // byte, one copy.
    if text.iter().all(|&byte| {
        matches!(byte, 0x20..=0x7e) && !matches!(byte, b'&' | b'<' | b'>' | b'"' | b'\'')
    }) {
        line.extend_from_slice(text);
        return;
    }
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '&' => line.extend_from_slice(b"&amp;"),
                '<' => line.extend_from_slice(b"&lt;"),
                '>' => line.extend_from_slice(b"&gt;"),
                '"' => line.extend_from_slice(b"&quot;"),
                '\'' => line.extend_from_slice(b"&apos;"),
                '\t' => line.extend_from_slice(b"&#9;"),
                '\n' => line.extend_from_slice(b"&#10;"),
                '\r' => line.extend_from_slice(b"&#13;"),
                // Line ends to Unicode-aware readers: references keep the element on one line.
                '\u{85}' => line.extend_from_slice(b"&#133;"),
                '\u{2028}' => line.extend_from_slice(b"&#8232;"),
                '\u{2029}' => line.extend_from_slice(b"&#8233;"),
                // Not XML 1.0 characters (the `Char` production).
                '\0'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => line.extend_from_slice(REPLACEMENT),
                c => line.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        if !chunk.invalid().is_empty() {
            line.extend_from_slice(REPLACEMENT);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::format::Numeric;
    use crate::wire::attr::emit;
    use crate::wire::family::Family;
    use crate::wire::packet::PacketRepr;

    /// `CTA_ID` in ctnetlink's `enum ctattr_type`.
    const CTA_ID: u16 = crate::conntrack::CtAttr::Id as u16;

    /// 2026-11-28 04:21:54 UTC, a Saturday: the time of the libnetfilter_log run.
    const RUN_SEC: u64 = 1_795_839_714;

    /// The payload of the run: IPv4 UDP 127.0.0.1:40000 -> 127.0.0.1:5353, "hello".
    const RUN_PAYLOAD: &str = "45000021a45b40004011986e7f0000017f0000019c4014e9000dfe2068656c6c6f";

    /// libnetfilter_log 1.0.2's output (docs/formats-reference.md, section 3), one line for
    /// OUTPUT and one for INPUT (mark 7 set there).
    const RUN_OUT: &str = "<log><when><hour>4</hour><min>21</min><sec>54</sec><wday>7</wday><day>28</day><month>11</month><year>2026</year></when><prefix>xml-out</prefix><hook>3</hook><hw><proto>0800</proto></hw><outdev>1</outdev><payload>45000021a45b40004011986e7f0000017f0000019c4014e9000dfe2068656c6c6f</payload></log>";
    const RUN_IN: &str = "<log><when><hour>4</hour><min>21</min><sec>54</sec><wday>7</wday><day>28</day><month>11</month><year>2026</year></when><prefix>xml-in</prefix><hook>1</hook><hw><proto>0800</proto><src>000000000000</src></hw><mark>7</mark><indev>1</indev><payload>45000021a45b40004011986e7f0000017f0000019c4014e9000dfe2068656c6c6f</payload></log>";

    fn unhex(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    /// An IPv4 packet of group 5 at `hook`, with the fields `repr` sets.
    fn ipv4(hook: u8, repr: PacketRepr) -> Vec<u8> {
        PacketRepr {
            group: 5,
            hook,
            ..repr
        }
        .to_bytes()
    }

    fn xml_of(body: &[u8], received: SystemTime) -> String {
        let packet = Packet::parse(body).unwrap();
        let mut out = Vec::new();
        XmlFormat::new()
            .time_zone(TimeZone::Utc)
            .write(&mut out, &packet, received, &mut Numeric)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn timestamp(sec: u64) -> Option<(u64, u64)> {
        Some((sec, 123_456))
    }

    #[test]
    fn the_two_lines_of_the_libnetfilter_log_run() {
        let payload = unhex(RUN_PAYLOAD);
        let run_time = UNIX_EPOCH + Duration::from_secs(RUN_SEC);
        // OUTPUT: no kernel timestamp, so the time received is shown.
        let output = ipv4(
            3,
            PacketRepr {
                prefix: Some(b"xml-out".to_vec()),
                outdev: Some(1),
                uid: Some(0),
                gid: Some(0),
                payload: Some(payload.clone()),
                ..PacketRepr::default()
            },
        );
        assert_eq!(xml_of(&output, run_time), format!("{RUN_OUT}\n"));
        // INPUT: the kernel's timestamp wins over a later receive time.
        let input = ipv4(
            1,
            PacketRepr {
                mark: Some(7),
                prefix: Some(b"xml-in".to_vec()),
                indev: Some(1),
                hwaddr: Some(vec![0; 6]),
                hwtype: Some(772),
                hwlen: Some(14),
                hwheader: Some(vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0]),
                timestamp: timestamp(RUN_SEC),
                payload: Some(payload),
                ..PacketRepr::default()
            },
        );
        let later = run_time + Duration::from_secs(3600);
        assert_eq!(xml_of(&input, later), format!("{RUN_IN}\n"));
    }

    #[test]
    fn prefix_is_escaped() {
        let prefixed = |prefix: &[u8]| {
            ipv4(
                1,
                PacketRepr {
                    prefix: Some(prefix.to_vec()),
                    ..PacketRepr::default()
                },
            )
        };
        let packet = prefixed(b"<a href=\"x\">&'\tb\nc\x01\xff");
        let xml = xml_of(&packet, UNIX_EPOCH);
        assert!(
            xml.contains(
                "<prefix>&lt;a href=&quot;x&quot;&gt;&amp;&apos;&#9;b&#10;c\u{fffd}\u{fffd}</prefix>"
            ),
            "{xml}"
        );
        // An empty prefix is an empty element; none is no element.
        assert!(
            xml_of(&prefixed(b""), UNIX_EPOCH).contains("</when><prefix></prefix><hook>1</hook>")
        );
        assert!(
            xml_of(&ipv4(1, PacketRepr::default()), UNIX_EPOCH).contains("</when><hook>1</hook>")
        );
    }

    #[test]
    fn unicode_line_ends_in_the_prefix_are_references() {
        let prefix = "a\u{85}b\u{2028}c\u{2029}d\u{e9}";
        let packet = ipv4(
            1,
            PacketRepr {
                prefix: Some(prefix.as_bytes().to_vec()),
                ..PacketRepr::default()
            },
        );
        let xml = xml_of(&packet, UNIX_EPOCH);
        assert!(
            xml.contains("<prefix>a&#133;b&#8232;c&#8233;d\u{e9}</prefix>"),
            "{xml}"
        );
        assert_eq!(xml.lines().count(), 1, "{xml:?}");
    }

    #[test]
    fn conntrack_id_and_physical_devices() {
        // NFULA_CT: CTA_STATUS (3), then CTA_ID (12), nested without NLA_F_NESTED as the
        // kernel sends it.
        let mut ct = Vec::new();
        emit(&mut ct, 3, &0x188u32.to_be_bytes());
        emit(&mut ct, CTA_ID, &0xdead_beef_u32.to_be_bytes());
        let packet = PacketRepr {
            family: Family::Bridge,
            group: 5,
            hw_protocol: 0x86dd,
            hook: 2,
            indev: Some(3),
            outdev: Some(3),
            physindev: Some(2),
            physoutdev: Some(4),
            conntrack: Some(ct),
            ct_info: Some(2),
            payload: Some(Vec::new()),
            ..PacketRepr::default()
        }
        .to_bytes();
        assert_eq!(
            xml_of(&packet, UNIX_EPOCH),
            "<log><when><hour>0</hour><min>00</min><sec>00</sec><wday>5</wday><day>1</day>\
             <month>1</month><year>1970</year></when><hook>2</hook><hw><proto>86dd</proto></hw>\
             <indev>3</indev><outdev>3</outdev><physindev>2</physindev><physoutdev>4</physoutdev>\
             <ctid>3735928559</ctid><flow><meta direction=\"independent\"><id>3735928559</id>\
             <unreplied/><status>392</status></meta></flow><ctinfo>NEW</ctinfo>\
             <payload></payload></log>\n"
        );
        // NFULA_CT without CTA_ID: no element.
        let mut ct = Vec::new();
        emit(&mut ct, 3, &0x188u32.to_be_bytes());
        let packet = ipv4(
            1,
            PacketRepr {
                conntrack: Some(ct),
                ..PacketRepr::default()
            },
        );
        assert!(!xml_of(&packet, UNIX_EPOCH).contains("<ctid>"));
    }

    #[test]
    fn zero_mark_and_index_are_not_written() {
        let packet = ipv4(
            1,
            PacketRepr {
                mark: Some(0),
                indev: Some(0),
                ..PacketRepr::default()
            },
        );
        assert!(xml_of(&packet, UNIX_EPOCH).ends_with("<hw><proto>0800</proto></hw></log>\n"));
    }

    #[test]
    fn time_zone_applies_to_when() {
        let packet = ipv4(
            1,
            PacketRepr {
                timestamp: timestamp(RUN_SEC),
                ..PacketRepr::default()
            },
        );
        let packet = Packet::parse(&packet).unwrap();
        let mut out = Vec::new();
        XmlFormat::new()
            .time_zone(TimeZone::Fixed(-5 * 3600))
            .write(&mut out, &packet, UNIX_EPOCH, &mut Numeric)
            .unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.starts_with(
            "<log><when><hour>23</hour><min>21</min><sec>54</sec><wday>6</wday><day>27</day>\
             <month>11</month><year>2026</year></when>"
        ));
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
        let mut state = 0x2545_f491_4f6c_dd1d;
        let mut format = XmlFormat::new();
        for _ in 0..5_000 {
            let bytes = |state: &mut u64, max: u64| -> Vec<u8> {
                (0..next(state) % max).map(|_| next(state) as u8).collect()
            };
            let prefix = bytes(&mut state, 12);
            let ct = bytes(&mut state, 24);
            let payload = bytes(&mut state, 40);
            let hwaddr = vec![0xab; (next(&mut state) % 9) as usize];
            let index = next(&mut state) as u32;
            let packet = PacketRepr {
                family: Family::from_number((next(&mut state) % 12) as u8),
                group: 5,
                hw_protocol: next(&mut state) as u16,
                hook: next(&mut state) as u8,
                prefix: Some(prefix),
                hwaddr: Some(hwaddr),
                physoutdev: Some(index),
                conntrack: Some(ct),
                payload: Some(payload),
                ..PacketRepr::default()
            }
            .to_bytes();
            let packet = Packet::parse(&packet).unwrap();
            let mut out = Vec::new();
            format
                .write(&mut out, &packet, SystemTime::now(), &mut Numeric)
                .unwrap();
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.matches('\n').count(), 1, "{text}");
            assert!(text.starts_with("<log><when>") && text.ends_with("</log>\n"));
            assert!(!text.chars().any(|c| c < ' ' && c != '\n'), "{text}");
        }
    }

    #[test]
    fn conntrack_entry_as_libnetfilter_conntrack_writes_a_flow() {
        let ct = crate::conntrack::tests::host_order(&crate::conntrack::tests::TCP_ESTABLISHED);
        let packet = ipv4(
            3,
            PacketRepr {
                conntrack: Some(ct),
                ct_info: Some(0),
                ..PacketRepr::default()
            },
        );
        let xml = xml_of(&packet, UNIX_EPOCH);
        assert!(
            xml.ends_with(
                "<ctid>709571538</ctid><flow><meta direction=\"original\">\
                 <layer3 protonum=\"2\" protoname=\"ipv4\"><src>127.0.0.1</src>\
                 <dst>127.0.0.1</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\">\
                 <sport>40000</sport><dport>8080</dport></layer4><counters><packets>4</packets>\
                 <bytes>221</bytes></counters></meta><meta direction=\"reply\">\
                 <layer3 protonum=\"2\" protoname=\"ipv4\"><src>127.0.0.1</src>\
                 <dst>127.0.0.1</dst></layer3><layer4 protonum=\"6\" protoname=\"tcp\">\
                 <sport>8080</sport><dport>40000</dport></layer4><counters><packets>3</packets>\
                 <bytes>170</bytes></counters></meta><meta direction=\"independent\">\
                 <timeout>431999</timeout><mark>42</mark><id>709571538</id><assured/>\
                 <status>14</status></meta></flow><ctinfo>ESTABLISHED</ctinfo></log>\n"
            ),
            "{xml}"
        );
    }
}
