//! Communes, districts and the province.
//!
//! Communes are the Voronoi cells of jittered seeds; the seeds inside an
//! irregular province outline become communes, and the "ghost" seeds outside
//! bound the outer cells. So communes tile the province exactly, each is
//! convex, and the province outline is the union of its communes.

use crate::names;
use crate::plane::{Frame, clip_to_nearer, distance};
use crate::rng::Rng;
use geo::{Coord, MultiPolygon, Polygon, coord};

/// Width and height of the province's plane, in metres.
pub const WIDTH: f64 = 80_000.0;
pub const HEIGHT: f64 = 70_000.0;
/// Typical distance between commune seeds.
pub const SPACING: f64 = 5_800.0;

/// One seed of the Voronoi diagram.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    pub at: Coord<f64>,
    /// Index into `Admin::communes`, or `None` for a ghost seed outside the province.
    pub commune: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct Commune {
    pub seed: usize,
    pub centre: Coord<f64>,
    /// Convex cell in the plane, open ring, counter-clockwise.
    pub ring: Vec<Coord<f64>>,
    pub polygon: Polygon<f64>,
    pub code: String,
    pub name: String,
    pub district: usize,
    pub kind: &'static str,
    /// South-eastern communes near the sea farm shrimp.
    pub coastal: bool,
    /// Communes that specialise in fruit orchards.
    pub orchards: bool,
}

#[derive(Debug, Clone)]
pub struct District {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    /// Commune holding the district town.
    pub seat: usize,
    pub polygon: MultiPolygon<f64>,
}

#[derive(Debug, Clone)]
pub struct Admin {
    pub frame: Frame,
    pub seeds: Vec<Seed>,
    pub communes: Vec<Commune>,
    pub districts: Vec<District>,
    pub province: MultiPolygon<f64>,
    /// Seeds by bucket of `SPACING` metres, for nearest-seed lookups.
    buckets: Vec<Vec<usize>>,
    bucket_origin: Coord<f64>,
    bucket_cols: usize,
    bucket_rows: usize,
}

const MARGIN: f64 = 2.0 * SPACING;

impl Admin {
    /// The seed nearest to a point (the Voronoi cell the point is in).
    #[must_use]
    pub fn nearest_seed(&self, p: Coord<f64>) -> usize {
        let (bx, by) = (
            ((p.x - self.bucket_origin.x) / SPACING).floor().max(0.0) as usize,
            ((p.y - self.bucket_origin.y) / SPACING).floor().max(0.0) as usize,
        );
        let mut best = (f64::INFINITY, 0);
        for y in by.saturating_sub(2)..=(by + 2).min(self.bucket_rows - 1) {
            for x in bx.saturating_sub(2)..=(bx + 2).min(self.bucket_cols - 1) {
                for &s in &self.buckets[y * self.bucket_cols + x] {
                    let d = (self.seeds[s].at.x - p.x).powi(2) + (self.seeds[s].at.y - p.y).powi(2);
                    if d < best.0 {
                        best = (d, s);
                    }
                }
            }
        }
        best.1
    }

    /// The commune a point of the plane is in, if it is in the province.
    #[must_use]
    pub fn commune_at(&self, p: Coord<f64>) -> Option<usize> {
        self.seeds[self.nearest_seed(p)].commune
    }

    /// Clips a convex ring to a commune's cell.
    #[must_use]
    pub fn clip_to_commune(&self, ring: &[Coord<f64>], commune: usize) -> Vec<Coord<f64>> {
        let own = self.seeds[self.communes[commune].seed].at;
        let mut out = ring.to_vec();
        for s in &self.seeds {
            if s.at != own && distance(s.at, own) < 3.0 * SPACING {
                out = clip_to_nearer(&out, own, s.at);
            }
        }
        out
    }
}

fn inside_outline(p: Coord<f64>, phase: (f64, f64)) -> bool {
    let (cx, cy) = (WIDTH / 2.0, HEIGHT / 2.0);
    let (dx, dy) = ((p.x - cx) / (WIDTH / 2.0), (p.y - cy) / (HEIGHT / 2.0));
    let theta = dy.atan2(dx);
    let r = (0.93 + 0.07 * (3.0 * theta + phase.0).sin() + 0.04 * (5.0 * theta + phase.1).sin()).min(1.0);
    (dx * dx + dy * dy).sqrt() < r
}

/// Builds the administrative units of the province.
#[must_use]
// One pass of the seeded generator: the order of its random draws is what makes
// the data, and it reads best in one place.
#[allow(clippy::too_many_lines)]
pub fn build(seed: u64, frame: Frame) -> Admin {
    let mut rng = Rng::stream(seed, "admin");
    let phase = (
        rng.range(0.0, std::f64::consts::TAU),
        rng.range(0.0, std::f64::consts::TAU),
    );
    let mut seeds = Vec::new();
    let mut y = -MARGIN;
    while y <= HEIGHT + MARGIN {
        let mut x = -MARGIN;
        while x <= WIDTH + MARGIN {
            let at = coord! { x: x + rng.range(-0.35, 0.35) * SPACING, y: y + rng.range(-0.35, 0.35) * SPACING };
            seeds.push(Seed { at, commune: None });
            x += SPACING;
        }
        y += SPACING;
    }
    let bucket_origin = coord! { x: -MARGIN - SPACING, y: -MARGIN - SPACING };
    let (bucket_cols, bucket_rows) = (
        ((WIDTH + 2.0 * MARGIN + 3.0 * SPACING) / SPACING) as usize + 1,
        ((HEIGHT + 2.0 * MARGIN + 3.0 * SPACING) / SPACING) as usize + 1,
    );
    let mut buckets = vec![Vec::new(); bucket_cols * bucket_rows];
    for (i, s) in seeds.iter().enumerate() {
        let (bx, by) = (
            ((s.at.x - bucket_origin.x) / SPACING) as usize,
            ((s.at.y - bucket_origin.y) / SPACING) as usize,
        );
        buckets[by * bucket_cols + bx].push(i);
    }

    // Communes: seeds inside the outline, ordered north to south, west to east
    // (the order official codes follow).
    let mut kept: Vec<usize> = (0..seeds.len())
        .filter(|&i| inside_outline(seeds[i].at, phase))
        .collect();
    kept.sort_by(|&a, &b| {
        let (pa, pb) = (seeds[a].at, seeds[b].at);
        (-(pa.y / SPACING).round(), pa.x)
            .partial_cmp(&(-(pb.y / SPACING).round(), pb.x))
            .expect("finite")
    });
    let mut communes: Vec<Commune> = Vec::with_capacity(kept.len());
    for (ci, &si) in kept.iter().enumerate() {
        seeds[si].commune = Some(ci);
        let c = seeds[si].at;
        let r = 3.0 * SPACING;
        let mut cell = vec![
            coord! { x: c.x - r, y: c.y - r },
            coord! { x: c.x + r, y: c.y - r },
            coord! { x: c.x + r, y: c.y + r },
            coord! { x: c.x - r, y: c.y + r },
        ];
        for (sj, other) in seeds.iter().enumerate() {
            if sj != si && distance(other.at, c) < r {
                cell = clip_to_nearer(&cell, c, other.at);
            }
        }
        let polygon = frame.polygon(&cell);
        communes.push(Commune {
            seed: si,
            centre: c,
            ring: cell,
            polygon,
            code: String::new(),
            name: String::new(),
            district: 0,
            kind: "xa",
            coastal: c.x / WIDTH - c.y / HEIGHT > 0.3,
            orchards: false,
        });
    }

    // Districts: farthest-point sampling from the commune nearest the centre
    // (the provincial capital), then every commune joins its nearest seat.
    let centre = coord! { x: WIDTH / 2.0, y: HEIGHT / 2.0 };
    let first = (0..communes.len())
        .min_by(|&a, &b| distance(communes[a].centre, centre).total_cmp(&distance(communes[b].centre, centre)))
        .expect("communes");
    let mut seats = vec![first];
    while seats.len() < 10 {
        let next = (0..communes.len())
            .max_by(|&a, &b| {
                let da = seats
                    .iter()
                    .map(|&s| distance(communes[a].centre, communes[s].centre))
                    .fold(f64::INFINITY, f64::min);
                let db = seats
                    .iter()
                    .map(|&s| distance(communes[b].centre, communes[s].centre))
                    .fold(f64::INFINITY, f64::min);
                da.total_cmp(&db)
            })
            .expect("communes");
        seats.push(next);
    }
    // Seats near the edge make thin districts: pull each a little inward by
    // taking the commune nearest to the midpoint between it and the centre.
    for s in seats.iter_mut().skip(1) {
        let c = communes[*s].centre;
        let target = coord! { x: (c.x * 2.0 + centre.x) / 3.0, y: (c.y * 2.0 + centre.y) / 3.0 };
        *s = (0..communes.len())
            .min_by(|&a, &b| distance(communes[a].centre, target).total_cmp(&distance(communes[b].centre, target)))
            .expect("communes");
    }
    seats.dedup();
    let seat_centres: Vec<Coord<f64>> = seats.iter().map(|&s| communes[s].centre).collect();
    for c in &mut communes {
        c.district = (0..seats.len())
            .min_by(|&a, &b| distance(c.centre, seat_centres[a]).total_cmp(&distance(c.centre, seat_centres[b])))
            .expect("seats");
    }

    // Codes follow district order, then north-to-south within the district.
    let mut order: Vec<usize> = (0..communes.len()).collect();
    order.sort_by_key(|&c| (communes[c].district, c));
    let mut commune_names = names::communes(&mut rng, communes.len());
    // The two named communes are rural ones outside the capital district.
    let rural: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&c| communes[c].district != 0 && !seats.contains(&c))
        .collect();
    let fixed = [rural[rural.len() / 5], rural[(rural.len() * 3) / 5]];
    let mut next_name = commune_names.split_off(2).into_iter();
    for (n, &c) in order.iter().enumerate() {
        communes[c].code = format!("{}", 33_001 + n);
        communes[c].name = match fixed.iter().position(|&f| f == c) {
            Some(i) => commune_names[i].clone(),
            None => next_name.next().expect("enough names"),
        };
    }
    let mut districts = Vec::new();
    for (d, &seat) in seats.iter().enumerate() {
        let kind = match d {
            0 => "thanh_pho",
            1 => "thi_xa",
            _ => "huyen",
        };
        let members: Vec<Polygon<f64>> = communes
            .iter()
            .filter(|c| c.district == d)
            .map(|c| c.polygon.clone())
            .collect();
        districts.push(District {
            code: format!("{}", 980 + d),
            name: names::DISTRICTS[d].to_owned(),
            kind,
            seat,
            polygon: geo::unary_union(&members),
        });
    }
    for (i, c) in communes.iter_mut().enumerate() {
        c.kind = match districts[c.district].kind {
            "thanh_pho" | "thi_xa" => "phuong",
            _ if districts[c.district].seat == i => "thi_tran",
            _ => "xa",
        };
    }
    let all: Vec<Polygon<f64>> = communes.iter().map(|c| c.polygon.clone()).collect();
    let province = geo::unary_union(&all);
    Admin {
        frame,
        seeds,
        communes,
        districts,
        province,
        buckets,
        bucket_origin,
        bucket_cols,
        bucket_rows,
    }
}
