//! A handle that ends a blocked receive from another thread or a signal handler.
//!
//! The flag is the truth; the eventfd only wakes a waiter, and a waiter empties it before it
//! looks at the flag again. `stop` stores the flag before it writes the eventfd and `reset`
//! never touches the eventfd, so no interleaving of the two leaves a stop without a wake-up
//! or a wake-up that keeps the waiter spinning: a stale wake-up costs one extra look at the
//! flag. (When `reset` drained the eventfd itself, a `stop` between its drain and its store
//! ended with the flag false and the eventfd readable for good, and a `stop` between its
//! store and its drain lost the wake-up of a waiter already asleep.)

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;
use crate::socket::{eventfd, eventfd_signal, wait_readable};

/// Stops a [`Listener`](crate::Listener)'s [`run`](crate::Listener::run) and
/// [`recv`](crate::Listener::recv), even while they wait for the kernel.
///
/// Cheap to clone, `Send` and `Sync`. [`stop`](Self::stop) only stores a flag and writes to
/// an eventfd, so it is async-signal-safe: call it from a Ctrl-C handler. The stop lasts:
/// every later `run` or `recv` returns at once until [`reset`](Self::reset). `stop` and
/// `reset` may race from any threads: the last one to take effect wins.
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
        // The flag first: a waiter woken by the eventfd must find it set.
        self.inner.stopped.store(true, Ordering::SeqCst);
        eventfd_signal(self.inner.wake.as_fd());
    }

    /// Whether [`stop`](Self::stop) was called since the last [`reset`](Self::reset).
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Lets the listener receive again.
    pub fn reset(&self) {
        // The eventfd is left alone: the waiter empties it (see the module documentation).
        self.inner.stopped.store(false, Ordering::SeqCst);
    }

    /// Waits until `fd` is readable, the handle is stopped, or `timeout` passes; returns
    /// whether `fd` is readable. Empties the eventfd when it woke the wait, so that a stale
    /// wake-up (a stop since reset) does not wake every later wait.
    pub(crate) fn wait(&self, fd: BorrowedFd<'_>, timeout: Option<Duration>) -> io::Result<bool> {
        let [readable, woken] = wait_readable([fd, self.inner.wake.as_fd()], timeout)?;
        if woken {
            let mut counter = [0u8; 8];
            // Non-blocking: EAGAIN when another wait emptied it first.
            let _ = rustix::io::read(self.inner.wake.as_fd(), &mut counter);
        }
        Ok(readable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    /// Whether the eventfd would wake a waiter now.
    fn wakes(handle: &StopHandle) -> bool {
        let [woken] = wait_readable([handle.inner.wake.as_fd()], Some(Duration::ZERO)).unwrap();
        woken
    }

    #[test]
    fn stop_racing_reset_neither_loses_the_stop_nor_leaves_a_spinning_wake() {
        let handle = StopHandle::new().unwrap();
        let idle = crate::socket::eventfd().unwrap();
        let barrier = Arc::new(Barrier::new(2));
        for round in 0..20_000 {
            handle.stop();
            let stopper = {
                let (handle, barrier) = (handle.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    handle.stop();
                })
            };
            barrier.wait();
            handle.reset();
            stopper.join().unwrap();
            if handle.is_stopped() {
                // A waiter already asleep must have been woken.
                assert!(wakes(&handle), "round {round}: stopped, but no wake-up");
            }
            // What `Listener::recv` does: wait, then look at the flag again. Once the
            // stale wake-up is consumed, a listener that is not stopped must sleep.
            handle.wait(idle.as_fd(), Some(Duration::ZERO)).unwrap();
            if !handle.is_stopped() {
                assert!(
                    !wakes(&handle),
                    "round {round}: not stopped, yet woken forever"
                );
            }
            handle.reset();
            handle.wait(idle.as_fd(), Some(Duration::ZERO)).unwrap();
        }
    }

    #[test]
    fn stop_lasts_until_reset() {
        let handle = StopHandle::new().unwrap();
        assert!(!handle.is_stopped());
        handle.stop();
        assert!(handle.is_stopped() && wakes(&handle));
        handle.reset();
        assert!(!handle.is_stopped());
    }
}
