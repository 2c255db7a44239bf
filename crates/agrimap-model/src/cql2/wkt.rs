//! `S_INTERSECTS` and its spatial literals: `BBOX(…)` and WKT geometries,
//! read in CRS84 or turned into it from the filter's CRS.

use super::lexer::Tok;
use super::parser::{Lit, Operand, Parser, Prop, is_keyword};
use super::{FilterCrs, GEOMETRY, Result, error};
use crate::filter::Filter;
use geo::{
    Coord, Geometry, GeometryCollection, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon, Rect,
    Validation, coord,
};

/// Points along each edge of a `BBOX` given in another CRS.
const BBOX_EDGE_POINTS: u32 = 32;

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
pub(super) fn spatial_keyword(word: &str) -> Option<&'static str> {
    std::iter::once("BBOX")
        .chain(GEOMETRY_TYPES.iter().copied())
        .find(|k| is_keyword(word, k))
}
impl Parser<'_> {
    /// `S_INTERSECTS(a, b)` (the name not yet consumed).
    pub(super) fn spatial(&mut self, pos: usize) -> Result<Filter> {
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
    pub(super) fn spatial_literal(&mut self, kind: &str, pos: usize) -> Result<Geometry<f64>> {
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

fn check_longitude(x: f64, pos: usize) -> Result<()> {
    check_ordinate("longitude", 180.0, x, pos)
}

fn check_latitude(y: f64, pos: usize) -> Result<()> {
    check_ordinate("latitude", 90.0, y, pos)
}

/// A CRS84 ordinate within `-limit..=limit`.
fn check_ordinate(what: &str, limit: f64, value: f64, pos: usize) -> Result<()> {
    if (-limit..=limit).contains(&value) {
        Ok(())
    } else {
        error(
            pos,
            format!("{what} {value} is outside -{limit} to {limit} (coordinates are CRS84: longitude then latitude)"),
        )
    }
}
