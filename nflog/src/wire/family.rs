//! Protocol families (`NFPROTO_*`) and the netfilter hooks named per family.

use core::fmt;

/// The protocol family of the hook that logged a packet (`nfgenmsg.nfgen_family`).
///
/// Rules in an nft `inet` table log with the packet's own family, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `NFPROTO_UNSPEC` (0).
    Unspec,
    /// `NFPROTO_INET` (1); not seen on packets, listed for completeness.
    Inet,
    /// `NFPROTO_IPV4` (2).
    Ipv4,
    /// `NFPROTO_ARP` (3).
    Arp,
    /// `NFPROTO_NETDEV` (5): ingress and egress hooks of a device.
    Netdev,
    /// `NFPROTO_BRIDGE` (7).
    Bridge,
    /// `NFPROTO_IPV6` (10).
    Ipv6,
    /// A family this crate does not know.
    Other(u8),
}

impl Family {
    /// The family with this number.
    pub const fn from_number(number: u8) -> Family {
        match number {
            0 => Family::Unspec,
            1 => Family::Inet,
            2 => Family::Ipv4,
            3 => Family::Arp,
            5 => Family::Netdev,
            7 => Family::Bridge,
            10 => Family::Ipv6,
            other => Family::Other(other),
        }
    }

    /// The family's number.
    pub const fn number(self) -> u8 {
        match self {
            Family::Unspec => 0,
            Family::Inet => 1,
            Family::Ipv4 => 2,
            Family::Arp => 3,
            Family::Netdev => 5,
            Family::Bridge => 7,
            Family::Ipv6 => 10,
            Family::Other(n) => n,
        }
    }

    /// A short lowercase name, as nft spells the table family (`ip`, `ip6`, `bridge`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Family::Unspec => "unspec",
            Family::Inet => "inet",
            Family::Ipv4 => "ip",
            Family::Arp => "arp",
            Family::Netdev => "netdev",
            Family::Bridge => "bridge",
            Family::Ipv6 => "ip6",
            Family::Other(_) => "unknown",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Family::Other(n) => write!(f, "family {n}"),
            known => f.write_str(known.name()),
        }
    }
}

/// The netfilter hook that logged a packet, named as its family names it.
///
/// The kernel sends only a number; its meaning depends on the family: 0 is PREROUTING for
/// IPv4, IPv6 and bridge, but INGRESS for netdev and IN for arp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hook {
    /// `NF_INET_PRE_ROUTING` (0): IPv4, IPv6, bridge.
    Prerouting,
    /// `NF_INET_LOCAL_IN` (1).
    Input,
    /// `NF_INET_FORWARD` (2).
    Forward,
    /// `NF_INET_LOCAL_OUT` (3).
    Output,
    /// `NF_INET_POST_ROUTING` (4).
    Postrouting,
    /// `NF_NETDEV_INGRESS` (0): netdev; also `NF_INET_INGRESS` (5), the ingress hook of an
    /// nft `inet` chain, which logs IPv4 and IPv6.
    Ingress,
    /// `NF_NETDEV_EGRESS` (1): netdev.
    Egress,
    /// `NF_ARP_IN` (0): arp.
    ArpIn,
    /// `NF_ARP_OUT` (1): arp.
    ArpOut,
    /// `NF_ARP_FORWARD` (2): arp.
    ArpForward,
    /// A hook number this crate cannot name for the family.
    Other(u8),
}

impl Hook {
    /// Names hook `number` as `family` numbers its hooks.
    pub const fn new(family: Family, number: u8) -> Hook {
        match (family, number) {
            (Family::Netdev, 0) => Hook::Ingress,
            (Family::Netdev, 1) => Hook::Egress,
            (Family::Arp, 0) => Hook::ArpIn,
            (Family::Arp, 1) => Hook::ArpOut,
            (Family::Arp, 2) => Hook::ArpForward,
            (Family::Netdev | Family::Arp, n) => Hook::Other(n),
            // NF_INET_INGRESS: an inet chain's ingress hook logs with the packet's family.
            (Family::Ipv4 | Family::Ipv6 | Family::Inet, 5) => Hook::Ingress,
            (_, 0) => Hook::Prerouting,
            (_, 1) => Hook::Input,
            (_, 2) => Hook::Forward,
            (_, 3) => Hook::Output,
            (_, 4) => Hook::Postrouting,
            (_, n) => Hook::Other(n),
        }
    }

    /// The upper-case name firewall logs use: `PREROUTING`, `INPUT`, `INGRESS`, `OUT`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Hook::Prerouting => "PREROUTING",
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
            Hook::Output => "OUTPUT",
            Hook::Postrouting => "POSTROUTING",
            Hook::Ingress => "INGRESS",
            Hook::Egress => "EGRESS",
            Hook::ArpIn => "IN",
            Hook::ArpOut => "OUT",
            Hook::ArpForward => "FORWARD",
            Hook::Other(_) => "UNKNOWN",
        }
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hook::Other(n) => write!(f, "hook {n}"),
            known => f.write_str(known.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_numbers_round_trip() {
        for n in 0..=u8::MAX {
            assert_eq!(Family::from_number(n).number(), n);
        }
    }

    #[test]
    fn hooks_are_named_per_family() {
        assert_eq!(Hook::new(Family::Ipv4, 0), Hook::Prerouting);
        assert_eq!(Hook::new(Family::Ipv6, 3), Hook::Output);
        assert_eq!(Hook::new(Family::Bridge, 2), Hook::Forward);
        assert_eq!(Hook::new(Family::Netdev, 0), Hook::Ingress);
        assert_eq!(Hook::new(Family::Netdev, 1), Hook::Egress);
        assert_eq!(Hook::new(Family::Netdev, 2), Hook::Other(2));
        assert_eq!(Hook::new(Family::Arp, 1), Hook::ArpOut);
        assert_eq!(Hook::new(Family::Ipv4, 9), Hook::Other(9));
        // An inet chain's ingress hook (NF_INET_INGRESS, 5), seen by
        // tests/kernel_payload_start.rs; bridge's 5 is NF_BR_BROUTING.
        assert_eq!(Hook::new(Family::Ipv4, 5), Hook::Ingress);
        assert_eq!(Hook::new(Family::Ipv6, 5), Hook::Ingress);
        assert_eq!(Hook::new(Family::Bridge, 5), Hook::Other(5));
        assert_eq!(Hook::new(Family::Ipv4, 1).to_string(), "INPUT");
        assert_eq!(Hook::Other(9).to_string(), "hook 9");
    }
}
