//! Receiving: the [`Listener`], its [`Batch`]es, [`Stats`] and [`StopHandle`].

pub mod batch;
pub mod listener;
pub mod stats;
pub mod stop;
