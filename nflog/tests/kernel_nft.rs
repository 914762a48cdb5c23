//! nf_tables rules installed by the library itself (`nflog::nft`), each test in a private
//! network namespace: what they log, what `nft` sees of them, that they vanish with the
//! socket or process that made them, and the errors of bad input.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use nflog::nft::{
    CaptureRules, CmpOp, Expr, Filter, Limit, LimitUnit, MetaKey, MsgType, NftError, NftSocket,
    PayloadBase, Register, FREE_GROUP_START,
};
use nflog::{Family, GroupConfig, Hook, Listener};
use support::{collect, drop_net_admin, in_netns, privileged, run, send_udp, udp_dport, WAIT};

/// `udp dport PORT`, as nft compiles it.
fn udp_dport_is(port: u16) -> Vec<Expr> {
    vec![
        Expr::Meta {
            key: MetaKey::L4Proto,
            dreg: Register::R1,
        },
        Expr::Cmp {
            sreg: Register::R1,
            op: CmpOp::Eq,
            data: vec![17],
        },
        Expr::Payload {
            base: PayloadBase::Transport,
            offset: 2,
            len: 2,
            dreg: Register::R1,
        },
        Expr::Cmp {
            sreg: Register::R1,
            op: CmpOp::Eq,
            data: port.to_be_bytes().to_vec(),
        },
    ]
}

/// Capture of `udp dport 9999` at the output hook only (a loopback packet passes output and
/// input: one hook logs it once).
fn udp_9999() -> CaptureRules {
    CaptureRules {
        hooks: vec![Hook::Output],
        filter: Filter {
            alternatives: vec![udp_dport_is(9999)],
            sets: vec![],
        },
        ..CaptureRules::default()
    }
}

/// Whether the table exists in the calling thread's namespace, asked through our own socket.
fn table_exists(family: Family, table: &str) -> bool {
    NftSocket::open().unwrap().has_table(family, table).unwrap()
}

/// Whether the running kernel is at least `major.minor`.
fn kernel_at_least(major: u32, minor: u32) -> bool {
    let release = rustix::system::uname()
        .release()
        .to_string_lossy()
        .into_owned();
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let found: (u32, u32) = (
        parts.next().and_then(|p| p.parse().ok()).unwrap_or(0),
        parts.next().and_then(|p| p.parse().ok()).unwrap_or(0),
    );
    found >= (major, minor)
}

/// The tables `nft` lists in the calling thread's namespace.
fn nft_tables() -> String {
    run("nft", &["list", "tables"])
}

#[test]
fn udp_dport_9999_is_logged_and_other_ports_are_not() {
    if !privileged("udp_dport_9999_is_logged_and_other_ports_are_not") {
        return;
    }
    in_netns(|| {
        let mut listener = Listener::builder().bind().unwrap();
        let group = listener
            .add_free_group(FREE_GROUP_START, &[], &GroupConfig::default())
            .unwrap();
        assert_eq!(group, FREE_GROUP_START, "nothing else is bound here");
        let mut guard = udp_9999().install(group).unwrap();
        assert!(guard.is_owned(), "this kernel (5.12+) has the owner flag");
        send_udp("127.0.0.1:9998", b"not me", 3);
        send_udp("127.0.0.1:9999", b"me", 2);
        send_udp("[::1]:9999", b"me too", 1);
        let got = collect(&mut listener, 4, Duration::from_millis(1500));
        assert_eq!(
            got.len(),
            3,
            "two IPv4 and one IPv6 packet to 9999, nothing else"
        );
        for p in &got[..2] {
            assert_eq!(p.view().group(), group);
            assert_eq!(p.view().hook(), Hook::Output);
            assert_eq!(udp_dport(&p.view()), 9999);
        }
        assert_eq!(got[2].view().family(), Family::Ipv6);
        let counters = guard.counters().unwrap();
        assert_eq!(counters.matched, 3);
        assert_eq!(counters.over_limit, None);
        let table = guard.table().to_owned();
        drop(guard);
        assert!(!table_exists(Family::Inet, &table), "the guard deleted it");
    });
}

#[test]
fn nft_lists_what_we_installed() {
    if !privileged("nft_lists_what_we_installed") {
        return;
    }
    in_netns(|| {
        let rules = CaptureRules {
            limit: Some(Limit {
                rate: 10,
                unit: LimitUnit::Second,
                burst: 5,
            }),
            prefix: Some("nflog-test".into()),
            snaplen: Some(128),
            ..udp_9999()
        };
        let guard = rules.install(40000).unwrap();
        let listed = run("nft", &["list", "table", "inet", guard.table()]);
        for expected in [
            "flags owner",
            "chain output {",
            "type filter hook output priority mangle; policy accept;",
            "goto match",
            "udp dport 9999 goto logged",
            // nft leaves out its default burst of 5.
            "counter packets 0 bytes 0 limit rate 10/second counter packets 0 bytes 0 log prefix \"nflog-test\" group 40000 snaplen 128",
        ] {
            assert!(listed.contains(expected), "{expected:?} not in:\n{listed}");
        }
    });
}

#[test]
fn a_flood_is_bounded_by_the_limit_and_the_excess_counted() {
    if !privileged("a_flood_is_bounded_by_the_limit_and_the_excess_counted") {
        return;
    }
    in_netns(|| {
        let mut listener = Listener::builder().bind().unwrap();
        let group = listener
            .add_free_group(FREE_GROUP_START, &[], &GroupConfig::default())
            .unwrap();
        let rules = CaptureRules {
            limit: Some(Limit {
                rate: 1,
                unit: LimitUnit::Minute,
                burst: 5,
            }),
            ..udp_9999()
        };
        let mut guard = rules.install(group).unwrap();
        send_udp("127.0.0.1:9999", b"flood", 200);
        let got = collect(&mut listener, 200, Duration::from_millis(1500));
        let counters = guard.counters().unwrap();
        assert_eq!(counters.matched, 200);
        let over = counters.over_limit.unwrap();
        // The burst passes (nft_limit: 1/minute with burst 5 lets 5 or 6 through at once).
        assert!((5..=6).contains(&got.len()), "{} logged", got.len());
        assert_eq!(
            over + got.len() as u64,
            200,
            "every match logged or counted over"
        );
    });
}

#[test]
fn two_captures_get_different_groups_and_tables() {
    if !privileged("two_captures_get_different_groups_and_tables") {
        return;
    }
    in_netns(|| {
        let mut first = Listener::builder().bind().unwrap();
        let mut second = Listener::builder().bind().unwrap();
        let config = GroupConfig::default();
        let a = first
            .add_free_group(FREE_GROUP_START, &[], &config)
            .unwrap();
        let b = second
            .add_free_group(FREE_GROUP_START, &[], &config)
            .unwrap();
        assert_ne!(a, b);
        let ga = udp_9999().install(a).unwrap();
        let gb = udp_9999().install(b).unwrap();
        assert_ne!(ga.table(), gb.table());
        send_udp("127.0.0.1:9999", b"both", 1);
        assert_eq!(collect(&mut first, 1, WAIT).len(), 1);
        assert_eq!(collect(&mut second, 1, WAIT).len(), 1);
    });
}

#[test]
fn a_free_group_skips_groups_that_rules_log_to() {
    if !privileged("a_free_group_skips_groups_that_rules_log_to") {
        return;
    }
    in_netns(|| {
        support::nft(&format!(
            "table ip user {{
                chain c {{
                    type filter hook output priority 0;
                    log group {FREE_GROUP_START}
                }}
            }}"
        ));
        let used = NftSocket::open().unwrap().logged_groups().unwrap();
        assert_eq!(used, vec![FREE_GROUP_START]);
        let mut listener = Listener::builder().bind().unwrap();
        let group = listener
            .add_free_group(FREE_GROUP_START, &used, &GroupConfig::default())
            .unwrap();
        assert_eq!(group, FREE_GROUP_START + 1);
    });
}

/// Not a test of its own: with `NFLOG_NFT_CHILD` set it is the child process that
/// `the_owner_table_goes_when_its_process_is_killed` runs and kills.
#[test]
fn child_installs_and_waits() {
    let Some(group) = std::env::var_os("NFLOG_NFT_CHILD") else {
        return;
    };
    let group: u16 = group.to_str().unwrap().parse().unwrap();
    let guard = udp_9999().install(group).unwrap();
    println!("installed {}", guard.table());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn the_owner_table_goes_when_its_process_is_killed() {
    if !privileged("the_owner_table_goes_when_its_process_is_killed") {
        return;
    }
    in_netns(|| {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_installs_and_waits", "--nocapture"])
            .env("NFLOG_NFT_CHILD", "41000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let table = loop {
            let line = lines
                .next()
                .expect("the child says what it installed")
                .unwrap();
            if let Some(table) = line.strip_prefix("installed ") {
                break table.to_owned();
            }
        };
        assert!(table.ends_with("-41000"), "{table}");
        assert!(nft_tables().contains(&table));
        child.kill().unwrap(); // SIGKILL: no destructor runs
        child.wait().unwrap();
        support::wait_until("the kernel deletes the owner table", || {
            !table_exists(Family::Inet, &table)
        });
        assert!(!nft_tables().contains(&table));
    });
}

/// The environment variable that makes the library install its table without the owner
/// flag, as on kernels before 5.12 (for tests only; see `CaptureRules::install_with`).
const NO_OWNER: &str = "NFLOG_TEST_NO_OWNER_FLAG";

/// Not a test of its own: with `NFLOG_NFT_PANIC_CHILD` set it is the child process that
/// `without_the_owner_flag_a_panic_in_the_callback_deletes_the_table` runs: it installs a
/// capture and panics in the callback of the first packet.
#[test]
fn child_panics_in_the_callback() {
    let Some(group) = std::env::var_os("NFLOG_NFT_PANIC_CHILD") else {
        return;
    };
    let group: u16 = group.to_str().unwrap().parse().unwrap();
    let mut listener = Listener::builder().groups([group]).bind().unwrap();
    let guard = udp_9999().install(group).unwrap();
    println!("installed {} owned {}", guard.table(), guard.is_owned());
    let _ = listener.run(|_packet| panic!("the callback panics"));
    unreachable!("run returns only when stopped");
}

/// Waits for the child's `installed TABLE ...` line; returns the rest of it.
fn installed_line(child: &mut std::process::Child) -> String {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines
            .next()
            .expect("the child says what it installed")
            .unwrap();
        if let Some(rest) = line.strip_prefix("installed ") {
            return rest.to_owned();
        }
    }
}

#[test]
fn without_the_owner_flag_a_panic_in_the_callback_deletes_the_table() {
    if !privileged("without_the_owner_flag_a_panic_in_the_callback_deletes_the_table") {
        return;
    }
    in_netns(|| {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_panics_in_the_callback", "--nocapture"])
            .env("NFLOG_NFT_PANIC_CHILD", "41001")
            .env(NO_OWNER, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let line = installed_line(&mut child);
        let (table, owned) = line.split_once(" owned ").unwrap();
        assert_eq!(owned, "false", "the path of kernels before 5.12");
        assert!(!run("nft", &["list", "table", "inet", table]).contains("flags owner"));
        send_udp("127.0.0.1:9999", b"panic", 1);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(stderr.contains("the callback panics"), "{stderr}");
        // The guard's drop, while the panic unwound, deleted the table.
        assert!(!table_exists(Family::Inet, table));
        assert_eq!(nft_tables(), "");
    });
}

#[test]
fn without_the_owner_flag_sigkill_leaves_the_table_behind() {
    if !privileged("without_the_owner_flag_sigkill_leaves_the_table_behind") {
        return;
    }
    in_netns(|| {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_installs_and_waits", "--nocapture"])
            .env("NFLOG_NFT_CHILD", "41002")
            .env(NO_OWNER, "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let table = installed_line(&mut child);
        child.kill().unwrap(); // SIGKILL: no destructor runs
        child.wait().unwrap();
        // docs/filter.md: before 5.12 nothing deletes it; `nft delete table` does.
        std::thread::sleep(Duration::from_millis(200));
        assert!(table_exists(Family::Inet, &table));
        run("nft", &["delete", "table", "inet", &table]);
        assert_eq!(nft_tables(), "");
    });
}

#[test]
fn without_cap_net_admin_the_error_says_so_and_nothing_is_installed() {
    if !privileged("without_cap_net_admin_the_error_says_so_and_nothing_is_installed") {
        return;
    }
    in_netns(|| {
        let result = std::thread::scope(|s| {
            s.spawn(|| {
                drop_net_admin();
                udp_9999().install(40001)
            })
            .join()
            .unwrap()
        });
        let e = result.unwrap_err();
        assert!(matches!(e, NftError::PermissionDenied), "{e:?}");
        assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
        assert_eq!(nft_tables(), "");
    });
}

#[test]
fn an_unknown_interface_is_named_and_nothing_is_installed() {
    if !privileged("an_unknown_interface_is_named_and_nothing_is_installed") {
        return;
    }
    in_netns(|| {
        let e = CaptureRules::netdev("nosuch0").install(40002).unwrap_err();
        assert!(
            matches!(&e, NftError::NoSuchInterface { name } if name == "nosuch0"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "no interface named \"nosuch0\" in this network namespace"
        );
        assert_eq!(nft_tables(), "");
        // An interface that exists: ingress and egress of lo.
        let guard = CaptureRules::netdev("lo").install(40002).unwrap();
        assert!(table_exists(Family::Netdev, guard.table()));
    });
}

#[test]
fn a_kernel_refusal_names_the_message_and_nothing_is_installed() {
    if !privileged("a_kernel_refusal_names_the_message_and_nothing_is_installed") {
        return;
    }
    in_netns(|| {
        // A lookup of a set the batch never made: the kernel refuses the rule (ENOENT),
        // after the table and chains of the same batch, which it then rolls back.
        let mut rules = udp_9999();
        rules.filter.alternatives[0].push(Expr::Lookup {
            sreg: Register::R1,
            set: "missing".into(),
            set_id: None,
            invert: false,
        });
        let e = rules.install(40003).unwrap_err();
        match &e {
            NftError::Kernel {
                message: Some(m),
                errno,
                ..
            } => {
                assert_eq!(*errno, libc::ENOENT, "{e}");
                assert_eq!(m.kind, nflog::nft::MsgType::NewRule, "{e}");
                assert!(m.object.ends_with(" match rule 1"), "{e}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            e.to_string()
                .starts_with("the kernel refused NEWRULE inet nflog-"),
            "{e}"
        );
        assert_eq!(nft_tables(), "");
    });
}

#[test]
fn a_kernel_error_carries_its_extended_message() {
    if !privileged("a_kernel_error_carries_its_extended_message") {
        return;
    }
    in_netns(|| {
        // A table whose NFTA_TABLE_FLAGS is 2 bytes, not 4: the top-level policy check
        // refuses it with a message of its own and the attribute's offset.
        let mut attributes = Vec::new();
        nflog::wire::emit(&mut attributes, 1, b"t\0"); // NFTA_TABLE_NAME
        nflog::wire::emit(&mut attributes, 2, &[0, 0]); // NFTA_TABLE_FLAGS, cut short
        let mut socket = NftSocket::open().unwrap();
        let mut batch = socket.batch();
        batch.add_raw(MsgType::NewTable, Family::Inet, "t", &attributes);
        let e = socket.send_batch(&mut batch).unwrap_err();
        let NftError::Kernel {
            message: Some(m),
            kernel_message,
            offset,
            errno,
        } = &e
        else {
            panic!("{e:?}");
        };
        assert_eq!(m.kind, MsgType::NewTable, "{e}");
        assert_eq!(*errno, libc::ERANGE, "{e}");
        // Debian 12's 6.1 checks a batch message's attributes without an extended ACK
        // (nfnetlink.c passed NULL for it); this machine's 6.18 sends both.
        if kernel_at_least(6, 18) {
            assert_eq!(
                kernel_message.as_deref(),
                Some("Attribute failed policy validation")
            );
            // nlmsghdr, nfgenmsg, the name attribute: then the flags.
            assert_eq!(*offset, Some(16 + 4 + 8), "{e}");
            assert_eq!(
                e.to_string(),
                "the kernel refused NEWTABLE inet t: Numerical result out of range \
                 (os error 34) (Attribute failed policy validation) at byte 28 of the message"
            );
        } else {
            assert_eq!(
                e.to_string(),
                "the kernel refused NEWTABLE inet t: Numerical result out of range (os error 34)"
                    .to_owned()
                    + &kernel_message
                        .as_ref()
                        .map_or(String::new(), |t| format!(" ({t})"))
                    + &offset.map_or(String::new(), |o| format!(" at byte {o} of the message"))
            );
        }
        assert_eq!(nft_tables(), "");
    });
}
