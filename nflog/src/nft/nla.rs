//! Nested attributes for nf_tables messages: the open/close pair around
//! [`wire::emit`](crate::wire::emit), and a table of a nest's attributes by type.
//!
//! nf_tables nests deeply (rule > expressions > expression > data > value) and the kernel's
//! policies (nf_tables_api.c: `nla_parse_nested_deprecated`) take the nests with or without
//! `NLA_F_NESTED`; libnftnl sets it on every nest, and so do we, so that our bytes are
//! libnftnl's.

use crate::error::ParseError;
use crate::wire::attr::{emit, Attributes, NLA_F_NESTED};

/// A nest opened by [`open`], to close with [`close`].
#[must_use]
pub(crate) struct Nest(usize);

/// Opens a nested attribute of type `kind` (with `NLA_F_NESTED`) at the end of `out`.
pub(crate) fn open(out: &mut Vec<u8>, kind: u16) -> Nest {
    let start = out.len();
    out.extend_from_slice(&0u16.to_ne_bytes());
    out.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    Nest(start)
}

/// Closes `nest`: writes its length, which counts everything appended since [`open`].
///
/// Returns false, and writes nothing, when that is more than a netlink attribute can
/// describe; the caller turns that into an error naming what was too large.
pub(crate) fn close(out: &mut [u8], nest: Nest) -> bool {
    let Ok(len) = u16::try_from(out.len() - nest.0) else {
        return false;
    };
    out[nest.0..nest.0 + 2].copy_from_slice(&len.to_ne_bytes());
    true
}

/// Appends a NUL-terminated string attribute, as the kernel's `NLA_STRING` policies expect.
///
/// Callers check the string against the kernel's limit first (table, chain and set names:
/// 256 bytes; log prefixes: 127), far under what an attribute holds.
pub(crate) fn emit_str(out: &mut Vec<u8>, kind: u16, value: &str) {
    let mut bytes = Vec::with_capacity(value.len() + 1);
    bytes.extend_from_slice(value.as_bytes());
    bytes.push(0);
    emit(out, kind, &bytes);
}

/// Appends a big-endian u32 attribute.
pub(crate) fn emit_u32(out: &mut Vec<u8>, kind: u16, value: u32) {
    emit(out, kind, &value.to_be_bytes());
}

/// Appends a big-endian u64 attribute.
pub(crate) fn emit_u64(out: &mut Vec<u8>, kind: u16, value: u64) {
    emit(out, kind, &value.to_be_bytes());
}

/// The attributes of one nest, by type (types above 31 are skipped: no nf_tables nest we
/// read has more). The last one of a type wins, as in the kernel's `nla_parse`.
pub(crate) struct Table<'a>([Option<&'a [u8]>; 32]);

impl<'a> Table<'a> {
    /// Reads the attributes in `bytes`.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Table<'a>, ParseError> {
        let mut table = [None; 32];
        for attr in Attributes::new(bytes) {
            let attr = attr?;
            if let Some(slot) = table.get_mut(usize::from(attr.kind())) {
                *slot = Some(attr.value());
            }
        }
        Ok(Table(table))
    }

    /// The value of the attribute of type `kind`, if present.
    pub(crate) fn get(&self, kind: u16) -> Option<&'a [u8]> {
        self.0.get(usize::from(kind)).copied().flatten()
    }

    /// The value of type `kind` read as a big-endian u32, if present and 4 bytes long.
    pub(crate) fn u32(&self, kind: u16) -> Option<u32> {
        self.get(kind)
            .and_then(|v| <[u8; 4]>::try_from(v).ok())
            .map(u32::from_be_bytes)
    }

    /// The value of type `kind` read as a big-endian u64, if present and 8 bytes long.
    pub(crate) fn u64(&self, kind: u16) -> Option<u64> {
        self.get(kind)
            .and_then(|v| <[u8; 8]>::try_from(v).ok())
            .map(u64::from_be_bytes)
    }

    /// The value of type `kind` read as a big-endian u16, if present and 2 bytes long.
    pub(crate) fn u16(&self, kind: u16) -> Option<u16> {
        self.get(kind)
            .and_then(|v| <[u8; 2]>::try_from(v).ok())
            .map(u16::from_be_bytes)
    }

    /// The value of type `kind` as text without its terminating NUL, if present and UTF-8.
    pub(crate) fn str(&self, kind: u16) -> Option<&'a str> {
        let value = self.get(kind)?;
        let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
        core::str::from_utf8(&value[..end]).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nest_counts_what_it_holds_and_sets_the_nested_flag() {
        let mut out = vec![0xee];
        let nest = open(&mut out, 2);
        emit_u32(&mut out, 1, 7);
        assert!(close(&mut out, nest));
        assert_eq!(&out[1..3], &12u16.to_ne_bytes());
        assert_eq!(&out[3..5], &(2 | NLA_F_NESTED).to_ne_bytes());
        let table = Table::parse(&out[5..]).unwrap();
        assert_eq!(table.u32(1), Some(7));
        assert_eq!(table.u32(2), None);
    }

    #[test]
    fn a_nest_too_large_for_nla_len_is_refused() {
        let mut out = Vec::new();
        let nest = open(&mut out, 1);
        out.resize(70_000, 0);
        assert!(!close(&mut out, nest));
    }

    #[test]
    fn strings_carry_their_nul_and_are_padded() {
        let mut out = Vec::new();
        emit_str(&mut out, 3, "filter");
        assert_eq!(out.len(), 12);
        assert_eq!(&out[..2], &11u16.to_ne_bytes());
        assert_eq!(&out[4..11], b"filter\0");
        assert_eq!(Table::parse(&out).unwrap().str(3), Some("filter"));
    }
}
