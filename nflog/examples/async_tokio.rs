//! Receive logged packets on tokio until Ctrl-C, then print the statistics.
//!
//! ```text
//! cargo run --example async_tokio -- GROUP [--stream]
//! ```
//!
//! (feature `tokio`, which `cargo run --example` turns on by itself). Binding a group needs
//! CAP_NET_ADMIN: run as root, or give the binary the capability. Add a rule that logs to
//! the group, for example
//! `nft add rule inet filter input udp dport 9999 log group GROUP prefix "async"`.
//!
//! By default it reads batches of borrowed packets with `AsyncListener::recv`; with
//! `--stream` it reads owned packets from the `PacketStream`. Either way, `tokio::select!`
//! races the receive against `tokio::signal::ctrl_c()`: both are cancel-safe, so the
//! receive that loses the race loses no packet, and the listener can be taken back
//! afterwards (`into_inner`) to read what is left.

use std::process::ExitCode;

use nflog::{AsyncListener, Listener, Packet};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let group = match args.next().map(|g| g.parse::<u16>()) {
        Some(Ok(group)) => group,
        _ => {
            eprintln!("usage: async_tokio GROUP [--stream]   (GROUP: 0 to 65535)");
            return ExitCode::from(2);
        }
    };
    let stream = args.next().as_deref() == Some("--stream");
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("async_tokio: starting tokio: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(receive(group, stream)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("async_tokio: {e}");
            ExitCode::from(1)
        }
    }
}

async fn receive(group: u16, stream: bool) -> Result<(), nflog::Error> {
    let listener = AsyncListener::new(Listener::bind(group)?)?;
    eprintln!("listening on group {group}; Ctrl-C to stop");
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let listener = if stream {
        let mut packets = listener.into_stream();
        loop {
            tokio::select! {
                _ = &mut ctrl_c => break,
                item = packets.next_packet() => match item {
                    Some(Ok(packet)) => print(&packet.view()),
                    Some(Err(nflog::Error::Parse(e))) => eprintln!("skipped: {e}"),
                    Some(Err(e)) => return Err(e),
                    None => break,
                },
            }
        }
        // Packets already received but not yet taken are still printed.
        let (listener, rest) = packets.into_parts();
        for packet in rest.into_iter().flatten() {
            print(&packet.view());
        }
        listener
    } else {
        let mut listener = listener;
        loop {
            tokio::select! {
                _ = &mut ctrl_c => break,
                batch = listener.recv() => {
                    for item in batch? {
                        match item {
                            Ok(packet) => print(&packet),
                            Err(nflog::Error::Parse(e)) => eprintln!("skipped: {e}"),
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
        listener
    };
    eprintln!();
    eprintln!("{}", listener.into_inner().stats());
    Ok(())
}

fn print(packet: &Packet<&[u8]>) {
    println!(
        "group {} {} prefix {:?} mark {:?} in {:?} out {:?} {} bytes",
        packet.group(),
        packet.hook(),
        packet.prefix().unwrap_or_default(),
        packet.mark(),
        packet.indev(),
        packet.outdev(),
        packet.payload().map_or(0, <[u8]>::len),
    );
}
