//! Receiving: the [`Listener`](crate::Listener), its [`Batch`](crate::Batch)es, [`Stats`](crate::Stats) and [`StopHandle`](crate::StopHandle).

pub mod batch;
pub mod listener;
pub mod stats;
pub mod stop;
