//! Interface index to name, cached, resolved in the network namespace of a socket.
//!
//! The kernel reports interfaces by index; indexes are per network namespace. An
//! [`InterfaceNames`] has a `NETLINK_ROUTE` socket of its own, opened in the namespace of
//! the NFLOG [`Socket`] it is made for: it asks that namespace for names it does not know
//! (`SIOCGIFNAME`), and follows the kernel's link notifications (`RTNLGRP_LINK`) so that a
//! renamed, deleted or replaced interface is never named as it was. It keeps nothing of the
//! NFLOG socket, so dropping the listener releases its groups.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use super::{sys, Socket};
use crate::error::Error;
use crate::wire::attr::Attributes;
use crate::wire::netlink::Messages;
use crate::wire::{emit_header, NLMSG_HDRLEN, NLM_F_REQUEST};

/// `RTM_NEWLINK` (rtnetlink.h): a link was created or changed, renames included.
const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`: a link was deleted.
const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`: asks for a link.
const RTM_GETLINK: u16 = 18;
/// `IFLA_IFNAME`: the link's name, NUL-terminated.
const IFLA_IFNAME: u16 = 3;
/// The size of `struct ifinfomsg`, which comes before a link message's attributes.
const IFINFOMSG_LEN: usize = 16;
/// Room for one link notification: its attributes (statistics, addresses, properties)
/// rarely pass a page or two; a cut one is treated as lost.
const NOTIFICATION_BUFFER: usize = 32 * 1024;

/// A cache of interface names of one network namespace, kept current by the kernel's link
/// notifications.
///
/// Each lookup first reads the notifications that arrived since the last one: a rename,
/// a deletion, or a new interface that took a deleted one's index, is seen by the next
/// lookup, so a name is right at the moment the packet is written. When notifications were
/// lost (the kernel reports ENOBUFS) the cache is emptied and names are asked again.
pub struct InterfaceNames {
    route: OwnedFd,
    /// Names as the kernel stores them: any bytes but `/`, `:`, NUL and white space, not
    /// necessarily UTF-8.
    cache: HashMap<u32, Vec<u8>>,
    buffer: Vec<u8>,
}

impl InterfaceNames {
    /// Names the interfaces of the network namespace of `socket` (a [`Socket`] or a
    /// [`Listener`](crate::Listener)).
    ///
    /// For a socket opened with [`Socket::open_in`], entering its namespace needs
    /// CAP_SYS_ADMIN: make the names before dropping privileges. After that, lookups need no
    /// privilege.
    ///
    /// # Errors
    ///
    /// [`Error::Namespace`] when the socket's namespace cannot be entered; [`Error::Io`]
    /// when the rtnetlink socket cannot be opened.
    pub fn new(socket: impl AsRef<Socket>) -> Result<Self, Error> {
        let route = socket
            .as_ref()
            .in_namespace(sys::open_link_notifications)?
            .map_err(|e| Error::io("opening an rtnetlink socket for interface names", e))?;
        Ok(InterfaceNames {
            route,
            cache: HashMap::new(),
            buffer: vec![0; NOTIFICATION_BUFFER],
        })
    }

    /// Forgets every name: each is asked again at its next lookup.
    pub fn clear(&mut self) {
        self.cache.clear();
    }

    /// Applies the link notifications that arrived since the last call.
    fn follow_notifications(&mut self) {
        loop {
            match sys::recv(self.route.as_fd(), &mut self.buffer, false) {
                Ok(len) if len <= self.buffer.len() => apply(&mut self.cache, &self.buffer[..len]),
                // Cut short: what it changed is unknown.
                Ok(_) => self.cache.clear(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Notifications were dropped: which names changed is unknown.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.cache.clear(),
                // Trust no name; the next lookup reads again.
                Err(_) => {
                    self.cache.clear();
                    return;
                }
            }
        }
    }
}

impl core::fmt::Debug for InterfaceNames {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InterfaceNames")
            .field("route", &self.route)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Updates `cache` from one datagram of link notifications.
fn apply(cache: &mut HashMap<u32, Vec<u8>>, datagram: &[u8]) {
    for message in Messages::new(datagram) {
        let Ok(message) = message else {
            // The rest of the datagram cannot be walked: forget what it may have changed.
            cache.clear();
            return;
        };
        let kind = message.message_type();
        if kind != RTM_NEWLINK && kind != RTM_DELLINK {
            continue;
        }
        let body = message.body();
        let Some(index) = body
            .get(4..8)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        else {
            cache.clear();
            return;
        };
        let name = (kind == RTM_NEWLINK)
            .then(|| link_name(body.get(IFINFOMSG_LEN..).unwrap_or_default()))
            .flatten();
        match name {
            Some(name) => {
                cache.insert(index, name);
            }
            // Deleted, or a name we cannot read: asked again at the next lookup.
            None => {
                cache.remove(&index);
            }
        }
    }
}

/// The `IFLA_IFNAME` of a link message's attributes, if it is there: the name's bytes.
fn link_name(attributes: &[u8]) -> Option<Vec<u8>> {
    let attr = Attributes::new(attributes)
        .map_while(Result::ok)
        .find(|a| a.kind() == IFLA_IFNAME)?;
    let value = attr.value();
    let name = value.split(|b| *b == 0).next().unwrap_or(value);
    Some(name.to_vec())
}

// The formats name interfaces through their trait, `ResolveInterface`, implemented for this
// type in `format/`: the socket layer does not know the formats above it.
impl InterfaceNames {
    /// The name of interface `index` as it is now, if it exists and is UTF-8.
    pub fn interface_name(&mut self, index: u32) -> Option<&str> {
        self.interface_name_bytes(index)
            .and_then(|name| core::str::from_utf8(name).ok())
    }

    /// The name of interface `index` as it is now, if it exists, as the kernel stores it:
    /// bytes that need not be UTF-8 (the kernel refuses only `/`, `:` and white space).
    pub fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
        self.follow_notifications();
        // Only names found are cached: a miss may be an interface created since, so it is
        // asked again next time.
        if !self.cache.contains_key(&index) {
            match rustix::net::netdevice::index_to_name(&self.route, index) {
                Ok(name) => {
                    self.cache.insert(index, name.into_bytes());
                }
                // rustix refuses a name that is not UTF-8: ask rtnetlink for the link, whose
                // answer, an RTM_NEWLINK, is read like a notification.
                Err(rustix::io::Errno::ILSEQ) => {
                    self.ask_link(index);
                    self.follow_notifications();
                }
                Err(_) => return None,
            }
        }
        self.cache.get(&index).map(Vec::as_slice)
    }

    /// Sends `RTM_GETLINK` for link `index`. rtnetlink answers in the sending thread, so
    /// the answer is waiting on the socket when this returns; a failed send leaves the name
    /// unknown.
    fn ask_link(&self, index: u32) {
        const LEN: usize = NLMSG_HDRLEN + IFINFOMSG_LEN;
        let mut request = Vec::with_capacity(LEN);
        emit_header(&mut request, LEN as u32, RTM_GETLINK, NLM_F_REQUEST, 0);
        // struct ifinfomsg: family AF_UNSPEC, pad, type, then the index, flags and change.
        request.extend_from_slice(&[0; 4]);
        request.extend_from_slice(&index.to_ne_bytes());
        request.extend_from_slice(&[0; 8]);
        let _ = rustix::net::send(&self.route, &request, rustix::net::SendFlags::empty());
    }
}
