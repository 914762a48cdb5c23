//! `nflog demo`: a rule, some traffic and the log, in a private network namespace.
//!
//! Everything happens on one thread that has entered a network namespace of its own: its
//! `lo`, its nftables ruleset (installed by the library, so `nft` need not be there), its
//! traffic. The namespace vanishes with the thread, so the
//! host's ruleset, interfaces and groups are never touched, and nothing is left behind even
//! if the demo is interrupted or killed.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{anyhow, bail, Context, Result};
use nflog::nft::{BaseHook, Chain, Expr, NftSocket, Rule, Table};
use nflog::{Family, GroupConfig, Hook, InterfaceNames, Listener};

use crate::cli::{DemoArgs, LinkTypeArg};
use crate::netns;
use crate::output::{self, write_error, Sink};
use crate::rule;
use nflog::format::Sink as _;

const GROUP: u16 = 1;
const UDP_PORT: u16 = 40400;
const TCP_PORT: u16 = 40401;

/// What the demo logs, each with its prefix: expressions in nflog's filter language,
/// compiled and installed by the library (no `nft` needed).
const RULES: [(&str, &str); 5] = [
    ("udp dst port 40400", "demo udp"),
    ("tcp dst port 40401", "demo tcp in"),
    ("tcp src port 40401", "demo tcp out"),
    (
        "icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply",
        "demo ping",
    ),
    (
        "icmp6[icmp6type] == icmp6-echo or icmp6[icmp6type] == icmp6-echoreply",
        "demo ping6",
    ),
];

const TABLE: &str = "nflog_demo";
const CHAIN: &str = "input";

/// Installs the demo's table through the library, and returns its rules in nft's syntax.
fn install_rules() -> Result<Vec<String>> {
    let mut socket = NftSocket::open().map_err(rule::explain)?;
    let mut batch = socket.batch();
    let family = Family::Inet;
    batch.add_table(&Table {
        family,
        name: TABLE.into(),
        flags: 0,
    })?;
    batch.add_chain(
        family,
        &Chain {
            table: TABLE.into(),
            name: CHAIN.into(),
            hook: Some(BaseHook {
                hook: Hook::Input,
                priority: 0,
                device: None,
            }),
        },
    )?;
    let mut text = vec![
        format!("table inet {TABLE} {{"),
        format!("    chain {CHAIN} {{"),
        "        type filter hook input priority 0; policy accept;".to_owned(),
    ];
    let mut next_set = 1;
    for (expression, prefix) in RULES {
        let (filter, lines) = rule::compile_with_text(expression, family, next_set)?;
        next_set += filter.sets.len() as u32;
        for set in &filter.sets {
            batch.add_set(family, TABLE, set)?;
        }
        let log = Expr::Log {
            group: GROUP,
            prefix: Some(prefix.to_owned()),
            snaplen: None,
            queue_threshold: None,
        };
        for (alternative, line) in filter.alternatives.into_iter().zip(lines) {
            let mut exprs = alternative;
            exprs.push(log.clone());
            batch.add_rule(
                family,
                &Rule {
                    table: TABLE.into(),
                    chain: CHAIN.into(),
                    exprs,
                },
            )?;
            text.push(format!(
                "        {line} log prefix \"{prefix}\" group {GROUP}"
            ));
        }
    }
    text.push("    }".to_owned());
    text.push("}".to_owned());
    socket.send_batch(&mut batch).map_err(rule::explain)?;
    Ok(text)
}

/// Runs the demo on a thread inside a private network namespace.
pub fn run(args: &DemoArgs) -> Result<()> {
    if !rustix::process::geteuid().is_root() {
        bail!(
            "the demo makes a private network namespace and an nftables rule, which needs \
             root: run `sudo nflog demo`"
        );
    }
    require("ip", "-V", "iproute2")?;
    let format = args.format;
    std::thread::Builder::new()
        .name("nflog-demo".into())
        .spawn(move || demo_in_private_namespace(format))
        .context("starting the demo thread")?
        .join()
        .map_err(|_| anyhow!("the demo thread panicked"))?
        .or_else(|e| {
            // A reader that went away (`| head`) ends the demo early, not in failure.
            if crate::output::is_closed_pipe(&e) {
                Ok(())
            } else {
                Err(e)
            }
        })
}

fn require(program: &str, version_flag: &str, package: &str) -> Result<()> {
    match Command::new(program)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => Ok(()),
        Err(_) => bail!(
            "`{program}` not found: install the {package} package (apt-get install {package})"
        ),
    }
}

fn demo_in_private_namespace(format: crate::cli::OutputFormat) -> Result<()> {
    netns::enter_private()?;
    // Commands started from this thread inherit its namespace.
    run_command("ip", &["link", "set", "lo", "up"], None)?;
    let config = GroupConfig::new().flush_timeout(Duration::from_millis(10));
    let mut listener = Listener::builder().group(GROUP).config(config).bind()?;
    let ruleset = install_rules()?;

    let mut err = io::stderr().lock();
    writeln!(
        err,
        "nflog demo: in a private network namespace, with this rule set:"
    )?;
    for line in &ruleset {
        writeln!(err, "    {line}")?;
    }
    writeln!(
        err,
        "nflog demo: sending UDP, a TCP exchange, ICMP and ICMPv6 echo, IPv6 UDP on loopback; \
         the log of group {GROUP}:"
    )?;
    drop(err);

    make_traffic()?;

    let mut sink =
        Sink::new(format, LinkTypeArg::Nflog, Box::new(output::stdout()?)).map_err(write_error)?;
    let mut names = InterfaceNames::new(&listener)?;
    let deadline = Instant::now() + Duration::from_secs(3);
    let mut quiet_since = Instant::now();
    let mut written = 0u64;
    while Instant::now() < deadline && quiet_since.elapsed() < Duration::from_millis(300) {
        match listener.try_recv()? {
            Some(batch) => {
                let received = SystemTime::now();
                for packet in batch {
                    sink.write(&packet?, received, &mut names)
                        .map_err(write_error)?;
                    written += 1;
                }
                quiet_since = Instant::now();
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    sink.finish(&[]).map_err(write_error)?;
    let stats = listener.stats();
    output::warn(&format!(
        "nflog demo: {written} packets logged and received; {} overruns, {} malformed. \
         The namespace, its rule and its traffic are gone with the demo.",
        stats.overruns, stats.malformed
    ));
    output::warn(
        "nflog demo: for real: `nflog 'tcp port 22'` installs a rule of its own; or add \
         `log group 5` to a rule of yours and run `nflog -g 5`.",
    );
    if written == 0 {
        bail!("no packet arrived: the kernel may lack nfnetlink_log or nf_tables");
    }
    Ok(())
}

fn run_command(program: &str, args: &[&str], stdin: Option<&str>) -> Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("running {program}"))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// UDP over IPv4 and IPv6, a TCP exchange, and ICMP and ICMPv6 echo, all on loopback.
fn make_traffic() -> Result<()> {
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
    udp.send_to(b"hello over UDP", (Ipv4Addr::LOCALHOST, UDP_PORT))?;
    let udp6 = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0))?;
    udp6.send_to(b"hello over IPv6", (Ipv6Addr::LOCALHOST, UDP_PORT))?;

    let server = TcpListener::bind((Ipv4Addr::LOCALHOST, TCP_PORT))?;
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, TCP_PORT))?;
    let (mut accepted, _) = server.accept()?;
    client.write_all(b"hello over TCP")?;
    let mut got = [0u8; 14];
    accepted.read_exact(&mut got)?;
    drop(client);
    drop(accepted);

    ping_v4()?;
    ping_v6()?;
    Ok(())
}

/// Sends one ICMP echo request to 127.0.0.1 over a raw socket; the kernel answers it.
fn ping_v4() -> Result<()> {
    use rustix::net::{ipproto, socket, AddressFamily, SocketType};
    let fd =
        socket(AddressFamily::INET, SocketType::RAW, Some(ipproto::ICMP)).context("ICMP socket")?;
    let mut echo = [
        8u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'n', b'f', b'l', b'o', b'g', b'!', 0, 0,
    ];
    let sum = checksum(&echo);
    echo[2..4].copy_from_slice(&sum.to_be_bytes());
    rustix::net::sendto(
        &fd,
        &echo,
        rustix::net::SendFlags::empty(),
        &SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
    )
    .context("sending an ICMP echo request")?;
    Ok(())
}

/// Sends one ICMPv6 echo request to ::1 (the kernel fills in the ICMPv6 checksum).
fn ping_v6() -> Result<()> {
    use rustix::net::{ipproto, socket, AddressFamily, SocketType};
    let fd = socket(AddressFamily::INET6, SocketType::RAW, Some(ipproto::ICMPV6))
        .context("ICMPv6 socket")?;
    let echo = [
        128u8, 0, 0, 0, 0x12, 0x34, 0, 1, b'n', b'f', b'l', b'o', b'g', b'!',
    ];
    rustix::net::sendto(
        &fd,
        &echo,
        rustix::net::SendFlags::empty(),
        &SocketAddrV6::new(Ipv6Addr::LOCALHOST, 0, 0, 0),
    )
    .context("sending an ICMPv6 echo request")?;
    Ok(())
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
