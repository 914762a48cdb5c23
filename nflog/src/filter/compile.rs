//! The compiler: an expression to nf_tables rules, one per alternative of its disjunctive
//! normal form, with same-field alternatives folded into anonymous sets.
//!
//! nf_tables has no `or` inside a rule: a rule is a conjunction of tests, and a chain of
//! rules that each end in `goto` to the logging chain is their disjunction (a packet that
//! two rules match is logged once, since `goto` does not come back). So the expression is
//! brought to disjunctive normal form, then alternatives that differ in one test of the
//! same field are folded into a set lookup (`th dport { 22, 80 }`) to keep the rules few.
//!
//! Every test a primitive makes has the dependencies nft would give it (`meta nfproto
//! ipv4` before `ip saddr`, `meta l4proto 6` before `tcp flags`), and a negated primitive
//! keeps the user-space meaning, "the packet lacks the data, or has it and the test
//! fails": `not host 10.0.0.1` is `meta nfproto != ipv4` or `ip saddr != 10.0.0.1 and ip
//! daddr != 10.0.0.1` under `meta nfproto ipv4`.

use core::fmt;
use std::net::IpAddr;

use super::ast::*;
use crate::nft::{
    AnonymousSet, CmpOp, CtKey, Expr as NftExpr, Filter, MetaKey, PayloadBase, RangeOp, Register,
    SetElem,
};
use crate::wire::family::Family;

/// The most rules an expression may compile to.
pub const MAX_RULES: usize = 256;

/// Alternatives the compiler keeps while it multiplies out, before folding them into sets.
const MAX_ALTERNATIVES: usize = 16 * 1024;

/// Why an expression cannot be a kernel rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompileError {
    /// The primitive can match no packet of the table's family (`vlan` in `inet`, `ip6`
    /// in `ip`, anything of IP in `arp`).
    Family {
        /// The primitive, as the language prints it.
        primitive: String,
        /// The family.
        family: Family,
    },
    /// The primitive cannot be negated in a kernel rule: nf_tables cannot tell a packet
    /// without the data (no local socket, for `skuid`) from one that fails the test.
    Negated {
        /// The primitive, as the language prints it.
        primitive: String,
    },
    /// The expression needs more rules than [`MAX_RULES`] (at least `needed`).
    TooManyRules {
        /// How many it needed, at least.
        needed: usize,
    },
    /// The table's family is none nf_tables has a table of.
    UnknownFamily(Family),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Family { primitive, family } => write!(
                f,
                "`{primitive}` cannot match any packet of family {}",
                family_name(*family).unwrap_or("?")
            ),
            CompileError::Negated { primitive } => write!(
                f,
                "`not {primitive}` cannot be a kernel rule: nf_tables cannot tell packets without \
                 a local socket from those that fail the test (filter in user space with -g)"
            ),
            CompileError::TooManyRules { needed } => write!(
                f,
                "the expression needs at least {needed} rules, more than the {MAX_RULES} nflog \
                 installs: group alternatives of one field (`port 22 or 80`)"
            ),
            CompileError::UnknownFamily(family) => {
                write!(f, "no nftables table has family {family:?}")
            }
        }
    }
}

impl std::error::Error for CompileError {}

/// nft's name of a table family.
pub fn family_name(family: Family) -> Option<&'static str> {
    Some(match family {
        Family::Inet => "inet",
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
        Family::Arp => "arp",
        Family::Bridge => "bridge",
        Family::Netdev => "netdev",
        _ => return None,
    })
}

/// What a test loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Field {
    /// `meta nfproto` (inet): 2 IPv4, 10 IPv6.
    NfProto,
    /// `meta protocol`: the EtherType (bridge, netdev).
    Protocol,
    /// `meta l4proto`.
    L4Proto,
    /// `ip saddr` (true) / `ip daddr`.
    Ip4Addr(bool),
    /// `ip6 saddr` (true) / `ip6 daddr`.
    Ip6Addr(bool),
    /// `ip length`: the IPv4 total length.
    Ip4Len,
    /// `ip6 length`: the IPv6 payload length.
    Ip6Len,
    /// `th sport` (true) / `th dport`.
    Port(bool),
    /// `tcp flags & MASK`.
    TcpFlags(u8),
    /// `icmp type|code` (`v6`: `icmpv6`).
    Icmp { v6: bool, code: bool },
    /// `ether type`.
    EtherType,
    /// `vlan id`.
    VlanId,
    /// `meta mark & MASK`, host byte order.
    Mark(u32),
    /// `iifname` (false) / `oifname` (true).
    IfName(bool),
    /// `meta skuid`, host byte order.
    SkUid,
    /// `meta skgid`, host byte order.
    SkGid,
    /// `ct state`, host byte order.
    CtState,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Op {
    Eq(Vec<u8>),
    Ne(Vec<u8>),
    Range(Vec<u8>, Vec<u8>),
    NotRange(Vec<u8>, Vec<u8>),
    In(Vec<SetElem>),
    NotIn(Vec<SetElem>),
    /// Any of these bits (`ct state` only).
    AnyBits(u32),
    /// None of these bits.
    NoBits(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Test {
    field: Field,
    op: Op,
}

impl Test {
    fn negate(&self) -> Test {
        let op = match &self.op {
            Op::Eq(v) => Op::Ne(v.clone()),
            Op::Ne(v) => Op::Eq(v.clone()),
            Op::Range(a, b) => Op::NotRange(a.clone(), b.clone()),
            Op::NotRange(a, b) => Op::Range(a.clone(), b.clone()),
            Op::In(e) => Op::NotIn(e.clone()),
            Op::NotIn(e) => Op::In(e.clone()),
            Op::AnyBits(b) => Op::NoBits(*b),
            Op::NoBits(b) => Op::AnyBits(*b),
        };
        Test {
            field: self.field,
            op,
        }
    }

    /// The elements of a positive test that a set can hold, if it is one.
    fn elements(&self) -> Option<Vec<SetElem>> {
        match &self.op {
            Op::Eq(v) if v.len() == self.field.len() => Some(vec![SetElem::Value(v.clone())]),
            Op::Range(a, b) if self.field.ordered() => {
                Some(vec![SetElem::Interval(a.clone(), b.clone())])
            }
            Op::In(e) => Some(e.clone()),
            _ => None,
        }
    }
}

impl Field {
    /// Bytes loaded.
    fn len(self) -> usize {
        match self {
            Field::NfProto | Field::L4Proto | Field::TcpFlags(_) | Field::Icmp { .. } => 1,
            Field::Protocol
            | Field::Ip4Len
            | Field::Ip6Len
            | Field::Port(_)
            | Field::EtherType
            | Field::VlanId => 2,
            Field::Ip4Addr(_) | Field::Mark(_) | Field::SkUid | Field::SkGid | Field::CtState => 4,
            Field::Ip6Addr(_) => 16,
            Field::IfName(_) => 16,
        }
    }

    /// Whether the bytes are big-endian numbers, so that ranges and intervals work.
    fn ordered(self) -> bool {
        matches!(
            self,
            Field::Ip4Addr(_)
                | Field::Ip6Addr(_)
                | Field::Ip4Len
                | Field::Ip6Len
                | Field::Port(_)
                | Field::L4Proto
        )
    }

    /// nft's data type of a set of this field (`NFTA_SET_KEY_TYPE`).
    fn key_type(self) -> u32 {
        match self {
            Field::NfProto => 2,
            Field::Protocol | Field::EtherType => 10,
            Field::L4Proto => 12,
            Field::Ip4Addr(_) => 7,
            Field::Ip6Addr(_) => 8,
            Field::Port(_) => 13,
            Field::Mark(_) => 19,
            Field::IfName(_) => 41,
            Field::SkUid => 24,
            Field::SkGid => 25,
            _ => 4,
        }
    }

    /// The expressions that load the field into register 1.
    fn load(self, out: &mut Vec<NftExpr>) {
        let r = Register::R1;
        let payload = |base, offset, len| NftExpr::Payload {
            base,
            offset,
            len,
            dreg: r,
        };
        let meta = |key| NftExpr::Meta { key, dreg: r };
        let bitwise = |mask: Vec<u8>| NftExpr::Bitwise {
            sreg: r,
            dreg: r,
            xor: vec![0; mask.len()],
            mask,
        };
        use PayloadBase::{Link, Network, Transport};
        match self {
            Field::NfProto => out.push(meta(MetaKey::NfProto)),
            Field::Protocol => out.push(meta(MetaKey::Protocol)),
            Field::L4Proto => out.push(meta(MetaKey::L4Proto)),
            Field::Ip4Addr(src) => out.push(payload(Network, if src { 12 } else { 16 }, 4)),
            Field::Ip6Addr(src) => out.push(payload(Network, if src { 8 } else { 24 }, 16)),
            Field::Ip4Len => out.push(payload(Network, 2, 2)),
            Field::Ip6Len => out.push(payload(Network, 4, 2)),
            Field::Port(src) => out.push(payload(Transport, if src { 0 } else { 2 }, 2)),
            Field::TcpFlags(mask) => {
                out.push(payload(Transport, 13, 1));
                if mask != 0xff {
                    out.push(bitwise(vec![mask]));
                }
            }
            Field::Icmp { code, .. } => out.push(payload(Transport, u32::from(code), 1)),
            Field::EtherType => out.push(payload(Link, 12, 2)),
            Field::VlanId => {
                out.push(payload(Link, 14, 2));
                out.push(bitwise(vec![0x0f, 0xff]));
            }
            Field::Mark(mask) => {
                out.push(meta(MetaKey::Mark));
                if mask != u32::MAX {
                    out.push(bitwise(mask.to_ne_bytes().to_vec()));
                }
            }
            Field::IfName(out_dev) => out.push(meta(if out_dev {
                MetaKey::OifName
            } else {
                MetaKey::IifName
            })),
            Field::SkUid => out.push(meta(MetaKey::SkUid)),
            Field::SkGid => out.push(meta(MetaKey::SkGid)),
            Field::CtState => out.push(NftExpr::Ct {
                key: CtKey::State,
                dreg: r,
                direction: None,
            }),
        }
    }

    /// nft's words for the field.
    fn name(self) -> String {
        match self {
            Field::NfProto => "meta nfproto".into(),
            Field::Protocol => "meta protocol".into(),
            Field::L4Proto => "meta l4proto".into(),
            Field::Ip4Addr(src) => format!("ip {}", if src { "saddr" } else { "daddr" }),
            Field::Ip6Addr(src) => format!("ip6 {}", if src { "saddr" } else { "daddr" }),
            Field::Ip4Len => "ip length".into(),
            Field::Ip6Len => "ip6 length".into(),
            Field::Port(src) => format!("th {}", if src { "sport" } else { "dport" }),
            Field::TcpFlags(0xff) => "tcp flags".into(),
            Field::TcpFlags(mask) => format!("tcp flags & {}", tcp_flag_names(mask)),
            Field::Icmp { v6, code } => format!(
                "{} {}",
                if v6 { "icmpv6" } else { "icmp" },
                if code { "code" } else { "type" }
            ),
            Field::EtherType => "ether type".into(),
            // Not `vlan id`: after a set of ether types (`ether type { 8021q, 8021ad }`)
            // nft 1.0.6 reads `vlan id` as the tag after a first one (@ll,144), not the
            // outer tag this rule loads (@ll,112).
            Field::VlanId => "@ll,112,16 & 0xfff".into(),
            Field::Mark(u32::MAX) => "meta mark".into(),
            Field::Mark(mask) => format!("meta mark & {mask:#010x}"),
            Field::IfName(out) => if out { "oifname" } else { "iifname" }.into(),
            Field::SkUid => "meta skuid".into(),
            Field::SkGid => "meta skgid".into(),
            Field::CtState => "ct state".into(),
        }
    }

    /// One value of the field in nft's syntax.
    fn value(self, v: &[u8]) -> String {
        let num = || v.iter().fold(0u128, |n, b| n << 8 | u128::from(*b));
        let host = || {
            <[u8; 4]>::try_from(v)
                .map(u32::from_ne_bytes)
                .unwrap_or_default()
        };
        match self {
            Field::NfProto => match v {
                [2] => "ipv4".into(),
                [10] => "ipv6".into(),
                _ => num().to_string(),
            },
            Field::Protocol | Field::EtherType => format!("{:#06x}", num()),
            Field::Ip4Addr(_) => <[u8; 4]>::try_from(v)
                .map(|a| std::net::Ipv4Addr::from(a).to_string())
                .unwrap_or_default(),
            Field::Ip6Addr(_) => <[u8; 16]>::try_from(v)
                .map(|a| std::net::Ipv6Addr::from(a).to_string())
                .unwrap_or_default(),
            Field::TcpFlags(_) => tcp_flag_names(v.first().copied().unwrap_or(0)),
            Field::Mark(_) => format!("{:#010x}", host()),
            Field::SkUid | Field::SkGid => host().to_string(),
            Field::IfName(_) => {
                let name = v.split(|b| *b == 0).next().unwrap_or_default();
                let wildcard = if v.len() < 16 { "*" } else { "" };
                format!("\"{}{wildcard}\"", String::from_utf8_lossy(name))
            }
            _ => num().to_string(),
        }
    }

    /// An interval in nft's syntax: a prefix for addresses where it is one.
    fn interval(self, a: &[u8], b: &[u8]) -> String {
        if matches!(self, Field::Ip4Addr(_) | Field::Ip6Addr(_)) {
            let bits = a.len() * 8;
            let (lo, hi) = (be(a), be(b));
            let span = hi ^ lo;
            if lo & hi == lo && span.count_ones() as usize == span.trailing_ones() as usize {
                let len = bits - span.count_ones() as usize;
                return format!("{}/{len}", self.value(a));
            }
        }
        format!("{}-{}", self.value(a), self.value(b))
    }
}

fn be(v: &[u8]) -> u128 {
    v.iter().fold(0u128, |n, b| n << 8 | u128::from(*b))
}

/// TCP flags in nft's syntax: `syn`, `(syn|ack)`, `0x0`.
fn tcp_flag_names(bits: u8) -> String {
    const NAMES: [&str; 8] = ["fin", "syn", "rst", "psh", "ack", "urg", "ecn", "cwr"];
    let names: Vec<&str> = (0..8)
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| NAMES[i])
        .collect();
    match names.as_slice() {
        [] => "0x0".into(),
        [one] => (*one).into(),
        many => format!("({})", many.join("|")),
    }
}

/// ct state bits in nft's syntax.
fn ct_state_names(bits: u32) -> Vec<&'static str> {
    CtStates::NAMED
        .iter()
        .filter(|(s, _)| bits & u32::from(s.bits()) != 0)
        .map(|(_, n)| *n)
        .collect()
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        let elements = |e: &[SetElem]| {
            let items: Vec<String> = e
                .iter()
                .map(|e| match e {
                    SetElem::Value(v) => field.value(v),
                    SetElem::Interval(a, b) => field.interval(a, b),
                })
                .collect();
            format!("{{ {} }}", items.join(", "))
        };
        let name = field.name();
        match &self.op {
            // After a mask, nft wants the comparison written out; and `tcp flags rst`
            // alone is nft's "any of these flags" (flags & rst != 0), not equality.
            Op::Eq(v) if name.contains('&') || matches!(field, Field::TcpFlags(0xff)) => {
                write!(f, "{name} == {}", field.value(v))
            }
            Op::Eq(v) => write!(f, "{name} {}", field.value(v)),
            Op::Ne(v) => write!(f, "{name} != {}", field.value(v)),
            Op::Range(a, b) => write!(f, "{name} {}", field.interval(a, b)),
            Op::NotRange(a, b) => write!(f, "{name} != {}", field.interval(a, b)),
            Op::In(e) if name.contains('&') => write!(f, "{name} == {}", elements(e)),
            Op::In(e) => write!(f, "{name} {}", elements(e)),
            Op::NotIn(e) => write!(f, "{name} != {}", elements(e)),
            Op::AnyBits(b) => write!(f, "{name} {}", ct_state_names(*b).join(",")),
            Op::NoBits(b) => write!(f, "{name} & ({}) == 0", ct_state_names(*b).join("|")),
        }
    }
}

/// A formula over tests, before normal form.
#[derive(Debug, Clone)]
enum F {
    True,
    False,
    T(Test),
    And(Vec<F>),
    Or(Vec<F>),
    /// The body holds and the guards hold; the body's tests read data the guards
    /// promise, so its negation keeps them: "a guard fails, or they hold and the body
    /// does not".
    Guard(Vec<F>, Box<F>),
}

fn t(field: Field, op: Op) -> F {
    F::T(Test { field, op })
}

/// One rule: the tests of one alternative, as nf_tables expressions, as nft text, and
/// the sets its lookups use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledRule {
    /// The expressions, without a verdict (the caller appends its `goto`).
    pub exprs: Vec<NftExpr>,
    /// The sets the rule's lookups use, each by one lookup, with ids unique among the sets
    /// of one compilation (from 1).
    pub sets: Vec<AnonymousSet>,
    /// The rule in nft's syntax, without a verdict; empty for a rule that matches every
    /// packet.
    pub text: String,
}

/// What an expression compiles to, for one table family: the packet matches when any
/// rule does. No rule at all: the expression matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The table family compiled for.
    pub family: Family,
    /// The rules, one per alternative.
    pub rules: Vec<CompiledRule>,
}

impl Compiled {
    /// The rules as a capture [`Filter`], with the sets renumbered from `first_set_id` so
    /// that filters compiled apart can share one batch (set ids are unique in a batch).
    pub fn into_filter(self, first_set_id: u32) -> Filter {
        let offset = first_set_id.saturating_sub(1);
        let mut filter = Filter {
            alternatives: Vec::with_capacity(self.rules.len()),
            sets: Vec::new(),
        };
        for rule in self.rules {
            filter.alternatives.push(
                rule.exprs
                    .into_iter()
                    .map(|e| match e {
                        NftExpr::Lookup {
                            sreg,
                            set,
                            set_id,
                            invert,
                        } => NftExpr::Lookup {
                            sreg,
                            set,
                            set_id: set_id.map(|id| id + offset),
                            invert,
                        },
                        other => other,
                    })
                    .collect(),
            );
            filter
                .sets
                .extend(rule.sets.into_iter().map(|set| AnonymousSet {
                    id: set.id + offset,
                    ..set
                }));
        }
        filter
    }
}

/// Compiles `expr` to nf_tables rules for a table of `family` (inet, ip, ip6, bridge,
/// netdev, arp).
///
/// # Errors
///
/// A [`CompileError`]: a primitive the family cannot match, a negation nf_tables cannot
/// express, more than [`MAX_RULES`] rules.
pub fn compile(expr: &Expr, family: Family) -> Result<Compiled, CompileError> {
    family_name(family).ok_or(CompileError::UnknownFamily(family))?;
    let formula = Compiler { family }.expr(expr, false)?;
    let mut alternatives = dnf(&formula)?;
    alternatives = fold_sets(alternatives);
    if alternatives.len() > MAX_RULES {
        return Err(CompileError::TooManyRules {
            needed: alternatives.len(),
        });
    }
    let mut next_id = 1;
    let rules = alternatives
        .into_iter()
        .map(|tests| lower(&tests, &mut next_id))
        .collect();
    Ok(Compiled { family, rules })
}

fn lower(tests: &[Test], next_id: &mut u32) -> CompiledRule {
    let mut exprs = Vec::new();
    let mut sets = Vec::new();
    let r = Register::R1;
    for test in tests {
        test.field.load(&mut exprs);
        let cmp = |op, data: Vec<u8>| NftExpr::Cmp { sreg: r, op, data };
        match &test.op {
            Op::Eq(v) => exprs.push(cmp(CmpOp::Eq, v.clone())),
            Op::Ne(v) => exprs.push(cmp(CmpOp::Neq, v.clone())),
            Op::Range(a, b) | Op::NotRange(a, b) => exprs.push(NftExpr::Range {
                sreg: r,
                op: if matches!(test.op, Op::Range(..)) {
                    RangeOp::Eq
                } else {
                    RangeOp::Neq
                },
                from: a.clone(),
                to: b.clone(),
            }),
            Op::In(e) | Op::NotIn(e) => {
                let id = *next_id;
                *next_id += 1;
                exprs.push(NftExpr::Lookup {
                    sreg: r,
                    set: "__set%d".into(),
                    set_id: Some(id),
                    invert: matches!(test.op, Op::NotIn(_)),
                });
                sets.push(AnonymousSet {
                    id,
                    key_type: test.field.key_type(),
                    key_len: test.field.len() as u32,
                    elements: e.clone(),
                });
            }
            Op::AnyBits(b) | Op::NoBits(b) => {
                exprs.push(NftExpr::Bitwise {
                    sreg: r,
                    dreg: r,
                    mask: b.to_ne_bytes().to_vec(),
                    xor: vec![0; 4],
                });
                let op = if matches!(test.op, Op::AnyBits(_)) {
                    CmpOp::Neq
                } else {
                    CmpOp::Eq
                };
                exprs.push(cmp(op, vec![0; 4]));
            }
        }
    }
    let text: Vec<String> = tests.iter().map(ToString::to_string).collect();
    CompiledRule {
        exprs,
        sets,
        text: text.join(" "),
    }
}

struct Compiler {
    family: Family,
}

/// The source (true) and destination (false) tests combined as `dir` says.
fn directed(dir: Dir, test: impl Fn(bool) -> F) -> F {
    match dir {
        Dir::Src => test(true),
        Dir::Dst => test(false),
        Dir::SrcOrDst => F::Or(vec![test(true), test(false)]),
        Dir::SrcAndDst => F::And(vec![test(true), test(false)]),
    }
}

fn ip_addr(addr: IpAddr) -> (IpFamily, Vec<u8>) {
    match addr {
        IpAddr::V4(a) => (IpFamily::V4, a.octets().to_vec()),
        IpAddr::V6(a) => (IpFamily::V6, a.octets().to_vec()),
    }
}

impl Compiler {
    /// The NNF formula of `expr` (negated when `neg`).
    fn expr(&self, expr: &Expr, neg: bool) -> Result<F, CompileError> {
        Ok(match (expr, neg) {
            (Expr::Not(e), _) => self.expr(e, !neg)?,
            (Expr::And(a, b), false) => F::And(vec![self.expr(a, false)?, self.expr(b, false)?]),
            (Expr::Or(a, b), false) => F::Or(vec![self.expr(a, false)?, self.expr(b, false)?]),
            (Expr::And(a, b), true) => F::Or(vec![self.expr(a, true)?, self.expr(b, true)?]),
            (Expr::Or(a, b), true) => F::And(vec![self.expr(a, true)?, self.expr(b, true)?]),
            (Expr::Primitive(p), _) => {
                let f = simplify(self.primitive(p)?);
                if matches!(f, F::False) {
                    return Err(CompileError::Family {
                        primitive: p.to_string(),
                        family: self.family,
                    });
                }
                if neg {
                    if matches!(p, Primitive::SkUid(_) | Primitive::SkGid(_)) {
                        return Err(CompileError::Negated {
                            primitive: p.to_string(),
                        });
                    }
                    negate(&f)
                } else {
                    f
                }
            }
        })
    }

    /// The packet is IPv4 (or IPv6): a test, or a constant in the ip and ip6 families.
    fn is_ip(&self, v: IpFamily) -> F {
        let (nfproto, ethertype, own) = match v {
            IpFamily::V4 => (2u8, 0x0800u16, Family::Ipv4),
            IpFamily::V6 => (10, 0x86dd, Family::Ipv6),
        };
        match self.family {
            Family::Inet => t(Field::NfProto, Op::Eq(vec![nfproto])),
            Family::Bridge | Family::Netdev => {
                t(Field::Protocol, Op::Eq(ethertype.to_be_bytes().to_vec()))
            }
            f if f == own => F::True,
            _ => F::False,
        }
    }

    /// The packet is IP of either version (`meta l4proto` has a value).
    fn any_ip(&self) -> F {
        match self.family {
            Family::Inet | Family::Ipv4 | Family::Ipv6 => F::True,
            Family::Bridge | Family::Netdev => t(
                Field::Protocol,
                Op::In(vec![
                    SetElem::Value(vec![0x08, 0x00]),
                    SetElem::Value(vec![0x86, 0xdd]),
                ]),
            ),
            _ => F::False,
        }
    }

    /// The transport protocol is one of `protos`.
    fn l4(&self, protos: &[u8]) -> Vec<F> {
        let op = match protos {
            [one] => Op::Eq(vec![*one]),
            many => Op::In(many.iter().map(|p| SetElem::Value(vec![*p])).collect()),
        };
        vec![self.any_ip(), t(Field::L4Proto, op)]
    }

    fn ports(&self, proto: Option<PortProto>, dir: Dir, op: impl Fn() -> Op) -> F {
        let protos: Vec<u8> = match proto {
            Some(p) => vec![p.number()],
            None => PortProto::ALL.iter().map(|p| p.number()).collect(),
        };
        F::Guard(
            self.l4(&protos),
            Box::new(directed(dir, |src| t(Field::Port(src), op()))),
        )
    }

    fn length(&self, v: IpFamily, lo: u32, hi: u32) -> F {
        let (field, less) = match v {
            IpFamily::V4 => (Field::Ip4Len, 0),
            IpFamily::V6 => (Field::Ip6Len, 40),
        };
        let lo = lo.saturating_sub(less);
        let Some(hi) = hi.checked_sub(less) else {
            return F::False;
        };
        let hi = hi.min(0xffff);
        if lo > hi {
            return F::False;
        }
        let body = if lo == 0 && hi == 0xffff {
            F::True
        } else {
            t(
                field,
                Op::Range(
                    (lo as u16).to_be_bytes().to_vec(),
                    (hi as u16).to_be_bytes().to_vec(),
                ),
            )
        };
        F::Guard(vec![self.is_ip(v)], Box::new(body))
    }

    fn primitive(&self, p: &Primitive) -> Result<F, CompileError> {
        Ok(match p {
            Primitive::Host(dir, addr) => {
                let (v, bytes) = ip_addr(*addr);
                let field = |src| match v {
                    IpFamily::V4 => Field::Ip4Addr(src),
                    IpFamily::V6 => Field::Ip6Addr(src),
                };
                F::Guard(
                    vec![self.is_ip(v)],
                    Box::new(directed(*dir, |src| t(field(src), Op::Eq(bytes.clone())))),
                )
            }
            Primitive::Net(dir, prefix) => {
                let (v, lo, hi, full) = match *prefix {
                    Prefix::V4(a, len) => {
                        let m = mask_v4(len);
                        let lo = u32::from(a);
                        (
                            IpFamily::V4,
                            lo.to_be_bytes().to_vec(),
                            (lo | !m).to_be_bytes().to_vec(),
                            len == 32,
                        )
                    }
                    Prefix::V6(a, len) => {
                        let m = mask_v6(len);
                        let lo = u128::from(a);
                        (
                            IpFamily::V6,
                            lo.to_be_bytes().to_vec(),
                            (lo | !m).to_be_bytes().to_vec(),
                            len == 128,
                        )
                    }
                };
                let field = |src| match v {
                    IpFamily::V4 => Field::Ip4Addr(src),
                    IpFamily::V6 => Field::Ip6Addr(src),
                };
                let body = if prefix.prefix_len() == 0 {
                    F::True
                } else if full {
                    directed(*dir, |src| t(field(src), Op::Eq(lo.clone())))
                } else {
                    directed(*dir, |src| t(field(src), Op::Range(lo.clone(), hi.clone())))
                };
                F::Guard(vec![self.is_ip(v)], Box::new(body))
            }
            Primitive::Port(proto, dir, port) => {
                self.ports(*proto, *dir, || Op::Eq(port.to_be_bytes().to_vec()))
            }
            Primitive::PortRange(proto, dir, lo, hi) => self.ports(*proto, *dir, || {
                if lo == hi {
                    Op::Eq(lo.to_be_bytes().to_vec())
                } else {
                    Op::Range(lo.to_be_bytes().to_vec(), hi.to_be_bytes().to_vec())
                }
            }),
            Primitive::Network(NetworkProto::Ipv4) => self.is_ip(IpFamily::V4),
            Primitive::Network(NetworkProto::Ipv6) => self.is_ip(IpFamily::V6),
            Primitive::Network(NetworkProto::Arp) => match self.family {
                Family::Arp => F::True,
                Family::Bridge | Family::Netdev => t(Field::Protocol, Op::Eq(vec![0x08, 0x06])),
                _ => F::False,
            },
            Primitive::Proto(family, n) => {
                let mut guards = match family {
                    Some(v) => vec![self.is_ip(*v)],
                    None => vec![],
                };
                guards.extend(self.l4(&[*n]));
                F::And(guards)
            }
            Primitive::TcpFlags(tf) => {
                let value = vec![tf.value];
                let op = match tf.cmp {
                    Cmp::Eq => Op::Eq(value),
                    Cmp::Ne => Op::Ne(value),
                };
                // `flags & mask` can never equal a value with bits outside the mask.
                let body = match (tf.cmp, tf.value & !tf.mask != 0) {
                    (Cmp::Eq, true) => F::False,
                    (Cmp::Ne, true) => F::True,
                    _ => t(Field::TcpFlags(tf.mask), op),
                };
                F::Guard(self.l4(&[6]), Box::new(body))
            }
            Primitive::Icmp(it) => {
                let (v, proto) = if it.v6 {
                    (IpFamily::V6, 58)
                } else {
                    (IpFamily::V4, 1)
                };
                let mut guards = vec![self.is_ip(v)];
                guards.extend(self.l4(&[proto]));
                let field = Field::Icmp {
                    v6: it.v6,
                    code: it.field == IcmpField::Code,
                };
                let op = match it.cmp {
                    Cmp::Eq => Op::Eq(vec![it.value]),
                    Cmp::Ne => Op::Ne(vec![it.value]),
                };
                F::Guard(guards, Box::new(t(field, op)))
            }
            Primitive::Length(test) => {
                let (lo, hi) = match *test {
                    LengthTest::AtMost(n) => (0, n),
                    LengthTest::AtLeast(n) => (n, u32::MAX),
                };
                F::Or(vec![
                    self.length(IpFamily::V4, lo, hi),
                    self.length(IpFamily::V6, lo, hi),
                ])
            }
            Primitive::Vlan(id) => match self.family {
                Family::Bridge | Family::Netdev => {
                    let tagged = t(
                        Field::EtherType,
                        Op::In(vec![
                            SetElem::Value(vec![0x81, 0x00]),
                            SetElem::Value(vec![0x88, 0xa8]),
                        ]),
                    );
                    let body = match id {
                        Some(id) => t(Field::VlanId, Op::Eq(id.to_be_bytes().to_vec())),
                        None => F::True,
                    };
                    F::Guard(vec![tagged], Box::new(body))
                }
                _ => F::False,
            },
            Primitive::Mark(m) if m.mask == 0 => F::True,
            Primitive::Mark(m) => t(Field::Mark(m.mask), Op::Eq(m.value.to_ne_bytes().to_vec())),
            Primitive::Interface(dir, name) => {
                let field = Field::IfName(*dir == IfaceDir::Out);
                match name.strip_suffix('*') {
                    Some("") => F::True,
                    Some(stem) => t(field, Op::Eq(stem.as_bytes().to_vec())),
                    None => {
                        let mut bytes = name.as_bytes().to_vec();
                        bytes.resize(16, 0);
                        t(field, Op::Eq(bytes))
                    }
                }
            }
            Primitive::SkUid(n) => t(Field::SkUid, Op::Eq(n.to_ne_bytes().to_vec())),
            Primitive::SkGid(n) => t(Field::SkGid, Op::Eq(n.to_ne_bytes().to_vec())),
            Primitive::CtState(s) => t(Field::CtState, Op::AnyBits(u32::from(s.bits()))),
        })
    }
}

/// Folds constants.
fn simplify(f: F) -> F {
    match f {
        F::And(v) => {
            let mut out = Vec::new();
            for f in v.into_iter().map(simplify) {
                match f {
                    F::True => {}
                    F::False => return F::False,
                    f => out.push(f),
                }
            }
            match out.len() {
                0 => F::True,
                1 => out.pop().unwrap_or(F::True),
                _ => F::And(out),
            }
        }
        F::Or(v) => {
            let mut out = Vec::new();
            for f in v.into_iter().map(simplify) {
                match f {
                    F::False => {}
                    F::True => return F::True,
                    f => out.push(f),
                }
            }
            match out.len() {
                0 => F::False,
                1 => out.pop().unwrap_or(F::False),
                _ => F::Or(out),
            }
        }
        F::Guard(guards, body) => {
            let mut all = guards;
            all.push(*body);
            let guards_and_body = simplify(F::And(all.clone()));
            if matches!(guards_and_body, F::False | F::True) {
                return guards_and_body;
            }
            let body = all.pop().map(simplify).unwrap_or(F::True);
            let guards: Vec<F> = all
                .into_iter()
                .map(simplify)
                .filter(|g| !matches!(g, F::True))
                .collect();
            if guards.is_empty() {
                body
            } else {
                F::Guard(guards, Box::new(body))
            }
        }
        f => f,
    }
}

/// The negation, in negation normal form, keeping guards: `not (g1 and g2 => b)` is
/// `not g1 or (g1 and not g2) or (g1 and g2 and not b)`.
fn negate(f: &F) -> F {
    match f {
        F::True => F::False,
        F::False => F::True,
        F::T(test) => F::T(test.negate()),
        F::And(v) => F::Or(v.iter().map(negate).collect()),
        F::Or(v) => F::And(v.iter().map(negate).collect()),
        F::Guard(guards, body) => {
            let mut alternatives = Vec::new();
            for (i, g) in guards.iter().enumerate() {
                let mut conj: Vec<F> = guards[..i].to_vec();
                conj.push(negate(g));
                alternatives.push(F::And(conj));
            }
            let mut conj = guards.clone();
            conj.push(negate(body));
            alternatives.push(F::And(conj));
            simplify(F::Or(alternatives))
        }
    }
}

/// The alternatives of the formula's disjunctive normal form, contradictions dropped.
fn dnf(f: &F) -> Result<Vec<Vec<Test>>, CompileError> {
    let too_many = |needed| CompileError::TooManyRules { needed };
    Ok(match f {
        F::True => vec![vec![]],
        F::False => vec![],
        F::T(test) => vec![vec![test.clone()]],
        F::Or(v) => {
            let mut out = Vec::new();
            for f in v {
                out.extend(dnf(f)?);
                if out.len() > MAX_ALTERNATIVES {
                    return Err(too_many(out.len()));
                }
            }
            out
        }
        F::And(v) => {
            let mut out: Vec<Vec<Test>> = vec![vec![]];
            for f in v {
                let right = dnf(f)?;
                let needed = out.len().saturating_mul(right.len());
                if needed > MAX_ALTERNATIVES {
                    return Err(too_many(needed));
                }
                let mut next = Vec::with_capacity(needed);
                for l in &out {
                    for r in &right {
                        let mut conj = l.clone();
                        for test in r {
                            if !conj.contains(test) {
                                conj.push(test.clone());
                            }
                        }
                        if !contradicts(&conj) {
                            next.push(conj);
                        }
                    }
                }
                out = next;
            }
            out
        }
        F::Guard(guards, body) => {
            let mut all = guards.clone();
            all.push((**body).clone());
            dnf(&F::And(all))?
        }
    })
}

/// Whether a conjunction can match nothing: one field equal to two values, or equal to
/// and not equal to one.
fn contradicts(conj: &[Test]) -> bool {
    conj.iter().enumerate().any(|(i, a)| {
        conj[i + 1..].iter().any(|b| {
            a.field == b.field
                && match (&a.op, &b.op) {
                    (Op::Eq(x), Op::Eq(y)) => x != y && x.len() == y.len(),
                    (Op::Eq(x), Op::Ne(y)) | (Op::Ne(y), Op::Eq(x)) => x == y,
                    (Op::Eq(x), Op::In(e)) | (Op::In(e), Op::Eq(x)) => {
                        x.len() == a.field.len()
                            && !e.iter().any(|e| match e {
                                SetElem::Value(v) => v == x,
                                SetElem::Interval(lo, hi) => lo <= x && x <= hi,
                            })
                    }
                    _ => false,
                }
        })
    })
}

/// Folds alternatives that differ in one positive test of the same field into one with
/// a set of the values of both, until none is left to fold; and drops duplicates.
fn fold_sets(mut alternatives: Vec<Vec<Test>>) -> Vec<Vec<Test>> {
    // A duplicate (in any order) is dropped.
    let mut seen: Vec<Vec<Test>> = Vec::new();
    alternatives.retain(|alt| {
        let mut key = alt.clone();
        key.sort_by_key(ToString::to_string);
        if seen.contains(&key) {
            false
        } else {
            seen.push(key);
            true
        }
    });
    loop {
        let mut folded = false;
        'outer: for i in 0..alternatives.len() {
            for j in i + 1..alternatives.len() {
                if let Some(merged) = fold_pair(&alternatives[i], &alternatives[j]) {
                    alternatives[i] = merged;
                    alternatives.remove(j);
                    folded = true;
                    break 'outer;
                }
            }
        }
        if !folded {
            return alternatives;
        }
    }
}

/// `a` and `b` as one alternative, if they have the same tests but one, on the same field,
/// which a set can hold.
fn fold_pair(a: &[Test], b: &[Test]) -> Option<Vec<Test>> {
    if a.len() != b.len() {
        return None;
    }
    let differ: Vec<usize> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
    let [at] = differ.as_slice() else {
        return None;
    };
    let (x, y) = (&a[*at], &b[*at]);
    if x.field != y.field {
        return None;
    }
    let mut merged = a.to_vec();
    if let (Op::AnyBits(p), Op::AnyBits(q)) = (&x.op, &y.op) {
        merged[*at] = Test {
            field: x.field,
            op: Op::AnyBits(p | q),
        };
        return Some(merged);
    }
    let mut elements = x.elements()?;
    for e in y.elements()? {
        if !elements.contains(&e) {
            elements.push(e);
        }
    }
    elements.sort();
    merged[*at] = Test {
        field: x.field,
        op: Op::In(elements),
    };
    Some(merged)
}
