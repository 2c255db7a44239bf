//! CQL2 text (OGC 21-065, the filter language of OGC API – Features – Part 3)
//! read into a [`Filter`] on one layer: a lexer and a recursive-descent
//! parser, with every property name checked against the layer's fields and
//! every literal against the type of the property it is compared with.
//!
//! What is understood:
//!
//! - comparisons `=`, `<>`, `<`, `<=`, `>`, `>=` between a property and a
//!   literal (on either side);
//! - `AND`, `OR` and `NOT`, with parentheses: `OR` binds loosest, then
//!   `AND`, then `NOT`;
//! - `[NOT] LIKE` on text properties: `%` matches any run of characters, `_`
//!   exactly one, `\` makes the next character literal. Matching is
//!   **case-sensitive**, as CQL2 specifies (`CASEI` is not offered), and the
//!   stores agree on it;
//! - `[NOT] IN (…)`, `[NOT] BETWEEN … AND …` (numbers), `IS [NOT] NULL`;
//! - `S_INTERSECTS(geometry, …)` with `BBOX(west, south, east, north)` (six
//!   numbers with heights, ignored; west greater than east crosses the
//!   antimeridian) or a WKT `POINT`, `LINESTRING`, `POLYGON`, `MULTIPOINT`,
//!   `MULTILINESTRING`, `MULTIPOLYGON` or `GEOMETRYCOLLECTION` in CRS84
//!   (longitude latitude; a third ordinate is ignored). The test is exact
//!   intersection of the geometries (touching counts), not of envelopes;
//!   polygons must be valid (closed rings that do not cross themselves);
//! - literals: strings in single quotes (`''` for a quote), numbers, `TRUE`
//!   and `FALSE`, `DATE('2025-03-01')` for date properties and
//!   `TIMESTAMP('2025-03-01T07:00:00Z')` (UTC) for timestamps. A plain
//!   string in the same form is read as the date or timestamp too.
//!
//! Keywords and function names are case-insensitive; property names are not
//! (they may be double-quoted). `geometry` names the features' geometry.
//! Three-valued logic applies: a comparison with a property that has no value
//! is neither true nor false, so `NOT (stars = 5)` leaves out products with no
//! stars, as SQL does.
//!
//! Errors say where (the character, counting from 1) and what was expected.
//! A property the reader may not see is refused with exactly the words used
//! for a property that does not exist.
//!
//! The reader is in four parts: `lexer` cuts the text into tokens,
//! `parser` reads the boolean structure and the predicates on fields, `wkt`
//! reads `S_INTERSECTS` with its `BBOX` and WKT geometries, and `temporal`
//! reads `DATE` and `TIMESTAMP` literals (the calendar itself is
//! [`crate::calendar`]). The `cql2` crate of the STAC ecosystem was weighed
//! against this reader and not taken: docs/ARCHITECTURE.md says why.

mod lexer;
mod parser;
mod temporal;
mod wkt;

use crate::filter::Filter;
use crate::schema::{Audience, LayerDef};
use geo::Coord;
use lexer::{Tok, lex};
use parser::Parser;
use std::fmt;

/// The name of the geometry property in filters and queryables.
pub const GEOMETRY: &str = "geometry";
/// The longest filter read, in characters.
pub const MAX_LENGTH: usize = 100_000;
/// How deeply parentheses, `NOT` and geometry collections may nest.
const MAX_DEPTH: usize = 64;
/// How many predicates and literal values one filter may hold.
const MAX_TERMS: usize = 1_000;

/// Why a filter cannot be read: where (a character position counting from 1)
/// and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cql2Error {
    pub position: usize,
    pub message: String,
}

impl fmt::Display for Cql2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.position, self.message)
    }
}

impl std::error::Error for Cql2Error {}

type Result<T> = std::result::Result<T, Cql2Error>;

fn error<T>(position: usize, message: impl Into<String>) -> Result<T> {
    Err(Cql2Error {
        position,
        message: message.into(),
    })
}

/// How the positions of a filter's geometries are read.
#[derive(Clone, Copy)]
pub enum FilterCrs<'a> {
    /// Longitude, latitude, each checked to lie in its range.
    Crs84,
    /// Positions in another CRS (`name`), each turned into CRS84 by
    /// `to_crs84` (`None` where it cannot be). A `BBOX` is the box in that
    /// CRS, its edges followed closely, in that CRS's axis order.
    Other {
        name: &'a str,
        to_crs84: &'a dyn Fn(Coord<f64>) -> Option<Coord<f64>>,
    },
}

impl fmt::Debug for FilterCrs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crs84 => f.write_str("Crs84"),
            Self::Other { name, .. } => write!(f, "Other({name})"),
        }
    }
}

/// Reads a CQL2 text filter for `layer` as `audience` may use it, its
/// geometries in CRS84.
///
/// # Errors
/// The first problem found, with its position.
pub fn parse(text: &str, layer: &'static LayerDef, audience: Audience) -> Result<Filter> {
    parse_in(text, layer, audience, FilterCrs::Crs84)
}

/// [`parse`] with the filter's geometries in `crs` (Part 3's `filter-crs`),
/// turned into CRS84 as they are read.
///
/// # Errors
/// The first problem found, with its position; a position `crs` cannot
/// turn into CRS84 among them.
pub fn parse_in(text: &str, layer: &'static LayerDef, audience: Audience, crs: FilterCrs<'_>) -> Result<Filter> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return error(
            1,
            format!("the filter is {length} characters long; at most {MAX_LENGTH} are read"),
        );
    }
    let mut parser = Parser::new(lex(text)?, layer, audience, crs);
    if parser.peek().tok == Tok::End {
        return error(1, "the filter is empty");
    }
    let filter = parser.expression()?;
    let next = parser.peek();
    if next.tok != Tok::End {
        let hint = if matches!(next.tok, Tok::RParen) {
            "; this ')' closes no '('"
        } else {
            ""
        };
        return error(
            next.pos,
            format!("expected AND, OR or the end of the filter, found {}{hint}", next.tok),
        );
    }
    Ok(filter)
}

/// The names a filter on `layer` may use, as `audience` may: the geometry
/// first, then the readable fields in schema order.
#[must_use]
pub fn queryables(layer: &LayerDef, audience: Audience) -> Vec<&'static str> {
    std::iter::once(GEOMETRY)
        .chain(layer.readable_fields(audience).map(|(_, f)| f.name))
        .collect()
}

/// A name or value echoed in a message: at most 64 characters.
fn echo(s: &str) -> String {
    crate::echo(s, 64)
}

#[cfg(test)]
mod tests;
