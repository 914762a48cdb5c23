//! Naming interfaces in output: the trait every format takes, its two implementations, and
//! how the text and JSON formats show an interface.

use super::put::{push_dec, push_hex_byte};
use crate::socket::names::InterfaceNames;

/// Something that names interfaces by index.
pub trait ResolveInterface {
    /// The name of interface `index`, if it exists and is UTF-8.
    fn interface_name(&mut self, index: u32) -> Option<&str>;

    /// The name of interface `index` as the kernel stores it, if it exists: any bytes but
    /// `/`, `:`, NUL and white space, not necessarily UTF-8. The formats ask this one; by
    /// default it is [`interface_name`](Self::interface_name)'s answer.
    fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
        self.interface_name(index).map(str::as_bytes)
    }
}

/// Names nothing: for numeric output.
#[derive(Debug, Clone, Copy, Default)]
pub struct Numeric;

impl ResolveInterface for Numeric {
    fn interface_name(&mut self, _index: u32) -> Option<&str> {
        None
    }
}

/// Names interfaces in the network namespace of the socket [`InterfaceNames`] was made for.
impl ResolveInterface for InterfaceNames {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        InterfaceNames::interface_name(self, index)
    }

    fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
        InterfaceNames::interface_name_bytes(self, index)
    }
}

/// A piece of an interface as the text and JSON formats show it (see [`interface_pieces`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Characters shown as they are: UTF-8 without backslash or control characters.
    Plain(&'a str),
    /// A byte shown as `\xNN` (two lowercase hex digits): a control character, or a byte
    /// of a name that is not UTF-8.
    Byte(u8),
    /// A backslash, shown as `\\`, so that `\xNN` in a name is not taken for a byte.
    Backslash,
    /// An interface nobody named, shown as `if:N`, its index.
    Index(u32),
}

/// Calls `piece` for each piece of interface `index`, named `name` by the resolver, as the
/// text and JSON formats show it, so that both say the same thing the same way (the JSON
/// string's value is the text format's word):
///
/// - a name is shown as it is, except that a backslash is `\\` and a control character or
///   a byte that is not UTF-8 is `\xNN`: `eth0`, `caf\xe9` (Latin-1 `café`);
/// - an interface the resolver cannot name (`nflog -n`, `nflog read`, an interface that is
///   gone) is `if:N`, its index: the kernel refuses `:` in a name (`dev_valid_name`), so
///   this can be no interface's name, where the bare index `5` could be.
///
/// A name of bytes that are all [`shown_as_is`] is one [`Piece::Plain`], itself: the
/// formats write such a name without calling this.
pub(crate) fn interface_pieces(name: Option<&[u8]>, index: u32, mut piece: impl FnMut(Piece<'_>)) {
    let Some(name) = name else {
        piece(Piece::Index(index));
        return;
    };
    for chunk in name.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (at, byte) in valid.bytes().enumerate() {
            let special = match byte {
                b'\\' => Piece::Backslash,
                0..=0x1f | 0x7f => Piece::Byte(byte),
                _ => continue,
            };
            if start < at {
                piece(Piece::Plain(&valid[start..at]));
            }
            piece(special);
            start = at + 1;
        }
        if start < valid.len() {
            piece(Piece::Plain(&valid[start..]));
        }
        for &byte in chunk.invalid() {
            piece(Piece::Byte(byte));
        }
    }
}

/// Writes interface `index`, named `name`, as [`interface_pieces`] shows it, in a format's
/// own spelling: plain text through `plain`, and `backslash` for each backslash of the
/// value's `\xNN` and `\\` (`\` in the text line, `\\` inside a JSON string).
pub(crate) fn push_pieces(
    line: &mut Vec<u8>,
    name: Option<&[u8]>,
    index: u32,
    plain: fn(&mut Vec<u8>, &str),
    backslash: &[u8],
) {
    interface_pieces(name, index, |piece| match piece {
        Piece::Plain(text) => plain(line, text),
        Piece::Byte(byte) => {
            line.extend_from_slice(backslash);
            line.push(b'x');
            push_hex_byte(line, byte, false);
        }
        Piece::Backslash => {
            line.extend_from_slice(backslash);
            line.extend_from_slice(backslash);
        }
        Piece::Index(index) => {
            line.extend_from_slice(b"if:");
            push_dec(line, index);
        }
    });
}

/// Whether `byte` of an interface name is shown as it is, wherever it is in the name:
/// printable ASCII but the backslash, which [`interface_pieces`] escapes.
// Perf: names are nearly always such bytes (`eth0`, `lo`): the formats check each byte of
// the name against this and copy it whole, without the walk through its UTF-8 chunks.
#[inline]
pub(crate) fn shown_as_is(byte: u8) -> bool {
    byte.is_ascii_graphic() && byte != b'\\'
}

/// A resolver for tests: 1 `lo`, 2 Latin-1 `café`, 3 `a\x0ab` (the four characters), 4 a
/// name with `"`, two control characters and `é`, 5 `5`; nothing else.
#[cfg(test)]
pub(crate) struct OddNames;

#[cfg(test)]
impl ResolveInterface for OddNames {
    fn interface_name(&mut self, index: u32) -> Option<&str> {
        self.interface_name_bytes(index)
            .and_then(|b| std::str::from_utf8(b).ok())
    }

    fn interface_name_bytes(&mut self, index: u32) -> Option<&[u8]> {
        match index {
            1 => Some(b"lo"),
            2 => Some(b"caf\xe9"),
            3 => Some(b"a\\x0ab"),
            4 => Some(b"q\"\x01\x7fn\xc3\xa9"),
            5 => Some(b"5"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(names: &mut dyn ResolveInterface, index: u32) -> Vec<String> {
        let mut out = Vec::new();
        let name = names.interface_name_bytes(index);
        interface_pieces(name, index, |piece| out.push(format!("{piece:?}")));
        out
    }

    #[test]
    fn names_split_into_what_is_shown_as_it_is_and_what_is_escaped() {
        assert_eq!(pieces(&mut OddNames, 1), ["Plain(\"lo\")"]);
        assert_eq!(pieces(&mut OddNames, 2), ["Plain(\"caf\")", "Byte(233)"]);
        assert_eq!(
            pieces(&mut OddNames, 3),
            ["Plain(\"a\")", "Backslash", "Plain(\"x0ab\")"]
        );
        assert_eq!(
            pieces(&mut OddNames, 4),
            [
                "Plain(\"q\\\"\")",
                "Byte(1)",
                "Byte(127)",
                "Plain(\"n\u{e9}\")"
            ]
        );
        assert_eq!(pieces(&mut OddNames, 5), ["Plain(\"5\")"]);
        assert_eq!(pieces(&mut OddNames, 9), ["Index(9)"]);
        assert_eq!(pieces(&mut Numeric, 5), ["Index(5)"]);
        // The default bytes are the UTF-8 name's.
        struct Plain;
        impl ResolveInterface for Plain {
            fn interface_name(&mut self, _index: u32) -> Option<&str> {
                Some("eth0")
            }
        }
        assert_eq!(Plain.interface_name_bytes(3), Some(&b"eth0"[..]));
    }
}
