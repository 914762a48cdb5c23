//! Shared by the tests that drive the real kernel.
//!
//! Every such test runs on a thread of its own that has entered a new, private network
//! namespace (`unshare(CLONE_NEWNET)` affects only the calling thread), brings up `lo`
//! there, installs its own nftables rules, and makes its own traffic on loopback. Nothing
//! touches the host's ruleset, interfaces or group bindings.
//!
//! Without privileges (not root, or no `nft`) a test says why and skips; under CI
//! (`CI` set) a skip is a failure.
#![allow(dead_code, unsafe_code)]

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nflog::{Listener, Packet};

/// Whether this process can run the privileged tests; if not, says why, and panics under CI.
pub fn privileged(test: &str) -> bool {
    let reason = if !rustix::process::geteuid().is_root() {
        Some("not running as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)")
    } else if Command::new("nft").arg("--version").output().is_err() {
        Some("`nft` not found: install the nftables package")
    } else if Command::new("ip").arg("-V").output().is_err() {
        Some("`ip` not found: install the iproute2 package")
    } else {
        None
    };
    match reason {
        None => true,
        Some(reason) if std::env::var_os("CI").is_some() => {
            panic!("{test}: privileged test cannot run under CI: {reason}")
        }
        Some(reason) => {
            eprintln!("SKIPPED {test}: {reason}");
            false
        }
    }
}

/// Runs `f` on a new thread inside a new network namespace with `lo` up, and returns its
/// result. The namespace disappears when the thread ends and its sockets are closed.
pub fn in_netns<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    std::thread::spawn(move || {
        enter_new_netns();
        run("ip", &["link", "set", "lo", "up"]);
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Moves the calling thread into a new network namespace.
pub fn enter_new_netns() {
    // SAFETY: CLONE_NEWNET changes only this thread's network namespace; the file
    // descriptor table is not unshared, so no descriptor becomes unusable.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .expect("unshare(CLONE_NEWNET)");
}

/// Runs a command (in the calling thread's namespaces) and panics if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Loads an nftables ruleset (`nft -f -`) into the calling thread's namespace.
pub fn nft(ruleset: &str) {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nft");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ruleset.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "nft failed: {}\n{ruleset}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Sends `count` UDP datagrams of `payload` from an ephemeral port to `to` (loopback).
pub fn send_udp(to: &str, payload: &[u8], count: usize) {
    let bind = if to.starts_with('[') {
        "[::1]:0"
    } else {
        "127.0.0.1:0"
    };
    let socket = UdpSocket::bind(bind).expect("bind UDP sender");
    for _ in 0..count {
        socket.send_to(payload, to).expect("send UDP");
    }
}

/// A packet copied out of the receive buffer, to look at after receiving.
#[derive(Debug, Clone)]
pub struct Captured {
    pub body: Vec<u8>,
}

impl Captured {
    pub fn packet(&self) -> Packet<'_> {
        Packet::parse(&self.body).expect("a packet that parsed once parses again")
    }
}

/// Receives until `count` packets arrived or `timeout` passed.
pub fn collect(listener: &mut Listener, count: usize, timeout: Duration) -> Vec<Captured> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    while got.len() < count && Instant::now() < deadline {
        match listener.try_recv().expect("receive") {
            Some(batch) => {
                for packet in batch {
                    got.push(Captured {
                        body: packet.expect("packet parses").as_bytes().to_vec(),
                    });
                }
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    got
}
