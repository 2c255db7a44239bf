//! Crop parcels, aquaculture ponds and registered growing areas.
//!
//! All three are cells of one grid of strips (about 2.5 : 1, north–south), so
//! they tessellate without overlaps. Cells in the water are skipped; ponds are
//! taken first, in coastal communes and along the main river; parcels then take
//! the best remaining cells by a priority that mixes smooth noise (farmland
//! comes in blocks) with nearness to the commune centre (villages farm around
//! themselves). A cell cut by a commune boundary is clipped to its commune,
//! except for a share that is kept whole and so straddles the boundary, as real
//! parcels do. The cell size shrinks with the parcel count, so `--parcels
//! 2000000` still fits the province.

use crate::admin::Admin;
use crate::feature::{FeatureBuilder, geodesic_ha};
use crate::names;
use crate::network::{Waterway, clearance};
use crate::plane::distance;
use crate::rng::{Rng, hash01, value_noise};
use agrimap_model::Feature;
use geo::{Coord, coord};
use std::collections::HashMap;

/// Share of boundary cells kept whole (straddling two communes).
const STRADDLE_SHARE: f64 = 0.55;

struct Grid {
    origin: Coord<f64>,
    width: f64,
    height: f64,
    cols: i64,
    rows: i64,
}

impl Grid {
    fn cell(&self, i: i64, j: i64) -> [Coord<f64>; 4] {
        let (x0, y0) = (
            self.origin.x + i as f64 * self.width,
            self.origin.y + j as f64 * self.height,
        );
        [
            coord! { x: x0, y: y0 },
            coord! { x: x0 + self.width, y: y0 },
            coord! { x: x0 + self.width, y: y0 + self.height },
            coord! { x: x0, y: y0 + self.height },
        ]
    }

    fn centre(&self, i: i64, j: i64) -> Coord<f64> {
        coord! { x: self.origin.x + (i as f64 + 0.5) * self.width, y: self.origin.y + (j as f64 + 0.5) * self.height }
    }
}

#[derive(Clone, Copy)]
struct Candidate {
    cell: (i64, i64),
    commune: usize,
    priority: f64,
    pond_site: bool,
}

/// What the farmland step produces.
pub struct Farmland {
    pub crop: Vec<Feature>,
    pub aquaculture: Vec<Feature>,
    pub growing_areas: Vec<Feature>,
    /// Plane centre and commune of some rice parcels, for insect traps.
    pub rice_sites: Vec<(Coord<f64>, usize)>,
}

/// One selected parcel before it becomes a feature.
struct Parcel {
    cell: (i64, i64),
    commune: usize,
    ring: Vec<Coord<f64>>,
    whole: bool,
    crop: &'static str,
    growing_area: Option<usize>,
}

fn crop_for(seed: u64, admin: &Admin, commune: usize, c: Coord<f64>) -> &'static str {
    let r = ((value_noise(seed ^ 0xC0, c.x, c.y, 900.0) - 0.5) * 1.7 + 0.5).clamp(0.0, 0.9999);
    if admin.communes[commune].orchards {
        match r {
            r if r < 0.22 => "mango",
            r if r < 0.40 => "longan",
            r if r < 0.52 => "durian",
            r if r < 0.66 => "pomelo",
            r if r < 0.80 => "vegetables",
            _ => "rice",
        }
    } else {
        match r {
            r if r < 0.70 => "rice",
            r if r < 0.84 => "vegetables",
            r if r < 0.90 => "lotus",
            r if r < 0.95 => "pomelo",
            _ => "mango",
        }
    }
}

/// Builds crop parcels, ponds and growing areas.
#[must_use]
// One pass of the seeded generator: the order of its random draws is what makes
// the data, and it reads best in one place.
#[allow(clippy::too_many_lines)]
pub fn build(seed: u64, admin: &Admin, water: &[Waterway], parcels: usize) -> Farmland {
    let land_m2: f64 = admin.communes.iter().map(|c| ring_area(&c.ring)).sum();
    let cell_area = (0.7 * land_m2 / parcels.max(1) as f64).min(5_000.0);
    let width = (cell_area / 2.5).sqrt();
    let (min, max) = admin.communes.iter().flat_map(|c| c.ring.iter()).fold(
        (
            coord! { x: f64::INFINITY, y: f64::INFINITY },
            coord! { x: f64::NEG_INFINITY, y: f64::NEG_INFINITY },
        ),
        |(lo, hi), p| {
            (
                coord! { x: lo.x.min(p.x), y: lo.y.min(p.y) },
                coord! { x: hi.x.max(p.x), y: hi.y.max(p.y) },
            )
        },
    );
    let grid = Grid {
        origin: min,
        width,
        height: width * 2.5,
        cols: ((max.x - min.x) / width).ceil() as i64,
        rows: ((max.y - min.y) / (width * 2.5)).ceil() as i64,
    };

    let main_river = &water[0];
    let mut candidates = Vec::new();
    for j in 0..grid.rows {
        for i in 0..grid.cols {
            let c = grid.centre(i, j);
            let Some(commune) = admin.commune_at(c) else { continue };
            if clearance(c, water) < grid.height * 0.6 + 10.0 {
                continue;
            }
            let home = &admin.communes[commune];
            let near = distance(c, home.centre) / crate::admin::SPACING;
            let priority = 0.6 * value_noise(seed, c.x, c.y, 1_500.0) + 0.4 * near + 0.02 * hash01(seed, i, j);
            let river_side =
                crate::plane::polyline_distance(c, &main_river.line) < 3_000.0 && hash01(seed ^ 7, i / 8, j / 4) < 0.35;
            candidates.push(Candidate {
                cell: (i, j),
                commune,
                priority,
                pond_site: home.coastal || river_side,
            });
        }
    }
    candidates.sort_by(|a, b| a.priority.total_cmp(&b.priority).then(a.cell.cmp(&b.cell)));

    let pond_target = (parcels / 12).max(3_000);
    let mut taken: HashMap<(i64, i64), usize> = HashMap::new();
    let mut pond_cells = Vec::new();
    let mut parcel_list: Vec<Parcel> = Vec::with_capacity(parcels);
    for cand in &candidates {
        if pond_cells.len() < pond_target && cand.pond_site {
            pond_cells.push(*cand);
            continue;
        }
        if parcel_list.len() == parcels {
            if pond_cells.len() == pond_target {
                break;
            }
            continue;
        }
        let (ring, whole) = fit_to_commune(seed, admin, &grid, cand);
        let c = grid.centre(cand.cell.0, cand.cell.1);
        taken.insert(cand.cell, parcel_list.len());
        parcel_list.push(Parcel {
            cell: cand.cell,
            commune: cand.commune,
            ring,
            whole,
            crop: crop_for(seed, admin, cand.commune, c),
            growing_area: None,
        });
    }
    assert_eq!(parcel_list.len(), parcels, "the province has room for every parcel");

    let areas = growing_areas(seed, admin, &grid, &mut parcel_list, &taken);
    let mut rng = Rng::stream(seed, "crop");
    let mut crop = Vec::with_capacity(parcels);
    let mut rice_sites = Vec::new();
    for (n, p) in parcel_list.iter().enumerate() {
        let commune = &admin.communes[p.commune];
        let polygon = admin.frame.polygon(&p.ring);
        let (season, planted) = season_and_date(&mut rng, seed, p.commune, p.crop);
        let practice = if p.growing_area.is_some() {
            *rng.pick(&["vietgap", "vietgap", "globalgap", "organic"])
        } else if p.crop == "rice" {
            *rng.pick(&["conventional", "conventional", "conventional", "vietgap", "organic"])
        } else {
            *rng.pick(&["conventional", "conventional", "vietgap", "globalgap"])
        };
        if p.crop == "rice" && p.whole && n % 997 == 0 {
            rice_sites.push((grid.centre(p.cell.0, p.cell.1), p.commune));
        }
        let household = format!("HH-{}-{:06}", commune.code, n / 3);
        crop.push(
            FeatureBuilder::new("crop", n, polygon.clone().into())
                .set("parcel_id", format!("PS-{:07}", n + 1))
                .set("commune_code", commune.code.clone())
                .set("crop_type", p.crop)
                .set("season", season)
                .set("variety", *rng.pick(names::varieties(p.crop)))
                .set("area_ha", geodesic_ha(&polygon.into()))
                .set("planting_date", planted)
                .set("practice", practice)
                .set_opt("growing_area_code", p.growing_area.map(|g| areas.codes[g].clone()))
                .set("owner_name", names::person(&mut rng))
                .set("owner_phone", names::phone(&mut rng))
                .set("household_id", household)
                .build(),
        );
    }

    let aquaculture = ponds(seed, admin, &grid, &pond_cells);
    Farmland {
        crop,
        aquaculture,
        growing_areas: areas.features,
        rice_sites,
    }
}

/// The parcel's ring: the whole cell, or the cell clipped to its commune.
fn fit_to_commune(seed: u64, admin: &Admin, grid: &Grid, cand: &Candidate) -> (Vec<Coord<f64>>, bool) {
    let cell = grid.cell(cand.cell.0, cand.cell.1);
    let corners: Vec<Option<usize>> = cell.iter().map(|c| admin.commune_at(*c)).collect();
    if corners.iter().all(|c| *c == Some(cand.commune)) {
        return (cell.to_vec(), true);
    }
    let inside_province = corners.iter().all(Option::is_some);
    if inside_province && hash01(seed ^ 0x5A, cand.cell.0, cand.cell.1) < STRADDLE_SHARE {
        return (cell.to_vec(), false);
    }
    (admin.clip_to_commune(&cell, cand.commune), false)
}

fn season_and_date(rng: &mut Rng, seed: u64, commune: usize, crop: &str) -> (&'static str, String) {
    let commune_draw = hash01(seed ^ 0x5E, commune as i64, 0);
    match crop {
        "rice" if commune_draw < 0.6 => ("dong_xuan", format!("2026-11-{:02}", 1 + rng.below(20))),
        "rice" if commune_draw < 0.9 => ("he_thu", format!("2026-05-{:02}", 1 + rng.below(25))),
        "rice" => ("thu_dong", format!("2026-08-{:02}", 5 + rng.below(20))),
        "vegetables" => (
            *rng.pick(&["dong_xuan", "thu_dong"]),
            format!("2026-10-{:02}", 1 + rng.below(28)),
        ),
        "lotus" => ("he_thu", format!("2026-04-{:02}", 1 + rng.below(28))),
        _ => (
            "perennial",
            format!(
                "{}-{:02}-{:02}",
                2010 + rng.below(13),
                5 + rng.below(4),
                1 + rng.below(28)
            ),
        ),
    }
}

struct GrowingAreas {
    features: Vec<Feature>,
    codes: Vec<String>,
}

/// About a hundred blocks of six by three whole parcels of one crop in one commune.
fn growing_areas(
    seed: u64,
    admin: &Admin,
    grid: &Grid,
    parcels: &mut [Parcel],
    taken: &HashMap<(i64, i64), usize>,
) -> GrowingAreas {
    const BLOCK: (i64, i64) = (6, 3);
    let mut rng = Rng::stream(seed, "growing_area");
    let mut order: Vec<usize> = (0..parcels.len()).collect();
    rng.shuffle(&mut order);
    let mut out = GrowingAreas {
        features: Vec::new(),
        codes: Vec::new(),
    };
    for anchor in order {
        if out.features.len() == 100 {
            break;
        }
        let a = &parcels[anchor];
        let abbreviation = match a.crop {
            "rice" => "RI",
            "mango" => "MA",
            "longan" => "LO",
            "durian" => "DU",
            "pomelo" => "PO",
            _ => continue,
        };
        let (crop, commune, (i0, j0)) = (a.crop, a.commune, a.cell);
        let mut members = Vec::new();
        for j in j0..j0 + BLOCK.1 {
            for i in i0..i0 + BLOCK.0 {
                match taken.get(&(i, j)).map(|&k| (k, &parcels[k])) {
                    Some((k, p)) if p.crop == crop && p.commune == commune && p.whole && p.growing_area.is_none() => {
                        members.push(k);
                    }
                    _ => break,
                }
            }
        }
        if members.len() != (BLOCK.0 * BLOCK.1) as usize {
            continue;
        }
        let index = out.features.len();
        let code = format!("VN-PS{abbreviation}-{:04}", index + 1);
        for &k in &members {
            parcels[k].growing_area = Some(index);
        }
        let (lo, hi) = (grid.cell(i0, j0)[0], grid.cell(i0 + BLOCK.0 - 1, j0 + BLOCK.1 - 1)[2]);
        let corners = [lo, coord! { x: hi.x, y: lo.y }, hi, coord! { x: lo.x, y: hi.y }];
        let polygon = admin.frame.polygon(&corners);
        let c = &admin.communes[commune];
        let markets = match crop {
            "durian" => "CN",
            "mango" => *rng.pick(&["CN,US,AU,KR", "CN,JP", "US,AU"]),
            "longan" => *rng.pick(&["CN,US", "US,AU,EU"]),
            "pomelo" => *rng.pick(&["US,EU", "CN,US,EU"]),
            _ => *rng.pick(&["EU", "EU,SG", "PH,SG"]),
        };
        let status = *rng.pick(&[
            "active",
            "active",
            "active",
            "active",
            "active",
            "active",
            "active",
            "active",
            "suspended",
            "revoked",
        ]);
        let year = 2021 + rng.below(5);
        out.features.push(
            FeatureBuilder::new("growing_area", index, polygon.clone().into())
                .set("code", code.clone())
                .set("commune_code", c.code.clone())
                .set("crop_type", crop)
                .set("area_ha", geodesic_ha(&polygon.into()))
                .set("markets", markets)
                .set("status", status)
                .set(
                    "issued_on",
                    format!("{year}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
                )
                .set(
                    "expires_on",
                    format!("{}-{:02}-{:02}", year + 5, 1 + rng.below(12), 1 + rng.below(28)),
                )
                .set("households", i64::try_from(6 + rng.below(12)).unwrap_or(6))
                .set("cooperative", format!("HTX Nông nghiệp {}", c.name))
                .set("contact_phone", names::phone(&mut rng))
                .build(),
        );
        out.codes.push(code);
    }
    out
}

fn ponds(seed: u64, admin: &Admin, grid: &Grid, cells: &[Candidate]) -> Vec<Feature> {
    let mut rng = Rng::stream(seed, "aquaculture");
    cells
        .iter()
        .enumerate()
        .map(|(n, cand)| {
            let commune = &admin.communes[cand.commune];
            let (outline, _) = fit_to_commune(seed, admin, grid, cand);
            // A pond is the cell less its dykes.
            let polygon = admin.frame.polygon(&shrink(&outline, 0.06));
            let (species, mode) = if commune.coastal {
                (
                    *rng.pick(&["black_tiger_shrimp", "whiteleg_shrimp", "whiteleg_shrimp"]),
                    *rng.pick(&["intensive", "intensive", "semi_intensive", "extensive", "rice_shrimp"]),
                )
            } else {
                (
                    *rng.pick(&["tra_catfish", "tra_catfish", "giant_freshwater_prawn", "snakehead"]),
                    *rng.pick(&["intensive", "semi_intensive"]),
                )
            };
            FeatureBuilder::new("aquaculture", n, polygon.clone().into())
                .set("pond_id", format!("AQ-{:06}", n + 1))
                .set("commune_code", commune.code.clone())
                .set("species", species)
                .set("mode", mode)
                .set("water_area_ha", geodesic_ha(&polygon.into()))
                .set("facility_code", format!("99-{}-{:04}", commune.code, n % 10_000))
                .set(
                    "stocking_date",
                    format!("2026-{:02}-{:02}", 6 + rng.below(5), 1 + rng.below(28)),
                )
                .set(
                    "certification",
                    *rng.pick(&["none", "none", "none", "vietgap", "asc", "bap"]),
                )
                .set("owner_name", names::person(&mut rng))
                .set("owner_phone", names::phone(&mut rng))
                .build()
        })
        .collect()
}

/// Shrinks a convex ring towards its centroid by a share of its size.
fn shrink(ring: &[Coord<f64>], share: f64) -> Vec<Coord<f64>> {
    let n = ring.len() as f64;
    let c = ring.iter().fold(
        coord! { x: 0.0, y: 0.0 },
        |a, p| coord! { x: a.x + p.x / n, y: a.y + p.y / n },
    );
    ring.iter()
        .map(|p| coord! { x: p.x + (c.x - p.x) * share, y: p.y + (c.y - p.y) * share })
        .collect()
}

/// Area of a ring in the plane (square metres).
#[must_use]
pub fn ring_area(ring: &[Coord<f64>]) -> f64 {
    let mut a = 0.0;
    for i in 0..ring.len() {
        let (p, q) = (ring[i], ring[(i + 1) % ring.len()]);
        a += p.x * q.y - q.x * p.y;
    }
    a.abs() / 2.0
}
