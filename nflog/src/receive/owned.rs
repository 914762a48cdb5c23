//! Packets that own their bytes, to keep after the receive buffer is reused.
//!
//! A borrowed [`Packet`] lives only until the next receive. [`OwnedPacket`] is the same
//! view over a `Vec<u8>`; [`PacketVec`] keeps many packets in one growing buffer, for a
//! queue between threads that should not allocate per packet. Both copy the bytes and the
//! attribute index the parse computed: no packet is parsed twice.

use crate::wire::packet::{Index, Packet};

/// One logged packet, copied out of the receive buffer: `Packet<Vec<u8>>`.
///
/// It can be kept, sent to another thread or task, or yielded by a stream (the
/// `PacketStream` of feature `tokio`). It costs one allocation and copy per packet, which
/// the borrowed [`Batch`](crate::Batch) avoids. Make one with
/// [`Packet::into_owned`] or `From`, or from bytes with [`Packet::new_checked`]; read
/// its numbers directly and its slices through [`Packet::view`].
///
/// The name stays because it reads best where a packet crosses a thread or a task.
pub type OwnedPacket = Packet<Vec<u8>>;

/// Many packets copied one after another into one buffer, each with its attribute index.
///
/// Made for a queue between a receiving and a writing thread: one allocation holds a
/// datagram's packets (or several datagrams'), [`clear`](Self::clear) keeps the memory for
/// reuse, and the packets come back as borrowed views without parsing again.
#[derive(Debug, Clone, Default)]
pub struct PacketVec {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

/// Where one packet's body sits in a [`PacketVec`]'s buffer, and its index.
#[derive(Debug, Clone, Copy)]
struct Entry {
    start: usize,
    end: usize,
    /// The packet's index: offsets from the start of its body, so valid at any position.
    slots: Index,
}

impl PacketVec {
    /// An empty list, which allocates nothing until the first push.
    pub const fn new() -> PacketVec {
        PacketVec {
            bytes: Vec::new(),
            entries: Vec::new(),
        }
    }

    /// An empty list with room for `bytes` bytes of packets.
    pub fn with_capacity(bytes: usize) -> PacketVec {
        PacketVec {
            bytes: Vec::with_capacity(bytes),
            entries: Vec::new(),
        }
    }

    /// Copies a packet's bytes and index to the end of the list.
    pub fn push<T: AsRef<[u8]>>(&mut self, packet: &Packet<T>) {
        let body = packet.as_ref();
        let start = self.bytes.len();
        self.bytes.extend_from_slice(body);
        self.entries.push(Entry {
            start,
            end: self.bytes.len(),
            slots: packet.index(),
        });
    }

    /// The number of packets.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no packet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Removes every packet, keeping the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }

    /// The packet at `position`, if there is one.
    pub fn get(&self, position: usize) -> Option<Packet<&[u8]>> {
        self.entries.get(position).map(|entry| self.view(entry))
    }

    /// The packets, in the order they were pushed.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Packet<&[u8]>> + '_ {
        self.entries.iter().map(|entry| self.view(entry))
    }

    /// The bytes of memory the list holds, used or not: what a queue bounded in bytes counts.
    pub fn memory(&self) -> usize {
        self.bytes.capacity() + self.entries.capacity() * core::mem::size_of::<Entry>()
    }

    fn view(&self, entry: &Entry) -> Packet<&[u8]> {
        // `push` wrote these bytes and this index together: the index is theirs.
        Packet::from_parts(&self.bytes[entry.start..entry.end], entry.slots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ParseError;
    use crate::wire::packet::PacketRepr;

    /// A packet message body for group `group`: IPv4 at INPUT, with `mark`.
    fn body(group: u16, mark: u32) -> Vec<u8> {
        PacketRepr {
            group,
            hook: 1,
            mark: Some(mark),
            ..PacketRepr::default()
        }
        .to_bytes()
    }

    #[test]
    fn owned_packet_reads_like_the_borrowed_one() {
        let bytes = body(7, 9);
        let borrowed = Packet::parse(&bytes).unwrap();
        let owned = OwnedPacket::from(borrowed);
        drop(bytes);
        assert_eq!(owned.group(), 7);
        assert_eq!(owned.mark(), Some(9));
        assert_eq!(owned.view().as_bytes(), &body(7, 9)[..]);
        assert_eq!(Packet::new_checked(body(7, 9)).unwrap(), owned);
        assert_eq!(format!("{owned:?}"), format!("{:?}", owned.view()));
        assert_eq!(owned.into_inner(), body(7, 9));
    }

    #[test]
    fn an_owned_packet_keeps_the_index_it_was_given() {
        let bytes = body(7, 9);
        let owned = Packet::parse(&bytes).unwrap().into_owned();
        assert_eq!(owned.index(), Packet::parse(&bytes).unwrap().index());
        assert_eq!(owned.view().index(), owned.index());
    }

    #[test]
    fn bytes_that_do_not_parse_are_refused() {
        let mut bytes = body(7, 9);
        bytes.truncate(3);
        assert!(matches!(
            OwnedPacket::new_checked(bytes),
            Err(ParseError::Truncated { .. })
        ));
        // A body without NFULA_PACKET_HDR.
        assert!(matches!(
            OwnedPacket::new_checked(vec![2, 0, 0, 7]),
            Err(ParseError::MissingAttribute { .. })
        ));
    }

    #[test]
    fn a_packet_vec_gives_back_what_was_pushed_without_parsing() {
        let bodies: Vec<Vec<u8>> = (0..5).map(|i| body(i, 100 + u32::from(i))).collect();
        let mut list = PacketVec::new();
        assert!(list.is_empty());
        for b in &bodies {
            list.push(&Packet::parse(b).unwrap());
        }
        assert_eq!(list.len(), 5);
        let got: Vec<(u16, Option<u32>, &[u8])> = list
            .iter()
            .map(|p| (p.group(), p.mark(), p.as_bytes()))
            .collect();
        let want: Vec<(u16, Option<u32>, &[u8])> = (0..5)
            .map(|i| (i, Some(100 + u32::from(i)), &bodies[usize::from(i)][..]))
            .collect();
        assert_eq!(got, want);
        for (p, b) in list.iter().zip(&bodies) {
            assert_eq!(p.index(), Packet::parse(b).unwrap().index());
        }
        assert_eq!(list.get(4).map(|p| p.group()), Some(4));
        assert!(list.get(5).is_none());
    }

    #[test]
    fn a_cleared_packet_vec_keeps_its_memory() {
        let mut list = PacketVec::with_capacity(4096);
        let bytes = body(1, 1);
        list.push(&Packet::parse(&bytes).unwrap());
        let memory = list.memory();
        assert!(memory >= 4096);
        list.clear();
        assert!(list.is_empty());
        assert_eq!(list.iter().count(), 0);
        assert_eq!(list.memory(), memory);
    }
}
