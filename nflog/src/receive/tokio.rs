//! Receiving on the tokio runtime (feature `tokio`): [`AsyncListener`] and its
//! [`PacketStream`].
//!
//! The async listener is the ordinary [`Listener`] with its descriptor registered in tokio's
//! reactor ([`AsyncFd`]): the same socket, buffer, parser and [`Stats`]. Waiting is the
//! only thing that changes; a datagram is still read by a synchronous, non-blocking
//! `recv` that either takes a whole datagram or nothing.
//!
//! # Two ways to consume
//!
//! - [`AsyncListener::recv`]: the next datagram's [`Batch`], packets borrowed from the
//!   receive buffer, no allocation: the fast path.
//! - [`AsyncListener::into_stream`]: a [`PacketStream`] of [`OwnedPacket`]s, which
//!   implements [`futures_core::Stream`] for the combinators of `futures` or
//!   `tokio-stream`, and has [`PacketStream::next_packet`] for a plain loop. Each packet is
//!   copied out of the buffer (one allocation per packet).
//!
//! # Cancellation
//!
//! Both are cancel-safe: dropping the future of [`AsyncListener::recv`] or of a stream's next
//! item (a lost `tokio::select!` branch, a timeout) loses no packet. Nothing is consumed
//! while the future waits; the datagram is taken from the socket only by the synchronous
//! receive inside the poll that then returns it, with no await point in between. The stream
//! keeps the rest of a datagram's packets in itself, not in the future, so they come with
//! the next item. To stop, drop the future (or the stream); [`AsyncListener::into_inner`]
//! and [`PacketStream::into_inner`] give the listener back, which goes on receiving.
//!
//! # Other runtimes
//!
//! Nothing here is special to tokio but the registration: the core is runtime-agnostic.
//! Any reactor works with the listener's descriptor ([`AsFd`]) and
//! [`Listener::try_recv`], which never blocks. With mio, for example:
//!
//! ```text
//! let mut listener = Listener::bind(5)?;
//! let fd = listener.as_raw_fd();
//! poll.registry().register(&mut SourceFd(&fd), Token(0), Interest::READABLE)?;
//! loop {
//!     // Drain first: datagrams kept during a configuration request (and any that came
//!     // before registering) do not make the descriptor readable again.
//!     while let Some(batch) = listener.try_recv()? {
//!         for packet in batch { /* ... */ }
//!     }
//!     poll.poll(&mut events, None)?; // edge-triggered: wait only once drained
//! }
//! ```
// Registering a descriptor with tokio is `unsafe` (it must stay open and the same for as
// long as it is registered); see `AsyncListener::new` for why that holds.
#![allow(unsafe_code)]

use std::collections::VecDeque;
use std::future::poll_fn;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

use crate::config::GroupConfig;
use crate::error::Error;
use crate::receive::batch::Batch;
use crate::receive::listener::Listener;
use crate::receive::owned::OwnedPacket;
use crate::receive::stats::Stats;

/// A [`Listener`] whose waiting is done by the tokio reactor.
///
/// ```no_run
/// # async fn example() -> Result<(), nflog::Error> {
/// let mut listener = nflog::AsyncListener::new(nflog::Listener::bind(5)?)?;
/// loop {
///     let batch = listener.recv().await?;
///     for packet in batch {
///         let packet = packet?;
///         println!("group {} mark {:?}", packet.group(), packet.mark());
///     }
/// }
/// # }
/// ```
///
/// Needs a runtime with I/O enabled (`enable_io` or `enable_all`); it works on the
/// current-thread runtime and the multi-threaded one alike.
#[derive(Debug)]
pub struct AsyncListener {
    fd: AsyncFd<Listener>,
}

impl AsyncListener {
    /// Puts the listener's socket in non-blocking mode and registers it with the current
    /// tokio runtime's reactor.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the mode cannot be set or the reactor refuses the descriptor; the
    /// listener is then dropped, which unbinds its groups.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or in one built without I/O (as tokio's `AsyncFd` does).
    pub fn new(listener: Listener) -> Result<AsyncListener, Error> {
        // Every receive of the listener passes MSG_DONTWAIT already; O_NONBLOCK is what
        // tokio asks of a registered descriptor, and harmless to the listener's other uses.
        listener.socket().set_nonblocking(true)?;
        // SAFETY: the descriptor is the listener's socket, an `OwnedFd` that stays open as
        // long as the listener lives, and the listener never replaces its socket, so every
        // `as_raw_fd` returns the same open descriptor. The `AsyncFd` owns the listener, and
        // this type hands out no `&mut Listener` that could swap it for another; it leaves
        // only through `into_inner`, which deregisters first.
        let fd = unsafe { AsyncFd::register_with_interest(listener, Interest::READABLE) }
            .map_err(|e| Error::io("registering with the tokio reactor", e.into_parts().1))?;
        Ok(AsyncListener { fd })
    }

    /// Waits for the next datagram and returns its packets, borrowed from the receive
    /// buffer.
    ///
    /// Cancel-safe: a datagram is received only in the poll that returns it, so dropping
    /// this future loses nothing. The listener's [`StopHandle`](crate::StopHandle) does not
    /// end it; drop the future instead (`tokio::select!`, a timeout).
    ///
    /// # Errors
    ///
    /// As [`Listener::try_recv`], and [`Error::Io`] when the reactor has shut down.
    pub async fn recv(&mut self) -> Result<Batch<'_>, Error> {
        let full_len = poll_fn(|cx| self.poll_datagram(cx)).await?;
        Ok(self.fd.get_mut().batch(full_len))
    }

    /// Polls for the next datagram: [`recv`](Self::recv) for a hand-written `Future` or
    /// `Stream`. On `Pending`, the task is woken when the socket becomes readable.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Result<Batch<'_>, Error>> {
        let full_len = ready!(self.poll_datagram(cx))?;
        Poll::Ready(Ok(self.fd.get_mut().batch(full_len)))
    }

    /// Receives one datagram into the listener's buffer when there is one, else registers
    /// the waker; returns the datagram's full length. The buffer is read with
    /// `Listener::batch` afterwards, so no borrow crosses the loop.
    fn poll_datagram(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, Error>> {
        loop {
            // Datagrams kept aside while a configuration request awaited its
            // acknowledgement are in the socket's memory, not its queue: they never make
            // the descriptor readable, so take them without waiting.
            if self.fd.get_ref().socket().has_pending() {
                if let Some(full_len) = self.fd.get_mut().receive_datagram()? {
                    return Poll::Ready(Ok(full_len));
                }
            }
            let mut guard = ready!(self.fd.poll_read_ready_mut(cx))
                .map_err(|e| Error::io("waiting for nfnetlink_log", e))?;
            match guard.get_inner_mut().receive_datagram()? {
                Some(full_len) => return Poll::Ready(Ok(full_len)),
                // Drained (or woken for an overrun only, now counted): wait for the next
                // edge. tokio clears only if no new event came since the guard was made.
                None => guard.clear_ready(),
            }
        }
    }

    /// Turns the listener into a stream of owned packets.
    pub fn into_stream(self) -> PacketStream {
        PacketStream {
            listener: self,
            buffered: VecDeque::new(),
            ended: false,
        }
    }

    /// What was received and lost so far.
    pub fn stats(&self) -> Stats {
        self.fd.get_ref().stats()
    }

    /// The listener, for its groups, socket, statistics and sequence gaps.
    pub fn get_ref(&self) -> &Listener {
        self.fd.get_ref()
    }

    /// Binds one more group, as [`Listener::add_group`]. The thread blocks until the
    /// kernel acknowledges, which it does at once (at most 5 s).
    ///
    /// Packets that arrive meanwhile are kept and come with the next receive.
    ///
    /// # Errors
    ///
    /// As [`Listener::add_group`].
    pub fn add_group(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        self.fd.get_mut().add_group(group, config)
    }

    /// Unbinds a group, as [`Listener::remove_group`] (blocking as
    /// [`add_group`](Self::add_group) does).
    ///
    /// # Errors
    ///
    /// As [`Listener::remove_group`].
    pub fn remove_group(&mut self, group: u16) -> Result<(), Error> {
        self.fd.get_mut().remove_group(group)
    }

    /// Changes the settings of a bound group, as [`Listener::configure`] (blocking as
    /// [`add_group`](Self::add_group) does).
    ///
    /// # Errors
    ///
    /// As [`Listener::configure`].
    pub fn configure(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        self.fd.get_mut().configure(group, config)
    }

    /// Deregisters from the reactor and gives the listener back, groups still bound. Its
    /// socket stays in non-blocking mode, with which every `Listener` method works.
    pub fn into_inner(self) -> Listener {
        self.fd.into_inner()
    }
}

impl AsFd for AsyncListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.get_ref().as_fd()
    }
}

/// The packets of an [`AsyncListener`], one at a time, owned.
///
/// Implements [`futures_core::Stream`] with `Item = Result<OwnedPacket, Error>`. The
/// packets of one datagram are received together and kept here until they are taken; see
/// [`buffered`](Self::buffered).
///
/// A message that does not parse, or an error message from the kernel, is an `Err` item and
/// the stream goes on. A receive error is the last item: the stream then ends (`None`), since
/// the socket is unlikely to recover; [`into_inner`](Self::into_inner) gives it back to look.
///
/// ```no_run
/// # async fn example() -> Result<(), nflog::Error> {
/// let listener = nflog::AsyncListener::new(nflog::Listener::bind(5)?)?;
/// let mut packets = listener.into_stream();
/// while let Some(packet) = packets.next_packet().await {
///     let packet = packet?;
///     println!("{:?}", packet.view().prefix());
/// }
/// # Ok(()) }
/// ```
pub struct PacketStream {
    listener: AsyncListener,
    buffered: VecDeque<Result<OwnedPacket, Error>>,
    ended: bool,
}

impl PacketStream {
    /// The next packet, or `None` once a receive error has ended the stream.
    ///
    /// Cancel-safe: the packets already received wait in the stream, not in the future.
    pub async fn next_packet(&mut self) -> Option<Result<OwnedPacket, Error>> {
        poll_fn(|cx| self.poll_packet(cx)).await
    }

    fn poll_packet(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<OwnedPacket, Error>>> {
        loop {
            if let Some(item) = self.buffered.pop_front() {
                return Poll::Ready(Some(item));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match ready!(self.listener.poll_recv(cx)) {
                Ok(batch) => {
                    // An empty datagram (a stray acknowledgement, say) adds nothing: loop
                    // and wait for the next one.
                    self.buffered
                        .extend(batch.map(|item| item.map(OwnedPacket::from)));
                }
                Err(e) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }

    /// How many items wait in the stream, received but not yet taken.
    pub fn buffered(&self) -> usize {
        self.buffered.len()
    }

    /// What was received and lost so far. Packets count when received, buffered or not.
    pub fn stats(&self) -> Stats {
        self.listener.stats()
    }

    /// The listener, for its groups, socket and statistics.
    pub fn get_ref(&self) -> &Listener {
        self.listener.get_ref()
    }

    /// Gives the async listener back, and the items still [`buffered`](Self::buffered):
    /// nothing received is lost.
    pub fn into_parts(self) -> (AsyncListener, Vec<Result<OwnedPacket, Error>>) {
        (self.listener, self.buffered.into())
    }

    /// Gives the async listener back, dropping the items still [`buffered`](Self::buffered)
    /// (none when every item was taken; [`into_parts`](Self::into_parts) keeps them).
    pub fn into_inner(self) -> AsyncListener {
        self.listener
    }
}

impl core::fmt::Debug for PacketStream {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PacketStream")
            .field("listener", &self.listener)
            .field("buffered", &self.buffered.len())
            .field("ended", &self.ended)
            .finish()
    }
}

impl futures_core::Stream for PacketStream {
    type Item = Result<OwnedPacket, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        // Every field is `Unpin`, so the stream is too.
        self.get_mut().poll_packet(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            self.buffered.len(),
            if self.ended {
                Some(self.buffered.len())
            } else {
                None
            },
        )
    }
}

impl futures_core::FusedStream for PacketStream {
    fn is_terminated(&self) -> bool {
        self.ended && self.buffered.is_empty()
    }
}
