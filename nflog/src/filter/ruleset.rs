//! The nft ruleset text of a capture table: what `--print-rule` prints, and what `nft -f`
//! reads to install the same table by hand.

use core::fmt::Write;

use super::compile::{family_name, Compiled};
use crate::nft::{hook_name, CaptureRules, LOG_CHAIN, MATCH_CHAIN};

/// The nft text of the capture table `table` that `rules` describe, logging to `group`,
/// with `compiled` (the expression compiled for `rules.family`) in its match chain: the
/// table [`CaptureRules::install`] makes, in the syntax `nft -f` reads (without the owner
/// flag, which belongs to the process that installs it).
pub fn ruleset_text(rules: &CaptureRules, compiled: &Compiled, table: &str, group: u16) -> String {
    let family = family_name(rules.family).unwrap_or("inet");
    let mut out = String::new();
    let _ = writeln!(out, "table {family} {table} {{");
    let _ = writeln!(out, "\tchain {LOG_CHAIN} {{");
    let mut log = String::from("counter ");
    if let Some(limit) = &rules.limit {
        let _ = write!(
            log,
            "limit rate {}/{} burst {} packets counter ",
            limit.rate,
            limit.unit.name(),
            limit.burst
        );
    }
    log.push_str("log");
    if let Some(prefix) = &rules.prefix {
        let _ = write!(log, " prefix \"{prefix}\"");
    }
    let _ = write!(log, " group {group}");
    if let Some(snaplen) = rules.snaplen {
        let _ = write!(log, " snaplen {snaplen}");
    }
    let _ = writeln!(out, "\t\t{log}\n\t}}");
    let _ = writeln!(out, "\tchain {MATCH_CHAIN} {{");
    for rule in &compiled.rules {
        let space = if rule.text.is_empty() { "" } else { " " };
        let _ = writeln!(out, "\t\t{}{space}goto {LOG_CHAIN}", rule.text);
    }
    let _ = writeln!(out, "\t}}");
    for hook in &rules.hooks {
        let name = hook_name(rules.family, *hook);
        let device = rules
            .device
            .as_ref()
            .map_or(String::new(), |d| format!(" device \"{d}\""));
        let _ = writeln!(
            out,
            "\tchain {name} {{\n\t\ttype filter hook {name}{device} priority {}; policy accept;\n\t\tgoto {MATCH_CHAIN}\n\t}}",
            rules.priority
        );
    }
    out.push_str("}\n");
    out
}
