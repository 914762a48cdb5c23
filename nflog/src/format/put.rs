//! Numbers, bytes and addresses appended to a line buffer, as C's printf and glibc's
//! `inet_ntop` would write them, without allocating. Shared by the text, JSON and XML
//! formats.

use std::net::{Ipv4Addr, Ipv6Addr};

use chrono::{Datelike, NaiveDateTime, Timelike};

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Two decimal digits for each of 0 to 99.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// A number in decimal (`%u`).
// Perf: two digits per division, from a table, and a short way for one digit, since most of
// the numbers of a line are small: a line costs fewer instructions than with one division
// per digit (figures: docs/benchmarks.md, "Code shaped for speed").
#[inline]
pub(crate) fn push_dec(line: &mut Vec<u8>, n: impl Into<u64>) {
    let mut n = n.into();
    if n < 10 {
        line.push(b'0' + n as u8);
        return;
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while n >= 100 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if n >= 10 {
        let pair = n as usize * 2;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        at -= 1;
        digits[at] = b'0' + n as u8;
    }
    line.extend_from_slice(&digits[at..]);
}

/// A number in decimal with leading zeros to at least `width` digits (`%0Nu`).
pub(crate) fn push_padded(line: &mut Vec<u8>, n: impl Into<u64>, width: usize) {
    let n = n.into();
    let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
    line.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits)));
    push_dec(line, n);
}

/// A number in hex with leading zeros to at least `width` digits (`%0Nx` / `%0NX`).
pub(crate) fn push_hex(line: &mut Vec<u8>, n: u64, width: usize, upper: bool) {
    let table = if upper { UPPER } else { LOWER };
    let mut digits = [b'0'; 16];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = table[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    let start = at.min(digits.len().saturating_sub(width));
    line.extend_from_slice(&digits[start..]);
}

/// Bytes as lowercase hex, two digits each (`%02x`), with `separator` between them.
pub(crate) fn push_hex_bytes(line: &mut Vec<u8>, bytes: &[u8], separator: Option<u8>) {
    line.reserve(bytes.len() * 3);
    for (i, &byte) in bytes.iter().enumerate() {
        if let (Some(sep), true) = (separator, i > 0) {
            line.push(sep);
        }
        line.push(LOWER[usize::from(byte >> 4)]);
        line.push(LOWER[usize::from(byte & 0xf)]);
    }
}

/// An IPv4 address in dotted quad.
pub(crate) fn push_ipv4_addr(line: &mut Vec<u8>, addr: Ipv4Addr) {
    for (i, octet) in addr.octets().into_iter().enumerate() {
        if i > 0 {
            line.push(b'.');
        }
        push_dec(line, octet);
    }
}

/// An IPv6 address as glibc's `inet_ntop` writes it (resolv/inet_ntop.c, `inet_ntop6`;
/// ulogd2's IP2STR uses it): the first longest run of two or more zero words becomes `::`,
/// and `::a.b.c.d` and `::ffff:a.b.c.d` end in dotted IPv4. Rust's `Display` writes
/// `::102:304` for the former.
pub(crate) fn push_ipv6_addr(line: &mut Vec<u8>, addr: &Ipv6Addr) {
    let words = addr.segments();
    let (mut best, mut best_len) = (0usize, 0usize);
    let mut i = 0;
    while i < 8 {
        if words[i] == 0 {
            let start = i;
            while i < 8 && words[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                (best, best_len) = (start, i - start);
            }
        } else {
            i += 1;
        }
    }
    let run = (best_len >= 2).then_some(best..best + best_len);
    for (i, &word) in words.iter().enumerate() {
        if let Some(run) = &run {
            if run.contains(&i) {
                if i == run.start {
                    line.push(b':');
                }
                continue;
            }
        }
        if i != 0 {
            line.push(b':');
        }
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
            let [.., a, b, c, d] = addr.octets();
            push_ipv4_addr(line, Ipv4Addr::new(a, b, c, d));
            break;
        }
        push_hex(line, word.into(), 1, false);
    }
    if run.is_some_and(|run| run.end == 8) {
        line.push(b':');
    }
}

/// `YYYY-MM-DDTHH:MM:SS.uuuuuu`: a date and time as ISO 8601 writes them, to the
/// microsecond (ulogd2's JSON `timestamp`, RFC 5424's TIMESTAMP), without an offset.
pub(crate) fn push_date_time(line: &mut Vec<u8>, time: &NaiveDateTime, usec: u32) {
    // From a time after 1970 in an offset under a day: a year from 1969 on.
    push_padded(line, time.year().unsigned_abs(), 4);
    line.push(b'-');
    push_padded(line, time.month(), 2);
    line.push(b'-');
    push_padded(line, time.day(), 2);
    line.push(b'T');
    push_padded(line, time.hour(), 2);
    line.push(b':');
    push_padded(line, time.minute(), 2);
    line.push(b':');
    push_padded(line, time.second(), 2);
    line.push(b'.');
    push_padded(line, usec, 6);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut line = Vec::new();
        f(&mut line);
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn numbers_as_printf_writes_them() {
        assert_eq!(put(|l| push_dec(l, 0u8)), "0");
        assert_eq!(put(|l| push_dec(l, u64::MAX)), "18446744073709551615");
        assert_eq!(put(|l| push_padded(l, 7u32, 2)), "07");
        assert_eq!(put(|l| push_padded(l, 123u32, 2)), "123");
        assert_eq!(put(|l| push_padded(l, 5u32, 6)), "000005");
        assert_eq!(put(|l| push_hex(l, 0x2a, 1, false)), "2a");
        assert_eq!(put(|l| push_hex(l, 0xa0, 2, true)), "A0");
        assert_eq!(put(|l| push_hex(l, 0x1, 8, false)), "00000001");
        assert_eq!(put(|l| push_hex(l, u64::MAX, 1, false)), "ffffffffffffffff");
        assert_eq!(
            put(|l| push_hex_bytes(l, &[0, 0xab, 8], Some(b':'))),
            "00:ab:08"
        );
        assert_eq!(put(|l| push_hex_bytes(l, &[0x45, 0], None)), "4500");
        assert_eq!(put(|l| push_hex_bytes(l, &[], Some(b':'))), "");
    }

    #[test]
    fn decimal_agrees_with_display_at_every_length() {
        let mut values = vec![0u64, 9, 10, 99, 100, 101, 999, 1000, u64::MAX];
        for digits in 1..20 {
            let p = 10u64.pow(digits);
            values.extend([p - 1, p, p + 1, p + p / 2 + 7]);
        }
        values.extend((0..2000).map(|i| i * 7919 % 100_003));
        for v in values {
            assert_eq!(put(|l| push_dec(l, v)), v.to_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn decimal_agrees_with_display(v in proptest::prelude::any::<u64>()) {
            proptest::prop_assert_eq!(put(|l| push_dec(l, v)), v.to_string());
        }
    }

    #[test]
    fn ipv6_as_glibc_inet_ntop_writes_it() {
        let cases = [
            ("::1", "::1"),
            ("::", "::"),
            ("fe80::1:2", "fe80::1:2"),
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("1::", "1::"),
        ];
        for (input, expected) in cases {
            let addr: Ipv6Addr = input.parse().unwrap();
            assert_eq!(put(|l| push_ipv6_addr(l, &addr)), expected, "{input}");
        }
        assert_eq!(
            put(|l| push_ipv4_addr(l, Ipv4Addr::new(127, 0, 0, 1))),
            "127.0.0.1"
        );
    }
}
