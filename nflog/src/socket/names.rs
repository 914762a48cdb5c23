//! Interface index to name, cached, resolved in the network namespace of a socket.
//!
//! The kernel reports interfaces by index; indexes are per network namespace. The lookup
//! (`SIOCGIFNAME`) runs on the socket that received the packets, so it answers for that
//! socket's namespace even when the calling thread is in another one.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};

/// A cache of interface names, filled on a miss by asking the kernel through a socket.
#[derive(Debug)]
pub struct InterfaceNames {
    socket: OwnedFd,
    cache: HashMap<u32, String>,
}

impl InterfaceNames {
    /// Resolves through `socket` (a duplicate of it is kept), in its network namespace.
    ///
    /// # Errors
    ///
    /// When the descriptor cannot be duplicated.
    pub fn new(socket: impl AsFd) -> std::io::Result<Self> {
        Ok(InterfaceNames {
            socket: socket.as_fd().try_clone_to_owned()?,
            cache: HashMap::new(),
        })
    }

    /// Forgets every name, for example after interfaces were renamed.
    pub fn clear(&mut self) {
        self.cache.clear();
    }
}

// The formats name interfaces through their trait, `ResolveInterface`, implemented for this
// type in `format/`: the socket layer does not know the formats above it.
impl InterfaceNames {
    /// The name of interface `index`, if it exists.
    pub fn interface_name(&mut self, index: u32) -> Option<&str> {
        // Only names found are cached: a miss may be an interface created since, so it is
        // asked again next time.
        if !self.cache.contains_key(&index) {
            let name = rustix::net::netdevice::index_to_name(&self.socket, index).ok()?;
            self.cache.insert(index, name);
        }
        self.cache.get(&index).map(String::as_str)
    }
}
