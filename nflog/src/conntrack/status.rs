//! The status bits of a conntrack entry (`CTA_STATUS`, `enum ip_conntrack_status`).

use core::fmt;

/// The status bits of a conntrack entry (`IPS_*`), combinable with `|`.
///
/// Bits this crate does not name are kept: newer kernels may add some.
/// Numbers from `include/uapi/linux/netfilter/nf_conntrack_common.h`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Status(u32);

macro_rules! status_bits {
    ($($(#[$doc:meta])* $name:ident = $bit:literal;)*) => {
        impl Status {
            $($(#[$doc])* pub const $name: Status = Status(1 << $bit);)*

            /// Every named bit with its `IPS_*` name without the prefix, lowest first.
            pub const NAMED: &'static [(Status, &'static str)] =
                &[$((Status::$name, stringify!($name)),)*];
        }
    };
}

status_bits! {
    /// `IPS_EXPECTED`: an expected connection (of a helper such as FTP's).
    EXPECTED = 0;
    /// `IPS_SEEN_REPLY`: packets were seen both ways.
    SEEN_REPLY = 1;
    /// `IPS_ASSURED`: the entry is not dropped early when the table is full.
    ASSURED = 2;
    /// `IPS_CONFIRMED`: the first packet has left the box; the entry is in the table.
    CONFIRMED = 3;
    /// `IPS_SRC_NAT`: the connection needs source NAT in the original direction.
    SRC_NAT = 4;
    /// `IPS_DST_NAT`: the connection needs destination NAT in the original direction.
    DST_NAT = 5;
    /// `IPS_SEQ_ADJUST`: TCP sequence numbers are adjusted.
    SEQ_ADJUST = 6;
    /// `IPS_SRC_NAT_DONE`: source NAT is set up.
    SRC_NAT_DONE = 7;
    /// `IPS_DST_NAT_DONE`: destination NAT is set up.
    DST_NAT_DONE = 8;
    /// `IPS_DYING`: the entry is being removed.
    DYING = 9;
    /// `IPS_FIXED_TIMEOUT`: the timeout does not change with the traffic.
    FIXED_TIMEOUT = 10;
    /// `IPS_TEMPLATE`: a template (of the CT target), not a connection.
    TEMPLATE = 11;
    /// `IPS_UNTRACKED`: the old fake untracked entry (obsolete).
    UNTRACKED = 12;
    /// `IPS_HELPER`: a helper was attached explicitly by the CT target.
    HELPER = 13;
    /// `IPS_OFFLOAD`: the connection is offloaded to a flow table.
    OFFLOAD = 14;
    /// `IPS_HW_OFFLOAD`: the connection is offloaded to hardware.
    HW_OFFLOAD = 15;
}

impl Status {
    /// The status with exactly these bits, unknown ones included.
    pub const fn from_bits(bits: u32) -> Status {
        Status(bits)
    }

    /// The bits as the kernel sent them.
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Status) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the set bits this crate knows, lowest first (`"SEEN_REPLY"`, ...).
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Status::NAMED
            .iter()
            .filter(move |(bit, _)| self.contains(*bit))
            .map(|(_, name)| *name)
    }

    /// The set bits this crate has no name for.
    pub const fn unknown_bits(self) -> u32 {
        let mut known = 0;
        let mut i = 0;
        while i < Status::NAMED.len() {
            known |= Status::NAMED[i].0 .0;
            i += 1;
        }
        self.0 & !known
    }
}

impl core::ops::BitOr for Status {
    type Output = Status;
    fn bitor(self, rhs: Status) -> Status {
        Status(self.0 | rhs.0)
    }
}

impl core::ops::BitAnd for Status {
    type Output = Status;
    fn bitand(self, rhs: Status) -> Status {
        Status(self.0 & rhs.0)
    }
}

/// The names joined by `|`, unknown bits last in hexadecimal: `SEEN_REPLY|ASSURED|0x10000`;
/// `0` when no bit is set.
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("0");
        }
        let mut first = true;
        for name in self.names() {
            if !first {
                f.write_str("|")?;
            }
            f.write_str(name)?;
            first = false;
        }
        let unknown = self.unknown_bits();
        if unknown != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{unknown:#x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Status({self})")
    }
}
