//! The figures agrimap computes from its layers for the indicators they
//! can evidence (an indicator names one in its `evidence`), each with the
//! features behind it: their ids, the box the map zooms to, and the `/ogc`
//! items that list them.
//!
//! What the layers say is as the layers are now; readings are taken from
//! the scorecard's year. Where a layer is missing the figure is `None`
//! with the reason, and an editor may enter the value instead.
//!
//! Irrigation (indicator 3.1) is the crop area of the commune whose parcels
//! lie in an irrigated area both irrigated and drained actively, as a share
//! of all its crop area: a parcel counts whole where the middle of its box
//! lies in such an area (parcels are small beside the areas, and the share
//! is read to a tenth of a percent).

use crate::Core;
use crate::communes::Commune;
use crate::error::CoreError;
use crate::stats::{StatsRequest, StatsTable};
use agrimap_model::ntm::EntryValue;
use agrimap_model::readings::{AlertState, alert_state};
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, Value, layer};
use agrimap_store::ReadingQuery;
use geo::{BooleanOps, BoundingRect, Geometry, Haversine, Intersects, Length, MultiLineString, MultiPolygon, Rect};
use serde::Serialize;
use std::collections::BTreeSet;

/// Features listed per evidence item at most (the `/ogc` link lists them all).
const MAX_IDS: usize = 50;

/// One piece of evidence: a figure and the features it counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvidenceItem {
    pub layer: &'static str,
    pub label_vi: String,
    pub label_en: String,
    pub figure: f64,
    /// `count`, `ha`, `km` or `percent`.
    pub unit: &'static str,
    /// The features' ids (the first [`MAX_IDS`]).
    pub features: Vec<i64>,
    /// Where the map zooms to show them: `[west, south, east, north]`.
    pub bbox: Option<[f64; 4]>,
    /// The `/ogc` items listing them.
    pub ogc: String,
}

/// What the layers give for one indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Computed {
    pub value: Option<EntryValue>,
    pub evidence: Vec<EvidenceItem>,
    /// Why there is no value, or how it was reached.
    pub note: Option<String>,
}

/// What the layers hold about one commune, read once per scorecard.
#[derive(Debug, Clone)]
pub struct Facts {
    pub commune_code: String,
    pub boundary_set: String,
    pub commune_bbox: Option<[f64; 4]>,
    pub ocop: Vec<Feature>,
    pub growing_areas: Vec<Feature>,
    /// Water-quality stations with the number of their readings in the
    /// year and how many of those were at alarm level.
    pub stations: Vec<(Feature, usize, usize)>,
    /// Crop hectares in the commune: all, and under VietGAP, GlobalGAP or organic practice.
    pub crop_ha: f64,
    pub certified_ha: f64,
    /// Road kilometres inside the commune, hard-surfaced (asphalt, concrete) and all,
    /// and the ids of the hard-surfaced roads.
    pub roads_km: f64,
    pub hard_roads_km: f64,
    pub hard_road_ids: Vec<i64>,
    pub other_road_ids: Vec<i64>,
    /// Irrigated areas of the commune irrigated and drained actively, and the others.
    pub irrigated_areas: Vec<Feature>,
    pub other_irrigated_areas: Vec<Feature>,
    /// Crop hectares of the commune's parcels: all, and in the active irrigated areas.
    pub parcels_ha: f64,
    pub irrigated_parcels_ha: f64,
}

/// Practices that count as certified farmland.
const CERTIFIED: &[&str] = &["vietgap", "globalgap", "organic"];

fn catalog(id: &str) -> Result<&'static LayerDef, CoreError> {
    layer(id).ok_or_else(|| CoreError::internal("unknown_layer", format!("the catalog has no layer '{id}'")))
}

fn rows_ha(table: &StatsTable, code: &str, keep: impl Fn(&str) -> bool) -> f64 {
    agrimap_analysis::total(
        table
            .rows
            .iter()
            .filter(|r| r.code == code && keep(r.class.as_deref().unwrap_or("")))
            .map(|r| r.value),
    )
}

/// Reads what the layers hold about `commune` for `year`.
///
/// # Errors
/// The store's.
pub async fn gather(core: &Core, commune: &Commune, year: i32) -> Result<Facts, CoreError> {
    let store = core.store.as_ref();
    let set = BoundarySet::parse(&commune.boundary_set);
    // A 2025 commune's products, areas and stations are also those its
    // old communes still code: the same selection as the evidence's links.
    let former = core.communes.former.get(store).await?;
    let in_commune = match crate::features::merged::commune_filter(&former, commune) {
        Some(with_merged) => FeatureQuery {
            filter: Some(with_merged),
            ..FeatureQuery::default()
        },
        None => FeatureQuery {
            commune: Some(commune.code.clone()),
            boundary_set: set,
            ..FeatureQuery::default()
        },
    };
    let ocop = store.features(catalog("ocop")?, &in_commune).await?;
    let growing_areas = store.features(catalog("growing_area")?, &in_commune).await?;
    let monitoring = catalog("monitoring")?;
    let mut stations = Vec::new();
    for s in store.features(monitoring, &in_commune).await? {
        if monitoring.text_of(&s, "kind") != Some("water_quality") {
            continue;
        }
        let Some(id) = monitoring.text_of(&s, "station_id").map(str::to_owned) else {
            continue;
        };
        let readings = store
            .readings_between(&ReadingQuery {
                station_id: id,
                parameter: None,
                from: agrimap_model::UtcTime::parse(&format!("{year}-01-01T00:00:00Z")).ok(),
                to: agrimap_model::UtcTime::parse(&format!("{year}-12-31T23:59:59Z")).ok(),
            })
            .await?;
        let alarms = readings
            .iter()
            .filter(|r| {
                alert_state(
                    std::slice::from_ref(*r),
                    "water_quality",
                    &commune.code,
                    &core.thresholds,
                )
                .0 == AlertState::Alarm
            })
            .count();
        stations.push((s, readings.len(), alarms));
    }
    let request = StatsRequest::parse("crop", Some("commune"), Some("practice"), Some("area"))
        .map(|r| StatsRequest { boundary_set: set, ..r })?;
    let practice = core.stats.table(store, request).await?;
    let crop_ha = rows_ha(&practice, &commune.code, |_| true);
    let certified_ha = rows_ha(&practice, &commune.code, |c| CERTIFIED.contains(&c));
    let roads = roads_in(core, commune).await?;
    let irrigation = irrigation_in(core, &in_commune).await?;
    Ok(Facts {
        commune_code: commune.code.clone(),
        boundary_set: commune.boundary_set.clone(),
        commune_bbox: commune.bbox,
        ocop,
        growing_areas,
        stations,
        crop_ha,
        certified_ha,
        roads_km: roads.0 + roads.1,
        hard_roads_km: roads.0,
        hard_road_ids: roads.2,
        other_road_ids: roads.3,
        irrigated_areas: irrigation.active,
        other_irrigated_areas: irrigation.other,
        parcels_ha: irrigation.parcels_ha,
        irrigated_parcels_ha: irrigation.irrigated_ha,
    })
}

/// What [`irrigation_in`] finds.
struct Irrigation {
    active: Vec<Feature>,
    other: Vec<Feature>,
    parcels_ha: f64,
    irrigated_ha: f64,
}

/// The commune's irrigated areas (actively irrigated and drained, and the
/// rest) and its crop hectares, all and in the active areas.
async fn irrigation_in(core: &Core, in_commune: &FeatureQuery) -> Result<Irrigation, CoreError> {
    let store = core.store.as_ref();
    let areas_layer = catalog("irrigated_areas")?;
    let (active, other): (Vec<Feature>, Vec<Feature>) = store
        .features(areas_layer, in_commune)
        .await?
        .into_iter()
        .partition(|f| {
            areas_layer.text_of(f, "irrigation") == Some("active")
                && areas_layer.text_of(f, "drainage") == Some("active")
        });
    if active.is_empty() && other.is_empty() {
        return Ok(Irrigation {
            active,
            other,
            parcels_ha: 0.0,
            irrigated_ha: 0.0,
        });
    }
    let crop = catalog("crop")?;
    let (mut parcels_ha, mut irrigated_ha) = (0.0, 0.0);
    for parcel in store.features(crop, in_commune).await? {
        // On the ellipsoid, as the statistics measure crop area.
        let ha = match &parcel.geometry {
            Geometry::Polygon(p) => agrimap_analysis::area::polygon_ha(p),
            Geometry::MultiPolygon(m) => agrimap_analysis::area::multipolygon_ha(m),
            _ => continue,
        };
        parcels_ha += ha;
        let Some(middle) = parcel.geometry.bounding_rect().map(|r| geo::Point::from(r.center())) else {
            continue;
        };
        if active.iter().any(|a| a.geometry.intersects(&middle)) {
            irrigated_ha += ha;
        }
    }
    Ok(Irrigation {
        active,
        other,
        parcels_ha,
        irrigated_ha,
    })
}

/// Kilometres of road inside the commune, hard-surfaced and other, with
/// the ids of each: the roads in its box clipped to its boundary.
async fn roads_in(core: &Core, commune: &Commune) -> Result<(f64, f64, Vec<i64>, Vec<i64>), CoreError> {
    let Some([west, south, east, north]) = commune.bbox else {
        return Ok((0.0, 0.0, Vec::new(), Vec::new()));
    };
    let roads = catalog("roads")?;
    let found = core
        .store
        .features(roads, &FeatureQuery::in_bbox(Rect::new((west, south), (east, north))))
        .await?;
    let boundary: MultiPolygon<f64> = match &commune.boundary {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        _ => return Ok((0.0, 0.0, Vec::new(), Vec::new())),
    };
    let (mut hard, mut other, mut hard_ids, mut other_ids) = (0.0, 0.0, Vec::new(), Vec::new());
    for road in &found {
        let lines = match &road.geometry {
            Geometry::LineString(l) => MultiLineString(vec![l.clone()]),
            Geometry::MultiLineString(m) => m.clone(),
            _ => continue,
        };
        let inside = boundary.clip(&lines, false);
        let km = Haversine.length(&inside) / 1000.0;
        if km <= 0.0 {
            continue;
        }
        if matches!(roads.text_of(road, "surface"), Some("asphalt" | "concrete")) {
            hard += km;
            hard_ids.push(road.id);
        } else {
            other += km;
            other_ids.push(road.id);
        }
    }
    Ok((hard, other, hard_ids, other_ids))
}

fn bbox_of<'a>(features: impl Iterator<Item = &'a Feature>) -> Option<[f64; 4]> {
    features
        .filter_map(|f| f.geometry.bounding_rect())
        .reduce(|a, b| {
            Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        })
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

impl Facts {
    fn ogc(&self, layer: &str, filter: Option<&str>) -> String {
        let mut url = format!(
            "/ogc/collections/{layer}/items?commune={}&boundary_set={}",
            self.commune_code, self.boundary_set
        );
        if let Some(f) = filter {
            url.push_str("&filter=");
            url.extend(percent_encoding::utf8_percent_encode(
                f,
                percent_encoding::NON_ALPHANUMERIC,
            ));
        }
        url
    }

    fn item(
        &self,
        layer: &'static str,
        labels: (&str, &str),
        figure: f64,
        unit: &'static str,
        features: &[&Feature],
        filter: Option<&str>,
    ) -> EvidenceItem {
        EvidenceItem {
            layer,
            label_vi: labels.0.to_owned(),
            label_en: labels.1.to_owned(),
            figure,
            unit,
            features: features.iter().take(MAX_IDS).map(|f| f.id).collect(),
            bbox: bbox_of(features.iter().copied()).or(self.commune_bbox),
            ogc: self.ogc(layer, filter),
        }
    }
}

fn none(note: &str) -> Computed {
    Computed {
        value: None,
        evidence: Vec::new(),
        note: Some(note.to_owned()),
    }
}

/// The figure `key` (an indicator's `evidence`) from `facts`.
#[must_use]
pub fn compute(key: &str, facts: &Facts) -> Computed {
    match key {
        "roads_hard_surface" => roads(facts),
        "irrigated_farmland" => irrigated(facts),
        "cooperatives" => cooperatives(facts),
        "ocop_products" => ocop_products(facts),
        "traceability" => traceability(facts),
        "certified_farmland" => certified(facts),
        "water_quality" => water_quality(facts),
        _ => none("agrimap computes nothing of that name"),
    }
}

fn irrigated(facts: &Facts) -> Computed {
    if facts.irrigated_areas.is_empty() && facts.other_irrigated_areas.is_empty() {
        return none("no data: no irrigated area of the irrigated_areas layer lies in the commune; enter the value");
    }
    if facts.parcels_ha <= 0.0 {
        return none("no data: no crop parcel in the commune");
    }
    let share = (facts.irrigated_parcels_ha / facts.parcels_ha * 1000.0).round() / 10.0;
    let ha = |areas: &[Feature]| -> f64 {
        let l = layer("irrigated_areas");
        // A fold from 0.0: the sum of no floats is -0.0.
        let sum = areas
            .iter()
            .filter_map(|f| l.and_then(|l| l.value_of(f, "area_ha").as_f64()))
            .fold(0.0, |a, b| a + b);
        (sum * 100.0).round() / 100.0
    };
    let active: Vec<&Feature> = facts.irrigated_areas.iter().collect();
    let other: Vec<&Feature> = facts.other_irrigated_areas.iter().collect();
    Computed {
        value: Some(EntryValue::Number(share)),
        evidence: vec![
            facts.item(
                "irrigated_areas",
                ("Vùng tưới, tiêu nước chủ động", "Areas actively irrigated and drained"),
                ha(&facts.irrigated_areas),
                "ha",
                &active,
                Some("irrigation = 'active' AND drainage = 'active'"),
            ),
            facts.item(
                "irrigated_areas",
                (
                    "Vùng tưới, tiêu chưa chủ động",
                    "Areas not actively irrigated or drained",
                ),
                ha(&facts.other_irrigated_areas),
                "ha",
                &other,
                Some("irrigation = 'not_active' OR drainage = 'not_active'"),
            ),
            EvidenceItem {
                layer: "crop",
                label_vi: "Diện tích đất trồng trọt được tưới, tiêu chủ động (%)".into(),
                label_en: "Share of crop area actively irrigated and drained (%)".into(),
                figure: share,
                unit: "percent",
                features: Vec::new(),
                bbox: facts.commune_bbox,
                ogc: facts.ogc("crop", None),
            },
        ],
        note: Some(format!(
            "{:.1} of {:.1} ha of crop parcels lie in areas irrigated and drained actively",
            facts.irrigated_parcels_ha, facts.parcels_ha
        )),
    }
}

fn roads(facts: &Facts) -> Computed {
    if facts.roads_km <= 0.0 {
        return none("no data: no road of the roads layer lies in the commune");
    }
    let share = (facts.hard_roads_km / facts.roads_km * 100.0 * 10.0).round() / 10.0;
    let item = |ids: &[i64], km: f64, labels: (&str, &str), filter: &str| EvidenceItem {
        layer: "roads",
        label_vi: labels.0.into(),
        label_en: labels.1.into(),
        figure: (km * 1000.0).round() / 1000.0,
        unit: "km",
        features: ids.iter().take(MAX_IDS).copied().collect(),
        bbox: facts.commune_bbox,
        ogc: facts.commune_bbox.map_or_else(
            || "/ogc/collections/roads/items".to_owned(),
            |[w, s, e, n]| format!("/ogc/collections/roads/items?bbox={w},{s},{e},{n}&filter={filter}"),
        ),
    };
    Computed {
        value: Some(EntryValue::Number(share)),
        evidence: vec![
            item(
                &facts.hard_road_ids,
                facts.hard_roads_km,
                (
                    "Đường nhựa, bê tông trong xã",
                    "Asphalt and concrete roads in the commune",
                ),
                "surface%20IN%20(%27asphalt%27,%27concrete%27)",
            ),
            item(
                &facts.other_road_ids,
                facts.roads_km - facts.hard_roads_km,
                ("Đường chưa cứng hóa trong xã", "Other roads in the commune"),
                "surface%20IS%20NULL%20OR%20surface%20NOT%20IN%20(%27asphalt%27,%27concrete%27)",
            ),
        ],
        note: Some(
            "share of the commune's road length (roads layer, clipped to the boundary) that is asphalt or concrete"
                .into(),
        ),
    }
}

fn cooperatives(facts: &Facts) -> Computed {
    let Some(l) = layer("growing_area") else {
        return none("no growing-area layer");
    };
    let named: Vec<&Feature> = facts
        .growing_areas
        .iter()
        .filter(|f| l.text_of(f, "cooperative").is_some_and(|c| !c.trim().is_empty()))
        .collect();
    let distinct: BTreeSet<&str> = named.iter().filter_map(|f| l.text_of(f, "cooperative")).collect();
    Computed {
        value: Some(EntryValue::Pass(!distinct.is_empty())),
        evidence: vec![facts.item(
            "growing_area",
            ("Hợp tác xã quản lý vùng trồng", "Cooperatives managing growing areas"),
            distinct.len() as f64,
            "count",
            &named,
            Some("cooperative IS NOT NULL"),
        )],
        note: Some("met when a cooperative manages a growing area of the commune; whether it works effectively is for the appraisers".into()),
    }
}

fn three_stars(l: &LayerDef, f: &Feature) -> bool {
    matches!(l.value_of(f, "stars"), Value::Int(s) if *s >= 3)
}

fn ocop_products(facts: &Facts) -> Computed {
    let Some(l) = layer("ocop") else {
        return none("no OCOP layer");
    };
    let rated: Vec<&Feature> = facts.ocop.iter().filter(|f| three_stars(l, f)).collect();
    Computed {
        value: Some(EntryValue::Pass(!rated.is_empty())),
        evidence: vec![facts.item(
            "ocop",
            ("Sản phẩm OCOP từ 3 sao", "OCOP products rated 3 stars or more"),
            rated.len() as f64,
            "count",
            &rated,
            Some("stars >= 3"),
        )],
        note: None,
    }
}

fn traceability(facts: &Facts) -> Computed {
    let (Some(ocop), Some(ga)) = (layer("ocop"), layer("growing_area")) else {
        return none("no OCOP or growing-area layer");
    };
    if facts.ocop.is_empty() {
        return none("no data: the commune has no OCOP product in the layer to trace");
    }
    let traced: Vec<&Feature> = facts
        .ocop
        .iter()
        .filter(|f| ocop.text_of(f, "qr_url").is_some_and(|u| !u.trim().is_empty()))
        .collect();
    let untraced: Vec<&Feature> = facts
        .ocop
        .iter()
        .filter(|f| !traced.iter().any(|t| t.id == f.id))
        .collect();
    let active: Vec<&Feature> = facts
        .growing_areas
        .iter()
        .filter(|f| ga.text_of(f, "status") == Some("active"))
        .collect();
    Computed {
        value: Some(EntryValue::Pass(untraced.is_empty() && !active.is_empty())),
        evidence: vec![
            facts.item(
                "ocop",
                ("Sản phẩm có mã QR truy xuất", "Products with a traceability QR link"),
                traced.len() as f64,
                "count",
                &traced,
                Some("qr_url IS NOT NULL"),
            ),
            facts.item(
                "ocop",
                ("Sản phẩm chưa truy xuất được", "Products without traceability"),
                untraced.len() as f64,
                "count",
                &untraced,
                Some("qr_url IS NULL"),
            ),
            facts.item(
                "growing_area",
                ("Mã số vùng trồng đang hiệu lực", "Active growing-area codes"),
                active.len() as f64,
                "count",
                &active,
                Some("status = 'active'"),
            ),
        ],
        note: Some("met when every OCOP product of the commune has a traceability link and the commune holds an active growing-area code".into()),
    }
}

fn certified(facts: &Facts) -> Computed {
    if facts.crop_ha <= 0.0 {
        return none("no data: no crop parcel in the commune");
    }
    let share = (facts.certified_ha / facts.crop_ha * 1000.0).round() / 10.0;
    Computed {
        value: Some(EntryValue::Pass(facts.certified_ha > 0.0)),
        evidence: vec![EvidenceItem {
            layer: "crop",
            label_vi: "Diện tích VietGAP, GlobalGAP, hữu cơ (%)".into(),
            label_en: "VietGAP, GlobalGAP and organic share of crop area (%)".into(),
            figure: share,
            unit: "percent",
            features: Vec::new(),
            bbox: facts.commune_bbox,
            ogc: facts.ogc("crop", Some("practice IN ('vietgap','globalgap','organic')")),
        }],
        note: Some(format!(
            "{:.1} of {:.1} ha of crops are farmed under VietGAP, GlobalGAP or organic practice",
            facts.certified_ha, facts.crop_ha
        )),
    }
}

fn water_quality(facts: &Facts) -> Computed {
    let measured: Vec<&(Feature, usize, usize)> = facts.stations.iter().filter(|(_, n, _)| *n > 0).collect();
    if measured.is_empty() {
        return none("no data: no water-quality station of the commune has readings in the year");
    }
    let compliant: Vec<&Feature> = measured.iter().filter(|(_, _, a)| *a == 0).map(|(f, ..)| f).collect();
    let alarmed: Vec<&Feature> = measured.iter().filter(|(_, _, a)| *a > 0).map(|(f, ..)| f).collect();
    let readings: usize = measured.iter().map(|(_, n, _)| n).sum();
    let at_alarm: usize = measured.iter().map(|(_, _, a)| a).sum();
    // The indicator counts establishments meeting environmental rules,
    // which agrimap does not hold: the stations are evidence for the
    // editor and the appraisers, not the value.
    Computed {
        value: None,
        evidence: vec![
            facts.item(
                "monitoring",
                (
                    "Trạm không có số đo vượt ngưỡng báo động trong năm",
                    "Stations with no reading at alarm level in the year",
                ),
                compliant.len() as f64,
                "count",
                &compliant,
                Some("kind = 'water_quality'"),
            ),
            facts.item(
                "monitoring",
                (
                    "Trạm có số đo vượt ngưỡng báo động",
                    "Stations with readings at alarm level",
                ),
                alarmed.len() as f64,
                "count",
                &alarmed,
                Some("kind = 'water_quality'"),
            ),
        ],
        note: Some(format!(
            "{} of {} water-quality stations stayed below the alarm level all year ({at_alarm} of {readings} readings at alarm); evidence for the editor's value, not the value",
            compliant.len(),
            measured.len()
        )),
    }
}
