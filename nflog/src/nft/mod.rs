//! nf_tables over netlink: the rules nflog installs itself, without `nft` or libnftnl.
//!
//! - [`Expr`] and its parts: the expressions of a rule (payload, cmp, bitwise, range, meta,
//!   ct, lookup, limit, counter, log, immediate) and their netlink encoding, byte for byte
//!   what `nft` sends for the same rule.
//!
//! Numbers on the wire are big-endian; netlink and attribute headers are in host order, as
//! everywhere in netlink (see [`wire`](crate::wire)).

mod expr;
mod nla;

pub use expr::{
    decode_list, emit_list, CmpOp, CtDirection, CtKey, DecodeError, Expr, ExprError, Immediate,
    LimitType, LimitUnit, MetaKey, PayloadBase, RangeOp, Register, Verdict, MAX_DATA_LEN,
    MAX_LOG_PREFIX, MAX_NAME_LEN,
};
