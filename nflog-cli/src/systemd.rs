//! The systemd notification protocol (`sd_notify(3)`), without libsystemd: one datagram of
//! `KEY=VALUE` lines to the socket `NOTIFY_SOCKET` names.
//!
//! A service of `Type=notify` says `READY=1` once its groups are bound, so units ordered
//! after it start only then; `STOPPING=1` when it is told to stop; and, when the unit has
//! `WatchdogSec=`, `WATCHDOG=1` every half of `WATCHDOG_USEC`, from a thread of its own.
//! Outside systemd (no `NOTIFY_SOCKET`) nothing is sent.

use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Where notifications go: the socket `NOTIFY_SOCKET` names.
#[derive(Debug)]
pub struct Notifier {
    socket: UnixDatagram,
    address: SocketAddr,
}

impl Notifier {
    /// The notifier the environment asks for (`NOTIFY_SOCKET`), if any.
    ///
    /// # Errors
    ///
    /// When `NOTIFY_SOCKET` is set but names no socket this can send to.
    pub fn from_env() -> Result<Option<Notifier>> {
        match std::env::var_os("NOTIFY_SOCKET") {
            None => Ok(None),
            Some(name) if name.is_empty() => Ok(None),
            Some(name) => Notifier::new(&name.to_string_lossy())
                .map(Some)
                .with_context(|| format!("NOTIFY_SOCKET={}", name.to_string_lossy())),
        }
    }

    /// A notifier sending to `name`: a path, or `@NAME` for an abstract socket.
    ///
    /// # Errors
    ///
    /// When `name` is neither (systemd's `vsock:` addresses are not supported), or no
    /// datagram socket can be made.
    pub fn new(name: &str) -> Result<Notifier> {
        let address = if let Some(abstract_name) = name.strip_prefix('@') {
            SocketAddr::from_abstract_name(abstract_name.as_bytes())
        } else if name.starts_with('/') {
            SocketAddr::from_pathname(name)
        } else {
            bail!("not a socket path (/...) or an abstract socket name (@...)");
        }
        .context("naming the notification socket")?;
        let socket = UnixDatagram::unbound().context("making a notification socket")?;
        Ok(Notifier { socket, address })
    }

    /// Sends `state`, one or more `KEY=VALUE` lines, in one datagram.
    ///
    /// # Errors
    ///
    /// When the datagram cannot be sent (the manager is gone).
    pub fn notify(&self, state: &str) -> io::Result<()> {
        self.socket
            .send_to_addr(state.as_bytes(), &self.address)
            .map(drop)
    }
}

/// How often the manager expects `WATCHDOG=1`, from `WATCHDOG_USEC` (and `WATCHDOG_PID`,
/// when set, naming this process): half its timeout, as `sd_watchdog_enabled(3)` advises.
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID") {
        if pid.to_str()?.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(1)))
}

/// Sends `WATCHDOG=1` every `interval` from a thread of its own, for as long as the process
/// lives: the manager restarts a service that stops sending it (a process that hangs, or a
/// thread that died).
///
/// # Errors
///
/// When the thread cannot be started.
pub fn keep_alive(notifier: Arc<Notifier>, interval: Duration) -> Result<()> {
    notifier
        .notify("WATCHDOG=1")
        .context("telling systemd's watchdog (NOTIFY_SOCKET)")?;
    thread::Builder::new()
        .name("nflog sd watchdog".into())
        .spawn(move || loop {
            thread::sleep(interval);
            // A manager that went away is not this process's failure; keep trying.
            let _ = notifier.notify("WATCHDOG=1");
        })
        .context("starting the systemd watchdog thread")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_a_path_and_an_abstract_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let manager = UnixDatagram::bind(&path).unwrap();
        let notifier = Notifier::new(path.to_str().unwrap()).unwrap();
        notifier.notify("READY=1\nSTATUS=capturing").unwrap();
        let mut buffer = [0; 256];
        let n = manager.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1\nSTATUS=capturing");

        let name = format!("nflog-test-{}", std::process::id());
        let address = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let manager = UnixDatagram::bind_addr(&address).unwrap();
        let notifier = Notifier::new(&format!("@{name}")).unwrap();
        notifier.notify("STOPPING=1").unwrap();
        let n = manager.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"STOPPING=1");
    }

    #[test]
    fn a_socket_name_that_is_neither_is_refused() {
        let e = format!("{:#}", Notifier::new("vsock:2:1234").unwrap_err());
        assert!(
            e.starts_with("not a socket path (/...) or an abstract"),
            "{e}"
        );
    }
}
