//! Splitting an expression into tokens, each with the column it starts at.

/// A token of the filter language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A run of characters none of which is white space or one of `()[]!&|=<>,"`: a
    /// keyword, a number, an address, a prefix, a range, a name.
    Word(String),
    /// A string between double quotes (an interface name with unusual characters).
    Quoted(String),
    /// `(`.
    Open,
    /// `)`.
    Close,
    /// `[`.
    OpenBracket,
    /// `]`.
    CloseBracket,
    /// `!`.
    Bang,
    /// `&&`.
    AndAnd,
    /// `||`.
    OrOr,
    /// `&`.
    Amp,
    /// `|`.
    Pipe,
    /// `=` or `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `,`.
    Comma,
    /// `<`, `>`, `<=`, `>=`: comparisons the language does not have.
    Order(&'static str),
    /// A `"` without its closing one.
    Unterminated,
}

impl Tok {
    /// The token as the user wrote it, to quote in errors.
    pub(crate) fn text(&self) -> String {
        match self {
            Tok::Word(word) => word.clone(),
            Tok::Quoted(text) => format!("\"{text}\""),
            Tok::Open => "(".into(),
            Tok::Close => ")".into(),
            Tok::OpenBracket => "[".into(),
            Tok::CloseBracket => "]".into(),
            Tok::Bang => "!".into(),
            Tok::AndAnd => "&&".into(),
            Tok::OrOr => "||".into(),
            Tok::Amp => "&".into(),
            Tok::Pipe => "|".into(),
            Tok::Eq => "==".into(),
            Tok::Ne => "!=".into(),
            Tok::Comma => ",".into(),
            Tok::Order(op) => (*op).into(),
            Tok::Unterminated => "\"".into(),
        }
    }
}

/// Whether `c` ends a word.
pub(crate) fn is_special(c: char) -> bool {
    c.is_whitespace() || "()[]!&|=<>,\"".contains(c)
}

/// The tokens of `input`, each with its 1-based column (in characters).
pub(crate) fn tokens(input: &str) -> Vec<(usize, Tok)> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let column = i + 1;
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            ('[', _) => (Tok::OpenBracket, 1),
            (']', _) => (Tok::CloseBracket, 1),
            (',', _) => (Tok::Comma, 1),
            ('!', Some('=')) => (Tok::Ne, 2),
            ('!', _) => (Tok::Bang, 1),
            ('&', Some('&')) => (Tok::AndAnd, 2),
            ('&', _) => (Tok::Amp, 1),
            ('|', Some('|')) => (Tok::OrOr, 2),
            ('|', _) => (Tok::Pipe, 1),
            ('=', Some('=')) => (Tok::Eq, 2),
            ('=', _) => (Tok::Eq, 1),
            ('<', Some('=')) => (Tok::Order("<="), 2),
            ('<', _) => (Tok::Order("<"), 1),
            ('>', Some('=')) => (Tok::Order(">="), 2),
            ('>', _) => (Tok::Order(">"), 1),
            ('"', _) => {
                let rest = &chars[i + 1..];
                match rest.iter().position(|&c| c == '"') {
                    Some(end) => (Tok::Quoted(rest[..end].iter().collect()), end + 2),
                    None => (Tok::Unterminated, chars.len() - i),
                }
            }
            _ => {
                let len = chars[i..]
                    .iter()
                    .position(|&c| is_special(c))
                    .unwrap_or(chars.len() - i);
                (Tok::Word(chars[i..i + len].iter().collect()), len)
            }
        };
        out.push((column, tok));
        i += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_from_one() {
        let toks = tokens("tcp[tcpflags]&tcp-syn!=0 && !é");
        let cols: Vec<usize> = toks.iter().map(|(c, _)| *c).collect();
        assert_eq!(cols, vec![1, 4, 5, 13, 14, 15, 22, 24, 26, 29, 30]);
        assert_eq!(toks[5].1, Tok::Word("tcp-syn".into()));
        assert_eq!(toks[10].1, Tok::Word("é".into()));
    }

    #[test]
    fn a_quote_without_its_end_is_one_token() {
        assert_eq!(
            tokens("iif \"eth0"),
            vec![(1, Tok::Word("iif".into())), (5, Tok::Unterminated)]
        );
        assert_eq!(tokens("\"a b\"")[0].1, Tok::Quoted("a b".into()));
    }
}
