//! Other network namespaces: naming one, and opening a socket in it without moving the
//! calling thread.
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
use core::str::FromStr;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};
use rustix::thread::{move_into_link_name_space, LinkNameSpaceType};

use crate::error::Error;

/// Where `ip netns add NAME` puts the namespace file.
const NETNS_RUN_DIR: &str = "/run/netns";

/// A network namespace, named the way `ip netns`, `nsenter` and `/proc` name them.
///
/// Parsed from text by [`FromStr`]: `NAME`, a path (anything with a `/`), or `pid:PID`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Netns {
    /// A namespace made with `ip netns add NAME`: `/run/netns/NAME`.
    Named(String),
    /// A namespace file: a bind mount of one, or a `/proc/PID/ns/net` link.
    Path(PathBuf),
    /// The namespace of a process: `/proc/PID/ns/net`.
    Pid(u32),
}

impl Netns {
    /// The file that stands for the namespace.
    pub fn path(&self) -> PathBuf {
        match self {
            Netns::Named(name) => PathBuf::from(NETNS_RUN_DIR).join(name),
            Netns::Path(path) => path.clone(),
            Netns::Pid(pid) => PathBuf::from(format!("/proc/{pid}/ns/net")),
        }
    }
}

/// Shown as it is parsed: `NAME`, the path, or `pid:PID`.
impl fmt::Display for Netns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netns::Named(name) => f.write_str(name),
            Netns::Path(path) => write!(f, "{}", path.display()),
            Netns::Pid(pid) => write!(f, "pid:{pid}"),
        }
    }
}

impl FromStr for Netns {
    type Err = ParseNetnsError;

    /// `pid:PID` is a process's namespace, text with a `/` a path, and anything else a
    /// name under `/run/netns`.
    fn from_str(s: &str) -> Result<Netns, ParseNetnsError> {
        let error = |reason| ParseNetnsError {
            input: s.to_string(),
            reason,
        };
        if let Some(pid) = s.strip_prefix("pid:") {
            return match pid.parse::<u32>() {
                Ok(pid) if pid > 0 => Ok(Netns::Pid(pid)),
                _ => Err(error("PID must be a process id, a number from 1")),
            };
        }
        if s.contains('/') {
            return Ok(Netns::Path(PathBuf::from(s)));
        }
        match s {
            "" => Err(error("it is empty")),
            "." | ".." => Err(error("`.` and `..` are not namespace names")),
            name => Ok(Netns::Named(name.to_string())),
        }
    }
}

/// Text that names no network namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseNetnsError {
    input: String,
    reason: &'static str,
}

impl fmt::Display for ParseNetnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "\"{}\" is not a network namespace ({}): use NAME (as `ip netns` names it), \
             a /PATH to a namespace file, or pid:PID",
            self.input, self.reason
        )
    }
}

impl std::error::Error for ParseNetnsError {}

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

/// Writes the message of [`Error::Namespace`]: what is wrong and what to do, for the
/// usual errnos.
pub(crate) fn write_error(
    f: &mut fmt::Formatter<'_>,
    netns: &str,
    source: &io::Error,
) -> fmt::Result {
    let parsed = netns.parse::<Netns>().ok();
    let named = match &parsed {
        Some(Netns::Path(path)) => format!("{}", path.display()),
        Some(other) => format!("\"{netns}\" ({})", other.path().display()),
        None => format!("\"{netns}\""),
    };
    match (source.raw_os_error(), &parsed) {
        (Some(libc::ENOENT), Some(Netns::Named(name))) => write!(
            f,
            "no network namespace {named}: create it with `ip netns add {name}`"
        ),
        (Some(libc::ENOENT | libc::ESRCH), Some(Netns::Pid(pid))) => {
            write!(f, "no network namespace {named}: is process {pid} running?")
        }
        (Some(libc::ENOENT), _) => write!(f, "no network namespace {named}: no such file"),
        (Some(libc::EPERM | libc::EACCES), _) => write!(
            f,
            "not permitted to enter network namespace {named}: needs CAP_SYS_ADMIN \
             (run as root)"
        ),
        (Some(libc::EINVAL), _) => write!(
            f,
            "{named} is not a network namespace: the kernel refused to enter it (setns)"
        ),
        _ => write!(f, "network namespace {named}: {source}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_paths_and_pids() {
        assert_eq!("blue".parse(), Ok(Netns::Named("blue".into())));
        assert_eq!(
            "/run/netns/blue".parse(),
            Ok(Netns::Path("/run/netns/blue".into()))
        );
        assert_eq!("./ns".parse(), Ok(Netns::Path("./ns".into())));
        assert_eq!("pid:1234".parse(), Ok(Netns::Pid(1234)));
        for bad in ["", ".", "..", "pid:", "pid:0", "pid:-1", "pid:x"] {
            assert!(bad.parse::<Netns>().is_err(), "{bad:?} should not parse");
        }
        assert_eq!(
            "pid:x".parse::<Netns>().unwrap_err().to_string(),
            "\"pid:x\" is not a network namespace (PID must be a process id, a number \
             from 1): use NAME (as `ip netns` names it), a /PATH to a namespace file, or \
             pid:PID"
        );
    }

    #[test]
    fn display_round_trips_and_paths_follow_ip_netns() {
        for netns in [
            Netns::Named("blue".into()),
            Netns::Path("/proc/1/ns/net".into()),
            Netns::Pid(42),
        ] {
            assert_eq!(netns.to_string().parse::<Netns>(), Ok(netns.clone()));
        }
        assert_eq!(
            Netns::Named("blue".into()).path(),
            PathBuf::from("/run/netns/blue")
        );
        assert_eq!(Netns::Pid(42).path(), PathBuf::from("/proc/42/ns/net"));
    }

    fn namespace_error(netns: &str, errno: i32) -> String {
        Error::Namespace {
            netns: netns.into(),
            source: io::Error::from_raw_os_error(errno),
        }
        .to_string()
    }

    #[test]
    fn namespace_errors_say_what_to_do() {
        assert_eq!(
            namespace_error("blue", libc::ENOENT),
            "no network namespace \"blue\" (/run/netns/blue): create it with \
             `ip netns add blue`"
        );
        assert_eq!(
            namespace_error("pid:99999", libc::ENOENT),
            "no network namespace \"pid:99999\" (/proc/99999/ns/net): is process 99999 running?"
        );
        assert_eq!(
            namespace_error("/tmp/ns", libc::ENOENT),
            "no network namespace /tmp/ns: no such file"
        );
        assert_eq!(
            namespace_error("blue", libc::EPERM),
            "not permitted to enter network namespace \"blue\" (/run/netns/blue): needs \
             CAP_SYS_ADMIN (run as root)"
        );
        assert_eq!(
            namespace_error("/etc/hostname", libc::EINVAL),
            "/etc/hostname is not a network namespace: the kernel refused to enter it (setns)"
        );
        let e = Error::Namespace {
            netns: "blue".into(),
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(e.raw_os_error(), Some(libc::ENOENT));
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(io::Error::from(e).kind(), io::ErrorKind::NotFound);
    }
}
