//! Shared by the command's end-to-end tests, which run the built `nflog` against the real
//! kernel: what all of the workspace's tests share comes from `nflog-test-support`
//! (privileges and the CI rule, private namespaces, traffic, ulogd; see its crate docs),
//! re-exported here; this module adds the command under test and its files.
//!
//! Every child is held by a [`Proc`], which kills it if the test panics.
#![allow(dead_code)]

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub use nflog_test_support::*;
pub use rustix::process::Signal;

/// The command under test.
pub const NFLOG: &str = env!("CARGO_BIN_EXE_nflog");

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
    nflog_output_with(args, &[])
}

/// [`nflog_output`] with environment variables set for the command (`TZ`, say).
pub fn nflog_output_with(args: &[&str], env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let out = Command::new(NFLOG)
        .args(args)
        .envs(env.iter().copied())
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

/// Whether the netlink socket bound to `group` has nothing waiting: its `Rmem` column in
/// `/proc/net/netlink` is 0.
pub fn socket_queue_empty(group: u16) -> bool {
    let nfnetlink = std::fs::read_to_string("/proc/thread-self/net/netfilter/nfnetlink_log")
        .unwrap_or_default();
    // The bound group's line: group, port id, ...
    let Some(portid) = nfnetlink.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let g: u16 = fields.next()?.parse().ok()?;
        (g == group).then(|| fields.next().map(str::to_string))?
    }) else {
        return false;
    };
    let netlink = std::fs::read_to_string("/proc/thread-self/net/netlink").unwrap();
    // sk Eth Pid Groups Rmem Wmem ...; NETLINK_NETFILTER is protocol 12.
    netlink.lines().skip(1).any(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        f.len() > 4 && f[1] == "12" && f[2] == portid && f[4] == "0"
    })
}

/// Sends `packets` UDP datagrams of `size` bytes to 127.0.0.1:`port`, pausing a millisecond
/// after each 500, so that the command's reader gets the processor on a busy machine while a
/// stuck writer stays stuck.
pub fn send_paced(port: u16, packets: usize, size: usize) {
    let socket = std::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).unwrap();
    let payload = vec![0x5a; size];
    for i in 0..packets {
        socket
            .send_to(&payload, (std::net::Ipv4Addr::LOCALHOST, port))
            .unwrap();
        if i % 500 == 499 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
