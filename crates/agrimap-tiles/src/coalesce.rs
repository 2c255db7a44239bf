//! Coalescing: the union of polygons that tile a region edge to edge, on the
//! integer grid of a tile.
//!
//! Below the zoom where parcels are legible, a tile of a province holds
//! hundreds of thousands of parcels a few units wide; drawn one by one, the
//! tile weighs megabytes for what the eye sees as blocks of one colour. Once
//! the parcels of one class are projected and snapped to the tile's integer
//! grid, two neighbours share their common edge exactly, walked once each
//! way. So the union is found without polygon arithmetic:
//!
//! 1. every ring becomes directed edges, exteriors one way round and holes
//!    the other ([`EdgeSet::add_ring`]);
//! 2. edges walked both ways cancel out (what is left is the boundary of the
//!    union: at every vertex as many edges arrive as leave);
//! 3. what is left is walked into closed rings, always taking the sharpest
//!    left turn where several edges leave one vertex, so that blocks touching
//!    at a corner come out as separate rings;
//! 4. rings wound like exteriors are outer rings, the others holes, each hole
//!    given to the smallest outer ring around it.
//!
//! Where an edge is met from the other side by several shorter ones (a
//! T-junction: a long parcel beside two short ones, or a parcel cut at a
//! commune boundary beside a whole one), the edges left after the first
//! cancellation are split at every vertex lying on them and cancelled again.
//! It is exact on the grid and, apart from sorts, linear in edges and in the
//! grid points along the edges left over. A vertex that snapping put beside
//! its neighbour's edge rather than on it leaves a sliver one unit wide:
//! snapping to the grid is the only rounding, and it is the tile's own.

use crate::mvt::commands::ring_area2;
use geo::{Coord, LineString, Polygon, coord};

/// Directed edges of the rings of one class, to be merged.
#[derive(Debug, Default, Clone)]
pub struct EdgeSet {
    /// `(from, to)`, each point packed by [`pack`].
    edges: Vec<(u64, u64)>,
    /// How many edges to hold before cancelling those added so far.
    compact_at: usize,
}

/// Edges held before the first cancellation. Cancelling is exact and
/// associative, so cancelling early gives the same union; it keeps a class
/// of a dense tile at this many edges or twice its outline's, whichever is
/// more, instead of every edge of every parcel.
const FIRST_COMPACTION: usize = 1 << 16;

impl EdgeSet {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no edge was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Adds one ring (closing point optional, repeated points allowed) as an
    /// exterior or a hole, whatever its winding in the input. A ring of zero
    /// area adds nothing.
    pub fn add_ring(&mut self, ring: &[Coord<i32>], exterior: bool) {
        let area2 = ring_area2(ring);
        if area2 == 0 {
            return;
        }
        // Exteriors with positive area (clockwise on screen, as MVT writes
        // them), holes with negative area.
        let forward = (area2 > 0) == exterior;
        let n = ring.len();
        for i in 0..n {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            if a == b {
                continue;
            }
            if forward {
                self.edges.push((pack(a), pack(b)));
            } else {
                self.edges.push((pack(b), pack(a)));
            }
        }
        if self.edges.len() >= self.compact_at.max(FIRST_COMPACTION) {
            self.edges = cancel(std::mem::take(&mut self.edges));
            // Twice what is left: each edge is sorted O(log n) times at most.
            self.compact_at = 2 * self.edges.len();
        }
    }

    /// Writes the edges, once cancelled, to `out` in a compact form that
    /// [`Self::read`] takes back: what a store keeps of a coalesced layer so
    /// that a later write is merged into it (its old rings taken away, its
    /// new ones added) instead of every feature being read again. Cancelling
    /// is canonical, so the union of what is read back and what is added
    /// after is the union of all the rings ever added.
    pub fn write(&mut self, out: &mut Vec<u8>) {
        self.edges = cancel(std::mem::take(&mut self.edges));
        self.compact_at = 2 * self.edges.len();
        put_varint(out, self.edges.len() as u64);
        // Sorted by start point: starts as differences, ends from their start.
        let mut previous = 0;
        for &(from, to) in &self.edges {
            put_varint(out, from - previous);
            previous = from;
            let (a, b) = (unpack(from), unpack(to));
            put_varint(out, zigzag(i64::from(b.x) - i64::from(a.x)));
            put_varint(out, zigzag(i64::from(b.y) - i64::from(a.y)));
        }
    }

    /// Reads what [`Self::write`] wrote from the front of `bytes`, leaving
    /// the rest; `None` when it is not such edges.
    #[must_use]
    pub fn read(bytes: &mut &[u8]) -> Option<Self> {
        let n = usize::try_from(take_varint(bytes)?).ok()?;
        // Each edge takes three bytes at least: a count beyond that is not ours.
        if n > bytes.len() / 3 {
            return None;
        }
        let mut edges = Vec::with_capacity(n);
        let mut previous: u64 = 0;
        for _ in 0..n {
            let from = previous.checked_add(take_varint(bytes)?)?;
            previous = from;
            let a = unpack(from);
            let dx = unzigzag(take_varint(bytes)?);
            let dy = unzigzag(take_varint(bytes)?);
            let x = i32::try_from(i64::from(a.x).checked_add(dx)?).ok()?;
            let y = i32::try_from(i64::from(a.y).checked_add(dy)?).ok()?;
            edges.push((from, pack(coord! { x: x, y: y })));
        }
        Some(Self {
            compact_at: 2 * edges.len(),
            edges,
        })
    }

    /// The union of the rings added: polygons whose exteriors have positive
    /// area by [`ring_area2`] and whose holes have negative area, rings
    /// closed. The order depends only on the edges, never on the order the
    /// rings were added in.
    #[must_use]
    pub fn into_polygons(self) -> Vec<Polygon<i32>> {
        let mut edges = cancel(self.edges);
        if let Some(split) = split_at_junctions(&edges) {
            edges = cancel(split);
        }
        let rings = walk(&edges);
        assemble(rings)
    }
}

/// A point as one sortable word (any total order will do; this one is cheap).
fn pack(c: Coord<i32>) -> u64 {
    (u64::from(c.x as u32) << 32) | u64::from(c.y as u32)
}

fn unpack(p: u64) -> Coord<i32> {
    coord! { x: (p >> 32) as u32 as i32, y: p as u32 as i32 }
}

/// Appends `v` as a LEB128 varint.
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Takes a LEB128 varint off the front of `bytes`.
pub(crate) fn take_varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = bytes.split_first()?;
        *bytes = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Removes every pair of edges that are each other's reverse, and returns
/// what is left sorted by start point (then end point).
fn cancel(mut edges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    // Group by the undirected edge; +1 for each walk from the lower point.
    let mut undirected: Vec<(u64, u64, i32)> = edges
        .drain(..)
        .map(|(a, b)| if a < b { (a, b, 1) } else { (b, a, -1) })
        .collect();
    undirected.sort_unstable();
    let mut left = edges;
    let mut i = 0;
    while i < undirected.len() {
        let (lo, hi, _) = undirected[i];
        let mut net = 0;
        while i < undirected.len() && undirected[i].0 == lo && undirected[i].1 == hi {
            net += undirected[i].2;
            i += 1;
        }
        let edge = if net > 0 { (lo, hi) } else { (hi, lo) };
        for _ in 0..net.unsigned_abs() {
            left.push(edge);
        }
    }
    left.sort_unstable();
    left
}

/// Edges longer than this many grid steps are not searched for junctions:
/// only a feature reaching far beyond the tile has them, and its edges are
/// clipped away anyway.
const MAX_JUNCTION_SEARCH: i64 = 1 << 14;

/// Splits every edge (of a set sorted by start point) at the vertices of
/// other edges lying on it, so that an edge met by several shorter ones
/// from the other side (a T-junction) cancels against them; `None` when no
/// edge has such a vertex.
fn split_at_junctions(edges: &[(u64, u64)]) -> Option<Vec<(u64, u64)>> {
    // In a set where as many edges arrive at every vertex as leave it, every
    // vertex starts an edge: the start points, sorted, are all the vertices.
    let mut vertices: Vec<u64> = edges.iter().map(|e| e.0).collect();
    vertices.dedup();
    let mut out = Vec::with_capacity(edges.len());
    let mut split = false;
    for &(from, to) in edges {
        let (a, b) = (unpack(from), unpack(to));
        let (dx, dy) = (i64::from(b.x) - i64::from(a.x), i64::from(b.y) - i64::from(a.y));
        let steps = gcd(dx.abs(), dy.abs());
        let mut start = from;
        if steps > 1 && steps <= MAX_JUNCTION_SEARCH {
            let (sx, sy) = (dx / steps, dy / steps);
            for k in 1..steps {
                let p = coord! { x: (i64::from(a.x) + k * sx) as i32, y: (i64::from(a.y) + k * sy) as i32 };
                let packed = pack(p);
                if vertices.binary_search(&packed).is_ok() {
                    out.push((start, packed));
                    start = packed;
                    split = true;
                }
            }
        }
        out.push((start, to));
    }
    split.then_some(out)
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Walks edges (sorted by start point) into closed rings, each as its points
/// without the closing one.
fn walk(edges: &[(u64, u64)]) -> Vec<Vec<Coord<i32>>> {
    let mut used = vec![false; edges.len()];
    let mut rings = Vec::new();
    let mut ring = Vec::new();
    for first in 0..edges.len() {
        if used[first] {
            continue;
        }
        ring.clear();
        let start = edges[first].0;
        let mut current = first;
        let closed = loop {
            used[current] = true;
            let (from, to) = edges[current];
            ring.push(unpack(from));
            if to == start {
                break true;
            }
            match next_edge(edges, &used, from, to) {
                Some(next) => current = next,
                // Unbalanced input cannot come from closed rings; give up on this one.
                None => break false,
            }
        };
        if closed && ring.len() >= 3 {
            rings.push(ring.clone());
        }
    }
    rings
}

/// The unused edge leaving `at` (reached from `came_from`) that turns most to
/// the left: it keeps the walk on the boundary of the face it is following.
fn next_edge(edges: &[(u64, u64)], used: &[bool], came_from: u64, at: u64) -> Option<usize> {
    let begin = edges.partition_point(|e| e.0 < at);
    let end = begin + edges[begin..].partition_point(|e| e.0 == at);
    let mut candidates = (begin..end).filter(|&i| !used[i]);
    let first = candidates.next()?;
    let Some(second) = candidates.next() else {
        return Some(first);
    };
    let (u, v) = (unpack(came_from), unpack(at));
    let d_in = coord! { x: f64::from(v.x) - f64::from(u.x), y: f64::from(v.y) - f64::from(u.y) };
    let turn = |i: usize| {
        let w = unpack(edges[i].1);
        let d_out = coord! { x: f64::from(w.x) - f64::from(v.x), y: f64::from(w.y) - f64::from(v.y) };
        // Counter-clockwise in y-up terms is left for a ring of positive area.
        (d_in.x * d_out.y - d_in.y * d_out.x).atan2(d_in.x * d_out.x + d_in.y * d_out.y)
    };
    let mut best = (first, turn(first));
    for i in std::iter::once(second).chain(candidates) {
        let t = turn(i);
        if t > best.1 {
            best = (i, t);
        }
    }
    Some(best.0)
}

/// An outer ring on its way to becoming a polygon.
struct Outer {
    ring: Vec<Coord<i32>>,
    area2: i128,
    bbox: (Coord<i32>, Coord<i32>),
    holes: Vec<Vec<Coord<i32>>>,
}

/// Sorts rings into outer rings and holes by winding and gives each hole to
/// the smallest outer ring containing it.
fn assemble(rings: Vec<Vec<Coord<i32>>>) -> Vec<Polygon<i32>> {
    let mut outers = Vec::new();
    let mut holes = Vec::new();
    for ring in rings {
        let area2 = ring_area2(&ring);
        if area2 > 0 {
            let bbox = ring_bbox(&ring);
            outers.push(Outer {
                ring,
                area2,
                bbox,
                holes: Vec::new(),
            });
        } else if area2 < 0 {
            holes.push(ring);
        }
    }
    // Smallest first, so the first outer found around a hole is its own.
    outers.sort_by_key(|o| o.area2);
    for hole in holes {
        let probe = inside_probe(&hole);
        let owner = outers.iter_mut().find(|o| {
            f64::from(o.bbox.0.x) <= probe.x
                && probe.x <= f64::from(o.bbox.1.x)
                && f64::from(o.bbox.0.y) <= probe.y
                && probe.y <= f64::from(o.bbox.1.y)
                && contains(&o.ring, probe)
        });
        if let Some(owner) = owner {
            owner.holes.push(hole);
        }
    }
    // Largest first: what a reader of the tile meets first is what matters most.
    outers.reverse();
    outers
        .into_iter()
        .map(|o| Polygon::new(closed(o.ring), o.holes.into_iter().map(closed).collect()))
        .collect()
}

fn closed(mut ring: Vec<Coord<i32>>) -> LineString<i32> {
    if let Some(&first) = ring.first() {
        ring.push(first);
    }
    LineString(ring)
}

fn ring_bbox(ring: &[Coord<i32>]) -> (Coord<i32>, Coord<i32>) {
    ring.iter().fold(
        (coord! { x: i32::MAX, y: i32::MAX }, coord! { x: i32::MIN, y: i32::MIN }),
        |(lo, hi), c| {
            (
                coord! { x: lo.x.min(c.x), y: lo.y.min(c.y) },
                coord! { x: hi.x.max(c.x), y: hi.y.max(c.y) },
            )
        },
    )
}

/// A point just beside a hole's first edge, on the side of the filled region
/// around it: inside the hole's outer ring and on no grid edge.
fn inside_probe(hole: &[Coord<i32>]) -> Coord<f64> {
    let (a, b) = (hole[0], hole[1 % hole.len()]);
    let (ax, ay, bx, by) = (f64::from(a.x), f64::from(a.y), f64::from(b.x), f64::from(b.y));
    let (dx, dy) = (bx - ax, by - ay);
    let len = dx.hypot(dy).max(f64::MIN_POSITIVE);
    // Every boundary edge has the filled region on its left (y-up terms),
    // holes included: the left normal is (-dy, dx).
    let offset = 1e-3 / len;
    coord! { x: ax + dx / 2.0 - dy * offset, y: ay + dy / 2.0 + dx * offset }
}

/// Even–odd point in ring.
fn contains(ring: &[Coord<i32>], p: Coord<f64>) -> bool {
    let mut inside = false;
    let mut prev = ring[ring.len() - 1];
    for &c in ring {
        let (x1, y1, x2, y2) = (f64::from(prev.x), f64::from(prev.y), f64::from(c.x), f64::from(c.y));
        if (y1 > p.y) != (y2 > p.y) && p.x < x1 + (p.y - y1) * (x2 - x1) / (y2 - y1) {
            inside = !inside;
        }
        prev = c;
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(points: &[(i32, i32)]) -> Vec<Coord<i32>> {
        points.iter().map(|&(x, y)| coord! { x: x, y: y }).collect()
    }

    fn square(x: i32, y: i32, side: i32) -> Vec<Coord<i32>> {
        ring(&[(x, y), (x + side, y), (x + side, y + side), (x, y + side)])
    }

    fn area2(p: &Polygon<i32>) -> i128 {
        ring_area2(&p.exterior().0) + p.interiors().iter().map(|h| ring_area2(&h.0)).sum::<i128>()
    }

    #[test]
    fn two_adjacent_squares_become_one_rectangle() {
        let mut set = EdgeSet::new();
        set.add_ring(&square(0, 0, 10), true);
        // The other winding: the set orients it.
        let mut right = square(10, 0, 10);
        right.reverse();
        set.add_ring(&right, true);
        let polygons = set.into_polygons();
        assert_eq!(polygons.len(), 1);
        assert_eq!(area2(&polygons[0]), 2 * 200);
        assert!(polygons[0].interiors().is_empty());
        // The shared edge is gone: the corners of the two squares and the
        // two ends of the shared edge, nothing inside.
        let mut points: Vec<(i32, i32)> = polygons[0].exterior().0.iter().map(|c| (c.x, c.y)).collect();
        points.pop();
        points.sort_unstable();
        assert_eq!(points, [(0, 0), (0, 10), (10, 0), (10, 10), (20, 0), (20, 10)]);
    }

    #[test]
    fn a_ring_of_squares_leaves_a_hole_in_the_middle() {
        // Eight unit-10 squares around an empty centre.
        let mut set = EdgeSet::new();
        for (x, y) in [(0, 0), (10, 0), (20, 0), (0, 10), (20, 10), (0, 20), (10, 20), (20, 20)] {
            set.add_ring(&square(x, y, 10), true);
        }
        let polygons = set.into_polygons();
        assert_eq!(polygons.len(), 1);
        let p = &polygons[0];
        assert_eq!(ring_area2(&p.exterior().0), 2 * 900);
        assert_eq!(p.interiors().len(), 1);
        assert_eq!(ring_area2(&p.interiors()[0].0), -2 * 100);
        assert_eq!(area2(p), 2 * 800);
    }

    #[test]
    fn a_polygon_with_a_hole_keeps_it_and_a_parcel_in_the_hole_fills_it() {
        let mut set = EdgeSet::new();
        set.add_ring(&square(0, 0, 30), true);
        set.add_ring(&square(10, 10, 10), false);
        let with_hole = set.clone().into_polygons();
        assert_eq!(with_hole.len(), 1);
        assert_eq!(with_hole[0].interiors().len(), 1);
        assert_eq!(area2(&with_hole[0]), 2 * 800);

        set.add_ring(&square(10, 10, 10), true);
        let filled = set.into_polygons();
        assert_eq!(filled.len(), 1);
        assert!(filled[0].interiors().is_empty());
        assert_eq!(area2(&filled[0]), 2 * 900);
    }

    #[test]
    fn a_long_edge_met_by_two_short_ones_cancels_too() {
        // One 20-wide parcel below two 10-wide ones: a T-junction at (10, 10).
        let mut set = EdgeSet::new();
        set.add_ring(&ring(&[(0, 0), (20, 0), (20, 10), (0, 10)]), true);
        set.add_ring(&square(0, 10, 10), true);
        set.add_ring(&square(10, 10, 10), true);
        let polygons = set.into_polygons();
        assert_eq!(polygons.len(), 1);
        assert!(polygons[0].interiors().is_empty());
        assert_eq!(area2(&polygons[0]), 2 * 400);
        let mut points: Vec<(i32, i32)> = polygons[0].exterior().0.iter().map(|c| (c.x, c.y)).collect();
        points.pop();
        points.sort_unstable();
        assert_eq!(
            points,
            [(0, 0), (0, 10), (0, 20), (10, 20), (20, 0), (20, 10), (20, 20)]
        );
    }

    #[test]
    fn squares_touching_at_a_corner_stay_two_polygons() {
        let mut set = EdgeSet::new();
        set.add_ring(&square(0, 0, 10), true);
        set.add_ring(&square(10, 10, 10), true);
        let polygons = set.into_polygons();
        assert_eq!(polygons.len(), 2);
        for p in &polygons {
            assert_eq!(area2(p), 2 * 100);
            assert_eq!(p.exterior().0.len(), 5);
        }
    }

    #[test]
    fn an_island_in_a_hole_is_a_polygon_of_its_own() {
        let mut set = EdgeSet::new();
        set.add_ring(&square(0, 0, 50), true);
        set.add_ring(&square(10, 10, 30), false);
        set.add_ring(&square(20, 20, 10), true);
        let polygons = set.into_polygons();
        assert_eq!(polygons.len(), 2);
        // Largest first; the hole belongs to the large one.
        assert_eq!(polygons[0].interiors().len(), 1);
        assert_eq!(area2(&polygons[0]), 2 * (2500 - 900));
        assert_eq!(area2(&polygons[1]), 2 * 100);
    }

    #[test]
    fn the_result_does_not_depend_on_the_order_of_the_rings() {
        let squares: Vec<Vec<Coord<i32>>> = (0..6)
            .flat_map(|i| (0..4).map(move |j| square(i * 7, j * 5 + (i % 2), 7)))
            .collect();
        let merge = |order: &mut dyn Iterator<Item = &Vec<Coord<i32>>>| {
            let mut set = EdgeSet::new();
            for r in order {
                set.add_ring(r, true);
            }
            set.into_polygons()
        };
        let forward = merge(&mut squares.iter());
        let backward = merge(&mut squares.iter().rev());
        assert_eq!(forward, backward);
        let total: i128 = forward.iter().map(area2).sum();
        assert_eq!(total, 2 * 24 * 49);
    }

    #[test]
    fn degenerate_rings_add_nothing() {
        let mut set = EdgeSet::new();
        set.add_ring(&ring(&[(0, 0), (5, 0), (10, 0)]), true);
        set.add_ring(&ring(&[(3, 3)]), true);
        set.add_ring(&[], true);
        assert!(set.is_empty());
        assert!(set.into_polygons().is_empty());
    }

    #[test]
    fn edges_written_and_read_back_merge_with_later_rings_as_if_never_written() {
        // Three squares in a row, written; then the middle one taken away
        // and one added below, including negative coordinates (the buffer).
        let mut kept = EdgeSet::new();
        for x in [-10, 0, 10] {
            kept.add_ring(&square(x, 0, 10), true);
        }
        let mut bytes = Vec::new();
        kept.write(&mut bytes);
        bytes.extend_from_slice(b"rest");
        let mut rest = bytes.as_slice();
        let mut resumed = EdgeSet::read(&mut rest).expect("edges");
        assert_eq!(rest, b"rest");
        resumed.add_ring(&square(0, 0, 10), false);
        resumed.add_ring(&square(-10, -10, 10), true);

        let mut direct = EdgeSet::new();
        for (x, y) in [(-10, 0), (10, 0), (-10, -10)] {
            direct.add_ring(&square(x, y, 10), true);
        }
        let (resumed, direct) = (resumed.into_polygons(), direct.into_polygons());
        assert_eq!(resumed, direct);
        assert_eq!(resumed.len(), 2);
        // Truncated or foreign bytes are refused, not misread.
        assert!(EdgeSet::read(&mut &bytes[..bytes.len() - 9]).is_none());
        assert!(EdgeSet::read(&mut &[0xff_u8; 12][..]).is_none());
    }

    #[test]
    fn a_dense_class_holds_about_its_boundary_and_merges_the_same() {
        // 300 × 300 unit squares: 360,000 edges added, 1,200 on the boundary:
        // what is held stays under the first compaction's size.
        let mut set = EdgeSet::new();
        let mut most = 0;
        for i in 0..300 {
            for j in 0..300 {
                set.add_ring(&square(i, j, 1), true);
                most = most.max(set.edges.len());
            }
        }
        assert!(most <= FIRST_COMPACTION + 4, "held {most} edges at most");
        let polygons = set.into_polygons();
        assert_eq!(polygons.len(), 1);
        assert_eq!(area2(&polygons[0]), 2 * 300 * 300);
        // Every grid point of the boundary, and the closing point.
        assert_eq!(polygons[0].exterior().0.len(), 1_200 + 1);
    }
}
