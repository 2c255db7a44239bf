//! A commune's summary: everything the layers say about one commune, in one
//! answer, for planners.
//!
//! Areas come from the province-wide statistics tables ([`crate::stats`]), so
//! they count only the part of each feature inside the commune and are
//! computed once per layer version for every commune at the same time. Points
//! (OCOP producers, stations) are listed from the store by location, so a
//! 2025 commune lists those still coded by the pre-2025 communes it merged.

use crate::Core;
use crate::communes::Commune;
use crate::error::{CoreError, echo};
use crate::stats::{StatsRequest, StatsTable};
use agrimap_model::{BoundarySet, Feature, FeatureQuery, LayerDef, Reading, Value, layer};
use agrimap_store::Store;
use geo::Intersects;
use serde::Serialize;
use serde_json::{Value as JsonValue, json};
use std::collections::BTreeMap;

/// Area and feature count of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassArea {
    pub class: String,
    pub ha: f64,
    pub features: u64,
}

fn catalog_layer(id: &str) -> Result<&'static LayerDef, CoreError> {
    layer(id).ok_or_else(|| CoreError::not_found("unknown_layer", format!("the catalog has no layer '{id}'")))
}

/// The commune's rows of a province-wide table, largest first.
fn rows_of(table: &StatsTable, code: &str) -> Vec<ClassArea> {
    let mut rows: Vec<ClassArea> = table
        .rows
        .iter()
        .filter(|r| r.code == code)
        .map(|r| ClassArea {
            class: r.class.clone().unwrap_or_default(),
            ha: r.value,
            features: r.features,
        })
        .collect();
    rows.sort_by(|a, b| b.ha.total_cmp(&a.ha).then_with(|| a.class.cmp(&b.class)));
    rows
}

fn total(rows: &[ClassArea]) -> f64 {
    agrimap_analysis::total(rows.iter().map(|r| r.ha))
}

/// Markets are stored comma-separated: an area certified for two markets
/// counts for each.
fn split_markets(rows: &[ClassArea]) -> Vec<ClassArea> {
    let mut by_market: BTreeMap<String, ClassArea> = BTreeMap::new();
    for r in rows {
        for market in r.class.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            let entry = by_market.entry(market.to_owned()).or_insert_with(|| ClassArea {
                class: market.to_owned(),
                ha: 0.0,
                features: 0,
            });
            entry.ha += r.ha;
            entry.features += r.features;
        }
    }
    let mut rows: Vec<ClassArea> = by_market.into_values().collect();
    rows.sort_by(|a, b| b.ha.total_cmp(&a.ha).then_with(|| a.class.cmp(&b.class)));
    rows
}

fn json_value(v: &Value) -> JsonValue {
    match v {
        Value::Null => JsonValue::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Real(r) => json!(r),
        Value::Text(s) => json!(s),
    }
}

/// The public fields of a feature as a JSON object.
fn properties(layer: &LayerDef, f: &Feature, fields: &[&str]) -> JsonValue {
    let mut out = serde_json::Map::new();
    for name in fields {
        if layer.field(name).is_some() {
            out.insert((*name).to_owned(), json_value(layer.value_of(f, name)));
        }
    }
    JsonValue::Object(out)
}

/// The latest reading of each parameter.
fn latest(readings: Vec<Reading>) -> Vec<Reading> {
    let mut by_parameter: BTreeMap<String, Reading> = BTreeMap::new();
    for r in readings {
        match by_parameter.get(&r.parameter) {
            Some(seen) if seen.time >= r.time => {}
            _ => {
                by_parameter.insert(r.parameter.clone(), r);
            }
        }
    }
    by_parameter.into_values().collect()
}

/// The features of `layer` that lie in the commune, by location whatever
/// commune code they carry (products and stations coded by pre-2025
/// communes appear in the 2025 commune they stand in), in id order.
async fn located_in(store: &dyn Store, layer: &'static LayerDef, commune: &Commune) -> Result<Vec<Feature>, CoreError> {
    let Some([west, south, east, north]) = commune.bbox else {
        return Ok(Vec::new());
    };
    let near = FeatureQuery {
        bbox: Some(geo::Rect::new(
            geo::coord! { x: west, y: south },
            geo::coord! { x: east, y: north },
        )),
        ..FeatureQuery::default()
    };
    let mut found = store.features(layer, &near).await?;
    found.retain(|f| commune.boundary.intersects(&f.geometry));
    Ok(found)
}

/// The summary of the commune `code` (in `boundary_set` when given, else
/// the newest set that has the code).
///
/// # Errors
/// `unknown_commune` (not found) and the store's errors.
// `core` and `code`, `stats` and `stars`: the names the rest of the crate uses.
#[allow(clippy::similar_names)]
pub async fn commune_summary(
    core: &Core,
    code: &str,
    boundary_set: Option<BoundarySet>,
) -> Result<JsonValue, CoreError> {
    let store = core.store.as_ref();
    let index = core.communes.index(store).await?;
    let commune = index
        .get(code, boundary_set)
        .ok_or_else(|| CoreError::not_found("unknown_commune", format!("no commune with code '{}'", echo(code, 64))))?;

    let stats = core.stats.as_ref();
    let set = BoundarySet::parse(&commune.boundary_set);
    let table = |layer: &str, class: &str, metric: &str| {
        let request = StatsRequest::parse(layer, Some("commune"), Some(class), Some(metric))
            .map(|r| StatsRequest { boundary_set: set, ..r });
        async move { stats.table(store, request?).await }
    };
    let (crop_type, season, species, mode, ga_status, ga_markets, ocop_stars) = futures::try_join!(
        table("crop", "crop_type", "area"),
        table("crop", "season", "area"),
        table("aquaculture", "species", "area"),
        table("aquaculture", "mode", "area"),
        table("growing_area", "status", "area"),
        table("growing_area", "markets", "area"),
        table("ocop", "stars", "count"),
    )?;
    let code = commune.code.as_str();
    let (irrigation, forestry, livestock) = rural_sections(core, set, code).await?;
    let crop_by_type = rows_of(&crop_type, code);
    let aquaculture_by_species = rows_of(&species, code);
    let growing_by_status = rows_of(&ga_status, code);
    let mut stars = rows_of(&ocop_stars, code);
    stars.sort_by(|a, b| b.class.cmp(&a.class));

    let ocop = catalog_layer("ocop")?;
    let products = located_in(store, ocop, commune).await?;
    let monitoring = catalog_layer("monitoring")?;
    let stations = located_in(store, monitoring, commune).await?;
    let mut station_answers = Vec::with_capacity(stations.len());
    for s in &stations {
        let readings = match monitoring.text_of(s, "station_id") {
            Some(id) => latest(store.readings(id).await?),
            None => Vec::new(),
        };
        let mut answer = properties(
            monitoring,
            s,
            &["station_id", "name", "kind", "status", "alert_state", "last_reading_at"],
        );
        answer["latest"] = json!(
            readings
                .iter()
                .map(|r| json!({"parameter": r.parameter, "value": r.value, "unit": r.unit, "time": r.time}))
                .collect::<Vec<_>>()
        );
        station_answers.push(answer);
    }

    let registry = crate::registry::commune_evidence(store, &commune.code, &commune.boundary_set).await?;
    let mut ntm = ntm_indicators(ocop, &products, &growing_by_status, monitoring, &stations);
    if let Some(r) = &registry {
        // The registry knows each code's grant and expiry: its count of codes
        // active today replaces the layer's `status` field, which nothing
        // moves when a code lapses.
        ntm[0]["evidence"]["active_growing_area_codes"] = json!(r.active_growing_area_codes);
        ntm[0]["evidence"]["registered_products_with_public_page"] = json!(r.products);
    }
    Ok(json!({
        "commune": commune_json(commune),
        "crop": {
            "total_ha": total(&crop_by_type),
            "by_crop_type": crop_by_type,
            "by_season": rows_of(&season, code),
        },
        "aquaculture": {
            "water_surface_ha": total(&aquaculture_by_species),
            "by_species": aquaculture_by_species,
            "by_mode": rows_of(&mode, code),
        },
        "growing_areas": {
            "total_ha": total(&growing_by_status),
            "codes": growing_by_status.iter().map(|r| r.features).sum::<u64>(),
            "by_status": growing_by_status,
            "by_market": split_markets(&rows_of(&ga_markets, code)),
        },
        "ocop": {
            "products": products.len(),
            // Products counted, not hectares: each row is a number of stars and its products.
            "by_stars": stars
                .iter()
                .map(|r| json!({ "class": r.class, "products": r.features }))
                .collect::<Vec<_>>(),
            "list": products
                .iter()
                .map(|p| properties(ocop, p, &["product_id", "name", "category", "stars", "producer", "certified_year", "qr_url"]))
                .collect::<Vec<_>>(),
        },
        "irrigation": irrigation,
        "forestry": forestry,
        "livestock": livestock,
        "stations": station_answers,
        "registry": registry,
        "ntm": ntm,
    }))
}

/// The irrigation, forestry and livestock sections of the summary of `commune` (its code).
async fn rural_sections(
    core: &Core,
    set: Option<BoundarySet>,
    commune: &str,
) -> Result<(JsonValue, JsonValue, JsonValue), CoreError> {
    let (store, stats) = (core.store.as_ref(), core.stats.as_ref());
    let table = |layer: &str, class: &str, metric: &str| {
        let request = StatsRequest::parse(layer, Some("commune"), Some(class), Some(metric))
            .map(|r| StatsRequest { boundary_set: set, ..r });
        async move { stats.table(store, request?).await }
    };
    let (works, irrigated, forest, farms, head) = futures::try_join!(
        table("irrigation_works", "kind", "count"),
        table("irrigated_areas", "irrigation", "area"),
        table("forest_plots", "forest_type", "area"),
        table("livestock_farms", "species", "count"),
        table("livestock_farms", "species", "sum:head_count"),
    )?;
    let forest = rows_of(&forest, commune);
    Ok((
        irrigation_json(&rows_of(&works, commune), &rows_of(&irrigated, commune)),
        json!({"total_ha": total(&forest), "by_forest_type": forest}),
        livestock_json(&rows_of(&farms, commune), &rows_of(&head, commune)),
    ))
}

/// Counts of a count table's rows: class and features, largest first.
fn counts(rows: &[ClassArea]) -> Vec<JsonValue> {
    rows.iter()
        .map(|r| json!({"class": r.class, "features": r.features}))
        .collect()
}

/// Irrigation works by kind (points and lines counted alike) and irrigated
/// hectares, all and by whether irrigation is active.
fn irrigation_json(works: &[ClassArea], areas: &[ClassArea]) -> JsonValue {
    json!({
        "works": works.iter().map(|r| r.features).sum::<u64>(),
        "works_by_kind": counts(works),
        "irrigated_ha": total(areas),
        "by_irrigation": areas,
    })
}

/// Livestock farms and head by species.
fn livestock_json(farms: &[ClassArea], head: &[ClassArea]) -> JsonValue {
    let head_of = |class: &str| head.iter().find(|h| h.class == class).map_or(0.0, |h| h.ha);
    json!({
        "farms": farms.iter().map(|r| r.features).sum::<u64>(),
        "head": agrimap_analysis::total(head.iter().map(|h| h.ha)),
        "by_species": farms
            .iter()
            .map(|r| json!({"class": r.class, "farms": r.features, "head": head_of(&r.class)}))
            .collect::<Vec<_>>(),
    })
}

fn commune_json(c: &Commune) -> JsonValue {
    json!({
        "code": c.code,
        "name": c.name,
        "boundary_set": c.boundary_set,
        "district": {"code": c.district_code, "name": c.district_name},
        "province": {"code": c.province_code, "name": c.province_name},
        "area_ha": c.area_ha,
        "ntm_status": c.ntm_status,
        "ntm_year": c.ntm_year,
    })
}

/// The new-rural-development (NTM) indicators the layers can evidence, each
/// with the figures it rests on. Whether a commune meets a criterion is for
/// the appraisal council; agrimap reports what the data shows.
fn ntm_indicators(
    ocop: &LayerDef,
    products: &[Feature],
    growing_by_status: &[ClassArea],
    monitoring: &LayerDef,
    stations: &[Feature],
) -> JsonValue {
    let traced = products.iter().filter(|p| ocop.text_of(p, "qr_url").is_some()).count();
    let active_codes: u64 = growing_by_status
        .iter()
        .filter(|r| r.class == "active")
        .map(|r| r.features)
        .sum();
    let three_stars = products
        .iter()
        .filter(|p| matches!(ocop.value_of(p, "stars"), Value::Int(s) if *s >= 3))
        .count();
    let in_alarm = stations
        .iter()
        .filter(|s| monitoring.text_of(s, "alert_state") == Some("alarm"))
        .count();
    json!([
        {
            "criterion": "13.4",
            "title": "Traceability of the commune's key products",
            "evidence": {
                "ocop_products": products.len(),
                "ocop_products_with_qr_traceability": traced,
                "active_growing_area_codes": active_codes,
            },
            "share_traced": if products.is_empty() { JsonValue::Null } else { json!(traced as f64 / products.len() as f64) },
        },
        {
            "criterion": "13",
            "title": "OCOP products rated 3 stars or more",
            "evidence": {"ocop_3_star_or_more": three_stars},
        },
        {
            "criterion": "17",
            "title": "Environmental monitoring: stations in the commune and those in alarm",
            "evidence": {"stations": stations.len(), "stations_in_alarm": in_alarm},
        },
    ])
}
