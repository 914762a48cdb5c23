//! The listener: a socket with its groups, a receive buffer, statistics and a stop handle.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::config::GroupConfig;
use crate::error::Error;
use crate::namespace::Netns;
use crate::receive::batch::Batch;
use crate::receive::stats::{Accounting, Stats};
use crate::receive::stop::{is_wake_up, StopHandle, StopLink};
use crate::socket::{wait_readable, Socket, MAX_DATAGRAM};
use crate::wire::packet::Packet;

/// The receive buffer size a [`ListenerBuilder`] asks for by default: 8 MiB (the kernel
/// grants twice that). It bounds memory only when the reader falls behind.
pub const DEFAULT_RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

/// How far a [`Listener`] grows its receive buffer after overruns by default: 64 MiB, as
/// `SO_RCVBUF` reports it (see [`ListenerBuilder::grow_receive_buffer`]).
pub const DEFAULT_GROWTH_LIMIT: usize = 64 * 1024 * 1024;

/// Receives the packets logged to one or more groups.
///
/// Three ways to consume, all over the same zero-copy parser:
/// - [`run`](Self::run): a callback for each packet until the [`StopHandle`] fires;
/// - [`recv`](Self::recv): one [`Batch`] of borrowed packets at a time, blocking;
/// - [`try_recv`](Self::try_recv): never blocks, for epoll, mio or an async runtime,
///   with the file descriptor from [`AsFd`].
///
/// ENOBUFS (the kernel dropped batches because the receive buffer was full) never ends
/// reception: it is counted in [`Stats::overruns`] and receiving goes on.
pub struct Listener {
    /// Declared (so dropped) before the socket: no stop sends on a closed descriptor.
    _link: StopLink,
    socket: Socket,
    grow_limit: Option<usize>,
    buffer: PageAligned,
    /// Whether a receive found the socket empty: from then on [`recv`](Self::recv) blocks
    /// in its receive.
    drained: bool,
    /// Receives that found the socket empty, for the tests of waiting first.
    #[cfg(test)]
    empty_receives: u64,
    accounting: Accounting,
    stop: StopHandle,
    groups: Vec<u16>,
}

/// Sets up a [`Listener`]: groups, their settings, and the socket's options.
#[derive(Debug, Clone)]
pub struct ListenerBuilder {
    groups: Vec<u16>,
    config: GroupConfig,
    receive_buffer: Option<usize>,
    grow_limit: Option<usize>,
    no_enobufs: bool,
    buffer_size: usize,
    netns: Option<Netns>,
}

impl Default for ListenerBuilder {
    fn default() -> Self {
        ListenerBuilder {
            groups: Vec::new(),
            config: GroupConfig::default(),
            receive_buffer: Some(DEFAULT_RECEIVE_BUFFER),
            grow_limit: Some(DEFAULT_GROWTH_LIMIT),
            no_enobufs: false,
            buffer_size: MAX_DATAGRAM,
            netns: None,
        }
    }
}

impl ListenerBuilder {
    /// Adds a group to bind.
    pub fn group(mut self, group: u16) -> Self {
        self.groups.push(group);
        self
    }

    /// Adds several groups to bind.
    pub fn groups(mut self, groups: impl IntoIterator<Item = u16>) -> Self {
        self.groups.extend(groups);
        self
    }

    /// Sets the settings applied to every group.
    pub fn config(mut self, config: GroupConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the socket receive buffer to ask for, or `None` to leave the system's default
    /// (`net.core.rmem_default`).
    pub fn receive_buffer(mut self, bytes: Option<usize>) -> Self {
        self.receive_buffer = bytes;
        self
    }

    /// After each overrun (ENOBUFS), doubles the socket receive buffer until it reaches
    /// `limit` bytes as `SO_RCVBUF` reports them, as ulogd2 and Suricata do; `None` never
    /// grows it. On by default, up to [`DEFAULT_GROWTH_LIMIT`]. Growth past
    /// `net.core.rmem_max` needs CAP_NET_ADMIN (`SO_RCVBUFFORCE`); the buffer never shrinks
    /// (as it would without the capability, once privileges are dropped).
    /// [`Stats::receive_buffer`] and [`Stats::buffer_growths`] report what was granted,
    /// [`Stats::growth_refused`] how often growth was refused.
    pub fn grow_receive_buffer(mut self, limit: Option<usize>) -> Self {
        self.grow_limit = limit;
        self
    }

    /// Sets `NETLINK_NO_ENOBUFS`: the kernel stops reporting overruns, and loss shows only
    /// as sequence gaps (set [`Flags::SEQ`](crate::Flags::SEQ) to see them). Off by default.
    pub fn no_enobufs(mut self, on: bool) -> Self {
        self.no_enobufs = on;
        self
    }

    /// Sets the size of the buffer datagrams are received into. The default,
    /// [`MAX_DATAGRAM`], holds the largest the kernel sends; a smaller one cuts big
    /// datagrams, which [`Stats::truncated`] counts.
    pub fn buffer_size(mut self, bytes: usize) -> Self {
        self.buffer_size = bytes;
        self
    }

    /// Opens the socket in the network namespace `netns` instead of the calling thread's
    /// (see [`Socket::open_in`]): the groups, packets and interface names are that
    /// namespace's, and the calling thread stays where it is.
    pub fn netns(mut self, netns: Netns) -> Self {
        self.netns = Some(netns);
        self
    }

    /// Opens the socket, sets its options and binds every group.
    ///
    /// # Errors
    ///
    /// Any error of [`Socket::open`] (or [`Socket::open_in`] with a
    /// [`netns`](Self::netns)), [`Socket::set_receive_buffer`] and [`Socket::bind_group`].
    /// On error nothing stays bound.
    pub fn bind(self) -> Result<Listener, Error> {
        let socket = match &self.netns {
            Some(netns) => Socket::open_in(netns)?,
            None => Socket::open()?,
        };
        if let Some(bytes) = self.receive_buffer {
            socket.set_receive_buffer(bytes)?;
        }
        if self.no_enobufs {
            socket.set_no_enobufs(true)?;
        }
        let mut accounting = Accounting::default();
        accounting.stats.receive_buffer = socket.receive_buffer()?;
        let stop = StopHandle::new();
        let mut listener = Listener {
            _link: stop.link(socket.as_raw_fd()),
            socket,
            grow_limit: self.grow_limit,
            buffer: PageAligned::new(self.buffer_size),
            drained: false,
            #[cfg(test)]
            empty_receives: 0,
            accounting,
            stop,
            groups: Vec::with_capacity(self.groups.len()),
        };
        for group in self.groups {
            if let Err(e) = listener.add_group(group, &self.config) {
                // Closing the socket would unbind them too, but only once every copy of the
                // descriptor is closed, and a fork in another thread may hold one until it
                // execs: unbind explicitly so that nothing stays bound when this returns.
                for bound in listener.groups.clone() {
                    let _ = listener.socket.unbind_group(bound);
                }
                return Err(e);
            }
        }
        Ok(listener)
    }
}

impl Listener {
    /// Opens a socket and binds `group` with the default settings: the one call to get
    /// going.
    ///
    /// # Errors
    ///
    /// As [`ListenerBuilder::bind`].
    pub fn bind(group: u16) -> Result<Listener, Error> {
        Listener::builder().group(group).bind()
    }

    /// A builder for several groups, other settings or socket options.
    pub fn builder() -> ListenerBuilder {
        ListenerBuilder::default()
    }

    /// Binds one more group.
    ///
    /// # Errors
    ///
    /// As [`Socket::bind_group`].
    /// When the kernel did not answer, [`groups`](Self::groups) still says what it has
    /// bound, as `/proc/net/netfilter/nfnetlink_log` shows it.
    pub fn add_group(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        let bound = self.socket.bind_group(group, config);
        if bound.is_ok()
            || (!self.groups.contains(&group) && self.socket.is_bound(group) == Some(true))
        {
            self.accounting.seq.bound(group);
            self.groups.push(group);
        }
        bound
    }

    /// Binds the first group from `from` up that no other socket has bound and that is not
    /// in `avoid` (groups that rules already log to: [`NftSocket::logged_groups`]), and
    /// returns it. The group stays bound, so no other process can take it.
    ///
    /// [`NftSocket::logged_groups`]: crate::nft::NftSocket::logged_groups
    ///
    /// # Errors
    ///
    /// As [`add_group`](Self::add_group), except that a group another socket owns is
    /// skipped; [`Error::GroupOwned`] for the last group tried when every one is taken.
    pub fn add_free_group(
        &mut self,
        from: u16,
        avoid: &[u16],
        config: &GroupConfig,
    ) -> Result<u16, Error> {
        let mut last = None;
        for group in from..=u16::MAX {
            if avoid.contains(&group) || self.groups.contains(&group) {
                continue;
            }
            match self.add_group(group, config) {
                Ok(()) => return Ok(group),
                // EPERM from a group another socket holds: try the next one.
                Err(e @ Error::GroupOwned { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(Error::GroupOwned {
            group: u16::MAX,
            owner: None,
        }))
    }

    /// Unbinds a group.
    ///
    /// # Errors
    ///
    /// As [`Socket::unbind_group`].
    /// When the kernel did not answer, [`groups`](Self::groups) still says what it has
    /// bound, as `/proc/net/netfilter/nfnetlink_log` shows it.
    pub fn remove_group(&mut self, group: u16) -> Result<(), Error> {
        let unbound = self.socket.unbind_group(group);
        if unbound.is_ok() || self.socket.is_bound(group) == Some(false) {
            self.groups.retain(|g| *g != group);
        }
        unbound
    }

    /// Changes the settings of a bound group.
    ///
    /// # Errors
    ///
    /// As [`Socket::configure_group`].
    pub fn configure(&mut self, group: u16, config: &GroupConfig) -> Result<(), Error> {
        self.socket.configure_group(group, config)
    }

    /// The groups bound, in the order they were bound.
    pub fn groups(&self) -> &[u16] {
        &self.groups
    }

    /// The socket, for its options.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// What was received and lost so far.
    pub fn stats(&self) -> Stats {
        Stats {
            request_drops: self.socket.pending_dropped(),
            ..self.accounting.stats
        }
    }

    /// Packets of `group` lost before they reached this socket, as its sequence numbers
    /// show (flag [`Flags::SEQ`](crate::Flags::SEQ); 0 without it).
    pub fn seq_gaps(&self, group: u16) -> u64 {
        self.accounting.seq.lost(group)
    }

    /// A handle that stops [`run`](Self::run) and [`recv`](Self::recv) from anywhere.
    pub fn stop_handle(&self) -> StopHandle {
        self.stop.clone()
    }

    /// Calls `callback` for each packet until the stop handle fires, then returns the
    /// statistics.
    ///
    /// A message that does not parse is counted in [`Stats::malformed`] and skipped; use
    /// [`recv`](Self::recv) to see the error itself.
    ///
    /// # Errors
    ///
    /// A receive error other than ENOBUFS (which is counted, not returned), or an error
    /// message from the kernel among the packets.
    pub fn run<F>(&mut self, mut callback: F) -> Result<Stats, Error>
    where
        F: FnMut(Packet<&[u8]>),
    {
        while let Some(batch) = self.recv()? {
            batch.run_callback(&mut callback)?;
        }
        Ok(self.stats())
    }

    /// Waits for the next datagram and returns its packets, or `None` once the stop handle
    /// has fired.
    ///
    /// # Errors
    ///
    /// A receive error other than ENOBUFS, which is counted in [`Stats::overruns`].
    pub fn recv(&mut self) -> Result<Option<Batch<'_>>, Error> {
        loop {
            if self.stop.is_stopped() {
                return Ok(None);
            }
            // Perf: a reader that keeps up finds the socket empty after each datagram;
            // once it did, it blocks in the receive itself, one system call a datagram, as
            // libnetfilter_log's own loop does (a wait with `poll` first costs a second,
            // on two descriptors, and a receive without waiting that fails with EAGAIN a
            // third). The stop handle wakes a blocked receive with a datagram of its own
            // (see receive/stop.rs). Until the first empty receive (a backlog after
            // binding) it receives without blocking. Datagrams held aside during a
            // configuration request are taken without blocking too.
            let received = if self.drained && !self.socket.has_pending() {
                if !self.stop.begin_wait() {
                    return Ok(None);
                }
                let received = self.receive(true);
                self.stop.end_wait();
                received?
            } else {
                self.receive(false)?
            };
            if let Some(full_len) = received {
                return Ok(Some(self.batch(full_len)));
            }
        }
    }

    /// Returns the next datagram's packets if one is waiting, else `None` at once.
    ///
    /// For event loops: wait for the file descriptor to be readable, then call this until
    /// it returns `None`. Call it once after binding or configuring a group too: datagrams
    /// that arrived while the kernel's acknowledgement was awaited are held aside and do not
    /// make the descriptor readable.
    ///
    /// # Errors
    ///
    /// A receive error other than ENOBUFS, which is counted in [`Stats::overruns`].
    pub fn try_recv(&mut self) -> Result<Option<Batch<'_>>, Error> {
        match self.receive_datagram()? {
            Some(full_len) => Ok(Some(self.batch(full_len))),
            None => Ok(None),
        }
    }

    /// Receives one datagram into the buffer without waiting; `None` when there is none.
    ///
    /// With [`batch`](Self::batch), the two halves of [`try_recv`](Self::try_recv), for
    /// callers that loop on `None` (the async listener) and must return the batch.
    pub(crate) fn receive_datagram(&mut self) -> Result<Option<usize>, Error> {
        self.receive(false)
    }

    /// Receives one datagram into the buffer, blocking when `block` (then `None` means
    /// "look at the stop flag, and call again"), else `None` when there is none.
    fn receive(&mut self, block: bool) -> Result<Option<usize>, Error> {
        loop {
            match self.socket.recv(self.buffer.as_mut_slice(), block) {
                Ok(full_len) => {
                    let buffer = self.buffer.as_slice();
                    if is_wake_up(&buffer[..full_len.min(buffer.len())]) {
                        // A stop handle's, not the kernel's log: neither counted nor
                        // parsed. Blocked, the caller looks at the flag.
                        if block {
                            return Ok(None);
                        }
                        continue;
                    }
                    self.accounting.stats.datagrams += 1;
                    if full_len > buffer.len() {
                        self.accounting.stats.truncated += 1;
                    }
                    return Ok(Some(full_len));
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.accounting.stats.overruns += 1;
                    self.grow_receive_buffer();
                }
                // A signal: its handler may have stopped the listener.
                Err(e) if e.kind() == io::ErrorKind::Interrupted && block => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock && block => {
                    // The descriptor was made non-blocking (an event loop's, or
                    // `Socket::set_nonblocking`): wait until it is readable instead, which
                    // a stop's wake-up makes it too, then look at the flag.
                    #[cfg(test)]
                    {
                        self.empty_receives += 1;
                    }
                    wait_readable([self.socket.as_fd()], None)
                        .map_err(|e| Error::io("waiting for nfnetlink_log", e))?;
                    return Ok(None);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.drained = true;
                    #[cfg(test)]
                    {
                        self.empty_receives += 1;
                    }
                    return Ok(None);
                }
                Err(e) => return Err(Error::io("receiving from nfnetlink_log", e)),
            }
        }
    }

    /// Doubles the receive buffer after an overrun, up to the limit; never shrinks it. A
    /// refusal leaves it as it is and is counted in [`Stats::growth_refused`].
    fn grow_receive_buffer(&mut self) {
        let Some(limit) = self.grow_limit else {
            return;
        };
        let current = self.accounting.stats.receive_buffer;
        if current >= limit {
            return;
        }
        // The kernel doubles what it is asked for: asking for the current size doubles it.
        let request = current.clamp(1, limit / 2);
        match self.socket.grow_receive_buffer(request) {
            Ok(granted) if granted > current => {
                self.accounting.stats.buffer_growths += 1;
                self.accounting.stats.receive_buffer = granted;
            }
            Ok(_) | Err(_) => self.accounting.stats.growth_refused += 1,
        }
    }

    /// The packets of the datagram [`receive_datagram`](Self::receive_datagram) received.
    pub(crate) fn batch(&mut self, full_len: usize) -> Batch<'_> {
        let buffer = self.buffer.as_slice();
        let truncated = full_len > buffer.len();
        let len = full_len.min(buffer.len());
        Batch::new(&buffer[..len], truncated, &mut self.accounting)
    }
}

impl core::fmt::Debug for Listener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Listener")
            .field("socket", &self.socket)
            .field("groups", &self.groups)
            .field("buffer_size", &self.buffer.as_slice().len())
            .field("stats", &self.accounting.stats)
            .finish_non_exhaustive()
    }
}

/// The page size the receive buffer is aligned to: 4 KiB, the smallest on Linux.
const PAGE: usize = 4096;

/// A zeroed byte buffer that starts on a page boundary, without `unsafe`: a vector one
/// page longer than asked, used from its first page boundary on.
///
/// Why the start matters: the kernel copies each datagram in one piece (`netlink_recvmsg`,
/// `skb_copy_datagram_iter`, `_copy_to_iter`), with `rep movsb` on CPUs with ERMS/FSRM.
/// The source is the batch's `skb` data, which starts its allocation: on a page boundary
/// for batches above a few KiB (page-allocator memory), at least cache-line aligned below.
/// A forward copy whose destination lies a little ahead of its source within the page
/// (fewer bytes than the copy moves at once) makes each load overlap, in the low twelve
/// address bits the CPU compares against pending stores, the store just before it (4K
/// aliasing): the load waits for it, and the copy runs at a fraction of its speed. A plain
/// heap allocation of this size starts just past the allocator's header, page offset
/// 0x010 with glibc: 16 bytes ahead of a page-aligned source, the slow case. A page-aligned
/// destination lies a whole number of cache lines from any cache-line-aligned source,
/// never a few bytes ahead of it (docs/benchmarks.md sweeps the offsets).
struct PageAligned {
    storage: Vec<u8>,
    start: usize,
    len: usize,
}

impl PageAligned {
    /// A zeroed buffer of `len` bytes whose first byte is on a page boundary.
    fn new(len: usize) -> PageAligned {
        // Zeroed memory of this size comes from the kernel untouched (calloc, mmap): the
        // extra page costs address space, and memory only where it is written.
        let storage = vec![0u8; len + PAGE];
        // `align_offset` may in principle decline (usize::MAX): then the buffer starts one
        // page in, unaligned but still within the vector.
        let start = storage.as_ptr().align_offset(PAGE).min(PAGE);
        PageAligned {
            storage,
            start,
            len,
        }
    }

    fn as_slice(&self) -> &[u8] {
        &self.storage[self.start..self.start + self.len]
    }

    fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.start + self.len]
    }
}

/// The listener's socket, for [`InterfaceNames::new`](crate::InterfaceNames::new).
impl AsRef<Socket> for Listener {
    fn as_ref(&self) -> &Socket {
        &self.socket
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A listener with no group: opening and connecting the socket needs no privilege.
    fn unbound() -> Listener {
        Listener::builder()
            .receive_buffer(None)
            .grow_receive_buffer(None)
            .bind()
            .unwrap()
    }

    #[test]
    fn page_aligned_buffer_starts_on_a_page_boundary_at_every_size() {
        for len in [0, 1, 16, 4095, 4096, 4097, 65_536, MAX_DATAGRAM] {
            let mut buffer = PageAligned::new(len);
            assert_eq!(buffer.as_slice().len(), len);
            assert_eq!(buffer.as_mut_slice().len(), len);
            assert_eq!(buffer.as_slice().as_ptr() as usize % PAGE, 0, "len {len}");
            assert!(buffer.as_slice().iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn listener_receives_into_a_page_aligned_buffer() {
        let listener = unbound();
        let start = listener.buffer.as_slice().as_ptr() as usize;
        assert_eq!(
            start % PAGE,
            0,
            "receive buffer at page offset {:#x}",
            start % PAGE
        );
        assert_eq!(listener.buffer.as_slice().len(), MAX_DATAGRAM);
    }

    #[test]
    fn recv_waits_first_once_a_receive_found_the_socket_empty() {
        let mut listener = unbound();
        assert!(listener.try_recv().unwrap().is_none());
        assert_eq!(listener.empty_receives, 1);
        let stopper = stop_soon(&listener);
        // The socket was found empty: recv waits (until the stop) instead of trying a
        // receive that fails with EAGAIN first.
        assert!(listener.recv().unwrap().is_none());
        stopper.join().unwrap();
        assert_eq!(listener.empty_receives, 1);
    }

    /// Stops `listener` from another thread after a while.
    fn stop_soon(listener: &Listener) -> std::thread::JoinHandle<()> {
        let stop = listener.stop_handle();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            stop.stop();
        })
    }

    #[test]
    fn a_stop_wakes_a_blocked_receive_and_its_wake_up_is_neither_counted_nor_parsed() {
        let mut listener = unbound();
        assert!(listener.try_recv().unwrap().is_none());
        let stopper = stop_soon(&listener);
        assert!(listener.recv().unwrap().is_none());
        stopper.join().unwrap();
        let stats = listener.stats();
        assert_eq!((stats.datagrams, stats.malformed), (0, 0), "{stats:?}");
    }

    #[test]
    fn a_stale_wake_up_is_dropped_by_the_next_receive() {
        let mut listener = unbound();
        // As a stop that raced the end of a receive leaves it: the kernel's answer queued.
        crate::socket::send_wake_up(listener.socket.as_raw_fd()).unwrap();
        crate::socket::send_wake_up(listener.socket.as_raw_fd()).unwrap();
        assert!(listener.try_recv().unwrap().is_none());
        assert_eq!(listener.empty_receives, 1, "both dropped, then found empty");
        let stats = listener.stats();
        assert_eq!((stats.datagrams, stats.malformed), (0, 0), "{stats:?}");
    }

    #[test]
    fn recv_on_a_non_blocking_descriptor_waits_instead_of_spinning() {
        let mut listener = unbound();
        listener.socket().set_nonblocking(true).unwrap();
        assert!(listener.try_recv().unwrap().is_none());
        let stopper = stop_soon(&listener);
        assert!(listener.recv().unwrap().is_none());
        stopper.join().unwrap();
        // One receive found it empty before waiting, one after: not one per spin.
        assert!(
            listener.empty_receives <= 3,
            "{} empty receives",
            listener.empty_receives
        );
    }

    #[test]
    fn recv_tries_a_receive_before_waiting_when_nothing_was_found_empty_yet() {
        let mut listener = unbound();
        let stopper = stop_soon(&listener);
        assert!(listener.recv().unwrap().is_none());
        stopper.join().unwrap();
        assert_eq!(listener.empty_receives, 1);
    }
}
