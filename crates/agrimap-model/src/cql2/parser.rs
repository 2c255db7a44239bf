//! The boolean structure of a filter (`OR`, `AND`, `NOT`, parentheses) and
//! its predicates on fields: comparisons, `LIKE`, `IN`, `BETWEEN` and
//! `IS NULL`, each literal checked against the type of its field.

use super::lexer::{Tok, Token};
use super::temporal::instant_bound;
use super::wkt::spatial_keyword;
use super::{Cql2Error, FilterCrs, GEOMETRY, MAX_DEPTH, MAX_TERMS, Result, echo, error, queryables};
use crate::calendar::{FIRST_SECOND, Instant, format_timestamp, parse_date, parse_timestamp};
use crate::feature::Value;
use crate::filter::{CompareOp, Filter};
use crate::schema::{Audience, FieldDef, FieldType, LayerDef};
use geo::Geometry;
use std::fmt;

/// What a name in a filter refers to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Prop {
    Field(&'static FieldDef),
    Geometry,
}

/// A literal as written, before it meets a property.
#[derive(Debug, Clone)]
pub(super) enum Lit {
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

pub(super) enum Operand {
    Prop(Prop, usize),
    Lit(Lit, usize),
}

/// A literal as a value of a field's type. Integers and timestamps are
/// discrete: a literal between two of their values, or beyond every one,
/// still compares exactly.
pub(super) enum Bound {
    Exact(Value),
    /// Strictly between these two consecutive values.
    Between(Value, Value),
    BelowAll,
    AboveAll,
}

pub(super) struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    layer: &'static LayerDef,
    audience: Audience,
    depth: usize,
    terms: usize,
    pub(super) crs: FilterCrs<'a>,
}

pub(super) fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

pub(super) const RESERVED: &[&str] = &["AND", "OR", "NOT", "LIKE", "IN", "BETWEEN", "IS", "NULL"];

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

impl<'a> Parser<'a> {
    pub(super) fn new(tokens: Vec<Token>, layer: &'static LayerDef, audience: Audience, crs: FilterCrs<'a>) -> Self {
        Self {
            tokens,
            at: 0,
            layer,
            audience,
            depth: 0,
            terms: 0,
            crs,
        }
    }

    pub(super) fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    pub(super) fn peek_at(&self, ahead: usize) -> &Tok {
        &self.tokens[(self.at + ahead).min(self.tokens.len() - 1)].tok
    }

    pub(super) fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() - 1 {
            self.at += 1;
        }
        t
    }

    /// Consumes the keyword if it comes next.
    pub(super) fn keyword(&mut self, keyword: &str) -> bool {
        if matches!(&self.peek().tok, Tok::Word(w) if is_keyword(w, keyword)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn expect(&mut self, tok: &Tok, what: &str) -> Result<usize> {
        let t = self.next();
        if &t.tok == tok {
            Ok(t.pos)
        } else {
            error(t.pos, format!("expected {tok} {what}, found {}", t.tok))
        }
    }

    pub(super) fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return error(
                self.peek().pos,
                format!("the filter nests more than {MAX_DEPTH} levels deep"),
            );
        }
        Ok(())
    }

    pub(super) fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Counts one predicate or value against the limit.
    pub(super) fn term(&mut self, pos: usize) -> Result<()> {
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
    pub(super) fn expression(&mut self) -> Result<Filter> {
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
                    _ => Err(Self::unsupported_function(w, t.pos)),
                }
            }
            _ => self.predicate(),
        }
    }

    pub(super) fn unsupported_function(name: &str, pos: usize) -> Cql2Error {
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
    pub(super) fn resolve(&self, name: &str, pos: usize) -> Result<Prop> {
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
    pub(super) fn operand(&mut self) -> Result<Operand> {
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
                    return Err(Self::unsupported_function(&w, pos));
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
                let field = Self::field_operand(left, "IS NULL")?;
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
    fn field_operand(operand: Operand, operator: &str) -> Result<&'static FieldDef> {
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
        let field = Self::field_operand(left, "LIKE")?;
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
            Tok::Word(w) if self.peek().tok == Tok::LParen => Err(Self::unsupported_function(&w, t.pos)),
            other => error(
                t.pos,
                format!("expected a pattern in single quotes after LIKE, found {other}"),
            ),
        }
    }

    /// `… [NOT] IN (a, b, …)` (the `IN` consumed).
    fn in_list(&mut self, left: Operand) -> Result<Filter> {
        let field = Self::field_operand(left, "IN")?;
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
        let field = Self::field_operand(left, "BETWEEN")?;
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
}

pub(super) fn signed(sign: char, value: f64, int: Option<i64>, text: &str) -> Lit {
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
/// A LIKE pattern may not end with its escape character.
pub(super) fn check_pattern(pattern: &str, pos: usize) -> Result<()> {
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
pub(super) fn compare(field: &FieldDef, op: CompareOp, bound: Bound) -> Filter {
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
pub(super) fn integer_bound(value: f64) -> Bound {
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
