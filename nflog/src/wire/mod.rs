//! Wire formats: zero-copy views over the bytes nfnetlink_log sends, and the emitters for
//! what we send it.
//!
//! - [`netlink`]: message headers and the walk over a datagram's messages;
//! - [`attr`]: attributes (TLVs), their iterator and emitter;
//! - [`packet`]: the packet message, with an accessor for every `NFULA_*` attribute;
//! - [`config`]: the configuration message;
//! - [`kind`] and [`family`]: the protocol's numbers, families and hooks.
//!
//! Netlink and attribute headers are in host byte order; attribute values are big-endian.
//! Every view is checked once when made; after that no accessor panics.

pub mod attr;
pub mod config;
pub mod family;
pub mod kind;
pub mod netlink;
pub mod packet;
