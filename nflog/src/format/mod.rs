//! Output formats: one packet in, one line or element out, written to any `impl Write`.
//!
//! - [`TextFormat`]: the line firewall administrators read from the kernel's LOG target and
//!   from ulogd2's LOGEMU (`IN= OUT= MAC= SRC= DST= LEN= ... MARK=`), plus `GROUP=`.
//! - [`JsonFormat`]: one object per line with exactly the keys and values of ulogd2's JSON
//!   output (stack `NFLOG, BASE, IFINDEX, IP2STR, HWHDR, JSON`), so that pipelines fed by
//!   ulogd2 ingest ours unchanged; keys of our own start with `nflog.`.
//! - [`XmlFormat`]: libnetfilter_log's `nflog_snprintf_xml`, one `<log>` element per line,
//!   stamped with the packet's time (libnetfilter_log stamps the time of the call).
//!
//! Every formatter takes the packet, the time it was received (used for packets the
//! kernel did not timestamp: those logged at OUTPUT and POSTROUTING), and something that
//! names interfaces ([`ResolveInterface`]: [`Numeric`], or
//! [`InterfaceNames`](crate::InterfaceNames)). None allocates per packet once warmed up;
//! none panics on any packet.
//!
//! - [`syslog::SyslogFormat`]: the text line or the JSON object as the MSG of an RFC 5424
//!   (or RFC 3164) syslog message, with the group, prefix and mark as structured data.
//!
//! [`Row`] is a packet as one typed row of a table, in the [`COLUMNS`] ulogd2's SQL output
//! plugins use (`oob_prefix`, `ip_saddr_str`, ...), for the database sinks; its values are
//! the JSON format's.
//!
//! One trait, [`Sink`], is where packets go: a line format paired with its writer
//! ([`Lines`]), the pcap and pcapng writers of [`pcap`](crate::pcap), or a destination of
//! a program's own. A program that writes to several picks one at run time as a
//! `Box<dyn Sink>`.

mod clock;
mod json;
mod names;
mod put;
mod row;
mod sink;
pub mod syslog;
mod text;
mod xml;

pub use clock::TimeZone;
pub use json::JsonFormat;
pub use names::{Numeric, ResolveInterface};
pub use row::{Column, ColumnType, Row, Value, COLUMNS, COLUMNS_WITH_RAW, RAW_PKT};
pub use sink::{raw_ip, Lines, Sink};
pub use text::TextFormat;
pub use xml::XmlFormat;

use std::time::SystemTime;

use crate::wire::packet::Packet;

/// The time to show for a packet: the kernel's timestamp when it sent one, else when the
/// packet was received (as ulogd2 does).
pub fn packet_time(packet: &Packet<&[u8]>, received: SystemTime) -> SystemTime {
    packet.timestamp().unwrap_or(received)
}

/// For the formats' tests: prefix values of any bytes, a NUL and bytes to escape anywhere
/// (a `"`, a backslash, DEL, the two bytes of UTF-8 `é`), or none.
#[cfg(test)]
pub(crate) fn prefix_values() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
    use proptest::prelude::{any, Just};
    proptest::collection::vec(
        proptest::prop_oneof![
            Just(0u8),
            Just(b'"'),
            Just(b'\\'),
            Just(0x7f),
            Just(0xc3),
            Just(0xa9),
            0x20u8..0x7f,
            any::<u8>(),
        ],
        0..24,
    )
}

/// For the formats' tests: what `one_walk` writes for a packet whose prefix attribute's
/// value is `value` as it is (terminated by a NUL or not), and what `general` writes for
/// its prefix as [`Packet::prefix_bytes`] gives it: the two must agree.
#[cfg(test)]
pub(crate) fn prefix_both_ways(
    value: &[u8],
    general: fn(&mut Vec<u8>, &[u8]),
    one_walk: fn(&mut Vec<u8>, &[u8]),
) -> (Vec<u8>, Vec<u8>) {
    let mut body = vec![2, 0, 0, 1];
    body.extend_from_slice(&8u16.to_ne_bytes());
    body.extend_from_slice(&1u16.to_ne_bytes());
    body.extend_from_slice(&[0x08, 0x00, 3, 0]);
    crate::wire::attr::emit(
        &mut body,
        crate::wire::kind::PacketAttr::Prefix as u16,
        value,
    );
    let packet = Packet::parse(&body).unwrap();
    let (mut shown, mut expected) = (Vec::new(), Vec::new());
    let raw = packet.attribute(crate::wire::kind::PacketAttr::Prefix);
    one_walk(&mut shown, raw.unwrap());
    general(&mut expected, packet.prefix_bytes().unwrap());
    (shown, expected)
}
