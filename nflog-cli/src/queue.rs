//! The hand-off from the reader thread to the writers: the packets of each datagram, parsed
//! once and copied with their attribute index out of the receive buffer into a chunk, shared
//! by every output's queue (each up to a limit in bytes of its own), the chunks' buffers sent
//! back to be reused once the last output is done with them.
//!
//! The kernel never waits for a slow reader: what does not fit in the socket's receive
//! buffer is lost. So the reader does nothing but receive, copy and queue, and a slow
//! output (a disk, a terminal, a pipe, a server) delays only its own writer. When a writer
//! falls so far behind that its queue reaches its limit, the reader leaves that output out
//! of the chunk it holds, counts the chunk's packets by group as that output's drops, and
//! goes on: the other outputs get the chunk, and the drops are known and reported.
//!
//! A writer that has caught up sleeps until its next chunk. The writer of a file is not
//! woken for each one: its bytes wait in a buffer anyway until a large write, so it is woken
//! once [`WAKE_AFTER`] chunks wait, or wakes by itself at its timeout; a writer whose
//! readers must see each packet as it comes (a terminal, a pipe, a server) is woken for
//! every chunk.

use std::collections::VecDeque;
use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use nflog::{Packet, PacketVec, PerGroup, Stats};

use crate::output::Counters;

/// The most buffers the writer keeps for reuse; more are freed. A buffer grows to hold one
/// datagram's packets (at most about 256 KiB), so the pool holds at most a few MiB.
const POOL: usize = 16;
/// The capacity of a new chunk buffer: a few full kernel batches' worth of packets.
const FIRST_CAPACITY: usize = 64 * 1024;
/// The chunks that wait for a file's sleeping writer before the reader wakes it: each
/// wake-up costs both threads a system call and a context switch, per kernel batch.
pub const WAKE_AFTER: usize = 8;

/// The packets of one datagram, parsed: each message body copied with its attribute index,
/// so the writer reads them without parsing again.
#[derive(Debug)]
pub struct Chunk {
    packets: PacketVec,
    /// Whether the capture's filter takes each packet, in order, when the reader applied
    /// it (once for every output, which then all share it); `None` without one.
    matched: Option<Vec<bool>>,
    /// Packets the filter takes (all of them without one): what `-c` counts.
    taken: u64,
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
            matched: None,
            taken: 0,
            received: SystemTime::UNIX_EPOCH,
            stats: Stats::default(),
        }
    }

    /// Appends one packet: its bytes and its index.
    // Perf: always inlined into the reader's walk over a batch, its one caller per packet,
    // where a call saved and restored five registers for each (figures:
    // docs/benchmarks.md, "Code shaped for speed").
    #[inline(always)]
    pub fn push(&mut self, packet: &Packet<&[u8]>) {
        debug_assert!(
            self.matched.is_none(),
            "a filtered chunk takes judged packets"
        );
        self.packets.push(packet);
        self.taken += 1;
    }

    /// Appends one packet with what the capture's filter said of it: the writers count it
    /// as written or filtered without judging it again.
    pub fn push_judged(&mut self, packet: &Packet<&[u8]>, matches: bool) {
        let packets = self.packets.len();
        let matched = self.matched.get_or_insert_with(Vec::new);
        // Only judged packets in a chunk that has any: the flags follow the packets.
        debug_assert_eq!(matched.len(), packets, "judged and unjudged packets mixed");
        matched.push(matches);
        self.packets.push(packet);
        self.taken += u64::from(matches);
    }

    /// The number of packets in the chunk.
    pub fn packets(&self) -> u64 {
        self.packets.len() as u64
    }

    /// The packets the capture's filter takes (all of them when there is none).
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// The packets, each with whether the capture's filter takes it: `None` when the
    /// reader applied no filter.
    pub fn judged(&self) -> impl Iterator<Item = (Packet<&[u8]>, Option<bool>)> + '_ {
        let matched = self.matched.as_deref();
        self.packets
            .iter()
            .enumerate()
            .map(move |(i, packet)| (packet, matched.map(|m| m.get(i).copied().unwrap_or(true))))
    }

    /// Whether the reader applied the capture's filter to the packets (see
    /// [`judged`](Self::judged)).
    pub fn is_judged(&self) -> bool {
        self.matched.is_some()
    }

    /// The packets, in the order they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = Packet<&[u8]>> + '_ {
        self.packets.iter()
    }

    /// The memory the chunk holds: what the queue's limit counts.
    fn footprint(&self) -> usize {
        self.packets.memory() + self.matched.as_ref().map_or(0, Vec::capacity)
    }
}

/// Makes a queue that holds at most `limit` bytes of chunks (and always one, however
/// large), for one output.
#[cfg(test)]
pub fn queue(limit: usize) -> (Producer, Consumer) {
    let (producer, mut consumers) = fan_out(&[(limit, Arc::default(), false)]);
    let consumer = consumers.pop().expect("one consumer per limit");
    (producer, consumer)
}

/// Makes one queue per output, each holding at most its limit in bytes of chunks (and
/// always one, however large), all fed by one producer: a chunk is shared, not copied.
/// Each output's counters see its queue's bytes and drops. An output marked lazy (a file)
/// has its writer woken once [`WAKE_AFTER`] chunks wait, not for each.
pub fn fan_out(outputs: &[(usize, Arc<Counters>, bool)]) -> (Producer, Vec<Consumer>) {
    let (recycle, pool) = mpsc::channel();
    let pooled = Arc::new(AtomicUsize::new(0));
    let mut lanes = Vec::with_capacity(outputs.len());
    let mut consumers = Vec::with_capacity(outputs.len());
    for (limit, counters, lazy) in outputs {
        let line = Arc::new(Line::default());
        lanes.push(Lane {
            line: Some(Arc::clone(&line)),
            lazy: *lazy,
            counters: Arc::clone(counters),
            limit: *limit,
            drops: Drops::default(),
            peak: 0,
            offered: 0,
        });
        consumers.push(Consumer {
            line,
            counters: Arc::clone(counters),
        });
    }
    let producer = Producer {
        lanes,
        pool,
        recycle,
        pooled,
        current: Chunk::with_buffer(PacketVec::with_capacity(FIRST_CAPACITY)),
    };
    (producer, consumers)
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

/// Every writer is gone: nothing more can be queued.
#[derive(Debug)]
pub struct Closed;

/// A chunk as the writers share it: when the last of them is done with it, its buffer goes
/// back to the reader's pool, or to the allocator when enough buffers wait already.
#[derive(Debug)]
pub struct Shared {
    chunk: Chunk,
    recycle: Sender<PacketVec>,
    pooled: Arc<AtomicUsize>,
}

impl Deref for Shared {
    type Target = Chunk;

    fn deref(&self) -> &Chunk {
        &self.chunk
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if self.pooled.fetch_add(1, Ordering::Relaxed) < POOL {
            let packets = std::mem::replace(&mut self.chunk.packets, PacketVec::with_capacity(0));
            let _ = self.recycle.send(packets);
        } else {
            self.pooled.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// One output's queue: the chunks waiting for its writer, shared by the reader and the
/// writer.
#[derive(Debug, Default)]
struct Line {
    state: Mutex<LineState>,
    /// Signalled when the writer must look again: chunks came, or the reader is gone.
    ready: Condvar,
}

/// What a [`Line`] holds.
#[derive(Debug, Default)]
struct LineState {
    chunks: VecDeque<Arc<Shared>>,
    /// The reader is gone: no chunk comes after those waiting.
    closed: bool,
    /// The writer is gone: no chunk is taken any more.
    gone: bool,
    /// The writer sleeps until it is woken or its timeout passes.
    waiting: bool,
}

impl Line {
    fn state(&self) -> MutexGuard<'_, LineState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a chunk, waking a sleeping writer unless it is `lazy` and fewer than
    /// [`WAKE_AFTER`] chunks wait; `false` when the writer is gone.
    fn push(&self, chunk: Arc<Shared>, lazy: bool) -> bool {
        let mut state = self.state();
        if state.gone {
            return false;
        }
        state.chunks.push_back(chunk);
        // Perf: a writer is woken once, not again for each chunk that follows before it
        // runs.
        let wake = state.waiting && (!lazy || state.chunks.len() >= WAKE_AFTER);
        if wake {
            state.waiting = false;
        }
        drop(state);
        if wake {
            self.ready.notify_one();
        }
        true
    }

    /// Says that no chunk comes any more, waking the writer to take what waits.
    fn close(&self) {
        let mut state = self.state();
        state.closed = true;
        state.waiting = false;
        drop(state);
        self.ready.notify_one();
    }
}

/// One output's queue, as the reader sees it.
struct Lane {
    /// `None` once the output's writer is gone.
    line: Option<Arc<Line>>,
    /// Whether its writer is woken for several chunks at once (a file).
    lazy: bool,
    /// The output's counters: the bytes waiting in its queue are `queue_bytes`.
    counters: Arc<Counters>,
    limit: usize,
    drops: Drops,
    peak: usize,
    /// Packets offered to the output: queued for it, or lost with it when its writer was
    /// gone.
    offered: u64,
}

/// What the reader did for one output.
#[derive(Debug, Clone)]
pub struct LaneEnd {
    /// Packets queued for the output, and those offered after its writer was gone.
    pub offered: u64,
    /// Packets its full queue dropped.
    pub drops: Drops,
    /// The most bytes its queue held at once.
    pub peak: usize,
    /// The output's counters: which output this is.
    pub counters: Arc<Counters>,
}

/// The reader's end: fills a chunk and queues it for every output.
pub struct Producer {
    lanes: Vec<Lane>,
    pool: Receiver<PacketVec>,
    recycle: Sender<PacketVec>,
    /// Buffers waiting in `pool`, shared with the writers, which free what is beyond
    /// [`POOL`].
    pooled: Arc<AtomicUsize>,
    current: Chunk,
}

impl Producer {
    /// The chunk being filled.
    pub fn chunk(&mut self) -> &mut Chunk {
        &mut self.current
    }

    /// Queues the chunk being filled, unless it is empty, for each output whose queue has
    /// room, and starts another; an output whose queue is full has the chunk's packets
    /// counted as its drops instead. Returns whether any output took the chunk (an empty
    /// one is not sent).
    ///
    /// # Errors
    ///
    /// [`Closed`] when every writer is gone.
    pub fn send(&mut self) -> Result<bool, Closed> {
        if self.current.packets.is_empty() {
            return Ok(false);
        }
        let size = self.current.footprint();
        let packets = self.current.packets();
        let mut taking = Vec::with_capacity(self.lanes.len());
        let mut open = 0;
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            if lane.line.is_none() {
                // Its writer is gone, and says why: these packets are lost with it.
                lane.offered += packets;
                continue;
            }
            open += 1;
            let queued = lane.counters.queue_bytes.load(Ordering::Acquire);
            if queued > 0 && queued.saturating_add(size as u64) > lane.limit as u64 {
                lane.drops.count(&self.current);
                lane.counters
                    .queue_dropped
                    .store(lane.drops.packets, Ordering::Relaxed);
            } else {
                taking.push(i);
            }
        }
        if open == 0 {
            return Err(Closed);
        }
        if taking.is_empty() {
            self.current.packets.clear();
            self.current.matched = None;
            self.current.taken = 0;
            return Ok(false);
        }
        let buffer = match self.pool.try_recv() {
            Ok(buffer) => {
                // One buffer fewer waits: a writer may return another.
                self.pooled.fetch_sub(1, Ordering::Relaxed);
                buffer
            }
            Err(_) => PacketVec::with_capacity(FIRST_CAPACITY),
        };
        let chunk = std::mem::replace(&mut self.current, Chunk::with_buffer(buffer));
        let shared = Arc::new(Shared {
            chunk,
            recycle: self.recycle.clone(),
            pooled: Arc::clone(&self.pooled),
        });
        let mut sent = false;
        for i in taking {
            let lane = &mut self.lanes[i];
            lane.offered += packets;
            let now = lane
                .counters
                .queue_bytes
                .fetch_add(size as u64, Ordering::AcqRel)
                + size as u64;
            lane.peak = lane.peak.max(usize::try_from(now).unwrap_or(usize::MAX));
            let gone = lane
                .line
                .as_ref()
                .is_some_and(|line| !line.push(Arc::clone(&shared), lane.lazy));
            if gone {
                // The writer stopped, and says why; these packets are lost with it.
                lane.counters
                    .queue_bytes
                    .fetch_sub(size as u64, Ordering::AcqRel);
                lane.line = None;
            } else {
                sent = true;
            }
        }
        if !sent && self.lanes.iter().all(|l| l.line.is_none()) {
            return Err(Closed);
        }
        Ok(true)
    }

    /// What the reader did for each output so far, in the order of the outputs.
    pub fn lanes(&self) -> Vec<LaneEnd> {
        self.lanes
            .iter()
            .map(|lane| LaneEnd {
                offered: lane.offered,
                drops: lane.drops.clone(),
                peak: lane.peak,
                counters: Arc::clone(&lane.counters),
            })
            .collect()
    }

    /// What was dropped so far for the first output.
    #[cfg(test)]
    pub fn drops(&self) -> &Drops {
        &self.lanes[0].drops
    }

    /// The most bytes the first output's queue held at once.
    #[cfg(test)]
    pub fn peak(&self) -> usize {
        self.lanes[0].peak
    }
}

impl Drop for Producer {
    /// Tells every writer that nothing more comes, once it has taken what waits.
    fn drop(&mut self) {
        for lane in &self.lanes {
            if let Some(line) = &lane.line {
                line.close();
            }
        }
    }
}

/// One writer's end.
pub struct Consumer {
    line: Arc<Line>,
    counters: Arc<Counters>,
}

impl Consumer {
    /// The next chunk, waiting for one; `None` once the reader is gone and the queue empty.
    #[cfg(test)]
    pub fn recv(&self) -> Option<Arc<Shared>> {
        loop {
            match self.recv_timeout(Duration::from_secs(3600)) {
                Ok(Some(chunk)) => return Some(chunk),
                Ok(None) => {}
                Err(Closed) => return None,
            }
        }
    }

    /// The next chunk, waiting at most `timeout`: `Ok(None)` when none came in time. (A
    /// lazy output's chunks may wait until then without waking it.)
    ///
    /// # Errors
    ///
    /// [`Closed`] once the reader is gone and the queue empty.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Option<Arc<Shared>>, Closed> {
        let deadline = Instant::now() + timeout;
        let mut state = self.line.state();
        loop {
            if let Some(chunk) = state.chunks.pop_front() {
                return Ok(Some(chunk));
            }
            if state.closed {
                return Err(Closed);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            state.waiting = true;
            state = match self.line.ready.wait_timeout(state, left) {
                Ok((state, _)) => state,
                Err(poisoned) => poisoned.into_inner().0,
            };
            state.waiting = false;
        }
    }

    /// Whether no chunk is waiting right now.
    pub fn is_empty(&self) -> bool {
        self.counters.queue_bytes.load(Ordering::Acquire) == 0
    }

    /// Gives a written chunk back: its bytes leave this output's queue, and its memory
    /// goes back to the reader once every output is done with it.
    pub fn done(&self, chunk: Arc<Shared>) {
        self.counters
            .queue_bytes
            .fetch_sub(chunk.footprint() as u64, Ordering::AcqRel);
    }
}

impl Drop for Consumer {
    /// Tells the reader the writer is gone; the chunks that wait are let go.
    fn drop(&mut self) {
        let mut state = self.line.state();
        state.gone = true;
        let waiting = std::mem::take(&mut state.chunks);
        drop(state);
        drop(waiting);
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
    fn a_gone_writer_loses_its_packets_and_the_others_get_them() {
        // Regression: once an output's writer was gone, the chunks that followed were
        // offered to it no more, so what it lost fell short of what was received.
        let (mut producer, mut consumers) = fan_out(&[
            (1 << 20, Arc::default(), false),
            (1 << 20, Arc::default(), false),
        ]);
        let second = consumers.pop().unwrap();
        drop(consumers);
        for round in 0..5 {
            for _ in 0..3 {
                push(&mut producer, &body(1, 10));
            }
            assert!(producer.send().unwrap(), "round {round}");
        }
        let lanes = producer.lanes();
        assert_eq!(lanes[0].offered, 15, "lost with the gone writer");
        assert_eq!(lanes[1].offered, 15);
        drop(producer);
        let mut got = 0;
        while let Some(chunk) = second.recv() {
            got += chunk.packets();
            second.done(chunk);
        }
        assert_eq!(got, 15);
    }

    #[test]
    fn a_lazy_writer_is_woken_for_several_chunks_or_wakes_by_itself() {
        let (mut producer, mut consumers) = fan_out(&[(1 << 20, Arc::default(), true)]);
        let consumer = consumers.pop().unwrap();
        let asleep = || {
            while !consumer.line.state().waiting {
                std::thread::sleep(Duration::from_millis(1));
            }
        };
        // One chunk does not wake a sleeping file writer: it finds it at its timeout.
        std::thread::scope(|scope| {
            let writer = scope.spawn(|| consumer.recv_timeout(Duration::from_secs(2)));
            asleep();
            push(&mut producer, &body(1, 10));
            assert!(producer.send().unwrap());
            std::thread::sleep(Duration::from_millis(20));
            assert!(consumer.line.state().waiting, "not woken for one chunk");
            let chunk = writer.join().unwrap().unwrap();
            assert_eq!(chunk.unwrap().packets(), 1, "found at the timeout");
        });
        // A writer asleep for a long time is woken once WAKE_AFTER chunks wait.
        let got = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let mut got = Vec::new();
                while got.len() < WAKE_AFTER {
                    let chunk = consumer.recv_timeout(Duration::from_secs(3600)).unwrap();
                    got.push(chunk.unwrap().packets());
                }
                got
            });
            asleep();
            for round in 0..WAKE_AFTER {
                for _ in 0..=round {
                    push(&mut producer, &body(1, 10));
                }
                assert!(producer.send().unwrap());
            }
            writer.join().unwrap()
        });
        assert_eq!(got, (1..=WAKE_AFTER as u64).collect::<Vec<_>>(), "in order");
        // Fewer chunks than that wait when the reader goes: its end wakes the writer, which
        // takes them before it hears the queue closed.
        push(&mut producer, &body(1, 10));
        assert!(producer.send().unwrap());
        let waited = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let mut packets = 0;
                while let Ok(Some(chunk)) = consumer.recv_timeout(Duration::from_secs(3600)) {
                    packets += chunk.packets();
                }
                packets
            });
            asleep();
            drop(producer);
            writer.join().unwrap()
        });
        assert_eq!(waited, 1);
    }

    #[test]
    fn a_gone_writer_closes_the_queue() {
        let (mut producer, consumer) = queue(1 << 20);
        drop(consumer);
        push(&mut producer, &body(1, 1));
        assert!(producer.send().is_err());
    }
}
