//! The hand-off from the reader thread to the writer: the packets of each datagram, parsed
//! once and copied with their attribute index out of the receive buffer into a chunk, queued
//! up to a limit in bytes, the chunks' buffers sent back to be reused.
//!
//! The kernel never waits for a slow reader: what does not fit in the socket's receive
//! buffer is lost. So the reader does nothing but receive, copy and queue, and a slow
//! output (a disk, a terminal, a pipe) delays only the writer. When the writer falls so far
//! behind that the queue reaches its limit, the reader drops the chunk it holds, counts its
//! packets by group, and goes on receiving: the drops are ours, known and reported.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::time::SystemTime;

use nflog::{Packet, PacketVec, PerGroup, Stats};

/// The most buffers the writer keeps for reuse; more are freed. A buffer grows to hold one
/// datagram's packets (at most about 256 KiB), so the pool holds at most a few MiB.
const POOL: usize = 16;
/// The capacity of a new chunk buffer: a few full kernel batches' worth of packets.
const FIRST_CAPACITY: usize = 64 * 1024;

/// The packets of one datagram, parsed: each message body copied with its attribute index,
/// so the writer reads them without parsing again.
#[derive(Debug)]
pub struct Chunk {
    packets: PacketVec,
    /// When the datagram was received: the time of packets without a kernel timestamp.
    pub received: SystemTime,
    /// The listener's statistics once the datagram was read.
    pub stats: Stats,
}

impl Chunk {
    fn with_buffer(mut packets: PacketVec) -> Chunk {
        packets.clear();
        Chunk {
            packets,
            received: SystemTime::UNIX_EPOCH,
            stats: Stats::default(),
        }
    }

    /// Appends one packet: its bytes and its index.
    pub fn push(&mut self, packet: &Packet<&[u8]>) {
        self.packets.push(packet);
    }

    /// The number of packets in the chunk.
    pub fn packets(&self) -> u64 {
        self.packets.len() as u64
    }

    /// The packets, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = Packet<&[u8]>> + '_ {
        self.packets.iter()
    }

    /// The memory the chunk holds: what the queue's limit counts.
    fn footprint(&self) -> usize {
        self.packets.memory()
    }
}

/// Makes a queue that holds at most `limit` bytes of chunks (and always one, however
/// large).
pub fn queue(limit: usize) -> (Producer, Consumer) {
    let (chunks, received) = mpsc::channel();
    let (recycle, pool) = mpsc::channel();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let pooled = Arc::new(AtomicUsize::new(0));
    let producer = Producer {
        chunks,
        pool,
        in_flight: Arc::clone(&in_flight),
        pooled: Arc::clone(&pooled),
        limit,
        current: Chunk::with_buffer(PacketVec::with_capacity(FIRST_CAPACITY)),
        drops: Drops::default(),
        peak: 0,
    };
    let consumer = Consumer {
        chunks: received,
        recycle,
        in_flight,
        pooled,
    };
    (producer, consumer)
}

/// Packets the reader dropped because the queue was full.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops {
    /// All of them.
    pub packets: u64,
    /// By group, in the order groups were first seen.
    pub by_group: PerGroup<u64>,
}

impl Drops {
    /// Packets of `group` dropped.
    pub fn of_group(&self, group: u16) -> u64 {
        self.by_group.get(group).copied().unwrap_or(0)
    }

    fn count(&mut self, chunk: &Chunk) {
        self.packets += chunk.packets();
        for packet in chunk.iter() {
            *self.by_group.entry(packet.group()) += 1;
        }
    }
}

/// The writer is gone: nothing more can be queued.
#[derive(Debug)]
pub struct Closed;

/// The reader's end: fills a chunk and queues it.
pub struct Producer {
    chunks: Sender<Chunk>,
    pool: Receiver<PacketVec>,
    in_flight: Arc<AtomicUsize>,
    /// Buffers waiting in `pool`, shared with the writer, which frees what is beyond
    /// [`POOL`].
    pooled: Arc<AtomicUsize>,
    limit: usize,
    current: Chunk,
    drops: Drops,
    peak: usize,
}

impl Producer {
    /// The chunk being filled.
    pub fn chunk(&mut self) -> &mut Chunk {
        &mut self.current
    }

    /// Queues the chunk being filled, unless it is empty, and starts another; when the
    /// queue is full the chunk's packets are dropped and counted instead. Returns whether
    /// the chunk was queued (an empty one is not).
    ///
    /// # Errors
    ///
    /// [`Closed`] when the writer is gone.
    pub fn send(&mut self) -> Result<bool, Closed> {
        if self.current.packets.is_empty() {
            return Ok(false);
        }
        let size = self.current.footprint();
        let queued = self.in_flight.load(Ordering::Acquire);
        if queued > 0 && queued + size > self.limit {
            self.drops.count(&self.current);
            self.current.packets.clear();
            return Ok(false);
        }
        let buffer = match self.pool.try_recv() {
            Ok(buffer) => {
                // One buffer fewer waits: the writer may return another.
                self.pooled.fetch_sub(1, Ordering::Relaxed);
                buffer
            }
            Err(_) => PacketVec::with_capacity(FIRST_CAPACITY),
        };
        let chunk = std::mem::replace(&mut self.current, Chunk::with_buffer(buffer));
        let now = self.in_flight.fetch_add(size, Ordering::AcqRel) + size;
        self.peak = self.peak.max(now);
        self.chunks.send(chunk).map_err(|_| Closed)?;
        Ok(true)
    }

    /// What was dropped so far.
    pub fn drops(&self) -> &Drops {
        &self.drops
    }

    /// The most bytes the queue held at once.
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// The bytes queued now and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// The writer's end.
pub struct Consumer {
    chunks: Receiver<Chunk>,
    recycle: Sender<PacketVec>,
    in_flight: Arc<AtomicUsize>,
    pooled: Arc<AtomicUsize>,
}

impl Consumer {
    /// The next chunk, waiting for one; `None` once the reader is gone and the queue empty.
    pub fn recv(&self) -> Option<Chunk> {
        self.chunks.recv().ok()
    }

    /// Whether no chunk is waiting right now.
    pub fn is_empty(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }

    /// The bytes queued now and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Gives a written chunk's memory back: to the reader for reuse, or to the allocator
    /// when enough buffers wait already.
    pub fn done(&self, chunk: Chunk) {
        let size = chunk.footprint();
        self.in_flight.fetch_sub(size, Ordering::AcqRel);
        if self.pooled.fetch_add(1, Ordering::Relaxed) < POOL {
            let _ = self.recycle.send(chunk.packets);
        } else {
            self.pooled.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use nflog::PacketRepr;

    /// A message body of `group` with a payload of `extra` bytes.
    fn body(group: u16, extra: usize) -> Vec<u8> {
        PacketRepr {
            group,
            payload: Some(vec![0xab; extra]),
            ..PacketRepr::default()
        }
        .to_bytes()
    }

    /// Pushes a packet message body, parsed as the reader parses it.
    fn push(producer: &mut Producer, body: &[u8]) {
        producer.chunk().push(&Packet::parse(body).unwrap());
    }

    #[test]
    fn bodies_come_back_as_pushed() {
        let (mut producer, consumer) = queue(1 << 20);
        let pushed: Vec<Vec<u8>> = (0..7).map(|i| body(5, i)).collect();
        for b in &pushed {
            push(&mut producer, b);
        }
        assert!(producer.send().unwrap());
        let chunk = consumer.recv().unwrap();
        assert_eq!(chunk.packets(), 7);
        let got: Vec<&[u8]> = chunk.iter().map(|p| p.as_bytes()).collect();
        assert_eq!(got, pushed.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert!(chunk.iter().all(|p| p.group() == 5));
        assert!(!consumer.is_empty());
        consumer.done(chunk);
        assert!(consumer.is_empty());
    }

    #[test]
    fn an_empty_chunk_is_not_sent() {
        let (mut producer, consumer) = queue(1 << 20);
        assert!(!producer.send().unwrap());
        drop(producer);
        assert!(consumer.recv().is_none());
    }

    #[test]
    fn a_full_queue_drops_and_counts_by_group() {
        let (mut producer, consumer) = queue(100 * 1024);
        // The first chunk always goes, however large.
        for _ in 0..10 {
            push(&mut producer, &body(1, 20_000));
        }
        assert!(producer.send().unwrap());
        let first_size = producer.peak();
        assert!(first_size > 100 * 1024);
        // The queue is over its limit: the next chunk is dropped.
        push(&mut producer, &body(1, 10));
        push(&mut producer, &body(2, 10));
        push(&mut producer, &body(2, 10));
        assert!(!producer.send().unwrap());
        assert_eq!(producer.drops().packets, 3);
        assert_eq!(producer.drops().of_group(1), 1);
        assert_eq!(producer.drops().of_group(2), 2);
        assert_eq!(producer.drops().of_group(3), 0);
        // Once the writer caught up, chunks go again, and the dropped ones stay dropped.
        let chunk = consumer.recv().unwrap();
        consumer.done(chunk);
        push(&mut producer, &body(2, 10));
        assert!(producer.send().unwrap());
        let chunk = consumer.recv().unwrap();
        assert_eq!(chunk.packets(), 1);
        assert_eq!(producer.drops().packets, 3);
        assert_eq!(producer.peak(), first_size);
    }

    #[test]
    fn buffers_are_reused() {
        let (mut producer, consumer) = queue(1 << 20);
        push(&mut producer, &body(1, 100));
        producer.send().unwrap();
        let chunk = consumer.recv().unwrap();
        let memory = chunk.footprint();
        assert!(memory > PacketVec::with_capacity(FIRST_CAPACITY).memory());
        consumer.done(chunk);
        push(&mut producer, &body(1, 100));
        producer.send().unwrap();
        // The chunk being filled now has the returned buffer, emptied: a new one would not
        // hold the room of the index the first packet made.
        assert_eq!(producer.current.footprint(), memory);
        assert_eq!(producer.current.packets(), 0);
        assert!(producer.current.iter().next().is_none());
    }

    #[test]
    fn buffers_are_reused_after_the_pool_filled_once() {
        // Regression: the count of pooled buffers was never lowered when the reader took
        // one, so after 16 chunks every buffer was freed and every chunk a new allocation.
        let (mut producer, consumer) = queue(1 << 20);
        for round in 0..4 * POOL {
            // Packets larger than a new buffer (an attribute holds at most 64 KiB): a
            // reused buffer is the one that grew.
            for _ in 0..3 {
                push(&mut producer, &body(1, 60_000));
            }
            assert!(producer.send().unwrap());
            if round > 0 {
                assert!(
                    producer.current.footprint() > 2 * FIRST_CAPACITY,
                    "round {round}: a new buffer, not a reused one"
                );
            }
            consumer.done(consumer.recv().unwrap());
        }
    }

    #[test]
    fn a_gone_writer_closes_the_queue() {
        let (mut producer, consumer) = queue(1 << 20);
        drop(consumer);
        push(&mut producer, &body(1, 1));
        assert!(producer.send().is_err());
    }
}
