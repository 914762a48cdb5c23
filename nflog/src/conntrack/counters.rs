//! Packet and byte counters of one direction (`CTA_COUNTERS_ORIG`, `CTA_COUNTERS_REPLY`).

use super::value::{be32, be64};
use crate::wire::attr::Attributes;
use crate::wire::ctattr::counters;

/// Packets and bytes seen in one direction of a connection.
///
/// The kernel counts only when accounting is on (`sysctl net.netfilter.nf_conntrack_acct=1`,
/// per network namespace, for entries created after it was set); otherwise it sends no
/// counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Counters {
    /// Packets (`CTA_COUNTERS_PACKETS`, or the old 32-bit `CTA_COUNTERS32_PACKETS`).
    pub packets: u64,
    /// Bytes of those packets from their IP header on (`CTA_COUNTERS_BYTES`, or
    /// `CTA_COUNTERS32_BYTES`).
    pub bytes: u64,
}

impl Counters {
    /// Reads counters from the value of a counters attribute; `None` unless both packets
    /// and bytes are there. The 64-bit attributes win over the 32-bit ones; when a type
    /// appears twice, the first one counts.
    pub(crate) fn read(value: &[u8]) -> Option<Counters> {
        let (mut packets, mut bytes, mut packets32, mut bytes32) = (None, None, None, None);
        for attr in Attributes::new(value).map_while(Result::ok) {
            let v = attr.value();
            match attr.kind() {
                counters::PACKETS => packets = packets.or(be64(v)),
                counters::BYTES => bytes = bytes.or(be64(v)),
                counters::PACKETS32 => packets32 = packets32.or(be32(v).map(u64::from)),
                counters::BYTES32 => bytes32 = bytes32.or(be32(v).map(u64::from)),
                _ => {}
            }
        }
        Some(Counters {
            packets: packets.or(packets32)?,
            bytes: bytes.or(bytes32)?,
        })
    }
}
