//! `DATE('…')` and `TIMESTAMP('…')` literals, and timestamps compared with
//! fields that keep whole seconds. The calendar is [`crate::calendar`].

use super::lexer::Tok;
use super::parser::{Bound, Parser};
use super::{Result, echo, error};
use crate::calendar::{Instant, LAST_SECOND, format_timestamp, parse_date, parse_timestamp};
use crate::feature::Value;

impl Parser<'_> {
    /// `DATE('YYYY-MM-DD')` (the keyword consumed).
    pub(super) fn date(&mut self, pos: usize) -> Result<String> {
        let s = self.function_string("DATE", pos)?;
        match parse_date(&s) {
            Some(_) => Ok(s),
            None => error(
                pos,
                format!(
                    "DATE needs a calendar date 'YYYY-MM-DD' (years 0001 to 9999), got '{}'",
                    echo(&s)
                ),
            ),
        }
    }

    /// `TIMESTAMP('YYYY-MM-DDTHH:MM:SS[.fff]Z')` (the keyword consumed).
    pub(super) fn timestamp(&mut self, pos: usize) -> Result<Instant> {
        let s = self.function_string("TIMESTAMP", pos)?;
        parse_timestamp(&s).or_else(|why| error(pos, format!("TIMESTAMP('{}'): {why}", echo(&s))))
    }

    fn function_string(&mut self, name: &str, pos: usize) -> Result<String> {
        self.expect(&Tok::LParen, &format!("after {name}"))?;
        let t = self.next();
        let Tok::Str(s) = t.tok else {
            return error(
                t.pos,
                format!("expected a string in single quotes inside {name}(…), found {}", t.tok),
            );
        };
        self.expect(&Tok::RParen, &format!("to close the {name} at character {pos}"))?;
        Ok(s)
    }
}

/// An instant compared with a timestamp field (stored as whole seconds).
pub(super) fn instant_bound(t: Instant) -> Bound {
    if !t.fraction {
        Bound::Exact(Value::Text(format_timestamp(t.seconds)))
    } else if t.seconds >= LAST_SECOND {
        Bound::AboveAll
    } else {
        Bound::Between(
            Value::Text(format_timestamp(t.seconds)),
            Value::Text(format_timestamp(t.seconds + 1)),
        )
    }
}
