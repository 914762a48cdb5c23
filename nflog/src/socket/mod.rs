//! The nfnetlink_log socket: binding groups, configuring them, and raw receive.
//!
//! [`Socket`] owns its file descriptor and is never `Clone`. Every configuration request
//! waits for the kernel's acknowledgement and turns a refusal into an [`Error`] that says
//! what to do. Datagrams of packets that arrive while a request waits for its
//! acknowledgement are kept and handed out by the next [`Socket::recv`], so none is lost.
//!
//! Most users want [`Listener`](crate::Listener), which adds the receive buffer, the loop,
//! statistics and the stop handle on top of this.

pub mod names;
pub mod netns;
pub mod owner;
mod sys;

use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use crate::config::GroupConfig;
use crate::error::{Error, Request};
use crate::namespace::Netns;
use crate::wire::config::ConfigMessage;
use crate::wire::family::Family;
use crate::wire::kind::cfg;
use crate::wire::netlink::Messages;
use netns::NamespaceFd;

pub(crate) use sys::{eventfd, eventfd_signal, wait_readable};

/// The largest datagram the kernel can send on this socket: a batch of at most
/// `nlbufsiz` = 128 KiB lives in an allocation the kernel rounds up to 256 KiB, and one
/// message can hold a 65531-byte payload plus metadata and conntrack.
pub const MAX_DATAGRAM: usize = 256 * 1024;

/// How long a configuration request waits for the kernel's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a request answered with EAGAIN (conntrack support just loaded) is retried.
const EAGAIN_RETRIES: u32 = 10;

/// A `NETLINK_NETFILTER` socket for nfnetlink_log.
pub struct Socket {
    fd: OwnedFd,
    port_id: u32,
    sequence: u32,
    pending: VecDeque<Vec<u8>>,
    pending_overruns: u64,
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
            pending_overruns: 0,
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
    /// When the settings are refused the group is unbound again, so a failed call leaves
    /// nothing behind.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] before anything is sent; [`Error::PermissionDenied`] without
    /// CAP_NET_ADMIN; [`Error::GroupOwned`] when another socket has the group (with its
    /// owner); [`Error::AlreadyBound`] when this socket has it; others from the kernel.
    pub fn bind_group(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        config.validate()?;
        self.request(
            Request::Bind,
            Some(group),
            &ConfigMessage {
                group,
                command: Some(cfg::CMD_BIND),
                ..ConfigMessage::default()
            },
        )?;
        if let Err(e) = self.configure_group(group, config) {
            let _ = self.unbind_group(group);
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
        let message = ConfigMessage {
            group,
            mode: Some((config.copy_range, config.copy_mode.number())),
            nlbufsiz: Some(config.nlbufsiz),
            timeout: config.timeout_centis(),
            qthresh: Some(config.queue_threshold),
            flags: Some(config.flags.bits()),
            ..ConfigMessage::default()
        };
        let mut tries = 0;
        loop {
            match self.request(Request::Configure, Some(group), &message) {
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
            let n = datagram.len().min(buf.len());
            buf[..n].copy_from_slice(&datagram[..n]);
            return Ok(datagram.len());
        }
        if self.pending_overruns > 0 {
            self.pending_overruns -= 1;
            return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
        }
        sys::recv(self.fd.as_fd(), buf, wait)
    }

    /// Whether datagrams kept during a configuration request wait to be received: the file
    /// descriptor may not be readable while they do.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty() || self.pending_overruns > 0
    }

    /// Sends one configuration message and waits for its acknowledgement.
    fn request(
        &mut self,
        request: Request,
        group: Option<u16>,
        message: &ConfigMessage,
    ) -> Result<(), Error> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut out = Vec::with_capacity(64);
        message.emit(sequence, &mut out);
        sys::send(self.fd.as_fd(), &out)
            .map_err(|e| Error::io("sending a request to nfnetlink_log", e))?;
        let errno = self.wait_for_ack(sequence)?;
        match errno {
            0 => Ok(()),
            errno => Err(self.kernel_error(request, group, errno)),
        }
    }

    /// Receives until the acknowledgement of `sequence` arrives; keeps everything else.
    fn wait_for_ack(&mut self, sequence: u32) -> Result<i32, Error> {
        if self.scratch.len() < MAX_DATAGRAM {
            self.scratch.resize(MAX_DATAGRAM, 0);
        }
        loop {
            let [readable] = sys::wait_readable([self.fd.as_fd()], Some(ACK_TIMEOUT))
                .map_err(|e| Error::io("waiting for the kernel's acknowledgement", e))?;
            if !readable {
                return Err(Error::io(
                    "waiting for the kernel's acknowledgement",
                    io::Error::new(io::ErrorKind::TimedOut, "no answer from nfnetlink_log"),
                ));
            }
            let len = match sys::recv(self.fd.as_fd(), &mut self.scratch, false) {
                Ok(len) => len,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.pending_overruns += 1;
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
            let datagram = &self.scratch[..len.min(self.scratch.len())];
            let mut answer = None;
            for message in Messages::new(datagram).map_while(Result::ok) {
                if message.sequence() == sequence {
                    if let Ok(Some(code)) = message.error_code() {
                        answer = Some(code);
                    }
                }
            }
            match answer {
                // An acknowledgement travels alone; anything else is kept for `recv`.
                Some(code) => return Ok(code),
                None => self.pending.push_back(datagram.to_vec()),
            }
        }
    }

    /// Who owns `group` in the socket's network namespace: `/proc/thread-self/net` is read
    /// on a thread inside it when the socket was opened in another one.
    fn owner_of(&self, group: u16) -> Option<crate::error::GroupOwner> {
        self.in_namespace(|| owner::owner_of(group)).ok().flatten()
    }

    /// Runs `f` in the socket's network namespace: on a helper thread when the socket was
    /// opened in another one, else on the calling thread.
    pub(crate) fn in_namespace<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T, Error> {
        match &self.netns {
            None => Ok(f()),
            Some(namespace) => namespace.run(f),
        }
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
            .field("netns", &self.netns)
            .finish_non_exhaustive()
    }
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
