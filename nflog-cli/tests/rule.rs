//! `nflog EXPRESSION`: the command picks a free group, installs its own rule and removes it,
//! each test in a private network namespace.

mod support;

use rustix::process::Signal;
use support::{figure, in_netns, nflog_output, privileged, run, udp4, wait_until, Proc, Scratch};

/// The tables `nft` lists in the calling thread's namespace.
fn tables() -> String {
    run("nft", &["list", "tables"])
}

/// Waits until the command says which group and table it installed; returns the group.
fn wait_installed(nflog: &mut Proc) -> u16 {
    wait_until("nflog installs its rule", || {
        nflog.stderr().contains("nflog: capturing") || nflog.exited().is_some()
    });
    let stderr = nflog.stderr();
    let line = stderr
        .lines()
        .find(|l| l.starts_with("nflog: capturing"))
        .unwrap_or_else(|| panic!("no installation line: {stderr}"));
    let group = line
        .split(" in group ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("{line}"));
    assert!(
        tables().contains(&format!("nflog-{}-{group}", nflog.pid())),
        "{}",
        tables()
    );
    group
}

#[test]
fn an_expression_logs_what_it_matches_and_the_table_goes_at_exit() {
    if !privileged("an_expression_logs_what_it_matches_and_the_table_goes_at_exit") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut nflog = Proc::nflog(
            &["-c", "2", "--hook", "output", "udp dst port 9999"],
            dir.path(),
            "nflog",
        );
        let group = wait_installed(&mut nflog);
        assert_eq!(group, 32768);
        udp4(9998, b"not this one");
        udp4(9999, b"this one");
        udp4(9997, b"nor this");
        udp4(9999, b"and this");
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        let out = nflog.stdout();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines
                .iter()
                .all(|l| l.contains(" DPT=9999 ") && l.ends_with("GROUP=32768 ")),
            "{out}"
        );
        assert_eq!(tables(), "", "the table is gone");
    });
}

#[test]
fn sigkill_of_the_command_leaves_no_table() {
    if !privileged("sigkill_of_the_command_leaves_no_table") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut nflog = Proc::nflog(&["tcp port 22"], dir.path(), "nflog");
        wait_installed(&mut nflog);
        nflog.signal(Signal::KILL);
        nflog.wait();
        wait_until("the kernel deletes the owner table", || tables().is_empty());
    });
}

#[test]
fn two_captures_get_different_groups_and_tables() {
    if !privileged("two_captures_get_different_groups_and_tables") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut first = Proc::nflog(&["udp port 9999"], dir.path(), "first");
        let a = wait_installed(&mut first);
        let mut second = Proc::nflog(&["udp port 9999"], dir.path(), "second");
        let b = wait_installed(&mut second);
        assert_ne!(a, b);
        udp4(9999, b"both");
        wait_until("both log the packet", || {
            first.stdout().contains("DPT=9999") && second.stdout().contains("DPT=9999")
        });
        first.signal(Signal::TERM);
        second.signal(Signal::TERM);
        assert!(first.wait().success() && second.wait().success());
        assert_eq!(tables(), "");
    });
}

#[test]
fn a_limit_bounds_a_flood_in_the_kernel() {
    if !privileged("a_limit_bounds_a_flood_in_the_kernel") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut nflog = Proc::nflog(
            &[
                "--hook",
                "output",
                "--limit",
                "1/minute",
                "--limit-burst",
                "3",
                "--prefix",
                "flood",
                "udp dst port 9999",
            ],
            dir.path(),
            "nflog",
        );
        wait_installed(&mut nflog);
        let listed = run("nft", &["list", "ruleset"]);
        assert!(
            listed.contains("limit rate 1/minute burst 3 packets counter packets 0 bytes 0 log prefix \"flood\" group 32768"),
            "{listed}"
        );
        for _ in 0..100 {
            udp4(9999, b"flood");
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        let written = nflog.stdout().lines().count();
        assert!(
            (3..=4).contains(&written),
            "burst 3 passes, the rest is held back: {written}"
        );
        assert!(nflog
            .stdout()
            .lines()
            .all(|l| l.starts_with("flood") || l.contains(" flood")));
        let stderr = nflog.stderr();
        let line = stderr
            .lines()
            .find(|l| l.contains(" packets written"))
            .unwrap();
        assert_eq!(figure(line, " packets written"), written as u64, "{stderr}");
        // The rule's counters, read back at the end by the thread that kept CAP_NET_ADMIN:
        // every packet matched, and each one logged or held back by the limit.
        let last = stderr.lines().last().unwrap();
        assert_eq!(
            last,
            format!(
                "nflog: the rule matched 100 packets, {} of them over --limit (not logged)",
                100 - written
            ),
            "{stderr}"
        );
    });
}

#[test]
fn bad_input_is_named_and_nothing_is_installed() {
    if !privileged("bad_input_is_named_and_nothing_is_installed") {
        return;
    }
    in_netns(|| {
        for (args, expected) in [
            (
                &["tcp port"][..],
                "nflog: filter: expected a port number at column 9, found the end\n",
            ),
            (
                &["-i", "nosuch0", "tcp port 22"],
                "nflog: -i nosuch0: no interface of that name in this network namespace (see `ip link`)\n",
            ),
            (
                &["-g", "5", "--limit", "5/second"],
                "nflog: --hook, -i, --family, --limit, --limit-burst and --prefix shape the rule \
                 nflog installs for an expression given without -g; with -g the rule is yours \
                 (nft ... log group N)\n",
            ),
            (
                &["--family", "netdev", "tcp port 22"],
                "nflog: --family netdev hooks on one interface: name it with -i IFACE\n",
            ),
            (
                &["--family", "arp", "--hook", "forward", "arp"],
                "nflog: --hook forward: family arp has no such hook (it has input and output)\n",
            ),
        ] {
            let (status, stdout, stderr) = nflog_output(args);
            assert!(!status.success(), "{args:?}");
            assert_eq!(stdout, "", "{args:?}");
            assert_eq!(stderr, expected, "{args:?}");
            assert_eq!(tables(), "", "{args:?}");
            assert!(support::bound_groups().is_empty(), "{args:?}");
        }
    });
}

#[test]
fn without_cap_net_admin_the_error_names_the_capability() {
    if !privileged("without_cap_net_admin_the_error_names_the_capability") {
        return;
    }
    in_netns(|| {
        let out = std::process::Command::new("setpriv")
            .args(["--inh-caps=-all", "--bounding-set=-net_admin", "--"])
            .arg(support::NFLOG)
            .arg("tcp port 22")
            .output()
            .expect("setpriv");
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("CAP_NET_ADMIN"), "{stderr}");
        assert_eq!(tables(), "");
    });
}

#[test]
fn the_demo_needs_no_nft_binary() {
    if !privileged("the_demo_needs_no_nft_binary") {
        return;
    }
    // A PATH with `ip` (the demo brings up its namespace's lo with it) and nothing else.
    let dir = Scratch::new();
    let ip = run("sh", &["-c", "command -v ip"]);
    std::os::unix::fs::symlink(ip.trim(), dir.join("ip")).unwrap();
    let out = std::process::Command::new(support::NFLOG)
        .arg("demo")
        .env("PATH", dir.path())
        .output()
        .expect("run nflog demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for prefix in [
        "demo udp IN=",
        "demo tcp in IN=",
        "demo tcp out IN=",
        "demo ping IN=",
        "demo ping6 IN=",
    ] {
        assert!(stdout.contains(prefix), "no {prefix:?} in: {stdout}");
    }
    assert!(
        stderr.contains("log prefix \"demo udp\" group 1"),
        "{stderr}"
    );
}

#[test]
fn only_the_rules_thread_keeps_cap_net_admin_and_it_survives_z() {
    if !privileged("only_the_rules_thread_keeps_cap_net_admin_and_it_survives_z") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut nflog = Proc::nflog(
            &["-Z", "nobody", "--hook", "output", "udp dst port 9999"],
            dir.path(),
            "nflog",
        );
        wait_installed(&mut nflog);
        // Every thread's capabilities: none, but the rule's thread's CAP_NET_ADMIN (bit 12)
        // in its permitted and bounding sets, once it has settled after the change of user.
        let settled = || {
            let tasks: Vec<_> = std::fs::read_dir(format!("/proc/{}/task", nflog.pid()))
                .unwrap()
                .flatten()
                .map(|t| t.path())
                .collect();
            let mut keeper = false;
            let all = tasks.iter().all(|task| {
                let comm = std::fs::read_to_string(task.join("comm")).unwrap_or_default();
                let status = std::fs::read_to_string(task.join("status")).unwrap_or_default();
                let field = |name: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                };
                let expected = if comm.trim() == "nflog rule" {
                    keeper = true;
                    1 << 12
                } else {
                    0
                };
                field("CapPrm:") == Some(expected)
                    && field("CapBnd:") == Some(expected)
                    && field("CapEff:") == Some(0)
            });
            all && keeper
        };
        wait_until("only the rule's thread keeps CAP_NET_ADMIN", settled);
        udp4(9999, b"one");
        wait_until("the packet is written", || {
            nflog.stdout().contains("DPT=9999")
        });
        nflog.signal(Signal::TERM);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        let stderr = nflog.stderr();
        assert_eq!(
            stderr.lines().last(),
            Some("nflog: the rule matched 1 packets"),
            "{stderr}"
        );
        assert_eq!(tables(), "", "deleted by the rule's thread");
    });
}

/// The environment variable that makes the library install its table without the owner
/// flag, as on kernels before 5.12 (for tests only; see `CaptureRules::install_with`).
const NO_OWNER: &str = "NFLOG_TEST_NO_OWNER_FLAG";

/// The command with `args`, taking the path of kernels without the owner flag.
fn nflog_without_owner_flag(args: &[&str], dir: &std::path::Path, name: &str) -> Proc {
    let mut command = std::process::Command::new(support::NFLOG);
    command.args(args).env(NO_OWNER, "1");
    Proc::spawn(command, dir, name)
}

/// The one table nflog installed in the calling thread's namespace, as `nft` lists it,
/// checked to lack the owner flag (the path of kernels before 5.12).
fn listed_without_owner_flag(nflog: &Proc, group: u16) -> String {
    let table = format!("nflog-{}-{group}", nflog.pid());
    let listed = run("nft", &["list", "table", "inet", &table]);
    assert!(!listed.contains("flags owner"), "{listed}");
    listed
}

#[test]
fn without_the_owner_flag_ctrl_c_deletes_the_table() {
    if !privileged("without_the_owner_flag_ctrl_c_deletes_the_table") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut nflog = nflog_without_owner_flag(
            &["--hook", "output", "udp dst port 9999"],
            dir.path(),
            "nflog",
        );
        let group = wait_installed(&mut nflog);
        listed_without_owner_flag(&nflog, group);
        udp4(9999, b"one");
        wait_until("the packet is written", || {
            nflog.stdout().contains("DPT=9999")
        });
        nflog.signal(Signal::INT);
        assert!(nflog.wait().success(), "{}", nflog.stderr());
        assert_eq!(tables(), "", "the command deleted its table");
    });
}

#[test]
fn without_the_owner_flag_an_error_after_install_deletes_the_table() {
    if !privileged("without_the_owner_flag_an_error_after_install_deletes_the_table") {
        return;
    }
    in_netns(|| {
        // NOTIFY_SOCKET is read once the rule is installed and its keeper thread started
        // (capture.rs): a name that is no socket address fails the command there.
        let out = std::process::Command::new(support::NFLOG)
            .args(["--hook", "output", "udp dst port 9999"])
            .env(NO_OWNER, "1")
            .env("NOTIFY_SOCKET", "not-a-socket")
            .output()
            .expect("run nflog");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("nflog: capturing `udp dst port 9999`"),
            "{stderr}"
        );
        assert!(stderr.contains("NOTIFY_SOCKET=not-a-socket"), "{stderr}");
        assert_eq!(tables(), "", "deleted before the process exited");
    });
}

#[test]
fn without_the_owner_flag_sigkill_leaves_the_table_and_nft_deletes_it() {
    if !privileged("without_the_owner_flag_sigkill_leaves_the_table_and_nft_deletes_it") {
        return;
    }
    in_netns(|| {
        let dir = Scratch::new();
        let mut nflog =
            nflog_without_owner_flag(&["--hook", "output", "tcp port 22"], dir.path(), "nflog");
        let group = wait_installed(&mut nflog);
        let table = format!("nflog-{}-{group}", nflog.pid());
        nflog.signal(Signal::KILL);
        nflog.wait();
        // What docs/filter.md says: on a kernel before 5.12 the table stays, logging to a
        // group nobody listens to, until removed by hand.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let listed = listed_without_owner_flag(&nflog, group);
        assert!(listed.contains(&format!("log group {group}")), "{listed}");
        run("nft", &["delete", "table", "inet", &table]);
        assert_eq!(tables(), "");
    });
}

#[test]
fn without_the_owner_flag_a_capture_ended_by_the_watchdog_deletes_the_table() {
    if !privileged("without_the_owner_flag_a_capture_ended_by_the_watchdog_deletes_the_table") {
        return;
    }
    in_netns(|| {
        // Standard output a pipe nobody reads: after SIGTERM the writer stays in `write()`,
        // and the watchdog ends the process (capture.rs, `watch`).
        let mut child = std::process::Command::new(support::NFLOG)
            .args(["-n", "--hook", "output", "udp dst port 9999"])
            .env(NO_OWNER, "1")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let table = format!("nflog-{pid}-32768");
        wait_until("nflog installs its rule", || tables().contains(&table));
        // 3,000 lines of about 250 bytes: far more than the pipe (64 KiB) holds.
        support::send_paced(9999, 3_000, 100);
        wait_until("the socket is drained", || {
            support::socket_queue_empty(32768)
        });
        let pid = rustix::process::Pid::from_raw(pid as i32).unwrap();
        rustix::process::kill_process(pid, Signal::TERM).unwrap();
        wait_until("the watchdog ends nflog", || {
            child.try_wait().unwrap().is_some()
        });
        assert!(child.wait().unwrap().success());
        assert_eq!(tables(), "", "deleted before the watchdog's exit");
    });
}
