//! The syslog outputs: `-w syslog://HOST[:PORT]` (UDP), `-w syslog+tcp://HOST[:PORT]` (TCP,
//! RFC 6587 octet counting) and `-w unix:PATH` (a local datagram socket, `/dev/log`); each
//! packet is one message of [`SyslogFormat`].
//!
//! What "delivered" means differs by transport, and the statistics say which:
//!
//! - UDP and `unix:`: the kernel took the datagram. A send that fails is counted lost with
//!   its reason; a UDP collector that is down loses datagrams nobody can count (a refusal,
//!   ICMP port unreachable, fails the next send, which is counted).
//! - TCP: every byte of the message was acknowledged by the collector's TCP (the send
//!   queue, `SIOCOUTQ`, holds none of it). Messages not acknowledged when the connection
//!   breaks are sent again on the next one, so none is lost or written twice for a server
//!   that stops; while the collector cannot be reached, messages wait in a backlog bounded
//!   in bytes (`--syslog-backlog`) and reconnection is retried with a doubling backoff
//!   (0.1 s to 30 s). A message the full backlog cannot take is dropped and counted. A
//!   collector that resets the connection (it closed with data it had not read, or
//!   crashed) may have thrown away messages it had acknowledged: those are counted as
//!   "possibly lost", an upper bound, since plain TCP syslog has no acknowledgements of its
//!   own (RELP has). An orderly close (FIN) means the collector read every byte it
//!   acknowledged.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use nflog::format::syslog::{Body, SyslogFormat, SyslogProtocol};
use nflog::format::{JsonFormat, ResolveInterface, Sink, TextFormat};
use nflog::pcap::InterfaceStats;
use nflog::Packet;

use crate::cli::{OutputFormat, SyslogArgs, SyslogFormatArg};
use crate::output::{Destination, Dropped, Output};

/// The backlog of a TCP output when `--syslog-backlog` does not say.
const DEFAULT_BACKLOG: usize = 16 << 20;

/// The port of syslog over UDP (RFC 5426) and, by custom, over TCP.
const DEFAULT_PORT: u16 = 514;

/// The longest one attempt to connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest a send may block (a collector that stopped reading, a full `/dev/log`):
/// past it the connection is taken as broken (TCP) or the datagram as lost.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The first wait before reconnecting, doubled after each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait between two attempts to reconnect.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// How long the end of a capture waits for a TCP collector to take what is left.
// Under the 2 s a capture's watchdog grants a writer that makes no progress after a signal.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(1500);

/// `HOST[:PORT]` (IPv6 addresses in brackets) as `host:port`, the port 514 when left out.
fn host_port(scheme: &str, rest: &str) -> Result<String> {
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let bad = || {
        anyhow::anyhow!(
            "-w {scheme}://{rest}: give HOST or HOST:PORT after {scheme}:// (an IPv6 \
             address in brackets, as in {scheme}://[::1]:514)"
        )
    };
    if rest.is_empty() || rest.contains(['/', '@', '?', '#']) {
        return Err(bad());
    }
    let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or_else(bad)?;
        match after {
            "" => (format!("[{host}]"), None),
            _ => (
                format!("[{host}]"),
                Some(after.strip_prefix(':').ok_or_else(bad)?),
            ),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) if !port.contains(':') => (host.to_owned(), Some(port)),
            Some(_) => return Err(bad()),
            None => (rest.to_owned(), None),
        }
    };
    let port = match port {
        None => DEFAULT_PORT,
        Some(port) => match port.parse::<u16>() {
            Ok(port) if port > 0 => port,
            _ => bail!("-w {scheme}://{rest}: the port must be a number from 1 to 65535"),
        },
    };
    if host.is_empty() || host == "[]" {
        return Err(bad());
    }
    Ok(format!("{host}:{port}"))
}

/// The reasons messages were not delivered, each with how many.
type Losses = Vec<(String, u64)>;

/// Adds one message to the count of `reason`.
fn count(losses: &mut Losses, reason: String, n: u64) {
    if n == 0 {
        return;
    }
    match losses.iter_mut().find(|(r, _)| *r == reason) {
        Some((_, total)) => *total += n,
        None => losses.push((reason, n)),
    }
}

/// A syslog output: the format and the transport, with what it delivered and lost.
pub struct Syslog {
    format: SyslogFormat,
    link: Link,
    /// `-w` as given, for messages.
    name: String,
    /// Messages delivered (see the module's documentation for what that means by
    /// transport).
    delivered: u64,
    /// Messages that will never be delivered, by reason.
    lost: Losses,
}

/// A transport.
enum Link {
    Udp(UdpSocket),
    Unix { socket: UnixDatagram, path: PathBuf },
    Tcp(Box<Tcp>),
}

impl Syslog {
    /// Opens `destination` (a syslog one) for messages of `format` (text or JSON) as
    /// `options` say; a TCP collector that cannot be reached yet is not an error (messages
    /// wait in the backlog).
    ///
    /// # Errors
    ///
    /// An option RFC 5424 refuses, a host that does not resolve, or a `unix:` socket that
    /// cannot be reached, each naming its option.
    pub fn open(
        destination: &Destination,
        format: OutputFormat,
        options: &SyslogArgs,
    ) -> Result<Syslog> {
        let name = destination.to_string();
        let local = matches!(destination, Destination::Unix(_));
        let format = message_format(format, options, local)?;
        let link = match destination {
            Destination::Syslog(authority) => {
                let to = resolve(&host_port("syslog", authority)?, &name)?;
                let bind: SocketAddr = match to {
                    SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
                    SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
                };
                let socket = UdpSocket::bind(bind)
                    .and_then(|s| s.connect(to).map(|()| s))
                    .with_context(|| format!("-w {name}: cannot send to {to}"))?;
                Link::Udp(socket)
            }
            Destination::Unix(path) => {
                let socket = unix_socket(path).with_context(|| {
                    format!(
                        "-w {name}: cannot send to {}: is a syslog daemon listening there?",
                        path.display()
                    )
                })?;
                Link::Unix {
                    socket,
                    path: path.clone(),
                }
            }
            Destination::SyslogTcp(authority) => {
                let to = resolve(&host_port("syslog+tcp", authority)?, &name)?;
                let mut tcp = Tcp::new(to, options.backlog.unwrap_or(DEFAULT_BACKLOG));
                tcp.connect();
                Link::Tcp(Box::new(tcp))
            }
            other => bail!("-w {other} is not a syslog destination"),
        };
        Ok(Syslog {
            format,
            link,
            name,
            delivered: 0,
            lost: Vec::new(),
        })
    }

    /// Sends one message.
    fn send(&mut self, message: &[u8]) {
        match &mut self.link {
            Link::Udp(socket) => match socket.send(message) {
                Ok(_) => self.delivered += 1,
                Err(e) => count(&mut self.lost, send_failure(&e), 1),
            },
            Link::Unix { socket, path } => {
                let sent = socket.send(message).or_else(|e| {
                    // The daemon restarted: its socket is a new one at the same path.
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ECONNREFUSED | libc::ENOTCONN | libc::ENOENT)
                    ) {
                        *socket = unix_socket(path)?;
                        socket.send(message)
                    } else {
                        Err(e)
                    }
                });
                match sent {
                    Ok(_) => self.delivered += 1,
                    Err(e) => count(&mut self.lost, send_failure(&e), 1),
                }
            }
            Link::Tcp(tcp) => tcp.push(message),
        }
    }
}

/// Delivered means sent (UDP, `unix:`) or acknowledged by the collector's TCP; a message
/// acknowledged on a connection the collector then reset is counted dropped, as possibly
/// lost, since nothing says whether the collector read it.
impl Output for Syslog {
    fn delivered(&self) -> u64 {
        let tcp = match &self.link {
            Link::Tcp(tcp) => tcp.delivered - tcp.in_doubt,
            _ => 0,
        };
        self.delivered + tcp
    }

    fn dropped(&self) -> Vec<Dropped> {
        let mut dropped: Vec<Dropped> = self
            .lost
            .iter()
            .map(|(reason, n)| Dropped {
                packets: *n,
                reason: format!("not sent to {}: {reason}", self.name),
            })
            .collect();
        if let Link::Tcp(tcp) = &self.link {
            dropped.extend(tcp.lost.iter().map(|(reason, n)| Dropped {
                packets: *n,
                reason: format!("not delivered to {}: {reason}", self.name),
            }));
            if tcp.in_doubt > 0 {
                dropped.push(Dropped {
                    packets: tcp.in_doubt,
                    reason: format!(
                        "possibly lost: {} acknowledged them, then reset the connection {} \
                         times (closed with data unread, or crashed); plain TCP syslog cannot \
                         say which it read",
                        self.name, tcp.resets
                    ),
                });
            }
        }
        dropped
    }
}

impl Sink for Syslog {
    fn write(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<()> {
        // The message lives in the format; copied out so that `send` may borrow self.
        let message = self.format.message(packet, received, names)?.to_vec();
        self.send(&message);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Link::Tcp(tcp) = &mut self.link {
            tcp.pump();
        }
        Ok(())
    }

    fn finish(&mut self, _groups: &[(u16, InterfaceStats)]) -> io::Result<()> {
        if let Link::Tcp(tcp) = &mut self.link {
            tcp.drain(DRAIN_TIMEOUT);
        }
        Ok(())
    }
}

/// The message format the options ask for: the body by `-F`, RFC 5424 unless
/// `--syslog-format` says otherwise, and for a local socket syslog(3)'s form.
fn message_format(format: OutputFormat, options: &SyslogArgs, local: bool) -> Result<SyslogFormat> {
    let body = match format {
        OutputFormat::Text => Body::Text(TextFormat::new()),
        OutputFormat::Json => Body::Json(JsonFormat::new()),
        other => bail!(
            "syslog messages carry a text line or a JSON object, not {other:?}: use -F text \
             or -F json for a syslog destination"
        ),
    };
    let protocol = match (options.format, local) {
        (Some(SyslogFormatArg::Rfc5424), _) | (None, false) => SyslogProtocol::Rfc5424,
        (Some(SyslogFormatArg::Rfc3164), false) => SyslogProtocol::Rfc3164,
        // A local daemon reads syslog(3)'s form, which has no host name.
        (_, true) => SyslogProtocol::Local,
    };
    let mut format = SyslogFormat::new(body).protocol(protocol);
    if let Some(facility) = options.facility {
        format = format.facility(facility);
    }
    if let Some(severity) = options.severity {
        format = format.severity(severity);
    }
    if let Some(name) = &options.hostname {
        format = format.hostname(name).context("--syslog-hostname")?;
    }
    if let Some(name) = &options.app_name {
        format = format.app_name(name).context("--syslog-app-name")?;
    }
    if let Some(id) = &options.sd_id {
        format = format.sd_id(id).context("--syslog-sd-id")?;
    }
    Ok(format)
}

/// The first address `address` (`host:port`) resolves to.
fn resolve(address: &str, name: &str) -> Result<SocketAddr> {
    address
        .to_socket_addrs()
        .with_context(|| format!("-w {name}: cannot resolve {address}"))?
        .next()
        .with_context(|| format!("-w {name}: {address} has no address"))
}

/// A datagram socket connected to `path`, whose sends give up after [`SEND_TIMEOUT`].
fn unix_socket(path: &Path) -> io::Result<UnixDatagram> {
    let socket = UnixDatagram::unbound()?;
    socket.connect(path)?;
    socket.set_write_timeout(Some(SEND_TIMEOUT))?;
    Ok(socket)
}

/// Why a datagram was not sent, in words.
fn send_failure(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => {
            "the collector refused it (ECONNREFUSED: nothing listened at its port when an \
             earlier message came)"
                .to_owned()
        }
        Some(libc::EMSGSIZE) => "longer than one datagram can carry (EMSGSIZE)".to_owned(),
        Some(libc::EAGAIN) => format!(
            "the syslog daemon took nothing for {} s (its socket stayed full)",
            SEND_TIMEOUT.as_secs()
        ),
        _ => format!("sending failed: {e}"),
    }
}

/// A TCP collector: the connection, the messages written to it but not yet acknowledged,
/// and the backlog of framed messages waiting for it.
struct Tcp {
    to: SocketAddr,
    conn: Option<Conn>,
    /// Framed messages (`LEN SP MSG`) not yet written, oldest first.
    backlog: VecDeque<Vec<u8>>,
    backlog_bytes: usize,
    backlog_limit: usize,
    /// When to try connecting again.
    next_try: Instant,
    backoff: Duration,
    /// Why the last connection or attempt failed.
    last_error: Option<String>,
    delivered: u64,
    lost: Losses,
    /// Messages written again after a connection broke before acknowledging them.
    resent: u64,
    /// Messages acknowledged on connections the collector then reset.
    in_doubt: u64,
    resets: u64,
    reconnections: u64,
    /// Whether a connection was ever made (the first is no reconnection).
    connected_before: bool,
}

/// One connection to the collector.
struct Conn {
    stream: TcpStream,
    /// Bytes written to it.
    written: u64,
    /// Messages written to it and not yet acknowledged, with where each ends in `written`.
    unacked: VecDeque<(u64, Vec<u8>)>,
    /// Messages acknowledged on it.
    acked: u64,
}

/// How a connection ended.
enum Broken {
    /// The collector closed it in order (FIN): it read every byte it acknowledged.
    Closed,
    /// The collector reset it, or writing failed otherwise: acknowledged bytes may be
    /// lost unread.
    Failed(String),
}

impl Tcp {
    fn new(to: SocketAddr, backlog_limit: usize) -> Tcp {
        Tcp {
            to,
            conn: None,
            backlog: VecDeque::new(),
            backlog_bytes: 0,
            backlog_limit,
            next_try: Instant::now(),
            backoff: FIRST_BACKOFF,
            last_error: None,
            delivered: 0,
            lost: Vec::new(),
            resent: 0,
            in_doubt: 0,
            resets: 0,
            reconnections: 0,
            connected_before: false,
        }
    }

    /// Frames `message` (RFC 6587 octet counting) into the backlog, then sends what it can.
    fn push(&mut self, message: &[u8]) {
        let mut frame = Vec::with_capacity(message.len() + 8);
        frame.extend_from_slice(message.len().to_string().as_bytes());
        frame.push(b' ');
        frame.extend_from_slice(message);
        if self.backlog_bytes + frame.len() > self.backlog_limit {
            let because = self.because();
            count(
                &mut self.lost,
                format!(
                    "the backlog was full ({} bytes, --syslog-backlog) while the collector \
                     could not take them{}",
                    self.backlog_limit, because
                ),
                1,
            );
        } else {
            self.backlog_bytes += frame.len();
            self.backlog.push_back(frame);
        }
        self.pump();
    }

    /// `: <last error>`, or nothing.
    fn because(&self) -> String {
        self.last_error
            .as_deref()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default()
    }

    /// Connects, if it is time to; on failure, waits twice as long before the next try.
    fn connect(&mut self) {
        if self.conn.is_some() || Instant::now() < self.next_try {
            return;
        }
        let stream = TcpStream::connect_timeout(&self.to, CONNECT_TIMEOUT).and_then(|s| {
            s.set_write_timeout(Some(SEND_TIMEOUT))?;
            s.set_nodelay(true)?;
            Ok(s)
        });
        match stream {
            Ok(stream) => {
                self.backoff = FIRST_BACKOFF;
                if self.connected_before {
                    self.reconnections += 1;
                }
                self.connected_before = true;
                self.conn = Some(Conn {
                    stream,
                    written: 0,
                    unacked: VecDeque::new(),
                    acked: 0,
                });
            }
            Err(e) => {
                self.last_error = Some(format!("connecting to {}: {e}", self.to));
                self.next_try = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }

    /// Writes what the backlog holds to the collector, connecting first if it is time to;
    /// counts what it acknowledged.
    fn pump(&mut self) {
        // A connection found broken is replaced at once, once per call: the backoff
        // spaces out attempts to a collector that stays away.
        for _ in 0..2 {
            self.connect();
            let Some(conn) = &mut self.conn else { return };
            if let Some(broken) = conn.broken() {
                self.lose_connection(broken);
                continue;
            }
            if let Err(broken) = self.write_backlog() {
                self.lose_connection(broken);
                continue;
            }
            let conn = self.conn.as_mut().expect("connected above");
            self.delivered += conn.settle();
            return;
        }
    }

    /// Writes the backlog to the connection, oldest first, moving each frame written to
    /// the messages awaiting acknowledgement.
    fn write_backlog(&mut self) -> Result<(), Broken> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        while let Some(frame) = self.backlog.pop_front() {
            if let Err(e) = conn.stream.write_all(&frame) {
                // Part of it may be in the send queue: it goes back whole, and `written`
                // no longer matches the queue, so nothing more is counted acknowledged on
                // this connection than before this frame.
                self.backlog.push_front(frame);
                return Err(Broken::Failed(match e.raw_os_error() {
                    Some(libc::EAGAIN) => format!(
                        "the collector at {} read nothing for {} s",
                        self.to,
                        SEND_TIMEOUT.as_secs()
                    ),
                    _ => format!("writing to {}: {e}", self.to),
                }));
            }
            self.backlog_bytes -= frame.len();
            conn.written += frame.len() as u64;
            conn.unacked.push_back((conn.written, frame));
        }
        Ok(())
    }

    /// Ends the current connection: what it acknowledged is delivered, the rest goes back
    /// to the front of the backlog, to be written again on the next connection.
    fn lose_connection(&mut self, how: Broken) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // SIOCOUTQ still counts after a reset: the queue is purged, not the sequence
        // numbers it computes from (tcp_ioctl: write_seq - snd_una).
        self.delivered += conn.settle();
        let mut again = 0;
        while let Some((_, frame)) = conn.unacked.pop_back() {
            self.backlog_bytes += frame.len();
            self.backlog.push_front(frame);
            again += 1;
        }
        self.resent += again;
        match how {
            Broken::Closed => {
                self.last_error = Some(format!(
                    "the collector at {} closed the connection",
                    self.to
                ));
            }
            Broken::Failed(reason) => {
                self.resets += 1;
                self.in_doubt += conn.acked;
                self.last_error = Some(reason);
            }
        }
        // Reconnect at once; the backoff applies if that fails.
        self.next_try = Instant::now();
    }

    /// Sends what is left, for up to `timeout`, then closes the connection in order; what
    /// is still not acknowledged is lost, with the reason.
    fn drain(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            self.pump();
            let pending = self.conn.as_ref().is_some_and(|c| !c.unacked.is_empty());
            if (self.backlog.is_empty() && !pending) || Instant::now() >= deadline {
                break;
            }
            // Reconnecting waits for the backoff; acknowledgements come within a round trip.
            let wait = if self.conn.is_some() {
                Duration::from_millis(5)
            } else {
                self.next_try.saturating_duration_since(Instant::now())
            };
            std::thread::sleep(wait.min(deadline.saturating_duration_since(Instant::now())));
        }
        let mut left = self.backlog.len() as u64;
        if let Some(mut conn) = self.conn.take() {
            self.delivered += conn.settle();
            left += conn.unacked.len() as u64;
            let _ = conn.stream.shutdown(Shutdown::Write);
        }
        self.backlog.clear();
        self.backlog_bytes = 0;
        let because = self.because();
        count(
            &mut self.lost,
            format!(
                "not taken by the collector within {} s of the end{}",
                timeout.as_secs_f32(),
                because
            ),
            left,
        );
    }
}

impl Conn {
    /// Counts the messages the collector acknowledged since the last look; how many.
    fn settle(&mut self) -> u64 {
        let Ok(queued) = send_queue(&self.stream) else {
            return 0;
        };
        let acknowledged = self.written.saturating_sub(queued);
        let mut n = 0;
        while self
            .unacked
            .front()
            .is_some_and(|(end, _)| *end <= acknowledged)
        {
            self.unacked.pop_front();
            n += 1;
        }
        self.acked += n;
        n
    }

    /// Whether the collector ended the connection, and how: a read that does not wait
    /// sees its FIN (end of stream) or its RST (ECONNRESET). A syslog collector sends
    /// nothing, so anything it does send is read and ignored.
    fn broken(&mut self) -> Option<Broken> {
        let mut buf = [0u8; 512];
        loop {
            let read = rustix::net::recv(
                self.stream.as_fd(),
                &mut buf,
                rustix::net::RecvFlags::DONTWAIT,
            );
            return match read {
                Ok((0, _)) => Some(Broken::Closed),
                Ok(_) => continue,
                Err(rustix::io::Errno::AGAIN) => None,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => Some(Broken::Failed(format!(
                    "the collector reset the connection: {}",
                    io::Error::from(e)
                ))),
            };
        }
    }
}

/// The bytes of a TCP socket's send queue its peer has not acknowledged (`SIOCOUTQ`).
#[allow(unsafe_code)]
fn send_queue(stream: &TcpStream) -> io::Result<u64> {
    use rustix::ioctl::{ioctl, Getter, Opcode};
    // SAFETY: SIOCOUTQ (TIOCOUTQ on a socket) writes one int, which Getter provides.
    let queued = unsafe {
        ioctl(
            stream.as_fd(),
            Getter::<{ libc::TIOCOUTQ as Opcode }, libc::c_int>::new(),
        )
    }?;
    Ok(u64::try_from(queued).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nflog::format::Numeric;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn host_and_port_with_the_default_port() {
        let parse = |s: &str| host_port("syslog", s).map_err(|e| e.to_string());
        assert_eq!(parse("logs.example"), Ok("logs.example:514".into()));
        assert_eq!(parse("127.0.0.1:6514/"), Ok("127.0.0.1:6514".into()));
        assert_eq!(parse("[::1]:10514"), Ok("[::1]:10514".into()));
        assert_eq!(parse("[::1]"), Ok("[::1]:514".into()));
        assert_eq!(
            parse("h:0"),
            Err("-w syslog://h:0: the port must be a number from 1 to 65535".into())
        );
        for bad in ["::1:514", "h/x", "[::1", "u@h", "[]:5"] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains("give HOST or HOST:PORT"), "{bad}: {e}");
        }
    }

    fn packet() -> Vec<u8> {
        nflog::PacketRepr {
            group: 7,
            hook: 3,
            prefix: Some(b"p".to_vec()),
            ..nflog::PacketRepr::default()
        }
        .to_bytes()
    }

    /// The options with a backlog of `bytes`.
    fn backlog(bytes: usize) -> SyslogArgs {
        SyslogArgs {
            backlog: Some(bytes),
            ..SyslogArgs::default()
        }
    }

    fn tcp(to: &str, options: &SyslogArgs) -> Syslog {
        let to = Destination::SyslogTcp(to.to_owned());
        Syslog::open(&to, OutputFormat::Text, options).unwrap()
    }

    /// Reads RFC 6587 octet-counted frames from `bytes`.
    fn frames(mut bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let space = bytes.iter().position(|&b| b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&bytes[..space])
                .unwrap()
                .parse()
                .unwrap();
            out.push(bytes[space + 1..space + 1 + len].to_vec());
            bytes = &bytes[space + 1 + len..];
        }
        out
    }

    /// The message of `packet` with the default options.
    fn message(packet: &Packet<&[u8]>) -> Vec<u8> {
        message_format(OutputFormat::Text, &SyslogArgs::default(), false)
            .unwrap()
            .message(packet, SystemTime::UNIX_EPOCH, &mut Numeric)
            .unwrap()
            .to_vec()
    }

    #[test]
    fn tcp_frames_with_octet_counting_and_counts_what_was_acknowledged() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap().to_string();
        let mut sink = tcp(&to, &SyslogArgs::default());
        let (mut server, _) = listener.accept().unwrap();
        let bytes = packet();
        let packet = Packet::parse(&bytes).unwrap();
        for _ in 0..3 {
            sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                .unwrap();
        }
        sink.finish(&[]).unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).unwrap();
        let frames = frames(&got);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0], message(&packet));
        assert_eq!(sink.delivered(), 3);
        assert_eq!(sink.dropped(), []);
    }

    #[test]
    fn tcp_keeps_messages_in_the_backlog_until_the_collector_comes() {
        // A port nothing listens on yet: reserve it, then free it.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let to = format!("127.0.0.1:{port}");
        let bytes = packet();
        let packet = Packet::parse(&bytes).unwrap();
        let frame_len = {
            let m = message(&packet).len();
            m + m.to_string().len() + 1
        };
        // Room for two messages: the third is dropped and counted.
        let mut sink = tcp(&to, &backlog(2 * frame_len));
        for _ in 0..3 {
            sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                .unwrap();
        }
        assert_eq!(sink.delivered(), 0);
        let dropped = sink.dropped();
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].packets, 1);
        assert!(
            dropped[0].reason.starts_with(&format!(
                "not delivered to syslog+tcp://{to}: the backlog was full"
            )),
            "{dropped:?}"
        );
        let listener = TcpListener::bind(&to).unwrap();
        let server = std::thread::spawn(move || {
            let (mut server, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            server.read_to_end(&mut got).unwrap();
            frames(&got).len()
        });
        // The backoff since the first failed attempt is at most 0.1 s: the end waits for it.
        sink.finish(&[]).unwrap();
        assert_eq!(server.join().unwrap(), 2);
        assert_eq!(sink.delivered(), 2);
        assert_eq!(crate::output::accounted(&sink), 3);
    }

    #[test]
    fn tcp_reconnects_after_an_orderly_close_and_loses_nothing() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let to = listener.local_addr().unwrap().to_string();
        let mut sink = tcp(&to, &SyslogArgs::default());
        let bytes = packet();
        let packet = Packet::parse(&bytes).unwrap();
        let (mut first, _) = listener.accept().unwrap();
        sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
            .unwrap();
        let mut buf = vec![0; 4096];
        let n = first.read(&mut buf).unwrap();
        assert_eq!(frames(&buf[..n]).len(), 1);
        // The collector closes in order, having read everything.
        drop(first);
        std::thread::sleep(Duration::from_millis(50));
        // The next message finds the connection closed, reconnects and is sent there.
        sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
            .unwrap();
        let (mut second, _) = listener.accept().unwrap();
        sink.finish(&[]).unwrap();
        let mut got = Vec::new();
        second.read_to_end(&mut got).unwrap();
        assert_eq!(frames(&got).len(), 1);
        assert_eq!(sink.delivered(), 2);
        assert_eq!(sink.dropped(), [], "an orderly close loses nothing");
    }

    #[test]
    fn a_reset_connection_sends_again_what_was_not_acknowledged_and_counts_the_rest() {
        // A collector that reads nothing, with a small receive buffer: of the messages
        // written, it acknowledges the first few (then its window is shut) and the rest
        // wait in our send queue. It then closes with data unread, which resets the
        // connection.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        rustix::net::sockopt::set_socket_recv_buffer_size(&listener, 2048).unwrap();
        let to = listener.local_addr().unwrap().to_string();
        let mut sink = tcp(&to, &SyslogArgs::default());
        let (first, _) = listener.accept().unwrap();
        let bytes = packet();
        let packet = Packet::parse(&bytes).unwrap();
        let sent = 40;
        for _ in 0..sent {
            sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
        sink.flush().unwrap();
        let acknowledged = sink.delivered();
        assert!(
            acknowledged > 0 && acknowledged < sent,
            "{acknowledged} of {sent} acknowledged"
        );
        drop(first);
        std::thread::sleep(Duration::from_millis(50));
        // The next message finds the reset, reconnects, and sends what was not
        // acknowledged before it.
        sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
            .unwrap();
        let (mut second, _) = listener.accept().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            second.read_to_end(&mut got).unwrap();
            frames(&got)
        });
        sink.finish(&[]).unwrap();
        let again = reader.join().unwrap();
        assert_eq!(again.len() as u64, sent + 1 - acknowledged);
        assert!(again.iter().all(|m| *m == message(&packet)));
        // Those the first collector acknowledged and threw away: possibly lost, counted.
        assert_eq!(sink.delivered(), sent + 1 - acknowledged);
        let dropped = sink.dropped();
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert_eq!(dropped[0].packets, acknowledged);
        assert!(
            dropped[0].reason.starts_with("possibly lost: "),
            "{dropped:?}"
        );
    }

    #[test]
    fn a_udp_send_that_fails_is_counted_dropped_with_its_reason() {
        // A UDP port nothing listens on: the kernel's port unreachable fails the next send.
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let to = Destination::Syslog(format!("127.0.0.1:{port}"));
        let mut sink = Syslog::open(&to, OutputFormat::Json, &SyslogArgs::default()).unwrap();
        let bytes = packet();
        let packet = Packet::parse(&bytes).unwrap();
        for _ in 0..2 {
            sink.write(&packet, SystemTime::UNIX_EPOCH, &mut Numeric)
                .unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(sink.delivered(), 1);
        let dropped = sink.dropped();
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert_eq!(dropped[0].packets, 1);
        assert!(
            dropped[0].reason.contains("refused it (ECONNREFUSED"),
            "{dropped:?}"
        );
    }

    #[test]
    fn options_rfc5424_refuses_name_the_option() {
        let options = SyslogArgs {
            sd_id: Some("nflog".into()),
            ..SyslogArgs::default()
        };
        let e = message_format(OutputFormat::Text, &options, false).unwrap_err();
        assert_eq!(
            format!("{e:#}"),
            "--syslog-sd-id: invalid syslog SD-ID: \"nflog\" has no @: only IANA names SD-IDs \
             without one; use NAME@ENTERPRISE-NUMBER"
        );
        let e = message_format(OutputFormat::Pcap, &SyslogArgs::default(), false).unwrap_err();
        assert!(e.to_string().contains("use -F text or -F json"), "{e}");
    }
}
