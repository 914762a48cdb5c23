//! nf_tables expressions: the steps of a rule, as typed values with their netlink encoding.
//!
//! A rule is a list of expressions the kernel runs in order over registers: `payload` and
//! `meta` load bytes of the packet or facts about it into a register, `cmp`, `range` and
//! `lookup` end the rule (NFT_BREAK) when the register does not match, `bitwise` masks it,
//! `limit` ends the rule once over its rate, `counter` counts what reaches it, `log` sends
//! the packet to an NFLOG group, `immediate` sets a verdict.
//!
//! On the wire each expression is an `NFTA_LIST_ELEM` nest holding `NFTA_EXPR_NAME` (the
//! expression's name, such as `"payload"`) and `NFTA_EXPR_DATA` (a nest of the expression's
//! own attributes). Every number is big-endian, every nest carries `NLA_F_NESTED`, and the
//! attributes come in libnftnl's order, so the bytes are those `nft` sends for the same rule
//! (the tests compare them with a batch recorded from nft 1.0.6).
//!
//! Register contents keep the byte order of their source: packet bytes (`payload`) are in
//! network order, while `meta` and `ct` keys load host-order integers (a mark, a uid, the
//! conntrack state bits), one-byte values (`nfproto`, `l4proto`) or NUL-padded names
//! (`iifname`). [`MetaKey::len`] and [`CtKey::len`] give each key's width; the data a `cmp`
//! compares with must be laid out the same way (`u32::to_ne_bytes` for a mark).

use core::fmt;

use crate::error::ParseError;
use crate::nft::nla::{self, Table};
use crate::wire::attr::{emit, Attributes};

/// `NFTA_LIST_ELEM`: one element of a list (of expressions, of set elements).
pub(crate) const NFTA_LIST_ELEM: u16 = 1;

/// Attribute numbers from `include/uapi/linux/netfilter/nf_tables.h`.
mod nfta {
    pub const EXPR_NAME: u16 = 1;
    pub const EXPR_DATA: u16 = 2;

    pub const DATA_VALUE: u16 = 1;
    pub const DATA_VERDICT: u16 = 2;
    pub const VERDICT_CODE: u16 = 1;
    pub const VERDICT_CHAIN: u16 = 2;

    pub const PAYLOAD_DREG: u16 = 1;
    pub const PAYLOAD_BASE: u16 = 2;
    pub const PAYLOAD_OFFSET: u16 = 3;
    pub const PAYLOAD_LEN: u16 = 4;

    pub const CMP_SREG: u16 = 1;
    pub const CMP_OP: u16 = 2;
    pub const CMP_DATA: u16 = 3;

    pub const BITWISE_SREG: u16 = 1;
    pub const BITWISE_DREG: u16 = 2;
    pub const BITWISE_LEN: u16 = 3;
    pub const BITWISE_MASK: u16 = 4;
    pub const BITWISE_XOR: u16 = 5;

    pub const RANGE_SREG: u16 = 1;
    pub const RANGE_OP: u16 = 2;
    pub const RANGE_FROM_DATA: u16 = 3;
    pub const RANGE_TO_DATA: u16 = 4;

    pub const META_DREG: u16 = 1;
    pub const META_KEY: u16 = 2;

    pub const CT_DREG: u16 = 1;
    pub const CT_KEY: u16 = 2;
    pub const CT_DIRECTION: u16 = 3;

    pub const LOOKUP_SET: u16 = 1;
    pub const LOOKUP_SREG: u16 = 2;
    pub const LOOKUP_SET_ID: u16 = 4;
    pub const LOOKUP_FLAGS: u16 = 5;

    pub const LIMIT_RATE: u16 = 1;
    pub const LIMIT_UNIT: u16 = 2;
    pub const LIMIT_BURST: u16 = 3;
    pub const LIMIT_TYPE: u16 = 4;
    pub const LIMIT_FLAGS: u16 = 5;

    pub const COUNTER_BYTES: u16 = 1;
    pub const COUNTER_PACKETS: u16 = 2;

    pub const LOG_GROUP: u16 = 1;
    pub const LOG_PREFIX: u16 = 2;
    pub const LOG_SNAPLEN: u16 = 3;
    pub const LOG_QTHRESHOLD: u16 = 4;

    pub const IMMEDIATE_DREG: u16 = 1;
    pub const IMMEDIATE_DATA: u16 = 2;
}

/// `NFT_DATA_VALUE_MAXLEN`: the most bytes a data value (a `cmp` operand, a mask) may have.
pub const MAX_DATA_LEN: usize = 64;
/// The longest log prefix the kernel takes, without its NUL (`NF_LOG_PREFIXLEN` is 128).
pub const MAX_LOG_PREFIX: usize = 127;
/// `NFT_NAME_MAXLEN` less the NUL: the longest table, chain or set name.
pub const MAX_NAME_LEN: usize = 255;

/// A register (`enum nft_registers`).
///
/// The verdict register, four 16-byte registers `NFT_REG_1..4` (what `nft` uses), or the
/// sixteen 4-byte views of the same space, `NFT_REG32_00..15`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Register(u32);

impl Register {
    /// `NFT_REG_VERDICT`: where `immediate` puts a verdict.
    pub const VERDICT: Register = Register(0);
    /// `NFT_REG_1`, 16 bytes.
    pub const R1: Register = Register(1);
    /// `NFT_REG_2`, 16 bytes.
    pub const R2: Register = Register(2);
    /// `NFT_REG_3`, 16 bytes.
    pub const R3: Register = Register(3);
    /// `NFT_REG_4`, 16 bytes.
    pub const R4: Register = Register(4);

    /// `NFT_REG32_00 + n`, the n-th 4-byte register, for `n` under 16.
    pub const fn reg32(n: u8) -> Option<Register> {
        if n < 16 {
            Some(Register(8 + n as u32))
        } else {
            None
        }
    }

    /// The register's number on the wire.
    pub const fn number(self) -> u32 {
        self.0
    }

    /// The register with this number, if it is one (0 to 4, 8 to 23).
    pub const fn from_number(n: u32) -> Option<Register> {
        match n {
            0..=4 | 8..=23 => Some(Register(n)),
            _ => None,
        }
    }
}

/// Where a `payload` expression counts its offset from (`enum nft_payload_bases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadBase {
    /// `NFT_PAYLOAD_LL_HEADER`: the link-layer (Ethernet) header.
    Link,
    /// `NFT_PAYLOAD_NETWORK_HEADER`: the IPv4/IPv6 header.
    Network,
    /// `NFT_PAYLOAD_TRANSPORT_HEADER`: the TCP/UDP/ICMP header.
    Transport,
}

/// A comparison (`enum nft_cmp_ops`): bytes compared as big-endian numbers (`memcmp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    /// `NFT_CMP_EQ`.
    Eq,
    /// `NFT_CMP_NEQ`.
    Neq,
    /// `NFT_CMP_LT`.
    Lt,
    /// `NFT_CMP_LTE`.
    Lte,
    /// `NFT_CMP_GT`.
    Gt,
    /// `NFT_CMP_GTE`.
    Gte,
}

/// `range`'s test (`enum nft_range_ops`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeOp {
    /// `NFT_RANGE_EQ`: inside the range, ends included.
    Eq,
    /// `NFT_RANGE_NEQ`: outside it.
    Neq,
}

macro_rules! keys {
    ($(#[$tdoc:meta])* $ty:ident { $($(#[$doc:meta])* $name:ident = $num:literal, $len:literal, $nft:literal;)* }) => {
        $(#[$tdoc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $ty {
            $($(#[$doc])* $name,)*
        }

        impl $ty {
            /// The key's number on the wire.
            pub const fn number(self) -> u32 {
                match self {
                    $($ty::$name => $num,)*
                }
            }

            /// The key with this number, if this crate knows it.
            pub const fn from_number(n: u32) -> Option<$ty> {
                match n {
                    $($num => Some($ty::$name),)*
                    _ => None,
                }
            }

            /// How many bytes the key loads into its register.
            #[allow(clippy::len_without_is_empty)]
            pub const fn len(self) -> usize {
                match self {
                    $($ty::$name => $len,)*
                }
            }

            /// The key's name in nft's syntax, such as `l4proto`.
            pub const fn name(self) -> &'static str {
                match self {
                    $($ty::$name => $nft,)*
                }
            }
        }
    };
}

keys! {
    /// A `meta` key (`enum nft_meta_keys`): facts about the packet that are not its bytes.
    MetaKey {
        /// `NFT_META_LEN`: the packet's length, host-order u32.
        Len = 0, 4, "length";
        /// `NFT_META_PROTOCOL`: the EtherType, big-endian u16.
        Protocol = 1, 2, "protocol";
        /// `NFT_META_MARK`: the packet mark, host-order u32.
        Mark = 3, 4, "mark";
        /// `NFT_META_IIF`: the input interface's index, host-order u32.
        Iif = 4, 4, "iif";
        /// `NFT_META_OIF`: the output interface's index, host-order u32.
        Oif = 5, 4, "oif";
        /// `NFT_META_IIFNAME`: the input interface's name, NUL-padded to 16 bytes.
        IifName = 6, 16, "iifname";
        /// `NFT_META_OIFNAME`: the output interface's name, NUL-padded to 16 bytes.
        OifName = 7, 16, "oifname";
        /// `NFT_META_IIFTYPE`: the input interface's ARPHRD type, host-order u16.
        IifType = 8, 2, "iiftype";
        /// `NFT_META_OIFTYPE`: the output interface's ARPHRD type, host-order u16.
        OifType = 9, 2, "oiftype";
        /// `NFT_META_SKUID`: the owning socket's user id (local packets), host-order u32.
        SkUid = 10, 4, "skuid";
        /// `NFT_META_SKGID`: the owning socket's group id (local packets), host-order u32.
        SkGid = 11, 4, "skgid";
        /// `NFT_META_NFPROTO`: the hook's family (2 IPv4, 10 IPv6), one byte.
        NfProto = 15, 1, "nfproto";
        /// `NFT_META_L4PROTO`: the transport protocol number, one byte.
        L4Proto = 16, 1, "l4proto";
        /// `NFT_META_BRI_IIFNAME`: the bridge port's name on input, NUL-padded to 16 bytes.
        BriIifName = 17, 16, "ibrname";
        /// `NFT_META_BRI_OIFNAME`: the bridge port's name on output, NUL-padded to 16 bytes.
        BriOifName = 18, 16, "obrname";
        /// `NFT_META_PKTTYPE`: unicast, broadcast, multicast (`PACKET_*`), one byte.
        PktType = 19, 1, "pkttype";
        /// `NFT_META_CPU`: the CPU handling the packet, host-order u32.
        Cpu = 20, 4, "cpu";
        /// `NFT_META_IIFGROUP`: the input interface's group, host-order u32.
        IifGroup = 21, 4, "iifgroup";
        /// `NFT_META_OIFGROUP`: the output interface's group, host-order u32.
        OifGroup = 22, 4, "oifgroup";
    }
}

keys! {
    /// A `ct` key (`enum nft_ct_keys`): facts from the packet's conntrack entry.
    CtKey {
        /// `NFT_CT_STATE`: the state bits ([`CtKey::STATE_NEW`] and the others), host-order u32.
        State = 0, 4, "state";
        /// `NFT_CT_DIRECTION`: 0 original, 1 reply; one byte.
        Direction = 1, 1, "direction";
        /// `NFT_CT_STATUS`: the entry's status bits (`IPS_*`), host-order u32.
        Status = 2, 4, "status";
        /// `NFT_CT_MARK`: the connection mark, host-order u32.
        Mark = 3, 4, "mark";
        /// `NFT_CT_EXPIRATION`: milliseconds left, host-order u32.
        Expiration = 5, 4, "expiration";
        /// `NFT_CT_L3PROTOCOL`: the entry's family, one byte.
        L3Protocol = 7, 1, "l3proto";
        /// `NFT_CT_PROTOCOL`: the entry's transport protocol, one byte.
        Protocol = 10, 1, "protocol";
        /// `NFT_CT_ZONE`: the zone, host-order u16.
        Zone = 17, 2, "zone";
        /// `NFT_CT_ID`: the entry's id, host-order u32.
        Id = 23, 4, "id";
    }
}

impl CtKey {
    /// `ct state invalid` (`NF_CT_STATE_INVALID_BIT`).
    pub const STATE_INVALID: u32 = 1;
    /// `ct state established` (`NF_CT_STATE_BIT(IP_CT_ESTABLISHED)`).
    pub const STATE_ESTABLISHED: u32 = 1 << 1;
    /// `ct state related` (`NF_CT_STATE_BIT(IP_CT_RELATED)`).
    pub const STATE_RELATED: u32 = 1 << 2;
    /// `ct state new` (`NF_CT_STATE_BIT(IP_CT_NEW)`).
    pub const STATE_NEW: u32 = 1 << 3;
    /// `ct state untracked` (`NF_CT_STATE_UNTRACKED_BIT`).
    pub const STATE_UNTRACKED: u32 = 1 << 6;
}

/// A conntrack direction, for the `ct` keys that have one per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CtDirection {
    /// `IP_CT_DIR_ORIGINAL`.
    Original,
    /// `IP_CT_DIR_REPLY`.
    Reply,
}

/// The unit of a `limit` rate: its length in seconds is what goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitUnit {
    /// Per second.
    Second,
    /// Per minute.
    Minute,
    /// Per hour.
    Hour,
    /// Per day.
    Day,
    /// Per week.
    Week,
}

impl LimitUnit {
    /// The unit's length in seconds (`NFTA_LIMIT_UNIT`).
    pub const fn seconds(self) -> u64 {
        match self {
            LimitUnit::Second => 1,
            LimitUnit::Minute => 60,
            LimitUnit::Hour => 3600,
            LimitUnit::Day => 86400,
            LimitUnit::Week => 604_800,
        }
    }

    /// The unit of this many seconds, if it is one nft knows.
    pub const fn from_seconds(seconds: u64) -> Option<LimitUnit> {
        match seconds {
            1 => Some(LimitUnit::Second),
            60 => Some(LimitUnit::Minute),
            3600 => Some(LimitUnit::Hour),
            86400 => Some(LimitUnit::Day),
            604_800 => Some(LimitUnit::Week),
            _ => None,
        }
    }

    /// nft's word for it: `second`, `minute`, ...
    pub const fn name(self) -> &'static str {
        match self {
            LimitUnit::Second => "second",
            LimitUnit::Minute => "minute",
            LimitUnit::Hour => "hour",
            LimitUnit::Day => "day",
            LimitUnit::Week => "week",
        }
    }
}

/// What a `limit` counts (`enum nft_limit_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitType {
    /// `NFT_LIMIT_PKTS`: packets.
    Packets,
    /// `NFT_LIMIT_PKT_BYTES`: bytes.
    Bytes,
}

/// A verdict (`NFTA_DATA_VERDICT`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// `NF_ACCEPT`.
    Accept,
    /// `NF_DROP`.
    Drop,
    /// `NFT_CONTINUE`: go on with the next rule.
    Continue,
    /// `NFT_RETURN`: back to the calling chain.
    Return,
    /// `NFT_JUMP` to the chain named.
    Jump(String),
    /// `NFT_GOTO` the chain named.
    Goto(String),
}

impl Verdict {
    const ACCEPT: i32 = 1;
    const DROP: i32 = 0;
    const CONTINUE: i32 = -1;
    const JUMP: i32 = -3;
    const GOTO: i32 = -4;
    const RETURN: i32 = -5;

    fn code(&self) -> i32 {
        match self {
            Verdict::Accept => Self::ACCEPT,
            Verdict::Drop => Self::DROP,
            Verdict::Continue => Self::CONTINUE,
            Verdict::Return => Self::RETURN,
            Verdict::Jump(_) => Self::JUMP,
            Verdict::Goto(_) => Self::GOTO,
        }
    }
}

/// What an `immediate` expression loads: a value into a data register, or a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Immediate {
    /// Bytes, into a data register.
    Value(Vec<u8>),
    /// A verdict, into [`Register::VERDICT`].
    Verdict(Verdict),
}

/// One nf_tables expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expr {
    /// `payload`: loads `len` bytes at `offset` from `base` into `dreg` (network order).
    Payload {
        /// The header the offset counts from.
        base: PayloadBase,
        /// Byte offset from the start of that header.
        offset: u32,
        /// Bytes to load, 1 to 16 for `NFT_REG_1..4`.
        len: u32,
        /// The register loaded.
        dreg: Register,
    },
    /// `cmp`: ends the rule unless `sreg op data` holds.
    Cmp {
        /// The register compared.
        sreg: Register,
        /// The comparison.
        op: CmpOp,
        /// What it is compared with, laid out as the register is.
        data: Vec<u8>,
    },
    /// `bitwise`: `dreg = (sreg & mask) ^ xor`, over `mask.len()` bytes.
    Bitwise {
        /// The register read.
        sreg: Register,
        /// The register written.
        dreg: Register,
        /// The mask; its length is the operation's.
        mask: Vec<u8>,
        /// What is xored in after masking, as long as the mask.
        xor: Vec<u8>,
    },
    /// `range`: ends the rule unless `from <= sreg <= to` (or, with `Neq`, outside).
    Range {
        /// The register tested.
        sreg: Register,
        /// Inside or outside.
        op: RangeOp,
        /// The low end, included.
        from: Vec<u8>,
        /// The high end, included, as long as `from`.
        to: Vec<u8>,
    },
    /// `meta`: loads a fact about the packet into `dreg`.
    Meta {
        /// What is loaded.
        key: MetaKey,
        /// The register loaded.
        dreg: Register,
    },
    /// `ct`: loads a fact from the packet's conntrack entry into `dreg`.
    Ct {
        /// What is loaded.
        key: CtKey,
        /// The register loaded.
        dreg: Register,
        /// For the keys that have one per direction.
        direction: Option<CtDirection>,
    },
    /// `lookup`: ends the rule unless `sreg` is an element of the set (or, inverted, is not).
    Lookup {
        /// The register looked up.
        sreg: Register,
        /// The set's name in its table (for an anonymous set, the name the batch gave it).
        set: String,
        /// The set's id in the batch that creates it, for a set made in the same batch.
        set_id: Option<u32>,
        /// `NFT_LOOKUP_F_INV`: match when absent.
        invert: bool,
    },
    /// `limit`: ends the rule once over `rate` per `unit` (or, inverted, while under).
    Limit {
        /// Packets (or bytes) per unit.
        rate: u64,
        /// The unit of time.
        unit: LimitUnit,
        /// How many may pass at once beyond the rate.
        burst: u32,
        /// Packets or bytes.
        kind: LimitType,
        /// `NFT_LIMIT_F_INV`: match only over the rate (`limit rate over`).
        invert: bool,
    },
    /// `counter`: counts the packets and bytes that reach it.
    Counter {
        /// Packets so far (0 in a new rule; read back from the kernel's dump).
        packets: u64,
        /// Bytes so far.
        bytes: u64,
    },
    /// `log` to an NFLOG group.
    Log {
        /// The group (`NFTA_LOG_GROUP`).
        group: u16,
        /// The prefix, at most [`MAX_LOG_PREFIX`] bytes, no NUL.
        prefix: Option<String>,
        /// Bytes of each packet to copy (`snaplen`), 0 or absent for the group's range.
        snaplen: Option<u32>,
        /// Packets the kernel queues before sending (`queue-threshold`).
        queue_threshold: Option<u16>,
    },
    /// `immediate`: loads a value or a verdict.
    Immediate {
        /// The register loaded ([`Register::VERDICT`] for a verdict).
        dreg: Register,
        /// What is loaded.
        data: Immediate,
    },
}

/// An expression that cannot be sent as it is: the kernel would refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExprError {
    /// A data value longer than [`MAX_DATA_LEN`] or empty.
    DataLength {
        /// The expression (`cmp`, `bitwise`, ...).
        expr: &'static str,
        /// Its length.
        len: usize,
    },
    /// Two values of one expression that must be as long as each other are not.
    LengthMismatch {
        /// The expression.
        expr: &'static str,
        /// The first value's length.
        first: usize,
        /// The second's.
        second: usize,
    },
    /// A log prefix longer than [`MAX_LOG_PREFIX`] bytes or holding a NUL.
    LogPrefix {
        /// Its length in bytes.
        len: usize,
    },
    /// A name (set, chain) that is empty, longer than [`MAX_NAME_LEN`] or holds a NUL.
    Name {
        /// The name.
        name: String,
    },
    /// A verdict in a data register, or a value in the verdict register.
    ImmediateRegister,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExprError::DataLength { expr, len } => write!(
                f,
                "{expr}: a {len}-byte value (nf_tables takes 1 to {MAX_DATA_LEN} bytes)"
            ),
            ExprError::LengthMismatch {
                expr,
                first,
                second,
            } => write!(
                f,
                "{expr}: values of {first} and {second} bytes (they must be as long)"
            ),
            ExprError::LogPrefix { len } => write!(
                f,
                "log prefix of {len} bytes, or with a NUL (the kernel takes at most \
                 {MAX_LOG_PREFIX} bytes, no NUL)"
            ),
            ExprError::Name { name } => write!(
                f,
                "name {name:?} (nf_tables takes 1 to {MAX_NAME_LEN} bytes, no NUL)"
            ),
            ExprError::ImmediateRegister => f.write_str(
                "immediate: a verdict goes to the verdict register, a value to a data register",
            ),
        }
    }
}

impl std::error::Error for ExprError {}

/// Checks a table, chain or set name against nf_tables' limits.
pub(crate) fn check_name(name: &str) -> Result<(), ExprError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('\0') {
        return Err(ExprError::Name {
            name: name.to_owned(),
        });
    }
    Ok(())
}

fn check_data(expr: &'static str, data: &[u8]) -> Result<(), ExprError> {
    if data.is_empty() || data.len() > MAX_DATA_LEN {
        return Err(ExprError::DataLength {
            expr,
            len: data.len(),
        });
    }
    Ok(())
}

fn check_pair(expr: &'static str, a: &[u8], b: &[u8]) -> Result<(), ExprError> {
    check_data(expr, a)?;
    check_data(expr, b)?;
    if a.len() != b.len() {
        return Err(ExprError::LengthMismatch {
            expr,
            first: a.len(),
            second: b.len(),
        });
    }
    Ok(())
}

impl Expr {
    /// The expression's name on the wire (`NFTA_EXPR_NAME`), such as `"payload"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Expr::Payload { .. } => "payload",
            Expr::Cmp { .. } => "cmp",
            Expr::Bitwise { .. } => "bitwise",
            Expr::Range { .. } => "range",
            Expr::Meta { .. } => "meta",
            Expr::Ct { .. } => "ct",
            Expr::Lookup { .. } => "lookup",
            Expr::Limit { .. } => "limit",
            Expr::Counter { .. } => "counter",
            Expr::Log { .. } => "log",
            Expr::Immediate { .. } => "immediate",
        }
    }

    /// Checks what the kernel would refuse and this type cannot rule out: data lengths,
    /// names, the log prefix.
    ///
    /// # Errors
    ///
    /// The first problem found, as an [`ExprError`].
    pub fn validate(&self) -> Result<(), ExprError> {
        match self {
            Expr::Cmp { data, .. } => check_data("cmp", data),
            Expr::Bitwise { mask, xor, .. } => check_pair("bitwise", mask, xor),
            Expr::Range { from, to, .. } => check_pair("range", from, to),
            Expr::Lookup { set, .. } => check_name(set),
            Expr::Log { prefix, .. } => match prefix {
                Some(p) if p.len() > MAX_LOG_PREFIX || p.contains('\0') => {
                    Err(ExprError::LogPrefix { len: p.len() })
                }
                _ => Ok(()),
            },
            Expr::Immediate { dreg, data } => match (data, *dreg == Register::VERDICT) {
                (Immediate::Verdict(Verdict::Jump(c) | Verdict::Goto(c)), true) => check_name(c),
                (Immediate::Verdict(_), true) => Ok(()),
                (Immediate::Value(v), false) => check_data("immediate", v),
                _ => Err(ExprError::ImmediateRegister),
            },
            Expr::Payload { .. }
            | Expr::Meta { .. }
            | Expr::Ct { .. }
            | Expr::Limit { .. }
            | Expr::Counter { .. } => Ok(()),
        }
    }

    /// Appends the expression as one `NFTA_LIST_ELEM` of a rule's `NFTA_RULE_EXPRESSIONS`.
    ///
    /// # Errors
    ///
    /// What [`validate`](Self::validate) finds; nothing is appended then.
    pub fn emit(&self, out: &mut Vec<u8>) -> Result<(), ExprError> {
        self.validate()?;
        let elem = nla::open(out, NFTA_LIST_ELEM);
        nla::emit_str(out, nfta::EXPR_NAME, self.name());
        let data = nla::open(out, nfta::EXPR_DATA);
        self.emit_data(out);
        // Validated values are at most a few hundred bytes: the nests fit in nla_len.
        let fits = nla::close(out, data) & nla::close(out, elem);
        debug_assert!(fits);
        Ok(())
    }

    fn emit_data(&self, out: &mut Vec<u8>) {
        use nla::{emit_u32, emit_u64};
        match self {
            Expr::Payload {
                base,
                offset,
                len,
                dreg,
            } => {
                emit_u32(out, nfta::PAYLOAD_DREG, dreg.number());
                let base = match base {
                    PayloadBase::Link => 0,
                    PayloadBase::Network => 1,
                    PayloadBase::Transport => 2,
                };
                emit_u32(out, nfta::PAYLOAD_BASE, base);
                emit_u32(out, nfta::PAYLOAD_OFFSET, *offset);
                emit_u32(out, nfta::PAYLOAD_LEN, *len);
            }
            Expr::Cmp { sreg, op, data } => {
                emit_u32(out, nfta::CMP_SREG, sreg.number());
                let op = match op {
                    CmpOp::Eq => 0,
                    CmpOp::Neq => 1,
                    CmpOp::Lt => 2,
                    CmpOp::Lte => 3,
                    CmpOp::Gt => 4,
                    CmpOp::Gte => 5,
                };
                emit_u32(out, nfta::CMP_OP, op);
                emit_value(out, nfta::CMP_DATA, data);
            }
            Expr::Bitwise {
                sreg,
                dreg,
                mask,
                xor,
            } => {
                emit_u32(out, nfta::BITWISE_SREG, sreg.number());
                emit_u32(out, nfta::BITWISE_DREG, dreg.number());
                emit_u32(out, nfta::BITWISE_LEN, mask.len() as u32);
                emit_value(out, nfta::BITWISE_MASK, mask);
                emit_value(out, nfta::BITWISE_XOR, xor);
            }
            Expr::Range { sreg, op, from, to } => {
                emit_u32(out, nfta::RANGE_SREG, sreg.number());
                emit_u32(out, nfta::RANGE_OP, matches!(op, RangeOp::Neq).into());
                emit_value(out, nfta::RANGE_FROM_DATA, from);
                emit_value(out, nfta::RANGE_TO_DATA, to);
            }
            Expr::Meta { key, dreg } => {
                emit_u32(out, nfta::META_KEY, key.number());
                emit_u32(out, nfta::META_DREG, dreg.number());
            }
            Expr::Ct {
                key,
                dreg,
                direction,
            } => {
                emit_u32(out, nfta::CT_KEY, key.number());
                emit_u32(out, nfta::CT_DREG, dreg.number());
                if let Some(direction) = direction {
                    let d = match direction {
                        CtDirection::Original => 0,
                        CtDirection::Reply => 1,
                    };
                    emit(out, nfta::CT_DIRECTION, &[d]);
                }
            }
            Expr::Lookup {
                sreg,
                set,
                set_id,
                invert,
            } => {
                emit_u32(out, nfta::LOOKUP_SREG, sreg.number());
                nla::emit_str(out, nfta::LOOKUP_SET, set);
                if let Some(id) = set_id {
                    emit_u32(out, nfta::LOOKUP_SET_ID, *id);
                }
                if *invert {
                    emit_u32(out, nfta::LOOKUP_FLAGS, 1);
                }
            }
            Expr::Limit {
                rate,
                unit,
                burst,
                kind,
                invert,
            } => {
                emit_u64(out, nfta::LIMIT_RATE, *rate);
                emit_u64(out, nfta::LIMIT_UNIT, unit.seconds());
                emit_u32(out, nfta::LIMIT_BURST, *burst);
                emit_u32(
                    out,
                    nfta::LIMIT_TYPE,
                    matches!(kind, LimitType::Bytes).into(),
                );
                emit_u32(out, nfta::LIMIT_FLAGS, (*invert).into());
            }
            Expr::Counter { packets, bytes } => {
                // libnftnl sends a new counter with no attributes at all.
                if *packets != 0 || *bytes != 0 {
                    emit_u64(out, nfta::COUNTER_BYTES, *bytes);
                    emit_u64(out, nfta::COUNTER_PACKETS, *packets);
                }
            }
            Expr::Log {
                group,
                prefix,
                snaplen,
                queue_threshold,
            } => {
                if let Some(prefix) = prefix {
                    nla::emit_str(out, nfta::LOG_PREFIX, prefix);
                }
                emit(out, nfta::LOG_GROUP, &group.to_be_bytes());
                if let Some(snaplen) = snaplen {
                    emit_u32(out, nfta::LOG_SNAPLEN, *snaplen);
                }
                if let Some(q) = queue_threshold {
                    emit(out, nfta::LOG_QTHRESHOLD, &q.to_be_bytes());
                }
            }
            Expr::Immediate { dreg, data } => {
                emit_u32(out, nfta::IMMEDIATE_DREG, dreg.number());
                match data {
                    Immediate::Value(v) => emit_value(out, nfta::IMMEDIATE_DATA, v),
                    Immediate::Verdict(verdict) => {
                        let outer = nla::open(out, nfta::IMMEDIATE_DATA);
                        let inner = nla::open(out, nfta::DATA_VERDICT);
                        emit_u32(out, nfta::VERDICT_CODE, verdict.code() as u32);
                        if let Verdict::Jump(chain) | Verdict::Goto(chain) = verdict {
                            nla::emit_str(out, nfta::VERDICT_CHAIN, chain);
                        }
                        let fits = nla::close(out, inner) & nla::close(out, outer);
                        debug_assert!(fits);
                    }
                }
            }
        }
    }

    /// Reads one expression: the value of an `NFTA_LIST_ELEM` from a rule the kernel sent
    /// (a dump of `NFT_MSG_GETRULE`) or that [`emit`](Self::emit) wrote.
    ///
    /// # Errors
    ///
    /// [`DecodeError`] for malformed attributes, a missing or unknown attribute value, or an
    /// expression this crate does not know (its name).
    pub fn decode(elem: &[u8]) -> Result<Expr, DecodeError> {
        let top = Table::parse(elem)?;
        let name = top.str(nfta::EXPR_NAME).ok_or(DecodeError::Missing {
            expr: "expression",
            attr: nfta::EXPR_NAME,
        })?;
        let data = Table::parse(top.get(nfta::EXPR_DATA).unwrap_or(&[]))?;
        let f = Fields { name, data };
        Ok(match name {
            "payload" => Expr::Payload {
                dreg: f.register(nfta::PAYLOAD_DREG)?,
                base: match f.u32(nfta::PAYLOAD_BASE)? {
                    0 => PayloadBase::Link,
                    1 => PayloadBase::Network,
                    2 => PayloadBase::Transport,
                    other => return Err(f.unknown(nfta::PAYLOAD_BASE, other)),
                },
                offset: f.u32(nfta::PAYLOAD_OFFSET)?,
                len: f.u32(nfta::PAYLOAD_LEN)?,
            },
            "cmp" => Expr::Cmp {
                sreg: f.register(nfta::CMP_SREG)?,
                op: match f.u32(nfta::CMP_OP)? {
                    0 => CmpOp::Eq,
                    1 => CmpOp::Neq,
                    2 => CmpOp::Lt,
                    3 => CmpOp::Lte,
                    4 => CmpOp::Gt,
                    5 => CmpOp::Gte,
                    other => return Err(f.unknown(nfta::CMP_OP, other)),
                },
                data: f.value(nfta::CMP_DATA)?,
            },
            "bitwise" => Expr::Bitwise {
                sreg: f.register(nfta::BITWISE_SREG)?,
                dreg: f.register(nfta::BITWISE_DREG)?,
                mask: f.value(nfta::BITWISE_MASK)?,
                xor: f.value(nfta::BITWISE_XOR)?,
            },
            "range" => Expr::Range {
                sreg: f.register(nfta::RANGE_SREG)?,
                op: match f.u32(nfta::RANGE_OP)? {
                    0 => RangeOp::Eq,
                    1 => RangeOp::Neq,
                    other => return Err(f.unknown(nfta::RANGE_OP, other)),
                },
                from: f.value(nfta::RANGE_FROM_DATA)?,
                to: f.value(nfta::RANGE_TO_DATA)?,
            },
            "meta" => {
                let key = f.u32(nfta::META_KEY)?;
                Expr::Meta {
                    key: MetaKey::from_number(key).ok_or(f.unknown(nfta::META_KEY, key))?,
                    dreg: f.register(nfta::META_DREG)?,
                }
            }
            "ct" => {
                let key = f.u32(nfta::CT_KEY)?;
                Expr::Ct {
                    key: CtKey::from_number(key).ok_or(f.unknown(nfta::CT_KEY, key))?,
                    dreg: f.register(nfta::CT_DREG)?,
                    direction: match f.data.get(nfta::CT_DIRECTION) {
                        None => None,
                        Some([0]) => Some(CtDirection::Original),
                        Some([1]) => Some(CtDirection::Reply),
                        Some(v) => {
                            return Err(
                                f.unknown(nfta::CT_DIRECTION, v.first().map_or(0, |b| (*b).into()))
                            )
                        }
                    },
                }
            }
            "lookup" => Expr::Lookup {
                sreg: f.register(nfta::LOOKUP_SREG)?,
                set: f
                    .data
                    .str(nfta::LOOKUP_SET)
                    .ok_or(f.missing(nfta::LOOKUP_SET))?
                    .to_owned(),
                set_id: f.data.u32(nfta::LOOKUP_SET_ID),
                invert: f.data.u32(nfta::LOOKUP_FLAGS).unwrap_or(0) & 1 != 0,
            },
            "limit" => {
                let unit = f.u64(nfta::LIMIT_UNIT)?;
                Expr::Limit {
                    rate: f.u64(nfta::LIMIT_RATE)?,
                    unit: LimitUnit::from_seconds(unit)
                        .ok_or(f.unknown(nfta::LIMIT_UNIT, unit.try_into().unwrap_or(u32::MAX)))?,
                    burst: f.data.u32(nfta::LIMIT_BURST).unwrap_or(0),
                    kind: match f.data.u32(nfta::LIMIT_TYPE).unwrap_or(0) {
                        0 => LimitType::Packets,
                        1 => LimitType::Bytes,
                        other => return Err(f.unknown(nfta::LIMIT_TYPE, other)),
                    },
                    invert: f.data.u32(nfta::LIMIT_FLAGS).unwrap_or(0) & 1 != 0,
                }
            }
            "counter" => Expr::Counter {
                packets: f.data.u64(nfta::COUNTER_PACKETS).unwrap_or(0),
                bytes: f.data.u64(nfta::COUNTER_BYTES).unwrap_or(0),
            },
            "log" => Expr::Log {
                group: f
                    .data
                    .u16(nfta::LOG_GROUP)
                    .ok_or(f.missing(nfta::LOG_GROUP))?,
                prefix: f.data.str(nfta::LOG_PREFIX).map(str::to_owned),
                snaplen: f.data.u32(nfta::LOG_SNAPLEN),
                queue_threshold: f.data.u16(nfta::LOG_QTHRESHOLD),
            },
            "immediate" => {
                let dreg = f.register(nfta::IMMEDIATE_DREG)?;
                let data = Table::parse(
                    f.data
                        .get(nfta::IMMEDIATE_DATA)
                        .ok_or(f.missing(nfta::IMMEDIATE_DATA))?,
                )?;
                let data = if let Some(verdict) = data.get(nfta::DATA_VERDICT) {
                    let verdict = Table::parse(verdict)?;
                    let code = verdict
                        .u32(nfta::VERDICT_CODE)
                        .ok_or(f.missing(nfta::VERDICT_CODE))?
                        as i32;
                    let chain = || {
                        verdict
                            .str(nfta::VERDICT_CHAIN)
                            .map(str::to_owned)
                            .ok_or(f.missing(nfta::VERDICT_CHAIN))
                    };
                    Immediate::Verdict(match code {
                        Verdict::ACCEPT => Verdict::Accept,
                        Verdict::DROP => Verdict::Drop,
                        Verdict::CONTINUE => Verdict::Continue,
                        Verdict::RETURN => Verdict::Return,
                        Verdict::JUMP => Verdict::Jump(chain()?),
                        Verdict::GOTO => Verdict::Goto(chain()?),
                        other => return Err(f.unknown(nfta::VERDICT_CODE, other as u32)),
                    })
                } else {
                    Immediate::Value(
                        data.get(nfta::DATA_VALUE)
                            .ok_or(f.missing(nfta::DATA_VALUE))?
                            .to_vec(),
                    )
                };
                Expr::Immediate { dreg, data }
            }
            other => {
                return Err(DecodeError::UnknownExpr {
                    name: other.to_owned(),
                })
            }
        })
    }
}

/// Appends `kind` as a nest holding one `NFTA_DATA_VALUE` with `data`.
fn emit_value(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let nest = nla::open(out, kind);
    emit(out, nfta::DATA_VALUE, data);
    let fits = nla::close(out, nest);
    debug_assert!(fits, "data values are checked to be at most 64 bytes");
}

/// An expression's attributes, read by [`Expr::decode`].
struct Fields<'a> {
    name: &'a str,
    data: Table<'a>,
}

impl Fields<'_> {
    fn missing(&self, attr: u16) -> DecodeError {
        DecodeError::Missing {
            expr: static_name(self.name),
            attr,
        }
    }

    fn unknown(&self, attr: u16, value: u32) -> DecodeError {
        DecodeError::UnknownValue {
            expr: static_name(self.name),
            attr,
            value,
        }
    }

    fn u32(&self, attr: u16) -> Result<u32, DecodeError> {
        self.data.u32(attr).ok_or(self.missing(attr))
    }

    fn u64(&self, attr: u16) -> Result<u64, DecodeError> {
        self.data.u64(attr).ok_or(self.missing(attr))
    }

    fn register(&self, attr: u16) -> Result<Register, DecodeError> {
        let n = self.u32(attr)?;
        Register::from_number(n).ok_or(self.unknown(attr, n))
    }

    fn value(&self, attr: u16) -> Result<Vec<u8>, DecodeError> {
        let nest = Table::parse(self.data.get(attr).ok_or(self.missing(attr))?)?;
        Ok(nest
            .get(nfta::DATA_VALUE)
            .ok_or(self.missing(attr))?
            .to_vec())
    }
}

/// The `'static` spelling of an expression name this crate knows.
fn static_name(name: &str) -> &'static str {
    const NAMES: [&str; 11] = [
        "payload",
        "cmp",
        "bitwise",
        "range",
        "meta",
        "ct",
        "lookup",
        "limit",
        "counter",
        "log",
        "immediate",
    ];
    NAMES
        .into_iter()
        .find(|n| *n == name)
        .unwrap_or("expression")
}

/// An expression from the kernel that does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The attributes themselves are malformed.
    Attribute(ParseError),
    /// An attribute the expression needs is absent (or of the wrong size).
    Missing {
        /// The expression's name.
        expr: &'static str,
        /// The attribute's type in the expression's `NFTA_*` numbering.
        attr: u16,
    },
    /// An attribute holds a value this crate does not know (a new key, a new operation).
    UnknownValue {
        /// The expression's name.
        expr: &'static str,
        /// The attribute's type.
        attr: u16,
        /// Its value.
        value: u32,
    },
    /// An expression this crate does not know.
    UnknownExpr {
        /// Its name.
        name: String,
    },
}

impl From<ParseError> for DecodeError {
    fn from(e: ParseError) -> Self {
        DecodeError::Attribute(e)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Attribute(e) => write!(f, "nf_tables expression: {e}"),
            DecodeError::Missing { expr, attr } => write!(
                f,
                "nf_tables expression {expr}: attribute {attr} missing or of the wrong size"
            ),
            DecodeError::UnknownValue { expr, attr, value } => write!(
                f,
                "nf_tables expression {expr}: attribute {attr} has unknown value {value}"
            ),
            DecodeError::UnknownExpr { name } => {
                write!(
                    f,
                    "nf_tables expression {name:?} is not known to this crate"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeError::Attribute(e) => Some(e),
            _ => None,
        }
    }
}

/// Appends `exprs` as the value of a rule's `NFTA_RULE_EXPRESSIONS` (without its header).
///
/// # Errors
///
/// The first expression's [`ExprError`]; `out` may then hold the ones before it.
pub fn emit_list(exprs: &[Expr], out: &mut Vec<u8>) -> Result<(), ExprError> {
    for expr in exprs {
        expr.emit(out)?;
    }
    Ok(())
}

/// Reads the expressions of a rule's `NFTA_RULE_EXPRESSIONS` value.
///
/// # Errors
///
/// The first expression that does not decode.
pub fn decode_list(bytes: &[u8]) -> Result<Vec<Expr>, DecodeError> {
    Attributes::new(bytes)
        .map(|attr| Expr::decode(attr?.value()))
        .collect()
}

#[cfg(test)]
mod tests;
