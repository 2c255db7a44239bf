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

use crate::calendar::{days_from_civil, days_in_month, format_timestamp};
use crate::feature::Value;
use crate::filter::{CompareOp, Filter};
use crate::schema::{Audience, FieldDef, FieldType, LayerDef};
use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Rect,
    Validation, coord,
};
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

/// Points along each edge of a `BBOX` given in another CRS.
const BBOX_EDGE_POINTS: u32 = 32;

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
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        layer,
        audience,
        depth: 0,
        terms: 0,
        crs,
    };
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

// ---------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tok {
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
struct Token {
    tok: Tok,
    /// Character position, counting from 1.
    pos: usize,
}

/// A name or value echoed in a message: at most 64 characters.
fn echo(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() > MAX {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    } else {
        s.to_owned()
    }
}

fn identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == ':'
}

fn identifier_part(c: char) -> bool {
    identifier_start(c) || c.is_ascii_digit() || c == '.' || ('\u{300}'..='\u{36f}').contains(&c)
}

fn lex(text: &str) -> Result<Vec<Token>> {
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
                Tok::Str(s)
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

// ---------------------------------------------------------------------------
// Parser

/// What a name in a filter refers to.
#[derive(Debug, Clone, Copy)]
enum Prop {
    Field(&'static FieldDef),
    Geometry,
}

/// A literal as written, before it meets a property.
#[derive(Debug, Clone)]
enum Lit {
    Str(String),
    Num {
        value: f64,
        int: Option<i64>,
        text: String,
    },
    Bool(bool),
    /// `YYYY-MM-DD`.
    Date(String),
    Timestamp(Instant),
    Geometry(Geometry<f64>),
}

impl fmt::Display for Lit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => write!(f, "the string '{}'", echo(s)),
            Self::Num { text, .. } => write!(f, "the number {}", echo(text)),
            Self::Bool(b) => f.write_str(if *b { "TRUE" } else { "FALSE" }),
            Self::Date(d) => write!(f, "DATE('{d}')"),
            Self::Timestamp(t) => write!(f, "TIMESTAMP('{}')", format_timestamp(t.seconds)),
            Self::Geometry(_) => f.write_str("a geometry"),
        }
    }
}

/// A UTC instant: whole seconds since 1970, and whether a fraction of a
/// second follows (stored times are whole seconds).
#[derive(Debug, Clone, Copy)]
struct Instant {
    seconds: i64,
    fraction: bool,
}

enum Operand {
    Prop(Prop, usize),
    Lit(Lit, usize),
}

/// A literal as a value of a field's type. Integers and timestamps are
/// discrete: a literal between two of their values, or beyond every one,
/// still compares exactly.
enum Bound {
    Exact(Value),
    /// Strictly between these two consecutive values.
    Between(Value, Value),
    BelowAll,
    AboveAll,
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    layer: &'static LayerDef,
    audience: Audience,
    depth: usize,
    terms: usize,
    crs: FilterCrs<'a>,
}

fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

const RESERVED: &[&str] = &["AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL"];
const GEOMETRY_TYPES: &[&str] = &[
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
];

/// A spatial literal keyword (`BBOX` or a WKT type), in upper case.
fn spatial_keyword(word: &str) -> Option<&'static str> {
    std::iter::once("BBOX")
        .chain(GEOMETRY_TYPES.iter().copied())
        .find(|k| is_keyword(word, k))
}

fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "a text",
        FieldType::Integer => "a whole-number",
        FieldType::Real => "a number",
        FieldType::Boolean => "a boolean",
        FieldType::Date => "a date",
        FieldType::DateTime => "a timestamp",
    }
}

fn literal_hint(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "a string in single quotes",
        FieldType::Integer | FieldType::Real => "a number",
        FieldType::Boolean => "TRUE or FALSE",
        FieldType::Date => "DATE('YYYY-MM-DD')",
        FieldType::DateTime => "TIMESTAMP('YYYY-MM-DDTHH:MM:SSZ')",
    }
}

fn flip(op: CompareOp) -> CompareOp {
    match op {
        CompareOp::Lt => CompareOp::Gt,
        CompareOp::Le => CompareOp::Ge,
        CompareOp::Gt => CompareOp::Lt,
        CompareOp::Ge => CompareOp::Le,
        same => same,
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.at + ahead).min(self.tokens.len() - 1)].tok
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    /// Consumes the keyword if it comes next.
    fn keyword(&mut self, keyword: &str) -> bool {
        if matches!(&self.peek().tok, Tok::Word(w) if is_keyword(w, keyword)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<usize> {
        let t = self.next();
        if &t.tok == tok {
            Ok(t.pos)
        } else {
            error(t.pos, format!("expected {tok} {what}, found {}", t.tok))
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return error(
                self.peek().pos,
                format!("the filter nests more than {MAX_DEPTH} levels deep"),
            );
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Counts one predicate or value against the limit.
    fn term(&mut self, pos: usize) -> Result<()> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return error(
                pos,
                format!("the filter has more than {MAX_TERMS} conditions and values"),
            );
        }
        Ok(())
    }

    /// `a OR b OR …`
    fn expression(&mut self) -> Result<Filter> {
        self.enter()?;
        let mut parts = vec![self.conjunction()?];
        while self.keyword("OR") {
            parts.push(self.conjunction()?);
        }
        self.leave();
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Filter::And(vec![]))
        } else {
            Filter::Or(parts)
        })
    }

    /// `a AND b AND …`
    fn conjunction(&mut self) -> Result<Filter> {
        let mut parts = vec![self.negation()?];
        while self.keyword("AND") {
            parts.push(self.negation()?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(Filter::And(vec![]))
        } else {
            Filter::And(parts)
        })
    }

    /// `NOT a` or a primary.
    fn negation(&mut self) -> Result<Filter> {
        if self.keyword("NOT") {
            self.enter()?;
            let inner = self.negation()?;
            self.leave();
            return Ok(Filter::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Filter> {
        let t = self.peek().clone();
        match &t.tok {
            Tok::LParen => {
                self.next();
                let inner = self.expression()?;
                self.expect(&Tok::RParen, &format!("to close the '(' at character {}", t.pos))?;
                Ok(inner)
            }
            Tok::Word(w) if self.peek_at(1) == &Tok::LParen => {
                let upper = w.to_ascii_uppercase();
                match upper.as_str() {
                    "S_INTERSECTS" => self.spatial(t.pos),
                    "DATE" | "TIMESTAMP" => self.predicate(),
                    _ if spatial_keyword(w).is_some() => self.predicate(),
                    _ => Err(self.unsupported_function(w, t.pos)),
                }
            }
            _ => self.predicate(),
        }
    }

    fn unsupported_function(&self, name: &str, pos: usize) -> Cql2Error {
        let upper = name.to_ascii_uppercase();
        let message = if upper.starts_with("S_") {
            format!("the spatial function {} is not supported; S_INTERSECTS is", echo(name))
        } else if upper.starts_with("T_") || upper == "INTERVAL" {
            format!(
                "{} is not supported: temporal functions are not offered; compare dates and timestamps with =, <, >, <= or >=",
                echo(name)
            )
        } else if upper.starts_with("A_") {
            format!("{} is not supported: array functions are not offered", echo(name))
        } else if upper == "CASEI" || upper == "ACCENTI" {
            format!("{upper} is not supported: comparisons and LIKE are case- and accent-sensitive here")
        } else {
            format!(
                "'{}(…)' is not a function this server knows; it knows S_INTERSECTS, DATE, TIMESTAMP, BBOX and the WKT geometry types",
                echo(name)
            )
        };
        Cql2Error { position: pos, message }
    }

    /// A property name, checked against the layer.
    fn resolve(&self, name: &str, pos: usize) -> Result<Prop> {
        if name == GEOMETRY {
            return Ok(Prop::Geometry);
        }
        match self.layer.field(name) {
            Some(f) if self.audience.may_read(f.access) => Ok(Prop::Field(f)),
            // A field the reader may not see gets the very words of a missing one.
            _ => error(
                pos,
                format!(
                    "collection '{}' has no queryable '{}'; its queryables are: {}",
                    self.layer.id,
                    echo(name),
                    queryables(self.layer, self.audience).join(", ")
                ),
            ),
        }
    }

    /// A property or a literal.
    fn operand(&mut self) -> Result<Operand> {
        let t = self.next();
        let pos = t.pos;
        match t.tok {
            Tok::Quoted(name) => Ok(Operand::Prop(self.resolve(&name, pos)?, pos)),
            Tok::Str(s) => Ok(Operand::Lit(Lit::Str(s), pos)),
            Tok::Num { value, int, text } => Ok(Operand::Lit(Lit::Num { value, int, text }, pos)),
            Tok::Sign(sign) => {
                let n = self.next();
                match n.tok {
                    Tok::Num { value, int, text } => Ok(Operand::Lit(signed(sign, value, int, &text), pos)),
                    other => error(n.pos, format!("expected a number after '{sign}', found {other}")),
                }
            }
            Tok::Word(w) => {
                if is_keyword(&w, "TRUE") || is_keyword(&w, "FALSE") {
                    return Ok(Operand::Lit(Lit::Bool(is_keyword(&w, "TRUE")), pos));
                }
                if self.peek().tok == Tok::LParen {
                    if is_keyword(&w, "DATE") {
                        return self.date(pos).map(|d| Operand::Lit(Lit::Date(d), pos));
                    }
                    if is_keyword(&w, "TIMESTAMP") {
                        return self.timestamp(pos).map(|t| Operand::Lit(Lit::Timestamp(t), pos));
                    }
                }
                if let Some(kind) = spatial_keyword(&w) {
                    return self
                        .spatial_literal(kind, pos)
                        .map(|g| Operand::Lit(Lit::Geometry(g), pos));
                }
                if is_keyword(&w, "NULL") {
                    return error(
                        pos,
                        "NULL is not a value to compare with: test for it with IS NULL or IS NOT NULL",
                    );
                }
                if RESERVED.iter().any(|k| is_keyword(&w, k)) {
                    return error(pos, format!("expected a property or a value, found '{w}'"));
                }
                if self.peek().tok == Tok::LParen {
                    return Err(self.unsupported_function(&w, pos));
                }
                Ok(Operand::Prop(self.resolve(&w, pos)?, pos))
            }
            other => error(pos, format!("expected a property or a value, found {other}")),
        }
    }

    /// A predicate that starts with an operand: a comparison, LIKE, BETWEEN,
    /// IN or IS NULL; or a lone TRUE or FALSE.
    fn predicate(&mut self) -> Result<Filter> {
        let start = self.peek().pos;
        self.term(start)?;
        let left = self.operand()?;
        if let Operand::Lit(Lit::Bool(b), _) = left {
            let continues = match &self.peek().tok {
                Tok::Op(_) => true,
                Tok::Word(w) => ["NOT", "LIKE", "IN", "BETWEEN", "IS"].iter().any(|k| is_keyword(w, k)),
                _ => false,
            };
            if !continues {
                return Ok(if b { Filter::And(vec![]) } else { Filter::Or(vec![]) });
            }
        }
        let t = self.next();
        match t.tok {
            Tok::Op(op) => {
                let right = self.operand()?;
                self.comparison(left, op, right, t.pos)
            }
            Tok::Word(w) if is_keyword(&w, "IS") => {
                let negated = self.keyword("NOT");
                let null = self.next();
                if !matches!(&null.tok, Tok::Word(n) if is_keyword(n, "NULL")) {
                    return error(
                        null.pos,
                        format!(
                            "expected NULL after IS{}, found {}",
                            if negated { " NOT" } else { "" },
                            null.tok
                        ),
                    );
                }
                let field = self.field_operand(left, "IS NULL")?;
                let test = Filter::IsNull {
                    field: field.name.to_owned(),
                };
                Ok(if negated { Filter::Not(Box::new(test)) } else { test })
            }
            Tok::Word(w) if is_keyword(&w, "NOT") => {
                let op = self.next();
                let filter = match &op.tok {
                    Tok::Word(k) if is_keyword(k, "LIKE") => self.like(left)?,
                    Tok::Word(k) if is_keyword(k, "IN") => self.in_list(left)?,
                    Tok::Word(k) if is_keyword(k, "BETWEEN") => self.between(left)?,
                    other => {
                        return error(op.pos, format!("expected LIKE, IN or BETWEEN after NOT, found {other}"));
                    }
                };
                Ok(Filter::Not(Box::new(filter)))
            }
            Tok::Word(w) if is_keyword(&w, "LIKE") => self.like(left),
            Tok::Word(w) if is_keyword(&w, "IN") => self.in_list(left),
            Tok::Word(w) if is_keyword(&w, "BETWEEN") => self.between(left),
            Tok::Sign(_) | Tok::Other('*' | '/' | '^' | '%') => error(
                t.pos,
                format!(
                    "{} is arithmetic, which is not supported: compare a property with a value",
                    t.tok
                ),
            ),
            other => {
                let after = match &left {
                    Operand::Prop(Prop::Field(f), _) => format!("'{}'", f.name),
                    Operand::Prop(Prop::Geometry, _) => format!("'{GEOMETRY}'"),
                    Operand::Lit(l, _) => l.to_string(),
                };
                error(
                    t.pos,
                    format!(
                        "expected a comparison (=, <>, <, <=, >, >=), LIKE, IN, BETWEEN or IS [NOT] NULL after {after}, found {other}"
                    ),
                )
            }
        }
    }

    /// The field an operand names, for an operator that needs a field on its left.
    fn field_operand(&self, operand: Operand, operator: &str) -> Result<&'static FieldDef> {
        match operand {
            Operand::Prop(Prop::Field(f), _) => Ok(f),
            Operand::Prop(Prop::Geometry, pos) => error(
                pos,
                format!("{operator} does not apply to the geometry; S_INTERSECTS does"),
            ),
            Operand::Lit(l, pos) => error(pos, format!("{operator} needs a property on its left, not {l}")),
        }
    }

    fn comparison(&mut self, left: Operand, op: CompareOp, right: Operand, op_pos: usize) -> Result<Filter> {
        let (field, literal, lit_pos, op) = match (left, right) {
            (Operand::Prop(Prop::Geometry, pos), _) | (_, Operand::Prop(Prop::Geometry, pos)) => {
                return error(
                    pos,
                    "the geometry cannot be compared with =, <, >: use S_INTERSECTS(geometry, …)",
                );
            }
            (Operand::Prop(Prop::Field(f), _), Operand::Lit(l, p)) => (f, l, p, op),
            (Operand::Lit(l, p), Operand::Prop(Prop::Field(f), _)) => (f, l, p, flip(op)),
            (Operand::Prop(..), Operand::Prop(..)) => {
                return error(
                    op_pos,
                    "comparing two properties is not supported: compare a property with a value",
                );
            }
            (Operand::Lit(..), Operand::Lit(..)) => {
                return error(op_pos, "a comparison needs a property on one side");
            }
        };
        if field.ty == FieldType::Boolean && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return error(
                op_pos,
                format!("'{}' is a boolean: it compares with = and <> only", field.name),
            );
        }
        let bound = self.bound(field, literal, lit_pos)?;
        Ok(compare(field, op, bound))
    }

    /// A literal as a value of the field's type.
    fn bound(&mut self, field: &'static FieldDef, literal: Lit, pos: usize) -> Result<Bound> {
        self.term(pos)?;
        let mismatch = |literal: &Lit| {
            error(
                pos,
                format!(
                    "'{}' is {} property: compare it with {}, not {literal}",
                    field.name,
                    type_name(field.ty),
                    literal_hint(field.ty)
                ),
            )
        };
        Ok(match (field.ty, literal) {
            (FieldType::Text, Lit::Str(s)) => Bound::Exact(Value::Text(s)),
            (FieldType::Integer, Lit::Num { value, int, .. }) => {
                int.map_or_else(|| integer_bound(value), |i| Bound::Exact(Value::Int(i)))
            }
            (FieldType::Real, Lit::Num { value, .. }) => Bound::Exact(Value::Real(value)),
            (FieldType::Boolean, Lit::Bool(b)) => Bound::Exact(Value::Bool(b)),
            (FieldType::Date, Lit::Date(d)) => Bound::Exact(Value::Text(d)),
            (FieldType::Date, Lit::Str(s)) if parse_date(&s).is_some() => Bound::Exact(Value::Text(s)),
            (FieldType::DateTime, Lit::Timestamp(t)) => instant_bound(t),
            (FieldType::DateTime, Lit::Str(s)) => match parse_timestamp(&s) {
                Ok(t) => instant_bound(t),
                Err(_) => return mismatch(&Lit::Str(s)),
            },
            (_, literal) => return mismatch(&literal),
        })
    }

    /// `… [NOT] LIKE 'pattern'` (the `LIKE` consumed).
    fn like(&mut self, left: Operand) -> Result<Filter> {
        let field = self.field_operand(left, "LIKE")?;
        if field.ty != FieldType::Text {
            return error(
                self.peek().pos,
                format!(
                    "LIKE applies to text properties; '{}' is {} property",
                    field.name,
                    type_name(field.ty)
                ),
            );
        }
        let t = self.next();
        match t.tok {
            Tok::Str(pattern) => {
                check_pattern(&pattern, t.pos)?;
                self.term(t.pos)?;
                Ok(Filter::Like {
                    field: field.name.to_owned(),
                    pattern,
                })
            }
            Tok::Word(w) if self.peek().tok == Tok::LParen => Err(self.unsupported_function(&w, t.pos)),
            other => error(
                t.pos,
                format!("expected a pattern in single quotes after LIKE, found {other}"),
            ),
        }
    }

    /// `… [NOT] IN (a, b, …)` (the `IN` consumed).
    fn in_list(&mut self, left: Operand) -> Result<Filter> {
        let field = self.field_operand(left, "IN")?;
        let open = self.expect(&Tok::LParen, "to start the list after IN")?;
        if self.peek().tok == Tok::RParen {
            return error(self.peek().pos, "IN needs at least one value in its list");
        }
        let mut values = Vec::new();
        let mut never = None;
        loop {
            let at = self.peek().pos;
            let literal = match self.operand()? {
                Operand::Lit(l, _) => l,
                Operand::Prop(..) => return error(at, "IN takes a list of values, not properties"),
            };
            match self.bound(field, literal, at)? {
                Bound::Exact(v) => values.push(v),
                // Between two stored values, or beyond them all: never equal.
                other => never = never.or(Some(compare(field, CompareOp::Eq, other))),
            }
            let t = self.next();
            match t.tok {
                Tok::Comma => {}
                Tok::RParen => break,
                other => {
                    return error(
                        t.pos,
                        format!("expected ',' or ')' in the IN list that starts at character {open}, found {other}"),
                    );
                }
            }
        }
        Ok(match (values.is_empty(), never) {
            (true, Some(never)) => never,
            _ => Filter::In {
                field: field.name.to_owned(),
                values,
            },
        })
    }

    /// `… [NOT] BETWEEN low AND high` (the `BETWEEN` consumed).
    fn between(&mut self, left: Operand) -> Result<Filter> {
        let field = self.field_operand(left, "BETWEEN")?;
        if !matches!(field.ty, FieldType::Integer | FieldType::Real) {
            return error(
                self.peek().pos,
                format!(
                    "BETWEEN compares numbers; '{0}' is {1} property: write {0} >= … AND {0} <= …",
                    field.name,
                    type_name(field.ty)
                ),
            );
        }
        let low = self.between_bound(field)?;
        let and = self.next();
        if !matches!(&and.tok, Tok::Word(w) if is_keyword(w, "AND")) {
            return error(
                and.pos,
                format!("expected AND between the two bounds of BETWEEN, found {}", and.tok),
            );
        }
        let high = self.between_bound(field)?;
        Ok(match (low, high) {
            (Bound::Exact(low), Bound::Exact(high)) => Filter::Between {
                field: field.name.to_owned(),
                low,
                high,
            },
            (low, high) => Filter::And(vec![
                compare(field, CompareOp::Ge, low),
                compare(field, CompareOp::Le, high),
            ]),
        })
    }

    fn between_bound(&mut self, field: &'static FieldDef) -> Result<Bound> {
        let at = self.peek().pos;
        match self.operand()? {
            Operand::Lit(l, pos) => self.bound(field, l, pos),
            Operand::Prop(..) => error(at, "BETWEEN takes numbers as its bounds, not properties"),
        }
    }

    /// `DATE('YYYY-MM-DD')` (the keyword consumed).
    fn date(&mut self, pos: usize) -> Result<String> {
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
    fn timestamp(&mut self, pos: usize) -> Result<Instant> {
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

    /// `S_INTERSECTS(a, b)` (the name not yet consumed).
    fn spatial(&mut self, pos: usize) -> Result<Filter> {
        self.term(pos)?;
        self.next();
        self.expect(&Tok::LParen, "after S_INTERSECTS")?;
        let first = self.spatial_operand()?;
        self.expect(&Tok::Comma, "between the two arguments of S_INTERSECTS")?;
        let second = self.spatial_operand()?;
        self.expect(&Tok::RParen, &format!("to close the S_INTERSECTS at character {pos}"))?;
        match (first, second) {
            (Operand::Prop(..), Operand::Lit(Lit::Geometry(g), _))
            | (Operand::Lit(Lit::Geometry(g), _), Operand::Prop(..)) => Ok(Filter::IntersectsGeometry(g)),
            (Operand::Prop(..), Operand::Prop(..)) => error(
                pos,
                "S_INTERSECTS needs a geometry (BBOX(…) or WKT) as one of its arguments",
            ),
            _ => error(
                pos,
                format!("S_INTERSECTS needs the property '{GEOMETRY}' as one of its arguments"),
            ),
        }
    }

    /// The geometry property or a spatial literal.
    fn spatial_operand(&mut self) -> Result<Operand> {
        let t = self.peek().clone();
        let name = match &t.tok {
            Tok::Word(w) if spatial_keyword(w).is_some() => {
                let kind = spatial_keyword(w).unwrap_or("BBOX");
                self.next();
                return self
                    .spatial_literal(kind, t.pos)
                    .map(|g| Operand::Lit(Lit::Geometry(g), t.pos));
            }
            Tok::Word(w) | Tok::Quoted(w) => w.clone(),
            other => {
                return error(
                    t.pos,
                    format!("expected '{GEOMETRY}', BBOX(…) or a WKT geometry, found {other}"),
                );
            }
        };
        self.next();
        match self.resolve(&name, t.pos)? {
            Prop::Geometry => Ok(Operand::Prop(Prop::Geometry, t.pos)),
            Prop::Field(f) => error(
                t.pos,
                format!(
                    "'{}' is not a geometry: S_INTERSECTS takes '{GEOMETRY}' and a geometry",
                    f.name
                ),
            ),
        }
    }

    /// A BBOX or WKT literal (its keyword consumed).
    fn spatial_literal(&mut self, kind: &str, pos: usize) -> Result<Geometry<f64>> {
        self.enter()?;
        let geometry = if kind == "BBOX" {
            self.bbox(pos)?
        } else {
            // `POINT Z (…)`: the third ordinate is read and dropped.
            if let Tok::Word(w) = &self.peek().tok {
                if is_keyword(w, "Z") {
                    self.next();
                } else if is_keyword(w, "M") || is_keyword(w, "ZM") || is_keyword(w, "EMPTY") {
                    let w = w.to_ascii_uppercase();
                    return error(self.peek().pos, format!("{kind} {w} is not supported"));
                }
            }
            let g = match kind {
                "POINT" => Geometry::Point(Point(self.point_text()?)),
                "LINESTRING" => Geometry::LineString(self.line_text(2, false)?),
                "POLYGON" => Geometry::Polygon(self.polygon_text()?),
                "MULTIPOINT" => Geometry::MultiPoint(self.multi_point_text()?),
                "MULTILINESTRING" => Geometry::MultiLineString(MultiLineString(self.list(|p| p.line_text(2, false))?)),
                "MULTIPOLYGON" => Geometry::MultiPolygon(MultiPolygon(self.list(Self::polygon_text)?)),
                _ => Geometry::GeometryCollection(GeometryCollection(self.list(|p| {
                    let t = p.next();
                    match &t.tok {
                        Tok::Word(w) if spatial_keyword(w).is_some_and(|k| k != "BBOX") => {
                            p.spatial_literal(spatial_keyword(w).unwrap_or("POINT"), t.pos)
                        }
                        other => error(
                            t.pos,
                            format!("expected a WKT geometry in the collection, found {other}"),
                        ),
                    }
                })?)),
            };
            if let Some(why) = g.validation_errors().first() {
                return error(pos, format!("the {kind} is not a valid geometry: {why}"));
            }
            g
        };
        self.leave();
        Ok(geometry)
    }

    /// `(item, item, …)` with at least one item.
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let open = self.expect(&Tok::LParen, "to start the list of parts")?;
        let mut items = vec![item(self)?];
        loop {
            let t = self.next();
            match t.tok {
                Tok::Comma => items.push(item(self)?),
                Tok::RParen => return Ok(items),
                other => {
                    return error(
                        t.pos,
                        format!("expected ',' or ')' in the list that starts at character {open}, found {other}"),
                    );
                }
            }
        }
    }

    fn number(&mut self, what: &str) -> Result<(f64, usize)> {
        let t = self.next();
        match t.tok {
            Tok::Num { value, .. } => Ok((value, t.pos)),
            Tok::Sign(sign) => {
                let n = self.next();
                match n.tok {
                    Tok::Num { value, .. } => Ok((if sign == '-' { -value } else { value }, t.pos)),
                    other => error(n.pos, format!("expected a number after '{sign}', found {other}")),
                }
            }
            other => error(t.pos, format!("expected {what}, found {other}")),
        }
    }

    /// `x y [z]`: checked to lie in CRS84, or turned into CRS84.
    fn coordinate(&mut self) -> Result<Coord<f64>> {
        let (first, second) = match self.crs {
            FilterCrs::Crs84 => ("a longitude", "a latitude after the longitude"),
            FilterCrs::Other { .. } => ("a coordinate", "a second coordinate"),
        };
        let (x, x_pos) = self.number(first)?;
        let (y, y_pos) = self.number(second)?;
        if matches!(self.peek().tok, Tok::Num { .. } | Tok::Sign(_)) {
            self.number("a height")?;
        }
        self.to_crs84(coord! { x: x, y: y }, x_pos, y_pos)
    }

    /// A position of the filter as CRS84.
    fn to_crs84(&self, c: Coord<f64>, x_pos: usize, y_pos: usize) -> Result<Coord<f64>> {
        match self.crs {
            FilterCrs::Crs84 => {
                check_longitude(c.x, x_pos)?;
                check_latitude(c.y, y_pos)?;
                Ok(c)
            }
            FilterCrs::Other { name, to_crs84 } => to_crs84(c).map_or_else(
                || {
                    error(
                        x_pos,
                        format!("the position ({} {}) lies outside what {name} covers", c.x, c.y),
                    )
                },
                Ok,
            ),
        }
    }

    /// `(x y)`
    fn point_text(&mut self) -> Result<Coord<f64>> {
        let open = self.expect(&Tok::LParen, "to start the point's coordinates")?;
        let c = self.coordinate()?;
        self.expect(&Tok::RParen, &format!("to close the point at character {open}"))?;
        Ok(c)
    }

    /// `(x y, x y, …)`: at least `min` positions, closed when `ring`.
    fn line_text(&mut self, min: usize, ring: bool) -> Result<LineString<f64>> {
        let open = self.peek().pos;
        let coords = self.list(Self::coordinate)?;
        if coords.len() < min {
            let what = if ring { "a polygon ring" } else { "a line" };
            return error(
                open,
                format!("{what} needs at least {min} positions, got {}", coords.len()),
            );
        }
        if ring && coords.first() != coords.last() {
            return error(open, "a polygon ring must end where it starts");
        }
        Ok(LineString(coords))
    }

    /// `((ring), (hole), …)`
    fn polygon_text(&mut self) -> Result<Polygon<f64>> {
        let mut rings = self.list(|p| p.line_text(4, true))?.into_iter();
        let exterior = rings.next().unwrap_or_else(|| LineString(vec![]));
        Ok(Polygon::new(exterior, rings.collect()))
    }

    /// `((x y), (x y))` or `(x y, x y)`.
    fn multi_point_text(&mut self) -> Result<MultiPoint<f64>> {
        let points = self.list(|p| {
            if p.peek().tok == Tok::LParen {
                p.point_text()
            } else {
                p.coordinate()
            }
        })?;
        Ok(MultiPoint(points.into_iter().map(Point).collect()))
    }

    /// `(west, south, east, north)` or with heights `(west, south, min, east, north, max)`.
    fn bbox(&mut self, pos: usize) -> Result<Geometry<f64>> {
        let open = self.expect(&Tok::LParen, "after BBOX")?;
        let mut numbers = vec![self.number("a number")?];
        loop {
            let t = self.next();
            match t.tok {
                Tok::Comma => numbers.push(self.number("a number")?),
                Tok::RParen => break,
                other => {
                    return error(
                        t.pos,
                        format!("expected ',' or ')' in the BBOX that starts at character {open}, found {other}"),
                    );
                }
            }
        }
        let [west, south, east, north] = match numbers.as_slice() {
            [w, s, e, n] | [w, s, _, e, n, _] => [*w, *s, *e, *n],
            other => {
                return error(
                    pos,
                    format!(
                        "BBOX takes four numbers (west, south, east, north) or six with heights, got {}",
                        other.len()
                    ),
                );
            }
        };
        if let FilterCrs::Other { .. } = self.crs {
            return self.bbox_in_other_crs([west, south, east, north]);
        }
        for (x, at) in [west, east] {
            check_longitude(x, at)?;
        }
        for (y, at) in [south, north] {
            check_latitude(y, at)?;
        }
        if south.0 > north.0 {
            return error(
                south.1,
                format!("the BBOX's south ({}) is north of its north ({})", south.0, north.0),
            );
        }
        let rect = |w: f64, e: f64| Rect::new(coord! { x: w, y: south.0 }, coord! { x: e, y: north.0 }).to_polygon();
        Ok(if west.0 <= east.0 {
            Geometry::Polygon(rect(west.0, east.0))
        } else {
            // West of east: the box crosses the antimeridian.
            Geometry::MultiPolygon(MultiPolygon(vec![rect(west.0, 180.0), rect(-180.0, east.0)]))
        })
    }
}

impl Parser<'_> {
    /// A `BBOX` in another CRS (lower corner, upper corner, in its axis
    /// order) as the CRS84 polygon through points along its edges.
    fn bbox_in_other_crs(&self, [x0, y0, x1, y1]: [(f64, usize); 4]) -> Result<Geometry<f64>> {
        if x0.0 > x1.0 || y0.0 > y1.0 {
            return error(x0.1, "the BBOX's lower corner must come first");
        }
        let along =
            |a: (f64, usize), b: (f64, usize), t: u32| a.0 + (b.0 - a.0) * f64::from(t) / f64::from(BBOX_EDGE_POINTS);
        let mut ring = Vec::with_capacity(4 * BBOX_EDGE_POINTS as usize + 1);
        for t in 0..BBOX_EDGE_POINTS {
            ring.push(coord! { x: along(x0, x1, t), y: y0.0 });
        }
        for t in 0..BBOX_EDGE_POINTS {
            ring.push(coord! { x: x1.0, y: along(y0, y1, t) });
        }
        for t in 0..BBOX_EDGE_POINTS {
            ring.push(coord! { x: along(x1, x0, t), y: y1.0 });
        }
        for t in 0..BBOX_EDGE_POINTS {
            ring.push(coord! { x: x0.0, y: along(y1, y0, t) });
        }
        let ring = ring
            .into_iter()
            .map(|c| self.to_crs84(c, x0.1, y0.1))
            .collect::<Result<Vec<_>>>()?;
        Ok(Geometry::Polygon(Polygon::new(LineString::from(ring), vec![])))
    }
}

fn signed(sign: char, value: f64, int: Option<i64>, text: &str) -> Lit {
    if sign == '-' {
        Lit::Num {
            value: -value,
            int: int.and_then(i64::checked_neg),
            text: format!("-{text}"),
        }
    } else {
        Lit::Num {
            value,
            int,
            text: text.to_owned(),
        }
    }
}

fn check_longitude(x: f64, pos: usize) -> Result<()> {
    if (-180.0..=180.0).contains(&x) {
        Ok(())
    } else {
        error(
            pos,
            format!("longitude {x} is outside -180 to 180 (coordinates are CRS84: longitude then latitude)"),
        )
    }
}

fn check_latitude(y: f64, pos: usize) -> Result<()> {
    if (-90.0..=90.0).contains(&y) {
        Ok(())
    } else {
        error(
            pos,
            format!("latitude {y} is outside -90 to 90 (coordinates are CRS84: longitude then latitude)"),
        )
    }
}

/// A LIKE pattern may not end with its escape character.
fn check_pattern(pattern: &str, pos: usize) -> Result<()> {
    let mut escaped = false;
    for c in pattern.chars() {
        escaped = !escaped && c == '\\';
    }
    if escaped {
        return error(
            pos,
            "the pattern ends with the escape character \\; write \\\\ for a backslash",
        );
    }
    Ok(())
}

/// The filter selecting `field op bound`, true, false or unknown exactly as
/// the comparison with the literal would be.
fn compare(field: &FieldDef, op: CompareOp, bound: Bound) -> Filter {
    let cmp = |op, value| Filter::Compare {
        field: field.name.to_owned(),
        op,
        value,
    };
    // Unknown for a missing value, false (never) or true (always) otherwise.
    let lowest = match field.ty {
        FieldType::DateTime => Value::Text(format_timestamp(FIRST_SECOND)),
        _ => Value::Int(i64::MIN),
    };
    let never = || cmp(CompareOp::Lt, lowest.clone());
    let always = || cmp(CompareOp::Ge, lowest.clone());
    match (bound, op) {
        (Bound::Exact(v), op) => cmp(op, v),
        (Bound::Between(below, above), CompareOp::Eq) => {
            Filter::And(vec![cmp(CompareOp::Gt, below), cmp(CompareOp::Lt, above)])
        }
        (Bound::Between(below, above), CompareOp::Ne) => {
            Filter::Or(vec![cmp(CompareOp::Le, below), cmp(CompareOp::Ge, above)])
        }
        (Bound::Between(below, _), CompareOp::Lt | CompareOp::Le) => cmp(CompareOp::Le, below),
        (Bound::Between(_, above), CompareOp::Gt | CompareOp::Ge) => cmp(CompareOp::Ge, above),
        (Bound::BelowAll, CompareOp::Eq | CompareOp::Lt | CompareOp::Le)
        | (Bound::AboveAll, CompareOp::Eq | CompareOp::Gt | CompareOp::Ge) => never(),
        (Bound::BelowAll | Bound::AboveAll, _) => always(),
    }
}

/// A number compared with a whole-number field.
fn integer_bound(value: f64) -> Bound {
    // i64::MIN and 2^63, both exact in f64.
    const LOW: f64 = -9_223_372_036_854_775_808.0;
    const HIGH: f64 = 9_223_372_036_854_775_808.0;
    if value < LOW {
        Bound::BelowAll
    } else if value >= HIGH {
        Bound::AboveAll
    } else {
        #[expect(clippy::cast_possible_truncation, reason = "in range and whole after floor/ceil")]
        let (floor, ceil) = (value.floor() as i64, value.ceil() as i64);
        if floor == ceil {
            Bound::Exact(Value::Int(floor))
        } else {
            Bound::Between(Value::Int(floor), Value::Int(ceil))
        }
    }
}

/// An instant compared with a timestamp field (stored as whole seconds).
fn instant_bound(t: Instant) -> Bound {
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

// ---------------------------------------------------------------------------
// Dates and times (proleptic Gregorian, UTC, years 1 to 9999)

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since 1970.
const FIRST_SECOND: i64 = -62_135_596_800;
const LAST_SECOND: i64 = 253_402_300_799;

/// The days since 1970-01-01 of a `YYYY-MM-DD` date.
fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn parse_timestamp(s: &str) -> std::result::Result<Instant, String> {
    let b = s.as_bytes();
    let form = "expected a UTC timestamp 'YYYY-MM-DDTHH:MM:SSZ' (a fraction of a second may follow the seconds)";
    let days = b
        .get(..10)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(parse_date)
        .ok_or_else(|| form.to_owned())?;
    if b.len() < 20 || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return Err(form.to_owned());
    }
    let (hour, minute, second) = match (digits(&b[11..13]), digits(&b[14..16]), digits(&b[17..19])) {
        (Some(h), Some(m), Some(s)) => (h, m, s),
        _ => return Err(form.to_owned()),
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err("that is not a time of day (hours 00–23, minutes and seconds 00–59)".to_owned());
    }
    let mut rest = &b[19..];
    let mut fraction = false;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(form.to_owned());
        }
        fraction = rest[1..=n].iter().any(|d| *d != b'0');
        rest = &rest[1 + n..];
    }
    if !matches!(rest, [b'Z' | b'z']) {
        return Err("a TIMESTAMP is in UTC and ends with Z".to_owned());
    }
    Ok(Instant {
        seconds: days * 86_400 + hour * 3600 + minute * 60 + second,
        fraction,
    })
}

/// Whether `s` is a date as both stores compare it: `YYYY-MM-DD`.
pub(crate) fn is_date(s: &str) -> bool {
    parse_date(s).is_some()
}

/// Whether `s` is a timestamp as both stores compare it: `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_ok_and(|t| !t.fraction && format_timestamp(t.seconds) == s)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter()
        .try_fold(0_i64, |n, d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{catalog, layer};

    fn ocop() -> &'static LayerDef {
        layer("ocop").expect("ocop")
    }

    fn ok(text: &str) -> Filter {
        parse(text, ocop(), Audience::Public).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn bad(layer_id: &str, text: &str) -> Cql2Error {
        match parse(text, layer(layer_id).expect("layer"), Audience::Public) {
            Ok(f) => panic!("{text} was accepted as {f:?}"),
            Err(e) => e,
        }
    }

    fn cmp(field: &str, op: CompareOp, value: impl Into<Value>) -> Filter {
        Filter::Compare {
            field: field.into(),
            op,
            value: value.into(),
        }
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(
            ok("stars = 5 OR stars = 3 AND NOT category = 'food'"),
            Filter::Or(vec![
                cmp("stars", CompareOp::Eq, 5),
                Filter::And(vec![
                    cmp("stars", CompareOp::Eq, 3),
                    Filter::Not(Box::new(cmp("category", CompareOp::Eq, "food"))),
                ]),
            ])
        );
        assert_eq!(
            ok("(stars = 5 or stars = 3) and not (category = 'food')"),
            Filter::And(vec![
                Filter::Or(vec![cmp("stars", CompareOp::Eq, 5), cmp("stars", CompareOp::Eq, 3)]),
                Filter::Not(Box::new(cmp("category", CompareOp::Eq, "food"))),
            ])
        );
        assert_eq!(
            ok("NOT NOT TRUE"),
            Filter::Not(Box::new(Filter::Not(Box::new(Filter::And(vec![])))))
        );
        assert_eq!(ok("false"), Filter::Or(vec![]));
    }

    #[test]
    fn literals_take_the_type_of_their_property() {
        assert_eq!(ok("4 <= stars"), cmp("stars", CompareOp::Ge, 4));
        assert_eq!(ok("\"stars\" <> -3"), cmp("stars", CompareOp::Ne, -3));
        assert_eq!(
            ok("name = 'Nước mắm ''Phù Sa'''"),
            cmp("name", CompareOp::Eq, "Nước mắm 'Phù Sa'")
        );
        assert_eq!(ok("stars > 3.5"), cmp("stars", CompareOp::Ge, 4));
        assert_eq!(ok("stars <= 3.5"), cmp("stars", CompareOp::Le, 3));
        assert_eq!(ok("stars = 4.0"), cmp("stars", CompareOp::Eq, 4));
        assert_eq!(
            ok("stars = 4.5"),
            Filter::And(vec![cmp("stars", CompareOp::Gt, 4), cmp("stars", CompareOp::Lt, 5)])
        );
        assert_eq!(ok("stars < 1e300"), cmp("stars", CompareOp::Ge, i64::MIN));
        assert_eq!(
            ok("stars IN (3, 4.5)"),
            Filter::In {
                field: "stars".into(),
                values: vec![Value::Int(3)]
            }
        );
        assert_eq!(
            ok("stars BETWEEN 3.5 AND 5"),
            Filter::And(vec![cmp("stars", CompareOp::Ge, 4), cmp("stars", CompareOp::Le, 5)])
        );
        let crop = layer("crop").expect("crop");
        assert_eq!(
            parse(
                "planting_date >= DATE('2026-10-01') AND area_ha < 1",
                crop,
                Audience::Public
            ),
            Ok(Filter::And(vec![
                cmp("planting_date", CompareOp::Ge, "2026-10-01"),
                cmp("area_ha", CompareOp::Lt, 1.0),
            ]))
        );
        let monitoring = layer("monitoring").expect("monitoring");
        assert_eq!(
            parse(
                "last_reading_at < TIMESTAMP('2026-11-01T07:00:00.250Z')",
                monitoring,
                Audience::Public
            ),
            Ok(cmp("last_reading_at", CompareOp::Le, "2026-11-01T07:00:00Z"))
        );
        assert_eq!(
            parse("last_reading_at = '2026-12-31T23:59:59Z'", monitoring, Audience::Public),
            Ok(cmp("last_reading_at", CompareOp::Eq, "2026-12-31T23:59:59Z"))
        );
        assert_eq!(
            parse(
                "last_reading_at > TIMESTAMP('2026-12-31T23:59:59.5Z')",
                monitoring,
                Audience::Public
            ),
            Ok(cmp("last_reading_at", CompareOp::Ge, "2027-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn like_in_between_and_null() {
        assert_eq!(
            ok("name NOT LIKE 'Nước%'"),
            Filter::Not(Box::new(Filter::Like {
                field: "name".into(),
                pattern: "Nước%".into()
            }))
        );
        assert_eq!(
            ok("category in ('food','beverage')"),
            Filter::In {
                field: "category".into(),
                values: vec!["food".into(), "beverage".into()]
            }
        );
        assert_eq!(
            ok("stars NOT BETWEEN 3 AND 4"),
            Filter::Not(Box::new(Filter::Between {
                field: "stars".into(),
                low: Value::Int(3),
                high: Value::Int(4)
            }))
        );
        assert_eq!(
            ok("producer IS NOT NULL"),
            Filter::Not(Box::new(Filter::IsNull {
                field: "producer".into()
            }))
        );
    }

    #[test]
    fn spatial_literals() {
        let Filter::IntersectsGeometry(Geometry::Polygon(p)) =
            ok("S_INTERSECTS(geometry, POLYGON((105 9, 106 9, 106 10, 105 9)))")
        else {
            panic!("polygon");
        };
        assert_eq!(p.exterior().0.len(), 4);
        assert!(matches!(
            ok("s_intersects(BBOX(105,9,106,10), geometry)"),
            Filter::IntersectsGeometry(Geometry::Polygon(_))
        ));
        assert!(matches!(
            ok("S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))"),
            Filter::IntersectsGeometry(Geometry::MultiPolygon(m)) if m.0.len() == 2
        ));
        for wkt in [
            "POINT(105.5 9.8)",
            "POINT Z (105.5 9.8 3)",
            "LINESTRING(105 9, 106 10)",
            "MULTIPOINT((105 9), (106 10))",
            "MULTIPOINT(105 9, 106 10)",
            "MULTILINESTRING((105 9, 106 10), (105 10, 106 9))",
            "MULTIPOLYGON(((105 9, 106 9, 106 10, 105 9)), ((107 9, 108 9, 108 10, 107 9)))",
            "POLYGON((105 9, 107 9, 107 11, 105 11, 105 9), (105.5 9.5, 106 9.5, 106 10, 105.5 9.5))",
            "GEOMETRYCOLLECTION(POINT(105 9), LINESTRING(105 9, 106 10))",
        ] {
            assert!(
                matches!(
                    ok(&format!("S_INTERSECTS(geometry, {wkt})")),
                    Filter::IntersectsGeometry(_)
                ),
                "{wkt}"
            );
        }
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = bad("ocop", "stars = ");
        assert_eq!(e.position, 9);
        assert!(
            e.message
                .contains("expected a property or a value, found the end of the filter"),
            "{e}"
        );
        let e = bad("ocop", "stars == 5");
        assert_eq!(
            (
                e.position,
                e.message.contains("expected a property or a value, found '='")
            ),
            (8, true),
            "{e}"
        );
        let e = bad("ocop", "(stars = 5");
        assert!(
            e.to_string()
                .starts_with("at character 11: expected ')' to close the '(' at character 1"),
            "{e}"
        );
        let e = bad("ocop", "stars = 5)");
        assert_eq!(e.position, 10);
        let e = bad("ocop", "name = 'abc");
        assert_eq!(e.position, 8);
        let e = bad("ocop", "stars = 'five'");
        assert!(
            e.message
                .contains("'stars' is a whole-number property: compare it with a number"),
            "{e}"
        );
        let e = bad("ocop", "name LIKE 5");
        assert!(e.message.contains("expected a pattern"), "{e}");
        let e = bad("ocop", "stars LIKE '5%'");
        assert!(e.message.contains("LIKE applies to text properties"), "{e}");
        let e = bad("ocop", "name LIKE 'a\\'");
        assert!(e.message.contains("escape character"), "{e}");
        let e = bad("ocop", "stars BETWEEN 3");
        assert!(e.message.contains("expected AND between"), "{e}");
        let e = bad("ocop", "stars IS 5");
        assert!(e.message.contains("expected NULL after IS"), "{e}");
        let e = bad("ocop", "stars + 1 > 3");
        assert!(e.message.contains("arithmetic"), "{e}");
        let e = bad("ocop", "S_CONTAINS(geometry, POINT(1 2))");
        assert!(e.message.contains("S_INTERSECTS is"), "{e}");
        let e = bad("ocop", "S_INTERSECTS(geometry, POINT(200 2))");
        assert_eq!(e.position, 30);
        let e = bad("ocop", "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))");
        assert!(e.message.contains("not a valid geometry"), "{e}");
        let e = bad("ocop", "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0)))");
        assert!(e.message.contains("at least 4 positions"), "{e}");
        let e = bad("ocop", "S_INTERSECTS(stars, POINT(1 2))");
        assert!(e.message.contains("not a geometry"), "{e}");
        let e = bad("ocop", "stars != 5");
        assert!(e.message.contains("<>"), "{e}");
        let e = bad("ocop", "");
        assert_eq!(e.message, "the filter is empty");
        let e = bad("crop", "planting_date > '2026'");
        assert!(e.message.contains("DATE('YYYY-MM-DD')"), "{e}");
        let e = bad("crop", "planting_date > DATE('2026-02-30')");
        assert!(e.message.contains("calendar date"), "{e}");
        let e = bad("monitoring", "last_reading_at > TIMESTAMP('2026-02-03T07:00:00+07:00')");
        assert!(e.message.contains("ends with Z"), "{e}");
        let deep = format!("{}stars = 5{}", "(".repeat(100), ")".repeat(100));
        assert!(bad("ocop", &deep).message.contains("levels deep"));
        let many = vec!["stars = 5"; 1200].join(" OR ");
        assert!(bad("ocop", &many).message.contains("more than 1000"));
    }

    #[test]
    fn restricted_properties_are_refused_like_missing_ones() {
        let restricted = bad("crop", "owner_phone = '0900'");
        let missing = bad("crop", "owner_phoni = '0900'");
        assert_eq!(restricted.position, missing.position);
        assert_eq!(
            restricted.message.replace("owner_phone", "X"),
            missing.message.replace("owner_phoni", "X")
        );
        assert!(!restricted.message.contains("owner_name"), "{restricted}");
        let crop = layer("crop").expect("crop");
        assert!(parse("owner_phone = '0900'", crop, Audience::Full).is_ok());
    }

    #[test]
    fn no_field_is_called_geometry_or_a_keyword() {
        for l in catalog() {
            for f in l.fields {
                assert_ne!(f.name, GEOMETRY, "{}", l.id);
                assert!(
                    !RESERVED
                        .iter()
                        .chain(["TRUE", "FALSE"].iter())
                        .any(|k| is_keyword(f.name, k)),
                    "{}",
                    l.id
                );
            }
        }
    }

    #[test]
    fn timestamps_round_trip() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let t = parse_timestamp(s).expect(s);
            assert_eq!(format_timestamp(t.seconds), s);
        }
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59Z").map(|t| t.seconds),
            Ok(LAST_SECOND)
        );
        assert_eq!(
            parse_timestamp("0001-01-01T00:00:00Z").map(|t| t.seconds),
            Ok(FIRST_SECOND)
        );
    }
}
