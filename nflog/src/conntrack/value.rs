//! Reading big-endian numbers from attribute values, without a panic on short ones.

/// The first byte.
pub(crate) fn u8_at(v: &[u8]) -> Option<u8> {
    v.first().copied()
}

/// The first two bytes, big-endian.
pub(crate) fn be16(v: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(v.get(..2)?.try_into().ok()?))
}

/// The first four bytes, big-endian.
pub(crate) fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

/// The first eight bytes, big-endian (only 4-byte aligned in a message: read bytewise).
pub(crate) fn be64(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(..8)?.try_into().ok()?))
}
