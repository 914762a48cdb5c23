//! The system calls, in one place. Most go through rustix; the netlink socket options rustix
//! does not know (`NETLINK_NO_ENOBUFS`, `NETLINK_EXT_ACK`, ...) are the crate's only `unsafe`
//! code.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::net::netlink::{self, SocketAddrNetlink};
use rustix::net::{sockopt, AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};

/// `SOL_NETLINK`.
const SOL_NETLINK: i32 = 270;
/// `NETLINK_NO_ENOBUFS`.
const NETLINK_NO_ENOBUFS: i32 = 5;

/// Opens a `NETLINK_NETFILTER` socket, close-on-exec.
pub fn open_netfilter_socket() -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC,
        Some(netlink::NETFILTER),
    )?)
}

/// Binds to a kernel-chosen port id, connects to the kernel (port 0) so that no other
/// process can send us messages, and returns the port id.
pub fn bind_and_connect_to_kernel(fd: BorrowedFd<'_>) -> io::Result<u32> {
    rustix::net::bind(fd, &SocketAddrNetlink::new(0, 0))?;
    // A connected netlink socket accepts unicasts only from its peer (af_netlink.c:
    // netlink_getsockbyportid), here the kernel: other processes get ECONNREFUSED.
    rustix::net::connect(fd, &SocketAddrNetlink::new(0, 0))?;
    let addr = rustix::net::getsockname(fd)?;
    let addr =
        SocketAddrNetlink::try_from(addr).map_err(|_| io::Error::other("not a netlink address"))?;
    Ok(addr.pid())
}

/// Sends one datagram to the kernel.
pub fn send(fd: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<()> {
    let sent = rustix::net::send(fd, bytes, SendFlags::empty())?;
    if sent != bytes.len() {
        return Err(io::Error::new(
            io::ErrorKind::WriteZero,
            "netlink message sent in part",
        ));
    }
    Ok(())
}

/// Receives one datagram into `buf`; returns the datagram's full length, which is larger
/// than `buf` when it was cut (`MSG_TRUNC`).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8], wait: bool) -> io::Result<usize> {
    let mut flags = RecvFlags::TRUNC;
    if !wait {
        flags |= RecvFlags::DONTWAIT;
    }
    let (_, full_len) = rustix::net::recv(fd, buf, flags)?;
    Ok(full_len)
}

/// Waits until one of `fds` is readable or `timeout` passes; returns which are readable.
/// A signal that interrupts the wait ends it early, with nothing readable.
pub fn wait_readable<const N: usize>(
    fds: [BorrowedFd<'_>; N],
    timeout: Option<Duration>,
) -> io::Result<[bool; N]> {
    let mut poll_fds = fds.map(|fd| PollFd::from_borrowed_fd(fd, PollFlags::IN));
    let timespec = timeout.map(|t| Timespec {
        tv_sec: t.as_secs().try_into().unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    match poll(&mut poll_fds, timespec.as_ref()) {
        Ok(_) => Ok(poll_fds.map(|p| !p.revents().is_empty())),
        Err(rustix::io::Errno::INTR) => Ok([false; N]),
        Err(e) => Err(e.into()),
    }
}

/// Sets `O_NONBLOCK`.
pub fn set_nonblocking(fd: BorrowedFd<'_>, nonblocking: bool) -> io::Result<()> {
    rustix::io::ioctl_fionbio(fd, nonblocking)?;
    Ok(())
}

/// Asks for a receive buffer of `bytes`, with `SO_RCVBUFFORCE` (past `rmem_max`, needs
/// CAP_NET_ADMIN) and else `SO_RCVBUF`; returns what the kernel granted (it doubles the
/// request for its bookkeeping).
pub fn set_receive_buffer(fd: BorrowedFd<'_>, bytes: usize) -> io::Result<usize> {
    if sockopt::set_socket_recv_buffer_size_force(fd, bytes).is_err() {
        sockopt::set_socket_recv_buffer_size(fd, bytes)?;
    }
    receive_buffer(fd)
}

/// Asks for a receive buffer of `bytes` if that makes it larger, never smaller; returns
/// the size it has then.
///
/// `SO_RCVBUFFORCE` when the process has CAP_NET_ADMIN; else `SO_RCVBUF`, which grants at
/// most twice `net.core.rmem_max` and would shrink a buffer granted with
/// `SO_RCVBUFFORCE` (before privileges were dropped) to that: it is used only when what it
/// would grant is more than the buffer has. A scratch socket tells what that is, without
/// `/proc`.
pub fn grow_receive_buffer(fd: BorrowedFd<'_>, bytes: usize) -> io::Result<usize> {
    let current = receive_buffer(fd)?;
    if sockopt::set_socket_recv_buffer_size_force(fd, bytes).is_ok() {
        return receive_buffer(fd);
    }
    let probe = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    // sock.c: SO_RCVBUF takes min(value, rmem_max) and doubles it.
    sockopt::set_socket_recv_buffer_size(&probe, 1 << 30)?;
    let ceiling = receive_buffer(probe.as_fd())?;
    if bytes.saturating_mul(2).min(ceiling) <= current {
        return Ok(current);
    }
    sockopt::set_socket_recv_buffer_size(fd, bytes)?;
    receive_buffer(fd)
}

/// Opens a non-blocking `NETLINK_ROUTE` socket that receives the link notifications
/// (`RTNLGRP_LINK`), in the calling thread's network namespace. Needs no privilege.
pub fn open_link_notifications() -> io::Result<OwnedFd> {
    let fd = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::RAW,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        // NETLINK_ROUTE is protocol 0, which rustix spells `None`.
        None,
    )?;
    // RTNLGRP_LINK is group 1, bit 0 of the mask. Connected to the kernel, the socket takes
    // no unicast from other processes (see `bind_and_connect_to_kernel`).
    rustix::net::bind(&fd, &SocketAddrNetlink::new(0, 1))?;
    rustix::net::connect(&fd, &SocketAddrNetlink::new(0, 0))?;
    Ok(fd)
}

/// The receive buffer's size, as `SO_RCVBUF` reports it.
pub fn receive_buffer(fd: BorrowedFd<'_>) -> io::Result<usize> {
    Ok(sockopt::socket_recv_buffer_size(fd)?)
}

/// Sets or clears `NETLINK_NO_ENOBUFS`.
pub fn set_no_enobufs(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    set_netlink_flag(fd, NETLINK_NO_ENOBUFS, on)
}

/// `NETLINK_CAP_ACK`: acknowledgements carry the request's header only, not all of it.
pub const NETLINK_CAP_ACK: i32 = 10;
/// `NETLINK_EXT_ACK`: errors carry the kernel's message and the offending attribute.
pub const NETLINK_EXT_ACK: i32 = 11;

/// Sets or clears a boolean netlink socket option (`SOL_NETLINK`), which rustix does not
/// know: `NETLINK_NO_ENOBUFS`, `NETLINK_CAP_ACK`, `NETLINK_EXT_ACK`.
pub fn set_netlink_flag(fd: BorrowedFd<'_>, option: i32, on: bool) -> io::Result<()> {
    let value: libc::c_int = on.into();
    // SAFETY: `fd` is a valid open socket for the duration of the call (it is borrowed), and
    // the option value points to a live c_int whose size is passed alongside it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            SOL_NETLINK,
            option,
            (&value as *const libc::c_int).cast(),
            core::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sends a [`StopHandle`](crate::StopHandle)'s wake-up request on the socket `fd`, without
/// waiting: one `send(2)`, async-signal-safe.
pub fn send_wake_up(fd: RawFd) -> io::Result<()> {
    // SAFETY: the caller holds `fd` open for the duration of the call (the stop handle's
    // link protocol, receive/stop.rs: the descriptor is cleared, and in-flight sends are
    // waited for, before the socket is closed).
    let fd = unsafe { BorrowedFd::borrow_raw(fd) };
    rustix::net::send(
        fd,
        &crate::receive::stop::WAKE_UP,
        SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
    )?;
    Ok(())
}
