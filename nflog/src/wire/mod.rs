//! Wire formats: zero-copy views over the bytes nfnetlink_log sends, and the emitters for
//! what we send it.
//!
//! The packet message itself, [`Packet`](crate::Packet), and the numbers a program meets on
//! it ([`Family`](crate::Family), [`Hook`](crate::Hook), [`PacketAttr`](crate::PacketAttr))
//! are at the crate root. This module holds the rest, for programs that walk or build
//! netlink datagrams themselves (tests, fuzzers, other netfilter subsystems):
//!
//! - netlink message headers and the walk over a datagram's messages: [`Messages`],
//!   [`Message`], [`emit_header`] and [`emit_message`];
//! - attributes (TLVs), their iterator and emitter: [`Attributes`], [`Attr`], [`emit`];
//! - the configuration message: [`ConfigMessage`];
//! - the protocol's numbers: message types ([`MSG_PACKET`], [`NLMSG_DONE`], ...), flags,
//!   and the configuration attributes in [`cfg`](mod@cfg).
//!
//! Netlink and attribute headers are in host byte order; attribute values are big-endian.
//! Every view is checked once when made; after that no accessor panics.

pub(crate) mod attr;
pub(crate) mod config;
pub(crate) mod ctattr;
pub(crate) mod family;
pub(crate) mod kind;
pub(crate) mod netlink;
pub(crate) mod packet;
#[cfg_attr(not(feature = "format"), allow(dead_code))]
pub(crate) mod proto;

pub use attr::{
    align4, emit, Attr, Attributes, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK,
};
pub use config::ConfigMessage;
pub use kind::{
    cfg, MSG_CONFIG, MSG_PACKET, NFNL_SUBSYS_ULOG, NFULA_VLAN_PROTO, NFULA_VLAN_TCI, NLMSG_DONE,
    NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NLM_F_ACK, NLM_F_REQUEST,
};
pub use netlink::{emit_header, emit_message, Message, Messages, NLMSG_HDRLEN};
pub use packet::{MAX_HWADDR_LEN, NFGENMSG_LEN};
