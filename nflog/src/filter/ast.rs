//! The filter expression as a tree of typed values.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A filter expression: primitives combined with `and`, `or` and `not`.
///
/// [`Expr::parse`](crate::filter::Expr::parse) builds it from text; its
/// [`Display`](core::fmt::Display) prints text that parses back to the same tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// One primitive test.
    Primitive(Primitive),
    /// Matches when the inner expression does not.
    Not(Box<Expr>),
    /// Matches when both sides match.
    And(Box<Expr>, Box<Expr>),
    /// Matches when either side matches.
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// `self and other`.
    pub fn and(self, other: Expr) -> Expr {
        Expr::And(Box::new(self), Box::new(other))
    }

    /// `self or other`.
    pub fn or(self, other: Expr) -> Expr {
        Expr::Or(Box::new(self), Box::new(other))
    }

    /// Every primitive of the expression, left to right.
    pub fn primitives(&self) -> impl Iterator<Item = &Primitive> {
        let mut stack = vec![self];
        core::iter::from_fn(move || loop {
            match stack.pop()? {
                Expr::Primitive(p) => return Some(p),
                Expr::Not(e) => stack.push(e),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
            }
        })
    }

    /// `not self`.
    #[allow(clippy::should_implement_trait)] // `!expr` would read as a Rust boolean.
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
}

impl From<Primitive> for Expr {
    fn from(primitive: Primitive) -> Expr {
        Expr::Primitive(primitive)
    }
}

/// One test on a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Primitive {
    /// `[src|dst|src or dst|src and dst] host ADDR`: an IPv4 or IPv6 address of the IP
    /// header.
    Host(Dir, IpAddr),
    /// `[src|dst|...] net ADDR/LEN` (or `net ADDR mask MASK`, or `net 10.1`): the address
    /// lies in the prefix.
    Net(Dir, Prefix),
    /// `[tcp|udp|sctp] [src|dst|...] port N`.
    Port(Option<PortProto>, Dir, u16),
    /// `[tcp|udp|sctp] [src|dst|...] portrange LO-HI`, both ends included.
    PortRange(Option<PortProto>, Dir, u16, u16),
    /// `ip`, `ip6`, `arp`: the network protocol.
    Network(NetworkProto),
    /// `[ip|ip6] proto N`, and its abbreviations `tcp`, `udp`, `sctp`, `icmp`, `icmp6`: the
    /// transport protocol (after IPv6 extension headers, as nftables' `meta l4proto`).
    Proto(Option<IpFamily>, u8),
    /// `tcp[tcpflags] & MASK == VALUE` (or `!=`), and the abbreviations `tcp-syn`, ...,
    /// which mean `tcp[tcpflags] & tcp-syn != 0`.
    TcpFlags(TcpFlags),
    /// `icmp[icmptype] == N`, `icmp6[icmp6code] != N`, ...
    Icmp(IcmpTest),
    /// `less N` (length at most N) and `greater N` (at least N).
    Length(LengthTest),
    /// `vlan` (a VLAN tag is there) and `vlan N` (the outermost tag's id is N).
    Vlan(Option<u16>),
    /// `mark M[/MASK]`: the packet mark, masked, equals M.
    Mark(Mark),
    /// `iif NAME`, `oif NAME`: the input or output interface's name; a name ending in `*`
    /// matches every name that starts with what comes before it.
    Interface(IfaceDir, String),
    /// `skuid N`: the user id of the local socket the packet belongs to.
    SkUid(u32),
    /// `skgid N`: the group id of the local socket the packet belongs to.
    SkGid(u32),
    /// `ct state new,established,...`: conntrack's state of the packet is one of these.
    CtState(CtStates),
}

/// Which address or port of the packet a primitive looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// `src`: the source.
    Src,
    /// `dst`: the destination.
    Dst,
    /// `src or dst`, and no qualifier: either.
    SrcOrDst,
    /// `src and dst`: both.
    SrcAndDst,
}

/// The protocol a port qualifier names; none means TCP, UDP or SCTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortProto {
    /// `tcp`.
    Tcp,
    /// `udp`.
    Udp,
    /// `sctp`.
    Sctp,
}

impl PortProto {
    /// The IP protocol number.
    pub const fn number(self) -> u8 {
        match self {
            PortProto::Tcp => 6,
            PortProto::Udp => 17,
            PortProto::Sctp => 132,
        }
    }

    /// The keyword.
    pub const fn name(self) -> &'static str {
        match self {
            PortProto::Tcp => "tcp",
            PortProto::Udp => "udp",
            PortProto::Sctp => "sctp",
        }
    }

    /// Every protocol with ports, in the order `port` without a qualifier tries them.
    pub const ALL: [PortProto; 3] = [PortProto::Tcp, PortProto::Udp, PortProto::Sctp];
}

/// A network protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkProto {
    /// IPv4 (`ip`).
    Ipv4,
    /// IPv6 (`ip6`).
    Ipv6,
    /// ARP (`arp`).
    Arp,
}

/// An IP version, where a primitive restricts itself to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4 (`ip`).
    V4,
    /// IPv6 (`ip6`).
    V6,
}

impl IpFamily {
    /// The keyword.
    pub const fn name(self) -> &'static str {
        match self {
            IpFamily::V4 => "ip",
            IpFamily::V6 => "ip6",
        }
    }
}

/// An address prefix: the address with its host bits zero, and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prefix {
    /// An IPv4 prefix, length 0 to 32.
    V4(Ipv4Addr, u8),
    /// An IPv6 prefix, length 0 to 128.
    V6(Ipv6Addr, u8),
}

impl Prefix {
    /// The prefix of `addr` of length `len`; `None` when the length is too long for the
    /// family or `addr` has bits set past it.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        match addr {
            IpAddr::V4(a) if len <= 32 => {
                let mask = mask_v4(len);
                (u32::from(a) & !mask == 0).then_some(Prefix::V4(a, len))
            }
            IpAddr::V6(a) if len <= 128 => {
                let mask = mask_v6(len);
                (u128::from(a) & !mask == 0).then_some(Prefix::V6(a, len))
            }
            _ => None,
        }
    }

    /// Whether `addr` lies in the prefix (never, for an address of the other family).
    pub fn contains(&self, addr: IpAddr) -> bool {
        match (*self, addr) {
            (Prefix::V4(net, len), IpAddr::V4(a)) => u32::from(a) & mask_v4(len) == u32::from(net),
            (Prefix::V6(net, len), IpAddr::V6(a)) => {
                u128::from(a) & mask_v6(len) == u128::from(net)
            }
            _ => false,
        }
    }

    /// The prefix's length in bits.
    pub fn prefix_len(&self) -> u8 {
        match *self {
            Prefix::V4(_, len) | Prefix::V6(_, len) => len,
        }
    }

    /// The first address of the prefix.
    pub fn addr(&self) -> IpAddr {
        match *self {
            Prefix::V4(a, _) => IpAddr::V4(a),
            Prefix::V6(a, _) => IpAddr::V6(a),
        }
    }

    /// The IP version.
    pub fn family(&self) -> IpFamily {
        match self {
            Prefix::V4(..) => IpFamily::V4,
            Prefix::V6(..) => IpFamily::V6,
        }
    }
}

/// The network mask of an IPv4 prefix of `len` bits (at most 32).
pub(crate) fn mask_v4(len: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0)
}

/// The network mask of an IPv6 prefix of `len` bits (at most 128).
pub(crate) fn mask_v6(len: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0)
}

/// Equal or not equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    /// `==` (also written `=`).
    Eq,
    /// `!=`.
    Ne,
}

impl Cmp {
    /// Applies the comparison.
    pub fn holds<T: PartialEq>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
        }
    }
}

/// A test of the TCP flags byte: `flags & mask` compared with `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    /// The bits looked at (`decode::Tcp::SYN`, ...).
    pub mask: u8,
    /// Equal or not equal.
    pub cmp: Cmp,
    /// What the masked flags are compared with.
    pub value: u8,
}

/// Which byte of an ICMP header a test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IcmpField {
    /// The type (`icmptype`, byte 0).
    Type,
    /// The code (`icmpcode`, byte 1).
    Code,
}

/// A test of an ICMP or ICMPv6 header's type or code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpTest {
    /// ICMPv6 (`icmp6[...]`) rather than ICMP.
    pub v6: bool,
    /// The byte tested.
    pub field: IcmpField,
    /// Equal or not equal.
    pub cmp: Cmp,
    /// The value compared with.
    pub value: u8,
}

/// `less N` or `greater N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthTest {
    /// `less N`: the packet is at most N bytes long.
    AtMost(u32),
    /// `greater N`: the packet is at least N bytes long.
    AtLeast(u32),
}

/// `mark VALUE/MASK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mark {
    /// What the masked mark must equal; no bit outside the mask.
    pub value: u32,
    /// The bits compared (all of them unless a mask is given).
    pub mask: u32,
}

/// The interface a primitive names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IfaceDir {
    /// `iif`: the input interface.
    In,
    /// `oif`: the output interface.
    Out,
}

/// A set of conntrack states, as nftables' `ct state` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CtStates(u8);

impl CtStates {
    /// `invalid`: conntrack could not track the packet.
    pub const INVALID: CtStates = CtStates(1);
    /// `established` (either direction).
    pub const ESTABLISHED: CtStates = CtStates(2);
    /// `related` (either direction).
    pub const RELATED: CtStates = CtStates(4);
    /// `new`.
    pub const NEW: CtStates = CtStates(8);
    /// `untracked`: conntrack was told to leave the packet alone.
    pub const UNTRACKED: CtStates = CtStates(64);

    /// The states with their names, in nftables' order.
    pub const NAMED: [(CtStates, &'static str); 5] = [
        (CtStates::INVALID, "invalid"),
        (CtStates::ESTABLISHED, "established"),
        (CtStates::RELATED, "related"),
        (CtStates::NEW, "new"),
        (CtStates::UNTRACKED, "untracked"),
    ];

    /// The bits as nftables' `ct state` has them (`NF_CT_STATE_*_BIT`).
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set of these bits; `None` for an empty set or a bit no state has.
    pub const fn from_bits(bits: u8) -> Option<CtStates> {
        if bits == 0 || bits & !0b0100_1111 != 0 {
            None
        } else {
            Some(CtStates(bits))
        }
    }

    /// Whether every state of `other` is in the set.
    pub const fn contains(self, other: CtStates) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union.
    pub const fn union(self, other: CtStates) -> CtStates {
        CtStates(self.0 | other.0)
    }

    /// The names of the states in the set, in nftables' order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        CtStates::NAMED
            .into_iter()
            .filter(move |(state, _)| self.contains(*state))
            .map(|(_, name)| name)
    }
}
