//! Reading big-endian numbers from attribute values, without a panic on short ones: each
//! value starts at its first byte ([`crate::wire::proto`] reads at any offset).

use crate::wire::proto;

/// The first byte.
pub(crate) fn u8_at(v: &[u8]) -> Option<u8> {
    v.first().copied()
}

/// The first two bytes, big-endian.
pub(crate) fn be16(v: &[u8]) -> Option<u16> {
    proto::be16(v, 0)
}

/// The first four bytes, big-endian.
pub(crate) fn be32(v: &[u8]) -> Option<u32> {
    proto::be32(v, 0)
}

/// The first eight bytes, big-endian (only 4-byte aligned in a message: read bytewise).
pub(crate) fn be64(v: &[u8]) -> Option<u64> {
    proto::be64(v, 0)
}
