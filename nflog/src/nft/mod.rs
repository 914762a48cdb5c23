//! nf_tables over netlink: the rules nflog installs itself, without `nft` or libnftnl.
//!
//! - [`Expr`] and its parts: the expressions of a rule (payload, cmp, bitwise, range, meta,
//!   ct, lookup, limit, counter, log, immediate) and their netlink encoding, byte for byte
//!   what `nft` sends for the same rule.
//! - [`Batch`] of messages ([`Table`], [`Chain`], [`Rule`], [`AnonymousSet`]), sent by an
//!   [`NftSocket`], which waits for the kernel's answer to each and turns a refusal into an
//!   [`NftError`] that quotes the kernel's extended ACK message and names the message.
//! - [`CaptureRules`]: a table of nflog's own that logs what a [`Filter`] matches to one
//!   group; installed, it is a [`CaptureGuard`] whose drop deletes it, and which the kernel
//!   deletes when its socket closes (the owner flag, Linux 5.12 and later).
//!
//! ```no_run
//! use nflog::nft::{CaptureRules, CmpOp, Expr, Filter, MetaKey, PayloadBase, Register};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut listener = nflog::Listener::builder().bind()?;
//! let group = listener.add_free_group(nflog::nft::FREE_GROUP_START, &[], &Default::default())?;
//! // udp dport 9999
//! let udp_9999 = vec![
//!     Expr::Meta { key: MetaKey::L4Proto, dreg: Register::R1 },
//!     Expr::Cmp { sreg: Register::R1, op: CmpOp::Eq, data: vec![17] },
//!     Expr::Payload { base: PayloadBase::Transport, offset: 2, len: 2, dreg: Register::R1 },
//!     Expr::Cmp { sreg: Register::R1, op: CmpOp::Eq, data: 9999u16.to_be_bytes().to_vec() },
//! ];
//! let rules = CaptureRules {
//!     filter: Filter { alternatives: vec![udp_9999], sets: vec![] },
//!     ..CaptureRules::default()
//! };
//! let _guard = rules.install(group)?; // deleted when dropped
//! while let Some(batch) = listener.recv()? {
//!     for packet in batch {
//!         println!("{:?}", packet?);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Numbers on the wire are big-endian; netlink and attribute headers are in host order, as
//! everywhere in netlink (see [`wire`](crate::wire)).

mod capture;
mod error;
mod expr;
mod msg;
mod nla;
mod socket;

pub use capture::{
    CaptureGuard, CaptureRules, Counters, Filter, Limit, DEFAULT_PRIORITY, LOG_CHAIN, MATCH_CHAIN,
};
pub use error::NftError;
pub use expr::{
    decode_list, emit_list, CmpOp, CtDirection, CtKey, DecodeError, Expr, ExprError, Immediate,
    LimitType, LimitUnit, MetaKey, PayloadBase, RangeOp, Register, Verdict, MAX_DATA_LEN,
    MAX_LOG_PREFIX, MAX_NAME_LEN,
};
pub use msg::{
    hook_name, hook_number, AnonymousSet, BaseHook, Batch, Chain, MessageInfo, MsgType, Rule,
    SetElem, Table, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES,
    NFT_TABLE_F_OWNER,
};
pub use socket::NftSocket;

/// Where the search for a free group starts: high, above the groups rules usually name.
pub const FREE_GROUP_START: u16 = 32768;
