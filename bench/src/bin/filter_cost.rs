//! A flood where 1 packet in 100 matches (issue 12): nflog's CPU per sent packet with the
//! filter as a kernel rule, against the same filter applied in user space to everything
//! logged; and what the rule costs the sender, per packet.
//!
//! ```text
//! cargo build --release -p nflog-bench
//! sudo target/release/filter_cost [--packets N] [--rounds R]
//! ```
//!
//! Needs root and `ip`; not `nft` (the rules are installed by `nflog::nft`). In a private
//! network namespace, UDP datagrams of 64 bytes go to 127.0.0.1 port 9, every hundredth to
//! port 10; an input rule drops them all (no ICMP answers). The filter is `udp dst port 10`.
//!
//! - `none`: no capture, the sender alone: its CPU per packet is the baseline.
//! - `kernel`: the expression compiled and installed at the output hook, logging to a group
//!   a listener drains on a thread of its own (what `nflog 'udp dst port 10'` does).
//! - `user space`: a rule logging every UDP packet, the listener's thread evaluating the
//!   expression on each (what `nflog -g N 'udp dst port 10'` does with a rule that logs
//!   all).
//!
//! Each round (5 by default) runs the three modes side by side, back to back, in an order
//! that turns around every round; the rule's cost to the sender is `kernel` less `none`
//! within a round, and the summary gives the median over the rounds. Each row: packets
//! sent, packets the consumer counted as matching (every one of the 1% must be there in
//! both modes), kernel overruns, the receiving thread's CPU per sent packet, and the
//! sender's CPU per packet.

use std::net::UdpSocket;
use std::time::Duration;

use nflog::format::Numeric;
use nflog::nft::{
    BaseHook, CaptureRules, Chain, CmpOp, Expr, Filter, Immediate, MetaKey, NftSocket, Register,
    Rule, Table, Verdict, FREE_GROUP_START,
};
use nflog::{Family, GroupConfig, Hook, Listener};
use nflog_bench::{enter_private_netns, thread_cpu, BoxError};

const EXPRESSION: &str = "udp dst port 10";

fn main() -> Result<(), BoxError> {
    let mut packets: u64 = 200_000;
    let mut rounds: usize = 5;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--packets" => {
                packets = args.next().ok_or("--packets needs a number")?.parse()?;
            }
            "--rounds" => {
                rounds = args.next().ok_or("--rounds needs a number")?.parse()?;
                if rounds == 0 {
                    return Err("--rounds: at least 1".into());
                }
            }
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    std::thread::spawn(move || run(packets, rounds))
        .join()
        .map_err(|_| "the benchmark thread panicked")?
}

/// The three modes of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    Kernel,
    User,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Kernel => "kernel",
            Mode::User => "user space",
        }
    }
}

fn run(packets: u64, rounds: usize) -> Result<(), BoxError> {
    enter_private_netns()?;
    drop_udp_at_input()?;
    let expr = nflog::filter::Expr::parse(EXPRESSION)?;
    let kernel_filter = nflog::filter::compile(&expr, Family::Inet)?.into_filter(1);
    let all_udp =
        nflog::filter::compile(&nflog::filter::Expr::parse("udp")?, Family::Inet)?.into_filter(1);

    println!(
        "{packets} UDP datagrams of 64 bytes, 1 in 100 matching `{EXPRESSION}`, {rounds} rounds\n"
    );
    println!(
        "| round | mode | sent | matched | overruns | receiver CPU ns/sent packet | sender CPU ns/packet |"
    );
    println!("|---|---|---|---|---|---|---|");
    // Side by side: each round runs the three modes back to back, in an order that turns
    // around every round, so that a change of load on a shared machine weighs on the
    // sender with and without the rule alike; the rule's cost is taken within each round.
    let mut rule_cost = Vec::with_capacity(rounds);
    let mut ratio = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let mut order = [Mode::None, Mode::Kernel, Mode::User];
        if round % 2 == 0 {
            order.reverse();
        }
        let mut sender = [0.0; 3];
        let mut receiver = [0.0; 3];
        for mode in order {
            let r = match mode {
                Mode::None => Measured {
                    matched: None,
                    overruns: None,
                    receiver: None,
                    sender: flood(packets)?.1,
                },
                Mode::Kernel => measure(packets, kernel_filter.clone(), None)?,
                Mode::User => measure(packets, all_udp.clone(), Some(&expr))?,
            };
            let dash = || "-".to_owned();
            println!(
                "| {round} | {} | {packets} | {} | {} | {} | {:.0} |",
                mode.name(),
                r.matched.map_or_else(dash, |m| m.to_string()),
                r.overruns.map_or_else(dash, |o| o.to_string()),
                r.receiver
                    .map_or_else(dash, |d| format!("{:.0}", per(d, packets))),
                per(r.sender, packets)
            );
            sender[mode as usize] = per(r.sender, packets);
            receiver[mode as usize] = r.receiver.map_or(0.0, |d| per(d, packets));
        }
        rule_cost.push(sender[Mode::Kernel as usize] - sender[Mode::None as usize]);
        ratio.push(receiver[Mode::User as usize] / receiver[Mode::Kernel as usize].max(1e-9));
    }
    let list = |v: &[f64], digits: usize| {
        v.iter()
            .map(|x| format!("{x:.digits$}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\nuser space / kernel, receiver CPU: median {:.1}x (rounds: {})",
        median(&ratio),
        list(&ratio, 1)
    );
    println!(
        "the rule's cost to the sender (kernel less none, same round): median {:.0} ns per \
         packet (rounds: {})",
        median(&rule_cost),
        list(&rule_cost, 0)
    );
    Ok(())
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One mode's figures; without a capture (`none`) only the sender's.
struct Measured {
    matched: Option<u64>,
    overruns: Option<u64>,
    receiver: Option<Duration>,
    sender: Duration,
}

fn per(d: Duration, n: u64) -> f64 {
    d.as_nanos() as f64 / n.max(1) as f64
}

/// One mode: a listener on its own thread counts the packets `evaluate` accepts (all of
/// them when `None`), while this thread floods.
fn measure(
    packets: u64,
    filter: Filter,
    evaluate: Option<&nflog::filter::Expr>,
) -> Result<Measured, BoxError> {
    let mut listener = Listener::builder()
        .grow_receive_buffer(Some(64 << 20))
        .bind()?;
    let config = GroupConfig::default().queue_threshold(1000);
    let group = listener.add_free_group(FREE_GROUP_START, &[], &config)?;
    let rules = CaptureRules {
        hooks: vec![Hook::Output],
        filter,
        ..CaptureRules::default()
    };
    let _guard = rules.install(group)?;
    let stop = listener.stop_handle();
    let expr = evaluate.cloned();
    let receiver = std::thread::spawn(move || -> Result<(u64, Duration, u64), String> {
        let start = thread_cpu().map_err(|e| e.to_string())?;
        let mut matched = 0u64;
        while let Some(batch) = listener.recv().map_err(|e| e.to_string())? {
            for packet in batch.flatten() {
                if expr
                    .as_ref()
                    .is_none_or(|e| e.matches(&packet, &mut Numeric))
                {
                    matched += 1;
                }
            }
        }
        let cpu = (thread_cpu().map_err(|e| e.to_string())? - start).clock;
        Ok((matched, cpu, listener.stats().overruns))
    });
    let (_, sender) = flood(packets)?;
    // Let the last batches arrive (the flush timeout is 100 ms), then stop.
    std::thread::sleep(Duration::from_millis(500));
    stop.stop();
    let (matched, receiver, overruns) = receiver.join().map_err(|_| "receiver panicked")??;
    Ok(Measured {
        matched: Some(matched),
        overruns: Some(overruns),
        receiver: Some(receiver),
        sender,
    })
}

/// Sends `packets` datagrams of 64 bytes to 127.0.0.1 port 9, every hundredth to port 10;
/// returns how many and the sending thread's CPU time.
fn flood(packets: u64) -> Result<(u64, Duration), BoxError> {
    let miss = UdpSocket::bind("127.0.0.1:0")?;
    miss.connect("127.0.0.1:9")?;
    let hit = UdpSocket::bind("127.0.0.1:0")?;
    hit.connect("127.0.0.1:10")?;
    let payload = [0x5au8; 64];
    let start = thread_cpu()?;
    for i in 0..packets {
        let socket = if i % 100 == 0 { &hit } else { &miss };
        while let Err(e) = socket.send(&payload) {
            if e.raw_os_error() != Some(libc::ENOBUFS) && e.raw_os_error() != Some(libc::EAGAIN) {
                return Err(format!("send: {e}").into());
            }
            std::thread::yield_now();
        }
    }
    Ok((packets, (thread_cpu()? - start).clock))
}

/// `table inet bench_drop { chain in { type filter hook input priority 0; meta l4proto udp
/// drop } }`, through the library: the datagrams end there, unanswered.
fn drop_udp_at_input() -> Result<(), BoxError> {
    let mut socket = NftSocket::open()?;
    let mut batch = socket.batch();
    let family = Family::Inet;
    batch.add_table(&Table {
        family,
        name: "bench_drop".into(),
        flags: 0,
    })?;
    batch.add_chain(
        family,
        &Chain {
            table: "bench_drop".into(),
            name: "in".into(),
            hook: Some(BaseHook {
                hook: Hook::Input,
                priority: 0,
                device: None,
            }),
        },
    )?;
    batch.add_rule(
        family,
        &Rule {
            table: "bench_drop".into(),
            chain: "in".into(),
            exprs: vec![
                Expr::Meta {
                    key: MetaKey::L4Proto,
                    dreg: Register::R1,
                },
                Expr::Cmp {
                    sreg: Register::R1,
                    op: CmpOp::Eq,
                    data: vec![17],
                },
                Expr::Immediate {
                    dreg: Register::VERDICT,
                    data: Immediate::Verdict(Verdict::Drop),
                },
            ],
        },
    )?;
    socket.send_batch(&mut batch)?;
    Ok(())
}
