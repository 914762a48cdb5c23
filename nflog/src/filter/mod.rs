//! Filter expressions: pcap-filter's language as tcpdump users know it, plus what only
//! netfilter knows. `docs/filter.md` in the repository maps tcpdump's expressions to these
//! and to the nft rules they compile to.
//!
//! ```
//! use nflog::filter::Expr;
//!
//! let expr = Expr::parse("tcp port 22 or 80 and not src net 10.0.0.0/8").unwrap();
//! // Lists are expanded, and `and`/`or` group left to right:
//! assert_eq!(
//!     expr.to_string(),
//!     "tcp port 22 or tcp port 80 and not src net 10.0.0.0/8"
//! );
//! let err = Expr::parse("tcp port ssh-x").unwrap_err();
//! assert_eq!(err.to_string(), "expected a port number at column 10, found `ssh-x`");
//! ```
//!
//! One parser ([`Expr::parse`]) builds an [`Expr`], a tree of typed [`Primitive`]s; its
//! [`Display`](core::fmt::Display) prints text that parses back to the same tree. Two back
//! ends run it: [`Expr::matches`], in user space over a decoded packet, and [`compile`],
//! to nf_tables rules (in terms of [`nft`](crate::nft)) that the kernel runs before it
//! logs anything, so that packets the filter rejects cost nflog nothing.
//!
//! # The language
//!
//! Primitives, as in pcap-filter(7):
//!
//! | primitive | matches |
//! |---|---|
//! | `host ADDR`, `src host ADDR`, `dst host ADDR` | the IPv4 or IPv6 source and/or destination address; `src or dst` (the default) and `src and dst` as in pcap |
//! | `net 10.0.0.0/8`, `net 10.1`, `net 10.0.0.0 mask 255.0.0.0`, `net 2001:db8::/32` | the address lies in the network (with `src`/`dst` as for `host`) |
//! | `port N`, `src port N`, `dst port N`, `tcp port N`, `udp dst port N`, `sctp port N` | TCP, UDP or SCTP ports (a few service names: `ssh`, `http`, `domain`, ...) |
//! | `portrange 6000-6010` (with the same qualifiers) | a port in the range, ends included |
//! | `ip`, `ip6`, `arp` | the network protocol |
//! | `tcp`, `udp`, `sctp`, `icmp`, `icmp6`, `proto N`, `ip proto N`, `ip6 proto N` | the transport protocol, after IPv6 extension headers; `icmp` is `ip proto 1`, `icmp6` is `ip6 proto 58` |
//! | `tcp[tcpflags] & (tcp-syn\|tcp-ack) == tcp-syn`, `tcp[tcpflags] & tcp-rst != 0`, `tcp[13] & 2 != 0` | the TCP flags; alone, `tcp-syn` (`tcp-fin`, `tcp-rst`, `tcp-push`, `tcp-ack`, `tcp-urg`, `tcp-ece`, `tcp-cwr`) means `tcp[tcpflags] & tcp-syn != 0` |
//! | `icmp[icmptype] == icmp-echo`, `icmp[icmpcode] != 0`, `icmp6[icmp6type] == icmp6-echo` | the ICMP or ICMPv6 type or code (pcap's names) |
//! | `less N`, `greater N` | the IP packet's length (see below) is at most, at least N |
//! | `vlan`, `vlan N` | a VLAN tag is there; the outermost one has id N (bridge and netdev families) |
//!
//! and netfilter's own:
//!
//! | primitive | matches |
//! |---|---|
//! | `mark M`, `mark M/MASK` | the packet mark (ANDed with MASK) is M |
//! | `iif NAME`, `oif NAME` | the input, output interface's name; `eth*` matches every name starting with `eth` |
//! | `skuid N`, `skgid N` | the user, group id of the local socket the packet belongs to |
//! | `ct state new,established,related,invalid,untracked` | conntrack's state of the packet is one of these |
//!
//! Primitives combine with `and` (`&&`), `or` (`||`), `not` (`!`) and parentheses.
//! Precedence is pcap-filter's: `not` binds tightest; `and` and `or` have **equal**
//! precedence and group left to right, so `a or b and c` is `(a or b) and c`. There is no
//! implicit `and`: two primitives side by side are an error, as in pcap.
//!
//! A value alone after `and`, `or` or `not` repeats the previous primitive's kind and
//! qualifiers, as in pcap: `tcp dst port 22 or 80` is `tcp dst port 22 or tcp dst port 80`,
//! `host 10.0.0.1 and not 10.0.0.2` is `host 10.0.0.1 and not host 10.0.0.2`. An address
//! alone at the start is `host ADDR`.
//!
//! A syntax error says what was expected and at which column; a pcap-filter primitive this
//! language does not have (`ether`, `gateway`, `ip[...]`, ...) is named in the error, never
//! ignored. Host names are not resolved: give addresses.
//!
//! # What a primitive looks at
//!
//! - Addresses, ports, protocols and flags are read from the packet's IP and transport
//!   headers. `host` and `net` look at IP headers only (pcap also reads ARP's addresses).
//!   A fragment other than the first has no transport header: port and flag tests do not
//!   match it, protocol tests do (as nftables).
//! - The length of `less`/`greater` is the IP packet's: an IPv4 header's total length, an
//!   IPv6 header's payload length plus its 40 bytes (what `meta length` is at the IP
//!   hooks); packets other than IP do not match.
//! - A primitive whose data the packet lacks does not match (and `not` of it does): a port
//!   test on a packet logged without its payload (copy mode meta), `iif` on a packet
//!   without an input interface, `skuid` on a packet from no local socket, `ct state` on a
//!   packet without conntrack data (the group needs flag `CONNTRACK`; untracked and
//!   invalid packets never carry it, so in user space those two never match).
//! - `mark 0` matches a packet without a mark: the kernel sends none when it is 0.

mod ast;
mod compile;
mod eval;
mod lex;
mod parse;
mod print;
mod ruleset;

pub use ast::{
    Cmp, CtStates, Dir, Expr, IcmpField, IcmpTest, IfaceDir, IpFamily, LengthTest, Mark,
    NetworkProto, PortProto, Prefix, Primitive, TcpFlags,
};
pub use compile::{compile, family_name, CompileError, Compiled, CompiledRule, MAX_RULES};
pub use parse::{Expected, ParseError, ParseErrorKind, MAX_DEPTH, MAX_PRIMITIVES};
pub use ruleset::ruleset_text;

impl Expr {
    /// Parses a filter expression.
    ///
    /// # Errors
    ///
    /// A [`ParseError`] with the column at fault and what was expected there, or the name
    /// of a pcap-filter primitive this language does not have.
    pub fn parse(input: &str) -> Result<Expr, ParseError> {
        parse::parse(input)
    }
}

impl core::str::FromStr for Expr {
    type Err = ParseError;

    fn from_str(input: &str) -> Result<Expr, ParseError> {
        Expr::parse(input)
    }
}

#[cfg(test)]
mod tests;
