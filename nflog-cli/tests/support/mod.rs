//! Shared by the command's end-to-end tests, which run the built `nflog` against the real
//! kernel.
//!
//! Every kernel test runs on a thread of its own that has entered a new, private network
//! namespace (`unshare(CLONE_NEWNET)` affects only the calling thread), brings up `lo`
//! there, installs its own nftables rules, and makes its own traffic on loopback. Child
//! processes spawned from that thread (`nflog`, `tcpdump`, `ulogd`, `nft`) inherit its
//! namespace, so nothing touches the host's ruleset, interfaces or group bindings. Every
//! child is held by a [`Proc`], which kills it if the test panics.
//!
//! Without privileges (not root, or a tool missing) a test says why and skips; under CI
//! (`CI` set) a skip is a failure.
#![allow(dead_code, unsafe_code)]

pub mod ulogd;

use std::fs::{self, File};
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use rustix::process::Signal;

/// The command under test.
pub const NFLOG: &str = env!("CARGO_BIN_EXE_nflog");

/// How long any one wait may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Skips the test (says why) or, under CI, fails it.
pub fn skip(test: &str, reason: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: privileged test cannot run under CI: {reason}");
    }
    eprintln!("SKIPPED {test}: {reason}");
    false
}

/// Whether this process can run the kernel tests: root, `nft` and `ip`. If not, says why
/// and returns false, or panics under CI.
pub fn privileged(test: &str) -> bool {
    if !rustix::process::geteuid().is_root() {
        return skip(
            test,
            "not running as root (needs CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)",
        );
    }
    has_tool(test, "nft", "--version", "nftables") && has_tool(test, "ip", "-V", "iproute2")
}

/// Whether `program` runs; if not, says which package to install and skips (fails under CI).
pub fn has_tool(test: &str, program: &str, version_flag: &str, package: &str) -> bool {
    let found = Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    found
        || skip(
            test,
            &format!("`{program}` not found: install the {package} package"),
        )
}

/// Runs `f` on a new thread inside a new network namespace with `lo` up, and returns its
/// result; a panic in `f` is the test's. The namespace disappears when the thread ends and
/// its sockets and children are gone.
pub fn in_netns<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    std::thread::spawn(move || {
        // SAFETY: CLONE_NEWNET changes only this thread's network namespace; the file
        // descriptor table is not unshared, so no descriptor becomes unusable.
        unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
            .expect("unshare(CLONE_NEWNET)");
        run("ip", &["link", "set", "lo", "up"]);
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs a command (in the calling thread's namespaces) and panics if it fails; its stdout.
pub fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
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

/// The groups bound in the calling thread's network namespace.
pub fn bound_groups() -> Vec<u16> {
    fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Polls `done` every few milliseconds until it holds; panics with `what` after `DEADLINE`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A temporary directory for a test's files, removed at the end (kept, and named, when the
/// test fails).
pub struct Scratch(Option<tempfile::TempDir>);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(Some(
            tempfile::Builder::new()
                .prefix("nflog-cli-test-")
                .tempdir()
                .expect("temporary directory"),
        ))
    }

    pub fn path(&self) -> &Path {
        self.0.as_ref().unwrap().path()
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(dir) = self.0.take() {
                eprintln!("test files kept in {}", dir.keep().display());
            }
        }
    }
}

/// A child process whose stdout and stderr go to files; killed (SIGKILL) and reaped on
/// drop if it is still running, so that a failing test leaves nothing behind.
pub struct Proc {
    child: Child,
    name: String,
    stdout: PathBuf,
    stderr: PathBuf,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Spawns `command` with stdin from /dev/null and its output in `dir/name.stdout` and
    /// `dir/name.stderr`.
    pub fn spawn(mut command: Command, dir: &Path, name: &str) -> Proc {
        let stdout = dir.join(format!("{name}.stdout"));
        let stderr = dir.join(format!("{name}.stderr"));
        let child = command
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        Proc {
            child,
            name: name.to_string(),
            stdout,
            stderr,
            status: None,
        }
    }

    /// Spawns the command under test with `args`.
    pub fn nflog(args: &[&str], dir: &Path, name: &str) -> Proc {
        let mut command = Command::new(NFLOG);
        command.args(args);
        Proc::spawn(command, dir, name)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its exit status, if it has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Sends it a signal.
    pub fn signal(&self, signal: Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id() as i32).unwrap();
        rustix::process::kill_process(pid, signal).expect("kill");
    }

    /// Waits for it to exit; panics, showing its stderr, after `DEADLINE`.
    pub fn wait(&mut self) -> ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit; stderr: {}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until `group` is bound in the calling thread's namespace; panics if the
    /// process exits first or after `DEADLINE`, showing its stderr.
    pub fn wait_bound(&mut self, group: u16) {
        let deadline = Instant::now() + DEADLINE;
        while !bound_groups().contains(&group) {
            if let Some(status) = self.exited() {
                panic!(
                    "{} exited ({status}) before binding group {group}; stderr: {}",
                    self.name,
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not bind group {group}; stderr: {}",
                self.name,
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs the command under test to its end (it must not wait for packets) and returns its
/// status, stdout and stderr.
pub fn nflog_output(args: &[&str]) -> (ExitStatus, String, String) {
    let out = Command::new(NFLOG)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run nflog");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `stderr` is one line, and returns it.
pub fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got: {stderr:?}"
    );
    lines[0]
}

/// The number just before `what` in the statistics line `line`, as in
/// `figure(line, " packets written")`; panics, showing the line, when there is none.
pub fn figure(line: &str, what: &str) -> u64 {
    let before = &line[..line
        .find(what)
        .unwrap_or_else(|| panic!("no {what:?} in {line:?}"))];
    before
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .trim_start_matches('(')
        .parse()
        .unwrap_or_else(|e| panic!("no number before {what:?}: {e}: {line:?}"))
}

/// Asserts that `line` is the closing statistics line, for `written` packets.
pub fn assert_statistics(line: &str, written: u64) {
    assert!(
        line.starts_with(&format!("nflog: {written} packets written; received ")),
        "not the statistics line for {written} packets: {line:?}"
    );
    assert!(line.contains("kernel overruns"), "{line:?}");
}

// Traffic, all on loopback.

/// Sends a UDP datagram from an ephemeral port to 127.0.0.1:`port`.
pub fn udp4(port: u16, payload: &[u8]) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind UDP");
    socket
        .send_to(payload, (Ipv4Addr::LOCALHOST, port))
        .expect("send UDP");
}

/// Sends a UDP datagram from an ephemeral port to [::1]:`port`.
pub fn udp6(port: u16, payload: &[u8]) {
    let socket = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).expect("bind UDP6");
    socket
        .send_to(payload, (Ipv6Addr::LOCALHOST, port))
        .expect("send UDP6");
}

/// Sends one TCP SYN to 127.0.0.1:`port`, where nothing listens: the kernel answers with a
/// RST, so there is no retransmission.
pub fn tcp_syn(port: u16) {
    let refused =
        TcpStream::connect_timeout(&(Ipv4Addr::LOCALHOST, port).into(), Duration::from_secs(5));
    assert!(refused.is_err(), "something listens on port {port}");
}

/// Sends one ICMP echo request (id 0x1234, seq 1) to 127.0.0.1 over a raw socket; the
/// kernel answers it.
pub fn ping4() {
    use rustix::net::{ipproto, socket, AddressFamily, SendFlags, SocketType};
    let fd = socket(AddressFamily::INET, SocketType::RAW, Some(ipproto::ICMP)).expect("ICMP");
    let mut echo = *b"\x08\x00\x00\x00\x12\x34\x00\x01pingdata";
    let sum = checksum(&echo);
    echo[2..4].copy_from_slice(&sum.to_be_bytes());
    rustix::net::sendto(
        &fd,
        &echo,
        SendFlags::empty(),
        &SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
    )
    .expect("send ICMP echo");
}

/// Sends one ICMPv6 echo request (id 0x1234, seq 1) to ::1 (the kernel computes the
/// checksum of ICMPv6 raw sockets).
pub fn ping6() {
    use rustix::net::{ipproto, socket, AddressFamily, SendFlags, SocketType};
    let fd = socket(AddressFamily::INET6, SocketType::RAW, Some(ipproto::ICMPV6)).expect("ICMPv6");
    let echo = *b"\x80\x00\x00\x00\x12\x34\x00\x01pingdata";
    rustix::net::sendto(
        &fd,
        &echo,
        SendFlags::empty(),
        &SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0),
    )
    .expect("send ICMPv6 echo");
}

/// The Internet checksum (RFC 1071).
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The mixed traffic several tests log: UDP over IPv4 and IPv6 to port 40000, a TCP SYN to
/// the closed port 5555, ICMP and ICMPv6 echo requests. Each is one packet at OUTPUT and
/// one at INPUT for the rules of [`mixed_rules`].
pub fn mixed_traffic() {
    udp4(40000, b"hello");
    udp6(40000, b"hello6");
    tcp_syn(5555);
    ping4();
    ping6();
}

/// How many packets [`mixed_traffic`] makes at one hook.
pub const MIXED_PACKETS: usize = 5;

/// nftables rules matching each packet of [`mixed_traffic`] once at `hook`, then applying
/// `action` (such as `log group 5 prefix "in"`) to it.
pub fn mixed_rules(hook: &str, action: &str) -> String {
    format!(
        "  chain {hook} {{\n    type filter hook {hook} priority 0; policy accept;\n\
         \x20   meta l4proto udp udp dport 40000 {action}\n\
         \x20   tcp dport 5555 {action}\n\
         \x20   icmp type echo-request {action}\n\
         \x20   icmpv6 type echo-request {action}\n  }}\n"
    )
}

/// The records of a capture file that are whole so far: (link type number, bytes). A file
/// still being written may end inside a record; that record is left out.
pub fn records(path: &Path) -> Vec<(u16, Vec<u8>)> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    let Ok(mut reader) = nflog::pcap::CaptureReader::new(std::io::BufReader::new(file)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    while let Ok(Some(record)) = reader.next_record() {
        out.push((record.link_type.number(), record.data.to_vec()));
    }
    out
}

/// The lines of a file (none if it does not exist yet).
pub fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The attributes of an NFLOG record: (type with flags masked, offset of the value, value
/// length).
pub fn tlvs(record: &[u8]) -> Vec<(u16, usize, usize)> {
    let mut out = Vec::new();
    let mut at = 4;
    while at + 4 <= record.len() {
        let len = usize::from(u16::from_ne_bytes([record[at], record[at + 1]]));
        let kind = u16::from_ne_bytes([record[at + 2], record[at + 3]]) & 0x3fff;
        assert!(len >= 4 && at + len <= record.len(), "bad TLV at {at}");
        out.push((kind, at + 4, len - 4));
        at += (len + 3) & !3;
    }
    out
}
