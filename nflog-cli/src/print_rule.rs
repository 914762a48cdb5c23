//! `nflog --print-rule EXPRESSION`: the nft ruleset an expression compiles to, printed
//! instead of installed, for a user to paste into a firewall of their own.

use anyhow::{anyhow, bail, Result};
use nflog::filter::{self, ruleset_text, Expr};
use nflog::nft::FREE_GROUP_START;

use crate::cli::CaptureArgs;
use crate::{output, rule};

/// Prints the table `nflog EXPRESSION` would install (same options), logging to `-g`'s
/// group, or to 32768 without one, and named `nflog-GROUP`.
pub fn run(args: &CaptureArgs) -> Result<()> {
    let group = match args.groups.as_slice() {
        [] => FREE_GROUP_START,
        [one] => *one,
        _ => bail!("--print-rule: a rule logs to one group, give at most one -g"),
    };
    let rules = rule::capture_rules(args)?;
    // capture_rules compiled the expression already: this cannot fail where it did not.
    let expr = Expr::parse(&args.expression.join(" ")).map_err(|e| anyhow!("filter: {e}"))?;
    let compiled = filter::compile(&expr, rules.family).map_err(|e| anyhow!("filter: {e}"))?;
    let text = ruleset_text(&rules, &compiled, &format!("nflog-{group}"), group);
    output::print(text.as_bytes())
}
