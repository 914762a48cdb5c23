//! `nflog EXPRESSION`: the kernel rule nflog installs for itself, in a table it owns, and the
//! free group it logs to.
//!
//! The expression is parsed and compiled by the library (`nflog::filter`), installed as
//! `nflog::nft::CaptureRules` (see its documentation for the table's layout), and removed
//! when the capture ends: by the guard on a normal exit, by the kernel when the process
//! dies (the table's owner flag, Linux 5.12 and later).

use std::sync::{mpsc, Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use nflog::filter;
use nflog::nft::{
    CaptureGuard, CaptureRules, Counters, Filter, Limit, LimitUnit, NftError, NftSocket,
    FREE_GROUP_START,
};
use nflog::{Family, GroupConfig, Hook, Listener};

use crate::cli::{CaptureArgs, FamilyArg};

/// The rule options, which only an expression without `-g` uses.
const RULE_OPTIONS: &str = "--hook, -i, --family, --limit, --limit-burst and --prefix";

/// Whether the arguments ask nflog to install a rule: an expression and no `-g`.
pub fn wanted(args: &CaptureArgs) -> bool {
    args.groups.is_empty() && !args.expression.is_empty()
}

/// Refuses the rule options where no rule is installed (with `-g`, or without an
/// expression).
pub fn check_options(args: &CaptureArgs) -> Result<()> {
    let any = !args.hooks.is_empty()
        || args.interface.is_some()
        || args.family.is_some()
        || args.limit.is_some()
        || args.limit_burst.is_some()
        || args.prefix.is_some();
    if any && !wanted(args) {
        bail!(
            "{RULE_OPTIONS} shape the rule nflog installs for an expression given without -g; \
             with -g the rule is yours (nft ... log group N)"
        );
    }
    Ok(())
}

/// Parses a `--limit` rate: `N/second` (or `minute`, `hour`, `day`, `week`; `N/s`, `/m`, ...).
pub fn parse_rate(text: &str) -> Result<(u64, LimitUnit), String> {
    let (rate, unit) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: give a rate as N/UNIT, such as 100/second"))?;
    let rate: u64 = rate
        .trim()
        .parse()
        .ok()
        .filter(|r| *r > 0)
        .ok_or_else(|| format!("{text:?}: the rate must be a whole number above 0"))?;
    let unit = match unit.trim() {
        "s" | "sec" | "second" | "seconds" => LimitUnit::Second,
        "m" | "min" | "minute" | "minutes" => LimitUnit::Minute,
        "h" | "hour" | "hours" => LimitUnit::Hour,
        "d" | "day" | "days" => LimitUnit::Day,
        "w" | "week" | "weeks" => LimitUnit::Week,
        other => {
            return Err(format!(
                "{other:?}: the unit is second, minute, hour, day or week"
            ))
        }
    };
    Ok((rate, unit))
}

/// The table family and hooks the options ask for.
fn family_and_hooks(args: &CaptureArgs) -> Result<(Family, Vec<Hook>)> {
    let family = match (args.family, &args.interface) {
        (None | Some(FamilyArg::Netdev), Some(_)) => Family::Netdev,
        (Some(other), Some(_)) => bail!(
            "-i captures at the netdev ingress and egress of the interface: it goes with \
             --family netdev, not --family {}",
            other.name()
        ),
        (Some(FamilyArg::Netdev), None) => {
            bail!("--family netdev hooks on one interface: name it with -i IFACE")
        }
        (None, None) => Family::Inet,
        (Some(f), None) => f.family(),
    };
    if family == Family::Netdev {
        if !args.hooks.is_empty() {
            bail!("--hook does not apply with -i: the rule hooks on the interface's ingress and egress");
        }
        return Ok((family, vec![Hook::Ingress, Hook::Egress]));
    }
    let hooks: Vec<Hook> = if args.hooks.is_empty() {
        match family {
            // ARP has no forward hook.
            Family::Arp => vec![Hook::Input, Hook::Output],
            _ => vec![Hook::Input, Hook::Forward, Hook::Output],
        }
    } else {
        let mut hooks = Vec::new();
        for h in &args.hooks {
            let hook = h.hook();
            if nflog::nft::hook_number(family, hook).is_none() {
                bail!(
                    "--hook {}: family {} has no such hook (it has input and output)",
                    h.name(),
                    family.name()
                );
            }
            if !hooks.contains(&hook) {
                hooks.push(hook);
            }
        }
        hooks
    };
    Ok((family, hooks))
}

/// Parses and compiles `expression` for `family` into a filter whose set ids start at
/// `first_set_id`.
///
/// # Errors
///
/// A syntax error (with its column), or what the compiler cannot express for the family.
pub fn compile(expression: &str, family: Family, first_set_id: u32) -> Result<Filter> {
    Ok(compile_with_text(expression, family, first_set_id)?.0)
}

/// As [`compile`], with each alternative's rule in nft's syntax.
pub fn compile_with_text(
    expression: &str,
    family: Family,
    first_set_id: u32,
) -> Result<(Filter, Vec<String>)> {
    let expr = filter::Expr::parse(expression).map_err(|e| anyhow!("filter: {e}"))?;
    let compiled = filter::compile(&expr, family).map_err(|e| anyhow!("filter: {e}"))?;
    let text = compiled.rules.iter().map(|r| r.text.clone()).collect();
    Ok((compiled.into_filter(first_set_id), text))
}

/// The capture ruleset the arguments describe.
pub fn capture_rules(args: &CaptureArgs) -> Result<CaptureRules> {
    let (family, hooks) = family_and_hooks(args)?;
    let expression = args.expression.join(" ");
    let filter = compile(&expression, family, 1)?;
    if filter.alternatives.is_empty() {
        bail!("filter: {expression:?} matches no packet: nothing would be logged");
    }
    let limit = args.limit.map(|(rate, unit)| Limit {
        rate,
        unit,
        // nft's default burst.
        burst: args.limit_burst.unwrap_or(5),
    });
    if let Some(prefix) = &args.prefix {
        if prefix.len() > nflog::nft::MAX_LOG_PREFIX || prefix.contains('\0') {
            bail!(
                "--prefix: at most {} bytes (the kernel's limit), no NUL",
                nflog::nft::MAX_LOG_PREFIX
            );
        }
    }
    Ok(CaptureRules {
        family,
        hooks,
        device: args.interface.clone(),
        filter,
        limit,
        prefix: args.prefix.clone(),
        snaplen: args.snaplen.filter(|s| *s > 0),
        ..CaptureRules::default()
    })
}

/// A rule nflog installed, and the group it logs to.
#[derive(Debug)]
pub struct Installed {
    /// The group picked and bound.
    pub group: u16,
    /// Deletes the table when dropped.
    pub guard: CaptureGuard,
}

/// Binds a free group on `listener` and installs `rules` for it, in the namespace of
/// `--netns` when given.
pub fn install(
    rules: &CaptureRules,
    args: &CaptureArgs,
    listener: &mut Listener,
    config: &GroupConfig,
) -> Result<Installed> {
    let open = || match &args.netns {
        Some(netns) => NftSocket::open_in(netns),
        None => NftSocket::open(),
    };
    let mut socket = open().map_err(explain)?;
    // Groups that rules already log to would mix their packets into ours.
    let taken = socket.logged_groups().map_err(explain)?;
    let group = listener
        .add_free_group(FREE_GROUP_START, &taken, config)
        .map_err(|e| anyhow!("picking a free group from {FREE_GROUP_START} up: {e}"))?;
    let guard = rules.install_with(socket, group).map_err(explain)?;
    Ok(Installed { group, guard })
}

/// The installed rule, kept by a thread of its own that holds CAP_NET_ADMIN alone, so that
/// the capture can read the rule's counters and delete its table at the end, after the rest
/// of the process has dropped every capability (nf_tables answers nothing, not even a read,
/// without CAP_NET_ADMIN).
///
/// Capabilities belong to each thread: this one, started before the others drop theirs,
/// keeps only CAP_NET_ADMIN in its permitted set (`PR_SET_KEEPCAPS` keeps it through
/// `-Z`'s change of user) and raises it only to ask nf_tables.
pub struct Keeper {
    remover: Remover,
    answer: mpsc::Receiver<Result<Counters, String>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Asks the thread that keeps the rule to delete its table, from any thread, and waits until
/// it has: the watchdog, which ends the process when an output is stuck after a signal, uses
/// one so that no table stays behind on a kernel without the owner flag (before 5.12).
#[derive(Clone)]
pub struct Remover {
    settle: mpsc::Sender<()>,
    finish: mpsc::Sender<()>,
    removed: Arc<(Mutex<bool>, Condvar)>,
}

impl Remover {
    /// Asks for the table's deletion and waits, at most `timeout`, until the thread is done.
    pub fn remove(&self, timeout: Duration) {
        let _ = self.settle.send(());
        let _ = self.finish.send(());
        let (done, changed) = &*self.removed;
        let done = done.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = changed.wait_timeout_while(done, timeout, |removed| !*removed);
    }
}

impl Keeper {
    /// Hands `guard` to a new thread, which gives up every other capability but, when the
    /// process is about to switch users (`switching`, for `-Z`), CAP_SETUID and
    /// CAP_SETGID until [`settle`](Self::settle): glibc changes the user of every thread
    /// at once and aborts the process if one of them may not.
    pub fn start(guard: CaptureGuard, switching: bool) -> Result<Keeper> {
        let (settle, settle_rx) = mpsc::channel::<()>();
        let (finish, finish_rx) = mpsc::channel::<()>();
        let (answer_tx, answer) = mpsc::channel();
        let (ready_tx, ready) = mpsc::channel();
        let removed = Arc::new((Mutex::new(false), Condvar::new()));
        let removed_here = Arc::clone(&removed);
        let thread = std::thread::Builder::new()
            .name("nflog rule".into())
            .spawn(move || {
                let mut guard = guard;
                let _ = ready_tx.send(keep_net_admin_only(switching));
                if settle_rx.recv().is_ok() {
                    let _ = keep_net_admin_only(false);
                }
                // The capture's end, or its thread gone: either way, the counters and away.
                let _ = finish_rx.recv();
                let counters =
                    raise_net_admin().and_then(|()| guard.counters().map_err(|e| e.to_string()));
                let _ = guard.remove();
                let (done, changed) = &*removed_here;
                *done.lock().unwrap_or_else(PoisonError::into_inner) = true;
                changed.notify_all();
                let _ = answer_tx.send(counters);
            })
            .context("starting the thread that keeps the rule")?;
        // From here on, dropping the keeper waits for the table's deletion (see Drop).
        let keeper = Keeper {
            remover: Remover {
                settle,
                finish,
                removed,
            },
            answer,
            thread: Some(thread),
        };
        ready
            .recv()
            .map_err(|_| anyhow!("the thread that keeps the rule ended"))?
            .map_err(|e| anyhow!("keeping CAP_NET_ADMIN for the rule's counters: {e}"))?;
        Ok(keeper)
    }

    /// Says the process has switched users (or will not): the thread drops CAP_SETUID and
    /// CAP_SETGID, keeping CAP_NET_ADMIN alone, in its permitted set only.
    pub fn settle(&self) {
        let _ = self.remover.settle.send(());
    }

    /// A handle that deletes the table from another thread.
    pub fn remover(&self) -> Remover {
        self.remover.clone()
    }

    /// Reads the rule's counters and deletes its table; the error says why the counters
    /// could not be read.
    pub fn finish(self) -> Result<Counters, String> {
        let _ = self.remover.settle.send(());
        let _ = self.remover.finish.send(());
        self.answer
            .recv()
            .unwrap_or_else(|_| Err("the thread that keeps the rule ended".into()))
    }
}

impl Drop for Keeper {
    /// Deletes the table and waits until it is gone, on every way out of the capture (an
    /// error after the rule was installed, a panic unwinding): the process's exit would end
    /// the thread first, and on a kernel without the owner flag the table would stay.
    fn drop(&mut self) {
        let _ = self.remover.settle.send(());
        let _ = self.remover.finish.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Leaves the calling thread CAP_NET_ADMIN alone in its permitted and bounding sets, not
/// effective until [`raise_net_admin`]; with `switching`, also CAP_SETUID and CAP_SETGID,
/// effective, for the change of user to come.
fn keep_net_admin_only(switching: bool) -> Result<(), String> {
    use rustix::thread::{
        capabilities, capability_is_in_bounding_set, remove_capability_from_bounding_set,
        set_capabilities, set_keep_capabilities, CapabilitySet, CapabilitySets,
    };
    set_keep_capabilities(true).map_err(|e| format!("PR_SET_KEEPCAPS: {e}"))?;
    let have = capabilities(None).map_err(|e| format!("capget: {e}"))?;
    if have.effective.contains(CapabilitySet::SETPCAP) {
        for bit in 0..64 {
            let cap = CapabilitySet::from_bits_retain(1 << bit);
            if cap == CapabilitySet::NET_ADMIN {
                continue;
            }
            match capability_is_in_bounding_set(cap) {
                Ok(true) => remove_capability_from_bounding_set(cap)
                    .map_err(|e| format!("PR_CAPBSET_DROP {bit}: {e}"))?,
                Ok(false) => {}
                Err(_) => break,
            }
        }
    }
    let setid = if switching {
        CapabilitySet::SETUID | CapabilitySet::SETGID
    } else {
        CapabilitySet::empty()
    };
    set_capabilities(
        None,
        CapabilitySets {
            effective: have.permitted & setid,
            permitted: have.permitted & (CapabilitySet::NET_ADMIN | setid),
            inheritable: CapabilitySet::empty(),
        },
    )
    .map_err(|e| format!("capset: {e}"))
}

/// Makes CAP_NET_ADMIN effective again, from the permitted set.
fn raise_net_admin() -> Result<(), String> {
    use rustix::thread::{capabilities, set_capabilities, CapabilitySet, CapabilitySets};
    let have = capabilities(None).map_err(|e| format!("capget: {e}"))?;
    if !have.permitted.contains(CapabilitySet::NET_ADMIN) {
        return Err("CAP_NET_ADMIN is gone".into());
    }
    set_capabilities(
        None,
        CapabilitySets {
            effective: CapabilitySet::NET_ADMIN,
            permitted: have.permitted,
            inheritable: CapabilitySet::empty(),
        },
    )
    .map_err(|e| format!("capset: {e}"))
}

/// The statistics line of the rule's counters.
pub fn counters_line(counters: &Result<Counters, String>, limited: bool) -> String {
    match counters {
        Ok(c) => match (limited, c.over_limit) {
            (true, Some(over)) => format!(
                "nflog: the rule matched {} packets, {over} of them over --limit (not logged)",
                c.matched
            ),
            _ => format!("nflog: the rule matched {} packets", c.matched),
        },
        Err(e) => format!(
            "nflog: the rule's counters are unknown ({e}){}",
            if limited {
                ": how many were over --limit is unknown"
            } else {
                ""
            }
        ),
    }
}

/// Says what to do about an error of the rule's installation, in the command's terms.
pub fn explain(e: NftError) -> anyhow::Error {
    match e {
        NftError::NoSuchInterface { name } => {
            anyhow!(
                "-i {name}: no interface of that name in this network namespace (see `ip link`)"
            )
        }
        other => anyhow!("installing the rule for the expression: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_nfts_units_and_short_forms() {
        assert_eq!(parse_rate("100/second"), Ok((100, LimitUnit::Second)));
        assert_eq!(parse_rate("5/m"), Ok((5, LimitUnit::Minute)));
        assert_eq!(parse_rate("1/week"), Ok((1, LimitUnit::Week)));
        assert!(parse_rate("100").unwrap_err().contains("N/UNIT"));
        assert!(parse_rate("0/second").unwrap_err().contains("above 0"));
        assert!(parse_rate("10/fortnight")
            .unwrap_err()
            .contains("second, minute"));
    }
}
