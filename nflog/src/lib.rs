//! Receive the packets Linux netfilter logs with NFLOG, in pure Rust.
//!
//! A firewall rule such as `nft add rule inet filter input tcp dport 22 log group 5 prefix
//! "ssh"` (or `iptables -A INPUT -p tcp --dport 22 -j NFLOG --nflog-group 5`) makes the kernel
//! copy each matching packet, with its metadata, to whichever program listens on group 5 over
//! netlink (nfnetlink_log). This crate is that program's side: no C library, no `unsafe` but
//! one socket option (and, with feature `tokio`, the descriptor's registration with the
//! reactor), no panic on any input, no allocation per packet.
//!
//! ```no_run
//! use nflog::Listener;
//!
//! fn main() -> Result<(), nflog::Error> {
//!     // Open a socket, bind group 5 and configure it: one call.
//!     let mut listener = Listener::bind(5)?;
//!
//!     // Any thread, or a Ctrl-C handler (`ctrlc::set_handler(move || stop.stop())`),
//!     // ends the loop cleanly through the stop handle. Here: after a minute.
//!     let stop = listener.stop_handle();
//!     std::thread::spawn(move || {
//!         std::thread::sleep(std::time::Duration::from_secs(60));
//!         stop.stop();
//!     });
//!
//!     let stats = listener.run(|packet| {
//!         println!(
//!             "group {} {} prefix {:?} mark {:?} in {:?} {} bytes",
//!             packet.group(),
//!             packet.hook(),
//!             packet.prefix().unwrap_or_default(),
//!             packet.mark(),
//!             packet.indev(),
//!             packet.payload().map_or(0, |p| p.len()),
//!         );
//!     })?;
//!     eprintln!("{stats}");
//!     Ok(())
//! }
//! ```
//!
//! `examples/test_nflog.rs` is a complete program: `cargo run --example test_nflog -- 5`.
//!
//! # How the parts fit
//!
//! Each public item has one path. What every receiving program uses is at the root, from
//! modules that stay private:
//!
//! - the [`Socket`], which owns the netlink file descriptor, binds groups and waits for the
//!   kernel's acknowledgement of every request; [`Socket::open_in`] opens it in another
//!   network namespace ([`Netns`]) without moving the calling thread; who owns a group
//!   ([`group_bindings`], [`owner_of`]); interface names ([`InterfaceNames`]);
//! - a group's settings, [`GroupConfig`] ([`CopyMode`], [`Flags`]), checked before they are
//!   sent;
//! - the [`Listener`] (socket + receive buffer + [`Stats`] + [`StopHandle`]) and the [`Batch`]
//!   of packets one datagram holds; the [`OwnedPacket`], a copy to keep; with feature `tokio`,
//!   `AsyncListener`, the listener on the tokio reactor, and its `PacketStream`;
//! - the [`Packet`], a zero-copy view with an accessor for every `NFULA_*` attribute, and the
//!   values it holds ([`Family`], [`Hook`], [`Vlan`], [`PacketAttr`]);
//! - [`Error`] for what a user must act on, [`ParseError`] for bad bytes.
//!
//! Six modules are namespaces, one layer each, which a program uses or not:
//!
//! - [`wire`]: the netlink messages and attributes under the packet, their emitters and the
//!   protocol's numbers, for programs that walk or build datagrams themselves. Kept public
//!   as a module, the way smoltcp keeps `wire`: its names (`Message`, `emit`, `cfg`) only
//!   read well qualified.
//! - [`conntrack`]: the packet's conntrack entry (`NFULA_CT`, flag [`Flags::CONNTRACK`]) as
//!   a typed view, [`Conntrack`](conntrack::Conntrack) (tuples, status, id, mark, zone, counters, labels), and
//!   [`CtInfo`](conntrack::CtInfo), how the packet relates to it (`NFULA_CT_INFO`).
//! - `decode` (feature `decode`, on by default): what a logged packet's payload says, its
//!   IPv4/IPv6/ARP and TCP/UDP/ICMP headers as plain values, decoded with etherparse even
//!   when the copy range cut it short; for bridge and netdev packets, also the Ethernet
//!   header and VLAN tags (`decode_link`).
//! - `format` (feature `format`, on by default): one packet as one line of text (the
//!   kernel's LOG and ulogd2's LOGEMU), ulogd2-compatible JSON, or libnetfilter_log XML,
//!   written to any `impl Write`.
//! - [`pcap`]: pcap and pcapng files of `LINKTYPE_NFLOG` records, written and read.
//! - [`nft`]: nf_tables over netlink, for the rules a program installs itself: the
//!   expressions of a rule ([`nft::Expr`]), byte for byte what `nft` sends; batches and the
//!   socket that sends them; a capture's own table ([`nft::CaptureRules`]) that goes when
//!   its guard is dropped or its process dies.
//!
//! The layers import downwards only: the errors and `wire` at the bottom, then the socket,
//! `conntrack`, `decode` and `pcap`, then the listener and `format`.
//!
//! # Three ways to receive
//!
//! 1. **A callback per packet**: [`Listener::run`] loops until the [`StopHandle`] fires,
//!    from another thread or a signal handler, and returns the statistics.
//! 2. **A batch at a time**: [`Listener::recv`] blocks for the next datagram and returns its
//!    packets, borrowed from the receive buffer; `None` once stopped.
//!    ```no_run
//!    # fn main() -> Result<(), nflog::Error> {
//!    let mut listener = nflog::Listener::bind(5)?;
//!    while let Some(batch) = listener.recv()? {
//!        for packet in batch {
//!            let packet = packet?; // a malformed message is an error you can skip
//!            println!("{:?}", packet);
//!        }
//!    }
//!    # Ok(()) }
//!    ```
//! 3. **Non-blocking**, for epoll, mio or an async runtime: register the listener's file
//!    descriptor ([`AsFd`](std::os::fd::AsFd)) and call [`Listener::try_recv`] until it
//!    returns `None` each time it is readable.
//!
//!    On tokio, feature `tokio` does it: `AsyncListener::new(listener)`, then
//!    `listener.recv().await` for batches of borrowed packets, or `listener.into_stream()`
//!    for a `futures_core::Stream` of [`OwnedPacket`]s; both are cancel-safe, so they sit
//!    in `tokio::select!` beside a shutdown signal (`examples/async_tokio.rs`). The core
//!    stays runtime-agnostic: other runtimes use the descriptor and `try_recv` (the
//!    `receive::tokio` module sketches mio).
//!
//! # Adding the rule
//!
//! nftables (the group can be any number from 0 to 65535; `prefix`, `snaplen` and
//! `queue-threshold` are optional):
//!
//! ```text
//! nft add table inet filter
//! nft add chain inet filter input '{ type filter hook input priority 0; }'
//! nft add rule inet filter input tcp dport 22 log group 5 prefix "ssh" snaplen 128
//! ```
//!
//! iptables (`ip6tables` alike):
//!
//! ```text
//! iptables -A INPUT -p tcp --dport 22 -j NFLOG --nflog-group 5 --nflog-prefix ssh --nflog-size 128
//! ```
//!
//! Rules may send to a group nobody listens on: the packets are then dropped from the log,
//! not from the network. Logging never changes a packet's fate.
//!
//! # Privileges
//!
//! Binding and configuring a group needs `CAP_NET_ADMIN` in the socket's network namespace;
//! opening the socket and receiving need nothing. So:
//!
//! - run as root, or give the program the one capability:
//!   `setcap cap_net_admin+ep /path/to/program`;
//! - and, best, drop privileges once the groups are bound (with `setgid`/`setuid` from libc,
//!   nix or similar): the socket keeps receiving.
//!
//! Without the capability, binding fails with [`Error::PermissionDenied`], whose message
//! says so. A group another socket holds fails with [`Error::GroupOwned`], which names the
//! owner's port id and, when `/proc` shows it, its process.
//!
//! # Tuning
//!
//! - **Batching**: see [`GroupConfig`] for `queue_threshold`, `flush_timeout` and `nlbufsiz`, and
//!   their trade-off between latency and cost per packet.
//! - **Receive buffer**: a [`Listener`] asks for 8 MiB ([`ListenerBuilder::receive_buffer`])
//!   with `SO_RCVBUFFORCE`, falling back to `SO_RCVBUF` (capped by `net.core.rmem_max`).
//!   When the reader falls behind and the buffer fills, the kernel drops whole batches and
//!   reports ENOBUFS once: the listener counts it in [`Stats::overruns`] and goes on. Set
//!   [`Flags::SEQ`] to learn how many packets that cost ([`Stats::seq_gaps`]).
//! - **Copy range**: copy only the headers you need ([`GroupConfig::copy_range`], or the
//!   rule's `snaplen`): less to copy, more packets per batch.
//! - **Several CPUs**: see [Scaling out](#scaling-out).
//!
//! # Scaling out
//!
//! A group's packets go to one socket, which one thread drains: about 150 ns of CPU per
//! packet for receiving and parsing, plus whatever the consumer does with it. When that is
//! more than one CPU can give, or to spread the kernel's side (each group's queue has a
//! lock of its own), spread the packets over N groups in the ruleset and run N listeners,
//! one per thread, each bound to its own group only. A log statement takes a constant
//! group, so a verdict map picks one of N chains that each log to their group:
//!
//! ```text
//! table inet scale {
//!     chain g0 {
//!         log group 10
//!     }
//!     chain g1 {
//!         log group 11
//!     }
//!     chain in {
//!         type filter hook input priority 0;
//!         numgen inc mod 2 vmap { 0 : jump g0, 1 : jump g1 }
//!     }
//! }
//! ```
//!
//! `numgen inc mod N` deals packets round-robin, evenly, but spreads one flow's packets
//! over every group (flag [`Flags::SEQ_GLOBAL`] numbers them across groups);
//! `jhash ip saddr . ip daddr mod N` keeps each flow in one group, as evenly as the flows
//! allow. Then, for each k, a thread with `Listener::bind(10 + k)` and its loop; one
//! [`StopHandle`] each ends them. The benchmark `multi_group` (`bench/src/bin/multi_group.rs`
//! in the repository) does all this in a private network namespace and prints each group's
//! share, the throughput and the CPU per packet; docs/benchmarks.md has what it measured.
//!
//! # Coming from the `nflog` crate 0.x (libnetfilter_log bindings)
//!
//! | old | new |
//! |---|---|
//! | `Queue::new()`, `open()`, `bind(AF_INET)`, `bind_group(n)` | [`Listener::bind(n)`](Listener::bind), or [`Listener::builder`] for several groups; PF_BIND is not needed since Linux 3.8 (still there as [`Socket::pf_bind`]) |
//! | `unbind(pf)`, `unbind_group()`, `close()` | dropping the listener; [`Listener::remove_group`] |
//! | `set_mode(CopyMode::CopyPacket, range)` | [`GroupConfig::copy_mode`] and [`GroupConfig::copy_range`] |
//! | `set_timeout(t)` (hundredths of a second) | [`GroupConfig::flush_timeout`] (a `Duration`) |
//! | `set_qthresh(n)`, `set_nlbufsiz(n)` | [`GroupConfig::queue_threshold`], [`GroupConfig::nlbufsiz`] (checked: the kernel ignores bad values silently) |
//! | `set_flags(CfgFlags::CfgFlagsSeqGlobal)` (sent 0x1, which is SEQ) | [`Flags::SEQ_GLOBAL`] (0x2), combinable: `Flags::SEQ \| Flags::CONNTRACK` |
//! | `set_callback(f)` + `run_loop()` (could not stop; panicked on ENOBUFS) | [`Listener::run(f)`](Listener::run) with a [`StopHandle`]; ENOBUFS is counted |
//! | `fd()` | [`AsFd`](std::os::fd::AsFd) / [`AsRawFd`](std::os::fd::AsRawFd) on [`Listener`] and [`Socket`] |
//! | `Message::get_payload()` (NULL slice when absent) | [`Packet::payload`] → `Option<&[u8]>` |
//! | `get_prefix()` | [`Packet::prefix`] (text) and [`Packet::prefix_bytes`] |
//! | `get_nfmark()` (0 when absent) | [`Packet::mark`] → `Option<u32>` |
//! | `get_timestamp()` | [`Packet::timestamp`] (`SystemTime`) and [`Packet::timestamp_parts`] |
//! | `get_indev()`, `get_outdev()`, `get_physindev()`, `get_physoutdev()` (0 when absent) | [`Packet::indev`], [`Packet::outdev`], [`Packet::physindev`], [`Packet::physoutdev`] → `Option<u32>` |
//! | `get_packet_hw()`, `get_hwtype()`, `get_packet_hwhdr()` | [`Packet::hwaddr`], [`Packet::hwtype`], [`Packet::hwheader`], [`Packet::hwlen`] |
//! | `get_l3_proto()` | [`Packet::hw_protocol`] |
//! | `get_uid()`, `get_gid()`, `get_seq()`, `get_seq_global()` | [`Packet::uid`], [`Packet::gid`], [`Packet::seq`], [`Packet::seq_global`] |
//! | (none) | [`Packet::hook`], [`Packet::family`], [`Packet::group`], [`Packet::conntrack`], [`Packet::ct_info`], [`Packet::vlan`], [`Packet::l2hdr`], [`Packet::attributes`] |
//!
//! # Minimum Rust version
//!
//! 1.83 (etherparse, used for decoding, needs it).
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

// The ground floor: the errors and the wire formats, which import nothing above them.
mod error;
mod namespace;
pub mod wire;

// Receiving: the socket, a group's settings, the listener. Private: their public items are
// re-exported below, at the root, which is the one path to each of them.
mod config;
mod receive;
mod socket;

// Layers a program may use or not, each a namespace of its own.
pub mod conntrack;
#[cfg(feature = "decode")]
pub mod decode;
#[cfg(feature = "filter")]
pub mod filter;
#[cfg(feature = "format")]
pub mod format;
pub mod nft;
pub mod pcap;

pub use config::{
    CopyMode, Flags, GroupConfig, MAX_COPY_RANGE, MAX_FLUSH_TIMEOUT_CENTIS, MAX_NLBUFSIZ,
};
pub use error::{Error, GroupOwner, Header, ParseError, Request, Setting};
pub use namespace::{Netns, ParseNetnsError};
pub use receive::batch::Batch;
pub use receive::listener::{
    Listener, ListenerBuilder, DEFAULT_GROWTH_LIMIT, DEFAULT_RECEIVE_BUFFER,
};
pub use receive::owned::{OwnedPacket, PacketVec};
pub use receive::per_group::PerGroup;
pub use receive::stats::Stats;
pub use receive::stop::StopHandle;
#[cfg(feature = "tokio")]
pub use receive::tokio::{AsyncListener, PacketStream};
pub use socket::names::InterfaceNames;
pub use socket::owner::{group_bindings, owner_of, parse_bindings, GroupBinding};
pub use socket::{Socket, MAX_DATAGRAM, MAX_PENDING};
pub use wire::family::{Family, Hook};
pub use wire::kind::PacketAttr;
pub use wire::packet::{Packet, PacketRepr, Vlan};
