//! A handle that ends a blocked receive from another thread or a signal handler.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::Error;
use crate::socket::{eventfd, eventfd_signal};

/// Stops a [`Listener`](crate::Listener)'s [`run`](crate::Listener::run) and
/// [`recv`](crate::Listener::recv), even while they wait for the kernel.
///
/// Cheap to clone, `Send` and `Sync`. [`stop`](Self::stop) only stores a flag and writes to
/// an eventfd, so it is async-signal-safe: call it from a Ctrl-C handler. The stop lasts:
/// every later `run` or `recv` returns at once until [`reset`](Self::reset).
#[derive(Debug, Clone)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stopped: AtomicBool,
    wake: OwnedFd,
}

impl StopHandle {
    pub(crate) fn new() -> Result<StopHandle, Error> {
        let wake = eventfd().map_err(|e| Error::io("creating the stop eventfd", e))?;
        Ok(StopHandle {
            inner: Arc::new(Inner {
                stopped: AtomicBool::new(false),
                wake,
            }),
        })
    }

    /// Asks the listener to stop; its `run` or `recv` returns after the batch in hand.
    pub fn stop(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        eventfd_signal(self.inner.wake.as_fd());
    }

    /// Whether [`stop`](Self::stop) was called since the last [`reset`](Self::reset).
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Lets the listener receive again.
    pub fn reset(&self) {
        let mut counter = [0u8; 8];
        // Drain the eventfd (non-blocking: EAGAIN when already empty).
        let _ = rustix::io::read(self.inner.wake.as_fd(), &mut counter);
        self.inner.stopped.store(false, Ordering::SeqCst);
    }

    pub(crate) fn wake_fd(&self) -> BorrowedFd<'_> {
        self.inner.wake.as_fd()
    }
}
