//! The demo province: a deterministic, clearly labelled **synthetic** province
//! of the Mekong delta, with every layer of the catalog.
//!
//! - [`generate`] builds it in memory: about 120 communes in 10 districts,
//!   rivers, canals, roads and places, crop parcels (60,000 by default, any
//!   number up to a few million), aquaculture ponds, monitoring stations with
//!   thirty days of hourly readings, about 100 growing areas and 150 OCOP products.
//! - [`write_dir`] / [`read_layer`] / [`read_readings`] / [`read_manifest`]
//!   store it as gzipped GeoJSON lines, one file per layer, which is what ships
//!   in `data/demo` and what a new store is seeded from.
//!
//! The same seed gives the same bytes: randomness comes from a hand-written
//! generator ([`rng`]), nothing iterates a hash map into the output, and the
//! files are written with fixed formatting and no timestamps.

mod admin;
mod farmland;
mod feature;
mod files;
mod forestry;
pub mod history;
mod irrigation;
mod livestock;
mod names;
mod network;
mod plane;
pub mod rng;
mod stations;

use agrimap_model::{Feature, LayerDef, Reading, catalog};
use feature::{FeatureBuilder, geodesic_ha};
use geo::{BooleanOps, BoundingRect, Point, coord};
use rng::{Rng, hash01};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use files::{parse_feature, parse_readings, read_history, read_layer, read_manifest, read_readings};
pub use history::{ChangeKind, DemoChange, HISTORY_FROM, Step, replay};

/// Options of the generator.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The same seed gives the same province, byte for byte.
    pub seed: u64,
    /// Number of crop parcels.
    pub parcels: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            seed: 2025,
            parcels: 60_000,
        }
    }
}

/// The province in memory: every catalog layer, in catalog order, and the readings.
#[derive(Debug, Clone)]
pub struct DemoProvince {
    pub layers: Vec<(&'static LayerDef, Vec<Feature>)>,
    pub readings: Vec<Reading>,
    /// What changed on the farmland since [`HISTORY_FROM`], oldest first.
    pub history: Vec<DemoChange>,
}

impl DemoProvince {
    /// The features of one layer.
    #[must_use]
    pub fn layer(&self, id: &str) -> &[Feature] {
        self.layers
            .iter()
            .find(|(l, _)| l.id == id)
            .map_or(&[], |(_, f)| f.as_slice())
    }
}

/// What `manifest.json` says about a generated province.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    /// Always true: nothing here describes real people, parcels or businesses.
    pub synthetic: bool,
    pub notice: String,
    pub seed: u64,
    pub parcels: usize,
    /// Features per layer, and `readings`.
    pub counts: BTreeMap<String, usize>,
    /// West, south, east, north (degrees).
    pub bounds: [f64; 4],
    pub center: [f64; 2],
}

/// Errors reading or writing a demo province.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}, line {line}: {message}")]
    Format {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl DemoError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    fn format(path: &Path, line: usize, message: String) -> Self {
        Self::Format {
            path: path.to_owned(),
            line,
            message,
        }
    }
}

const PROVINCE_NAME: &str = "Tỉnh Phù Sa (dữ liệu mô phỏng)";

/// Generates the province.
#[must_use]
pub fn generate(opts: &DemoOptions) -> DemoProvince {
    let seed = opts.seed;
    let frame = plane::Frame::new(105.45, 9.60, 9.92);
    let mut admin = admin::build(seed, frame);
    let water = network::waterways(seed);
    for (i, c) in admin.communes.iter_mut().enumerate() {
        let draw = hash01(seed ^ 0x0C, i as i64, 1);
        c.orchards = !c.coastal && plane::polyline_distance(c.centre, &water[0].line) < 8_000.0 && draw < 0.6;
    }
    let (roads, hamlets) = network::roads(seed, &admin, &water);
    let farmland = farmland::build(seed, &admin, &water, opts.parcels);
    let (monitoring, readings) = stations::build(seed, &admin, &water, &farmland.rice_sites);

    let mut layers: BTreeMap<&str, Vec<Feature>> = BTreeMap::new();
    layers.insert("admin_province", vec![province_feature(&admin)]);
    layers.insert("admin_district", district_features(&admin));
    layers.insert("admin_commune", commune_features(seed, &admin));
    layers.insert(
        "water",
        water
            .iter()
            .map(|w| {
                // Rivers flow on beyond the province; canals are dug within it.
                let line = frame.line(&w.line);
                let geometry: geo::Geometry<f64> = if w.kind == "canal" {
                    admin.province.clip(&geo::MultiLineString(vec![line]), false).into()
                } else {
                    line.into()
                };
                (w, geometry)
            })
            .filter(|(_, g)| g.bounding_rect().is_some())
            .enumerate()
            .map(|(n, (w, geometry))| {
                FeatureBuilder::new("water", n, geometry)
                    .set("name", w.name.clone())
                    .set("kind", w.kind)
                    .set("width_m", w.width_m)
                    .build()
            })
            .collect(),
    );
    layers.insert(
        "roads",
        roads
            .iter()
            .enumerate()
            .map(|(n, r)| {
                FeatureBuilder::new("roads", n, frame.line(&r.line).into())
                    .set("name", r.name.clone())
                    .set_opt("ref", r.reference.clone())
                    .set("class", r.class)
                    .set("surface", r.surface)
                    .build()
            })
            .collect(),
    );
    layers.insert("places", place_features(seed, &admin, &hamlets));
    layers.insert("crop", farmland.crop);
    layers.insert("aquaculture", farmland.aquaculture);
    layers.insert("monitoring", monitoring);
    layers.insert("growing_area", farmland.growing_areas);
    layers.insert("ocop", ocop_features(seed, &admin));
    let irrigation = irrigation::build(seed, &admin, &water, layers.get("crop").map_or(&[], Vec::as_slice));
    layers.insert("irrigation_works", irrigation.works);
    layers.insert("irrigated_areas", irrigation.areas);
    layers.insert("forest_plots", forestry::build(seed, &admin));
    layers.insert("livestock_farms", livestock::build(seed, &admin, &hamlets));
    let history = history::build(seed, &mut layers);
    DemoProvince {
        layers: catalog()
            .iter()
            .map(|l| (l, layers.remove(l.id).unwrap_or_default()))
            .collect(),
        readings,
        history,
    }
}

fn province_feature(admin: &admin::Admin) -> Feature {
    let g: geo::Geometry<f64> = admin.province.clone().into();
    FeatureBuilder::new("admin_province", 0, g.clone())
        .set("code", "99")
        .set("name", PROVINCE_NAME)
        .set("area_ha", geodesic_ha(&g))
        .build()
}

fn district_features(admin: &admin::Admin) -> Vec<Feature> {
    admin
        .districts
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let g: geo::Geometry<f64> = d.polygon.clone().into();
            let prefix = match d.kind {
                "thanh_pho" => "Thành phố",
                "thi_xa" => "Thị xã",
                _ => "Huyện",
            };
            FeatureBuilder::new("admin_district", n, g.clone())
                .set("code", d.code.clone())
                .set("name", format!("{prefix} {}", d.name))
                .set("province_code", "99")
                .set("kind", d.kind)
                .set("area_ha", geodesic_ha(&g))
                .build()
        })
        .collect()
}

fn commune_features(seed: u64, admin: &admin::Admin) -> Vec<Feature> {
    let mut rng = Rng::stream(seed, "communes");
    let mut order: Vec<usize> = (0..admin.communes.len()).collect();
    order.sort_by(|&a, &b| admin.communes[a].code.cmp(&admin.communes[b].code));
    order
        .iter()
        .enumerate()
        .map(|(n, &i)| {
            let c = &admin.communes[i];
            let g: geo::Geometry<f64> = c.polygon.clone().into();
            let status = *rng.pick(&[
                "not_yet", "standard", "standard", "standard", "advanced", "advanced", "model",
            ]);
            let year = (status != "not_yet").then(|| i64::try_from(2016 + rng.below(10)).unwrap_or(2020));
            FeatureBuilder::new("admin_commune", n, g.clone())
                .set("code", c.code.clone())
                .set("name", c.name.clone())
                .set("district_code", admin.districts[c.district].code.clone())
                .set("province_code", "99")
                .set("kind", c.kind)
                .set("ntm_status", status)
                .set_opt("ntm_year", year)
                .set("population", i64::try_from(7_000 + rng.below(20_000)).unwrap_or(10_000))
                .set("area_ha", geodesic_ha(&g))
                .build()
        })
        .collect()
}

const HAMLETS: &[&str] = &[
    "Ấp Mỹ Hòa",
    "Ấp Tân Lợi",
    "Ấp Long Thạnh",
    "Ấp Phú Hưng",
    "Ấp Bình An",
    "Ấp Hòa Lợi",
    "Ấp Thạnh Phú",
    "Ấp Vĩnh Lợi",
];

fn place_features(seed: u64, admin: &admin::Admin, hamlets: &[geo::Coord<f64>]) -> Vec<Feature> {
    let mut rng = Rng::stream(seed, "places");
    let mut out = Vec::new();
    for (i, c) in admin.communes.iter().enumerate() {
        let seat_of = admin.districts.iter().position(|d| d.seat == i);
        let (name, kind, population) = match seat_of {
            Some(0) => (
                "Thành phố Phù Sa".to_owned(),
                "province_capital",
                150_000 + rng.below(50_000),
            ),
            Some(d) => (
                format!("Thị trấn {}", admin.districts[d].name),
                "town",
                15_000 + rng.below(20_000),
            ),
            None => (c.name.clone(), "commune_centre", 1_500 + rng.below(4_000)),
        };
        let point: Point<f64> = admin.frame.lonlat(c.centre).into();
        out.push(
            FeatureBuilder::new("places", out.len(), point.into())
                .set("name", name)
                .set("kind", kind)
                .set("commune_code", c.code.clone())
                .set("population", i64::try_from(population).unwrap_or(0))
                .build(),
        );
    }
    for (k, h) in hamlets.iter().enumerate() {
        let commune = admin.commune_at(*h).map(|c| admin.communes[c].code.clone());
        let point: Point<f64> = admin.frame.lonlat(*h).into();
        out.push(
            FeatureBuilder::new("places", out.len(), point.into())
                .set("name", HAMLETS[k % HAMLETS.len()])
                .set("kind", "hamlet")
                .set_opt("commune_code", commune)
                .set("population", i64::try_from(300 + rng.below(1_200)).unwrap_or(0))
                .build(),
        );
    }
    out
}

fn ocop_features(seed: u64, admin: &admin::Admin) -> Vec<Feature> {
    let mut rng = Rng::stream(seed, "ocop");
    (0..150)
        .map(|n| {
            let ci = rng.below(admin.communes.len());
            let c = &admin.communes[ci];
            let (stem, category) = *rng.pick(names::OCOP_PRODUCTS);
            let stars = match rng.f64() {
                r if r < 0.62 => 3,
                r if r < 0.92 => 4,
                _ => 5,
            };
            // Near the commune centre, always inside the commune.
            let mut at = c.centre;
            for _ in 0..8 {
                let p = coord! { x: c.centre.x + rng.range(-900.0, 900.0), y: c.centre.y + rng.range(-900.0, 900.0) };
                if admin.commune_at(p) == Some(ci) {
                    at = p;
                    break;
                }
            }
            let product_id = format!("OCOP-99-{:04}", n + 1);
            let producer = match rng.below(3) {
                0 => format!("HTX {} {}", stem, c.name),
                1 => format!("Cơ sở {} {}", names::person(&mut rng), c.name),
                _ => format!("Công ty TNHH {stem} Phù Sa"),
            };
            let point: Point<f64> = admin.frame.lonlat(at).into();
            FeatureBuilder::new("ocop", n, point.into())
                .set("product_id", product_id.clone())
                .set("commune_code", c.code.clone())
                .set("name", format!("{stem} {}", c.name))
                .set("category", category)
                .set("stars", stars)
                .set("producer", producer)
                .set("certified_year", i64::try_from(2019 + rng.below(8)).unwrap_or(2020))
                .set("qr_url", format!("https://truyxuat.phusa.example/ocop/{product_id}"))
                .build()
        })
        .collect()
}

/// Writes the province into `dir` and returns its manifest.
///
/// # Errors
/// When a file cannot be written.
pub fn write_dir(p: &DemoProvince, opts: &DemoOptions, dir: &Path) -> Result<Manifest, DemoError> {
    let mut counts: BTreeMap<String, usize> = p.layers.iter().map(|(l, f)| (l.id.to_owned(), f.len())).collect();
    counts.insert("readings".into(), p.readings.len());
    let bounds = p
        .layer("admin_province")
        .first()
        .and_then(|f| f.geometry.bounding_rect())
        .map_or([0.0; 4], |r| {
            [
                plane::round7(r.min().x),
                plane::round7(r.min().y),
                plane::round7(r.max().x),
                plane::round7(r.max().y),
            ]
        });
    let manifest = Manifest {
        name: PROVINCE_NAME.into(),
        synthetic: true,
        notice: "Synthetic demo data generated by `agrimap demo-data`: no real people, parcels or businesses.".into(),
        seed: opts.seed,
        parcels: opts.parcels,
        counts,
        bounds,
        center: [
            plane::round7(f64::midpoint(bounds[0], bounds[2])),
            plane::round7(f64::midpoint(bounds[1], bounds[3])),
        ],
    };
    files::write_dir(p, &manifest, dir)?;
    Ok(manifest)
}
