//! The communes a layer is summed over: an R-tree of their bounding boxes,
//! and for each a coarse grid that knows which cells lie wholly inside it, so
//! that most features are placed without any polygon arithmetic.

use geo::{BoundingRect, Coord, Intersects, MultiPolygon, Point, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};

/// One commune.
#[derive(Debug, Clone)]
pub struct Zone {
    pub code: String,
    pub district_code: String,
    pub province_code: String,
    pub shape: MultiPolygon<f64>,
    pub bbox: Rect<f64>,
    mask: InteriorMask,
}

impl Zone {
    /// The code of the unit holding this commune at `level`.
    #[must_use]
    pub fn code_at(&self, level: crate::rollup::Level) -> &str {
        match level {
            crate::rollup::Level::Commune => &self.code,
            crate::rollup::Level::District => &self.district_code,
            crate::rollup::Level::Province => &self.province_code,
        }
    }
}

/// Where a bounding box lies relative to one zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Wholly inside: the feature counts whole.
    Inside,
    /// Wholly outside.
    Outside,
    /// Near the boundary: only exact geometry can tell.
    Boundary,
}

/// The communes, indexed.
#[derive(Debug, Clone)]
pub struct Zones {
    zones: Vec<Zone>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl Zones {
    /// Indexes the given communes: `(code, district code, province code, boundary)`.
    #[must_use]
    pub fn new(communes: Vec<(String, String, String, MultiPolygon<f64>)>) -> Self {
        let zones: Vec<Zone> = communes
            .into_iter()
            .filter_map(|(code, district_code, province_code, shape)| {
                let bbox = shape.bounding_rect()?;
                let mask = InteriorMask::new(&shape, bbox);
                Some(Zone {
                    code,
                    district_code,
                    province_code,
                    shape,
                    bbox,
                    mask,
                })
            })
            .collect();
        let tree = RTree::bulk_load(
            zones
                .iter()
                .enumerate()
                .map(|(i, z)| GeomWithData::new(Rectangle::from_corners(corner(z.bbox.min()), corner(z.bbox.max())), i))
                .collect(),
        );
        Self { zones, tree }
    }

    #[must_use]
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    #[must_use]
    pub fn get(&self, index: usize) -> &Zone {
        &self.zones[index]
    }

    /// Indexes of the zones whose bounding box meets `rect`.
    pub fn candidates(&self, rect: Rect<f64>) -> impl Iterator<Item = usize> + '_ {
        self.tree
            .locate_in_envelope_intersecting(&AABB::from_corners(corner(rect.min()), corner(rect.max())))
            .map(|g| g.data)
    }

    /// The zone containing a point (the first, for a point on a shared boundary).
    #[must_use]
    pub fn containing(&self, p: Point<f64>) -> Option<usize> {
        self.tree
            .locate_all_at_point(&[p.x(), p.y()])
            .map(|g| g.data)
            .find(|&i| match self.zones[i].place(Rect::new(p.0, p.0)) {
                Placement::Inside => true,
                Placement::Outside => false,
                Placement::Boundary => self.zones[i].shape.intersects(&p),
            })
    }
}

impl Zone {
    /// Where a bounding box lies relative to this zone, from the grid alone.
    #[must_use]
    pub fn place(&self, rect: Rect<f64>) -> Placement {
        if !self.bbox.intersects(&rect) {
            return Placement::Outside;
        }
        let inside_bbox = rect.min().x >= self.bbox.min().x
            && rect.min().y >= self.bbox.min().y
            && rect.max().x <= self.bbox.max().x
            && rect.max().y <= self.bbox.max().y;
        if !inside_bbox {
            return Placement::Boundary;
        }
        self.mask.place(rect)
    }
}

fn corner(c: Coord<f64>) -> [f64; 2] {
    [c.x, c.y]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CellKind {
    Inside,
    Outside,
    Boundary,
}

/// A grid over a zone's bounding box: cells crossed by the boundary, and the
/// others classified once by their centre (a cell no edge crosses is wholly
/// inside or wholly outside).
#[derive(Debug, Clone)]
struct InteriorMask {
    origin: Coord<f64>,
    cell: Coord<f64>,
    n: usize,
    cells: Vec<CellKind>,
}

/// Cells per side: about 60 m cells for a 7 km commune, a few parcels each.
const GRID: usize = 128;

impl InteriorMask {
    fn new(shape: &MultiPolygon<f64>, bbox: Rect<f64>) -> Self {
        let n = GRID;
        let cell = Coord {
            x: (bbox.width() / n as f64).max(f64::MIN_POSITIVE),
            y: (bbox.height() / n as f64).max(f64::MIN_POSITIVE),
        };
        let mut mask = Self {
            origin: bbox.min(),
            cell,
            n,
            cells: vec![CellKind::Outside; n * n],
        };
        let mut boundary = vec![false; n * n];
        for polygon in shape {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for line in ring.lines() {
                    mask.mark_segment(line.start, line.end, &mut boundary);
                }
            }
        }
        // A cell no edge crosses is inside when its centre is: counted by the
        // crossings of the row's centre line left of it (even-odd over every
        // ring), one sweep per row rather than a point-in-polygon test per
        // cell, which made gridding a polygon of a thousand vertices (a
        // spatial filter's) cost tens of milliseconds.
        let mut crossings = Vec::new();
        for row in 0..n {
            let y = mask.centre(0, row).y();
            crossings.clear();
            for polygon in shape {
                for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                    for line in ring.lines() {
                        let (a, b) = (line.start, line.end);
                        if (a.y > y) != (b.y > y) {
                            crossings.push(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
                        }
                    }
                }
            }
            crossings.sort_by(f64::total_cmp);
            let mut left = 0;
            for col in 0..n {
                let x = mask.centre(col, row).x();
                while left < crossings.len() && crossings[left] < x {
                    left += 1;
                }
                let i = row * n + col;
                mask.cells[i] = if boundary[i] {
                    CellKind::Boundary
                } else if left % 2 == 1 {
                    CellKind::Inside
                } else {
                    CellKind::Outside
                };
            }
        }
        mask
    }
    fn centre(&self, col: usize, row: usize) -> Point<f64> {
        Point::new(
            self.origin.x + (col as f64 + 0.5) * self.cell.x,
            self.origin.y + (row as f64 + 0.5) * self.cell.y,
        )
    }

    /// Column or row of a coordinate, clamped to the grid.
    fn index(&self, v: f64, origin: f64, size: f64) -> usize {
        (((v - origin) / size).floor().max(0.0) as usize).min(self.n - 1)
    }

    /// Marks every cell the segment passes through, row by row, with a margin
    /// of a hair so that rounding never leaves a crossed cell unmarked.
    fn mark_segment(&self, a: Coord<f64>, b: Coord<f64>, boundary: &mut [bool]) {
        let eps_x = self.cell.x * 1e-6;
        let eps_y = self.cell.y * 1e-6;
        let row_lo = self.index(a.y.min(b.y) - eps_y, self.origin.y, self.cell.y);
        let row_hi = self.index(a.y.max(b.y) + eps_y, self.origin.y, self.cell.y);
        for row in row_lo..=row_hi {
            let (y0, y1) = (
                self.origin.y + row as f64 * self.cell.y - eps_y,
                self.origin.y + (row + 1) as f64 * self.cell.y + eps_y,
            );
            // The part of the segment within this row's band.
            let (x_lo, x_hi) = if (b.y - a.y).abs() < f64::EPSILON {
                (a.x.min(b.x), a.x.max(b.x))
            } else {
                let at = |y: f64| a.x + (b.x - a.x) * ((y - a.y) / (b.y - a.y)).clamp(0.0, 1.0);
                let (p, q) = (at(y0), at(y1));
                (p.min(q), p.max(q))
            };
            let col_lo = self.index(x_lo - eps_x, self.origin.x, self.cell.x);
            let col_hi = self.index(x_hi + eps_x, self.origin.x, self.cell.x);
            for col in col_lo..=col_hi {
                boundary[row * self.n + col] = true;
            }
        }
    }

    fn place(&self, rect: Rect<f64>) -> Placement {
        let (c0, c1) = (
            self.index(rect.min().x, self.origin.x, self.cell.x),
            self.index(rect.max().x, self.origin.x, self.cell.x),
        );
        let (r0, r1) = (
            self.index(rect.min().y, self.origin.y, self.cell.y),
            self.index(rect.max().y, self.origin.y, self.cell.y),
        );
        let first = self.cells[r0 * self.n + c0];
        if first == CellKind::Boundary {
            return Placement::Boundary;
        }
        for row in r0..=r1 {
            for col in c0..=c1 {
                if self.cells[row * self.n + col] != first {
                    return Placement::Boundary;
                }
            }
        }
        match first {
            CellKind::Inside => Placement::Inside,
            CellKind::Outside => Placement::Outside,
            CellKind::Boundary => Placement::Boundary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, polygon};

    fn l_shape() -> MultiPolygon<f64> {
        MultiPolygon::new(vec![polygon![
            (x: 0.0, y: 0.0), (x: 2.0, y: 0.0), (x: 2.0, y: 1.0), (x: 1.0, y: 1.0), (x: 1.0, y: 2.0), (x: 0.0, y: 2.0),
        ]])
    }

    #[test]
    fn the_grid_never_calls_a_boundary_box_inside_or_outside_wrongly() {
        let zones = Zones::new(vec![("A".into(), "D".into(), "P".into(), l_shape())]);
        let zone = zones.get(0);
        // A fine sweep of small boxes: Inside must mean contained, Outside disjoint.
        for i in 0..200 {
            for j in 0..200 {
                let (x, y) = (f64::from(i) * 0.01, f64::from(j) * 0.01);
                let rect = Rect::new(
                    Coord { x, y },
                    Coord {
                        x: x + 0.004,
                        y: y + 0.004,
                    },
                );
                let poly = rect.to_polygon();
                match zone.place(rect) {
                    Placement::Inside => assert!(zone.shape.contains(&poly), "{rect:?}"),
                    Placement::Outside => assert!(!zone.shape.intersects(&poly), "{rect:?}"),
                    Placement::Boundary => {}
                }
            }
        }
        assert_eq!(
            zone.place(Rect::new(Coord { x: 0.2, y: 0.2 }, Coord { x: 0.3, y: 0.3 })),
            Placement::Inside
        );
        assert_eq!(
            zone.place(Rect::new(Coord { x: 1.5, y: 1.5 }, Coord { x: 1.6, y: 1.6 })),
            Placement::Outside
        );
    }

    #[test]
    fn points_find_their_zone() {
        let right = MultiPolygon::new(vec![
            polygon![(x: 2.0, y: 0.0), (x: 3.0, y: 0.0), (x: 3.0, y: 2.0), (x: 2.0, y: 2.0)],
        ]);
        let zones = Zones::new(vec![
            ("A".into(), "D".into(), "P".into(), l_shape()),
            ("B".into(), "D".into(), "P".into(), right),
        ]);
        assert_eq!(zones.containing(Point::new(0.5, 1.5)), Some(0));
        assert_eq!(zones.containing(Point::new(2.5, 1.5)), Some(1));
        assert_eq!(zones.containing(Point::new(1.5, 1.5)), None);
    }
}
