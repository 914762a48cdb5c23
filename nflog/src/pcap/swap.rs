//! Attribute headers of NFLOG records written on a host of the other byte order.
//!
//! A LINKTYPE_NFLOG record keeps the kernel's attribute headers (`nla_len`, `nla_type`) in
//! the writer's byte order, at every level: the top-level `NFULA_*` attributes and the
//! attributes nested inside them. Values are big-endian on every host and stay as they are.
//!
//! Which attributes nest follows the kernel, not `NLA_F_NESTED` alone: nfnetlink_log.c
//! builds `NFULA_VLAN` with `nla_nest_start` (flag set), but `NFULA_CT` comes from
//! nfnetlink_glue's `ctnetlink_glue_build` with `nla_nest_start_noflag`, and so do
//! ctnetlink's own nests inside it (`CTA_TUPLE_ORIG`, `CTA_TUPLE_IP`, `CTA_PROTOINFO_TCP`,
//! ...). An attribute this module does not know is descended into only when it carries
//! `NLA_F_NESTED`.

use crate::wire::attr::{align4, NLA_F_NESTED, NLA_HDRLEN, NLA_TYPE_MASK};
use crate::wire::ctattr::{is_nest, CtAttr};
use crate::wire::kind::PacketAttr;
use crate::wire::packet::NFGENMSG_LEN;

/// How deep nests are followed. The kernel nests three deep (`NFULA_CT`, `CTA_TUPLE_ORIG`,
/// `CTA_TUPLE_IP`); a crafted record nesting deeper is left for the parser to judge, and
/// cannot make the recursion exhaust the stack.
const MAX_DEPTH: usize = 8;

/// `CTA_PROTOINFO_TCP`, `_DCCP`, `_SCTP`: the nests inside `CTA_PROTOINFO`
/// (nfnetlink_conntrack.h, `enum ctattr_protoinfo`).
const PROTOINFO_NESTS: [u16; 3] = [1, 2, 3];
/// `CTA_NAT_PROTO`: the nest inside `CTA_NAT_SRC` and `CTA_NAT_DST` (`enum ctattr_nat`).
const CTA_NAT_PROTO: u16 = 3;

/// Which way a record's headers are turned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// From the other byte order to this host's: lengths are read after swapping.
    ToHost,
    /// From this host's byte order to the other: lengths are read before swapping.
    ToForeign,
}

/// Where a list of attributes sits, which says which of its members are nests.
#[derive(Debug, Clone, Copy)]
enum Nest {
    /// The record's own attributes (`NFULA_*`).
    Packet,
    /// Inside `NFULA_CT`: the `CTA_*` types from the entry down to this list.
    Conntrack {
        path: [u16; MAX_DEPTH],
        depth: usize,
    },
    /// Inside a nest whose members are leaves or unknown (`NFULA_VLAN`, `CTA_TUPLE_IP`).
    Other,
}

impl Nest {
    /// The list inside the member `kind` (flag bits masked off), if that member nests.
    fn inner(&self, kind: u16, flagged: bool) -> Option<Nest> {
        let known = match *self {
            Nest::Packet if kind == PacketAttr::Ct as u16 => Some(Nest::Conntrack {
                path: [0; MAX_DEPTH],
                depth: 0,
            }),
            Nest::Packet if kind == PacketAttr::Vlan as u16 => Some(Nest::Other),
            Nest::Conntrack { path, depth } if depth < MAX_DEPTH => {
                let outer = &path[..depth];
                let deeper = match outer {
                    [p] if *p == CtAttr::Protoinfo as u16 => PROTOINFO_NESTS.contains(&kind),
                    [n] if *n == CtAttr::NatSrc as u16 || *n == CtAttr::NatDst as u16 => {
                        kind == CTA_NAT_PROTO
                    }
                    _ => false,
                };
                (is_nest(outer, kind) || deeper).then(|| {
                    let mut path = path;
                    path[depth] = kind;
                    Nest::Conntrack {
                        path,
                        depth: depth + 1,
                    }
                })
            }
            _ => None,
        };
        known.or(flagged.then_some(Nest::Other))
    }
}

/// Swaps the length and type of every attribute of an NFLOG record, written in the other
/// byte order, into this host's order: the top-level attributes and every nest inside them
/// (`NFULA_VLAN`, `NFULA_CT` and conntrack's own nests). Stops at the first attribute whose
/// length does not fit its list (the parser then reports it).
pub fn swap_nflog_tlv_headers(record: &mut [u8]) {
    swap_record(record, Order::ToHost);
}

/// The inverse of [`swap_nflog_tlv_headers`]: turns a record in this host's byte order into
/// what a host of the other byte order writes, nests included.
pub fn swap_nflog_tlv_headers_to_foreign(record: &mut [u8]) {
    swap_record(record, Order::ToForeign);
}

pub(crate) fn swap_record(record: &mut [u8], order: Order) {
    let end = record.len();
    swap_list(record, NFGENMSG_LEN, end, Nest::Packet, order, 0);
}

fn swap_list(record: &mut [u8], start: usize, end: usize, nest: Nest, order: Order, level: usize) {
    let mut at = start;
    while at + NLA_HDRLEN <= end {
        let len = u16::from_ne_bytes([record[at], record[at + 1]]);
        let kind = u16::from_ne_bytes([record[at + 2], record[at + 3]]);
        record[at..at + 2].copy_from_slice(&len.swap_bytes().to_ne_bytes());
        record[at + 2..at + 4].copy_from_slice(&kind.swap_bytes().to_ne_bytes());
        let (len, kind) = match order {
            Order::ToHost => (len.swap_bytes(), kind.swap_bytes()),
            Order::ToForeign => (len, kind),
        };
        let len = usize::from(len);
        if len < NLA_HDRLEN || len > end - at {
            break;
        }
        if level < MAX_DEPTH {
            if let Some(inner) = nest.inner(kind & NLA_TYPE_MASK, kind & NLA_F_NESTED != 0) {
                swap_list(record, at + NLA_HDRLEN, at + len, inner, order, level + 1);
            }
        }
        at += align4(len);
    }
}
