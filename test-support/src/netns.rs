//! Private network namespaces: the one a test's thread enters, and peers held by a child.

use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::{run, run_command, try_load_ruleset, Reaped};

/// Runs `f` on a new thread inside a new network namespace with `lo` up, and returns its
/// result; a panic in `f` is the test's. The namespace disappears when the thread ends and
/// its sockets and children are gone.
pub fn in_netns<T, F>(f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    std::thread::spawn(move || {
        enter_new_netns().unwrap_or_else(|e| panic!("{e}"));
        run("ip", &["link", "set", "lo", "up"]);
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Runs `f` on a new thread inside the existing network namespace `ns` (an open
/// `/proc/PID/ns/net` or `/run/netns/NAME`; `setns` moves only that thread), and returns
/// its result; children `f` spawns start there. A panic in `f` is the test's.
pub fn in_netns_of<T, F>(ns: impl AsFd, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let ns = ns
        .as_fd()
        .try_clone_to_owned()
        .expect("dup the namespace file");
    std::thread::spawn(move || {
        rustix::thread::move_into_link_name_space(
            ns.as_fd(),
            Some(rustix::thread::LinkNameSpaceType::Network),
        )
        .expect("setns(CLONE_NEWNET)");
        f()
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// Moves the calling thread into a new network namespace of its own.
pub fn enter_new_netns() -> Result<(), String> {
    // SAFETY: CLONE_NEWNET changes only this thread's network namespace; the file
    // descriptor table is not unshared, so no descriptor becomes unusable.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
        .map_err(|e| format!("unshare(CLONE_NEWNET): {e}"))
}

/// The inode of the calling thread's network namespace, which names it.
pub fn netns_inode() -> Result<u64, String> {
    Ok(std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| format!("/proc/thread-self/ns/net: {e}"))?
        .ino())
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

/// The groups bound in the calling thread's network namespace.
pub fn bound_groups() -> Vec<u16> {
    parse_bound_groups(
        &std::fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")
            .unwrap_or_default(),
    )
}

/// The group numbers of `/proc/.../net/netfilter/nfnetlink_log` (the first column).
pub fn parse_bound_groups(text: &str) -> Vec<u16> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next()?.parse().ok())
        .collect()
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
        try_load_ruleset(self.command("nft"), ruleset).unwrap_or_else(|e| panic!("{e}"));
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
        let left = crate::poll(timeout, || {
            std::fs::read_link(&theirs).is_ok_and(|link| link.to_string_lossy() != ours)
                && std::fs::read_to_string(&comm).is_ok_and(|c| c.trim_end() == "sleep")
        });
        assert!(left, "the child never left our netns");
        peer
    }

    /// The process id of the child that holds the namespace.
    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// The groups bound in the peer's namespace, as its `/proc/PID/net` shows them.
    pub fn bound_groups(&self) -> Vec<u16> {
        parse_bound_groups(&self.nfnetlink_log())
    }

    /// The peer's `/proc/PID/net/netfilter/nfnetlink_log`: one line per bound group.
    pub fn nfnetlink_log(&self) -> String {
        let path = format!("/proc/{}/net/netfilter/nfnetlink_log", self.pid());
        std::fs::read_to_string(path).expect("read the peer's nfnetlink_log")
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
