//! Sockets opened in another network namespace (`Socket::open_in`, `ListenerBuilder::netns`)
//! against the real kernel: the packets, group bindings, interface names and group owners
//! are the other namespace's, and the calling thread never leaves its own.
//!
//! Each test runs on a thread in a private namespace of its own (`in_netns`) and opens its
//! socket in a second one, held by a child process (`unshare -n sleep 60`, killed when the
//! test ends) or made with `ip netns add` under a unique name and deleted afterwards. Rules
//! and traffic in the second namespace go through `nsenter`.

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nflog::{group_bindings, Error, InterfaceNames, Listener, Netns, Socket};
use support::{
    collect, in_netns, log_ports, own_netns, peer_bindings, privileged, udp_dport, wait_until,
    Namespace, PeerNetns,
};

/// How long a child (`unshare -n sleep 60`) may take to be in a namespace of its own.
const CHILD_START: Duration = Duration::from_secs(10);

/// A namespace held by a child process, `unshare -n sleep 60`, with `lo` up; the child is
/// killed on drop, and the namespace goes with it once no socket holds it.
fn child_netns() -> PeerNetns {
    let netns = PeerNetns::new(CHILD_START);
    netns.run("ip", &["link", "set", "lo", "up"]);
    netns
}

/// A namespace made with `ip netns add` under a name no other test or run uses, deleted on
/// drop (`ip netns delete`), panic or not.
struct NamedNetns {
    name: String,
}

impl NamedNetns {
    fn add() -> NamedNetns {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "nflog-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        support::run("ip", &["netns", "add", &name]);
        let netns = NamedNetns { name };
        netns.run("ip", &["link", "set", "lo", "up"]);
        netns
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }
}

impl Namespace for NamedNetns {
    fn nsenter(&self) -> Vec<String> {
        vec![format!("--net={}", self.path().display())]
    }

    fn id(&self) -> String {
        // The bind mount stands for the namespace; its inode is the namespace's.
        use std::os::unix::fs::MetadataExt;
        let inode = fs::metadata(self.path()).expect("stat the namespace").ino();
        format!("net:[{inode}]")
    }
}

impl Drop for NamedNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .status();
    }
}

#[test]
fn a_socket_opened_in_a_process_namespace_receives_its_packets_and_the_thread_stays_home() {
    if !privileged(
        "a_socket_opened_in_a_process_namespace_receives_its_packets_and_the_thread_stays_home",
    ) {
        return;
    }
    in_netns(|| {
        let home = own_netns();
        let other = child_netns();
        assert_ne!(home, other.id(), "two different namespaces");
        other.nft(&log_ports(&[(4701, 80)]));

        let mut listener = Listener::builder()
            .netns(Netns::Pid(other.pid()))
            .group(80)
            .bind()
            .unwrap();
        assert_eq!(
            own_netns(),
            home,
            "binding left the thread in its namespace"
        );

        // The group is bound in the child's namespace, not in the thread's.
        let port_id = listener.socket().port_id();
        assert!(
            peer_bindings(&other)
                .iter()
                .any(|b| b.group == 80 && b.port_id == port_id),
            "group 80 is bound to our socket in the child's namespace: {:?}",
            peer_bindings(&other)
        );
        assert!(
            !group_bindings().unwrap().iter().any(|b| b.group == 80),
            "group 80 is not bound in the thread's own namespace"
        );
        // So the thread's namespace can bind group 80 for itself, independently.
        let home_listener = Listener::bind(80).expect("group 80 is free at home");

        other.send_udp("127.0.0.1", 4701, 3);
        let got = collect(&mut listener, 3, Duration::from_secs(5));
        assert_eq!(
            got.len(),
            3,
            "the packets made in the child's namespace arrive"
        );
        for captured in &got {
            let packet = captured.view();
            assert_eq!(packet.group(), 80);
            assert_eq!(udp_dport(&packet), 4701);
        }
        assert_eq!(
            own_netns(),
            home,
            "receiving left the thread in its namespace"
        );
        drop(home_listener);
        drop(listener);
        // A process forked by a test running alongside holds a copy of the descriptor until
        // it execs: the socket is released then.
        wait_until(
            "closing the socket unbinds its group in the child's namespace",
            || !peer_bindings(&other).iter().any(|b| b.group == 80),
        );
    });
}

#[test]
fn interface_names_resolve_in_the_sockets_namespace() {
    if !privileged("interface_names_resolve_in_the_sockets_namespace") {
        return;
    }
    in_netns(|| {
        let other = child_netns();
        other.run(
            "ip",
            &[
                "link",
                "add",
                "nflogtest0",
                "type",
                "veth",
                "peer",
                "name",
                "nflogtest1",
            ],
        );
        other.run("ip", &["addr", "add", "10.99.0.1/24", "dev", "nflogtest0"]);
        other.run("ip", &["link", "set", "nflogtest0", "up"]);
        other.run("ip", &["link", "set", "nflogtest1", "up"]);
        other.nft(
            "table inet t {\n chain out {\n type filter hook output priority 0;\n \
             oifname \"nflogtest0\" udp dport 4702 log group 84\n }\n}\n",
        );
        let mut listener = Listener::builder()
            .netns(Netns::Pid(other.pid()))
            .group(84)
            .bind()
            .unwrap();

        // Routed out of the veth, which exists only in the child's namespace.
        other.send_udp("10.99.0.2", 4702, 1);
        let got = collect(&mut listener, 1, Duration::from_secs(5));
        assert_eq!(
            got.len(),
            1,
            "the packet routed out of nflogtest0 is logged"
        );
        let packet = got[0].view();
        let outdev = packet.outdev().expect("an output interface");
        assert_ne!(outdev, 1, "not lo");

        let mut names = InterfaceNames::new(&listener).unwrap();
        assert_eq!(names.interface_name(outdev), Some("nflogtest0"));
        assert_eq!(names.interface_name(1), Some("lo"));
        // The thread's own namespace has lo alone: the index means nothing there.
        let home = Socket::open().unwrap();
        let mut home_names = InterfaceNames::new(&home).unwrap();
        assert_eq!(home_names.interface_name(outdev), None);
        assert_eq!(home_names.interface_name(1), Some("lo"));
    });
}

#[test]
fn group_owned_in_another_namespace_names_the_owner_there() {
    if !privileged("group_owned_in_another_namespace_names_the_owner_there") {
        return;
    }
    in_netns(|| {
        let other = child_netns();
        let first = Listener::builder()
            .netns(Netns::Pid(other.pid()))
            .group(82)
            .bind()
            .unwrap();
        let first_port = first.socket().port_id();
        // The same group bound at home by another socket: a lookup made in the wrong
        // namespace would name this one. Port ids are per namespace and the first socket
        // of a process in each gets the pid: take it at home, so the two differ.
        let _takes_the_pid = Socket::open().unwrap();
        let home = Listener::bind(82).unwrap();
        let home_port = home.socket().port_id();
        assert_ne!(first_port, home_port);

        let err = Listener::builder()
            .netns(Netns::Pid(other.pid()))
            .group(82)
            .bind()
            .unwrap_err();
        let Error::GroupOwned {
            group: 82,
            owner: Some(owner),
        } = &err
        else {
            panic!("expected GroupOwned for group 82 with its owner, got {err:?}");
        };
        assert_eq!(
            owner.port_id, first_port,
            "the owner in the socket's namespace, not the thread's ({home_port})"
        );
        let comm = fs::read_to_string("/proc/self/comm").unwrap();
        assert_eq!(
            owner.process,
            Some((std::process::id(), comm.trim_end().to_string()))
        );
    });
}

#[test]
fn a_named_namespace_and_its_path_both_work() {
    if !privileged("a_named_namespace_and_its_path_both_work") {
        return;
    }
    in_netns(|| {
        let home = own_netns();
        let named = NamedNetns::add();
        assert_ne!(home, named.id());
        named.nft(&log_ports(&[(4703, 83), (4703, 86)]));

        let mut by_name = Listener::builder()
            .netns(Netns::Named(named.name.clone()))
            .group(83)
            .bind()
            .unwrap();
        let mut by_path = Listener::builder()
            .netns(Netns::Path(named.path()))
            .group(86)
            .bind()
            .unwrap();
        assert_eq!(own_netns(), home);

        named.send_udp("127.0.0.1", 4703, 2);
        for (listener, group) in [(&mut by_name, 83), (&mut by_path, 86)] {
            let got = collect(listener, 2, Duration::from_secs(5));
            assert_eq!(got.len(), 2, "group {group} receives both packets");
            assert!(got.iter().all(|c| c.view().group() == group));
        }
    });
}

#[test]
fn a_missing_namespace_is_a_typed_error_with_its_hint() {
    // Nothing here enters a namespace: no privilege needed.
    let name = format!("nflog-test-{}-absent", std::process::id());
    let err = Socket::open_in(&Netns::Named(name.clone())).unwrap_err();
    let Error::Namespace { netns, source } = &err else {
        panic!("expected Error::Namespace, got {err:?}");
    };
    assert_eq!(netns, &name);
    assert_eq!(source.raw_os_error(), Some(libc::ENOENT));
    assert_eq!(
        err.to_string(),
        format!(
            "no network namespace \"{name}\" (/run/netns/{name}): create it with \
             `ip netns add {name}`"
        )
    );
    let err = Listener::builder()
        .netns(Netns::Named(name))
        .group(1)
        .bind()
        .unwrap_err();
    assert!(matches!(err, Error::Namespace { .. }), "{err:?}");

    // A process that is gone.
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let err = Socket::open_in(&Netns::Pid(pid)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "no network namespace \"pid:{pid}\" (/proc/{pid}/ns/net): is process {pid} running?"
        )
    );

    // A namespace file of another kind: setns checks the type first (nsfs), EINVAL.
    let err = Socket::open_in(&Netns::Path("/proc/self/ns/uts".into())).unwrap_err();
    assert!(
        matches!(&err, Error::Namespace { source, .. } if source.raw_os_error() == Some(libc::EINVAL)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "/proc/self/ns/uts is not a network namespace: the kernel refused to enter it (setns)"
    );
}

#[test]
fn entering_without_cap_sys_admin_is_a_typed_error() {
    if !privileged("entering_without_cap_sys_admin_is_a_typed_error") {
        return;
    }
    let other = child_netns();
    let pid = other.pid();
    // Capabilities are per thread, and a new thread starts with its creator's: drop
    // CAP_SYS_ADMIN from this thread's effective set only, and let it end.
    let err = std::thread::spawn(move || {
        use rustix::thread::{capabilities, set_capabilities, CapabilitySet};
        let mut caps = capabilities(None).unwrap();
        caps.effective -= CapabilitySet::SYS_ADMIN;
        set_capabilities(None, caps).unwrap();
        Socket::open_in(&Netns::Pid(pid)).unwrap_err()
    })
    .join()
    .unwrap();
    assert!(
        matches!(&err, Error::Namespace { source, .. } if source.raw_os_error() == Some(libc::EPERM)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "not permitted to enter network namespace \"pid:{pid}\" (/proc/{pid}/ns/net): \
             needs CAP_SYS_ADMIN (run as root)"
        )
    );
}
