//! A group's settings: copy mode and range, flush timeout, queue threshold, buffer size, flags.
//!
//! The kernel ACKs some bad values and then silently ignores them (an `nlbufsiz` outside its
//! range, an unknown copy mode); [`GroupConfig::validate`] refuses those before anything is
//! sent, with the range that would be accepted.

use std::time::Duration;

use crate::error::{Error, Setting};

/// The largest copy range: `0xFFFF - NLA_HDRLEN`. The kernel clamps larger values to it and
/// reads 0 as "all of it".
pub const MAX_COPY_RANGE: u32 = 0xFFFF - 4;
/// The largest `nlbufsiz` the kernel honours (nfnetlink_log.c: `nfulnl_set_nlbufsiz`).
pub const MAX_NLBUFSIZ: u32 = 131_072;
/// The longest flush timeout accepted, in hundredths of a second (about 11.9 hours).
///
/// nfnetlink_log.c arms its timer with `flushtimeout * HZ / 100` in 32-bit arithmetic: a
/// larger value wraps on a kernel with HZ = 1000 (the highest HZ Linux offers) and the batch
/// goes out almost at once instead (47.7 hours flushed after 15 ms at HZ = 250).
pub const MAX_FLUSH_TIMEOUT_CENTIS: u32 = u32::MAX / 1000;

/// What the kernel copies of each packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopyMode {
    /// Nothing: `NFULNL_COPY_NONE`. The kernel sends no message at all for such a group.
    None,
    /// Metadata only, no payload: `NFULNL_COPY_META`.
    Meta,
    /// Metadata and payload up to the copy range: `NFULNL_COPY_PACKET`.
    Packet,
}

impl CopyMode {
    /// The number the kernel uses for the mode.
    pub const fn number(self) -> u8 {
        match self {
            CopyMode::None => 0,
            CopyMode::Meta => 1,
            CopyMode::Packet => 2,
        }
    }
}

/// Flags of a group (`NFULNL_CFG_F_*`), combinable with `|`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u16);

impl Flags {
    /// No flags.
    pub const NONE: Flags = Flags(0);
    /// Number each of the group's packets (`NFULA_SEQ`), from 0.
    pub const SEQ: Flags = Flags(0x1);
    /// Number packets across the network namespace (`NFULA_SEQ_GLOBAL`), from 1.
    ///
    /// The old `nflog` crate sent 0x1 for this, which is `SEQ`.
    pub const SEQ_GLOBAL: Flags = Flags(0x2);
    /// Attach the packet's conntrack entry (`NFULA_CT`, `NFULA_CT_INFO`).
    pub const CONNTRACK: Flags = Flags(0x4);

    const ALL: u16 = 0x7;

    /// The bits as sent to the kernel.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Flags from bits, `None` if any bit is unknown (kernels from 2026 reject those).
    pub const fn from_bits(bits: u16) -> Option<Flags> {
        if bits & !Self::ALL == 0 {
            Some(Flags(bits))
        } else {
            None
        }
    }

    /// Whether every flag in `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// The settings of one group, sent when it is bound and whenever it is reconfigured.
#[derive(Debug, Clone, PartialEq, Eq)]
///
/// Fields are public, and each has a chainable setter of the same name:
/// `GroupConfig::new().copy_range(128).flags(Flags::SEQ)`.
///
/// # Defaults and their trade-off
///
/// The kernel delivers a group's packets in batches: a batch goes out when it holds
/// `queue_threshold` packets, when the next packet would not fit in `nlbufsiz` bytes, or
/// `flush_timeout` after its first packet. Bigger batches cost fewer system calls and wake-ups
/// per packet; smaller ones arrive sooner. The defaults suit a capture tool:
///
/// | setting | default | kernel's own default |
/// |---|---|---|
/// | copy mode | whole packet | whole packet |
/// | copy range | 65531 bytes (all) | 65531 |
/// | flush timeout | 100 ms | 1 s |
/// | queue threshold | 100 packets | 100 |
/// | nlbufsiz | 65024 bytes | one page (about 4 KiB) |
/// | flags | none | none |
///
/// `nlbufsiz` is 64 KiB less the kernel's per-buffer bookkeeping (`skb_shared_info`), so that
/// the kernel's allocation for a batch is 64 KiB, not 128: the kernel rounds each batch's
/// allocation up to a power of two, lets the batch fill all of it (a batch asked for with
/// `nlbufsiz` 131072 arrives as up to 261120 bytes), and charges a full batch against the
/// receive buffer at that size. Lower `flush_timeout` for an interactive view of a
/// quiet link; raise `queue_threshold` (to 1000, say) for a busy one.
pub struct GroupConfig {
    /// What is copied of each packet.
    pub copy_mode: CopyMode,
    /// Payload bytes copied in [`CopyMode::Packet`]; 0 means all.
    pub copy_range: u32,
    /// How long the kernel holds a batch before sending it.
    pub flush_timeout: Duration,
    /// How many packets make a batch that goes out at once.
    pub queue_threshold: u32,
    /// The kernel's buffer for a batch, in bytes.
    pub nlbufsiz: u32,
    /// The group's flags.
    pub flags: Flags,
}

impl Default for GroupConfig {
    fn default() -> Self {
        GroupConfig {
            copy_mode: CopyMode::Packet,
            copy_range: MAX_COPY_RANGE,
            flush_timeout: Duration::from_millis(100),
            queue_threshold: 100,
            nlbufsiz: 65_024,
            flags: Flags::NONE,
        }
    }
}

impl GroupConfig {
    /// The defaults described in the [type's documentation](GroupConfig).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets what is copied of each packet.
    pub fn copy_mode(mut self, mode: CopyMode) -> Self {
        self.copy_mode = mode;
        self
    }

    /// Sets how many payload bytes are copied in [`CopyMode::Packet`] (0 means all).
    ///
    /// A rule's own limit (nft `snaplen`, iptables `--nflog-size`) also applies.
    pub fn copy_range(mut self, bytes: u32) -> Self {
        self.copy_range = bytes;
        self
    }

    /// Sets how long the kernel holds a batch before sending it; sent in hundredths of a
    /// second, rounded up, at most [`MAX_FLUSH_TIMEOUT_CENTIS`] (about 11.9 hours).
    pub fn flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// Sets how many packets make a batch that goes out at once.
    ///
    /// A rule's `queue-threshold` (iptables `--nflog-threshold`) lowers it for its packets.
    pub fn queue_threshold(mut self, packets: u32) -> Self {
        self.queue_threshold = packets;
        self
    }

    /// Sets the kernel's buffer for a batch, in bytes.
    pub fn nlbufsiz(mut self, bytes: u32) -> Self {
        self.nlbufsiz = bytes;
        self
    }

    /// Sets the flags (replacing the ones set before).
    pub fn flags(mut self, flags: Flags) -> Self {
        self.flags = flags;
        self
    }

    /// The copy range the kernel will apply: 0 and values over 65531 become 65531.
    pub fn effective_copy_range(&self) -> u32 {
        match self.copy_range {
            0 => MAX_COPY_RANGE,
            r => r.min(MAX_COPY_RANGE),
        }
    }

    /// The flush timeout in the kernel's unit, hundredths of a second, rounded up; `None`
    /// past [`MAX_FLUSH_TIMEOUT_CENTIS`], which some kernel would overflow.
    pub fn timeout_centis(&self) -> Option<u32> {
        let nanos = self.flush_timeout.as_nanos();
        u32::try_from(nanos.div_ceil(10_000_000))
            .ok()
            .filter(|centis| *centis <= MAX_FLUSH_TIMEOUT_CENTIS)
    }

    /// The smallest `nlbufsiz` this crate lets through: the page size, at most 8 KiB.
    ///
    /// The kernel refuses values under `NLMSG_GOODSIZE` (a page less its bookkeeping);
    /// asking for at least a page keeps clear of it on every architecture.
    pub fn min_nlbufsiz() -> u32 {
        (rustix::param::page_size() as u32).min(8192)
    }

    /// Refuses values the kernel would ACK and then silently ignore, or that do not fit.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the setting, the value and what would be accepted.
    pub fn validate(&self) -> Result<(), Error> {
        let min = Self::min_nlbufsiz();
        if !(min..=MAX_NLBUFSIZ).contains(&self.nlbufsiz) {
            return Err(Error::InvalidConfig {
                setting: Setting::Nlbufsiz,
                value: u64::from(self.nlbufsiz),
                accepted: format!("{min}..={MAX_NLBUFSIZ} bytes"),
            });
        }
        if self.timeout_centis().is_none() {
            return Err(Error::InvalidConfig {
                setting: Setting::FlushTimeout,
                value: u64::try_from(self.flush_timeout.as_millis()).unwrap_or(u64::MAX),
                accepted: format!(
                    "at most {} ms (about 11.9 hours: the kernel computes timeout * HZ / 100 \
                     in 32 bits)",
                    u64::from(MAX_FLUSH_TIMEOUT_CENTIS) * 10
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented() {
        let c = GroupConfig::default();
        c.validate().unwrap();
        assert_eq!(c.copy_mode, CopyMode::Packet);
        assert_eq!(c.effective_copy_range(), 65531);
        assert_eq!(c.timeout_centis(), Some(10));
        assert_eq!(c.queue_threshold, 100);
        assert_eq!(c.nlbufsiz, 65024);
        assert!(c.flags.is_empty());
    }

    #[test]
    fn flag_bits_match_the_kernel() {
        assert_eq!(Flags::SEQ.bits(), 0x1);
        assert_eq!(Flags::SEQ_GLOBAL.bits(), 0x2, "the old crate sent 0x1 here");
        assert_eq!(Flags::CONNTRACK.bits(), 0x4);
        let all = Flags::SEQ | Flags::SEQ_GLOBAL | Flags::CONNTRACK;
        assert_eq!(all.bits(), 0x7);
        assert!(all.contains(Flags::SEQ_GLOBAL));
        assert!(!Flags::SEQ.contains(Flags::SEQ_GLOBAL));
        assert_eq!(Flags::from_bits(0x8), None);
        assert_eq!(Flags::from_bits(0x5), Some(Flags::SEQ | Flags::CONNTRACK));
    }

    #[test]
    fn nlbufsiz_outside_the_kernel_range_is_refused() {
        let min = GroupConfig::min_nlbufsiz();
        for bad in [0, min - 1, MAX_NLBUFSIZ + 1, u32::MAX] {
            let e = GroupConfig::new().nlbufsiz(bad).validate().unwrap_err();
            assert!(
                matches!(e, Error::InvalidConfig { setting: Setting::Nlbufsiz, value, .. } if value == u64::from(bad)),
                "{e}"
            );
        }
        for good in [min, 65536, MAX_NLBUFSIZ] {
            GroupConfig::new().nlbufsiz(good).validate().unwrap();
        }
    }

    #[test]
    fn timeout_is_rounded_up_to_hundredths() {
        let centis = |ms| {
            GroupConfig::new()
                .flush_timeout(Duration::from_millis(ms))
                .timeout_centis()
        };
        assert_eq!(centis(0), Some(0));
        assert_eq!(centis(1), Some(1));
        assert_eq!(centis(10), Some(1));
        assert_eq!(centis(11), Some(2));
        assert_eq!(centis(1000), Some(100));
        let huge = GroupConfig::new().flush_timeout(Duration::from_secs(u64::MAX));
        assert_eq!(huge.timeout_centis(), None);
        assert!(huge.validate().is_err());
    }

    #[test]
    fn flush_timeout_that_overflows_the_kernels_jiffies_is_refused() {
        // nfnetlink_log.c: `flushtimeout * HZ / 100` in 32 bits. 47.7 hours (17_179_869
        // centis) passed before and flushed after 15 ms at HZ = 250.
        let timeout = |ms: u64| GroupConfig::new().flush_timeout(Duration::from_millis(ms));
        for hz in [100u64, 250, 300, 1000] {
            let centis = u64::from(MAX_FLUSH_TIMEOUT_CENTIS);
            assert!(centis * hz <= u64::from(u32::MAX), "HZ = {hz} overflows");
        }
        let longest = timeout(u64::from(MAX_FLUSH_TIMEOUT_CENTIS) * 10);
        longest.validate().unwrap();
        assert_eq!(longest.timeout_centis(), Some(4_294_967));
        for bad in [42_949_671, 171_798_690, u64::from(u32::MAX) * 10] {
            let e = timeout(bad).validate().unwrap_err();
            assert!(
                matches!(&e, Error::InvalidConfig { value, .. } if *value == bad),
                "{e}"
            );
            assert!(e.to_string().contains("at most 42949670 ms"), "{e}");
        }
    }

    #[test]
    fn copy_range_is_clamped_as_the_kernel_does() {
        assert_eq!(
            GroupConfig::new().copy_range(0).effective_copy_range(),
            65531
        );
        assert_eq!(GroupConfig::new().copy_range(64).effective_copy_range(), 64);
        assert_eq!(
            GroupConfig::new().copy_range(70000).effective_copy_range(),
            65531
        );
    }
}
