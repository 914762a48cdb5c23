//! A throwaway rsyslog for the tests of the syslog outputs: its own configuration in a
//! directory of its own, UDP and TCP inputs on 127.0.0.1 ports of the calling thread's
//! network namespace (start it from inside [`in_netns`](crate::in_netns)), a datagram
//! socket in its directory (never `/dev/log`: the system socket is off), and one file where
//! every message is written as a JSON object holding the whole message as received
//! (`raw`) and rsyslog's reading of it. The host's rsyslog service and its files are never
//! used. Killed by its drop guard, even when the test panics.

use std::fs;
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::server::free_port;

/// Debian's rsyslog daemon (package rsyslog).
pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";

/// How long rsyslog may take to start or stop before the test fails.
const DEADLINE: Duration = Duration::from_secs(20);

/// rsyslog's file format: one JSON object a line, `raw` the message as received, then
/// the fields rsyslog parsed from it and the input it came by.
const TEMPLATE: &str = r#"template(name="whole" type="list") {
  constant(value="{\"raw\":\"") property(name="rawmsg" format="json")
  constant(value="\",\"msg\":\"") property(name="msg" format="json")
  constant(value="\",\"sd\":\"") property(name="structured-data" format="json")
  constant(value="\",\"pri\":\"") property(name="pri")
  constant(value="\",\"hostname\":\"") property(name="hostname" format="json")
  constant(value="\",\"app\":\"") property(name="app-name" format="json")
  constant(value="\",\"procid\":\"") property(name="procid" format="json")
  constant(value="\",\"input\":\"") property(name="inputname")
  constant(value="\"}\n")
}"#;

/// A running rsyslogd of a test's own.
pub struct Rsyslog {
    dir: PathBuf,
    udp: u16,
    tcp: u16,
    child: Option<Child>,
}

impl Rsyslog {
    /// Why rsyslog cannot run here, if it cannot: what to install.
    pub fn missing() -> Option<&'static str> {
        (!Path::new(RSYSLOGD).is_file())
            .then_some("rsyslog is not installed: apt-get install rsyslog")
    }

    /// Starts rsyslog on free ports, and waits until each input takes messages.
    pub fn start() -> Result<Rsyslog, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "nflog-rsyslog-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let udp = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map_err(|e| format!("a free UDP port: {e}"))?
            .port();
        let mut rsyslog = Rsyslog {
            dir,
            udp,
            tcp: free_port()?,
            child: None,
        };
        fs::write(rsyslog.dir.join("rsyslog.conf"), rsyslog.config())
            .map_err(|e| format!("rsyslog.conf: {e}"))?;
        rsyslog.start_again()?;
        Ok(rsyslog)
    }

    fn config(&self) -> String {
        let dir = self.dir.display();
        format!(
            "global(workDirectory=\"{dir}\" maxMessageSize=\"64k\")\n\
             module(load=\"imuxsock\" SysSock.Use=\"off\")\n\
             module(load=\"imudp\")\n\
             module(load=\"imtcp\")\n\
             {TEMPLATE}\n\
             ruleset(name=\"tests\") {{\n  action(type=\"omfile\" file=\"{dir}/messages\" \
             template=\"whole\")\n}}\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{udp}\" ruleset=\"tests\")\n\
             input(type=\"imtcp\" address=\"127.0.0.1\" port=\"{tcp}\" ruleset=\"tests\")\n\
             input(type=\"imuxsock\" socket=\"{dir}/log\" ruleset=\"tests\" \
             ratelimit.interval=\"0\" createPath=\"off\")\n",
            udp = self.udp,
            tcp = self.tcp,
        )
    }

    /// Starts rsyslog (again, after [`stop`](Rsyslog::stop)): the same ports and file.
    pub fn start_again(&mut self) -> Result<(), String> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("rsyslogd.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslogd.pid"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{RSYSLOGD}: {e}"))?;
        self.child = Some(child);
        // Each input must take a probe before the test counts on it.
        let started = Instant::now();
        let probes = ["probe-udp", "probe-tcp", "probe-unix"];
        loop {
            let seen = fs::read_to_string(self.messages_path()).unwrap_or_default();
            if probes.iter().all(|p| seen.contains(p)) {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                return Err(format!("rsyslogd exited ({status}): {}", self.log()));
            }
            if started.elapsed() > DEADLINE {
                return Err(format!("rsyslogd did not start: {}", self.log()));
            }
            let probe = |name: &str| format!("<14>1 - - probe - - - {name}");
            if !seen.contains("probe-udp") {
                let _ = UdpSocket::bind("127.0.0.1:0").and_then(|s| {
                    s.send_to(probe("probe-udp").as_bytes(), ("127.0.0.1", self.udp))
                });
            }
            if !seen.contains("probe-tcp") {
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.tcp)) {
                    use std::io::Write;
                    let m = probe("probe-tcp");
                    let _ = write!(s, "{} {m}", m.len());
                }
            }
            if !seen.contains("probe-unix") {
                let _ = UnixDatagram::unbound()
                    .and_then(|s| s.send_to(b"<14>probe: probe-unix", self.socket()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops rsyslog (SIGTERM) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a pid");
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            let started = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if started.elapsed() > DEADLINE {
                    let _ = child.kill();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.wait();
        }
    }

    /// Its UDP port on 127.0.0.1.
    pub fn udp_port(&self) -> u16 {
        self.udp
    }

    /// Its TCP port on 127.0.0.1.
    pub fn tcp_port(&self) -> u16 {
        self.tcp
    }

    /// Its datagram socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("log")
    }

    fn messages_path(&self) -> PathBuf {
        self.dir.join("messages")
    }

    /// The lines rsyslog wrote, one JSON object each, without the probes of its start.
    pub fn messages(&self) -> Vec<String> {
        fs::read_to_string(self.messages_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.contains("probe-"))
            .map(str::to_owned)
            .collect()
    }

    /// What rsyslogd said on its standard output and error.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("rsyslogd.log")).unwrap_or_default()
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("rsyslog files kept in {}", self.dir.display());
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
