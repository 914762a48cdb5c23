//! Other network namespaces: opening a socket in one without moving the calling thread.
//! The namespace's name, [`Netns`], is a plain value at the ground floor
//! (`namespace.rs`), since errors name it.
//!
//! A socket belongs for life to the network namespace it was created in, whichever thread
//! uses it later. [`Socket::open_in`](crate::Socket::open_in) therefore opens the namespace
//! file, starts a short-lived thread that enters the namespace (`setns(CLONE_NEWNET)`, which
//! moves only that thread), creates the socket there and hands it back; the thread then
//! ends. The caller's thread never changes namespace.
//!
//! The few things later read from `/proc/thread-self/net` (who owns a group, for
//! [`Error::GroupOwned`]) are read the same way, on a thread inside the socket's namespace;
//! interface names are asked through the socket itself (see [`names`](super::names)).

use core::fmt;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use crate::error::Error;
use crate::namespace::Netns;

/// An open network namespace file, kept to enter the namespace again.
pub(crate) struct NamespaceFd {
    fd: OwnedFd,
    /// The namespace as the user named it, for errors.
    name: String,
}

impl NamespaceFd {
    /// Opens the file that stands for `netns`.
    ///
    /// # Errors
    ///
    /// [`Error::Namespace`] when the file cannot be opened (most often: it does not exist).
    pub(crate) fn open(netns: &Netns) -> Result<NamespaceFd, Error> {
        let name = netns.to_string();
        match rustix::fs::open(
            netns.path(),
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(NamespaceFd { fd, name }),
            Err(e) => Err(Error::Namespace {
                netns: name,
                source: e.into(),
            }),
        }
    }

    /// Runs `f` on a new thread that has entered this namespace, and returns its result.
    /// The calling thread stays where it is; the helper thread ends with `f`.
    ///
    /// # Errors
    ///
    /// [`Error::Namespace`] when the namespace cannot be entered: EPERM without
    /// CAP_SYS_ADMIN, EINVAL when the file is not a network namespace. [`Error::Io`] when
    /// no thread can be started.
    ///
    /// # Panics
    ///
    /// When `f` panics: the panic goes on in the caller.
    pub(crate) fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send,
        F: FnOnce() -> T + Send,
    {
        std::thread::scope(|scope| {
            let helper = std::thread::Builder::new()
                .name("nflog-netns".into())
                .spawn_scoped(scope, || {
                    // setns(2): joining a network namespace changes only the calling thread,
                    // and is allowed in a multithreaded process (unlike a user namespace).
                    move_into_link_name_space(self.fd.as_fd(), Some(LinkNameSpaceType::Network))
                        .map_err(io::Error::from)?;
                    Ok(f())
                })
                .map_err(|e| Error::io("starting a thread to enter the network namespace", e))?;
            match helper.join() {
                Ok(result) => result.map_err(|source| Error::Namespace {
                    netns: self.name.clone(),
                    source,
                }),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }
}

impl fmt::Debug for NamespaceFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamespaceFd")
            .field("fd", &self.fd)
            .field("name", &self.name)
            .finish()
    }
}
