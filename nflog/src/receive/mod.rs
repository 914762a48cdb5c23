//! Receiving: the [`Listener`](crate::Listener), its [`Batch`](crate::Batch)es, [`Stats`](crate::Stats) and [`StopHandle`](crate::StopHandle).
//!
//! Also the [`OwnedPacket`](crate::OwnedPacket), to keep a packet past the next receive,
//! and, with feature `tokio`, the async listener and its stream (`tokio`).

pub mod batch;
pub mod listener;
pub mod owned;
pub mod per_group;
pub mod stats;
pub mod stop;
#[cfg(feature = "tokio")]
pub mod tokio;
