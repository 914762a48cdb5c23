//! The numbers of ctnetlink's attributes (`CTA_*`), which `NFULA_CT` carries nested.
//!
//! From `include/uapi/linux/netfilter/nfnetlink_conntrack.h`: `enum ctattr_type`,
//! `ctattr_tuple`, `ctattr_ip`, `ctattr_l4proto`, `ctattr_counters`, `ctattr_protoinfo`,
//! `ctattr_help` and `ctattr_tstamp`. Checked against torvalds/linux and the uapi header of
//! Linux 6.1 (Debian's linux-libc-dev 6.1.187), where `CTA_STATUS_MASK` (26) is the last
//! type and `CTA_TUPLE_ZONE` (3) the last tuple type.

use core::fmt;

macro_rules! ct_attrs {
    ($($(#[$doc:meta])* $name:ident = $num:literal, $c:literal;)*) => {
        /// A conntrack attribute type (`CTA_*`, `enum ctattr_type`), as the kernel numbers it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum CtAttr {
            $($(#[$doc])* $name = $num,)*
        }

        impl CtAttr {
            /// Every type this crate knows, in numeric order.
            pub const ALL: &'static [CtAttr] = &[$(CtAttr::$name,)*];

            /// The type with this number, if this crate knows it.
            pub const fn from_number(number: u16) -> Option<CtAttr> {
                match number {
                    $($num => Some(CtAttr::$name),)*
                    _ => None,
                }
            }

            /// The kernel's name for it, such as `CTA_STATUS`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(CtAttr::$name => $c,)*
                }
            }
        }
    };
}

ct_attrs! {
    /// The tuple of the original direction, nested ([`tuple`](mod@tuple)).
    TupleOrig = 1, "CTA_TUPLE_ORIG";
    /// The tuple of the reply direction, nested ([`tuple`](mod@tuple)).
    TupleReply = 2, "CTA_TUPLE_REPLY";
    /// The status bits (`enum ip_conntrack_status`), be32.
    Status = 3, "CTA_STATUS";
    /// Protocol state (TCP state and window scaling, SCTP, DCCP), nested.
    Protoinfo = 4, "CTA_PROTOINFO";
    /// The helper (`CTA_HELP_NAME`), nested.
    Help = 5, "CTA_HELP";
    /// Source NAT setup, nested (only in requests to the kernel).
    NatSrc = 6, "CTA_NAT_SRC";
    /// Seconds left before the entry expires, be32.
    Timeout = 7, "CTA_TIMEOUT";
    /// The connection mark, be32.
    Mark = 8, "CTA_MARK";
    /// Packet and byte counters of the original direction, nested ([`counters`]).
    CountersOrig = 9, "CTA_COUNTERS_ORIG";
    /// Packet and byte counters of the reply direction, nested ([`counters`]).
    CountersReply = 10, "CTA_COUNTERS_REPLY";
    /// The entry's reference count, be32.
    Use = 11, "CTA_USE";
    /// The entry's id, be32.
    Id = 12, "CTA_ID";
    /// Destination NAT setup, nested (only in requests to the kernel).
    NatDst = 13, "CTA_NAT_DST";
    /// The tuple of the master connection of an expected one, nested ([`tuple`](mod@tuple)).
    TupleMaster = 14, "CTA_TUPLE_MASTER";
    /// TCP sequence adjustment of the original direction, nested.
    SeqAdjOrig = 15, "CTA_SEQ_ADJ_ORIG";
    /// TCP sequence adjustment of the reply direction, nested.
    SeqAdjReply = 16, "CTA_SEQ_ADJ_REPLY";
    /// The security mark, be32 (obsolete: the kernel sends `CTA_SECCTX`).
    Secmark = 17, "CTA_SECMARK";
    /// The conntrack zone, be16, when it applies to both directions.
    Zone = 18, "CTA_ZONE";
    /// The security context, nested.
    Secctx = 19, "CTA_SECCTX";
    /// Start and stop time in nanoseconds, nested (with `nf_conntrack_timestamp`).
    Timestamp = 20, "CTA_TIMESTAMP";
    /// A mask for `CTA_MARK`, be32 (only in requests to the kernel).
    MarkMask = 21, "CTA_MARK_MASK";
    /// The connection labels, a bitmap of 128 bits (16 bytes).
    Labels = 22, "CTA_LABELS";
    /// A mask for `CTA_LABELS` (only in requests to the kernel).
    LabelsMask = 23, "CTA_LABELS_MASK";
    /// SYN proxy state, nested.
    Synproxy = 24, "CTA_SYNPROXY";
    /// A dump filter, nested (only in requests to the kernel).
    Filter = 25, "CTA_FILTER";
    /// A mask for `CTA_STATUS`, be32 (only in requests to the kernel).
    StatusMask = 26, "CTA_STATUS_MASK";
}

impl fmt::Display for CtAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), *self as u16)
    }
}

/// Types nested in a tuple (`CTA_TUPLE_ORIG`, `CTA_TUPLE_REPLY`, `CTA_TUPLE_MASTER`).
pub mod tuple {
    /// `CTA_TUPLE_IP`: the addresses, nested ([`ip`](super::ip)).
    pub const IP: u16 = 1;
    /// `CTA_TUPLE_PROTO`: the protocol and its ports or ICMP fields, nested
    /// ([`proto`](super::proto)).
    pub const PROTO: u16 = 2;
    /// `CTA_TUPLE_ZONE`: the zone, be16, when it applies to this direction only.
    pub const ZONE: u16 = 3;
}

/// Types nested in `CTA_TUPLE_IP`.
pub mod ip {
    /// `CTA_IP_V4_SRC`, 4 bytes.
    pub const V4_SRC: u16 = 1;
    /// `CTA_IP_V4_DST`, 4 bytes.
    pub const V4_DST: u16 = 2;
    /// `CTA_IP_V6_SRC`, 16 bytes.
    pub const V6_SRC: u16 = 3;
    /// `CTA_IP_V6_DST`, 16 bytes.
    pub const V6_DST: u16 = 4;
}

/// Types nested in `CTA_TUPLE_PROTO`.
pub mod proto {
    /// `CTA_PROTO_NUM`: the IP protocol number, u8.
    pub const NUM: u16 = 1;
    /// `CTA_PROTO_SRC_PORT`, be16.
    pub const SRC_PORT: u16 = 2;
    /// `CTA_PROTO_DST_PORT`, be16.
    pub const DST_PORT: u16 = 3;
    /// `CTA_PROTO_ICMP_ID`, be16.
    pub const ICMP_ID: u16 = 4;
    /// `CTA_PROTO_ICMP_TYPE`, u8.
    pub const ICMP_TYPE: u16 = 5;
    /// `CTA_PROTO_ICMP_CODE`, u8.
    pub const ICMP_CODE: u16 = 6;
    /// `CTA_PROTO_ICMPV6_ID`, be16.
    pub const ICMPV6_ID: u16 = 7;
    /// `CTA_PROTO_ICMPV6_TYPE`, u8.
    pub const ICMPV6_TYPE: u16 = 8;
    /// `CTA_PROTO_ICMPV6_CODE`, u8.
    pub const ICMPV6_CODE: u16 = 9;
}

/// Types nested in `CTA_COUNTERS_ORIG` and `CTA_COUNTERS_REPLY`.
pub mod counters {
    /// `CTA_COUNTERS_PACKETS`, be64.
    pub const PACKETS: u16 = 1;
    /// `CTA_COUNTERS_BYTES`, be64.
    pub const BYTES: u16 = 2;
    /// `CTA_COUNTERS32_PACKETS`, be32 (old kernels).
    pub const PACKETS32: u16 = 3;
    /// `CTA_COUNTERS32_BYTES`, be32 (old kernels).
    pub const BYTES32: u16 = 4;
}

/// The size a value of a nested type needs, for every nested type this crate reads.
///
/// `outer` is the path of types from the top of the entry down to the nest holding `kind`.
pub(crate) fn value_size(outer: &[u16], kind: u16) -> usize {
    match outer {
        [] => match CtAttr::from_number(kind) {
            Some(
                CtAttr::Status
                | CtAttr::Timeout
                | CtAttr::Mark
                | CtAttr::Use
                | CtAttr::Id
                | CtAttr::Secmark
                | CtAttr::MarkMask
                | CtAttr::StatusMask,
            ) => 4,
            Some(CtAttr::Zone) => 2,
            _ => 0,
        },
        [t] if is_tuple(*t) => match kind {
            tuple::ZONE => 2,
            _ => 0,
        },
        [t, tuple::IP] if is_tuple(*t) => match kind {
            ip::V4_SRC | ip::V4_DST => 4,
            ip::V6_SRC | ip::V6_DST => 16,
            _ => 0,
        },
        [t, tuple::PROTO] if is_tuple(*t) => match kind {
            proto::NUM | proto::ICMP_TYPE | proto::ICMP_CODE => 1,
            proto::ICMPV6_TYPE | proto::ICMPV6_CODE => 1,
            proto::SRC_PORT | proto::DST_PORT | proto::ICMP_ID | proto::ICMPV6_ID => 2,
            _ => 0,
        },
        [c] if is_counters(*c) => match kind {
            counters::PACKETS | counters::BYTES => 8,
            counters::PACKETS32 | counters::BYTES32 => 4,
            _ => 0,
        },
        _ => 0,
    }
}

/// Whether the attribute `kind` inside the nests `outer` is itself a nest this crate checks.
pub(crate) fn is_nest(outer: &[u16], kind: u16) -> bool {
    match outer {
        [] => matches!(
            CtAttr::from_number(kind),
            Some(
                CtAttr::TupleOrig
                    | CtAttr::TupleReply
                    | CtAttr::TupleMaster
                    | CtAttr::CountersOrig
                    | CtAttr::CountersReply
                    | CtAttr::Protoinfo
                    | CtAttr::Help
                    | CtAttr::NatSrc
                    | CtAttr::NatDst
                    | CtAttr::SeqAdjOrig
                    | CtAttr::SeqAdjReply
                    | CtAttr::Secctx
                    | CtAttr::Timestamp
                    | CtAttr::Synproxy
                    | CtAttr::Filter
            )
        ),
        [t] => is_tuple(*t) && matches!(kind, tuple::IP | tuple::PROTO),
        _ => false,
    }
}

/// Whether a top-level type is a tuple.
pub(crate) const fn is_tuple(kind: u16) -> bool {
    matches!(kind, 1 | 2 | 14)
}

/// Whether a top-level type holds counters.
pub(crate) const fn is_counters(kind: u16) -> bool {
    matches!(kind, 9 | 10)
}

/// The kernel's name of `kind` inside the nests `outer` (outermost first), if known.
fn name_in(outer: &[u16], kind: u16) -> Option<&'static str> {
    Some(match outer {
        [] => return CtAttr::from_number(kind).map(CtAttr::name),
        [t] if is_tuple(*t) => match kind {
            tuple::IP => "CTA_TUPLE_IP",
            tuple::PROTO => "CTA_TUPLE_PROTO",
            tuple::ZONE => "CTA_TUPLE_ZONE",
            _ => return None,
        },
        [t, tuple::IP] if is_tuple(*t) => match kind {
            ip::V4_SRC => "CTA_IP_V4_SRC",
            ip::V4_DST => "CTA_IP_V4_DST",
            ip::V6_SRC => "CTA_IP_V6_SRC",
            ip::V6_DST => "CTA_IP_V6_DST",
            _ => return None,
        },
        [t, tuple::PROTO] if is_tuple(*t) => match kind {
            proto::NUM => "CTA_PROTO_NUM",
            proto::SRC_PORT => "CTA_PROTO_SRC_PORT",
            proto::DST_PORT => "CTA_PROTO_DST_PORT",
            proto::ICMP_ID => "CTA_PROTO_ICMP_ID",
            proto::ICMP_TYPE => "CTA_PROTO_ICMP_TYPE",
            proto::ICMP_CODE => "CTA_PROTO_ICMP_CODE",
            proto::ICMPV6_ID => "CTA_PROTO_ICMPV6_ID",
            proto::ICMPV6_TYPE => "CTA_PROTO_ICMPV6_TYPE",
            proto::ICMPV6_CODE => "CTA_PROTO_ICMPV6_CODE",
            _ => return None,
        },
        [c] if is_counters(*c) => match kind {
            counters::PACKETS => "CTA_COUNTERS_PACKETS",
            counters::BYTES => "CTA_COUNTERS_BYTES",
            counters::PACKETS32 => "CTA_COUNTERS32_PACKETS",
            counters::BYTES32 => "CTA_COUNTERS32_BYTES",
            _ => return None,
        },
        // enum ctattr_protoinfo, ctattr_help, ctattr_tstamp.
        [4] => match kind {
            1 => "CTA_PROTOINFO_TCP",
            2 => "CTA_PROTOINFO_DCCP",
            3 => "CTA_PROTOINFO_SCTP",
            _ => return None,
        },
        [5] => match kind {
            1 => "CTA_HELP_NAME",
            2 => "CTA_HELP_INFO",
            _ => return None,
        },
        [20] => match kind {
            1 => "CTA_TIMESTAMP_START",
            2 => "CTA_TIMESTAMP_STOP",
            _ => return None,
        },
        _ => return None,
    })
}

/// Writes a path of types as names, outermost first: `CTA_TUPLE_ORIG > CTA_TUPLE_IP`.
/// A type without a known name shows as `type N`.
pub(crate) fn write_path(f: &mut fmt::Formatter<'_>, path: &[u16]) -> fmt::Result {
    for (depth, &kind) in path.iter().enumerate() {
        if depth > 0 {
            f.write_str(" > ")?;
        }
        match name_in(&path[..depth], kind) {
            Some(name) => f.write_str(name)?,
            None => write!(f, "type {kind}")?,
        }
    }
    Ok(())
}
