//! How a packet relates to its conntrack entry (`NFULA_CT_INFO`, `enum ip_conntrack_info`).

use core::fmt;

use crate::wire::packet::Packet;

/// How a packet relates to its conntrack entry: `enum ip_conntrack_info`, sent as
/// `NFULA_CT_INFO` beside `NFULA_CT`.
///
/// Numbers from `include/uapi/linux/netfilter/nf_conntrack_common.h`. The kernel never sends
/// NEW in the reply direction (userspace headers alias `IP_CT_NEW_REPLY` to `IP_CT_NUMBER`,
/// 5, a count, not a state), so 5 is [`Other`](CtInfo::Other).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtInfo {
    /// `IP_CT_ESTABLISHED` (0): part of an established connection, original direction.
    Established,
    /// `IP_CT_RELATED` (1): related to an existing connection (an FTP data connection, an
    /// ICMP error), original direction.
    Related,
    /// `IP_CT_NEW` (2): starts a new connection (or retransmits its first packet).
    New,
    /// `IP_CT_ESTABLISHED_REPLY` (3): part of an established connection, reply direction.
    EstablishedReply,
    /// `IP_CT_RELATED_REPLY` (4): related to an existing connection, reply direction.
    RelatedReply,
    /// `IP_CT_UNTRACKED` (7, kernel-internal): the packet is not tracked. nfnetlink_log
    /// never sends it: an untracked packet has no entry, so neither `NFULA_CT` nor
    /// `NFULA_CT_INFO` is attached.
    Untracked,
    /// A number this crate does not know.
    Other(u32),
}

impl CtInfo {
    /// The value of this number.
    pub const fn from_number(number: u32) -> CtInfo {
        match number {
            0 => CtInfo::Established,
            1 => CtInfo::Related,
            2 => CtInfo::New,
            3 => CtInfo::EstablishedReply,
            4 => CtInfo::RelatedReply,
            7 => CtInfo::Untracked,
            other => CtInfo::Other(other),
        }
    }

    /// The packet's `NFULA_CT_INFO`, if the group has flag `CONNTRACK` and the packet has a
    /// conntrack entry.
    pub fn from_packet(packet: &Packet<&[u8]>) -> Option<CtInfo> {
        packet.ct_info().map(CtInfo::from_number)
    }

    /// The number as the kernel sends it.
    pub const fn number(self) -> u32 {
        match self {
            CtInfo::Established => 0,
            CtInfo::Related => 1,
            CtInfo::New => 2,
            CtInfo::EstablishedReply => 3,
            CtInfo::RelatedReply => 4,
            CtInfo::Untracked => 7,
            CtInfo::Other(n) => n,
        }
    }

    /// The kernel's name without `IP_CT_`: `"NEW"`, `"ESTABLISHED"`, `"RELATED"`,
    /// `"ESTABLISHED_REPLY"`, `"RELATED_REPLY"`, `"UNTRACKED"`; `None` for
    /// [`Other`](CtInfo::Other).
    pub const fn name(self) -> Option<&'static str> {
        Some(match self {
            CtInfo::Established => "ESTABLISHED",
            CtInfo::Related => "RELATED",
            CtInfo::New => "NEW",
            CtInfo::EstablishedReply => "ESTABLISHED_REPLY",
            CtInfo::RelatedReply => "RELATED_REPLY",
            CtInfo::Untracked => "UNTRACKED",
            CtInfo::Other(_) => return None,
        })
    }

    /// Whether the packet travels in the reply direction (`ctinfo >= IP_CT_IS_REPLY`).
    pub const fn is_reply(self) -> bool {
        matches!(self, CtInfo::EstablishedReply | CtInfo::RelatedReply)
    }
}

/// The name (`NEW`, `ESTABLISHED_REPLY`, ...), or the number for an unknown value.
impl fmt::Display for CtInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "{}", self.number()),
        }
    }
}
