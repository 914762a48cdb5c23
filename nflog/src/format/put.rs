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

/// [`DIGIT_PAIRS`] as arrays of two.
// Perf: a pair is then one load and one store of two bytes, where two bytes picked from the
// string are two of each.
const PAIRS: [[u8; 2]; 100] = {
    let mut pairs = [[0u8; 2]; 100];
    let mut n = 0;
    while n < 100 {
        pairs[n] = [DIGIT_PAIRS[2 * n], DIGIT_PAIRS[2 * n + 1]];
        n += 1;
    }
    pairs
};

/// Each byte as two hex digits, lowercase and uppercase.
const HEX_PAIRS: [[[u8; 2]; 256]; 2] = {
    let mut pairs = [[[0u8; 2]; 256]; 2];
    let mut byte = 0;
    while byte < 256 {
        pairs[0][byte] = [LOWER[byte >> 4], LOWER[byte & 0xf]];
        pairs[1][byte] = [UPPER[byte >> 4], UPPER[byte & 0xf]];
        byte += 1;
    }
    pairs
};

/// Each octet in decimal followed by a `.`, and how many of those bytes it takes.
const OCTETS: [([u8; 4], u8); 256] = {
    let mut octets = [([0u8; 4], 0u8); 256];
    let mut n = 0;
    while n < 256 {
        let (hundreds, tens, ones) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
        octets[n] = if n >= 100 {
            ([b'0' + hundreds, b'0' + tens, b'0' + ones, b'.'], 4)
        } else if n >= 10 {
            ([b'0' + tens, b'0' + ones, b'.', 0], 3)
        } else {
            ([b'0' + ones, b'.', 0, 0], 2)
        };
        n += 1;
    }
    octets
};

/// Appends the first `len` bytes of `bytes`.
// Perf: a copy of a constant size is a few stores, where a copy of `len` bytes is a call
// to memcpy; the bytes past `len` are cut off again at once.
#[inline(always)]
pub(crate) fn push_first<const N: usize>(line: &mut Vec<u8>, bytes: &[u8; N], len: usize) {
    let start = line.len();
    line.extend_from_slice(bytes);
    line.truncate(start + len);
}

/// Where a line is written: a `Vec<u8>` that grows, or a [`FixedLine`] of a fixed room.
pub(crate) trait Put: Sized {
    /// Appends the first `len` bytes of `bytes` (`len` at most `N`, `N` at most [`PIECE`]).
    fn put_first<const N: usize>(&mut self, bytes: &[u8; N], len: usize);

    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);

    /// Appends what `write` writes to a `Vec<u8>`: for the pieces written only that way.
    fn put_with(&mut self, write: impl FnOnce(&mut Vec<u8>));

    /// Appends one byte.
    #[inline(always)]
    fn push(&mut self, byte: u8) {
        self.put_first(&[byte], 1);
    }

    /// A number of three digits or more in decimal, as [`push_dec`] writes it.
    fn put_dec_long(&mut self, n: u64);
}

impl Put for Vec<u8> {
    #[inline(always)]
    fn put_first<const N: usize>(&mut self, bytes: &[u8; N], len: usize) {
        push_first(self, bytes, len);
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn put_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        write(self);
    }

    #[inline(always)]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }

    #[inline(always)]
    fn put_dec_long(&mut self, n: u64) {
        push_dec_long(self, n);
    }
}

/// The room of a [`FixedLine`]: a JSON line of a packet is about 600 bytes, one with a
/// conntrack entry or IPv6 addresses about a thousand.
pub(crate) const LINE_ROOM: usize = 4096;

/// The most bytes a [`Put::put_first`] copies, and the most a [`Put::put`] copies in a
/// constant size.
pub(crate) const PIECE: usize = 64;

/// A line written into a buffer of a fixed room, [`LINE_ROOM`] bytes, with the place it has
/// reached; a line that does not fit is found out at its end ([`written`](Self::written)),
/// and the caller writes it again into a `Vec<u8>`.
// Perf: a line's writer takes and gives back the line by value, two words, so that the
// place is a register; a copy of a constant size is made after one comparison of the
// place with a constant (`LINE_ROOM - PIECE`), where a `Vec`'s pushes each load its
// capacity and address again, compare and store its length (figures: docs/benchmarks.md,
// "Code shaped for speed"). Past `LINE_ROOM - PIECE` nothing more is copied, only the
// place moves on: it never goes back, so such a line is never used.
pub(crate) struct FixedLine<'b> {
    room: &'b mut LineRoom,
    at: usize,
}

/// The room of a [`FixedLine`], kept between lines.
#[derive(Debug, Clone)]
pub(crate) struct LineRoom {
    bytes: [u8; LINE_ROOM],
    /// Where the pieces of [`Put::put_with`] are written before they are copied in.
    scratch: Vec<u8>,
}

impl LineRoom {
    /// An empty room.
    pub(crate) fn new() -> Box<LineRoom> {
        Box::new(LineRoom {
            bytes: [0; LINE_ROOM],
            scratch: Vec::new(),
        })
    }
}

impl<'b> FixedLine<'b> {
    /// An empty line in `room`.
    pub(crate) fn new(room: &'b mut LineRoom) -> Self {
        FixedLine { room, at: 0 }
    }

    /// The line, or `None` when it did not fit.
    pub(crate) fn written(&self) -> Option<&[u8]> {
        match self.at <= LINE_ROOM - PIECE {
            true => self.room.bytes.get(..self.at),
            false => None,
        }
    }
}

/// [`Put::put`] of more than [`PIECE`] bytes into `buf` at `at`: the place after them, or
/// past the room when they do not fit.
// Perf: the line's fields passed by value, so that the line itself is not passed (its
// place then stays in a register in the line's writer).
#[inline(never)]
fn put_long(buf: &mut [u8; LINE_ROOM], at: usize, bytes: &[u8]) -> usize {
    let end = at.wrapping_add(bytes.len());
    match buf.get_mut(at..end) {
        Some(room) => {
            room.copy_from_slice(bytes);
            end
        }
        None => at.max(LINE_ROOM + 1),
    }
}

impl Put for FixedLine<'_> {
    #[inline(always)]
    fn put_first<const N: usize>(&mut self, bytes: &[u8; N], len: usize) {
        const { assert!(N <= PIECE) };
        if self.at <= LINE_ROOM - PIECE {
            if let Some(room) = self.room.bytes.get_mut(self.at..self.at + N) {
                room.copy_from_slice(bytes);
            }
        }
        self.at = self.at.wrapping_add(len);
    }

    #[inline(always)]
    fn put(&mut self, bytes: &[u8]) {
        if bytes.len() > PIECE {
            self.at = put_long(&mut self.room.bytes, self.at, bytes);
            return;
        }
        if self.at <= LINE_ROOM - PIECE {
            if let Some(room) = self.room.bytes.get_mut(self.at..self.at + bytes.len()) {
                room.copy_from_slice(bytes);
            }
        }
        self.at = self.at.wrapping_add(bytes.len());
    }

    #[inline]
    fn put_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let LineRoom { bytes, scratch } = &mut *self.room;
        scratch.clear();
        write(scratch);
        self.at = put_long(bytes, self.at.min(LINE_ROOM + 1), scratch);
    }

    #[inline(always)]
    fn put_dec_long(&mut self, n: u64) {
        match n < EIGHT_DIGITS {
            true => {
                let (ascii, len) = dec_ascii(n as u32);
                self.put_first(&ascii.to_le_bytes(), len);
            }
            false => self.put_with(|line| push_dec_over_eight(line, n)),
        }
    }
}

/// `n` (below 10^8) in decimal without leading zeros, as the bytes of a u64 (the first
/// digit in the lowest byte), and how many of them there are.
// Perf: inlined into the room's writer of a long number, whose place is then a register
// throughout, not saved across a call (figures: docs/benchmarks.md, "Code shaped for
// speed"); `Vec`'s `push_dec_long` stays out of line.
#[inline]
fn dec_ascii(n: u32) -> (u64, usize) {
    lanes_ascii(digit_lanes(n), false)
}

/// A number in decimal (`%u`).
// Perf: most numbers of a line are below 100: one digit is a push, two a copy from a table,
// both inlined; longer ones are worked out eight digits at a time in a register and stored
// at once (figures: docs/benchmarks.md, "Code shaped for speed"). Always inlined: the text
// line's writer, with its many numbers, kept it a call.
#[inline(always)]
pub(crate) fn push_dec(line: &mut impl Put, n: impl Into<u64>) {
    let n = n.into();
    if n < 10 {
        line.push(b'0' + n as u8);
    } else if n < 100 {
        line.put_first(&PAIRS[n as usize], 2);
    } else {
        line.put_dec_long(n);
    }
}

/// 10^8: the numbers [`push_eight`] writes are below it.
const EIGHT_DIGITS: u64 = 100_000_000;

/// A number in decimal, for any number.
// Perf: the numbers of a line that reach this have three to eight digits (ports, lengths,
// checksums, identifiers, microseconds), written by one `push_eight`; longer ones go to a
// function of their own, so that this one is not recursive and saves no registers. Never
// inlined, so that `push_dec` stays small enough to be inlined at every call.
//
// Perf: the room for the eight bytes is checked first, and made out of line
// (`push_dec_long_grown`), so that the common path calls nothing and saves no registers.
#[inline(never)]
fn push_dec_long(line: &mut Vec<u8>, n: u64) {
    if n >= EIGHT_DIGITS {
        push_dec_over_eight(line, n);
    } else if line.capacity() - line.len() < 8 {
        push_dec_long_grown(line, n as u32);
    } else {
        push_eight(line, n as u32, false);
    }
}

/// [`push_dec_long`] of a number below 10^8 for a line without room for eight more bytes.
#[cold]
#[inline(never)]
fn push_dec_long_grown(line: &mut Vec<u8>, n: u32) {
    line.reserve(8);
    push_eight(line, n, false);
}

/// A number of nine digits or more (u64::MAX has 20): the first eight or fewer, then
/// eight more once or twice.
#[inline(never)]
fn push_dec_over_eight(line: &mut Vec<u8>, n: u64) {
    let high = n / EIGHT_DIGITS;
    if high < EIGHT_DIGITS {
        push_eight(line, high as u32, false);
    } else {
        push_eight(line, (high / EIGHT_DIGITS) as u32, false);
        push_eight(line, (high % EIGHT_DIGITS) as u32, true);
    }
    push_eight(line, (n % EIGHT_DIGITS) as u32, true);
}

/// The eight decimal digits of `n` (below 10^8) as bytes of a u64, the first digit in the
/// lowest byte, each byte a digit's value (not yet ASCII).
// Perf: the digits are split in the lanes of one register, four then two then one (SWAR:
// x / 100 is (x * 10486) >> 20 for x below 10^4, y / 10 is (y * 103) >> 10 for y below
// 100, both checked for every value by `eight_digit_lanes_divide_exactly`), then stored as
// one word: no division per digit, and no small stores read back as a wider load (which
// stalls the store buffer).
#[inline]
fn digit_lanes(n: u32) -> u64 {
    let n = u64::from(n);
    // Two lanes of 32 bits: the first four digits, then the last four.
    let lanes = (n / 10_000) | ((n % 10_000) << 32);
    // Four lanes of 16 bits, two digits each.
    let high = ((lanes * 10_486) >> 20) & 0x0000_007f_0000_007f;
    let lanes = high | ((lanes - 100 * high) << 16);
    // Eight lanes of 8 bits, one digit each.
    let high = ((lanes * 103) >> 10) & 0x000f_000f_000f_000f;
    high | ((lanes - 10 * high) << 8)
}

/// `n` (below 10^8) in decimal: all eight digits when `padded`, else without leading zeros
/// (at least one digit).
#[inline]
fn push_eight(line: &mut Vec<u8>, n: u32, padded: bool) {
    push_lanes(line, digit_lanes(n), padded);
}

/// The eight digits of [`digit_lanes`] in ASCII: all of them when `padded`, else without
/// leading zeros (at least one digit).
#[inline]
fn push_lanes(line: &mut impl Put, lanes: u64, padded: bool) {
    let (ascii, len) = lanes_ascii(lanes, padded);
    line.put_first(&ascii.to_le_bytes(), len);
}

/// The eight digits of [`digit_lanes`] in ASCII, as the bytes of a u64, and how many of
/// them to write: all of them when `padded`, else without leading zeros (at least one).
#[inline]
fn lanes_ascii(lanes: u64, padded: bool) -> (u64, usize) {
    // Leading zeros are the low bytes that are 0.
    let zeros = if padded {
        0
    } else {
        (lanes.trailing_zeros() / 8).min(7)
    };
    let ascii = (lanes + 0x3030_3030_3030_3030) >> (8 * zeros);
    (ascii, 8 - zeros as usize)
}

/// A number below 100 in two digits (`%02u`); larger numbers in as many as they need.
#[inline]
pub(crate) fn push_two_digits(line: &mut Vec<u8>, n: impl Into<u64>) {
    let n = n.into();
    if n < 100 {
        let pair = n as usize * 2;
        line.extend_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        push_dec_long(line, n);
    }
}

/// A number in decimal with leading zeros to at least `width` digits (`%0Nu`).
pub(crate) fn push_padded(line: &mut Vec<u8>, n: impl Into<u64>, width: usize) {
    let n = n.into();
    let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
    line.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits)));
    push_dec(line, n);
}

/// Microseconds (below a million) in six digits (`%06u`); a larger number in as many as it
/// needs.
#[inline]
pub(crate) fn push_usec(line: &mut Vec<u8>, usec: u32) {
    Micros::new(usec).push_padded(line);
}

/// Microseconds split into digits once, for a line that shows them twice: padded in a time
/// (`.000042`), then as a number (`42`).
// Perf: the JSON line's `timestamp` and `oob.time.usec` share the one split (figures:
// docs/benchmarks.md, "Code shaped for speed").
#[derive(Debug, Clone, Copy)]
pub(crate) struct Micros {
    usec: u32,
    /// `digit_lanes(usec)`, for `usec` below a million; 0 (unused) above.
    lanes: u64,
}

/// A million: the microseconds [`Micros`] splits are below it.
const MICROS_PER_SECOND: u32 = 1_000_000;

impl Micros {
    /// `usec`, split into digits when below a million.
    #[inline]
    pub(crate) fn new(usec: u32) -> Micros {
        let lanes = if usec < MICROS_PER_SECOND {
            digit_lanes(usec)
        } else {
            0
        };
        Micros { usec, lanes }
    }

    /// In six digits (`%06u`); a larger number in as many as it needs.
    #[inline]
    pub(crate) fn push_padded(self, line: &mut impl Put) {
        if self.usec >= MICROS_PER_SECOND {
            line.put_dec_long(self.usec.into());
            return;
        }
        // Eight digits, the first two of them zeros.
        let ascii = (self.lanes + 0x3030_3030_3030_3030) >> 16;
        line.put_first(&ascii.to_le_bytes(), 6);
    }

    /// In decimal (`%u`).
    #[inline]
    pub(crate) fn push(self, line: &mut impl Put) {
        if self.usec >= MICROS_PER_SECOND {
            line.put_dec_long(self.usec.into());
            return;
        }
        push_lanes(line, self.lanes, false);
    }
}

/// A number in hex with leading zeros to at least `width` digits (`%0Nx` / `%0NX`).
// Perf: a number below 256 in one or two digits (a mark, most words of an IPv6 address)
// is a pair from the table, inlined; the rest is worked out out of line.
#[inline]
pub(crate) fn push_hex(line: &mut impl Put, n: u64, width: usize, upper: bool) {
    if n < 256 && width <= 2 {
        let [high, low] = HEX_PAIRS[usize::from(upper)][n as usize];
        if n < 16 && width < 2 {
            line.push(low);
        } else {
            line.put_first(&[high, low], 2);
        }
        return;
    }
    line.put_with(|line| push_hex_long(line, n, width, upper));
}

/// [`push_hex`] of a number of three digits or more, or wider.
#[inline(never)]
fn push_hex_long(line: &mut Vec<u8>, n: u64, width: usize, upper: bool) {
    let table = if upper { UPPER } else { LOWER };
    let needed = (64 - (n | 1).leading_zeros()).div_ceil(4) as usize;
    let len = needed.max(width).min(16);
    if len <= 8 {
        // Perf: up to eight digits (marks, identifiers: u32) without a loop: the nibbles
        // spread to the bytes of one register, each made a digit at once (SWAR, see
        // `digit_lanes`).
        let digits = hex_lanes(n as u32, upper).swap_bytes() >> (8 * (8 - len));
        push_first(line, &digits.to_le_bytes(), len);
        return;
    }
    // Perf: the digits gathered in a register and stored at once (see `digit_lanes`).
    let mut digits = 0u128;
    let mut n = n;
    for at in (0..len).rev() {
        digits |= u128::from(table[(n & 0xf) as usize]) << (8 * at);
        n >>= 4;
    }
    push_first(line, &digits.to_le_bytes(), len);
}

/// The eight hex digits of `n` in ASCII as the bytes of a u64, the last digit in the
/// lowest byte.
#[inline]
fn hex_lanes(n: u32, upper: bool) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let n = u64::from(n);
    // Two lanes of 16 bits in 32, then four of 8 in 16, then eight of 4 in 8.
    let lanes = (n & 0xffff) | (n & 0xffff_0000) << 16;
    let lanes = (lanes & 0x0000_00ff_0000_00ff) | (lanes & 0x0000_ff00_0000_ff00) << 8;
    let lanes = (lanes & 0x000f_000f_000f_000f) | (lanes & 0x00f0_00f0_00f0_00f0) << 4;
    // A lane of 10 or more carries into its bit 4: those get the letters' offset.
    let letters = ((lanes + 6 * ONES) >> 4) & ONES;
    let offset = if upper {
        b'A' - b'0' - 10
    } else {
        b'a' - b'0' - 10
    };
    lanes + 0x30 * ONES + letters * u64::from(offset)
}

/// A byte in two hex digits (`%02x` / `%02X`).
#[inline]
pub(crate) fn push_hex_byte(line: &mut impl Put, byte: u8, upper: bool) {
    line.put_first(&HEX_PAIRS[usize::from(upper)][usize::from(byte)], 2);
}

/// Bytes as lowercase hex, two digits each (`%02x`), with `separator` between them.
// Perf: the room is made once and each byte is one store of a pair from a table, instead
// of two pushes that each check the capacity.
pub(crate) fn push_hex_bytes(line: &mut Vec<u8>, bytes: &[u8], separator: Option<u8>) {
    let Some((&last, most)) = bytes.split_last() else {
        return;
    };
    let start = line.len();
    match separator {
        None => {
            line.resize(start + bytes.len() * 2, 0);
            for (out, &byte) in line[start..].chunks_exact_mut(2).zip(bytes) {
                out.copy_from_slice(&HEX_PAIRS[0][usize::from(byte)]);
            }
        }
        Some(separator) => {
            line.resize(start + most.len() * 3, 0);
            for (out, &byte) in line[start..].chunks_exact_mut(3).zip(most) {
                let [high, low] = HEX_PAIRS[0][usize::from(byte)];
                out.copy_from_slice(&[high, low, separator]);
            }
            line.extend_from_slice(&HEX_PAIRS[0][usize::from(last)]);
        }
    }
}

/// An IPv4 address in dotted quad.
// Perf: each octet with its dot from a table, gathered in a register, stored at once (see
// `digit_lanes`).
#[inline]
pub(crate) fn push_ipv4_addr(line: &mut impl Put, addr: Ipv4Addr) {
    let mut text = 0u128;
    let mut len = 0;
    for octet in addr.octets() {
        let (digits, n) = OCTETS[usize::from(octet)];
        text |= u128::from(u32::from_le_bytes(digits)) << (8 * len);
        len += u32::from(n);
    }
    // The last octet's dot is not the address's.
    line.put_first(&text.to_le_bytes(), len as usize - 1);
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
    push_two_digits(line, time.month());
    line.push(b'-');
    push_two_digits(line, time.day());
    line.push(b'T');
    push_two_digits(line, time.hour());
    line.push(b':');
    push_two_digits(line, time.minute());
    line.push(b':');
    push_two_digits(line, time.second());
    line.push(b'.');
    push_usec(line, usec);
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
        for v in [
            0u64,
            9,
            0xa,
            0xf,
            0x10,
            0x2a,
            0x9abc_def0,
            0xffff_ffff,
            0x1_0000_0000,
        ] {
            for width in [0, 1, 2, 8, 9] {
                assert_eq!(
                    put(|l| push_hex(l, v, width, false)),
                    format!("{v:0width$x}")
                );
                assert_eq!(
                    put(|l| push_hex(l, v, width, true)),
                    format!("{v:0width$X}")
                );
            }
        }
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
        fn decimal_agrees_with_display(v in proptest::prelude::any::<u64>(), room in 0usize..12) {
            proptest::prop_assert_eq!(put(|l| push_dec(l, v)), v.to_string());
            // After text already there, with `room` bytes to spare or none: the number
            // goes after it, whether the line must grow or not.
            let mut line = Vec::with_capacity(4 + room);
            line.extend_from_slice(b"LEN=");
            push_dec(&mut line, v);
            proptest::prop_assert_eq!(String::from_utf8(line).unwrap(), format!("LEN={v}"));
        }
    }

    proptest::proptest! {
        #[test]
        fn hex_agrees_with_format(v in proptest::prelude::any::<u64>(), width in 0usize..20) {
            proptest::prop_assert_eq!(
                put(|l| push_hex(l, v, width, false)),
                format!("{v:0w$x}", w = width.min(16))
            );
            proptest::prop_assert_eq!(
                put(|l| push_hex(l, v, width, true)),
                format!("{v:0w$X}", w = width.min(16))
            );
        }

        #[test]
        fn small_hex_agrees_with_format(v in 0u64..300, width in 0usize..4) {
            proptest::prop_assert_eq!(put(|l| push_hex(l, v, width, false)), format!("{v:0width$x}"));
            proptest::prop_assert_eq!(put(|l| push_hex(l, v, width, true)), format!("{v:0width$X}"));
        }

        #[test]
        fn short_hex_agrees_with_format(v in proptest::prelude::any::<u32>(), width in 0usize..10) {
            let v = u64::from(v);
            proptest::prop_assert_eq!(put(|l| push_hex(l, v, width, false)), format!("{v:0width$x}"));
            proptest::prop_assert_eq!(put(|l| push_hex(l, v, width, true)), format!("{v:0width$X}"));
        }

        #[test]
        fn hex_bytes_agree_with_format(bytes in proptest::collection::vec(0u8.., 0..40)) {
            let each: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            proptest::prop_assert_eq!(put(|l| push_hex_bytes(l, &bytes, None)), each.concat());
            proptest::prop_assert_eq!(
                put(|l| push_hex_bytes(l, &bytes, Some(b':'))),
                each.join(":")
            );
            for byte in bytes {
                proptest::prop_assert_eq!(
                    put(|l| push_hex_byte(l, byte, true)),
                    format!("{byte:02X}")
                );
            }
        }

        #[test]
        fn ipv4_agrees_with_display(v in proptest::prelude::any::<u32>()) {
            let addr = Ipv4Addr::from(v);
            proptest::prop_assert_eq!(put(|l| push_ipv4_addr(l, addr)), addr.to_string());
        }

        #[test]
        fn fixed_widths_agree_with_format(v in 0u32..2_000_000) {
            proptest::prop_assert_eq!(put(|l| push_usec(l, v)), format!("{v:06}"));
            proptest::prop_assert_eq!(put(|l| Micros::new(v).push(l)), v.to_string());
            proptest::prop_assert_eq!(put(|l| push_two_digits(l, v)), format!("{v:02}"));
            proptest::prop_assert_eq!(put(|l| push_padded(l, v, 4)), format!("{v:04}"));
        }
    }

    /// One write to a [`Put`], for `fixed_line_writes_what_a_vec_writes`.
    #[derive(Debug, Clone)]
    enum Piece {
        First(u64, usize),
        Bytes(Vec<u8>),
        With(Vec<u8>),
        Dec(u64),
    }

    fn put_piece(line: &mut impl Put, piece: &Piece) {
        match piece {
            Piece::First(word, len) => line.put_first(&word.to_le_bytes(), *len),
            Piece::Bytes(bytes) => line.put(bytes),
            Piece::With(bytes) => line.put_with(|line| line.extend_from_slice(bytes)),
            Piece::Dec(n) => push_dec(line, *n),
        }
    }

    fn piece() -> impl proptest::strategy::Strategy<Value = Piece> {
        use proptest::prelude::*;
        prop_oneof![
            (any::<u64>(), 0usize..=8).prop_map(|(word, len)| Piece::First(word, len)),
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Piece::Bytes),
            proptest::collection::vec(any::<u8>(), 0..300).prop_map(Piece::With),
            any::<u64>().prop_map(Piece::Dec),
        ]
    }

    proptest::proptest! {
        #[test]
        fn fixed_line_writes_what_a_vec_writes(
            pieces in proptest::collection::vec(piece(), 0..80),
        ) {
            let mut room = LineRoom::new();
            let mut fixed = FixedLine::new(&mut room);
            let mut vec = Vec::new();
            for piece in &pieces {
                put_piece(&mut fixed, piece);
                put_piece(&mut vec, piece);
            }
            // A line is either given whole or not at all, and always when it fits.
            match fixed.written() {
                Some(line) => proptest::prop_assert_eq!(line, &vec[..]),
                None => proptest::prop_assert!(vec.len() > LINE_ROOM - PIECE),
            }
        }
    }

    #[test]
    fn microseconds_as_printf_writes_them() {
        for v in [0, 1, 9, 10, 99_999, 100_000, 999_999, 1_000_000, u32::MAX] {
            let micros = Micros::new(v);
            assert_eq!(put(|l| micros.push_padded(l)), format!("{v:06}"));
            assert_eq!(put(|l| micros.push(l)), v.to_string());
        }
    }

    #[test]
    fn eight_digit_lanes_divide_exactly() {
        // The two reciprocals `digit_lanes` multiplies by, for every value they meet.
        for x in 0..10_000u64 {
            assert_eq!((x * 10_486) >> 20, x / 100, "{x}");
        }
        for y in 0..100u64 {
            assert_eq!((y * 103) >> 10, y / 10, "{y}");
        }
        for n in [
            0u32, 1, 9, 10, 99, 100, 12_345_678, 99_999_999, 10_000_000, 9_999,
        ] {
            assert_eq!(put(|l| push_eight(l, n, true)), format!("{n:08}"));
            assert_eq!(put(|l| push_eight(l, n, false)), n.to_string());
        }
    }

    #[test]
    fn every_octet_as_display_writes_it() {
        for octet in 0..=255u8 {
            let addr = Ipv4Addr::new(octet, 0, octet, 255);
            assert_eq!(put(|l| push_ipv4_addr(l, addr)), addr.to_string());
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
