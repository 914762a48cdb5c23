//! Receive the packets Linux netfilter logs with NFLOG, in pure Rust.
//!
//! (crate docs are written below)
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod config;
pub mod error;
pub mod receive;
pub mod socket;
pub mod wire;

pub use config::{CopyMode, Flags, GroupConfig};
pub use error::{Error, ParseError, Request};
pub use receive::batch::Batch;
pub use receive::listener::{Listener, ListenerBuilder};
pub use receive::stats::Stats;
pub use receive::stop::StopHandle;
pub use socket::Socket;
pub use wire::family::{Family, Hook};
pub use wire::kind::PacketAttr;
pub use wire::packet::{Packet, Vlan};
