//! The bundled MapLibre styles (`styles/`): a farmer's map and a planner's.
//!
//! Each opens on the communes the store holds and draws the administrative
//! units of one boundary set (the newest held unless asked). The planner
//! style colours communes by a statistic (crop area by default), by NTM
//! criteria met (`layer=ntm`) or by the week's pest pressure (`layer=pests`):
//! the figures of [`crate::stats`] are joined to the commune tiles by code,
//! as a `match` on the `code` attribute inside the layer's `fill-color`. The
//! style stays a plain document any MapLibre client can load, and it changes
//! when the data does.

use crate::Core;
use crate::communes::boundary_set_param;
use crate::error::CoreError;
use crate::stats::StatsRequest;
use agrimap_model::BoundarySet;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Names of the bundled styles.
pub const STYLE_NAMES: &[&str] = &["farmer", "planner"];

/// The planner style's layer that carries the choropleth.
pub const CHOROPLETH_LAYER: &str = "commune-choropleth";
/// Light to dark green: more of the statistic, darker.
const RAMP: [&str; 3] = ["#f7fcf5", "#74c476", "#00441b"];

/// The style document template; every occurrence of the literal `{origin}`
/// must be replaced with the absolute origin (e.g. "http://127.0.0.1:8080").
#[must_use]
pub fn style_template(name: &str) -> Option<&'static str> {
    match name {
        "farmer" => Some(include_str!("../../../styles/farmer.json")),
        "planner" => Some(include_str!("../../../styles/planner.json")),
        _ => None,
    }
}

/// Which statistic the planner style colours communes by
/// (`layer=crop&metric=area[&class=crop_type&value=rice]`).
#[derive(Debug, Default, Deserialize)]
pub struct ChoroplethParams {
    pub layer: Option<String>,
    pub metric: Option<String>,
    pub class: Option<String>,
    /// With `class`: colour by this class only (e.g. rice of crop_type).
    pub value: Option<String>,
    /// The communes drawn and coloured: pre-2025 or 2025 (default: the newest set held).
    pub boundary_set: Option<String>,
    pub province: Option<String>,
    /// With `layer=ntm`: the year whose NTM criteria met colour the communes.
    pub year: Option<i32>,
    /// With `layer=pests`: the ISO week (`2026-W47`; the current week when absent).
    pub week: Option<String>,
    /// With `layer=pests`: one species' pressure instead of the worst of all.
    pub species: Option<String>,
}

/// The style `name` with its URLs on `origin` (`http://host:port`), and for
/// the planner style the communes coloured as `choropleth` asks; `None` when
/// no style has that name.
///
/// # Errors
/// The statistic asked for, when it is not one; the store's errors.
pub async fn style(
    core: &Core,
    name: &str,
    origin: &str,
    choropleth: &ChoroplethParams,
) -> Result<Option<String>, CoreError> {
    let Some(template) = style_template(name) else {
        return Ok(None);
    };
    let mut doc: Value = serde_json::from_str(&template.replace("{origin}", origin))
        .map_err(|e| CoreError::internal("bad_style", format!("the {name} style is not valid JSON: {e}")))?;
    let index = core.commune_index().await?;
    let asked = boundary_set_param(choropleth.boundary_set.as_deref())?;
    show_one_set(&mut doc, index.resolve_set(asked)?);
    open_on(&mut doc, index.extent());
    lapse_codes(&mut doc, &crate::registry::today());
    if name == "planner" {
        colour_communes(core, choropleth, &mut doc).await?;
    }
    Ok(Some(doc.to_string()))
}

/// Where the map opens: on the communes the store holds (their box in the
/// style's metadata, for clients that fit it to their screen), or on the
/// whole country while it holds none.
fn open_on(doc: &mut Value, extent: Option<[f64; 4]>) {
    let [west, south, east, north] = extent.unwrap_or(VIETNAM);
    let span = (east - west).max((north - south) * 1.2).max(1e-6);
    // A 512-pixel world at zoom 0; a phone shows about 400 pixels across.
    let zoom = (360.0 / span * 400.0 / 512.0).log2().clamp(4.0, 14.0);
    doc["center"] = json!([f64::midpoint(west, east), f64::midpoint(south, north)]);
    doc["zoom"] = json!((zoom * 10.0).floor() / 10.0);
    doc["metadata"]["agrimap:bounds"] = json!([west, south, east, north]);
}

/// Draws the administrative units of one boundary set: old and new communes
/// overlap, and a map of both would be unreadable. The set is named in the
/// metadata, for the page's search and links.
fn show_one_set(doc: &mut Value, set: BoundarySet) {
    let same_set = json!(["==", ["get", "boundary_set"], set.as_str()]);
    for layer in doc["layers"].as_array_mut().into_iter().flatten() {
        let admin = layer["source-layer"]
            .as_str()
            .is_some_and(|l| matches!(l, "admin_commune" | "admin_district" | "admin_province"));
        if admin {
            layer["filter"] = match layer.get("filter") {
                Some(f) => json!(["all", f, same_set]),
                None => same_set.clone(),
            };
        }
    }
    doc["metadata"]["agrimap:boundary_set"] = json!(set.as_str());
}

/// Puts `effective` in place of `status` as the input of every `match` in `v`,
/// with a colour for `expired`.
fn lapse_matches(v: &mut Value, status: &Value, effective: &Value) {
    if let Value::Array(items) = v {
        if items.first() == Some(&json!("match")) && items.get(1) == Some(status) {
            items[1] = effective.clone();
            items.insert(2, json!("expired"));
            items.insert(3, json!(EXPIRED));
        }
        for item in items.iter_mut() {
            lapse_matches(item, status, effective);
        }
    } else if let Value::Object(map) = v {
        for item in map.values_mut() {
            lapse_matches(item, status, effective);
        }
    }
}

/// Colour of a growing-area code past its expiry date.
const EXPIRED: &str = "#8d6e63";

/// Growing-area codes stop being drawn as active on the day they lapse: in
/// the growing-area layers, `["get", "status"]` becomes `expired` for an
/// `active` code whose `expires_on` is before `today`, and each `match` on
/// it gets a colour for `expired`. The style is made per request, so the
/// day it is made is the day it judges.
fn lapse_codes(doc: &mut Value, today: &str) {
    let status = json!(["get", "status"]);
    let effective = json!([
        "case",
        [
            "all",
            ["==", ["get", "status"], "active"],
            ["<", ["to-string", ["get", "expires_on"]], today]
        ],
        "expired",
        ["get", "status"]
    ]);
    for layer in doc["layers"].as_array_mut().into_iter().flatten() {
        if layer["source-layer"] == "growing_area" {
            lapse_matches(&mut layer["paint"], &status, &effective);
        }
    }
}

/// The country's box: where an empty store's map opens.
const VIETNAM: [f64; 4] = [102.1, 8.4, 109.5, 23.4];

/// The choropleth layer of the planner style.
fn choropleth_layer(doc: &mut Value) -> Result<&mut Value, CoreError> {
    doc["layers"]
        .as_array_mut()
        .and_then(|layers| layers.iter_mut().find(|l| l["id"] == CHOROPLETH_LAYER))
        .ok_or_else(|| {
            CoreError::internal(
                "bad_style",
                format!("the planner style has no '{CHOROPLETH_LAYER}' layer"),
            )
        })
}

/// `layer=ntm&year=Y`: communes coloured by the NTM criteria they meet in
/// the year (the province's roll-up, [`crate::ntm::dashboard`]), from none
/// to all of the set's.
async fn colour_by_criteria_met(core: &Core, params: &ChoroplethParams, doc: &mut Value) -> Result<(), CoreError> {
    let year = params.year.ok_or_else(|| {
        CoreError::invalid(
            "missing_year",
            "layer=ntm colours by a year's criteria met: give year=YYYY",
        )
    })?;
    let req = crate::ntm::dashboard::DashboardRequest {
        province: crate::ntm::dashboard::province_param(params.province.as_deref())?,
        boundary_set: boundary_set_param(params.boundary_set.as_deref())?,
        year,
    };
    let d = crate::ntm::dashboard::dashboard(core, &req).await?;
    let max = d.rows.iter().map(|r| r.criteria_total).max().unwrap_or(0) as f64;
    let mut figure = vec![json!("match"), json!(["get", "code"])];
    for r in &d.rows {
        figure.push(json!(r.code));
        figure.push(json!(r.criteria_met));
    }
    figure.push(json!(0));
    let colour = if d.rows.is_empty() {
        json!(RAMP[0])
    } else {
        json!([
            "interpolate",
            ["linear"],
            figure,
            0,
            RAMP[0],
            max / 2.0,
            RAMP[1],
            max,
            RAMP[2]
        ])
    };
    let layer = choropleth_layer(doc)?;
    layer["paint"]["fill-color"] = colour;
    layer["filter"] = json!(["==", ["get", "boundary_set"], d.boundary_set]);
    layer["metadata"]["agrimap:choropleth"] = json!({
        "layer": "ntm",
        "boundary_set": d.boundary_set,
        "metric": "criteria_met",
        "unit": "criteria",
        "year": d.year,
        "max": max,
        "stops": [[0, RAMP[0]], [max / 2.0, RAMP[1]], [max, RAMP[2]]],
    });
    Ok(())
}

/// Pest pressure: green, amber, red for ok, watch, alarm.
const PRESSURE: [(&str, &str); 3] = [("ok", "#a1d99b"), ("watch", "#fdae6b"), ("alarm", "#de2d26")];

/// `layer=pests[&province=P][&week=YYYY-Www][&species=S]`: communes coloured
/// by the pest pressure of the week, the state of the weekly bulletin
/// ([`crate::bulletin`]): the worst over species, or one species'. Without a
/// province every province held in the boundary set is coloured; without a
/// week, the newest week any light trap reported a sorted catch in (a map
/// shows the latest pressure there is; the legend names its week). Communes
/// without a reporting light trap stay uncoloured.
async fn colour_by_pest_pressure(core: &Core, params: &ChoroplethParams, doc: &mut Value) -> Result<(), CoreError> {
    if let Some(s) = &params.species {
        let lists = agrimap_model::CodeLists::new(&core.store.codes().await?);
        agrimap_model::pests::check_species(&lists, s).map_err(|e| CoreError::invalid("unknown_species", e))?;
    }
    let index = core.commune_index().await?;
    let set = index.resolve_set(boundary_set_param(params.boundary_set.as_deref())?)?;
    let provinces: Vec<String> = match &params.province {
        Some(p) => vec![p.clone()],
        None => index
            .provinces_held()
            .into_iter()
            .filter(|p| p.boundary_set == set.as_str())
            .map(|p| p.code)
            .collect(),
    };
    let week = match &params.week {
        Some(w) => Some(w.clone()),
        None => newest_trap_week(core).await?,
    };
    let mut bulletins = Vec::new();
    for province in provinces {
        let req = crate::bulletin::BulletinRequest {
            province: Some(province),
            week: week.clone(),
            commune: None,
        };
        bulletins.push(core.pest_bulletin(&req).await?);
    }
    let mut worst: BTreeMap<&str, agrimap_model::readings::AlertState> = BTreeMap::new();
    for s in bulletins
        .iter()
        .flat_map(|b| &b.species)
        .filter(|s| params.species.as_deref().is_none_or(|x| x == s.code))
    {
        for c in s.communes.iter().filter(|c| c.catch.trap_nights > 0) {
            let w = worst.entry(c.code.as_str()).or_insert(c.state);
            *w = (*w).max(c.state);
        }
    }
    let colour_of = |state: agrimap_model::readings::AlertState| {
        PRESSURE
            .iter()
            .find(|(name, _)| *name == state.as_str())
            .map_or(PRESSURE[0].1, |(_, colour)| *colour)
    };
    let colour = if worst.is_empty() {
        json!("rgba(0,0,0,0)")
    } else {
        let mut m = vec![json!("match"), json!(["get", "code"])];
        for (code, state) in &worst {
            m.push(json!(code));
            m.push(json!(colour_of(*state)));
        }
        m.push(json!("rgba(0,0,0,0)"));
        Value::Array(m)
    };
    let week = bulletins.first().map(|b| b.week.clone()).or(week);
    let layer = choropleth_layer(doc)?;
    layer["paint"]["fill-color"] = colour;
    layer["filter"] = json!(["==", ["get", "boundary_set"], set.as_str()]);
    layer["metadata"]["agrimap:choropleth"] = json!({
        "layer": "pests",
        "boundary_set": set.as_str(),
        "metric": "pest_pressure",
        "province": params.province,
        "provinces": bulletins.iter().map(|b| b.province.as_str()).collect::<Vec<_>>(),
        "week": week,
        "species": params.species,
        "states": worst.iter().map(|(c, s)| (c.to_string(), s.as_str())).collect::<BTreeMap<_, _>>(),
        "categories": PRESSURE.iter().map(|(s, c)| json!([s, c])).collect::<Vec<_>>(),
    });
    Ok(())
}

/// The ISO week of the newest sorted light-trap catch of any station, if any.
async fn newest_trap_week(core: &Core) -> Result<Option<String>, CoreError> {
    let newest = core
        .store
        .latest_readings(None)
        .await?
        .into_iter()
        .filter(|r| {
            matches!(
                agrimap_model::pests::split_parameter(&r.parameter),
                ("pest_count", Some(_))
            )
        })
        .map(|r| r.time)
        .max();
    Ok(newest.map(|t| crate::bulletin::IsoWeek::of_unix(t.unix()).to_string()))
}

/// Sets the choropleth layer's colour from the chosen statistic per commune.
async fn colour_communes(core: &Core, params: &ChoroplethParams, doc: &mut Value) -> Result<(), CoreError> {
    if params.layer.as_deref() == Some("ntm") {
        return colour_by_criteria_met(core, params, doc).await;
    }
    if params.layer.as_deref() == Some("pests") {
        return colour_by_pest_pressure(core, params, doc).await;
    }
    let layer = params.layer.as_deref().unwrap_or("crop");
    let metric = params
        .metric
        .as_deref()
        .unwrap_or(if params.layer.is_none() { "area" } else { "count" });
    let request = StatsRequest::parse(layer, Some("commune"), params.class.as_deref(), Some(metric))?
        .within(params.boundary_set.as_deref(), params.province.as_deref())?;
    if params.value.is_some() && params.class.is_none() {
        return Err(CoreError::invalid(
            "bad_value",
            "value selects one class: give class as well (e.g. class=crop_type&value=rice)",
        ));
    }
    let table = core.stats.table(core.store.as_ref(), request).await?;
    let mut by_code: BTreeMap<&str, f64> = BTreeMap::new();
    for row in &table.rows {
        if params.value.is_none() || row.class.as_deref() == params.value.as_deref() {
            *by_code.entry(row.code.as_str()).or_default() += row.value;
        }
    }
    let max = by_code.values().copied().fold(0.0_f64, f64::max);
    let colour = if by_code.is_empty() || max <= 0.0 {
        json!(RAMP[0])
    } else {
        let mut figure = vec![json!("match"), json!(["get", "code"])];
        for (code, v) in &by_code {
            figure.push(json!(code));
            figure.push(json!(v));
        }
        figure.push(json!(0));
        json!([
            "interpolate",
            ["linear"],
            figure,
            0,
            RAMP[0],
            max / 2.0,
            RAMP[1],
            max,
            RAMP[2]
        ])
    };
    let legend = json!({
        "layer": table.layer,
        "boundary_set": table.boundary_set,
        "metric": table.metric,
        "unit": table.unit,
        "class": table.class,
        "value": params.value,
        "max": max,
        "stops": [[0, RAMP[0]], [max / 2.0, RAMP[1]], [max, RAMP[2]]],
    });
    let layer = choropleth_layer(doc)?;
    layer["paint"]["fill-color"] = colour;
    // Codes mean communes only within a set: colour those of the table's set.
    layer["filter"] = json!(["==", ["get", "boundary_set"], table.boundary_set]);
    layer["metadata"]["agrimap:choropleth"] = legend;
    Ok(())
}
