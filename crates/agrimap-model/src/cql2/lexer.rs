//! CQL2 text cut into tokens, each with its position (the character,
//! counting from 1).

use super::{Cql2Error, Result, echo, error};
use crate::filter::CompareOp;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    /// An identifier or a keyword.
    Word(String),
    /// A double-quoted property name.
    Quoted(String),
    Str(String),
    Num {
        value: f64,
        int: Option<i64>,
        text: String,
    },
    Op(CompareOp),
    LParen,
    RParen,
    Comma,
    /// `+` or `-`.
    Sign(char),
    Other(char),
    End,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Word(w) => write!(f, "'{}'", echo(w)),
            Self::Quoted(w) => write!(f, "\"{}\"", echo(w)),
            Self::Str(s) => write!(f, "the string '{}'", echo(s)),
            Self::Num { text, .. } => write!(f, "the number {}", echo(text)),
            Self::Op(op) => write!(f, "'{}'", op.sql()),
            Self::LParen => f.write_str("'('"),
            Self::RParen => f.write_str("')'"),
            Self::Comma => f.write_str("','"),
            Self::Sign(c) | Self::Other(c) => write!(f, "'{c}'"),
            Self::End => f.write_str("the end of the filter"),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    /// Character position, counting from 1.
    pub(super) pos: usize,
}

fn identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn identifier_part(c: char) -> bool {
    identifier_start(c) || c.is_ascii_digit() || c == '.' || ('\u{300}'..='\u{36f}').contains(&c)
}

// One loop over the characters with one arm per kind of token; split up, the
// arms would only pass `chars` and `i` back and forth.
#[allow(clippy::too_many_lines)]
pub(super) fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let pos = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let tok = match c {
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '=' => {
                i += 1;
                Tok::Op(CompareOp::Eq)
            }
            '<' => match next {
                Some('>') => {
                    i += 2;
                    Tok::Op(CompareOp::Ne)
                }
                Some('=') => {
                    i += 2;
                    Tok::Op(CompareOp::Le)
                }
                _ => {
                    i += 1;
                    Tok::Op(CompareOp::Lt)
                }
            },
            '>' => {
                if next == Some('=') {
                    i += 2;
                    Tok::Op(CompareOp::Ge)
                } else {
                    i += 1;
                    Tok::Op(CompareOp::Gt)
                }
            }
            '!' if next == Some('=') => return error(pos, "'!=' is not CQL2: write <> for 'not equal'"),
            '+' | '-' => {
                i += 1;
                Tok::Sign(c)
            }
            '\'' => {
                let mut s = String::new();
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => {
                            return error(
                                pos,
                                "the string that starts here is not closed with ' (write '' for a quote inside it)",
                            );
                        }
                        Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                            s.push('\'');
                            j += 2;
                        }
                        Some('\'') => break,
                        Some(&ch) => {
                            s.push(ch);
                            j += 1;
                        }
                    }
                }
                i = j + 1;
                // Stored text is NFC; a literal typed or pasted decomposed
                // (macOS, some GIS exports) must still match it.
                Tok::Str(s.nfc().collect())
            }
            '"' => {
                let Some(len) = chars[i + 1..].iter().position(|&ch| ch == '"') else {
                    return error(pos, "the property name that starts here is not closed with \"");
                };
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                i += len + 2;
                Tok::Quoted(name)
            }
            c if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let start = i;
                while chars.get(i).is_some_and(char::is_ascii_digit) {
                    i += 1;
                }
                if chars.get(i) == Some(&'.') {
                    i += 1;
                    while chars.get(i).is_some_and(char::is_ascii_digit) {
                        i += 1;
                    }
                }
                if matches!(chars.get(i), Some('e' | 'E')) {
                    let digits_at = if matches!(chars.get(i + 1), Some('+' | '-')) {
                        i + 2
                    } else {
                        i + 1
                    };
                    if chars.get(digits_at).is_some_and(char::is_ascii_digit) {
                        i = digits_at;
                        while chars.get(i).is_some_and(char::is_ascii_digit) {
                            i += 1;
                        }
                    }
                }
                let text: String = chars[start..i].iter().collect();
                let value: f64 = text.parse().map_err(|_| Cql2Error {
                    position: pos,
                    message: format!("'{}' is not a number", echo(&text)),
                })?;
                if !value.is_finite() {
                    return error(pos, format!("the number {} is out of range", echo(&text)));
                }
                let int = if text.bytes().all(|b| b.is_ascii_digit()) {
                    text.parse::<i64>().ok()
                } else {
                    None
                };
                Tok::Num { value, int, text }
            }
            c if identifier_start(c) => {
                let start = i;
                while chars.get(i).copied().is_some_and(identifier_part) {
                    i += 1;
                }
                Tok::Word(chars[start..i].iter().collect())
            }
            other => {
                i += 1;
                Tok::Other(other)
            }
        };
        tokens.push(Token { tok, pos });
    }
    tokens.push(Token {
        tok: Tok::End,
        pos: chars.len() + 1,
    });
    Ok(tokens)
}
