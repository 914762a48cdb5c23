//! `nflog`: capture, read and print the packets Linux netfilter logs with NFLOG.
//!
//! Thin by design: argument parsing, wiring and signals. Parsing, decoding, formatting and
//! pcap live in the `nflog` library.

mod capture;
mod cli;
mod demo;
mod netns;
mod output;
mod privileges;
mod queue;
mod read;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => capture::run(&cli.capture),
        Some(Command::Capture(args)) => capture::run(&args),
        Some(Command::Read(args)) => read::run(&args),
        Some(Command::Demo(args)) => demo::run(&args),
        Some(Command::Completions { shell }) => {
            // Into a buffer first: clap_complete panics when it cannot write.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "nflog", &mut script);
            output::print(&script)
        }
        Some(Command::Man) => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(anyhow::Error::from)
                .and_then(|()| output::print(&page))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = std::io::stdout().flush();
            // One line: the error and what caused it, each of which says what to do.
            let mut line = format!("nflog: {e}");
            for cause in e.chain().skip(1) {
                line.push_str(&format!(": {cause}"));
            }
            eprintln!("{line}");
            ExitCode::FAILURE
        }
    }
}
