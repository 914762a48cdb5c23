//! A handle that ends a blocked receive from another thread or a signal handler.
//!
//! The flag is the truth; a wake-up only makes a blocked receive return so that the
//! listener looks at the flag again. The listener blocks in `recv(2)` itself (one system
//! call a datagram, as libnetfilter_log's own loop), so nothing but a datagram can wake it:
//! [`StopHandle::stop`] sends the kernel, on the listener's own socket, an empty
//! `NLMSG_NOOP` request that asks for an acknowledgement, and the kernel's answer is that
//! datagram ([`is_wake_up`] tells it apart; it is neither counted nor parsed). The socket is
//! connected to the kernel, so no other process can send one.
//!
//! Two orders make this race-free, every access sequentially consistent:
//! - a stop is never lost: the listener marks itself blocked ([`StopHandle::begin_wait`])
//!   and then reads the flag; `stop` stores the flag and then reads the mark. Either the
//!   listener sees the flag and does not block, or `stop` sees the mark and wakes it.
//! - `stop` never sends on a descriptor that was closed (and perhaps reused): it counts
//!   itself in `sending` before it reads the descriptor, and the listener's [`StopLink`],
//!   dropped before its socket, clears the descriptor and then waits until `sending` is
//!   zero. A `stop` after that reads no descriptor and sends nothing.
//!
//! A stale wake-up (a stop that raced the end of a receive, or one before a
//! [`reset`](StopHandle::reset)) is an acknowledgement left in the socket: the next receive
//! drops it and goes on.

use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::socket::send_wake_up;
use crate::wire::kind::{NLMSG_ERROR, NLMSG_NOOP, NLM_F_ACK, NLM_F_REQUEST};
use crate::wire::netlink::{Messages, NLMSG_HDRLEN};

/// The sequence number of a wake-up request. The socket's own requests never use it: they
/// skip 0 when their counter wraps (`Socket::request`), which this assertion keeps true.
pub(crate) const WAKE_UP_SEQUENCE: u32 = 0;
const _: () = assert!(WAKE_UP_SEQUENCE == 0, "Socket::request skips 0 only");

/// Stops a [`Listener`](crate::Listener)'s [`run`](crate::Listener::run) and
/// [`recv`](crate::Listener::recv), even while they wait for the kernel.
///
/// Cheap to clone, `Send` and `Sync`. [`stop`](Self::stop) only stores a flag and, when the
/// listener is blocked in a receive, sends one 16-byte request on its socket, whose
/// acknowledgement wakes it: it allocates nothing and takes no lock, so it is
/// async-signal-safe: call it from a Ctrl-C handler. The stop lasts: every later `run` or
/// `recv` returns at once until [`reset`](Self::reset). `stop` and `reset` may race from
/// any threads: the last one to take effect wins.
#[derive(Debug, Clone)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stopped: AtomicBool,
    /// Whether the listener is in, or about to enter, a receive that blocks.
    waiting: AtomicBool,
    /// The listener's socket while the listener lives, else -1.
    socket: AtomicI32,
    /// `stop` calls between reading `socket` and their send's return.
    sending: AtomicUsize,
}

impl StopHandle {
    pub(crate) fn new() -> StopHandle {
        StopHandle {
            inner: Arc::new(Inner {
                stopped: AtomicBool::new(false),
                waiting: AtomicBool::new(false),
                socket: AtomicI32::new(-1),
                sending: AtomicUsize::new(0),
            }),
        }
    }

    /// Asks the listener to stop; its `run` or `recv` returns after the batch in hand.
    pub fn stop(&self) {
        let inner = &self.inner;
        // The flag first: a listener woken by the acknowledgement must find it set.
        inner.stopped.store(true, Ordering::SeqCst);
        inner.sending.fetch_add(1, Ordering::SeqCst);
        if inner.waiting.load(Ordering::SeqCst) {
            let socket = inner.socket.load(Ordering::SeqCst);
            if socket >= 0 {
                // Nothing to do on failure: a full receive queue (the only likely cause)
                // means the listener is not blocked; it finds the flag after its batch.
                let _ = send_wake_up(socket);
            }
        }
        inner.sending.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether [`stop`](Self::stop) was called since the last [`reset`](Self::reset).
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// Lets the listener receive again.
    pub fn reset(&self) {
        // A wake-up still in the socket is dropped by the next receive.
        self.inner.stopped.store(false, Ordering::SeqCst);
    }

    /// Ties the handle to the listener's socket, until the returned link is dropped.
    pub(crate) fn link(&self, socket: RawFd) -> StopLink {
        self.inner.socket.store(socket, Ordering::SeqCst);
        StopLink {
            inner: Arc::clone(&self.inner),
        }
    }

    /// Marks the listener as about to block in a receive; returns `false`, and leaves
    /// the mark cleared, when it is stopped and must not block.
    pub(crate) fn begin_wait(&self) -> bool {
        self.inner.waiting.store(true, Ordering::SeqCst);
        if self.inner.stopped.load(Ordering::SeqCst) {
            self.end_wait();
            return false;
        }
        true
    }

    /// Clears the mark of [`begin_wait`](Self::begin_wait).
    pub(crate) fn end_wait(&self) {
        self.inner.waiting.store(false, Ordering::SeqCst);
    }
}

/// The tie between a [`StopHandle`] and the socket it wakes, held by the listener and
/// dropped before its socket is closed: from then on no `stop` sends on the descriptor.
#[derive(Debug)]
pub(crate) struct StopLink {
    inner: Arc<Inner>,
}

impl Drop for StopLink {
    fn drop(&mut self) {
        self.inner.socket.store(-1, Ordering::SeqCst);
        // A `stop` that read the descriptor before it was cleared is in one non-blocking
        // send: wait for it, so that the descriptor is not closed (and reused) under it.
        while self.inner.sending.load(Ordering::SeqCst) != 0 {
            std::thread::yield_now();
        }
    }
}

/// The request [`StopHandle::stop`] sends: an empty `NLMSG_NOOP` that asks for an
/// acknowledgement, which the kernel gives for every control message that asks
/// (af_netlink.c: `netlink_rcv_skb`).
pub(crate) const WAKE_UP: [u8; NLMSG_HDRLEN] = wake_up_request();

const fn wake_up_request() -> [u8; NLMSG_HDRLEN] {
    let mut out = [0u8; NLMSG_HDRLEN];
    let len = (NLMSG_HDRLEN as u32).to_ne_bytes();
    let kind = NLMSG_NOOP.to_ne_bytes();
    let flags = (NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes();
    let sequence = WAKE_UP_SEQUENCE.to_ne_bytes();
    let mut i = 0;
    while i < 4 {
        out[i] = len[i];
        out[8 + i] = sequence[i];
        i += 1;
    }
    out[4] = kind[0];
    out[5] = kind[1];
    out[6] = flags[0];
    out[7] = flags[1];
    out
}

/// Whether `datagram` is the kernel's answer to a wake-up: one `NLMSG_ERROR` message that
/// echoes the [`WAKE_UP`] request's header.
// Perf: the length first, then two loads: every datagram the listener receives asks this.
#[inline]
pub(crate) fn is_wake_up(datagram: &[u8]) -> bool {
    // An acknowledgement: a header, the error code, the request's header (and nothing
    // else for a request without a body).
    const ACK_LEN: usize = NLMSG_HDRLEN + 4 + NLMSG_HDRLEN;
    if datagram.len() != ACK_LEN {
        return false;
    }
    let Some(Ok(message)) = Messages::new(datagram).next() else {
        return false;
    };
    message.message_type() == NLMSG_ERROR && message.body().get(4..) == Some(&WAKE_UP[..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixDatagram;
    use std::sync::Barrier;

    /// A linked handle whose "socket" is one end of a datagram socket pair, and the other
    /// end, non-blocking, to see what `stop` sent.
    fn linked() -> (StopHandle, StopLink, UnixDatagram, UnixDatagram) {
        let (ours, peer) = UnixDatagram::pair().unwrap();
        peer.set_nonblocking(true).unwrap();
        let handle = StopHandle::new();
        let link = handle.link(ours.as_raw_fd());
        (handle, link, ours, peer)
    }

    fn received(peer: &UnixDatagram) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(n) = peer.recv(&mut buf) {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[test]
    fn stop_sends_one_wake_up_only_while_the_listener_waits() {
        let (handle, _link, _ours, peer) = linked();
        handle.stop();
        assert!(received(&peer).is_empty(), "no receive was blocked");
        handle.reset();
        assert!(handle.begin_wait());
        handle.stop();
        assert_eq!(received(&peer), vec![WAKE_UP.to_vec()]);
        handle.end_wait();
    }

    #[test]
    fn a_stopped_listener_does_not_block() {
        let handle = StopHandle::new();
        handle.stop();
        assert!(!handle.begin_wait());
        assert!(!handle.inner.waiting.load(Ordering::SeqCst));
        handle.reset();
        assert!(handle.begin_wait());
    }

    #[test]
    fn stop_sends_nothing_once_the_listener_is_gone() {
        let (handle, link, ours, peer) = linked();
        assert!(handle.begin_wait());
        drop(link);
        handle.stop();
        assert!(received(&peer).is_empty());
        drop(ours);
    }

    #[test]
    fn stop_racing_the_start_of_a_wait_never_leaves_a_stopped_listener_asleep() {
        let (handle, _link, _ours, peer) = linked();
        let barrier = Arc::new(Barrier::new(2));
        for round in 0..20_000 {
            let stopper = {
                let (handle, barrier) = (handle.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    handle.stop();
                })
            };
            barrier.wait();
            let blocks = handle.begin_wait();
            stopper.join().unwrap();
            let woken = !received(&peer).is_empty();
            // A listener that went on to block must have been sent a wake-up.
            assert!(!blocks || woken, "round {round}: blocked and never woken");
            handle.end_wait();
            handle.reset();
        }
    }

    #[test]
    fn dropping_the_link_waits_for_a_stop_in_its_send() {
        let (handle, link, _ours, peer) = linked();
        assert!(handle.begin_wait());
        // A stop that counted itself in before the link was dropped.
        handle.inner.sending.fetch_add(1, Ordering::SeqCst);
        let dropper = std::thread::spawn(move || drop(link));
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!dropper.is_finished(), "the link was dropped under a send");
        handle.inner.sending.fetch_sub(1, Ordering::SeqCst);
        dropper.join().unwrap();
        handle.stop();
        assert!(received(&peer).is_empty());
    }

    #[test]
    fn the_wake_up_is_an_empty_noop_request_that_asks_for_an_acknowledgement() {
        let message = Messages::new(&WAKE_UP).next().unwrap().unwrap();
        assert_eq!(message.message_type(), NLMSG_NOOP);
        assert_eq!(message.sequence(), WAKE_UP_SEQUENCE);
        assert!(message.body().is_empty());
        assert_eq!(
            u16::from_ne_bytes([WAKE_UP[6], WAKE_UP[7]]),
            NLM_F_REQUEST | NLM_F_ACK
        );
    }

    #[test]
    fn only_the_acknowledgement_of_a_wake_up_is_one() {
        let ack = |request: &[u8]| {
            let mut body = 0i32.to_ne_bytes().to_vec();
            body.extend_from_slice(request);
            let mut out = Vec::new();
            crate::wire::netlink::emit_message(&mut out, NLMSG_ERROR, 0, 0, &body);
            out
        };
        assert!(is_wake_up(&ack(&WAKE_UP)));
        let mut other = WAKE_UP;
        other[8] = 7; // another sequence number: a request of the socket's own
        assert!(!is_wake_up(&ack(&other)));
        let mut packet = ack(&WAKE_UP);
        packet[4] = 0; // type 0x400 would be a packet; any other type is not an ack
        packet[5] = 4;
        assert!(!is_wake_up(&packet));
        assert!(!is_wake_up(&ack(&WAKE_UP)[..20]));
        assert!(!is_wake_up(&[]));
    }
}
