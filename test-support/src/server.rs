//! Throwaway database servers for the tests of the remote sinks: a PostgreSQL cluster and a
//! ClickHouse server, each in a directory of its own, listening on 127.0.0.1 of the calling
//! thread's network namespace (start them from inside [`in_netns`](crate::in_netns)), run
//! as the unprivileged user `nobody`, and stopped and removed by their drop guard, even when
//! the test panics. The host's own services and their files are never used.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::process::try_run_command;

/// Debian's PostgreSQL 15 programs (package postgresql-15).
pub const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Debian's ClickHouse server (package clickhouse-server, 18.16).
pub const CLICKHOUSE_SERVER: &str = "/usr/sbin/clickhouse-server";

/// How long a server may take to start or stop before the test fails.
const SERVER_DEADLINE: Duration = Duration::from_secs(60);

/// The user the servers run as: PostgreSQL refuses to run as root, and neither needs it.
const USER: &str = "nobody";
const GROUP: &str = "nogroup";

/// A fresh directory under the system's temporary directory, owned by `nobody`, removed
/// by [`Scratch`]'s drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(kind: &str) -> Result<Scratch, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "nflog-{kind}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let scratch = Scratch(path);
        // The server, run as nobody, writes here; nothing else of the host's is given to it.
        fs::set_permissions(&scratch.0, fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("chmod {}: {e}", scratch.0.display()))?;
        let (uid, gid) = nobody()?;
        std::os::unix::fs::chown(&scratch.0, Some(uid), Some(gid))
            .map_err(|e| format!("chown {}: {e}", scratch.0.display()))?;
        Ok(scratch)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("server files kept in {}", self.0.display());
        } else {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

/// The uid and gid of `nobody` / `nogroup`, from the system's databases.
fn nobody() -> Result<(u32, u32), String> {
    let id = |flag: &str, name: &str| -> Result<u32, String> {
        try_run_command(Command::new("id").args([flag, name]))?
            .trim()
            .parse()
            .map_err(|e| format!("id {flag} {name}: {e}"))
    };
    let uid = id("-u", USER)?;
    let gid = try_run_command(Command::new("getent").args(["group", GROUP]))?
        .split(':')
        .nth(2)
        .and_then(|g| g.trim().parse().ok())
        .ok_or_else(|| format!("no gid for group {GROUP}"))?;
    Ok((uid, gid))
}

/// `program` run as `nobody` through `setpriv`, with no supplementary groups.
fn as_nobody(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={USER}"),
            &format!("--regid={GROUP}"),
            "--clear-groups",
        ])
        .arg(program);
    command
}

/// A TCP port of 127.0.0.1 that nothing listens on now, in the calling thread's namespace.
pub fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1:0: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// A server process of ours, with its output in a log file of its directory.
struct Running {
    child: Child,
    log: PathBuf,
}

impl Running {
    fn spawn(mut command: Command, log: &Path) -> Result<Running, String> {
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("spawn {command:?}: {e}"))?;
        Ok(Running {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Waits until `ready` holds; an error with the server's log if it exits first or
    /// takes too long.
    fn wait_ready(&mut self, what: &str, mut ready: impl FnMut() -> bool) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if ready() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{what} exited ({status}): {}", self.log_text()));
            }
            if started.elapsed() > SERVER_DEADLINE {
                return Err(format!("{what} did not start: {}", self.log_text()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `signal` and waits for the process to end; SIGKILL after the deadline.
    fn stop(&mut self, signal: rustix::process::Signal) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, signal);
        }
        let started = Instant::now();
        while started.elapsed() < SERVER_DEADLINE {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200)).is_ok()
}

/// A throwaway PostgreSQL 15 cluster: `initdb` in a temporary directory, the server in the
/// foreground as `nobody` on 127.0.0.1:`port` (and a Unix socket in its directory), trust
/// authentication for the superuser `postgres`, one database `nflog`. Stopped (and its
/// directory removed) on drop.
pub struct Postgres {
    dir: Scratch,
    port: u16,
    server: Option<Running>,
    tls: bool,
}

impl Postgres {
    /// Whether the PostgreSQL programs are installed; the package that brings them if not.
    pub fn missing() -> Option<&'static str> {
        let found = ["initdb", "postgres"]
            .iter()
            .all(|p| Path::new(POSTGRES_BIN).join(p).is_file())
            && Command::new("psql")
                .arg("--version")
                .stdout(Stdio::null())
                .status()
                .is_ok();
        (!found).then_some("postgresql-15 (Debian's postgresql)")
    }

    /// Creates and starts a cluster; with `tls`, the server also speaks TLS, with a
    /// self-signed certificate made here (`openssl`), so clients can ask for
    /// `sslmode=require`.
    pub fn start(tls: bool) -> Result<Postgres, String> {
        let dir = Scratch::new("postgres")?;
        let port = free_port()?;
        let data = dir.0.join("data");
        try_run_command(
            as_nobody(Path::new(POSTGRES_BIN).join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
                .env("TZ", "UTC"),
        )?;
        if tls {
            try_run_command(
                as_nobody("openssl")
                    .args(["req", "-new", "-x509", "-nodes", "-days", "2"])
                    .args(["-subj", "/CN=127.0.0.1", "-newkey", "rsa:2048"])
                    .arg("-keyout")
                    .arg(data.join("server.key"))
                    .arg("-out")
                    .arg(data.join("server.crt")),
            )?;
        }
        let mut postgres = Postgres {
            dir,
            port,
            server: None,
            tls,
        };
        postgres.start_again()?;
        postgres.psql("postgres", "CREATE DATABASE nflog")?;
        Ok(postgres)
    }

    /// Starts the server again after [`stop`](Postgres::stop), on the same port and data.
    pub fn start_again(&mut self) -> Result<(), String> {
        let mut command = as_nobody(Path::new(POSTGRES_BIN).join("postgres"));
        command
            .arg("-D")
            .arg(self.dir.0.join("data"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(&self.dir.0)
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "TimeZone=UTC"]);
        if self.tls {
            command.args(["-c", "ssl=on"]);
        }
        let mut server = Running::spawn(command, &self.dir.0.join("postgres.log"))?;
        let port = self.port;
        let socket_dir = self.dir.0.clone();
        server.wait_ready("postgres", || {
            listening(port)
                && Command::new(Path::new(POSTGRES_BIN).join("pg_isready"))
                    .arg("-h")
                    .arg(&socket_dir)
                    .args([
                        "-p",
                        &port.to_string(),
                        "-q",
                        "-U",
                        "postgres",
                        "-d",
                        "postgres",
                    ])
                    .status()
                    .is_ok_and(|s| s.success())
        })?;
        self.server = Some(server);
        Ok(())
    }

    /// Stops the server at once (SIGQUIT, "immediate shutdown": clients are cut without a
    /// goodbye, as when a server dies); its data stays for [`start_again`](Self::start_again).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(rustix::process::Signal::QUIT);
        }
    }

    /// The TCP port it listens on, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of database `nflog` for the superuser, as `-w` takes it.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/nflog", self.port)
    }

    /// Runs `sql` with `psql` on `database` (unaligned, tuples only, `|` between fields);
    /// its output, or psql's error.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, String> {
        try_run_command(
            Command::new("psql")
                .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-d", database, "-c", sql])
                .env("PGTZ", "UTC")
                .env("PGCONNECT_TIMEOUT", "10"),
        )
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.0.join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A throwaway ClickHouse server: its own configuration (HTTP and native ports on
/// 127.0.0.1, the user `default` without a password from 127.0.0.1 only) and data directory,
/// run in the foreground as `nobody`. Stopped (and its directory removed) on drop.
pub struct ClickHouse {
    dir: Scratch,
    http_port: u16,
    tcp_port: u16,
    server: Option<Running>,
}

impl ClickHouse {
    /// Whether the ClickHouse server and client are installed; the packages if not.
    pub fn missing() -> Option<&'static str> {
        let found = Path::new(CLICKHOUSE_SERVER).is_file()
            && Command::new("clickhouse-client")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok();
        (!found).then_some("clickhouse-server and clickhouse-client")
    }

    /// Writes the configuration and starts the server.
    pub fn start() -> Result<ClickHouse, String> {
        let dir = Scratch::new("clickhouse")?;
        let http_port = free_port()?;
        let mut tcp_port = free_port()?;
        while tcp_port == http_port {
            tcp_port = free_port()?;
        }
        let root = dir.0.display();
        let config = format!(
            r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{root}/data/</path>
    <tmp_path>{root}/tmp/</tmp_path>
    <user_files_path>{root}/user_files/</user_files_path>
    <format_schema_path>{root}/format_schemas/</format_schema_path>
    <users_config>{root}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
"#
        );
        let users = r#"<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
"#;
        let (uid, gid) = nobody()?;
        for (name, text) in [("config.xml", config.as_str()), ("users.xml", users)] {
            let path = dir.0.join(name);
            fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            std::os::unix::fs::chown(&path, Some(uid), Some(gid)).map_err(|e| e.to_string())?;
        }
        let mut clickhouse = ClickHouse {
            dir,
            http_port,
            tcp_port,
            server: None,
        };
        clickhouse.start_again()?;
        Ok(clickhouse)
    }

    /// Starts the server again after [`stop`](ClickHouse::stop), on the same ports and data.
    pub fn start_again(&mut self) -> Result<(), String> {
        let mut command = as_nobody(CLICKHOUSE_SERVER);
        command
            .arg(format!(
                "--config-file={}",
                self.dir.0.join("config.xml").display()
            ))
            .current_dir(&self.dir.0);
        let mut server = Running::spawn(command, &self.dir.0.join("clickhouse.log"))?;
        let port = self.http_port;
        server.wait_ready("clickhouse-server", || {
            listening(port) && http_get(port, "/ping").is_ok_and(|body| body == "Ok.\n")
        })?;
        self.server = Some(server);
        Ok(())
    }

    /// Kills the server (SIGKILL: connections are cut mid-request, as when a server dies);
    /// its data stays for [`start_again`](Self::start_again).
    pub fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server.stop(rustix::process::Signal::KILL);
        }
    }

    /// The port of its HTTP interface, on 127.0.0.1.
    pub fn http_port(&self) -> u16 {
        self.http_port
    }

    /// The URL of database `db`, as `-w` takes it.
    pub fn url(&self, db: &str) -> String {
        format!("clickhouse://127.0.0.1:{}/{db}", self.http_port)
    }

    /// Runs `sql` with `clickhouse-client` (native protocol); its output (tab-separated),
    /// or the client's error.
    pub fn query(&self, sql: &str) -> Result<String, String> {
        try_run_command(
            Command::new("clickhouse-client")
                .args(["--host", "127.0.0.1", "--port", &self.tcp_port.to_string()])
                .args(["--query", sql]),
        )
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.0.join("clickhouse.log")).unwrap_or_default()
    }
}

impl Drop for ClickHouse {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The body of `GET path` on 127.0.0.1:`port` (HTTP/1.0, so the server closes the
/// connection and the body is all that follows the headers).
fn http_get(port: u16, path: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut stream =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))
            .map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no end of headers")?;
    if !head.starts_with("HTTP/1.") || !head.contains(" 200 ") {
        return Err(head.lines().next().unwrap_or_default().to_string());
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real uid of a server process, from /proc.
    fn uid_of(server: &Running) -> u32 {
        let status = fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Whether this machine can run the servers; says why not otherwise.
    fn can_run(test: &str, missing: Option<&str>) -> bool {
        if !rustix::process::geteuid().is_root() {
            return crate::skip(test, "not root: the servers run as nobody through setpriv");
        }
        match missing {
            Some(package) => crate::skip(test, &format!("install {package}")),
            None => true,
        }
    }

    #[test]
    fn postgres_starts_answers_stops_and_starts_again() {
        if !can_run("postgres_starts", Postgres::missing()) {
            return;
        }
        crate::in_netns(|| {
            let mut pg = Postgres::start(false).unwrap_or_else(|e| panic!("{e}"));
            pg.psql("nflog", "CREATE TABLE t (x int); INSERT INTO t VALUES (7)")
                .unwrap();
            let dir = pg.dir.0.clone();
            pg.stop();
            assert!(!listening(pg.port()), "stopped");
            assert!(pg.psql("nflog", "SELECT 1").is_err());
            pg.start_again().unwrap();
            assert_eq!(pg.psql("nflog", "SELECT x FROM t").unwrap(), "7\n");
            // The server runs as nobody, not as root.
            assert!(
                pg.log().is_empty() || !pg.log().contains("root"),
                "{}",
                pg.log()
            );
            drop(pg);
            assert!(!dir.exists(), "{} removed", dir.display());
        });
    }

    #[test]
    fn postgres_with_tls_accepts_sslmode_require() {
        if !can_run("postgres_with_tls", Postgres::missing()) {
            return;
        }
        crate::in_netns(|| {
            let pg = Postgres::start(true).unwrap_or_else(|e| panic!("{e}"));
            let out = try_run_command(
                Command::new("psql")
                    .args([
                        "-X",
                        "-A",
                        "-t",
                        "-c",
                        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                    ])
                    .arg(format!("{}?sslmode=require", pg.url())),
            )
            .unwrap();
            assert_eq!(out, "t\n");
        });
    }

    #[test]
    fn clickhouse_starts_answers_stops_and_starts_again() {
        if !can_run("clickhouse_starts", ClickHouse::missing()) {
            return;
        }
        crate::in_netns(|| {
            let mut ch = ClickHouse::start().unwrap_or_else(|e| panic!("{e}"));
            ch.query("CREATE TABLE default.t (x UInt8) ENGINE = MergeTree ORDER BY x")
                .unwrap();
            ch.query("INSERT INTO default.t VALUES (7)").unwrap();
            assert_eq!(uid_of(ch.server.as_ref().unwrap()), nobody().unwrap().0);
            let dir = ch.dir.0.clone();
            ch.stop();
            assert!(!listening(ch.http_port()), "stopped");
            ch.start_again().unwrap();
            assert_eq!(ch.query("SELECT x FROM default.t").unwrap(), "7\n");
            drop(ch);
            assert!(!dir.exists(), "{} removed", dir.display());
        });
    }
}
