//! Calendar time for the formats: local time (as ulogd2 and syslog show it) or UTC.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, Local, NaiveDateTime, Offset, Utc};

use super::packet_time;
use super::put::Put;
use crate::wire::packet::Packet;

/// The time zone the text, JSON and XML formats write times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeZone {
    /// The system's local time (the `TZ` variable, else `/etc/localtime`), as ulogd2 does.
    #[default]
    Local,
    /// UTC.
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
}

/// A moment broken down in a time zone, with the parts the formats print.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment {
    pub(crate) time: DateTime<FixedOffset>,
}

impl TimeZone {
    pub(crate) fn moment(self, time: SystemTime) -> Moment {
        let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
        self.moment_at(since.as_secs(), since.subsec_nanos())
    }

    /// The moment `secs` and `nanos` after the epoch.
    pub(crate) fn moment_at(self, secs: u64, nanos: u32) -> Moment {
        // Times past what the calendar can show (a kernel timestamp is any u64) are shown as
        // the last moment it can, never a panic.
        let utc = i64::try_from(secs)
            .ok()
            .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, nanos))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let offset = match self {
            TimeZone::Local => utc.with_timezone(&Local).offset().fix(),
            TimeZone::Utc => Utc.fix(),
            TimeZone::Fixed(seconds) => FixedOffset::east_opt(seconds).unwrap_or(Utc.fix()),
        };
        // East of UTC, the calendar ends sooner: its last moment, less the offset, is the
        // last one this zone can show (chrono panics on a local time past it).
        let last = NaiveDateTime::MAX
            .checked_sub_offset(offset)
            .map_or(DateTime::<Utc>::MAX_UTC, |last| last.and_utc());
        Moment {
            time: utc.min(last).with_timezone(&offset),
        }
    }
}

/// What a format writes for the calendar time of one second, kept until the next second
/// asked for: a burst of packets shows the same date and time for many packets in a row.
// Perf: the calendar (the zone's offset, the date from the day count) is worked out and
// written once a second instead of once a packet (figures: docs/benchmarks.md, "Code shaped
// for speed"). chrono itself looks again at the local zone (`TZ`, `/etc/localtime`) at
// most once a second, so a change of zone shows as soon as it did before.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    zone: TimeZone,
    /// The second (since the epoch, UTC) whose text is in `text`.
    second: Option<u64>,
    /// The text, then [`SLACK`] zero bytes.
    text: Vec<u8>,
    /// The length of the text, without the slack.
    len: usize,
    /// The places in `text` that the format asked to keep.
    marks: [usize; 2],
    /// The last `received` time asked for by [`packet_parts`](Calendar::packet_parts), with
    /// its seconds and microseconds.
    received: Option<(SystemTime, (u64, u32))>,
}

impl Calendar {
    /// An empty cache for times in `zone`.
    pub(crate) fn new(zone: TimeZone) -> Calendar {
        Calendar {
            zone,
            second: None,
            text: vec![0; SLACK],
            len: 0,
            marks: [0; 2],
            received: None,
        }
    }

    /// The zone the times are shown in.
    pub(crate) fn zone(&self) -> TimeZone {
        self.zone
    }

    /// Seconds and microseconds since the epoch of a packet's time, as
    /// `epoch_parts(packet_time(packet, received))` gives them.
    // Perf: a kernel stamp whose numbers are plain is those numbers; the time of a packet
    // without one is `received`, which the packets of a batch share: worked out once for
    // them all, not a `duration_since` per packet.
    #[inline]
    pub(crate) fn packet_parts(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
    ) -> (u64, u32) {
        match packet.timestamp_parts() {
            Some((sec, usec)) if usec < 1_000_000 && sec <= u64::from(u32::MAX) => {
                (sec, usec as u32)
            }
            Some(_) => epoch_parts(packet_time(packet, received)),
            None => match self.received {
                Some((time, parts)) if time == received => parts,
                _ => {
                    let parts = epoch_parts(received);
                    self.received = Some((received, parts));
                    parts
                }
            },
        }
    }

    /// What `show` writes for the second `second` (since the epoch) in this zone, and the
    /// places in it that `show` returned: `show` is called only when the second differs
    /// from the last one asked for.
    // Perf: the check of the second inlined into the line's writer, the new second's text
    // written out of line (`show_second`): the writer's inlining then does not depend on
    // what `show` does (figures: docs/benchmarks.md, "Code shaped for speed").
    #[inline]
    pub(crate) fn text(
        &mut self,
        second: u64,
        show: impl FnOnce(&mut Vec<u8>, &Moment) -> [usize; 2],
    ) -> (SecondText<'_>, [usize; 2]) {
        if self.second != Some(second) {
            self.show_second(second, show);
        }
        let text = SecondText {
            padded: &self.text,
            len: self.len,
        };
        (text, self.marks)
    }

    /// Writes the text of `second` with `show`, for [`text`](Self::text).
    #[inline(never)]
    fn show_second(&mut self, second: u64, show: impl FnOnce(&mut Vec<u8>, &Moment) -> [usize; 2]) {
        self.text.clear();
        let moment = self.zone.moment_at(second, 0);
        self.marks = show(&mut self.text, &moment);
        self.len = self.text.len();
        self.text.resize(self.len + SLACK, 0);
        self.second = Some(second);
    }
}

/// The zero bytes after a second's text: a piece of the text up to this long is copied in
/// this constant size and cut back ([`SecondText::push`]).
const SLACK: usize = 48;

/// The text [`Calendar::text`] keeps for a second.
// Perf: its pieces (the JSON line's date, zone with `dvc`, and second; the text line's
// start) are copied in a constant size, a few stores, where a copy of their own length is
// a call to memcpy (figures: docs/benchmarks.md, "Code shaped for speed").
#[derive(Debug, Clone, Copy)]
pub(crate) struct SecondText<'a> {
    /// The text, then [`SLACK`] zero bytes.
    padded: &'a [u8],
    len: usize,
}

impl<'a> SecondText<'a> {
    /// The text.
    pub(crate) fn bytes(self) -> &'a [u8] {
        &self.padded[..self.len]
    }

    /// Appends the bytes from `start` to `end` of the text (as much of them as there is).
    #[inline]
    pub(crate) fn push(self, line: &mut impl Put, start: usize, end: usize) {
        let end = end.min(self.len);
        let start = start.min(end);
        match self
            .padded
            .get(start..)
            .and_then(<[u8]>::first_chunk::<SLACK>)
        {
            Some(chunk) if end - start <= SLACK => line.put_first(chunk, end - start),
            _ => line.put(&self.padded[start..end]),
        }
    }
}

/// Seconds and microseconds since the epoch of `time`; 0 for a time before it.
pub(crate) fn epoch_parts(time: SystemTime) -> (u64, u32) {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    (since.as_secs(), since.subsec_micros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn far_future_times_do_not_panic() {
        let far = UNIX_EPOCH + Duration::from_secs(1 << 62);
        for zone in [TimeZone::Local, TimeZone::Utc, TimeZone::Fixed(3600)] {
            let moment = zone.moment(far);
            assert!(moment.time.timestamp() > 0);
        }
    }

    /// A time past the calendar's end in a zone east of UTC (found by the `packet` fuzz
    /// target: a kernel stamp of about 2^62 seconds, written as text at UTC+14) is shown as the
    /// zone's last moment: the formats read its local date, which chrono cannot give for a
    /// local time past `NaiveDateTime::MAX`.
    #[test]
    fn times_past_the_calendar_east_of_utc_show_its_last_moment() {
        let zones = [
            TimeZone::Fixed(14 * 3600),
            TimeZone::Fixed(1),
            TimeZone::Fixed(-12 * 3600),
            TimeZone::Utc,
            TimeZone::Local,
        ];
        for zone in zones {
            for secs in [u64::MAX, 1 << 63, (1 << 63) - 1, 1 << 62] {
                let local = zone.moment_at(secs, 999_999_999).time.naive_local();
                assert!(local <= NaiveDateTime::MAX, "{zone:?} at {secs}");
            }
        }
        let east = TimeZone::Fixed(14 * 3600).moment_at(u64::MAX, 0).time;
        assert_eq!(east.naive_local(), NaiveDateTime::MAX);
        assert_eq!(east.offset().local_minus_utc(), 14 * 3600);
        let west = TimeZone::Fixed(-12 * 3600).moment_at(u64::MAX, 0).time;
        assert_eq!(west.naive_utc(), NaiveDateTime::MAX);
    }

    proptest::proptest! {
        #[test]
        fn cached_seconds_agree_with_the_calendar(
            seconds in proptest::collection::vec(0u64..4_000_000_000, 1..8),
            offset in -86_399i32..86_400,
        ) {
            // Each second twice in a row (the cache answers the second time), and seconds
            // that come back after another.
            for zone in [TimeZone::Utc, TimeZone::Fixed(offset), TimeZone::Local] {
                let mut calendar = Calendar::new(zone);
                for &second in seconds.iter().chain(&seconds) {
                    let expected = zone
                        .moment(UNIX_EPOCH + Duration::from_secs(second))
                        .time
                        .format("%Y-%m-%d %H:%M:%S %z")
                        .to_string();
                    for _ in 0..2 {
                        let (text, mark) = calendar.text(second, |text, moment| {
                            let shown = moment.time.format("%Y-%m-%d %H:%M:%S %z");
                            text.extend_from_slice(shown.to_string().as_bytes());
                            [7, second as usize]
                        });
                        proptest::prop_assert_eq!(
                            std::str::from_utf8(text.bytes()).unwrap(),
                            &expected
                        );
                        // Any piece of it, as a line's writer takes it.
                        let (start, end) = (second as usize % 30, second as usize % 47);
                        let mut piece = b"line ".to_vec();
                        text.push(&mut piece, start, end);
                        let whole = text.bytes();
                        let end = end.min(whole.len());
                        let want = [&b"line "[..], &whole[start.min(end)..end]].concat();
                        proptest::prop_assert_eq!(piece, want);
                        proptest::prop_assert_eq!(mark, [7, second as usize]);
                    }
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn packet_parts_agree_with_the_packet_time(
            stamps in proptest::collection::vec(
                proptest::option::of((
                    proptest::prop_oneof![
                        0u64..5_000_000_000,
                        proptest::prelude::any::<u64>(),
                        proptest::prelude::Just(u64::from(u32::MAX)),
                        proptest::prelude::Just(u64::from(u32::MAX) + 1),
                    ],
                    proptest::prop_oneof![0u64..2_000_000, proptest::prelude::any::<u64>()],
                )),
                1..8,
            ),
            received in proptest::collection::vec((0u64..5_000_000_000, 0u32..1_000_000_000), 1..4),
        ) {
            // Every packet against every received time, each asked twice in a row (the
            // cache answers the second time), and times that come back after another.
            let mut calendar = Calendar::new(TimeZone::Utc);
            for &(secs, nanos) in received.iter().chain(&received) {
                let received = UNIX_EPOCH + Duration::new(secs, nanos);
                for &timestamp in &stamps {
                    let body = crate::wire::packet::PacketRepr {
                        timestamp,
                        ..Default::default()
                    }
                    .to_bytes();
                    let packet = Packet::parse(&body).unwrap();
                    let expected = epoch_parts(packet_time(&packet, received));
                    for _ in 0..2 {
                        proptest::prop_assert_eq!(calendar.packet_parts(&packet, received), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn fixed_offsets_apply() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_840_506);
        let m = TimeZone::Fixed(3600).moment(t);
        assert_eq!(m.time.format("%H:%M:%S %z").to_string(), "05:35:06 +0100");
        assert_eq!(TimeZone::Utc.moment(t).time.format("%H").to_string(), "04");
    }
}
