//! Syslog messages: a packet's text line or JSON object as the MSG of an RFC 5424 message
//! (or of an RFC 3164 one), with its group, prefix and mark as structured data; see
//! [`SyslogFormat`]. The transport (UDP, TCP with octet counting, a local datagram socket)
//! is the caller's: [`SyslogFormat::message`] gives one message, unframed.

use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::SystemTime;

use chrono::Timelike;

use super::clock::TimeZone;
use super::packet_time;
use super::put::{push_date_time, push_dec, push_hex};
use super::text::{push_ctime, push_text};
use super::{JsonFormat, ResolveInterface, TextFormat};
use crate::wire::packet::Packet;

/// The message format: RFC 5424, or the older BSD form of RFC 3164.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyslogProtocol {
    /// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG` (RFC 5424), the time in
    /// UTC with microseconds.
    Rfc5424,
    /// `<PRI>Mmm dd HH:MM:SS HOSTNAME TAG[PID]: MSG` (RFC 3164), the time in the format's
    /// time zone (local by default), to the second; no structured data.
    Rfc3164,
    /// RFC 3164 without the host name, `<PRI>Mmm dd HH:MM:SS TAG[PID]: MSG`: what glibc's
    /// `syslog(3)` writes to `/dev/log`, the form every local syslog daemon (journald,
    /// rsyslog's imuxsock, syslog-ng) parses.
    Local,
}

/// A syslog facility (RFC 5424 section 6.2.1), 0 to 23.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(u8);

/// The facilities by name, in number order (RFC 5424 table 1, with the names of
/// `syslog.h`).
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

impl Facility {
    /// `user`, the facility a program's `syslog(3)` uses unless told otherwise; also what
    /// ulogd2's SYSLOG output sends in effect (its default `LOG_KERN` is 0, which glibc
    /// replaces with the process's default, `LOG_USER`).
    pub const USER: Facility = Facility(1);

    /// The facility numbered `code`, if there is one (0 to 23).
    pub fn new(code: u8) -> Option<Facility> {
        (usize::from(code) < FACILITIES.len()).then_some(Facility(code))
    }

    /// Its number.
    pub fn code(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FACILITIES[usize::from(self.0)])
    }
}

impl FromStr for Facility {
    type Err = ParseLevelError;

    /// A name (`local0`, `user`, ...) or a number from 0 to 23.
    fn from_str(s: &str) -> Result<Facility, ParseLevelError> {
        parse_level(s, &FACILITIES)
            .map(Facility)
            .ok_or(ParseLevelError {
                what: "facility",
                names: &FACILITIES,
            })
    }
}

/// A syslog severity (RFC 5424 section 6.2.1), 0 (emerg) to 7 (debug).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Severity(u8);

/// The severities by name, in number order (`syslog.h`'s names).
const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

impl Severity {
    /// `notice`, ulogd2's SYSLOG default (`LOG_NOTICE`).
    pub const NOTICE: Severity = Severity(5);

    /// The severity numbered `code`, if there is one (0 to 7).
    pub fn new(code: u8) -> Option<Severity> {
        (usize::from(code) < SEVERITIES.len()).then_some(Severity(code))
    }

    /// Its number.
    pub fn code(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SEVERITIES[usize::from(self.0)])
    }
}

impl FromStr for Severity {
    type Err = ParseLevelError;

    /// A name (`notice`, `info`, ...) or a number from 0 to 7.
    fn from_str(s: &str) -> Result<Severity, ParseLevelError> {
        parse_level(s, &SEVERITIES)
            .map(Severity)
            .ok_or(ParseLevelError {
                what: "severity",
                names: &SEVERITIES,
            })
    }
}

/// A name of `names` (case aside, with or without syslog.h's `LOG_`) or its number.
fn parse_level(s: &str, names: &[&str]) -> Option<u8> {
    let lower = s.to_ascii_lowercase();
    let name = lower.strip_prefix("log_").unwrap_or(&lower);
    let by_name = names.iter().position(|n| *n == name);
    let code = by_name.or_else(|| s.parse::<usize>().ok().filter(|&n| n < names.len()))?;
    u8::try_from(code).ok()
}

/// A facility or severity that is neither a known name nor a number in range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseLevelError {
    what: &'static str,
    names: &'static [&'static str],
}

impl fmt::Display for ParseLevelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not a syslog {}: give one of {} or a number from 0 to {}",
            self.what,
            self.names.join(", "),
            self.names.len() - 1
        )
    }
}

impl std::error::Error for ParseLevelError {}

/// A header field given to [`SyslogFormat`] that RFC 5424 does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidField {
    /// The field: `hostname`, `app-name` or `SD-ID`.
    pub field: &'static str,
    /// Why it is refused.
    pub reason: String,
}

impl fmt::Display for InvalidField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid syslog {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for InvalidField {}

/// The SD-ID of the structured data when none is given: `nflog@32473`.
///
/// RFC 5424 (section 7.2.2) lets anyone name an SD-ID `name@<private enterprise number>`;
/// an SD-ID without `@` must be registered with IANA, and none registered fits. 32473 is
/// the enterprise number IANA reserves for documentation and examples (RFC 5612): it
/// belongs to no one, so `nflog@32473` cannot collide with an organisation's own
/// SD-IDs. A site with its own number can use it instead ([`SyslogFormat::sd_id`]).
pub const DEFAULT_SD_ID: &str = "nflog@32473";

/// What a message's MSG is: the text line (from the prefix on) or the JSON object.
#[derive(Debug, Clone)]
pub enum Body {
    /// [`TextFormat`]'s line without its time and host (the header has them).
    Text(TextFormat),
    /// [`JsonFormat`]'s object.
    Json(JsonFormat),
}

/// A packet as a syslog message: RFC 5424 by default, whose MSG is the text line or the
/// JSON object and whose structured data says the packet's group, prefix and mark.
///
/// ```text
/// <13>1 2026-11-28T04:35:06.123456Z golden nflog 4242 - [nflog@32473 group="5" prefix="ssh" mark="1"] ssh IN=lo OUT= ...
/// ```
///
/// - PRI is facility × 8 + severity (default `user.notice`, 13).
/// - TIMESTAMP is the packet's time (the kernel's, else the receive time) in UTC, to the
///   microsecond; HOSTNAME this machine's name; APP-NAME `nflog`; PROCID this process's id;
///   MSGID `-`.
/// - The structured data element has `group` always, `prefix` when the packet has one and
///   `mark` when the kernel sent one (it omits a zero mark). The prefix's value is the
///   prefix as the text line shows it (control characters and bytes that are not UTF-8
///   as `\xNN`, a backslash as `\\`), then escaped as RFC 5424 section 6.3.3 says: `"`,
///   `\` and `]` each behind a backslash.
/// - MSG is the line without its newline, byte for byte, without a BOM: RFC 5424's
///   MSG-ANY, since the text line is not always UTF-8 (a prefix may hold any bytes).
///
/// RFC 3164 ([`SyslogProtocol::Rfc3164`]) has no structured data: `<PRI>`, the time as
/// `Mmm dd HH:MM:SS` in local time, HOSTNAME, `nflog[PID]: ` and MSG.
#[derive(Debug, Clone)]
pub struct SyslogFormat {
    protocol: SyslogProtocol,
    facility: Facility,
    severity: Severity,
    hostname: String,
    app_name: String,
    procid: u32,
    sd_id: String,
    zone: TimeZone,
    body: Body,
    /// The message being built, reused from packet to packet.
    message: Vec<u8>,
}

impl SyslogFormat {
    /// RFC 5424 messages of `body`, `user.notice`, from this machine's name (`-` when it
    /// has none RFC 5424 allows), app-name `nflog`, this process's id.
    pub fn new(body: Body) -> SyslogFormat {
        let uname = rustix::system::uname();
        let node = String::from_utf8_lossy(uname.nodename().to_bytes()).into_owned();
        let hostname = if check_name("hostname", &node, 255).is_ok() {
            node
        } else {
            String::from("-")
        };
        SyslogFormat {
            protocol: SyslogProtocol::Rfc5424,
            facility: Facility::USER,
            severity: Severity::NOTICE,
            hostname,
            app_name: String::from("nflog"),
            procid: std::process::id(),
            sd_id: String::from(DEFAULT_SD_ID),
            zone: TimeZone::Local,
            body: match body {
                Body::Text(text) => Body::Text(text.without_time_and_host()),
                json => json,
            },
            message: Vec::with_capacity(1024),
        }
    }

    /// Writes messages of `protocol`.
    pub fn protocol(mut self, protocol: SyslogProtocol) -> SyslogFormat {
        self.protocol = protocol;
        self
    }

    /// The protocol of the messages.
    pub fn protocol_of(&self) -> SyslogProtocol {
        self.protocol
    }

    /// Sends with `facility`.
    pub fn facility(mut self, facility: Facility) -> SyslogFormat {
        self.facility = facility;
        self
    }

    /// Sends with `severity`.
    pub fn severity(mut self, severity: Severity) -> SyslogFormat {
        self.severity = severity;
        self
    }

    /// Writes `name` as HOSTNAME.
    ///
    /// # Errors
    ///
    /// A name RFC 5424 does not allow: empty, over 255 characters, or with a character
    /// outside printable US-ASCII (33 to 126).
    pub fn hostname(mut self, name: &str) -> Result<SyslogFormat, InvalidField> {
        check_name("hostname", name, 255)?;
        self.hostname = name.to_owned();
        Ok(self)
    }

    /// Writes `name` as APP-NAME (and RFC 3164's TAG).
    ///
    /// # Errors
    ///
    /// A name RFC 5424 does not allow: empty, over 48 characters, or with a character
    /// outside printable US-ASCII; or, since RFC 3164's TAG ends at the first character
    /// that is not alphanumeric, a `[` or `:` (which would end it early).
    pub fn app_name(mut self, name: &str) -> Result<SyslogFormat, InvalidField> {
        check_name("app-name", name, 48)?;
        if name.contains(['[', ':']) {
            return Err(InvalidField {
                field: "app-name",
                reason: format!("{name:?} holds '[' or ':', which end an RFC 3164 tag"),
            });
        }
        self.app_name = name.to_owned();
        Ok(self)
    }

    /// Writes `procid` as PROCID (default: this process's id).
    pub fn procid(mut self, procid: u32) -> SyslogFormat {
        self.procid = procid;
        self
    }

    /// Names the structured data element `id` instead of [`DEFAULT_SD_ID`].
    ///
    /// # Errors
    ///
    /// An SD-ID RFC 5424 does not allow: empty, over 32 characters, a character outside
    /// printable US-ASCII or one of `=`, `]`, `"`; or a name without `@`, which only IANA
    /// may give (section 7.2.2), or whose enterprise number after `@` is not a number.
    pub fn sd_id(mut self, id: &str) -> Result<SyslogFormat, InvalidField> {
        check_name("SD-ID", id, 32)?;
        let invalid = |reason: String| InvalidField {
            field: "SD-ID",
            reason,
        };
        if let Some(c) = id.chars().find(|c| matches!(c, '=' | ']' | '"')) {
            return Err(invalid(format!("{id:?} holds {c:?}")));
        }
        let Some((name, number)) = id.split_once('@') else {
            return Err(invalid(format!(
                "{id:?} has no @: only IANA names SD-IDs without one; \
                 use NAME@ENTERPRISE-NUMBER"
            )));
        };
        let digits = number
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
        if name.is_empty() || !digits {
            return Err(invalid(format!(
                "{id:?} is not NAME@ENTERPRISE-NUMBER (such as nflog@32473)"
            )));
        }
        self.sd_id = id.to_owned();
        Ok(self)
    }

    /// Writes RFC 3164 times in `tz` instead of local time (RFC 5424's are always UTC).
    pub fn time_zone(mut self, tz: TimeZone) -> SyslogFormat {
        self.zone = tz;
        self
    }

    /// One message for `packet`, without framing or newline.
    ///
    /// `received` stands for the time of packets the kernel did not timestamp; `names`
    /// names interfaces for the body.
    ///
    /// # Errors
    ///
    /// None in practice: the message is built in memory (the `io::Result` is the body
    /// formats').
    pub fn message(
        &mut self,
        packet: &Packet<&[u8]>,
        received: SystemTime,
        names: &mut dyn ResolveInterface,
    ) -> io::Result<&[u8]> {
        let mut m = std::mem::take(&mut self.message);
        m.clear();
        m.push(b'<');
        push_dec(&mut m, self.facility.0 * 8 + self.severity.0);
        m.push(b'>');
        let time = packet_time(packet, received);
        match self.protocol {
            SyslogProtocol::Rfc5424 => {
                m.extend_from_slice(b"1 ");
                push_rfc3339(&mut m, time);
                for field in [&self.hostname, &self.app_name] {
                    m.push(b' ');
                    m.extend_from_slice(field.as_bytes());
                }
                m.push(b' ');
                push_dec(&mut m, self.procid);
                // MSGID: every message is of one kind.
                m.extend_from_slice(b" - [");
                m.extend_from_slice(self.sd_id.as_bytes());
                m.extend_from_slice(b" group=\"");
                push_dec(&mut m, packet.group());
                m.push(b'"');
                if let Some(prefix) = packet.prefix_bytes() {
                    m.extend_from_slice(b" prefix=\"");
                    push_param_value(&mut m, prefix);
                    m.push(b'"');
                }
                if let Some(mark) = packet.mark() {
                    m.extend_from_slice(b" mark=\"");
                    push_dec(&mut m, mark);
                    m.push(b'"');
                }
                m.extend_from_slice(b"] ");
            }
            SyslogProtocol::Rfc3164 | SyslogProtocol::Local => {
                push_ctime(&mut m, &self.zone.moment(time).time);
                m.push(b' ');
                if self.protocol == SyslogProtocol::Rfc3164 {
                    m.extend_from_slice(self.hostname.as_bytes());
                    m.push(b' ');
                }
                m.extend_from_slice(self.app_name.as_bytes());
                m.push(b'[');
                push_dec(&mut m, self.procid);
                m.extend_from_slice(b"]: ");
            }
        }
        let written = match &mut self.body {
            Body::Text(text) => text.write(&mut m, packet, received, names),
            Body::Json(json) => json.write(&mut m, packet, received, names),
        };
        if m.last() == Some(&b'\n') {
            m.pop();
        }
        self.message = m;
        written.map(|()| &self.message[..])
    }
}

/// Checks a header field: 1 to `max` printable US-ASCII characters (RFC 5424's
/// PRINTUSASCII, 33 to 126: no space, which separates the fields).
fn check_name(field: &'static str, value: &str, max: usize) -> Result<(), InvalidField> {
    let reason = if value.is_empty() {
        String::from("it is empty")
    } else if value.len() > max {
        format!("{value:?} is longer than {max} characters")
    } else if let Some(c) = value.chars().find(|c| !('!'..='~').contains(c)) {
        format!("{value:?} holds {c:?}: only printable ASCII without spaces is allowed")
    } else if value == "-" && field != "hostname" {
        String::from("\"-\" means no value")
    } else {
        return Ok(());
    };
    Err(InvalidField { field, reason })
}

/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`: RFC 5424's TIMESTAMP in UTC, to the microsecond (its
/// finest).
fn push_rfc3339(m: &mut Vec<u8>, time: SystemTime) {
    let time = TimeZone::Utc.moment(time).time.naive_utc();
    // A leap second's nanoseconds run past 10^9: show it as the last microsecond.
    push_date_time(m, &time, (time.nanosecond() / 1000).min(999_999));
    m.push(b'Z');
}

/// An SD PARAM-VALUE: `text` as the text line shows it (valid UTF-8 through `push_text`,
/// any other byte as `\xNN`), then with `"`, `\` and `]` escaped (RFC 5424 section 6.3.3).
fn push_param_value(m: &mut Vec<u8>, text: &[u8]) {
    let mut shown = Vec::with_capacity(text.len());
    for chunk in text.utf8_chunks() {
        push_text(&mut shown, chunk.valid().as_bytes());
        for &byte in chunk.invalid() {
            shown.extend_from_slice(b"\\x");
            push_hex(&mut shown, byte.into(), 2, false);
        }
    }
    for byte in shown {
        if matches!(byte, b'"' | b'\\' | b']') {
            m.push(b'\\');
        }
        m.push(byte);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::Numeric;
    use crate::wire::packet::PacketRepr;
    use std::time::{Duration, UNIX_EPOCH};

    /// 2026-11-28 04:35:06.123456 UTC.
    const WHEN: u64 = 1_795_840_506;

    fn packet_bytes(prefix: Option<&[u8]>, mark: Option<u32>) -> Vec<u8> {
        PacketRepr {
            group: 5,
            hook: 1,
            prefix: prefix.map(<[u8]>::to_vec),
            mark,
            timestamp: Some((WHEN, 123_456)),
            ..PacketRepr::default()
        }
        .to_bytes()
    }

    fn format(body: Body) -> SyslogFormat {
        SyslogFormat::new(body)
            .hostname("golden")
            .unwrap()
            .procid(4242)
            .time_zone(TimeZone::Utc)
    }

    fn message(format: &mut SyslogFormat, bytes: &[u8]) -> String {
        let packet = Packet::parse(bytes).unwrap();
        let m = format.message(&packet, UNIX_EPOCH, &mut Numeric).unwrap();
        String::from_utf8(m.to_vec()).unwrap()
    }

    /// Our text line for `bytes`, from the prefix on, without its newline.
    fn text_line(bytes: &[u8]) -> String {
        let packet = Packet::parse(bytes).unwrap();
        let mut line = Vec::new();
        TextFormat::new()
            .without_time_and_host()
            .write(&mut line, &packet, UNIX_EPOCH, &mut Numeric)
            .unwrap();
        String::from_utf8(line)
            .unwrap()
            .trim_end_matches('\n')
            .to_owned()
    }

    #[test]
    fn rfc5424_message_has_the_header_structured_data_and_the_text_line() {
        let bytes = packet_bytes(Some(b"ssh"), Some(7));
        let mut f = format(Body::Text(TextFormat::new()));
        let line = text_line(&bytes);
        assert!(line.starts_with("ssh IN= OUT= "), "{line}");
        assert_eq!(
            message(&mut f, &bytes),
            format!(
                "<13>1 2026-11-28T04:35:06.123456Z golden nflog 4242 - \
                 [nflog@32473 group=\"5\" prefix=\"ssh\" mark=\"7\"] {line}"
            )
        );
        // No prefix, no mark: no parameter for either.
        let bytes = packet_bytes(None, None);
        let m = message(&mut f, &bytes);
        assert!(m.contains(" - [nflog@32473 group=\"5\"] IN= OUT= "), "{m}");
    }

    #[test]
    fn the_json_body_is_the_json_object() {
        let bytes = packet_bytes(Some(b"x"), None);
        let packet = Packet::parse(&bytes).unwrap();
        let mut json = Vec::new();
        JsonFormat::new()
            .time_zone(TimeZone::Utc)
            .write(&mut json, &packet, UNIX_EPOCH, &mut Numeric)
            .unwrap();
        let json = String::from_utf8(json).unwrap();
        let mut f = format(Body::Json(JsonFormat::new().time_zone(TimeZone::Utc)));
        let m = message(&mut f, &bytes);
        let (_, msg) = m.split_once("prefix=\"x\"] ").unwrap();
        assert_eq!(msg, json.trim_end_matches('\n'));
        assert!(msg.starts_with('{') && msg.ends_with('}'), "{msg}");
    }

    #[test]
    fn sd_param_values_escape_quote_backslash_and_bracket() {
        let bytes = packet_bytes(Some(b"a\"b\\c]d"), None);
        let m = message(&mut format(Body::Text(TextFormat::new())), &bytes);
        // The prefix as the text line shows it is a"b\\c]d (the backslash doubled); each
        // of ", \ and ] then escaped.
        assert!(m.contains(r#" prefix="a\"b\\\\c\]d"]"#), "{m}");
        // Control characters and bytes that are not UTF-8 are \xNN, as in the line.
        let bytes = packet_bytes(Some(b"caf\xe9\n\xc3\xa9"), None);
        let packet = Packet::parse(&bytes).unwrap();
        let mut f = format(Body::Text(TextFormat::new()));
        let m = f.message(&packet, UNIX_EPOCH, &mut Numeric).unwrap();
        let sd = b" prefix=\"caf\\\\xe9\\\\x0a\xc3\xa9\"]";
        assert!(
            m.windows(sd.len()).any(|w| w == sd),
            "{}",
            String::from_utf8_lossy(m)
        );
    }

    #[test]
    fn rfc3164_and_local_forms() {
        let bytes = packet_bytes(Some(b"in"), Some(1));
        let line = text_line(&bytes);
        let mut f = format(Body::Text(TextFormat::new()))
            .protocol(SyslogProtocol::Rfc3164)
            .facility("local2".parse().unwrap())
            .severity("info".parse().unwrap());
        // local2 (18) * 8 + info (6) = 150.
        assert_eq!(
            message(&mut f, &bytes),
            format!("<150>Nov 28 04:35:06 golden nflog[4242]: {line}")
        );
        let mut f = f.protocol(SyslogProtocol::Local);
        assert_eq!(
            message(&mut f, &bytes),
            format!("<150>Nov 28 04:35:06 nflog[4242]: {line}")
        );
    }

    #[test]
    fn the_receive_time_stands_in_for_a_missing_timestamp() {
        let bytes = PacketRepr {
            group: 1,
            hook: 3,
            ..PacketRepr::default()
        }
        .to_bytes();
        let packet = Packet::parse(&bytes).unwrap();
        let mut f = format(Body::Text(TextFormat::new()));
        let at = UNIX_EPOCH + Duration::from_micros(1_795_840_506_000_001);
        let m = f.message(&packet, at, &mut Numeric).unwrap();
        assert!(m.starts_with(b"<13>1 2026-11-28T04:35:06.000001Z "));
    }

    #[test]
    fn facilities_and_severities_by_name_or_number() {
        assert_eq!("local7".parse::<Facility>().unwrap().code(), 23);
        assert_eq!("LOG_LOCAL2".parse::<Facility>().unwrap().code(), 18);
        assert_eq!("0".parse::<Facility>().unwrap().to_string(), "kern");
        assert_eq!("debug".parse::<Severity>().unwrap().code(), 7);
        assert_eq!("3".parse::<Severity>().unwrap().to_string(), "err");
        assert_eq!(
            "24".parse::<Facility>().unwrap_err().to_string(),
            "not a syslog facility: give one of kern, user, mail, daemon, auth, syslog, lpr, \
             news, uucp, cron, authpriv, ftp, ntp, security, console, solaris-cron, local0, \
             local1, local2, local3, local4, local5, local6, local7 or a number from 0 to 23"
        );
        assert!("warn".parse::<Severity>().is_err());
    }

    #[test]
    fn header_fields_rfc5424_refuses_are_refused() {
        let f = || SyslogFormat::new(Body::Text(TextFormat::new()));
        assert_eq!(
            f().hostname("a b").unwrap_err().to_string(),
            "invalid syslog hostname: \"a b\" holds ' ': only printable ASCII without spaces \
             is allowed"
        );
        assert!(f().hostname(&"h".repeat(256)).is_err());
        assert!(f().app_name(&"a".repeat(49)).is_err());
        assert!(f().app_name("fw[1]").is_err());
        assert!(f().app_name("-").is_err());
        assert!(f().sd_id("nflog@32473").is_ok());
        assert!(f().sd_id("fw@1.3.6").is_ok());
        assert_eq!(
            f().sd_id("nflog").unwrap_err().to_string(),
            "invalid syslog SD-ID: \"nflog\" has no @: only IANA names SD-IDs without one; \
             use NAME@ENTERPRISE-NUMBER"
        );
        assert!(f().sd_id("a=b@1").is_err());
        assert!(f().sd_id("nflog@x").is_err());
        assert!(f().sd_id("@1").is_err());
        assert!(f().sd_id(&format!("{}@1", "n".repeat(31))).is_err());
    }

    #[test]
    fn a_custom_sd_id_names_the_element() {
        let bytes = packet_bytes(None, None);
        let mut f = format(Body::Text(TextFormat::new()))
            .sd_id("fw@64512")
            .unwrap();
        assert!(message(&mut f, &bytes).contains(" - [fw@64512 group=\"5\"] "));
    }
}
