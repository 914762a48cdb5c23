//! A capture ruleset: a table of nflog's own that logs what a filter matches to one group,
//! and the guard that removes it.
//!
//! The table, named `nflog-PID-GROUP` so that two captures never share one, holds:
//!
//! ```text
//! table inet nflog-PID-GROUP {            # flags owner (Linux 5.12 and later)
//!     chain logged {                       # what every match does
//!         counter [limit rate R burst B packets counter] log group G [prefix P] [snaplen N]
//!     }
//!     chain match {                        # one rule per alternative of the filter
//!         ALTERNATIVE goto logged
//!     }
//!     chain input {                        # one base chain per hook
//!         type filter hook input priority -150; policy accept;
//!         goto match
//!     }
//! }
//! ```
//!
//! The base chains only log: policy accept and no verdict of their own, so a packet's fate
//! is what the other tables decide. They run at priority -150 ([`DEFAULT_PRIORITY`],
//! nftables' `mangle`): after conntrack (-200), so `ct state` works, and before the
//! `filter` tables (0), so packets those drop are still seen. The filter's anonymous sets
//! live in the `match` chain, once, because the kernel binds an anonymous set to a single
//! rule. With a limit the first counter counts every match and the second those under the
//! limit: their difference is what the limit held back ([`Counters::over_limit`]).
//!
//! With the owner flag the kernel deletes the table when the netlink socket that made it
//! closes, whatever ends the process (SIGKILL, a crash); the guard also deletes it when
//! dropped. On kernels before 5.12 the flag is refused and the table is made without it:
//! then only the guard removes it, and a process killed with SIGKILL leaves it behind
//! (`nft delete table inet nflog-PID-GROUP` removes it).

use crate::namespace::Netns;
use crate::nft::error::NftError;
use crate::nft::expr::{Expr, ExprError, Immediate, LimitType, LimitUnit, Register, Verdict};
use crate::nft::msg::{
    hook_name, AnonymousSet, BaseHook, Batch, Chain, MsgType, Rule, Table, NFT_TABLE_F_OWNER,
};
use crate::nft::socket::NftSocket;
use crate::wire::family::{Family, Hook};

/// The environment variable that makes [`CaptureRules::install_with`] take the path of
/// kernels before 5.12 (the table without the owner flag) on any kernel: for tests only,
/// which prove that path on a current kernel.
const NO_OWNER_FOR_TESTS: &str = "NFLOG_TEST_NO_OWNER_FLAG";

/// The priority of the capture chains: nftables' `mangle` (-150), after conntrack and
/// before the `filter` tables.
pub const DEFAULT_PRIORITY: i32 = -150;

/// The chain holding the `log` rule. Not `log`: nft's parser takes that for the keyword,
/// and could not read the ruleset back (`nft -f`, `--print-rule`).
pub const LOG_CHAIN: &str = "logged";
/// The chain holding the filter's alternatives.
pub const MATCH_CHAIN: &str = "match";

/// What a filter compiles to: the packet is captured when any alternative matches (a rule
/// each), and the anonymous sets their lookups use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// The alternatives, each a list of matching expressions (no verdict). An empty list
    /// matches every packet; no alternative at all matches none.
    pub alternatives: Vec<Vec<Expr>>,
    /// The anonymous sets looked up, each by exactly one `lookup` expression
    /// ([`AnonymousSet::lookup`]) with its id.
    pub sets: Vec<AnonymousSet>,
}

impl Filter {
    /// A filter that matches every packet.
    pub fn all() -> Filter {
        Filter {
            alternatives: vec![Vec::new()],
            sets: Vec::new(),
        }
    }
}

/// A rate limit in front of the log: `limit rate RATE/UNIT burst BURST packets`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Packets per unit.
    pub rate: u64,
    /// The unit of time.
    pub unit: LimitUnit,
    /// Packets that may pass at once beyond the rate (nft's default is 5).
    pub burst: u32,
}

/// The ruleset of one capture: which packets, at which hooks, logged how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRules {
    /// The table's family: inet (the default), ip, ip6, bridge, arp or netdev.
    pub family: Family,
    /// The hooks with a base chain; for netdev, ingress and egress.
    pub hooks: Vec<Hook>,
    /// The device of netdev chains (`-i IFACE`).
    pub device: Option<String>,
    /// The base chains' priority.
    pub priority: i32,
    /// Which packets.
    pub filter: Filter,
    /// A rate limit before the log.
    pub limit: Option<Limit>,
    /// The log prefix.
    pub prefix: Option<String>,
    /// Bytes of each packet to copy (`snaplen`); `None` for the group's copy range.
    pub snaplen: Option<u32>,
}

impl Default for CaptureRules {
    fn default() -> Self {
        CaptureRules {
            family: Family::Inet,
            hooks: vec![Hook::Input, Hook::Forward, Hook::Output],
            device: None,
            priority: DEFAULT_PRIORITY,
            filter: Filter::all(),
            limit: None,
            prefix: None,
            snaplen: None,
        }
    }
}

/// The counters of an installed capture, read back from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counters {
    /// Packets the filter matched.
    pub matched: u64,
    /// Bytes of those.
    pub matched_bytes: u64,
    /// Of those, packets the limit held back (not logged); `None` without a limit.
    pub over_limit: Option<u64>,
}

impl CaptureRules {
    /// The rules for `netdev` capture at ingress and egress of `device`.
    pub fn netdev(device: &str) -> CaptureRules {
        CaptureRules {
            family: Family::Netdev,
            hooks: vec![Hook::Ingress, Hook::Egress],
            device: Some(device.to_owned()),
            ..CaptureRules::default()
        }
    }

    /// The table name for a capture of `group` by this process: `nflog-PID-GROUP`.
    pub fn table_name(group: u16) -> String {
        format!("nflog-{}-{group}", std::process::id())
    }

    /// The expressions of the `log` chain's one rule.
    fn log_rule(&self, group: u16) -> Vec<Expr> {
        let counter = Expr::Counter {
            packets: 0,
            bytes: 0,
        };
        let mut exprs = vec![counter.clone()];
        if let Some(limit) = &self.limit {
            exprs.push(Expr::Limit {
                rate: limit.rate,
                unit: limit.unit,
                burst: limit.burst,
                kind: LimitType::Packets,
                invert: false,
            });
            exprs.push(counter);
        }
        exprs.push(Expr::Log {
            group,
            prefix: self.prefix.clone(),
            snaplen: self.snaplen,
            queue_threshold: None,
        });
        exprs
    }

    /// Checks that each set is looked up once, by a lookup with its id.
    fn check_sets(&self) -> Result<(), ExprError> {
        for set in &self.filter.sets {
            let uses = self
                .filter
                .alternatives
                .iter()
                .flatten()
                .filter(|e| matches!(e, Expr::Lookup { set_id: Some(id), .. } if *id == set.id))
                .count();
            if uses != 1 {
                return Err(ExprError::Name {
                    name: format!(
                        "anonymous set {} looked up {uses} times (the kernel binds it to one rule)",
                        set.id
                    ),
                });
            }
        }
        Ok(())
    }

    /// The batch that installs the capture of `group` as table `table`.
    ///
    /// # Errors
    ///
    /// [`ExprError`] for rules nf_tables would refuse.
    pub fn batch(
        &self,
        socket: &NftSocket,
        table: &str,
        group: u16,
        owner: bool,
    ) -> Result<Batch, ExprError> {
        self.check_sets()?;
        let family = self.family;
        let mut batch = socket.batch();
        batch.add_table(&Table {
            family,
            name: table.to_owned(),
            flags: if owner { NFT_TABLE_F_OWNER } else { 0 },
        })?;
        for name in [LOG_CHAIN, MATCH_CHAIN] {
            batch.add_chain(
                family,
                &Chain {
                    table: table.to_owned(),
                    name: name.to_owned(),
                    hook: None,
                },
            )?;
        }
        batch.add_rule(
            family,
            &Rule {
                table: table.to_owned(),
                chain: LOG_CHAIN.to_owned(),
                exprs: self.log_rule(group),
            },
        )?;
        for set in &self.filter.sets {
            batch.add_set(family, table, set)?;
        }
        for alternative in &self.filter.alternatives {
            let mut exprs = alternative.clone();
            exprs.push(goto(LOG_CHAIN));
            batch.add_rule(
                family,
                &Rule {
                    table: table.to_owned(),
                    chain: MATCH_CHAIN.to_owned(),
                    exprs,
                },
            )?;
        }
        for hook in &self.hooks {
            // nft's hook name, as `--print-rule` writes the chain (`input`, not the arp
            // family's `IN`).
            let name = hook_name(family, *hook).to_owned();
            batch.add_chain(
                family,
                &Chain {
                    table: table.to_owned(),
                    name: name.clone(),
                    hook: Some(BaseHook {
                        hook: *hook,
                        priority: self.priority,
                        device: self.device.clone(),
                    }),
                },
            )?;
            batch.add_rule(
                family,
                &Rule {
                    table: table.to_owned(),
                    chain: name,
                    exprs: vec![goto(MATCH_CHAIN)],
                },
            )?;
        }
        Ok(batch)
    }

    /// Installs the capture of `group` in the caller's network namespace.
    ///
    /// # Errors
    ///
    /// As [`install_with`](Self::install_with).
    pub fn install(&self, group: u16) -> Result<CaptureGuard, NftError> {
        self.install_with(NftSocket::open()?, group)
    }

    /// Installs the capture of `group` in the network namespace `netns`.
    ///
    /// # Errors
    ///
    /// As [`install_with`](Self::install_with), and [`NftError::Namespace`].
    pub fn install_in(&self, netns: &Netns, group: u16) -> Result<CaptureGuard, NftError> {
        self.install_with(NftSocket::open_in(netns)?, group)
    }

    /// Installs the capture of `group` through `socket`, which the guard keeps: the owner
    /// table lives as long as it.
    ///
    /// Asks for the owner flag first and, when the kernel refuses it (before Linux 5.12),
    /// installs the table without it. Nothing is left installed when this fails.
    ///
    /// For tests only: with `NFLOG_TEST_NO_OWNER_FLAG` set in the environment (to
    /// anything), the table is made without the owner flag on any kernel, as before 5.12,
    /// so that tests can prove that path (the guard's removal) on a current kernel.
    ///
    /// # Errors
    ///
    /// [`NftError::NoSuchInterface`] for a device the namespace lacks;
    /// [`NftError::Invalid`] for rules nf_tables would refuse; the kernel's refusal
    /// ([`NftError::Kernel`], with its message), [`NftError::PermissionDenied`] without
    /// CAP_NET_ADMIN, [`NftError::Unsupported`] without nf_tables.
    pub fn install_with(
        &self,
        mut socket: NftSocket,
        group: u16,
    ) -> Result<CaptureGuard, NftError> {
        if let Some(device) = &self.device {
            // Since Linux 6.16 a netdev chain may name a device that does not exist (and
            // then sees nothing): ask the namespace, so a typo is an error.
            if rustix::net::netdevice::name_to_index(&socket, device).is_err() {
                return Err(NftError::NoSuchInterface {
                    name: device.clone(),
                });
            }
        }
        let table = Self::table_name(group);
        let mut owner = std::env::var_os(NO_OWNER_FOR_TESTS).is_none();
        loop {
            let mut batch = self.batch(&socket, &table, group, owner)?;
            match socket.send_batch(&mut batch) {
                Ok(()) => break,
                // nf_tables_api.c: flags outside NFT_TABLE_F_MASK are EOPNOTSUPP.
                Err(NftError::Kernel {
                    message: Some(m),
                    errno: libc::EOPNOTSUPP,
                    ..
                }) if owner && m.kind == MsgType::NewTable => owner = false,
                Err(e) => return Err(e),
            }
        }
        Ok(CaptureGuard {
            socket,
            family: self.family,
            table,
            owner,
            limited: self.limit.is_some(),
            removed: false,
        })
    }
}

fn goto(chain: &str) -> Expr {
    Expr::Immediate {
        dreg: Register::VERDICT,
        data: Immediate::Verdict(Verdict::Goto(chain.to_owned())),
    }
}

/// An installed capture: dropping it deletes its table.
#[derive(Debug)]
pub struct CaptureGuard {
    socket: NftSocket,
    family: Family,
    table: String,
    owner: bool,
    limited: bool,
    removed: bool,
}

impl CaptureGuard {
    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The table's family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Whether the table has the owner flag: the kernel deletes it when the socket closes,
    /// even if the process is killed.
    pub fn is_owned(&self) -> bool {
        self.owner
    }

    /// The socket that installed the table.
    pub fn socket(&self) -> &NftSocket {
        &self.socket
    }

    /// Reads the capture's counters back from the kernel.
    ///
    /// # Errors
    ///
    /// As [`NftSocket::rules`].
    pub fn counters(&mut self) -> Result<Counters, NftError> {
        let rules = self.socket.rules(self.family, &self.table)?;
        let mut counters = Counters::default();
        for (chain, exprs) in rules {
            if chain != LOG_CHAIN {
                continue;
            }
            let counts: Vec<(u64, u64)> = exprs
                .iter()
                .filter_map(|e| match e {
                    Expr::Counter { packets, bytes } => Some((*packets, *bytes)),
                    _ => None,
                })
                .collect();
            if let Some((packets, bytes)) = counts.first() {
                counters.matched = *packets;
                counters.matched_bytes = *bytes;
            }
            if self.limited {
                counters.over_limit = counts
                    .get(1)
                    .map(|(under, _)| counters.matched.saturating_sub(*under));
            }
        }
        Ok(counters)
    }

    /// Deletes the table now.
    ///
    /// # Errors
    ///
    /// The kernel's refusal (the table is gone already: ENOENT).
    pub fn remove(mut self) -> Result<(), NftError> {
        self.delete()
    }

    fn delete(&mut self) -> Result<(), NftError> {
        self.removed = true;
        let mut batch = self.socket.batch();
        batch.delete_table(self.family, &self.table)?;
        self.socket.send_batch(&mut batch)
    }
}

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        if !self.removed {
            // With the owner flag, closing the socket deletes the table anyway.
            let _ = self.delete();
        }
    }
}
