//! Calendar time for the formats: local time (as ulogd2 and syslog show it) or UTC.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};

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
        // Times past what the calendar can show (a kernel timestamp is any u64) are shown as
        // the last moment it can, never a panic.
        let utc = i64::try_from(since.as_secs())
            .ok()
            .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, since.subsec_nanos()))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let offset = match self {
            TimeZone::Local => utc.with_timezone(&Local).offset().fix(),
            TimeZone::Utc => Utc.fix(),
            TimeZone::Fixed(seconds) => FixedOffset::east_opt(seconds).unwrap_or(Utc.fix()),
        };
        Moment {
            time: utc.with_timezone(&offset),
        }
    }
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

    #[test]
    fn fixed_offsets_apply() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_840_506);
        let m = TimeZone::Fixed(3600).moment(t);
        assert_eq!(m.time.format("%H:%M:%S %z").to_string(), "05:35:06 +0100");
        assert_eq!(TimeZone::Utc.moment(t).time.format("%H").to_string(), "04");
    }
}
