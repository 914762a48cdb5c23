//! nf_tables messages (tables, chains, rules, anonymous sets) and the batch that carries
//! them.
//!
//! Every change to nf_tables goes in a batch: `NFNL_MSG_BATCH_BEGIN`, the messages,
//! `NFNL_MSG_BATCH_END`, in one datagram; the kernel applies all of them or none
//! (nfnetlink.c: `nfnetlink_rcv_batch`). Each message asks for an acknowledgement
//! (`NLM_F_ACK`) so that a refusal names the message it was for. The attributes come in
//! libnftnl's order and the tests compare them with what nft 1.0.6 sends.

use core::fmt;

use crate::nft::expr::{check_name, Expr, ExprError};
use crate::nft::nla;
use crate::wire::attr::emit;
use crate::wire::family::{Family, Hook};
use crate::wire::netlink::emit_header;
use crate::wire::NLM_F_REQUEST;

/// `NFNL_SUBSYS_NFTABLES`: nf_tables' nfnetlink subsystem.
pub const NFNL_SUBSYS_NFTABLES: u8 = 10;
/// `NFNL_MSG_BATCH_BEGIN`.
pub const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
/// `NFNL_MSG_BATCH_END`.
pub const NFNL_MSG_BATCH_END: u16 = 0x11;

pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_EXCL: u16 = 0x200;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
pub(crate) const NLM_F_DUMP: u16 = 0x300;

/// `NFT_TABLE_F_OWNER` (Linux 5.12): the table belongs to the socket that made it.
pub const NFT_TABLE_F_OWNER: u32 = 2;

/// nf_tables message types (`enum nf_tables_msg_types`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MsgType {
    /// `NFT_MSG_NEWTABLE`.
    NewTable,
    /// `NFT_MSG_GETTABLE`.
    GetTable,
    /// `NFT_MSG_DELTABLE`.
    DelTable,
    /// `NFT_MSG_NEWCHAIN`.
    NewChain,
    /// `NFT_MSG_NEWRULE`.
    NewRule,
    /// `NFT_MSG_GETRULE`.
    GetRule,
    /// `NFT_MSG_NEWSET`.
    NewSet,
    /// `NFT_MSG_NEWSETELEM`.
    NewSetElem,
}

impl MsgType {
    /// The message's number within the subsystem.
    pub const fn number(self) -> u16 {
        match self {
            MsgType::NewTable => 0,
            MsgType::GetTable => 1,
            MsgType::DelTable => 2,
            MsgType::NewChain => 3,
            MsgType::NewRule => 6,
            MsgType::GetRule => 7,
            MsgType::NewSet => 9,
            MsgType::NewSetElem => 12,
        }
    }

    /// `nlmsg_type`: the subsystem in the high byte.
    pub const fn nlmsg_type(self) -> u16 {
        (NFNL_SUBSYS_NFTABLES as u16) << 8 | self.number()
    }

    /// The kernel's name for it, such as `NEWCHAIN`.
    pub const fn name(self) -> &'static str {
        match self {
            MsgType::NewTable => "NEWTABLE",
            MsgType::GetTable => "GETTABLE",
            MsgType::DelTable => "DELTABLE",
            MsgType::NewChain => "NEWCHAIN",
            MsgType::NewRule => "NEWRULE",
            MsgType::GetRule => "GETRULE",
            MsgType::NewSet => "NEWSET",
            MsgType::NewSetElem => "NEWSETELEM",
        }
    }
}

mod nfta {
    pub const TABLE_NAME: u16 = 1;
    pub const TABLE_FLAGS: u16 = 2;

    pub const CHAIN_TABLE: u16 = 1;
    pub const CHAIN_NAME: u16 = 3;
    pub const CHAIN_HOOK: u16 = 4;
    pub const CHAIN_POLICY: u16 = 5;
    pub const CHAIN_TYPE: u16 = 7;
    pub const HOOK_HOOKNUM: u16 = 1;
    pub const HOOK_PRIORITY: u16 = 2;
    pub const HOOK_DEV: u16 = 3;

    pub const RULE_TABLE: u16 = 1;
    pub const RULE_CHAIN: u16 = 2;
    pub const RULE_EXPRESSIONS: u16 = 4;

    pub const SET_TABLE: u16 = 1;
    pub const SET_NAME: u16 = 2;
    pub const SET_FLAGS: u16 = 3;
    pub const SET_KEY_TYPE: u16 = 4;
    pub const SET_KEY_LEN: u16 = 5;
    pub const SET_DESC: u16 = 9;
    pub const SET_ID: u16 = 10;
    pub const SET_DESC_SIZE: u16 = 1;

    pub const SET_ELEM_LIST_TABLE: u16 = 1;
    pub const SET_ELEM_LIST_SET: u16 = 2;
    pub const SET_ELEM_LIST_ELEMENTS: u16 = 3;
    pub const SET_ELEM_LIST_SET_ID: u16 = 4;
    pub const SET_ELEM_KEY: u16 = 1;
    pub const SET_ELEM_FLAGS: u16 = 3;
}

const NFT_SET_ANONYMOUS: u32 = 0x1;
const NFT_SET_CONSTANT: u32 = 0x2;
const NFT_SET_INTERVAL: u32 = 0x4;
const NFT_SET_ELEM_INTERVAL_END: u32 = 0x1;

/// The hook number of `hook` in a chain of `family`, if the family has that hook.
pub fn hook_number(family: Family, hook: Hook) -> Option<u32> {
    match (family, hook) {
        (Family::Netdev, Hook::Ingress) => Some(0),
        (Family::Netdev, Hook::Egress) => Some(1),
        (Family::Netdev, _) => None,
        (Family::Arp, Hook::ArpIn | Hook::Input) => Some(0),
        (Family::Arp, Hook::ArpOut | Hook::Output) => Some(1),
        (Family::Arp, _) => None,
        (Family::Inet, Hook::Ingress) => Some(5),
        (_, Hook::Prerouting) => Some(0),
        (_, Hook::Input) => Some(1),
        (_, Hook::Forward) => Some(2),
        (_, Hook::Output) => Some(3),
        (_, Hook::Postrouting) => Some(4),
        _ => None,
    }
}

/// nft's name of a hook in a table of `family` (`input` for the arp family's IN): the name
/// `nft` writes after `hook`, and the name of the capture chain at that hook.
pub fn hook_name(family: Family, hook: Hook) -> &'static str {
    match (family, hook) {
        (_, Hook::Prerouting) => "prerouting",
        (Family::Arp, Hook::ArpIn) => "input",
        (Family::Arp, Hook::ArpOut) => "output",
        (_, Hook::Input) => "input",
        (_, Hook::Forward | Hook::ArpForward) => "forward",
        (_, Hook::Output) => "output",
        (_, Hook::Postrouting) => "postrouting",
        (_, Hook::Ingress) => "ingress",
        (_, Hook::Egress) => "egress",
        _ => "input",
    }
}

/// A table (`NFT_MSG_NEWTABLE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Its family: inet, ip, ip6, bridge, arp or netdev.
    pub family: Family,
    /// Its name, unique in the family.
    pub name: String,
    /// `NFT_TABLE_F_*`: [`NFT_TABLE_F_OWNER`] or 0.
    pub flags: u32,
}

/// A base chain's attachment to a hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseHook {
    /// The hook.
    pub hook: Hook,
    /// Its priority: lower runs first (filter tables use 0, conntrack -200).
    pub priority: i32,
    /// For netdev chains, the device.
    pub device: Option<String>,
}

/// A chain (`NFT_MSG_NEWCHAIN`): a base chain of type filter with policy accept when it
/// has a hook, else a regular chain that rules jump to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The table's name.
    pub table: String,
    /// The chain's name.
    pub name: String,
    /// Where a base chain hooks in; `None` for a regular chain.
    pub hook: Option<BaseHook>,
}

/// A rule (`NFT_MSG_NEWRULE`), appended at the end of its chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The table's name.
    pub table: String,
    /// The chain's name.
    pub chain: String,
    /// What the rule does, in order.
    pub exprs: Vec<Expr>,
}

/// One element of an anonymous set: a value, or an interval of values (both ends
/// included, as long as each other).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SetElem {
    /// One value, as long as the set's key.
    Value(Vec<u8>),
    /// All values from the first to the second, ends included (big-endian order).
    Interval(Vec<u8>, Vec<u8>),
}

/// An anonymous constant set, made in the same batch as the rule that looks it up
/// (`tcp dport { 22, 80 }`, `ip saddr { 10.0.0.0/8 }`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymousSet {
    /// The id that ties the set to its lookups within the batch (`NFTA_SET_ID`), unique in
    /// the batch.
    pub id: u32,
    /// nft's data type of the key (`NFTA_SET_KEY_TYPE`), which `nft list` uses to print the
    /// elements: 7 IPv4 address, 8 IPv6 address, 12 protocol, 13 port, 19 mark, 41
    /// interface name; 0 when none fits.
    pub key_type: u32,
    /// Bytes of each key.
    pub key_len: u32,
    /// The elements. With any interval among them the set is an interval set.
    pub elements: Vec<SetElem>,
}

impl AnonymousSet {
    /// The name the set is sent with; the kernel makes it unique (`__set0`, ...).
    pub const NAME: &'static str = "__set%d";

    /// A `lookup` of register `sreg` in this set (inverted: match when absent).
    pub fn lookup(&self, sreg: crate::nft::Register, invert: bool) -> Expr {
        Expr::Lookup {
            sreg,
            set: Self::NAME.to_owned(),
            set_id: Some(self.id),
            invert,
        }
    }

    fn is_interval(&self) -> bool {
        self.elements
            .iter()
            .any(|e| matches!(e, SetElem::Interval(..)))
    }

    /// The elements as the kernel's interval sets store them: a start, then the value after
    /// the end flagged `INTERVAL_END`; and a leading zero flagged as an end, as nft sends
    /// it, so that the values below the first interval are outside.
    fn wire_elements(&self) -> Vec<(Vec<u8>, bool)> {
        if !self.is_interval() {
            return self
                .elements
                .iter()
                .map(|e| match e {
                    SetElem::Value(v) | SetElem::Interval(v, _) => (v.clone(), false),
                })
                .collect();
        }
        let mut ranges: Vec<(Vec<u8>, Vec<u8>)> = self
            .elements
            .iter()
            .map(|e| match e {
                SetElem::Value(v) => (v.clone(), v.clone()),
                SetElem::Interval(a, b) => (a.clone(), b.clone()),
            })
            .collect();
        ranges.sort();
        // Overlapping or touching intervals are merged: the kernel refuses overlaps.
        let mut merged: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        for (a, b) in ranges {
            if let Some(last) = merged.last_mut() {
                if successor(&last.1).is_none_or(|next| a <= next) {
                    if b > last.1 {
                        last.1 = b;
                    }
                    continue;
                }
            }
            merged.push((a, b));
        }
        let zero = vec![0u8; self.key_len as usize];
        let mut out = Vec::new();
        if merged.first().is_some_and(|(a, _)| *a != zero) {
            out.push((zero, true));
        }
        for (a, b) in merged {
            out.push((a, false));
            // An interval that reaches the largest value has no end element.
            if let Some(end) = successor(&b) {
                out.push((end, true));
            }
        }
        out
    }

    fn check(&self) -> Result<(), ExprError> {
        let len = self.key_len as usize;
        let bad = |v: &Vec<u8>| v.len() != len;
        for e in &self.elements {
            let (a, b) = match e {
                SetElem::Value(v) => (v, v),
                SetElem::Interval(a, b) => (a, b),
            };
            if len == 0 || len > crate::nft::MAX_DATA_LEN || bad(a) || bad(b) {
                return Err(ExprError::LengthMismatch {
                    expr: "set element",
                    first: len,
                    second: if bad(a) { a.len() } else { b.len() },
                });
            }
        }
        Ok(())
    }
}

/// The big-endian number after `v`, or `None` when `v` is all ones.
fn successor(v: &[u8]) -> Option<Vec<u8>> {
    let mut next = v.to_vec();
    for byte in next.iter_mut().rev() {
        let (sum, carry) = byte.overflowing_add(1);
        *byte = sum;
        if !carry {
            return Some(next);
        }
    }
    None
}

/// What one message of a batch was, to name it in an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageInfo {
    /// The message type.
    pub kind: MsgType,
    /// The family of its table.
    pub family: Family,
    /// The object: `TABLE`, `TABLE CHAIN`, `TABLE CHAIN rule N`, `TABLE set ID`.
    pub object: String,
    /// Its sequence number in the batch.
    pub sequence: u32,
}

impl fmt::Display for MessageInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.kind.name(), self.family, self.object)
    }
}

/// A batch of nf_tables messages, ready to send in one datagram.
#[derive(Debug, Clone)]
pub struct Batch {
    bytes: Vec<u8>,
    messages: Vec<MessageInfo>,
    next_sequence: u32,
    end: usize,
}

impl Batch {
    /// Starts a batch whose messages are numbered from `first_sequence`.
    pub fn new(first_sequence: u32) -> Batch {
        let mut batch = Batch {
            bytes: Vec::with_capacity(1024),
            messages: Vec::new(),
            next_sequence: first_sequence,
            end: 0,
        };
        let begin = batch.take_sequence();
        batch.emit_control(NFNL_MSG_BATCH_BEGIN, begin);
        batch.end = batch.bytes.len();
        batch
    }

    /// The whole datagram: begin, the messages, end. The end takes the
    /// [`next_sequence`](Self::next_sequence), which a message added later would get.
    pub fn finish(&mut self) -> &[u8] {
        self.bytes.truncate(self.end);
        self.emit_control(NFNL_MSG_BATCH_END, self.next_sequence);
        &self.bytes
    }

    /// The messages added, in order.
    pub fn messages(&self) -> &[MessageInfo] {
        &self.messages
    }

    /// The sequence number the next message (or the end) will get.
    pub fn next_sequence(&self) -> u32 {
        self.next_sequence
    }

    fn emit_control(&mut self, message_type: u16, sequence: u32) {
        emit_header(&mut self.bytes, 20, message_type, NLM_F_REQUEST, sequence);
        // nfgenmsg: AF_UNSPEC, version 0, res_id = the subsystem the batch is for.
        self.bytes
            .extend_from_slice(&[0, 0, 0, NFNL_SUBSYS_NFTABLES]);
    }

    fn take_sequence(&mut self) -> u32 {
        let s = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        s
    }

    /// Appends one message: header, nfgenmsg, then what `body` writes.
    fn message(
        &mut self,
        kind: MsgType,
        flags: u16,
        family: Family,
        object: String,
        body: impl FnOnce(&mut Vec<u8>) -> Result<(), ExprError>,
    ) -> Result<(), ExprError> {
        self.bytes.truncate(self.end);
        let sequence = self.next_sequence;
        let start = self.bytes.len();
        emit_header(
            &mut self.bytes,
            0,
            kind.nlmsg_type(),
            NLM_F_REQUEST | NLM_F_ACK | flags,
            sequence,
        );
        self.bytes.extend_from_slice(&[family.number(), 0, 0, 0]);
        if let Err(e) = body(&mut self.bytes) {
            self.bytes.truncate(start);
            return Err(e);
        }
        let len = self.bytes.len() - start;
        self.bytes[start..start + 4].copy_from_slice(&(len as u32).to_ne_bytes());
        self.end = self.bytes.len();
        self.take_sequence();
        self.messages.push(MessageInfo {
            kind,
            family,
            object,
            sequence,
        });
        Ok(())
    }

    /// Adds `NFT_MSG_NEWTABLE`.
    ///
    /// # Errors
    ///
    /// [`ExprError::Name`] for a name nf_tables would refuse.
    pub fn add_table(&mut self, table: &Table) -> Result<(), ExprError> {
        check_name(&table.name)?;
        self.message(
            MsgType::NewTable,
            NLM_F_CREATE | NLM_F_EXCL,
            table.family,
            table.name.clone(),
            |out| {
                nla::emit_str(out, nfta::TABLE_NAME, &table.name);
                nla::emit_u32(out, nfta::TABLE_FLAGS, table.flags);
                Ok(())
            },
        )
    }

    /// Adds a message of `kind` whose attributes the caller built (with
    /// [`wire::emit`](crate::wire::emit)), for what the typed messages do not cover; it is
    /// sent with `NLM_F_CREATE` and named `object` in errors.
    pub fn add_raw(&mut self, kind: MsgType, family: Family, object: &str, attributes: &[u8]) {
        let added = self.message(kind, NLM_F_CREATE, family, object.to_owned(), |out| {
            out.extend_from_slice(attributes);
            Ok(())
        });
        debug_assert!(added.is_ok());
    }

    /// Adds `NFT_MSG_DELTABLE`, which deletes the table and all it holds.
    ///
    /// # Errors
    ///
    /// [`ExprError::Name`] for a name nf_tables would refuse.
    pub fn delete_table(&mut self, family: Family, name: &str) -> Result<(), ExprError> {
        check_name(name)?;
        self.message(MsgType::DelTable, 0, family, name.to_owned(), |out| {
            nla::emit_str(out, nfta::TABLE_NAME, name);
            Ok(())
        })
    }

    /// Adds `NFT_MSG_NEWCHAIN`.
    ///
    /// # Errors
    ///
    /// [`ExprError::Name`] for a name nf_tables would refuse, or a hook the family has not.
    pub fn add_chain(&mut self, family: Family, chain: &Chain) -> Result<(), ExprError> {
        check_name(&chain.table)?;
        check_name(&chain.name)?;
        let hook = match &chain.hook {
            None => None,
            Some(h) => {
                let number = hook_number(family, h.hook).ok_or_else(|| ExprError::Name {
                    name: format!("{} hook of family {family}", h.hook),
                })?;
                if let Some(device) = &h.device {
                    check_name(device)?;
                }
                Some((number, h))
            }
        };
        self.message(
            MsgType::NewChain,
            NLM_F_CREATE,
            family,
            format!("{} {}", chain.table, chain.name),
            |out| {
                nla::emit_str(out, nfta::CHAIN_TABLE, &chain.table);
                nla::emit_str(out, nfta::CHAIN_NAME, &chain.name);
                if let Some((number, h)) = hook {
                    nla::emit_str(out, nfta::CHAIN_TYPE, "filter");
                    // NF_ACCEPT: a chain that only logs never changes a packet's fate.
                    nla::emit_u32(out, nfta::CHAIN_POLICY, 1);
                    let nest = nla::open(out, nfta::CHAIN_HOOK);
                    nla::emit_u32(out, nfta::HOOK_HOOKNUM, number);
                    nla::emit_u32(out, nfta::HOOK_PRIORITY, h.priority as u32);
                    if let Some(device) = &h.device {
                        nla::emit_str(out, nfta::HOOK_DEV, device);
                    }
                    let fits = nla::close(out, nest);
                    debug_assert!(fits);
                }
                Ok(())
            },
        )
    }

    /// Adds `NFT_MSG_NEWRULE`, appending the rule to its chain.
    ///
    /// # Errors
    ///
    /// The first expression's [`ExprError`], or [`ExprError::DataLength`] when the rule is
    /// too long for one netlink attribute.
    pub fn add_rule(&mut self, family: Family, rule: &Rule) -> Result<(), ExprError> {
        check_name(&rule.table)?;
        check_name(&rule.chain)?;
        let index = self
            .messages
            .iter()
            .filter(|m| m.kind == MsgType::NewRule)
            .count();
        self.message(
            MsgType::NewRule,
            NLM_F_CREATE | NLM_F_APPEND,
            family,
            format!("{} {} rule {index}", rule.table, rule.chain),
            |out| {
                nla::emit_str(out, nfta::RULE_TABLE, &rule.table);
                nla::emit_str(out, nfta::RULE_CHAIN, &rule.chain);
                let start = out.len();
                let nest = nla::open(out, nfta::RULE_EXPRESSIONS);
                crate::nft::expr::emit_list(&rule.exprs, out)?;
                if nla::close(out, nest) {
                    Ok(())
                } else {
                    Err(ExprError::DataLength {
                        expr: "rule",
                        len: out.len() - start,
                    })
                }
            },
        )
    }

    /// Adds `NFT_MSG_NEWSET` and `NFT_MSG_NEWSETELEM` for an anonymous constant set in
    /// `table`.
    ///
    /// # Errors
    ///
    /// [`ExprError::LengthMismatch`] for an element not as long as the key.
    pub fn add_set(
        &mut self,
        family: Family,
        table: &str,
        set: &AnonymousSet,
    ) -> Result<(), ExprError> {
        check_name(table)?;
        set.check()?;
        let elements = set.wire_elements();
        let mut flags = NFT_SET_ANONYMOUS | NFT_SET_CONSTANT;
        if set.is_interval() {
            flags |= NFT_SET_INTERVAL;
        }
        let object = format!("{table} set {}", set.id);
        self.message(
            MsgType::NewSet,
            NLM_F_CREATE,
            family,
            object.clone(),
            |out| {
                nla::emit_str(out, nfta::SET_TABLE, table);
                nla::emit_str(out, nfta::SET_NAME, AnonymousSet::NAME);
                nla::emit_u32(out, nfta::SET_FLAGS, flags);
                nla::emit_u32(out, nfta::SET_KEY_TYPE, set.key_type);
                nla::emit_u32(out, nfta::SET_KEY_LEN, set.key_len);
                nla::emit_u32(out, nfta::SET_ID, set.id);
                let desc = nla::open(out, nfta::SET_DESC);
                nla::emit_u32(out, nfta::SET_DESC_SIZE, elements.len() as u32);
                let fits = nla::close(out, desc);
                debug_assert!(fits);
                Ok(())
            },
        )?;
        self.message(MsgType::NewSetElem, NLM_F_CREATE, family, object, |out| {
            nla::emit_str(out, nfta::SET_ELEM_LIST_TABLE, table);
            nla::emit_str(out, nfta::SET_ELEM_LIST_SET, AnonymousSet::NAME);
            nla::emit_u32(out, nfta::SET_ELEM_LIST_SET_ID, set.id);
            let start = out.len();
            let list = nla::open(out, nfta::SET_ELEM_LIST_ELEMENTS);
            // libnftnl numbers the elements 1, 2, ...; the kernel ignores the type.
            for (i, (key, end)) in elements.iter().enumerate() {
                let elem = nla::open(out, (i as u16).wrapping_add(1));
                if *end {
                    nla::emit_u32(out, nfta::SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
                }
                let k = nla::open(out, nfta::SET_ELEM_KEY);
                emit(out, 1, key); // NFTA_DATA_VALUE
                let fits = nla::close(out, k) & nla::close(out, elem);
                debug_assert!(fits);
            }
            if nla::close(out, list) {
                Ok(())
            } else {
                Err(ExprError::DataLength {
                    expr: "set",
                    len: out.len() - start,
                })
            }
        })
    }
}

/// Appends a `NFT_MSG_GETRULE` dump request for the rules of `table` in `family`.
pub(crate) fn get_rules(out: &mut Vec<u8>, sequence: u32, family: Family, table: Option<&str>) {
    let start = out.len();
    emit_header(
        out,
        0,
        MsgType::GetRule.nlmsg_type(),
        NLM_F_REQUEST | NLM_F_DUMP,
        sequence,
    );
    out.extend_from_slice(&[family.number(), 0, 0, 0]);
    if let Some(table) = table {
        nla::emit_str(out, nfta::RULE_TABLE, table);
    }
    let len = out.len() - start;
    out[start..start + 4].copy_from_slice(&(len as u32).to_ne_bytes());
}

/// Appends a `NFT_MSG_GETTABLE` request for one table, with an acknowledgement.
pub(crate) fn get_table(out: &mut Vec<u8>, sequence: u32, family: Family, name: &str) {
    let start = out.len();
    emit_header(
        out,
        0,
        MsgType::GetTable.nlmsg_type(),
        NLM_F_REQUEST | NLM_F_ACK,
        sequence,
    );
    out.extend_from_slice(&[family.number(), 0, 0, 0]);
    nla::emit_str(out, nfta::TABLE_NAME, name);
    let len = out.len() - start;
    out[start..start + 4].copy_from_slice(&(len as u32).to_ne_bytes());
}

/// Reads a rule from the kernel's dump (the message body after `nfgenmsg`): its chain and
/// expressions.
pub(crate) fn parse_rule(attrs: &[u8]) -> Result<(String, Vec<Expr>), crate::nft::DecodeError> {
    let table = nla::Table::parse(attrs)?;
    let chain = table.str(nfta::RULE_CHAIN).unwrap_or_default().to_owned();
    let exprs = crate::nft::expr::decode_list(table.get(nfta::RULE_EXPRESSIONS).unwrap_or(&[]))?;
    Ok((chain, exprs))
}

/// The groups the `log` expressions of a rule (the message body after `nfgenmsg`) send to;
/// expressions this crate does not know are skipped.
pub(crate) fn log_groups(attrs: &[u8]) -> Vec<u16> {
    let Ok(table) = nla::Table::parse(attrs) else {
        return Vec::new();
    };
    let list = table.get(nfta::RULE_EXPRESSIONS).unwrap_or(&[]);
    crate::wire::Attributes::new(list)
        .map_while(Result::ok)
        .filter_map(|elem| match Expr::decode(elem.value()) {
            Ok(Expr::Log { group, .. }) => Some(group),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
