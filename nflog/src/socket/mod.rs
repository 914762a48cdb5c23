//! The nfnetlink_log socket: binding groups, configuring them, and raw receive.
//!
//! [`Socket`] owns its file descriptor and is never `Clone`. Every configuration request
//! waits for the kernel's acknowledgement and turns a refusal into an [`Error`] that says
//! what to do. Datagrams of packets that arrive while a request waits for its
//! acknowledgement are kept, up to [`MAX_PENDING`] bytes, and handed out by the next
//! [`Socket::recv`]; what does not fit is dropped and counted
//! ([`Socket::pending_dropped`]).
//!
//! A request waits 5 seconds in all, however much else arrives meanwhile. When the
//! receive buffer overflows (ENOBUFS) the kernel may have dropped the acknowledgement
//! itself, after applying the request: once the queue is read empty without it, or every
//! few milliseconds while a flood keeps it full, the request is sent again, and an answer that says it was applied already (EBUSY to a bind,
//! ENODEV to an unbind) counts as success. Answers to requests given up on are discarded
//! when they arrive.
//!
//! Most users want [`Listener`](crate::Listener), which adds the receive buffer, the loop,
//! statistics and the stop handle on top of this.

pub mod names;
pub mod netns;
pub mod owner;
pub(crate) mod sys;

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::config::GroupConfig;
use crate::error::{Error, Request};
use crate::namespace::Netns;
use crate::wire::config::ConfigMessage;
use crate::wire::family::Family;
use crate::wire::kind::{cfg, MSG_PACKET, NLMSG_ERROR};
use crate::wire::netlink::Messages;
use netns::NamespaceFd;

pub(crate) use sys::{send_wake_up, wait_readable};

/// The largest datagram the kernel can send on this socket: a batch of at most
/// `nlbufsiz` = 128 KiB lives in an allocation the kernel rounds up to 256 KiB, and one
/// message can hold a 65531-byte payload plus metadata and conntrack.
pub const MAX_DATAGRAM: usize = 256 * 1024;

/// How long a configuration request waits for the kernel's acknowledgement, in all.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// How many bytes of datagrams a request keeps aside while it waits for its
/// acknowledgement; more are dropped and counted ([`Socket::pending_dropped`]). As much as
/// the largest receive buffer a listener grows to: what the kernel would have held, had the
/// request not read it out.
pub const MAX_PENDING: usize = 64 * 1024 * 1024;
/// How often, at most, a request whose acknowledgement an overrun may have dropped is sent
/// again.
const RESENDS: usize = 64;
/// How long after an overrun a request is sent again when the queue never empties (a flood
/// that outruns the reader).
const RESEND_AFTER: Duration = Duration::from_millis(20);
/// How many sequence numbers of requests given up on are remembered, to discard their late
/// answers: every resend of one request, and then some.
const STALE_ANSWERS: usize = 2 * RESENDS;
/// How often a request answered with EAGAIN (conntrack support just loaded) is retried.
const EAGAIN_RETRIES: u32 = 10;

/// A `NETLINK_NETFILTER` socket for nfnetlink_log.
pub struct Socket {
    fd: OwnedFd,
    port_id: u32,
    sequence: u32,
    pending: VecDeque<Vec<u8>>,
    pending_bytes: usize,
    pending_overruns: u64,
    pending_dropped: u64,
    /// [`MAX_PENDING`], smaller in tests.
    max_pending: usize,
    /// Sequence numbers of requests whose answers are no longer awaited.
    stale: VecDeque<u32>,
    ack_timeout: Duration,
    scratch: Vec<u8>,
    /// The network namespace the socket was opened in, when not the caller's: `/proc`
    /// lookups about the socket are made there.
    netns: Option<NamespaceFd>,
}

impl Socket {
    /// Opens a socket, bound to a port id the kernel picks and connected to the kernel, so
    /// that no other process can send it messages. Needs no privilege.
    ///
    /// # Errors
    ///
    /// [`Error::Unsupported`] when the kernel has no netlink or nfnetlink;
    /// [`Error::Io`] for other failures.
    pub fn open() -> Result<Socket, Error> {
        let fd = sys::open_netfilter_socket().map_err(|e| match e.raw_os_error() {
            Some(errno @ (libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)) => Error::Unsupported {
                request: Request::Open,
                what: "netlink or nfnetlink (CONFIG_NETFILTER_NETLINK)",
                errno,
            },
            _ => Error::io("opening the nfnetlink socket", e),
        })?;
        let port_id = sys::bind_and_connect_to_kernel(fd.as_fd())
            .map_err(|e| Error::io("binding the nfnetlink socket", e))?;
        Ok(Socket {
            fd,
            port_id,
            sequence: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
            pending_overruns: 0,
            pending_dropped: 0,
            max_pending: MAX_PENDING,
            stale: VecDeque::new(),
            ack_timeout: ACK_TIMEOUT,
            scratch: Vec::new(),
            netns: None,
        })
    }

    /// Opens a socket, as [`open`](Self::open) does, in the network namespace `netns`; the
    /// calling thread stays in its own.
    ///
    /// A helper thread enters the namespace (`setns`), opens the socket and ends. The socket
    /// belongs to that namespace for life: its groups, the packets it receives and the
    /// interface names resolved through it are that namespace's. Needs CAP_SYS_ADMIN to
    /// enter the namespace, and CAP_NET_ADMIN there to bind groups.
    ///
    /// # Errors
    ///
    /// [`Error::Namespace`] when the namespace does not exist, is not a network namespace,
    /// or cannot be entered (EPERM: needs CAP_SYS_ADMIN); otherwise as [`open`](Self::open).
    pub fn open_in(netns: &Netns) -> Result<Socket, Error> {
        let namespace = NamespaceFd::open(netns)?;
        let mut socket = namespace.run(Socket::open)??;
        socket.netns = Some(namespace);
        Ok(socket)
    }

    /// The socket's netlink port id, as `/proc/net/netfilter/nfnetlink_log` shows it.
    pub fn port_id(&self) -> u32 {
        self.port_id
    }

    /// Binds `group` to this socket and applies `config`.
    ///
    /// When the settings are refused, or the kernel does not answer, the group is unbound
    /// again, so a failed call leaves nothing behind as far as the kernel lets it be known
    /// ([`is_bound`](Self::is_bound) asks).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] before anything is sent; [`Error::PermissionDenied`] without
    /// CAP_NET_ADMIN; [`Error::GroupOwned`] when another socket has the group (with its
    /// owner); [`Error::AlreadyBound`] when this socket has it; others from the kernel.
    pub fn bind_group(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        config.validate()?;
        // One request binds and configures: nfulnl_recv_config checks the flags first,
        // creates the group, then applies the other attributes of the same message. Two
        // requests leave a window of a round trip to user space in which packets are
        // logged with the kernel's defaults (the whole packet, no conntrack entry). One
        // request narrows it to the kernel's few instructions between instance_create,
        // which publishes the group to the logging path, and nfulnl_set_mode: a packet
        // logged in between still gets the defaults (seen on 6.1 under emulation), and
        // nothing user space can send closes that.
        let bound = self.send_config(
            Request::Bind,
            config,
            &ConfigMessage {
                command: Some(cfg::CMD_BIND),
                ..config_message(group, config)
            },
        );
        if let Err(e) = bound {
            if is_timeout(&e) {
                // No answer: the kernel may have bound the group all the same.
                let _ = self.unbind_group(group);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Applies `config` to a group this socket has bound.
    ///
    /// A kernel that has just loaded its conntrack support answers the CONNTRACK flag with
    /// EAGAIN once; the request is retried.
    ///
    /// # Errors
    ///
    /// As [`bind_group`](Self::bind_group), and [`Error::NotBound`] for a group not bound;
    /// [`Error::Unsupported`] for CONNTRACK on a kernel without conntrack support.
    pub fn configure_group(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        config.validate()?;
        self.send_config(Request::Configure, config, &config_message(group, config))
    }

    /// Sends a configuration request, retrying the EAGAIN of a kernel that has just loaded
    /// its conntrack support (it answers so before it binds or changes anything), and
    /// naming the flag the kernel cannot honour.
    fn send_config(
        &mut self,
        request: Request,
        config: &GroupConfig,
        message: &ConfigMessage,
    ) -> Result<(), Error> {
        let mut tries = 0;
        loop {
            match self.request(request, Some(message.group), message) {
                Err(Error::Kernel {
                    errno: libc::EAGAIN,
                    ..
                }) if tries < EAGAIN_RETRIES => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(Error::Unsupported { request, errno, .. }) if !config.flags.is_empty() => {
                    return Err(Error::Unsupported {
                        request,
                        what: "conntrack support for NFLOG (CONFIG_NETFILTER_NETLINK_GLUE_CT); \
                               use a kernel built with it, or leave out Flags::CONNTRACK",
                        errno,
                    })
                }
                other => return other,
            }
        }
    }

    /// Unbinds `group` from this socket. Closing the socket unbinds every group too.
    ///
    /// # Errors
    ///
    /// [`Error::NotBound`] when the group is not bound; [`Error::GroupOwned`] when another
    /// socket has it.
    pub fn unbind_group(&mut self, group: u16) -> Result<(), Error> {
        self.request(
            Request::Unbind,
            Some(group),
            &ConfigMessage {
                group,
                command: Some(cfg::CMD_UNBIND),
                ..ConfigMessage::default()
            },
        )
    }

    /// Sends `NFULNL_CFG_CMD_PF_BIND` for `family`: needed only before Linux 3.8.
    ///
    /// This changes the whole network namespace's default logger for the family and
    /// outlives the socket. Nothing in this crate sends it unless asked.
    ///
    /// # Errors
    ///
    /// As any request: [`Error::PermissionDenied`] without CAP_NET_ADMIN, and others.
    pub fn pf_bind(&mut self, family: Family) -> Result<(), Error> {
        self.pf_command(Request::PfBind, cfg::CMD_PF_BIND, family)
    }

    /// Sends `NFULNL_CFG_CMD_PF_UNBIND` for `family`: needed only before Linux 3.8.
    ///
    /// Beware: on current kernels this unregisters the namespace's default logger for the
    /// family, which silently stops the kernel's own logging (the LOG target) there.
    ///
    /// # Errors
    ///
    /// As any request: [`Error::PermissionDenied`] without CAP_NET_ADMIN, and others.
    pub fn pf_unbind(&mut self, family: Family) -> Result<(), Error> {
        self.pf_command(Request::PfUnbind, cfg::CMD_PF_UNBIND, family)
    }

    fn pf_command(&mut self, request: Request, command: u8, family: Family) -> Result<(), Error> {
        self.request(
            request,
            None,
            &ConfigMessage {
                family: family.number(),
                command: Some(command),
                ..ConfigMessage::default()
            },
        )
    }

    /// Asks for a receive buffer of `bytes`, beyond `net.core.rmem_max` when the process
    /// has CAP_NET_ADMIN (`SO_RCVBUFFORCE`), else up to it (`SO_RCVBUF`).
    ///
    /// Returns the size granted, which the kernel doubles for its bookkeeping.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when neither option can be set.
    pub fn set_receive_buffer(&self, bytes: usize) -> Result<usize, Error> {
        sys::set_receive_buffer(self.fd.as_fd(), bytes)
            .map_err(|e| Error::io("setting the receive buffer (SO_RCVBUF)", e))
    }

    /// Grows the receive buffer to `bytes` (the kernel doubles it) if that makes it larger;
    /// never makes it smaller. Returns the size it has then, unchanged when growth was refused:
    /// without CAP_NET_ADMIN (`SO_RCVBUFFORCE`) it cannot pass twice `net.core.rmem_max`.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the options cannot be read or set.
    pub fn grow_receive_buffer(&self, bytes: usize) -> Result<usize, Error> {
        sys::grow_receive_buffer(self.fd.as_fd(), bytes)
            .map_err(|e| Error::io("growing the receive buffer (SO_RCVBUF)", e))
    }

    /// The receive buffer's size, as `SO_RCVBUF` reports it.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the option cannot be read.
    pub fn receive_buffer(&self) -> Result<usize, Error> {
        sys::receive_buffer(self.fd.as_fd())
            .map_err(|e| Error::io("reading the receive buffer size (SO_RCVBUF)", e))
    }

    /// Turns `NETLINK_NO_ENOBUFS` on or off.
    ///
    /// When on, the kernel no longer reports a full receive buffer with ENOBUFS: loss then
    /// shows only as gaps in the sequence numbers (flag `SEQ`).
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the option cannot be set.
    pub fn set_no_enobufs(&self, on: bool) -> Result<(), Error> {
        sys::set_no_enobufs(self.fd.as_fd(), on)
            .map_err(|e| Error::io("setting NETLINK_NO_ENOBUFS", e))
    }

    /// Puts the socket in non-blocking mode, for use with epoll, mio or an async runtime.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the mode cannot be changed.
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<(), Error> {
        sys::set_nonblocking(self.fd.as_fd(), nonblocking)
            .map_err(|e| Error::io("setting O_NONBLOCK", e))
    }

    /// Receives one datagram into `buf` and returns its full length, which is larger than
    /// `buf` when the datagram was cut. Without `wait`, returns `WouldBlock` at once when
    /// nothing is there.
    ///
    /// Datagrams kept while a request waited for its acknowledgement come first.
    ///
    /// # Errors
    ///
    /// The system call's error; `ENOBUFS` means the kernel dropped messages because the
    /// receive buffer was full. The socket stays usable.
    pub fn recv(&mut self, buf: &mut [u8], wait: bool) -> io::Result<usize> {
        if let Some(datagram) = self.pending.pop_front() {
            self.pending_bytes -= datagram.len();
            let n = datagram.len().min(buf.len());
            buf[..n].copy_from_slice(&datagram[..n]);
            return Ok(datagram.len());
        }
        if self.pending_overruns > 0 {
            self.pending_overruns -= 1;
            return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
        }
        loop {
            let len = sys::recv(self.fd.as_fd(), buf, wait)?;
            // Late answers to requests given up on are not the caller's business.
            if self.stale.is_empty() || !discard_stale(&mut self.stale, &buf[..len.min(buf.len())])
            {
                return Ok(len);
            }
        }
    }

    /// Packets dropped while a request waited for its acknowledgement, because
    /// [`MAX_PENDING`] bytes of datagrams were kept aside already.
    pub fn pending_dropped(&self) -> u64 {
        self.pending_dropped
    }

    /// Whether the kernel has `group` bound to this socket, as
    /// `/proc/net/netfilter/nfnetlink_log` of its network namespace says; `None` when that
    /// cannot be read.
    pub fn is_bound(&self, group: u16) -> Option<bool> {
        let bindings = self.in_namespace(owner::group_bindings).ok()?.ok()?;
        Some(
            bindings
                .iter()
                .any(|b| b.group == group && b.port_id == self.port_id),
        )
    }

    /// Runs `f` in the socket's network namespace: on a helper thread when the socket was
    /// opened in another one, else on the calling thread.
    pub(crate) fn in_namespace<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, Error> {
        match &self.netns {
            None => Ok(f()),
            Some(namespace) => namespace.run(f),
        }
    }

    /// Whether datagrams kept during a configuration request wait to be received: the file
    /// descriptor may not be readable while they do.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.pending_overruns > 0
    }

    /// Sends one configuration message and waits for its acknowledgement, sending it again
    /// when an overrun may have dropped the acknowledgement (see the module documentation).
    fn request(
        &mut self,
        request: Request,
        group: Option<u16>,
        message: &ConfigMessage,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + self.ack_timeout;
        let mut sent = Vec::new();
        loop {
            // Never 0 after wrapping around: that is the stop handle's wake-up.
            self.sequence = self.sequence.wrapping_add(1).max(1);
            let sequence = self.sequence;
            let mut out = Vec::with_capacity(64);
            message.emit(sequence, &mut out);
            sys::send(self.fd.as_fd(), &out)
                .map_err(|e| Error::io("sending a request to nfnetlink_log", e))?;
            sent.push(sequence);
            let may_resend = sent.len() <= RESENDS;
            let (answered, errno) = match self.wait_for_ack(&sent, deadline, may_resend) {
                Ok(Ack::Answer { sequence, errno }) => (sequence, errno),
                Ok(Ack::MaybeLost) => continue,
                Err(e) => {
                    self.forget(&sent);
                    return Err(e);
                }
            };
            self.forget(sent.iter().filter(|s| **s != answered));
            // A repeated request finds the work of one whose answer was lost done already.
            let applied_before = answered != sent[0]
                && matches!(
                    (request, errno),
                    (Request::Bind, libc::EBUSY) | (Request::Unbind, libc::ENODEV)
                );
            return match errno {
                0 => Ok(()),
                _ if applied_before => Ok(()),
                errno => Err(self.kernel_error(request, group, errno)),
            };
        }
    }

    /// Remembers the requests in `sequences` as given up on, so that their answers are
    /// discarded when they come.
    fn forget<'a>(&mut self, sequences: impl IntoIterator<Item = &'a u32>) {
        for sequence in sequences {
            if self.stale.len() == STALE_ANSWERS {
                self.stale.pop_front();
            }
            self.stale.push_back(*sequence);
        }
    }

    /// Receives until the answer to one of `sent` arrives, `deadline` passes, or (when
    /// `may_resend`) an overrun may have dropped the answer; keeps everything else for
    /// [`recv`](Self::recv), up to [`MAX_PENDING`] bytes.
    fn wait_for_ack(
        &mut self,
        sent: &[u32],
        deadline: Instant,
        may_resend: bool,
    ) -> Result<Ack, Error> {
        if self.scratch.len() < MAX_DATAGRAM {
            self.scratch.resize(MAX_DATAGRAM, 0);
        }
        // Set by ENOBUFS: the answer may have been dropped. The kernel answers a request
        // before `send` returns, so once the queue is read empty without it, it is lost;
        // under a flood the queue may never be empty, so the request goes again anyway
        // after a while, when the reader has made room.
        let mut lost_at: Option<Instant> = None;
        loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Err(timed_out());
            }
            if lost_at.is_some_and(|at| now.duration_since(at) >= RESEND_AFTER) {
                return Ok(Ack::MaybeLost);
            }
            let wait = if lost_at.is_some() {
                Duration::ZERO
            } else {
                left
            };
            let [readable] = sys::wait_readable([self.fd.as_fd()], Some(wait))
                .map_err(|e| Error::io("waiting for the kernel's acknowledgement", e))?;
            if !readable {
                if lost_at.is_some() {
                    return Ok(Ack::MaybeLost);
                }
                continue;
            }
            let len = match sys::recv(self.fd.as_fd(), &mut self.scratch, false) {
                Ok(len) => len,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.pending_overruns += 1;
                    if may_resend {
                        lost_at.get_or_insert(now);
                    }
                    continue;
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(Error::io("receiving the kernel's acknowledgement", e)),
            };
            let len = len.min(self.scratch.len());
            let mut answer = None;
            for message in Messages::new(&self.scratch[..len]).map_while(Result::ok) {
                if sent.contains(&message.sequence()) {
                    if let Ok(Some(errno)) = message.error_code() {
                        answer = Some((message.sequence(), errno));
                    }
                }
            }
            if let Some((sequence, errno)) = answer {
                // An acknowledgement travels alone.
                return Ok(Ack::Answer { sequence, errno });
            }
            if !self.stale.is_empty() && discard_stale(&mut self.stale, &self.scratch[..len]) {
                continue;
            }
            self.keep(len);
        }
    }

    /// Keeps the first `len` bytes of the scratch buffer for [`recv`](Self::recv), or drops
    /// and counts their packets when [`MAX_PENDING`] bytes are kept already.
    fn keep(&mut self, len: usize) {
        let datagram = &self.scratch[..len];
        if self.pending_bytes + len > self.max_pending {
            self.pending_dropped += Messages::new(datagram)
                .map_while(Result::ok)
                .filter(|m| m.message_type() == MSG_PACKET)
                .count() as u64;
            return;
        }
        self.pending_bytes += len;
        self.pending.push_back(datagram.to_vec());
    }

    /// Who owns `group` in the socket's network namespace: `/proc/thread-self/net` is read
    /// on a thread inside it when the socket was opened in another one.
    fn owner_of(&self, group: u16) -> Option<crate::error::GroupOwner> {
        self.in_namespace(|| owner::owner_of(group)).ok().flatten()
    }

    fn kernel_error(&self, request: Request, group: Option<u16>, errno: i32) -> Error {
        match (errno, group) {
            (libc::EPERM, Some(group)) => match self.owner_of(group) {
                Some(owner) if owner.port_id != self.port_id => Error::GroupOwned {
                    group,
                    owner: Some(owner),
                },
                _ => Error::PermissionDenied {
                    request,
                    group: Some(group),
                },
            },
            (libc::EPERM, None) => Error::PermissionDenied { request, group },
            (libc::EBUSY, Some(group)) => Error::AlreadyBound { group },
            (libc::ENODEV, Some(group)) => Error::NotBound { group },
            // ENOTSUPP (524) is the kernel-internal spelling of EOPNOTSUPP.
            (libc::EOPNOTSUPP | 524, _) => Error::Unsupported {
                request,
                what: "this request",
                errno,
            },
            (errno, group) => Error::Kernel {
                request,
                group,
                errno,
            },
        }
    }
}

impl core::fmt::Debug for Socket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Socket")
            .field("fd", &self.fd)
            .field("port_id", &self.port_id)
            .field("pending_datagrams", &self.pending.len())
            .field("pending_overruns", &self.pending_overruns)
            .field("pending_dropped", &self.pending_dropped)
            .field("netns", &self.netns)
            .finish_non_exhaustive()
    }
}

/// What waiting for an acknowledgement came to.
enum Ack {
    /// The answer to the request sent as `sequence`: 0 or an errno.
    Answer { sequence: u32, errno: i32 },
    /// The receive buffer overflowed and the queue was read empty without the answer.
    MaybeLost,
}

/// The error of a request the kernel did not answer in time.
fn timed_out() -> Error {
    Error::io(
        "waiting for the kernel's acknowledgement",
        io::Error::new(io::ErrorKind::TimedOut, "no answer from nfnetlink_log"),
    )
}

/// Whether `datagram` is the answer to a request given up on, one of `stale`; forgets it if
/// so.
fn discard_stale(stale: &mut VecDeque<u32>, datagram: &[u8]) -> bool {
    let mut messages = Messages::new(datagram);
    let (Some(Ok(message)), None) = (messages.next(), messages.next()) else {
        return false;
    };
    if message.message_type() != NLMSG_ERROR {
        return false;
    }
    match stale.iter().position(|s| *s == message.sequence()) {
        Some(index) => {
            stale.remove(index);
            true
        }
        None => false,
    }
}

/// The settings of `config` for `group`, as one configuration message.
fn config_message(group: u16, config: &GroupConfig) -> ConfigMessage {
    ConfigMessage {
        group,
        mode: Some((config.copy_range, config.copy_mode.number())),
        nlbufsiz: Some(config.nlbufsiz),
        timeout: config.timeout_centis(),
        qthresh: Some(config.queue_threshold),
        flags: Some(config.flags.bits()),
        ..ConfigMessage::default()
    }
}

/// Whether `e` says the kernel did not answer.
fn is_timeout(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == io::ErrorKind::TimedOut)
}

impl AsRef<Socket> for Socket {
    fn as_ref(&self) -> &Socket {
        self
    }
}

impl AsFd for Socket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl AsRawFd for Socket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::kind::MSG_CONFIG;
    use crate::wire::netlink::{emit_header, NLMSG_HDRLEN};

    /// A socket whose "kernel" is the other end of a datagram socket pair: it answers
    /// nothing, and the test sends what it likes.
    fn silent_kernel(ack_timeout: Duration) -> (Socket, OwnedFd) {
        use rustix::net::{socketpair, AddressFamily, SocketFlags, SocketType};
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC,
            None,
        )
        .unwrap();
        let mut socket = Socket::open().unwrap();
        socket.fd = ours;
        socket.ack_timeout = ack_timeout;
        (socket, theirs)
    }

    /// A datagram of `count` packet messages of `size` bytes each (only their headers are
    /// looked at while a request waits).
    fn packets(count: usize, size: usize) -> Vec<u8> {
        let mut datagram = Vec::with_capacity(count * size);
        for _ in 0..count {
            emit_header(&mut datagram, size as u32, MSG_PACKET, 0, 0);
            datagram.resize(datagram.len() + size - NLMSG_HDRLEN, 0);
        }
        datagram
    }

    #[test]
    fn a_request_waits_its_timeout_in_all_however_much_else_arrives() {
        // Issue 15 item 2: the wait restarted at every datagram, so steady traffic kept a
        // request without an answer waiting for ever.
        let (mut socket, kernel) = silent_kernel(Duration::from_millis(300));
        let sender = std::thread::spawn(move || {
            let datagram = packets(1, 64);
            let mut sent = 0;
            let start = Instant::now();
            while start.elapsed() < Duration::from_millis(1500) {
                rustix::net::send(&kernel, &datagram, rustix::net::SendFlags::empty()).unwrap();
                sent += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            sent
        });
        let start = Instant::now();
        let e = socket
            .configure_group(5, &GroupConfig::default())
            .unwrap_err();
        let waited = start.elapsed();
        assert!(is_timeout(&e), "{e}");
        assert!(waited < Duration::from_millis(1000), "waited {waited:?}");
        let sent = sender.join().unwrap();
        // What arrived meanwhile is kept and handed out, then the rest follows.
        let mut buf = vec![0; 256];
        let mut received = 0;
        while let Ok(len) = socket.recv(&mut buf, false) {
            assert_eq!(len, 64);
            received += 1;
        }
        assert_eq!(received, sent);
    }

    #[test]
    fn datagrams_kept_while_a_request_waits_are_bounded_and_the_rest_counted() {
        const DATAGRAMS: usize = 48;
        const PER_DATAGRAM: usize = 64;
        let (mut socket, kernel) = silent_kernel(Duration::from_millis(1500));
        socket.max_pending = 4 << 20;
        // 48 datagrams of 128 KiB: 6 MiB, more than the 4 MiB kept here.
        let sender = std::thread::spawn(move || {
            let datagram = packets(PER_DATAGRAM, 2048);
            for _ in 0..DATAGRAMS {
                rustix::net::send(&kernel, &datagram, rustix::net::SendFlags::empty()).unwrap();
            }
            kernel
        });
        let e = socket.unbind_group(5).unwrap_err();
        assert!(is_timeout(&e), "{e}");
        assert!(socket.pending_bytes <= socket.max_pending);
        let dropped = socket.pending_dropped();
        assert!(dropped > 0, "6 MiB do not fit in 4");
        assert_eq!(dropped % PER_DATAGRAM as u64, 0, "whole datagrams");
        let mut buf = vec![0; MAX_DATAGRAM];
        let mut received = 0;
        let mut drain = |socket: &mut Socket| {
            while let Ok(len) = socket.recv(&mut buf, false) {
                assert_eq!(len, PER_DATAGRAM * 2048);
                received += PER_DATAGRAM as u64;
            }
        };
        drain(&mut socket);
        let _kernel = sender.join().unwrap();
        drain(&mut socket);
        assert_eq!(
            received + dropped,
            (DATAGRAMS * PER_DATAGRAM) as u64,
            "every packet received or counted as dropped"
        );
        assert_eq!(socket.pending_bytes, 0);
    }

    #[test]
    fn late_answers_to_requests_given_up_on_are_discarded() {
        let (mut socket, kernel) = silent_kernel(Duration::from_millis(100));
        socket
            .configure_group(5, &GroupConfig::default())
            .unwrap_err();
        let given_up = socket.sequence;
        // The answer comes after all, as an error a caller of `recv` would take for a
        // refusal among its packets; then a packet.
        let mut answer = Vec::new();
        emit_header(&mut answer, 36, NLMSG_ERROR, 0, given_up);
        answer.extend_from_slice(&(-libc::EBUSY).to_ne_bytes());
        emit_header(&mut answer, 16, MSG_CONFIG, 0, given_up);
        let send = |bytes: &[u8]| {
            rustix::net::send(&kernel, bytes, rustix::net::SendFlags::empty()).unwrap();
        };
        send(&answer);
        send(&packets(1, 64));
        let mut buf = vec![0; 256];
        assert_eq!(
            socket.recv(&mut buf, false).unwrap(),
            64,
            "the packet, not the answer"
        );
        assert!(socket.stale.is_empty());
    }
}
