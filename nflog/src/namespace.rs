//! Naming a network namespace: `NAME`, a path, or `pid:PID`, the way `ip netns`, `nsenter`
//! and `/proc` name them. A plain value with no system call, at the ground floor beside
//! the errors that name it; the socket layer opens and enters what it names.

use core::fmt;
use core::str::FromStr;
use std::path::PathBuf;

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
}
