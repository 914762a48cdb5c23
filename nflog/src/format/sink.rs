//! Where packets go: the one output trait, [`Sink`], which every format implements.
//!
//! The line formats ([`TextFormat`], [`JsonFormat`], [`XmlFormat`]) own no writer: paired
//! with one in [`Lines`], they are a sink. The pcap and pcapng writers own theirs and are
//! sinks themselves. A destination that is not a byte stream (a log server, a database)
//! implements the trait the same way: it takes each packet, and may ignore the flush.

use std::io::{self, Write};
use std::time::SystemTime;

use super::{packet_time, JsonFormat, ResolveInterface, TextFormat, XmlFormat};
use crate::decode::{network_header, NetworkHeader};
use crate::pcap::{InterfaceStats, LinkType, PcapWriter, PcapngWriter};
use crate::wire::family::Family;
use crate::wire::packet::Packet;

/// A destination for packets: a format with its output, or any other consumer of them.
pub trait Sink {
    /// Writes one packet.
    ///
    /// `received` stands in for the time of packets the kernel did not timestamp (those
    /// logged at OUTPUT and POSTROUTING); `names` names interfaces, for sinks that show
    /// names.
    ///
    /// # Errors
    ///
    /// Those of the output; the packet may then be partly written.
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()>;

    /// Pushes what is buffered to its destination.
    ///
    /// # Errors
    ///
    /// Those of the output.
    fn flush(&mut self) -> io::Result<()>;

    /// Ends the output, given what each group received and lost (pcapng writes them as
    /// interface statistics; other sinks ignore them), then flushes.
    ///
    /// # Errors
    ///
    /// Those of the output.
    fn finish(&mut self, groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        let _ = groups;
        self.flush()
    }
}

/// A line format and the writer its lines go to: text, JSON or XML as a [`Sink`].
///
/// ```
/// use nflog::format::{Lines, Numeric, Sink, TextFormat};
/// # fn show(packet: &nflog::Packet<&[u8]>) -> std::io::Result<()> {
/// let mut sink = Lines::new(TextFormat::new(), std::io::stdout());
/// sink.write(packet, std::time::SystemTime::now(), &mut Numeric)?;
/// sink.flush()
/// # }
/// ```
#[derive(Debug)]
pub struct Lines<F, W> {
    format: F,
    out: W,
}

impl<F, W> Lines<F, W> {
    /// Writes `format`'s lines to `out`.
    pub fn new(format: F, out: W) -> Self {
        Lines { format, out }
    }

    /// The output.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The output, after flushing nothing.
    pub fn into_inner(self) -> W {
        self.out
    }
}

// The three line formats share `write(out, packet, received, names)` as inherent methods,
// generic over the writer; one impl each keeps them monomorphic, with no trait of their own.
macro_rules! line_sink {
    ($($format:ty),*) => {$(
        impl<W: Write> Sink for Lines<$format, W> {
            #[inline]
            fn write(
                &mut self,
                packet: &Packet<&[u8]>,
                received: SystemTime,
                names: &mut dyn ResolveInterface,
            ) -> io::Result<()> {
                self.format.write(&mut self.out, packet, received, names)
            }

            fn flush(&mut self) -> io::Result<()> {
                self.out.flush()
            }
        }
    )*};
}

line_sink!(TextFormat, JsonFormat, XmlFormat);

/// The bytes of a record: the NFLOG message body, or for [`LinkType::Raw`] the bare IP
/// packet ([`raw_ip`]; a packet that has none is not written).
#[inline]
fn record_bytes<'p>(packet: &Packet<&'p [u8]>, link_type: LinkType) -> Option<&'p [u8]> {
    match link_type {
        LinkType::Raw => raw_ip(packet),
        _ => Some(packet.as_bytes()),
    }
}

/// The bare IP packet a LINKTYPE_RAW record holds: the payload from the network header on,
/// past the link-layer header and VLAN tags it may start with
/// ([`network_header`](crate::decode::network_header)). `None` for a packet that is not
/// IPv4 or IPv6 (ARP, another EtherType), has no payload, or is cut before its network
/// header: LINKTYPE_RAW has no way to say what such bytes are.
pub fn raw_ip<'p>(packet: &Packet<&'p [u8]>) -> Option<&'p [u8]> {
    const ETHERTYPE_IPV4: u16 = 0x0800;
    const ETHERTYPE_IPV6: u16 = 0x86dd;
    let NetworkHeader::At {
        protocol, header, ..
    } = network_header(packet)
    else {
        return None;
    };
    // Readers of LINKTYPE_RAW tell IPv4 from IPv6 by the version: it must agree.
    let version = header.first()? >> 4;
    let ip = match protocol {
        ETHERTYPE_IPV4 => version == 4,
        ETHERTYPE_IPV6 => version == 6,
        // The inet hooks see IP whatever `hw_protocol` says.
        _ => {
            matches!(packet.family(), Family::Ipv4 | Family::Ipv6) && (version == 4 || version == 6)
        }
    };
    ip.then_some(header)
}

/// A kernel timestamp (`NFULA_TIMESTAMP`) as seconds and microseconds when it needs no
/// clock arithmetic: seconds a pcap record header holds, microseconds below a second. Then
/// the record's time fields are these numbers, as [`packet_time`] and the writers' clamps
/// would make them; any other stamp (a crafted one) goes their long way.
#[inline]
fn plain_stamp(packet: &Packet<&[u8]>) -> Option<Option<(u32, u32)>> {
    let (sec, usec) = packet.timestamp_parts()?;
    Some(match (u32::try_from(sec), u32::try_from(usec)) {
        (Ok(sec), Ok(usec)) if usec < 1_000_000 => Some((sec, usec)),
        _ => None,
    })
}

/// One record per packet, timed by the kernel's timestamp or else by `received`.
impl<W: Write> Sink for PcapWriter<W> {
    // Perf: inline, so that a writer generic over its output (the command's file output)
    // writes a record without a call for each layer.
    #[inline]
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        _names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        let Some(data) = record_bytes(packet, self.link_type()) else {
            return Ok(());
        };
        match plain_stamp(packet) {
            Some(Some((sec, usec))) => self.write_record_at(sec, usec, data, data.len()),
            Some(None) => self.write_record(packet_time(packet, received), data, data.len()),
            // Unstamped: the packets of a batch share `received`, which the writer keeps
            // worked out.
            None => self.write_record(received, data, data.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        PcapWriter::flush(self)
    }
}

/// One record per packet on its group's interface; [`finish`](Sink::finish) writes each
/// group's statistics.
impl<W: Write> Sink for PcapngWriter<W> {
    #[inline]
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        _names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        let Some(data) = record_bytes(packet, self.link_type()) else {
            return Ok(());
        };
        let group = packet.group();
        match plain_stamp(packet) {
            Some(Some((sec, usec))) => {
                let micros = u64::from(sec) * 1_000_000 + u64::from(usec);
                self.write_record_micros(group, micros, data, data.len())
            }
            Some(None) => self.write_record(group, packet_time(packet, received), data, data.len()),
            None => self.write_record(group, received, data, data.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        PcapngWriter::flush(self)
    }

    fn finish(&mut self, groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        let now = SystemTime::now();
        for (group, stats) in groups {
            self.write_stats(*group, stats, now)?;
        }
        PcapngWriter::flush(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Numeric;
    use crate::pcap::write::{micros_since_epoch, pcap_time_fields};
    use crate::wire::packet::PacketRepr;
    use std::time::{Duration, UNIX_EPOCH};

    /// A packet message body of `group` (IPv4, hook 3), with `payload` when given.
    fn body(group: u16, payload: Option<&[u8]>) -> Vec<u8> {
        PacketRepr {
            group,
            hook: 3,
            payload: payload.map(<[u8]>::to_vec),
            ..PacketRepr::default()
        }
        .to_bytes()
    }

    const RECEIVED: SystemTime = UNIX_EPOCH;

    /// A sink that is no byte stream: it keeps each packet's group and length.
    #[derive(Default)]
    struct Tally(Vec<(u16, usize)>);

    impl Sink for Tally {
        fn write(
            &mut self,
            packet: &Packet<&[u8]>,
            _received: SystemTime,
            _names: &mut dyn ResolveInterface,
        ) -> io::Result<()> {
            self.0.push((packet.group(), packet.as_bytes().len()));
            Ok(())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn each_format_as_a_sink_writes_what_its_own_writer_writes() {
        let with = body(5, Some(&[0x45; 20]));
        let without = body(6, None);
        let packets = [
            Packet::parse(&with).unwrap(),
            Packet::parse(&without).unwrap(),
        ];
        let stats = [
            (5, InterfaceStats::default()),
            (6, InterfaceStats::default()),
        ];

        let mut expected = Vec::new();
        for packet in &packets {
            TextFormat::new()
                .write(&mut expected, packet, RECEIVED, &mut Numeric)
                .unwrap();
        }
        let mut sink = Lines::new(TextFormat::new(), Vec::new());
        for packet in &packets {
            sink.write(packet, RECEIVED, &mut Numeric).unwrap();
        }
        sink.finish(&stats).unwrap();
        assert_eq!(sink.into_inner(), expected);

        // Raw pcap has no record for a packet without payload.
        for (link_type, records) in [(LinkType::Nflog, 2), (LinkType::Raw, 1)] {
            let mut expected = PcapWriter::new(Vec::new(), link_type).unwrap();
            for packet in &packets[..records] {
                let data = match link_type {
                    LinkType::Raw => packet.payload().unwrap(),
                    _ => packet.as_bytes(),
                };
                expected.write_record(RECEIVED, data, data.len()).unwrap();
            }
            let mut sink = PcapWriter::new(Vec::new(), link_type).unwrap();
            for packet in &packets {
                Sink::write(&mut sink, packet, RECEIVED, &mut Numeric).unwrap();
            }
            Sink::finish(&mut sink, &stats).unwrap();
            assert_eq!(sink.into_inner(), expected.into_inner(), "{link_type:?}");
        }

        // pcapng: a record on each group's interface, then each group's statistics.
        let when = RECEIVED + Duration::from_secs(1);
        let mut sink = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        for packet in &packets {
            Sink::write(&mut sink, packet, RECEIVED, &mut Numeric).unwrap();
        }
        let mut expected = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        for packet in &packets {
            let data = packet.as_bytes();
            expected
                .write_record(packet.group(), RECEIVED, data, data.len())
                .unwrap();
        }
        let written = sink.into_inner();
        let before_stats = expected.into_inner();
        assert_eq!(written, before_stats);
        let mut sink = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        Sink::finish(&mut sink, &stats).unwrap();
        let mut expected = PcapngWriter::new(Vec::new(), LinkType::Nflog).unwrap();
        for (group, stats) in &stats {
            // The time of the statistics is when `finish` ran: compare the blocks' lengths.
            expected.write_stats(*group, stats, when).unwrap();
        }
        assert_eq!(sink.groups(), [5, 6]);
        assert_eq!(sink.into_inner().len(), expected.into_inner().len());

        // JSON and XML lines, behind one box each.
        let mut json = Vec::new();
        let mut xml = Vec::new();
        for packet in &packets {
            JsonFormat::new()
                .write(&mut json, packet, RECEIVED, &mut Numeric)
                .unwrap();
            XmlFormat::new()
                .write(&mut xml, packet, RECEIVED, &mut Numeric)
                .unwrap();
        }
        for (format, expected) in [("json", json), ("xml", xml)] {
            let mut out = Vec::new();
            {
                let mut sink: Box<dyn Sink + '_> = match format {
                    "json" => Box::new(Lines::new(JsonFormat::new(), &mut out)),
                    _ => Box::new(Lines::new(XmlFormat::new(), &mut out)),
                };
                for packet in &packets {
                    sink.write(packet, RECEIVED, &mut Numeric).unwrap();
                }
                sink.finish(&stats).unwrap();
            }
            assert_eq!(out, expected, "{format}");
        }

        // A sink that is no byte stream fits the same trait.
        let mut tally = Tally::default();
        {
            let sink: &mut dyn Sink = &mut tally;
            for packet in &packets {
                sink.write(packet, RECEIVED, &mut Numeric).unwrap();
            }
            sink.finish(&stats).unwrap();
        }
        assert_eq!(tally.0, [(5, with.len()), (6, without.len())]);
    }

    /// At the netdev egress hook the payload starts with the Ethernet header. The text and
    /// JSON formats read SCTP's ports at the IP header's length from the payload's start,
    /// so inside the IP header; they now read them where the decoder says the upper layer
    /// starts.
    #[test]
    fn sctp_ports_at_netdev_egress_are_read_past_the_ethernet_header() {
        let ethernet = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let mut ip = vec![0x45, 0, 0, 32, 0, 1, 0, 0, 64, 132, 0, 0];
        ip.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        let sctp = [0x13, 0x88, 0x13, 0x89, 0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef];
        let frame = [&ethernet[..], &ip, &sctp].concat();
        // NFPROTO_NETDEV, group 3; hook 1 is egress.
        let b = PacketRepr {
            family: crate::wire::family::Family::Netdev,
            group: 3,
            hook: 1,
            l2hdr: Some(ethernet.to_vec()),
            payload: Some(frame),
            ..PacketRepr::default()
        }
        .to_bytes();
        let packet = Packet::parse(&b).unwrap();
        assert_eq!(crate::decode::decode(&packet).upper_layer, Some(14 + 20));

        let mut text = Lines::new(TextFormat::new(), Vec::new());
        text.write(&packet, RECEIVED, &mut Numeric).unwrap();
        let text = String::from_utf8(text.into_inner()).unwrap();
        assert!(text.contains(" PROTO=SCTP SPT=5000 DPT=5001 "), "{text}");

        let mut json = Lines::new(JsonFormat::new(), Vec::new());
        json.write(&packet, RECEIVED, &mut Numeric).unwrap();
        let json = String::from_utf8(json.into_inner()).unwrap();
        assert!(
            json.contains("\"src_port\": 5000, \"dest_port\": 5001, \"sctp.csum\": 3735928559"),
            "{json}"
        );
    }

    /// Kernel stamps a record header holds as they are, and the edges where the clock
    /// arithmetic clamps or refuses them.
    fn stamp() -> impl proptest::strategy::Strategy<Value = Option<(u64, u64)>> {
        use proptest::prelude::*;
        let secs = prop_oneof![
            any::<u32>().prop_map(u64::from),
            Just(u64::from(u32::MAX)),
            Just(u64::from(u32::MAX) + 1),
            Just(18_446_744_073_709),
            Just(i64::MAX as u64),
            Just(u64::MAX),
            any::<u64>(),
        ];
        let usecs = prop_oneof![
            0u64..1_000_000,
            Just(999_999),
            Just(1_000_000),
            Just(u64::from(u32::MAX) + 1),
            any::<u64>(),
        ];
        proptest::option::of((secs, usecs))
    }

    proptest::proptest! {
        /// The pcap and pcapng sinks time their records without the clock arithmetic for
        /// plain stamps, and work out a received time once for the records that share it:
        /// their bytes are those of a fresh writer's `write_record` at `packet_time` for
        /// each record.
        #[test]
        fn records_are_timed_as_the_clock_arithmetic_times_them(
            packets in proptest::collection::vec(
                (stamp(), 0usize..3, 0u16..3),
                1..16,
            ),
        ) {
            let received = [
                UNIX_EPOCH,
                UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789),
                UNIX_EPOCH + Duration::from_secs(u64::from(u32::MAX) + 5),
            ];
            for link_type in [LinkType::Nflog, LinkType::Raw] {
                let mut pcap = PcapWriter::new(Vec::new(), link_type).unwrap();
                let mut pcapng = PcapngWriter::new(Vec::new(), link_type).unwrap();
                // The references write each record's fields as the clock arithmetic makes
                // them for it alone, with nothing kept from the record before.
                let mut want_pcap = PcapWriter::new(Vec::new(), link_type).unwrap();
                let mut want_pcapng = PcapngWriter::new(Vec::new(), link_type).unwrap();
                for &(timestamp, at, group) in &packets {
                    let bytes = PacketRepr {
                        group,
                        hook: 1,
                        timestamp,
                        payload: Some(vec![0x45; 20]),
                        ..PacketRepr::default()
                    }
                    .to_bytes();
                    let packet = Packet::parse(&bytes).unwrap();
                    let when = received[at];
                    Sink::write(&mut pcap, &packet, when, &mut Numeric).unwrap();
                    Sink::write(&mut pcapng, &packet, when, &mut Numeric).unwrap();
                    let data = record_bytes(&packet, link_type).unwrap();
                    let time = packet_time(&packet, when);
                    let (seconds, micros) = pcap_time_fields(time);
                    want_pcap
                        .write_record_at(seconds, micros, data, data.len())
                        .unwrap();
                    want_pcapng
                        .write_record_micros(group, micros_since_epoch(time), data, data.len())
                        .unwrap();
                }
                proptest::prop_assert_eq!(pcap.into_inner(), want_pcap.into_inner());
                proptest::prop_assert_eq!(pcapng.into_inner(), want_pcapng.into_inner());
            }
        }
    }
}
