//! The parser: pcap-filter's grammar, plus netfilter's own primitives.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ast::*;
use super::lex::{tokens, Tok};

/// Parentheses and `not`s nested deeper than this are refused (the parser recurses).
pub const MAX_DEPTH: usize = 64;

/// Expressions with more primitives than this are refused (the tree is walked
/// recursively, and the compiler multiplies it out).
pub const MAX_PRIMITIVES: usize = 512;

/// Why an expression did not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The 1-based column, in characters, of the token at fault (one past the end for an
    /// expression that stopped short).
    pub column: usize,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// What was wrong with an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// Something else was there (`None`: the expression ended).
    Expected(Expected, Option<String>),
    /// A pcap-filter primitive (or qualifier) this language does not have, by name.
    Unsupported(String),
    /// A value of the right shape that cannot be used, and why.
    Invalid(String),
    /// More than [`MAX_DEPTH`] nested parentheses and `not`s.
    TooDeep,
    /// More than [`MAX_PRIMITIVES`] primitives.
    TooLong,
}

/// What the parser expected to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// A primitive (`host`, `port`, `tcp`, ...) or `not` or `(`.
    Primitive,
    /// `and`, `or` or the end of the expression.
    Connective,
    /// `)`.
    CloseParen,
    /// `]`.
    CloseBracket,
    /// An IPv4 or IPv6 address.
    Address,
    /// An address prefix (`10.0.0.0/8`, `2001:db8::/32`).
    Prefix,
    /// A port number (or a well-known service name).
    Port,
    /// A port range, `LO-HI`.
    PortRange,
    /// `host`, `net`, `port` or `portrange` (after `src` or `dst`).
    Qualified,
    /// A protocol number or name.
    Protocol,
    /// A number.
    Number,
    /// A byte (0 to 255), a number or a name.
    Byte,
    /// `tcpflags` (or 13) inside `tcp[...]`.
    TcpFlagsField,
    /// `icmptype`, `icmpcode` (or 0, 1) inside `icmp[...]`.
    IcmpField,
    /// `&`, `=`, `==` or `!=`.
    FlagsOperator,
    /// `=`, `==` or `!=`.
    Comparison,
    /// An interface name.
    Interface,
    /// `state` after `ct`.
    State,
    /// A conntrack state: `new`, `established`, `related`, `invalid`, `untracked`.
    CtState,
    /// A mark, `VALUE` or `VALUE/MASK`.
    Mark,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Primitive => "a primitive (host, net, port, tcp, ...), `not` or `(`",
            Expected::Connective => "`and`, `or` or the end of the expression",
            Expected::CloseParen => "`)`",
            Expected::CloseBracket => "`]`",
            Expected::Address => "an IP address",
            Expected::Prefix => "a network (10.0.0.0/8, 10.1, 2001:db8::/32)",
            Expected::Port => "a port number",
            Expected::PortRange => "a port range (LOW-HIGH)",
            Expected::Qualified => "`host`, `net`, `port`, `portrange` or an address",
            Expected::Protocol => "a protocol number or name",
            Expected::Number => "a number",
            Expected::Byte => "a byte value (0 to 255) or its name",
            Expected::TcpFlagsField => "`tcpflags`",
            Expected::IcmpField => "`icmptype` or `icmpcode`",
            Expected::FlagsOperator => "`&`, `==` or `!=`",
            Expected::Comparison => "`==` or `!=`",
            Expected::Interface => "an interface name",
            Expected::State => "`state`",
            Expected::CtState => {
                "a conntrack state (new, established, related, invalid, untracked)"
            }
            Expected::Mark => "a mark (VALUE or VALUE/MASK)",
        })
    }
}

/// `expected a port number at column 14, found `ssh``.
impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let column = self.column;
        match &self.kind {
            ParseErrorKind::Expected(what, Some(found)) => {
                write!(f, "expected {what} at column {column}, found `{found}`")
            }
            ParseErrorKind::Expected(what, None) => {
                write!(f, "expected {what} at column {column}, found the end")
            }
            ParseErrorKind::Unsupported(name) => write!(
                f,
                "`{name}` at column {column} is not supported by nflog's filter language"
            ),
            ParseErrorKind::Invalid(why) => write!(f, "{why} at column {column}"),
            ParseErrorKind::TooDeep => write!(
                f,
                "more than {MAX_DEPTH} nested parentheses or `not`s at column {column}"
            ),
            ParseErrorKind::TooLong => {
                write!(
                    f,
                    "more than {MAX_PRIMITIVES} primitives at column {column}"
                )
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// pcap-filter keywords and primitives this language does not have: named in the error
/// rather than taken for a value.
const UNSUPPORTED: &[&str] = &[
    "ether",
    "fddi",
    "tr",
    "wlan",
    "gateway",
    "broadcast",
    "multicast",
    "rarp",
    "decnet",
    "atalk",
    "aarp",
    "ipx",
    "netbeui",
    "iso",
    "esis",
    "isis",
    "clnp",
    "stp",
    "lat",
    "mopdl",
    "moprc",
    "sca",
    "llc",
    "mpls",
    "pppoed",
    "pppoes",
    "geneve",
    "vxlan",
    "type",
    "subtype",
    "dir",
    "ifname",
    "on",
    "rnr",
    "rulenum",
    "reason",
    "rset",
    "ruleset",
    "srnr",
    "subrulenum",
    "action",
    "inbound",
    "outbound",
    "len",
    "ah",
    "esp",
    "pim",
    "vrrp",
    "carp",
    "igmp",
    "igrp",
    "ra",
    "ta",
    "addr1",
    "addr2",
    "addr3",
    "addr4",
    "protochain",
    "atm",
    "vpi",
    "vci",
    "lane",
    "oamf4",
    "metac",
    "bcc",
    "sc",
    "ilmic",
    "connectmsg",
    "metaconnect",
    "hdlc",
    "slip",
    "link",
    "radio",
    "ppp",
];

/// Words that start a primitive or join expressions, never taken for a value of a list.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "src",
    "dst",
    "host",
    "net",
    "port",
    "portrange",
    "ip",
    "ip6",
    "arp",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp6",
    "proto",
    "less",
    "greater",
    "vlan",
    "mark",
    "iif",
    "oif",
    "skuid",
    "skgid",
    "ct",
    "mask",
];

/// TCP flag names, as pcap-filter spells them.
pub(crate) const TCP_FLAGS: [(&str, u8); 8] = [
    ("tcp-fin", 0x01),
    ("tcp-syn", 0x02),
    ("tcp-rst", 0x04),
    ("tcp-push", 0x08),
    ("tcp-ack", 0x10),
    ("tcp-urg", 0x20),
    ("tcp-ece", 0x40),
    ("tcp-cwr", 0x80),
];

/// ICMP type names, as pcap-filter spells them.
pub(crate) const ICMP_TYPES: &[(&str, u8)] = &[
    ("icmp-echoreply", 0),
    ("icmp-unreach", 3),
    ("icmp-sourcequench", 4),
    ("icmp-redirect", 5),
    ("icmp-echo", 8),
    ("icmp-routeradvert", 9),
    ("icmp-routersolicit", 10),
    ("icmp-timxceed", 11),
    ("icmp-paramprob", 12),
    ("icmp-tstamp", 13),
    ("icmp-tstampreply", 14),
    ("icmp-ireq", 15),
    ("icmp-ireqreply", 16),
    ("icmp-maskreq", 17),
    ("icmp-maskreply", 18),
];

/// ICMPv6 type names, as pcap-filter spells them.
pub(crate) const ICMP6_TYPES: &[(&str, u8)] = &[
    ("icmp6-destinationunreach", 1),
    ("icmp6-packettoobig", 2),
    ("icmp6-timeexceeded", 3),
    ("icmp6-parameterproblem", 4),
    ("icmp6-echo", 128),
    ("icmp6-echoreply", 129),
    ("icmp6-multicastlistenerquery", 130),
    ("icmp6-multicastlistenerreportv1", 131),
    ("icmp6-multicastlistenerdone", 132),
    ("icmp6-routersolicit", 133),
    ("icmp6-routeradvert", 134),
    ("icmp6-neighborsolicit", 135),
    ("icmp6-neighboradvert", 136),
    ("icmp6-redirect", 137),
    ("icmp6-routerrenum", 138),
    ("icmp6-multicastlistenerreportv2", 143),
];

/// Protocol names `proto` accepts (`/etc/protocols` spellings).
pub(crate) const PROTOCOLS: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("tcp", 6),
    ("udp", 17),
    ("gre", 47),
    ("esp", 50),
    ("ah", 51),
    ("icmp6", 58),
    ("sctp", 132),
];

/// Service names `port` accepts, a few well-known ones (`/etc/services` is not read, so
/// that the meaning of an expression does not depend on the machine).
pub(crate) const SERVICES: &[(&str, u16)] = &[
    ("ftp-data", 20),
    ("ftp", 21),
    ("ssh", 22),
    ("telnet", 23),
    ("smtp", 25),
    ("domain", 53),
    ("bootps", 67),
    ("bootpc", 68),
    ("tftp", 69),
    ("http", 80),
    ("pop3", 110),
    ("ntp", 123),
    ("imap", 143),
    ("snmp", 161),
    ("ldap", 389),
    ("https", 443),
    ("isakmp", 500),
    ("syslog", 514),
    ("submission", 587),
    ("imaps", 993),
    ("pop3s", 995),
];

/// What a value without a keyword in front of it repeats: the previous primitive's kind
/// and qualifiers (pcap-filter's `port 22 or 80`).
#[derive(Debug, Clone, Copy)]
enum Last {
    Host(Dir),
    Net(Dir),
    Port(Option<PortProto>, Dir),
    PortRange(Option<PortProto>, Dir),
    Proto(Option<IpFamily>),
    Vlan,
    Mark,
    Interface(IfaceDir),
    SkUid,
    SkGid,
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    /// The column one past the end of the input.
    end: usize,
    depth: usize,
    primitives: usize,
    last: Option<Last>,
}

type Result<T> = core::result::Result<T, ParseError>;

/// Parses a filter expression (see the module documentation for the language).
pub(crate) fn parse(input: &str) -> Result<Expr> {
    let mut p = Parser {
        toks: tokens(input),
        at: 0,
        end: input.chars().count() + 1,
        depth: 0,
        primitives: 0,
        last: None,
    };
    let expr = p.expr()?;
    match p.peek() {
        None => Ok(expr),
        Some(Tok::Close) => Err(p.error(ParseErrorKind::Invalid("unmatched `)`".into()))),
        Some(_) => Err(p.expected(Expected::Connective)),
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn peek_word(&self) -> Option<&str> {
        match self.peek() {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn peek_word_at(&self, ahead: usize) -> Option<&str> {
        match self.toks.get(self.at + ahead) {
            Some((_, Tok::Word(w))) => Some(w),
            _ => None,
        }
    }

    fn column(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(c, _)| *c)
    }

    fn error(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            column: self.column(),
            kind,
        }
    }

    fn expected(&self, what: Expected) -> ParseError {
        self.error(ParseErrorKind::Expected(what, self.peek().map(Tok::text)))
    }

    fn invalid(&self, why: String) -> ParseError {
        self.error(ParseErrorKind::Invalid(why))
    }

    fn bump(&mut self) {
        self.at += 1;
    }

    /// Takes the next token if it is `tok`.
    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == Some(tok);
        if found {
            self.bump();
        }
        found
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.peek_word() == Some(word);
        if found {
            self.bump();
        }
        found
    }

    /// The next word, parsed by `parse`; an error expecting `what` otherwise.
    fn value<T>(&mut self, what: Expected, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
        match self.peek_word().and_then(parse) {
            Some(v) => {
                self.bump();
                Ok(v)
            }
            None => Err(self.expected(what)),
        }
    }

    /// `unary (('and' | 'or') unary)*`, left-associative, one precedence level
    /// (pcap-filter(7): "alternation and concatenation have equal precedence and associate
    /// left to right").
    fn expr(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        loop {
            let and = match self.peek() {
                Some(Tok::AndAnd) => true,
                Some(Tok::OrOr) => false,
                Some(Tok::Word(w)) if w == "and" => true,
                Some(Tok::Word(w)) if w == "or" => false,
                _ => return Ok(left),
            };
            self.bump();
            let right = self.unary()?;
            left = if and { left.and(right) } else { left.or(right) };
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(ParseErrorKind::TooDeep));
        }
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr> {
        match self.peek() {
            Some(Tok::Bang) => {
                self.bump();
                Ok(self.unary()?.not())
            }
            Some(Tok::Word(w)) if w == "not" => {
                self.bump();
                Ok(self.unary()?.not())
            }
            Some(Tok::Open) => {
                self.bump();
                let inner = self.expr()?;
                if !self.eat(&Tok::Close) {
                    return Err(self.expected(Expected::CloseParen));
                }
                Ok(inner)
            }
            _ => {
                if self.primitives >= MAX_PRIMITIVES {
                    return Err(self.error(ParseErrorKind::TooLong));
                }
                self.primitives += 1;
                Ok(Expr::Primitive(self.primitive()?))
            }
        }
    }

    fn primitive(&mut self) -> Result<Primitive> {
        let start = self.at;
        let Some(word) = self.peek_word().map(str::to_owned) else {
            return Err(self.expected(Expected::Primitive));
        };
        if UNSUPPORTED.contains(&word.as_str()) {
            return Err(self.error(ParseErrorKind::Unsupported(word)));
        }
        if let Some(mask) = flag_value(&word) {
            if word.starts_with("tcp-") {
                self.bump();
                return Ok(Primitive::TcpFlags(TcpFlags {
                    mask,
                    cmp: Cmp::Ne,
                    value: 0,
                }));
            }
        }
        if !KEYWORDS.contains(&word.as_str()) {
            return self.bare_value();
        }
        self.bump();
        let primitive = match word.as_str() {
            "src" | "dst" | "host" | "net" | "port" | "portrange" => {
                self.at = start;
                self.qualified(None)?
            }
            "ip" | "ip6" => {
                let family = if word == "ip" {
                    IpFamily::V4
                } else {
                    IpFamily::V6
                };
                match self.peek() {
                    Some(Tok::OpenBracket) => {
                        return Err(self.error(ParseErrorKind::Unsupported(format!("{word}[...]"))))
                    }
                    Some(Tok::Word(w)) if w == "proto" => {
                        self.bump();
                        let n = self.value(Expected::Protocol, protocol)?;
                        self.last = Some(Last::Proto(Some(family)));
                        Primitive::Proto(Some(family), n)
                    }
                    Some(Tok::Word(w)) if matches!(w.as_str(), "src" | "dst" | "host" | "net") => {
                        let column = self.column();
                        let p = self.qualified(None)?;
                        let other = match &p {
                            Primitive::Host(_, a) => ip_family(*a) != family,
                            Primitive::Net(_, n) => n.family() != family,
                            _ => false,
                        };
                        if other {
                            return Err(ParseError {
                                column,
                                kind: ParseErrorKind::Invalid(format!(
                                    "the address is not an {} address",
                                    if family == IpFamily::V4 {
                                        "IPv4"
                                    } else {
                                        "IPv6"
                                    }
                                )),
                            });
                        }
                        p
                    }
                    Some(Tok::Word(w)) if matches!(w.as_str(), "port" | "portrange") => {
                        return Err(self.error(ParseErrorKind::Unsupported(format!("{word} {w}"))))
                    }
                    _ => Primitive::Network(match family {
                        IpFamily::V4 => NetworkProto::Ipv4,
                        IpFamily::V6 => NetworkProto::Ipv6,
                    }),
                }
            }
            "arp" => Primitive::Network(NetworkProto::Arp),
            "tcp" | "udp" | "sctp" => {
                let proto = match word.as_str() {
                    "tcp" => PortProto::Tcp,
                    "udp" => PortProto::Udp,
                    _ => PortProto::Sctp,
                };
                match self.peek() {
                    Some(Tok::OpenBracket) if proto == PortProto::Tcp => self.tcp_flags()?,
                    Some(Tok::OpenBracket) => {
                        return Err(self.error(ParseErrorKind::Unsupported(format!("{word}[...]"))))
                    }
                    Some(Tok::Word(w))
                        if matches!(w.as_str(), "src" | "dst" | "port" | "portrange") =>
                    {
                        self.qualified(Some(proto))?
                    }
                    Some(Tok::Word(w)) if matches!(w.as_str(), "host" | "net") => {
                        return Err(self.error(ParseErrorKind::Unsupported(format!("{word} {w}"))))
                    }
                    _ => Primitive::Proto(None, proto.number()),
                }
            }
            "icmp" | "icmp6" => {
                let v6 = word == "icmp6";
                if self.peek() == Some(&Tok::OpenBracket) {
                    self.icmp(v6)?
                } else if v6 {
                    Primitive::Proto(Some(IpFamily::V6), 58)
                } else {
                    Primitive::Proto(Some(IpFamily::V4), 1)
                }
            }
            "proto" => {
                let n = self.value(Expected::Protocol, protocol)?;
                self.last = Some(Last::Proto(None));
                Primitive::Proto(None, n)
            }
            "less" | "greater" => {
                let n = self.value(Expected::Number, number_u32)?;
                if word == "less" {
                    Primitive::Length(LengthTest::AtMost(n))
                } else {
                    Primitive::Length(LengthTest::AtLeast(n))
                }
            }
            "vlan" => {
                self.last = Some(Last::Vlan);
                match self.peek_word().and_then(number_u32) {
                    Some(_) => Primitive::Vlan(Some(self.vlan_id()?)),
                    None => Primitive::Vlan(None),
                }
            }
            "mark" => {
                self.last = Some(Last::Mark);
                self.mark()?
            }
            "iif" | "oif" => {
                let dir = if word == "iif" {
                    IfaceDir::In
                } else {
                    IfaceDir::Out
                };
                self.last = Some(Last::Interface(dir));
                Primitive::Interface(dir, self.interface()?)
            }
            "skuid" | "skgid" => {
                let n = self.value(Expected::Number, number_u32)?;
                if word == "skuid" {
                    self.last = Some(Last::SkUid);
                    Primitive::SkUid(n)
                } else {
                    self.last = Some(Last::SkGid);
                    Primitive::SkGid(n)
                }
            }
            "ct" => {
                if !self.eat_word("state") {
                    return Err(self.expected(Expected::State));
                }
                self.ct_states()?
            }
            // "and", "or", "not", "mask" where a primitive should be.
            _ => {
                self.at = start;
                return Err(self.expected(Expected::Primitive));
            }
        };
        Ok(primitive)
    }

    /// `[src|dst|src or dst|src and dst] (host|net|port|portrange) VALUE`, or a direction
    /// followed by a bare address; `proto` is the `tcp`/`udp`/`sctp` already read.
    fn qualified(&mut self, proto: Option<PortProto>) -> Result<Primitive> {
        let mut dir = Dir::SrcOrDst;
        let mut has_dir = false;
        if let Some(first) = self.peek_word().filter(|w| matches!(*w, "src" | "dst")) {
            has_dir = true;
            let src = first == "src";
            dir = if src { Dir::Src } else { Dir::Dst };
            self.bump();
            let join = self.peek_word_at(0).filter(|w| matches!(*w, "or" | "and"));
            let other = if src { "dst" } else { "src" };
            if let Some(join) = join {
                if self.peek_word_at(1) == Some(other) {
                    dir = if join == "or" {
                        Dir::SrcOrDst
                    } else {
                        Dir::SrcAndDst
                    };
                    self.bump();
                    self.bump();
                }
            }
        }
        let kind = self.peek_word().map(str::to_owned);
        match kind.as_deref() {
            Some("host") if proto.is_none() => {
                self.bump();
                self.host_or_net(Some(false), dir)
            }
            Some("net") if proto.is_none() => {
                self.bump();
                self.host_or_net(Some(true), dir)
            }
            Some("port") => {
                self.bump();
                self.last = Some(Last::Port(proto, dir));
                Ok(Primitive::Port(
                    proto,
                    dir,
                    self.value(Expected::Port, port)?,
                ))
            }
            Some("portrange") => {
                self.bump();
                self.last = Some(Last::PortRange(proto, dir));
                self.port_range(proto, dir)
            }
            Some("host" | "net") => Err(self.error(ParseErrorKind::Unsupported(format!(
                "{} {}",
                proto.map_or("", PortProto::name),
                kind.unwrap_or_default()
            )))),
            _ if has_dir && proto.is_none() => self.host_or_net(None, dir),
            _ => Err(self.expected(Expected::Qualified)),
        }
    }

    /// An address (`net`: `Some(false)`), a network (`Some(true)`), or either by its shape
    /// (`None`: `src 10.0.0.1`, `src 10.0.0.0/8`).
    fn host_or_net(&mut self, net: Option<bool>, dir: Dir) -> Result<Primitive> {
        let Some(word) = self.peek_word().map(str::to_owned) else {
            return Err(self.expected(if net == Some(true) {
                Expected::Prefix
            } else {
                Expected::Address
            }));
        };
        let is_net = net.unwrap_or(word.contains('/'));
        if is_net {
            let column = self.column();
            self.bump();
            let prefix = self.prefix(&word, column)?;
            self.last = Some(Last::Net(dir));
            Ok(Primitive::Net(dir, prefix))
        } else {
            if word.contains('/') {
                return Err(self.invalid(format!(
                    "`{word}` is a network: write `net {word}` for a prefix"
                )));
            }
            let addr = self.value(Expected::Address, |w| w.parse::<IpAddr>().ok())?;
            self.last = Some(Last::Host(dir));
            Ok(Primitive::Host(dir, addr))
        }
    }

    /// `A/LEN`, `A mask M`, or an abbreviated IPv4 network (`10`, `10.1`, `10.1.2`).
    fn prefix(&mut self, word: &str, column: usize) -> Result<Prefix> {
        let at = |kind| ParseError { column, kind };
        let bad = || {
            at(ParseErrorKind::Expected(
                Expected::Prefix,
                Some(word.into()),
            ))
        };
        let (addr, len) = if let Some((addr, len)) = word.split_once('/') {
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let len: u8 = len.parse().map_err(|_| bad())?;
            (addr, len)
        } else if self.peek_word() == Some("mask") {
            self.bump();
            let addr: Ipv4Addr = word.parse().map_err(|_| bad())?;
            let mask: Ipv4Addr = self.value(Expected::Address, |w| w.parse().ok())?;
            let bits = u32::from(mask);
            let len = bits.leading_ones() as u8;
            if bits != mask_v4(len) {
                return Err(at(ParseErrorKind::Invalid(format!(
                    "mask {mask} is not contiguous"
                ))));
            }
            (IpAddr::V4(addr), len)
        } else if let Ok(addr) = word.parse::<Ipv6Addr>() {
            (IpAddr::V6(addr), 128)
        } else {
            let parts: Vec<&str> = word.split('.').collect();
            if parts.len() > 4 {
                return Err(bad());
            }
            let mut octets = [0u8; 4];
            for (i, part) in parts.iter().enumerate() {
                octets[i] = part.parse().map_err(|_| bad())?;
            }
            (IpAddr::V4(Ipv4Addr::from(octets)), parts.len() as u8 * 8)
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return Err(at(ParseErrorKind::Invalid(format!(
                "prefix length {len} is over {max}"
            ))));
        }
        Prefix::new(addr, len).ok_or_else(|| {
            at(ParseErrorKind::Invalid(format!(
                "{addr}/{len} has bits set past the prefix length"
            )))
        })
    }

    fn port_range(&mut self, proto: Option<PortProto>, dir: Dir) -> Result<Primitive> {
        let column = self.column();
        let (lo, hi) = self.value(Expected::PortRange, |w| {
            w.match_indices('-')
                .find_map(|(i, _)| Some((port(&w[..i])?, port(&w[i + 1..])?)))
        })?;
        if lo > hi {
            return Err(ParseError {
                column,
                kind: ParseErrorKind::Invalid(format!(
                    "port range {lo}-{hi} ends before it starts"
                )),
            });
        }
        Ok(Primitive::PortRange(proto, dir, lo, hi))
    }

    fn vlan_id(&mut self) -> Result<u16> {
        let column = self.column();
        let id = self.value(Expected::Number, number_u32)?;
        u16::try_from(id)
            .ok()
            .filter(|id| *id < 4096)
            .ok_or(ParseError {
                column,
                kind: ParseErrorKind::Invalid(format!("VLAN id {id} is over 4095")),
            })
    }

    fn mark(&mut self) -> Result<Primitive> {
        let column = self.column();
        let mark = self.value(Expected::Mark, |w| {
            let (value, mask) = match w.split_once('/') {
                Some((v, m)) => (number_u32(v)?, number_u32(m)?),
                None => (number_u32(w)?, u32::MAX),
            };
            Some(Mark { value, mask })
        })?;
        if mark.value & !mark.mask != 0 {
            return Err(ParseError {
                column,
                kind: ParseErrorKind::Invalid(format!(
                    "mark {:#x}/{:#x} has bits outside its mask, so it never matches",
                    mark.value, mark.mask
                )),
            });
        }
        Ok(Primitive::Mark(mark))
    }

    fn interface(&mut self) -> Result<String> {
        let column = self.column();
        let name = match self.peek() {
            Some(Tok::Word(w)) => w.clone(),
            Some(Tok::Quoted(q)) => q.clone(),
            _ => return Err(self.expected(Expected::Interface)),
        };
        self.bump();
        check_interface(&name).map_err(|why| ParseError {
            column,
            kind: ParseErrorKind::Invalid(why),
        })?;
        Ok(name)
    }

    fn ct_states(&mut self) -> Result<Primitive> {
        let mut states: Option<CtStates> = None;
        loop {
            let state = self.value(Expected::CtState, |w| {
                CtStates::NAMED
                    .iter()
                    .find(|(_, name)| *name == w)
                    .map(|(s, _)| *s)
            })?;
            states = Some(states.map_or(state, |s| s.union(state)));
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        // At least one state was read.
        Ok(Primitive::CtState(states.unwrap_or(CtStates::NEW)))
    }

    /// After `tcp`: `[tcpflags] & MASK (==|!=) VALUE`, or `[tcpflags] (==|!=) VALUE`.
    fn tcp_flags(&mut self) -> Result<Primitive> {
        self.bump(); // [
        self.value(Expected::TcpFlagsField, |w| {
            matches!(w, "tcpflags" | "13").then_some(())
        })?;
        if !self.eat(&Tok::CloseBracket) {
            return Err(self.expected(Expected::CloseBracket));
        }
        let mask = if self.eat(&Tok::Amp) {
            self.flag_expr(0)?
        } else {
            0xff
        };
        let cmp = match self.peek() {
            Some(Tok::Eq) => Cmp::Eq,
            Some(Tok::Ne) => Cmp::Ne,
            _ => return Err(self.expected(Expected::FlagsOperator)),
        };
        self.bump();
        let value = self.flag_expr(0)?;
        Ok(Primitive::TcpFlags(TcpFlags { mask, cmp, value }))
    }

    /// `term ('|' term)*`, a term a flag name, a number, or a parenthesized flag expression.
    fn flag_expr(&mut self, depth: usize) -> Result<u8> {
        if depth >= MAX_DEPTH {
            return Err(self.error(ParseErrorKind::TooDeep));
        }
        let mut bits = 0;
        loop {
            bits |= if self.eat(&Tok::Open) {
                let inner = self.flag_expr(depth + 1)?;
                if !self.eat(&Tok::Close) {
                    return Err(self.expected(Expected::CloseParen));
                }
                inner
            } else {
                self.value(Expected::Byte, flag_value)?
            };
            if !self.eat(&Tok::Pipe) {
                return Ok(bits);
            }
        }
    }

    /// After `icmp` or `icmp6`: `[icmptype|icmpcode] (==|!=) VALUE`.
    fn icmp(&mut self, v6: bool) -> Result<Primitive> {
        self.bump(); // [
        let field = self.value(Expected::IcmpField, |w| match (w, v6) {
            ("icmptype", false) | ("icmp6type", true) | ("0", _) => Some(IcmpField::Type),
            ("icmpcode", false) | ("icmp6code", true) | ("1", _) => Some(IcmpField::Code),
            _ => None,
        })?;
        if !self.eat(&Tok::CloseBracket) {
            return Err(self.expected(Expected::CloseBracket));
        }
        let cmp = match self.peek() {
            Some(Tok::Eq) => Cmp::Eq,
            Some(Tok::Ne) => Cmp::Ne,
            _ => return Err(self.expected(Expected::Comparison)),
        };
        self.bump();
        let names = if v6 { ICMP6_TYPES } else { ICMP_TYPES };
        let value = self.value(Expected::Byte, |w| {
            names
                .iter()
                .find(|(name, _)| *name == w)
                .map(|(_, n)| *n)
                .filter(|_| field == IcmpField::Type)
                .or_else(|| u8::try_from(number_u32(w)?).ok())
        })?;
        Ok(Primitive::Icmp(IcmpTest {
            v6,
            field,
            cmp,
            value,
        }))
    }

    /// A value without a keyword: the previous primitive's kind again (`port 22 or 80`),
    /// or, first, an address (`10.0.0.1` is `host 10.0.0.1`).
    fn bare_value(&mut self) -> Result<Primitive> {
        let Some(word) = self.peek_word().map(str::to_owned) else {
            return Err(self.expected(Expected::Primitive));
        };
        match self.last {
            Some(Last::Host(dir)) => self.host_or_net(Some(false), dir),
            Some(Last::Net(dir)) => self.host_or_net(Some(true), dir),
            Some(Last::Port(proto, dir)) => Ok(Primitive::Port(
                proto,
                dir,
                self.value(Expected::Port, port)?,
            )),
            Some(Last::PortRange(proto, dir)) => self.port_range(proto, dir),
            Some(Last::Proto(family)) => Ok(Primitive::Proto(
                family,
                self.value(Expected::Protocol, protocol)?,
            )),
            Some(Last::Vlan) => Ok(Primitive::Vlan(Some(self.vlan_id()?))),
            Some(Last::Mark) => self.mark(),
            Some(Last::Interface(dir)) => Ok(Primitive::Interface(dir, self.interface()?)),
            Some(Last::SkUid) => Ok(Primitive::SkUid(self.value(Expected::Number, number_u32)?)),
            Some(Last::SkGid) => Ok(Primitive::SkGid(self.value(Expected::Number, number_u32)?)),
            None if word.parse::<IpAddr>().is_ok() || word.contains('/') => {
                self.host_or_net(None, Dir::SrcOrDst)
            }
            None => Err(self.expected(Expected::Primitive)),
        }
    }
}

fn ip_family(addr: IpAddr) -> IpFamily {
    match addr {
        IpAddr::V4(_) => IpFamily::V4,
        IpAddr::V6(_) => IpFamily::V6,
    }
}

/// A decimal or `0x` hexadecimal number.
pub(crate) fn number_u32(word: &str) -> Option<u32> {
    let digits_ok = |s: &str, radix| !s.is_empty() && s.chars().all(|c| c.is_digit(radix));
    if let Some(hex) = word.strip_prefix("0x").or_else(|| word.strip_prefix("0X")) {
        digits_ok(hex, 16).then(|| u32::from_str_radix(hex, 16).ok())?
    } else {
        digits_ok(word, 10).then(|| word.parse().ok())?
    }
}

fn port(word: &str) -> Option<u16> {
    match number_u32(word) {
        Some(n) => u16::try_from(n).ok(),
        None => SERVICES
            .iter()
            .find(|(name, _)| *name == word)
            .map(|(_, n)| *n),
    }
}

fn protocol(word: &str) -> Option<u8> {
    match number_u32(word) {
        Some(n) => u8::try_from(n).ok(),
        None => PROTOCOLS
            .iter()
            .find(|(name, _)| *name == word)
            .map(|(_, n)| *n),
    }
}

/// A TCP flag's name or a byte.
fn flag_value(word: &str) -> Option<u8> {
    TCP_FLAGS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|(_, bit)| *bit)
        .or_else(|| u8::try_from(number_u32(word)?).ok())
}

/// Checks an interface name (or a prefix ending in `*`) the way the kernel's
/// `dev_valid_name` would, and refuses what the language cannot print back.
pub(crate) fn check_interface(name: &str) -> core::result::Result<(), String> {
    let stem = name.strip_suffix('*').unwrap_or(name);
    if name.is_empty() {
        return Err("an interface name cannot be empty".into());
    }
    if stem.len() > 15 {
        return Err(format!("interface name `{name}` is longer than 15 bytes"));
    }
    if stem.contains(|c: char| {
        c == '/' || c == ':' || c == '"' || c == '*' || c.is_whitespace() || c.is_control()
    }) {
        return Err(format!(
            "interface name `{name}` has a character no interface name has (/, :, \", white space)"
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("`{name}` is not an interface name"));
    }
    Ok(())
}
