//! A packet that owns its bytes, to keep after the receive buffer is reused.

use crate::error::ParseError;
use crate::wire::packet::Packet;

/// One logged packet, copied out of the receive buffer: the message body (`nfgenmsg` and
/// attributes, a LINKTYPE_NFLOG record) in a `Vec<u8>`.
///
/// A [`Packet`] borrows the listener's buffer and lives only until the next receive; this
/// one can be kept, sent to another thread or task, or yielded by a stream (the
/// `PacketStream` of feature `tokio`). It costs one
/// allocation and copy per packet, which the borrowed [`Batch`](crate::Batch) avoids.
///
/// Every constructor checks that the bytes parse, so [`packet`](Self::packet) never fails.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OwnedPacket {
    body: Vec<u8>,
}

impl OwnedPacket {
    /// Copies a packet out of the buffer it borrows.
    pub fn new(packet: &Packet<'_>) -> OwnedPacket {
        OwnedPacket {
            body: packet.as_bytes().to_vec(),
        }
    }

    /// Takes a message body (`nfgenmsg` and attributes) such as [`Packet::as_bytes`] gives.
    ///
    /// # Errors
    ///
    /// As [`Packet::parse`].
    pub fn parse(body: Vec<u8>) -> Result<OwnedPacket, ParseError> {
        Packet::parse(&body)?;
        Ok(OwnedPacket { body })
    }

    /// The packet, a view over the owned bytes.
    ///
    /// Each call parses the bytes again (tens of nanoseconds: one walk over the
    /// attributes): keep the returned view to read several fields.
    pub fn packet(&self) -> Packet<'_> {
        match Packet::parse(&self.body) {
            Ok(packet) => packet,
            // Parsing depends on nothing but the bytes, which parsed when `self` was made
            // and cannot have changed since: this arm is never taken.
            Err(e) => unreachable!("an OwnedPacket's bytes parsed once and must again: {e}"),
        }
    }

    /// The message body: `nfgenmsg` then the attributes, as the kernel sent them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.body
    }

    /// Gives the bytes back.
    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }
}

impl From<Packet<'_>> for OwnedPacket {
    fn from(packet: Packet<'_>) -> OwnedPacket {
        OwnedPacket::new(&packet)
    }
}

impl core::fmt::Debug for OwnedPacket {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.packet().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::attr::emit;

    /// A packet message body for group 7: NFULA_PACKET_HDR (IPv4, hook 1) and NFULA_MARK 9,
    /// built like the fixtures of `receive::batch`.
    fn body() -> Vec<u8> {
        let mut out = vec![2, 0, 0, 7];
        emit(&mut out, 1, &[0x08, 0x00, 1, 0]);
        emit(&mut out, 2, &9u32.to_be_bytes());
        out
    }

    #[test]
    fn owned_packet_reads_like_the_borrowed_one() {
        let bytes = body();
        let borrowed = Packet::parse(&bytes).unwrap();
        let owned = OwnedPacket::from(borrowed);
        drop(bytes);
        assert_eq!(owned.packet().group(), 7);
        assert_eq!(owned.packet().mark(), Some(9));
        assert_eq!(owned.as_bytes(), &body()[..]);
        assert_eq!(OwnedPacket::parse(body()).unwrap(), owned);
        assert_eq!(format!("{owned:?}"), format!("{:?}", owned.packet()));
        assert_eq!(owned.into_bytes(), body());
    }

    #[test]
    fn bytes_that_do_not_parse_are_refused() {
        let mut bytes = body();
        bytes.truncate(3);
        assert!(matches!(
            OwnedPacket::parse(bytes),
            Err(ParseError::Truncated { .. })
        ));
        // A body without NFULA_PACKET_HDR.
        assert!(matches!(
            OwnedPacket::parse(vec![2, 0, 0, 7]),
            Err(ParseError::MissingAttribute { .. })
        ));
    }
}
