//! The signals of a capture, taken by `sigwait` on a thread of their own: SIGINT and
//! SIGTERM stop it, SIGHUP reopens its file outputs (logrotate's `postrotate kill -HUP`).
//!
//! Waiting for them, rather than handling them, needs no code in a signal handler and no
//! `unsafe`; it needs the signals blocked in every thread, so [`block`] comes first, before
//! any thread starts (threads inherit the mask), and the thread that waits comes once the
//! capture knows how to stop. A signal sent in between waits, pending, for that thread.
//! Commands run by `-z` start with no signal blocked: the standard library empties the
//! mask of every child it starts.

use std::thread;

use anyhow::{Context, Result};
use nix::sys::signal::{SigSet, Signal};

use crate::rotate::Reopen;

/// The signals of a capture, blocked in this thread and every thread it starts.
pub struct Blocked(SigSet);

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread, and so in every thread it
/// starts from now on.
pub fn block() -> Result<Blocked> {
    let mut set = SigSet::empty();
    for signal in [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP] {
        set.add(signal);
    }
    set.thread_block()
        .context("blocking SIGINT, SIGTERM and SIGHUP (pthread_sigmask)")?;
    Ok(Blocked(set))
}

impl Blocked {
    /// Starts the thread that takes the signals: `stop` for each SIGINT and SIGTERM (a
    /// second one tells the capture to hurry), a reopen request for each SIGHUP.
    pub fn handle(self, stop: impl Fn() + Send + 'static, reopen: Reopen) -> Result<()> {
        let set = self.0;
        thread::Builder::new()
            .name("nflog signals".into())
            .spawn(move || loop {
                match set.wait() {
                    Ok(Signal::SIGHUP) => reopen.request(),
                    Ok(_) => stop(),
                    // sigwait fails only for a set it cannot wait on, which this is not;
                    // were it to, the signals would stay pending rather than spin here.
                    Err(_) => return,
                }
            })
            .context("starting the signal thread")?;
        Ok(())
    }
}
