//! The command line, defined once: clap turns these doc comments into `--help`, the shell
//! completions and the man page.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Capture, read and print the packets Linux netfilter logs with NFLOG.
///
/// Add a rule that logs to a group, then listen on it:
///
///   nft add rule inet filter input tcp dport 22 log group 5 prefix "ssh"
///
///   nflog -g 5
///
/// `nflog -g 5` is short for `nflog capture -g 5`. Binding a group needs CAP_NET_ADMIN
/// (root, or `setcap cap_net_admin+ep`); reading files needs nothing.
///
/// SIGINT and SIGTERM end a capture: it writes what it holds and its statistics. SIGHUP
/// reopens its file outputs (logrotate's `create` with `postrotate kill -HUP`); with -C, -G
/// and -W the files rotate by themselves, as tcpdump's do.
#[derive(Debug, Parser)]
#[command(
    name = "nflog",
    version,
    args_conflicts_with_subcommands = true,
    after_long_help = FILTER_HELP
)]
pub struct Cli {
    /// What to do; capture when left out.
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub capture: CaptureArgs,
}

/// The filter language, in `nflog --help` and the man page.
pub const FILTER_HELP: &str = "\
FILTER EXPRESSIONS
  nflog EXPRESSION, nflog -g N EXPRESSION and nflog read FILE EXPRESSION take pcap-filter's
  language, as tcpdump users know it, plus what only netfilter knows. Quote it, or give it
  as separate words.

  host ADDR, src host ADDR, dst host ADDR      IPv4 or IPv6 address (src or dst by default;
                                               also `src and dst host`)
  net 10.0.0.0/8, net 10.1, net A mask M       the address lies in the network
  port N, tcp dst port N, udp src port N       TCP, UDP or SCTP ports (ssh, http, ... too)
  portrange 6000-6010                          a port in the range
  ip, ip6, arp                                 the network protocol
  tcp, udp, sctp, icmp, icmp6, proto N         the transport protocol (ip proto N,
                                               ip6 proto N)
  tcp-syn, tcp-ack, ...                        the TCP flag is set
  tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn the TCP flags, masked and compared
  icmp[icmptype] == icmp-echo                  ICMP type or code (icmp6[icmp6type], ...)
  less N, greater N                            the IP packet's length
  vlan, vlan N                                 VLAN tag (bridge and netdev families)
  mark M, mark M/MASK                          the packet mark
  iif NAME, oif NAME, iif eth*                 input, output interface name
  skuid N, skgid N                             the local socket's user, group id
  ct state new,established,related,...         conntrack's state

  Combine them with and (&&), or (||), not (!) and parentheses. As in pcap-filter, not
  binds tightest and `and` and `or` have EQUAL precedence, grouping left to right:
  `a or b and c` is `(a or b) and c`. A value alone repeats the previous primitive:
  `tcp port 22 or 80` is `tcp port 22 or tcp port 80`. A syntax error names the column;
  pcap-filter primitives nflog does not have (ether, gateway, ip[...]) are named, not
  ignored. A primitive whose data a packet lacks does not match it.

  Examples:
    nflog 'tcp dst port 22 and tcp-syn'         new SSH connections
    nflog 'udp port 53 or tcp port 53'          DNS
    nflog 'icmp or icmp6' --limit 10/second     pings, at most 10 a second
    nflog 'not src net 10.0.0.0/8 and ct state new'
    nflog --print-rule 'tcp port 22 or 443'     the nft ruleset, to paste into yours
    nflog -g 5 'host 192.0.2.7'                 your rule logs to group 5; filter here
    nflog read ssh.pcap 'src host 2001:db8::1'
";

/// The commands.
#[derive(Debug, Subcommand)]
// Parsed once per run: the capture's many options cost nothing by being inline.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Capture packets logged to one or more groups (the default command).
    Capture(CaptureArgs),
    /// Read a pcap or pcapng file of NFLOG records and print it in any format.
    ///
    /// Raw IP records (LINKTYPE_RAW, as `--linktype raw` writes them) are decoded and printed
    /// as far as they go; records of other link types in a pcapng file are skipped, with one
    /// note. A record whose contents are damaged is reported (its number and byte offset) and
    /// skipped; reading stops only where the file's framing is lost or it is cut. Exit status:
    /// 0 when every record was whole, 1 when any was damaged or the file is cut.
    Read(ReadArgs),
    /// Capture as a service, as a configuration file says: groups, and any number of
    /// outputs, each with its own format, queue and filter.
    ///
    /// The file is TOML: an `[input]` table (groups, netns, snaplen, meta, qthresh,
    /// flush_timeout_ms, nlbufsiz, rcvbuf, seq, seq_global, conntrack, numeric,
    /// packet_buffered, as the options of `nflog capture`), `user` and `metrics` (as -Z and
    /// --metrics), a `[rotate]` table (file_size, rotate_seconds, file_count, post_rotate, as
    /// -C, -G, -W and -z), and one `[[output]]` table per output (destination as -w takes it,
    /// format, linktype, queue_size in bytes, filter: an expression as `nflog EXPR` takes
    /// it, rotate: the `[rotate]` keys for this file output alone, as in `rotate = {
    /// file_size = "100M", file_count = 10 }`). contrib/nflog.toml is a commented example. Any mistake in the file is reported
    /// with its line and key before anything is bound.
    Serve(ServeArgs),
    /// Show what nflog does, in a private network namespace: a rule, some traffic, the log.
    Demo(DemoArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Man,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One line per packet, as the kernel's LOG target and ulogd's LOGEMU write them.
    Text,
    /// One JSON object per line, with ulogd2's JSON keys.
    Json,
    /// libnetfilter_log's XML, one element per packet.
    Xml,
    /// pcap, link type NFLOG (or raw IP with --linktype raw).
    Pcap,
    /// pcapng, one interface per group, with drop counts.
    Pcapng,
}

/// The link type of pcap and pcapng output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinkTypeArg {
    /// LINKTYPE_NFLOG (239): every NFLOG attribute, as tcpdump -i nflog:N writes.
    Nflog,
    /// LINKTYPE_RAW (101): the bare IP packet, for tools that cannot read NFLOG.
    Raw,
}

/// Where and how to write.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Write to DEST instead of standard output: a FILE, `-` (standard output), or a sink
    /// (sqlite:PATH, postgres://..., clickhouse://..., syslog://HOST:PORT,
    /// syslog+tcp://HOST:PORT, unix:PATH). Repeat for several outputs at once, each with a
    /// queue and a writing thread of its own; each takes the -F, --linktype and --queue-size
    /// given after it (those before the first -w are the first one's). A capture appends
    /// text, JSON and XML to a FILE (O_APPEND) and replaces a pcap or pcapng FILE; SIGHUP
    /// reopens it (logrotate).
    #[arg(short = 'w', long = "write", value_name = "DEST")]
    pub write: Vec<PathBuf>,

    /// Output format [default: text, or pcap / pcapng for a FILE named *.pcap / *.pcapng]
    #[arg(short = 'F', long = "format", value_enum)]
    pub format: Vec<OutputFormat>,

    /// Link type of pcap and pcapng output [default: nflog]
    #[arg(long = "linktype", value_enum)]
    pub linktype: Vec<LinkTypeArg>,

    /// Print interfaces as their index (`if:N`), not their name.
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,

    /// Flush the output after every batch of packets.
    #[arg(short = 'U', long = "packet-buffered")]
    pub packet_buffered: bool,

    /// Stop after COUNT packets (1 or more); with -g and an EXPRESSION, COUNT packets the
    /// expression takes (those it rejects are not counted), as tcpdump's -c.
    #[arg(
        short = 'c',
        long = "count",
        value_name = "COUNT",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub count: Option<u64>,

    #[command(flatten)]
    pub syslog: SyslogArgs,

    /// Where each -w, -F and --linktype stood on the command line (see [`parse_from`]).
    #[arg(skip)]
    pub positions: Positions,

    /// With a database output (-w sqlite:PATH, postgres://..., clickhouse://...), store
    /// each packet's bytes too, from the network header (ulogd2's raw.pkt), in the column
    /// raw_pkt; for the -w before it.
    // A flag that records each place it stands (a count keeps only the last).
    #[arg(
        long = "raw",
        num_args = 0,
        default_missing_value = "true",
        action = clap::ArgAction::Append
    )]
    pub raw: Vec<bool>,

    /// With -w sqlite:PATH, delete rows older than DAYS days, at start and every ten
    /// minutes, in the background.
    #[arg(
        long = "retain",
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub retain: Option<u32>,
}

/// How syslog messages are written, for every -w syslog://, syslog+tcp:// and unix:.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
#[command(next_help_heading = "Syslog output (-w syslog://, syslog+tcp://, unix:)")]
pub struct SyslogArgs {
    /// Message format [default: rfc5424; for unix:, rfc3164 without the host name, as
    /// syslog(3) writes to /dev/log]
    #[arg(
        id = "syslog-format",
        long = "syslog-format",
        value_enum,
        value_name = "FORMAT"
    )]
    pub format: Option<SyslogFormatArg>,

    /// Facility: kern, user, daemon, local0 to local7, ... or 0 to 23 [default: user]
    #[arg(
        id = "syslog-facility",
        long = "syslog-facility",
        value_name = "FACILITY"
    )]
    pub facility: Option<nflog::format::syslog::Facility>,

    /// Severity: emerg, alert, crit, err, warning, notice, info, debug, or 0 to 7
    /// [default: notice]
    #[arg(
        id = "syslog-severity",
        long = "syslog-severity",
        value_name = "SEVERITY"
    )]
    pub severity: Option<nflog::format::syslog::Severity>,

    /// HOSTNAME of the messages [default: this machine's name]
    #[arg(id = "syslog-hostname", long = "syslog-hostname", value_name = "NAME")]
    pub hostname: Option<String>,

    /// APP-NAME (RFC 3164's tag) of the messages [default: nflog]
    #[arg(id = "syslog-app-name", long = "syslog-app-name", value_name = "NAME")]
    pub app_name: Option<String>,

    /// SD-ID of the structured data (group, prefix, mark), NAME@ENTERPRISE-NUMBER
    /// [default: nflog@32473, the number IANA keeps for documentation (RFC 5612)]
    #[arg(id = "syslog-sd-id", long = "syslog-sd-id", value_name = "ID")]
    pub sd_id: Option<String>,

    /// Most bytes of messages held while a TCP collector cannot be reached; past it,
    /// messages are dropped and counted [default: 16777216]
    #[arg(id = "syslog-backlog", long = "syslog-backlog", value_name = "BYTES")]
    pub backlog: Option<usize>,
}

impl SyslogArgs {
    /// Whether any syslog option was given.
    pub fn any(&self) -> bool {
        *self != SyslogArgs::default()
    }
}

/// Syslog message formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SyslogFormatArg {
    /// RFC 5424, with structured data.
    Rfc5424,
    /// RFC 3164 (BSD syslog).
    Rfc3164,
}

/// Where each -w, -F, --linktype and --queue-size stood on the command line: which output
/// each -F, --linktype and --queue-size belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Positions {
    /// The index of each -w.
    pub write: Vec<usize>,
    /// The index of each -F.
    pub format: Vec<usize>,
    /// The index of each --linktype.
    pub linktype: Vec<usize>,
    /// The index of each --raw.
    pub raw: Vec<usize>,
    /// The index of each --queue-size (`nflog capture` only).
    pub queue_size: Vec<usize>,
}

/// Parses a command line, with the positions of the output options.
///
/// # Errors
///
/// clap's, for a command line it cannot parse (and for --help and --version).
pub fn parse_from<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = Cli::command().try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    // `nflog read` has no queue: its matches are not asked for --queue-size.
    let positions = |m: &clap::ArgMatches, queue: bool| {
        let of = |id: &str| -> Vec<usize> {
            m.indices_of(id).map(Iterator::collect).unwrap_or_default()
        };
        Positions {
            write: of("write"),
            format: of("format"),
            linktype: of("linktype"),
            raw: of("raw"),
            queue_size: if queue { of("queue_size") } else { Vec::new() },
        }
    };
    match (&mut cli.command, matches.subcommand()) {
        (None, _) => cli.capture.output.positions = positions(&matches, true),
        (Some(Command::Capture(args)), Some((_, m))) => {
            args.output.positions = positions(m, true);
        }
        (Some(Command::Read(args)), Some((_, m))) => args.output.positions = positions(m, false),
        _ => {}
    }
    Ok(cli)
}

/// The bytes an output's queue holds when --queue-size (or `queue_size`) does not say.
pub const QUEUE_SIZE: usize = 64 << 20;

/// Arguments of `nflog capture`.
#[derive(Debug, Clone, Args)]
pub struct CaptureArgs {
    /// Group to capture, as in the rule's `log group N` / `--nflog-group N`; repeat or
    /// separate with commas for several groups on one socket.
    #[arg(
        short = 'g',
        long = "group",
        value_name = "GROUP",
        value_delimiter = ','
    )]
    pub groups: Vec<u16>,

    /// What to capture, in pcap-filter's language (`tcp port 22 and not src net
    /// 10.0.0.0/8`; `nflog man` documents it). Without -g, nflog picks a free group
    /// (32768 and up), binds it, and installs a table of its own (`nflog-PID-GROUP`) whose
    /// rules log what the expression matches to that group, at --hook (or at -i's ingress
    /// and egress); the kernel removes the table when nflog exits, however it ends (Linux
    /// 5.12 and later). With -g, the rule is yours and nflog filters in user space: the
    /// packets the expression rejects are counted as filtered in the statistics (and -c
    /// counts the packets it takes, as tcpdump's).
    #[arg(value_name = "EXPRESSION")]
    pub expression: Vec<String>,

    /// Print the nft ruleset the expression compiles to, with --hook, -i, --family,
    /// --limit and --prefix, logging to -g's group (32768 without -g), and exit: nothing
    /// is installed or bound. `nft -f` reads it; paste it into your own ruleset and run
    /// `nflog -g GROUP`.
    #[arg(long = "print-rule", requires = "expression")]
    pub print_rule: bool,

    /// Hooks the rule logs at (with an expression, without -g), in family inet (or
    /// --family) at priority -150 (mangle: after conntrack, before filter tables)
    /// [default: input,forward,output].
    #[arg(long = "hook", value_enum, value_delimiter = ',', value_name = "HOOK")]
    pub hooks: Vec<HookArg>,

    /// Capture at the netdev ingress and egress of this interface instead of --hook.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,

    /// The rule's table family [default: inet; netdev with -i].
    #[arg(long = "family", value_enum)]
    pub family: Option<FamilyArg>,

    /// Log at most RATE packets (N/second, N/minute, ...) before the log: a flood is
    /// bounded in the kernel, and the statistics say how many were over the limit.
    #[arg(long = "limit", value_name = "RATE", value_parser = crate::rule::parse_rate)]
    pub limit: Option<(u64, nflog::nft::LimitUnit)>,

    /// Packets the limit lets through at once beyond the rate [default: 5].
    #[arg(long = "limit-burst", value_name = "N", requires = "limit")]
    pub limit_burst: Option<u32>,

    /// The log prefix of the rule nflog installs (at most 127 bytes).
    #[arg(long = "prefix", value_name = "TEXT")]
    pub prefix: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    // Boxed: clippy finds `Command::Capture` large enough already.
    pub rotate: Box<RotateArgs>,

    /// Copy at most BYTES of each packet (the kernel's copy range; 0 is all).
    #[arg(short = 's', long = "snaplen", value_name = "BYTES")]
    pub snaplen: Option<u32>,

    /// Copy metadata only, no packet bytes.
    #[arg(long = "meta", conflicts_with = "snaplen")]
    pub meta: bool,

    /// Packets the kernel gathers before it sends a batch; a batch also goes out when
    /// --nlbufsiz is full or --flush-timeout after its first packet, so a quiet group is
    /// not held back. (The library's and the kernel's default is 100: 1000 means a quarter
    /// of the wake-ups in a burst.)
    #[arg(long = "qthresh", value_name = "PACKETS", default_value_t = 1000)]
    pub qthresh: u32,

    /// Longest the kernel holds a batch, in milliseconds [default: 100].
    #[arg(long = "flush-timeout", value_name = "MS")]
    pub flush_timeout: Option<u64>,

    /// The kernel's buffer for a batch, in bytes (4096 to 131072) [default: 65024].
    #[arg(long = "nlbufsiz", value_name = "BYTES")]
    pub nlbufsiz: Option<u32>,

    /// Socket receive buffer to ask for, in bytes, at most 2147483647 [default: 8388608].
    // The kernel takes an int: a larger value fails with EINVAL, named here instead.
    #[arg(
        long = "rcvbuf",
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(1..=i32::MAX as u64)
    )]
    pub rcvbuf: Option<u64>,

    /// Most bytes of packets received but not yet written to an output, while it is slower
    /// than the traffic; past it, packets are dropped and counted in the statistics. Each -w
    /// takes the --queue-size given after it, as -F (one given before the first -w is the
    /// first output's) [default: 67108864]
    #[arg(long = "queue-size", value_name = "BYTES")]
    pub queue_size: Vec<usize>,

    /// Number each group's packets (NFULA_SEQ), which also counts packets lost.
    #[arg(long = "seq")]
    pub seq: bool,

    /// Number packets across the network namespace (NFULA_SEQ_GLOBAL).
    #[arg(long = "seq-global")]
    pub seq_global: bool,

    /// Attach each packet's conntrack entry (NFULA_CT).
    #[arg(long = "conntrack")]
    pub conntrack: bool,

    /// Switch to USER once the groups are bound, as tcpdump -Z does: a name, a numeric
    /// uid, or UID:GID. Supplementary groups are cleared and the output file is handed to
    /// USER. Every capability is dropped after binding, with or without -Z. Files made
    /// later (by -C and -G, or by SIGHUP once the file was moved away) are made by USER,
    /// who needs write access to their directory: with -C or -G that is checked at start.
    #[arg(short = 'Z', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Serve the capture's counters over HTTP at ADDR (HOST:PORT), as Prometheus text or
    /// OpenMetrics: packets and bytes per group and per prefix (the first 32 prefixes; the
    /// rest as other="true"), kernel overruns, sequence gaps, truncated batches, per output
    /// packets written, dropped and errors and its queue's bytes, the last packet's time.
    #[arg(long = "metrics", value_name = "ADDR")]
    pub metrics: Option<String>,

    /// How lines on standard error (statistics, warnings, errors) are written: each is one
    /// line either way; journal starts each with its priority (<3> error, <4> warning, <6>
    /// statistics), which systemd's journal reads. auto is journal when standard error is
    /// the journal (JOURNAL_STREAM), else plain.
    #[arg(long = "log-format", value_enum, default_value = "auto")]
    pub log_format: crate::log::LogFormat,

    /// Capture in another network namespace: NAME (from `ip netns`), a PATH to a namespace
    /// file, or pid:PID for a process's. Only the socket is opened there; needs
    /// CAP_SYS_ADMIN.
    #[arg(long = "netns", value_name = "NAME|PATH|pid:PID")]
    pub netns: Option<nflog::Netns>,
}

/// Rotation of a file output, as tcpdump's `-C`, `-G`, `-W` and `-z`.
#[derive(Debug, Clone, Default, Args)]
pub struct RotateArgs {
    /// Start a new file once the current one holds more than SIZE: millions of bytes, as
    /// tcpdump counts them, or with a suffix k, m or g, units of 1024, 1024² or 1024³
    /// bytes. The files are named FILE, FILE1, FILE2, ... (FILE0, FILE1, ... with -W).
    #[arg(
        short = 'C',
        long = "file-size",
        value_name = "SIZE",
        value_parser = crate::rotate::parse_size
    )]
    pub file_size: Option<u64>,

    /// Start a new file every SECONDS (at the first packet after them); strftime
    /// conversions in the name of -w (%Y-%m-%d_%H:%M:%S) take the time the file began.
    #[arg(
        short = 'G',
        long = "rotate-seconds",
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub rotate_seconds: Option<u64>,

    /// With -C: keep a ring of COUNT files, FILE0 to FILE(COUNT-1), the oldest overwritten.
    /// With -G and without -C: end the capture once COUNT files are written, at the first
    /// packet after the COUNT-th window (tcpdump's rule; that packet is not written).
    #[arg(
        short = 'W',
        long = "file-count",
        value_name = "COUNT",
        value_parser = clap::value_parser!(u32).range(1..)
    )]
    pub file_count: Option<u32>,

    /// Run COMMAND FILE on each file once it is closed by -C or -G (`-z gzip`), without
    /// waiting for it.
    #[arg(short = 'z', long = "post-rotate", value_name = "COMMAND")]
    pub post_rotate: Option<std::ffi::OsString>,
}

/// A hook the installed rule logs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HookArg {
    /// Every packet as it arrives, before routing.
    Prerouting,
    /// Packets for this host.
    Input,
    /// Packets routed through this host.
    Forward,
    /// Packets this host sends.
    Output,
    /// Every packet as it leaves, after routing.
    Postrouting,
}

impl HookArg {
    /// The library's hook.
    pub fn hook(self) -> nflog::Hook {
        match self {
            HookArg::Prerouting => nflog::Hook::Prerouting,
            HookArg::Input => nflog::Hook::Input,
            HookArg::Forward => nflog::Hook::Forward,
            HookArg::Output => nflog::Hook::Output,
            HookArg::Postrouting => nflog::Hook::Postrouting,
        }
    }

    /// The option's word for it.
    pub fn name(self) -> &'static str {
        match self {
            HookArg::Prerouting => "prerouting",
            HookArg::Input => "input",
            HookArg::Forward => "forward",
            HookArg::Output => "output",
            HookArg::Postrouting => "postrouting",
        }
    }
}

/// The table family of the installed rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FamilyArg {
    /// IPv4 and IPv6.
    Inet,
    /// IPv4 only.
    Ip,
    /// IPv6 only.
    Ip6,
    /// Bridged frames (bridge netfilter).
    Bridge,
    /// ARP.
    Arp,
    /// One interface's ingress and egress (with -i).
    Netdev,
}

impl FamilyArg {
    /// The library's family.
    pub fn family(self) -> nflog::Family {
        match self {
            FamilyArg::Inet => nflog::Family::Inet,
            FamilyArg::Ip => nflog::Family::Ipv4,
            FamilyArg::Ip6 => nflog::Family::Ipv6,
            FamilyArg::Bridge => nflog::Family::Bridge,
            FamilyArg::Arp => nflog::Family::Arp,
            FamilyArg::Netdev => nflog::Family::Netdev,
        }
    }

    /// The option's word for it.
    pub fn name(self) -> &'static str {
        self.family().name()
    }
}

/// Arguments of `nflog read`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The pcap or pcapng file, of link type NFLOG or raw IP, in either byte order (`-`
    /// reads standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print only the packets this filter expression matches (the language of
    /// `nflog EXPRESSION`, below); the others are counted as filtered in a closing line on
    /// standard error.
    #[arg(value_name = "EXPRESSION")]
    pub expression: Vec<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Arguments of `nflog serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The configuration file (TOML).
    #[arg(long = "config", value_name = "FILE")]
    pub config: PathBuf,
}

/// Arguments of `nflog demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Output format of the captured packets.
    #[arg(short = 'F', long = "format", value_enum, default_value = "text")]
    pub format: OutputFormat,
}
