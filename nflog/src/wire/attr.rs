//! Netlink attributes (TLVs): a zero-copy iterator and an emitter.
//!
//! An attribute is `{ u16 nla_len; u16 nla_type; value; padding }` with the two header fields
//! in **host byte order**. `nla_len` counts the header and the value but not the padding that
//! rounds the attribute up to 4 bytes. The two top bits of `nla_type` are flags
//! (`NLA_F_NESTED`, `NLA_F_NET_BYTEORDER`) and are masked off by [`Attr::kind`].

use crate::error::{Header, ParseError};

/// Size of an attribute header (`struct nlattr`).
pub const NLA_HDRLEN: usize = 4;
/// `NLA_F_NESTED`: the value is itself a list of attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_F_NET_BYTEORDER`: the value is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// The bits of `nla_type` that are the type, without the two flags.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// Rounds `len` up to the netlink alignment of 4 bytes.
#[inline]
pub const fn align4(len: usize) -> usize {
    (len + 3) & !3
}

/// One attribute, borrowed from the buffer it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    raw_type: u16,
    value: &'a [u8],
}

impl<'a> Attr<'a> {
    /// Makes an attribute from its raw type (flags included) and its value.
    pub const fn new(raw_type: u16, value: &'a [u8]) -> Self {
        Attr { raw_type, value }
    }

    /// The attribute type with the `NESTED` and `NET_BYTEORDER` flags masked off.
    #[inline]
    pub const fn kind(&self) -> u16 {
        self.raw_type & NLA_TYPE_MASK
    }

    /// The type exactly as it was on the wire, flags included.
    #[inline]
    pub const fn raw_type(&self) -> u16 {
        self.raw_type
    }

    /// Whether the sender set `NLA_F_NESTED`.
    ///
    /// The kernel does not set it on every nested attribute (NFULA_CT carries nested
    /// ctnetlink attributes without it), so do not rely on it to decide whether to descend.
    #[inline]
    pub const fn is_nested(&self) -> bool {
        self.raw_type & NLA_F_NESTED != 0
    }

    /// The value, without header or padding.
    #[inline]
    pub const fn value(&self) -> &'a [u8] {
        self.value
    }

    /// The value read as attributes nested inside this one.
    pub fn nested(&self) -> Attributes<'a> {
        Attributes::new(self.value)
    }
}

/// An iterator over the attributes in a byte slice.
///
/// Yields `Err` for an attribute whose length is under 4 or runs past the end of the slice,
/// then stops. Padding after the last attribute may be missing (the kernel omits it on the
/// last attribute of a message) and is not an error.
#[derive(Debug, Clone)]
pub struct Attributes<'a> {
    rest: &'a [u8],
    failed: bool,
}

impl<'a> Attributes<'a> {
    /// Iterates over the attributes packed in `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Attributes {
            rest: bytes,
            failed: false,
        }
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Result<Attr<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let rest = self.rest;
        let (len, raw_type) = match rest {
            [l0, l1, t0, t1, ..] => (
                usize::from(u16::from_ne_bytes([*l0, *l1])),
                u16::from_ne_bytes([*t0, *t1]),
            ),
            _ => {
                self.failed = true;
                return Some(Err(ParseError::Truncated {
                    what: Header::Attribute,
                    needed: NLA_HDRLEN,
                    available: rest.len(),
                }));
            }
        };
        if len < NLA_HDRLEN || len > rest.len() {
            self.failed = true;
            return Some(Err(ParseError::AttributeLength {
                kind: raw_type & NLA_TYPE_MASK,
                declared: len,
                available: rest.len(),
            }));
        }
        let value = &rest[NLA_HDRLEN..len];
        self.rest = rest.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(Attr { raw_type, value }))
    }
}

/// Appends one attribute to `out`: header in host byte order, `value`, then zeroed padding.
///
/// `nla_len` counts the header and the value, never the padding.
///
/// # Panics
///
/// If the value is longer than an attribute can describe (65531 bytes). Callers in this
/// crate only emit fixed-size configuration values.
pub fn emit(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = NLA_HDRLEN + value.len();
    let len16 = u16::try_from(len).expect("netlink attribute value longer than 65531 bytes");
    out.extend_from_slice(&len16.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + (align4(len) - len), 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        emit(&mut out, kind, value);
        out
    }

    #[test]
    fn emit_pads_without_counting_padding() {
        let bytes = attr(10, b"hi\0");
        assert_eq!(bytes.len(), 8);
        assert_eq!(u16::from_ne_bytes([bytes[0], bytes[1]]), 7);
        assert_eq!(u16::from_ne_bytes([bytes[2], bytes[3]]), 10);
        assert_eq!(&bytes[4..7], b"hi\0");
        assert_eq!(bytes[7], 0);
    }

    #[test]
    fn emit_then_iterate_round_trips() {
        let mut bytes = attr(1, &[1, 2, 3]);
        bytes.extend(attr(2 | NLA_F_NESTED, &[]));
        bytes.extend(attr(3, &[9; 8]));
        let got: Vec<_> = Attributes::new(&bytes).map(Result::unwrap).collect();
        assert_eq!(got.len(), 3);
        assert_eq!((got[0].kind(), got[0].value()), (1, &[1u8, 2, 3][..]));
        assert!(got[1].is_nested());
        assert_eq!(got[1].kind(), 2);
        assert_eq!(got[1].raw_type(), 2 | NLA_F_NESTED);
        assert_eq!(got[2].value(), &[9; 8]);
    }

    #[test]
    fn flags_are_masked_off_the_type() {
        let bytes = attr(7 | NLA_F_NET_BYTEORDER | NLA_F_NESTED, &[0; 4]);
        let a = Attributes::new(&bytes).next().unwrap().unwrap();
        assert_eq!(a.kind(), 7);
        assert!(a.is_nested());
    }

    #[test]
    fn last_attribute_may_lack_padding() {
        let mut bytes = attr(1, &[0; 4]);
        bytes.extend_from_slice(&5u16.to_ne_bytes());
        bytes.extend_from_slice(&2u16.to_ne_bytes());
        bytes.push(0xaa);
        let got: Vec<_> = Attributes::new(&bytes).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref().unwrap().value(), &[0xaa]);
    }

    #[test]
    fn length_under_header_size_is_an_error_and_stops() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&3u16.to_ne_bytes());
        bytes.extend_from_slice(&9u16.to_ne_bytes());
        bytes.extend(attr(1, &[0; 4]));
        let mut it = Attributes::new(&bytes);
        assert_eq!(
            it.next(),
            Some(Err(ParseError::AttributeLength {
                kind: 9,
                declared: 3,
                available: 12
            }))
        );
        assert_eq!(it.next(), None);
    }

    #[test]
    fn length_past_the_end_is_an_error() {
        let mut bytes = attr(1, &[0; 4]);
        bytes.truncate(6);
        let got: Vec<_> = Attributes::new(&bytes).collect();
        assert_eq!(
            got,
            vec![Err(ParseError::AttributeLength {
                kind: 1,
                declared: 8,
                available: 6
            })]
        );
    }

    #[test]
    fn truncated_header_is_an_error() {
        let got: Vec<_> = Attributes::new(&[8, 0]).collect();
        assert_eq!(
            got,
            vec![Err(ParseError::Truncated {
                what: Header::Attribute,
                needed: 4,
                available: 2
            })]
        );
    }

    #[test]
    fn empty_input_yields_nothing() {
        assert_eq!(Attributes::new(&[]).count(), 0);
    }
}
