//! Forest plots of the demo province: mangrove protection forest on the
//! coast (đước, mắm, bần) and production forest of melaleuca and acacia
//! inland, as small plots clipped to their commune.

use crate::admin::{Admin, HEIGHT, WIDTH};
use crate::feature::{FeatureBuilder, geodesic_ha};
use crate::names;
use crate::plane::round7;
use crate::rng::Rng;
use agrimap_model::Feature;
use geo::{BooleanOps, Coord, MapCoords, coord};

/// How far towards the sea (south-east) a point of the plane lies.
fn seaward(p: Coord<f64>) -> f64 {
    p.x / WIDTH - p.y / HEIGHT
}

/// The plots.
#[must_use]
pub fn build(seed: u64, admin: &Admin) -> Vec<Feature> {
    let mut rng = Rng::stream(seed, "forestry");
    let mut out = Vec::new();
    for (ci, c) in admin.communes.iter().enumerate() {
        // Coastal communes keep a mangrove belt; a few inland communes in
        // the west (the lowland of acid sulphate soils) grow melaleuca and acacia.
        let plots = if c.coastal {
            4
        } else if c.centre.x < WIDTH * 0.3 && c.centre.y > HEIGHT * 0.45 && rng.f64() < 0.35 {
            2
        } else {
            continue;
        };
        // Candidate places on the commune's ring, most seaward first for mangroves.
        let mut corners: Vec<Coord<f64>> = c.ring.clone();
        if c.coastal {
            corners.sort_by(|a, b| seaward(*b).total_cmp(&seaward(*a)));
        } else {
            rng.shuffle(&mut corners);
        }
        let mut placed = 0;
        for corner in corners.iter().step_by(3) {
            if placed == plots {
                break;
            }
            // Pull the plot a little inside from the boundary, towards the centre.
            let at =
                coord! { x: corner.x + (c.centre.x - corner.x) * 0.15, y: corner.y + (c.centre.y - corner.y) * 0.15 };
            let (w, h) = (rng.range(250.0, 600.0), rng.range(250.0, 600.0));
            let square = [
                coord! { x: at.x - w, y: at.y - h },
                coord! { x: at.x + w, y: at.y - h },
                coord! { x: at.x + w, y: at.y + h },
                coord! { x: at.x - w, y: at.y + h },
            ];
            let clipped = admin.clip_to_commune(&square, ci);
            if clipped.len() < 3 || crate::farmland::ring_area(&clipped) < 50_000.0 {
                continue;
            }
            let (forest_type, species) = if c.coastal {
                (
                    "protection",
                    *rng.pick(&["rhizophora", "rhizophora", "avicennia", "sonneratia"]),
                )
            } else {
                ("production", *rng.pick(&["melaleuca", "melaleuca", "acacia"]))
            };
            // Within the commune as drawn (the coast cuts the cells of coastal communes).
            let inside = geo::MultiPolygon(vec![c.polygon.clone()])
                .intersection(&geo::MultiPolygon(vec![admin.frame.polygon(&clipped)]))
                .map_coords(|p| coord! { x: round7(p.x), y: round7(p.y) });
            if inside.0.is_empty() {
                continue;
            }
            let g: geo::Geometry<f64> = inside.into();
            let n = out.len();
            let owner = if forest_type == "protection" {
                "Ban quản lý rừng phòng hộ ven biển Phù Sa".to_owned()
            } else {
                names::person(&mut rng)
            };
            out.push(
                FeatureBuilder::new("forest_plots", n, g.clone())
                    .set("plot_id", format!("LR-{}-{:02}", c.code, placed + 1))
                    .set("commune_code", c.code.clone())
                    .set("forest_type", forest_type)
                    .set("species", species)
                    .set("planting_year", i64::try_from(1998 + rng.below(26)).unwrap_or(2010))
                    .set("area_ha", geodesic_ha(&g))
                    .set("owner_name", owner)
                    .set("owner_phone", names::phone(&mut rng))
                    .build(),
            );
            placed += 1;
        }
    }
    out
}
