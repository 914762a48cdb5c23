//! Shared by the tests that drive the real kernel.
//!
//! Every such test runs on a thread of its own that has entered a new, private network
//! namespace (`unshare(CLONE_NEWNET)` affects only the calling thread), brings up `lo`
//! there, installs its own nftables rules, and makes its own traffic on loopback. Nothing
//! touches the host's ruleset, interfaces or group bindings. Tests that need a second
//! namespace get one held by a child process ([`PeerNetns`]) and reach it through `nsenter`
//! ([`Namespace`]).
//!
//! Without privileges (not root, or no `nft`) a test says why and skips; under CI
//! (`CI` set) a skip is a failure.
#![allow(dead_code, unsafe_code)]

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nflog::{parse_bindings, GroupBinding, Listener, Packet};

/// How long to wait for packets that must come.
pub const WAIT: Duration = Duration::from_secs(5);

/// `ARPHRD_ETHER`.
pub const ARPHRD_ETHER: u16 = 1;

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
    run_command(Command::new(program).args(args))
}

/// Runs a prepared command, returns its standard output, and panics if it fails.
pub fn run_command(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Loads an nftables ruleset (`nft -f -`) into the calling thread's namespace.
pub fn nft(ruleset: &str) {
    load_ruleset(Command::new("nft"), ruleset);
}

/// Runs `nft` as `command` (plain, or through `nsenter`) with `-f -` and `ruleset` on its
/// standard input, and panics if it fails.
fn load_ruleset(mut command: Command, ruleset: &str) {
    let mut child = command
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
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

/// A ruleset that logs UDP to each `(port, group)` on the output hook.
pub fn log_ports(rules: &[(u16, u16)]) -> String {
    let lines: String = rules
        .iter()
        .map(|(port, group)| format!("udp dport {port} log group {group}\n"))
        .collect();
    format!(
        "table inet t {{\n chain out {{\n type filter hook output priority 0;\n{lines} }}\n}}\n"
    )
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

/// The UDP destination port of an IPv4 packet whose payload was copied.
pub fn udp_dport(packet: &Packet<'_>) -> u16 {
    let ip = packet.payload().expect("payload copied");
    assert_eq!(ip[0] >> 4, 4, "an IPv4 packet");
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    u16::from_be_bytes([ip[ihl + 2], ip[ihl + 3]])
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

/// Polls `done` every few milliseconds until it holds or `timeout` passes; returns whether
/// it held.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The index and, for Ethernet-like links, the MAC address from one line of `ip -o link`.
pub fn parse_ip_link(line: &str) -> (u32, Option<[u8; 6]>) {
    let index = line
        .split(':')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no interface index in {line:?}"));
    let mut words = line.split_whitespace();
    let mac = words
        .find(|w| w.starts_with("link/"))
        .and_then(|_| words.next())
        .map(|mac| {
            let bytes: Vec<u8> = mac
                .split(':')
                .map(|byte| u8::from_str_radix(byte, 16).expect("hex byte in a MAC address"))
                .collect();
            bytes.try_into().expect("a 6-byte MAC address")
        });
    (index, mac)
}

/// The index of interface `name` in the calling thread's network namespace.
///
/// Asked of the kernel with `ip` (netlink) rather than read from `/sys/class/net`, which
/// shows the mount namespace's view, not the thread's network namespace.
pub fn ifindex(name: &str) -> u32 {
    parse_ip_link(&run("ip", &["-o", "link", "show", name])).0
}

/// Index and MAC address of interface `name` in the calling thread's network namespace.
pub fn link(name: &str) -> (u32, [u8; 6]) {
    let (index, mac) = parse_ip_link(&run("ip", &["-o", "link", "show", name]));
    (index, mac.expect("an Ethernet address"))
}

/// The link text of a namespace file, `net:[inode]`.
pub fn link_text(path: impl AsRef<std::path::Path>) -> String {
    std::fs::read_link(path)
        .expect("readlink a namespace")
        .to_string_lossy()
        .into_owned()
}

/// The calling thread's network namespace, `net:[inode]`.
pub fn own_netns() -> String {
    link_text("/proc/thread-self/ns/net")
}

/// A child process that is killed and reaped on drop, even when the test panics.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Another network namespace, entered with `nsenter` for commands, rules and traffic.
pub trait Namespace {
    /// `nsenter` options that enter it.
    fn nsenter(&self) -> Vec<String>;
    /// The namespace file's link text, `net:[inode]`.
    fn id(&self) -> String;

    /// `program` as a command to run inside the namespace (through `nsenter`).
    fn command(&self, program: &str) -> Command {
        let mut command = Command::new("nsenter");
        command.args(self.nsenter()).arg(program);
        command
    }

    /// Runs a command inside the namespace and panics if it fails.
    fn run(&self, program: &str, args: &[&str]) -> String {
        run_command(self.command(program).args(args))
    }

    /// Loads an nftables ruleset into the namespace.
    fn nft(&self, ruleset: &str) {
        load_ruleset(self.command("nft"), ruleset);
    }

    /// Sends `count` UDP datagrams to `address:port` from inside the namespace.
    fn send_udp(&self, address: &str, port: u16, count: usize) {
        let script =
            format!("for i in $(seq {count}); do echo x > /dev/udp/{address}/{port}; done");
        self.run("bash", &["-c", &script]);
    }
}

/// A second network namespace, held by a child process (`unshare -n sleep 60`) that is
/// killed and reaped on drop; its interfaces go with it once no socket holds it. No name is
/// registered (`ip netns add` would leave a file in /run/netns behind on a crash).
pub struct PeerNetns {
    child: Reaped,
}

impl PeerNetns {
    /// Starts the child from the calling thread and waits, up to `timeout`, until it is in
    /// a namespace of its own and runs `sleep`. Until it has left ours, `ip link set ...
    /// netns PID` would move into ours; `sleep` runs only once `unshare` made the
    /// namespace.
    pub fn new(timeout: Duration) -> PeerNetns {
        let child = Command::new("unshare")
            .args(["-n", "sleep", "60"])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn `unshare -n sleep 60`");
        let peer = PeerNetns {
            child: Reaped(child),
        };
        let ours = own_netns();
        let theirs = format!("/proc/{}/ns/net", peer.pid());
        let comm = format!("/proc/{}/comm", peer.pid());
        // Before `unshare` has exec'd, or while it has not yet unshared, the link is ours.
        let left = wait_until(timeout, || {
            std::fs::read_link(&theirs).is_ok_and(|link| link.to_string_lossy() != ours)
                && std::fs::read_to_string(&comm).is_ok_and(|c| c.trim_end() == "sleep")
        });
        assert!(left, "the child never left our netns");
        peer
    }

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The groups bound in the peer's namespace, as its `/proc/PID/net` shows them.
    pub fn bindings(&self) -> Vec<GroupBinding> {
        let path = format!("/proc/{}/net/netfilter/nfnetlink_log", self.pid());
        parse_bindings(&std::fs::read_to_string(path).expect("read the peer's nfnetlink_log"))
    }

    /// Moves our interface `name` into this namespace, gives it `address` and brings it
    /// up; returns its MAC address.
    pub fn adopt(&self, name: &str, address: &str) -> [u8; 6] {
        run(
            "ip",
            &["link", "set", name, "netns", &self.pid().to_string()],
        );
        self.run("ip", &["addr", "add", address, "dev", name]);
        self.run("ip", &["link", "set", name, "up"]);
        let line = self.run("ip", &["-o", "link", "show", name]);
        parse_ip_link(&line).1.expect("an Ethernet address")
    }
}

impl Namespace for PeerNetns {
    fn nsenter(&self) -> Vec<String> {
        vec!["-t".into(), self.pid().to_string(), "-n".into()]
    }

    fn id(&self) -> String {
        link_text(format!("/proc/{}/ns/net", self.pid()))
    }
}

/// `veth0` in the calling thread's namespace, 192.0.2.1/24, and its peer `veth1` in a
/// [`PeerNetns`], 192.0.2.2/24 (TEST-NET-1, used only between these two namespaces), both
/// up.
pub struct Veth {
    /// veth0's index.
    pub index: u32,
    /// veth0's MAC address.
    pub our_mac: [u8; 6],
    /// veth1's MAC address.
    pub peer_mac: [u8; 6],
}

impl Veth {
    /// Makes the pair, moving `veth1` into `peer`.
    pub fn to(peer: &PeerNetns) -> Veth {
        run(
            "ip",
            &[
                "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
            ],
        );
        let peer_mac = peer.adopt("veth1", "192.0.2.2/24");
        run("ip", &["addr", "add", "192.0.2.1/24", "dev", "veth0"]);
        run("ip", &["link", "set", "veth0", "up"]);
        let (index, our_mac) = link("veth0");
        Veth {
            index,
            our_mac,
            peer_mac,
        }
    }
}
