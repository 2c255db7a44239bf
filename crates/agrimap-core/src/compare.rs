//! Communes side by side: two to four communes of either boundary set (a
//! pre-2025 commune beside a 2025 one too), each with its areas by class
//! of the asked thematic layers, its OCOP products, growing areas,
//! stations and their alert state, its NTM standing and the figures of its
//! summary ([`crate::summary`]).
//!
//! Areas come from the same cached statistics tables as `/api/stats` and
//! the summary ([`crate::reports::figures`]), so the three agree.
//!
//! `since=DATE` asks for the change since a day: the same figures of the
//! layers as they stood at the end of that day ([`tables_as_of`], through
//! the statistics' `as_of`), taken from today's by [`change`].

use crate::Core;
use crate::communes::{Commune, boundary_set_param};
use crate::error::{CoreError, echo};
use crate::reports::figures::{ClassFigure, Place, by_class_at, code_lists, natural_class, ntm_label};
use crate::stats::thematic_layers;
use agrimap_model::codes::CodeLists;
use agrimap_model::{BoundarySet, LayerDef, LayerGroup};
use serde_json::{Value as JsonValue, json};

/// Fewest and most communes put side by side.
pub const MIN_COMMUNES: usize = 2;
pub const MAX_COMMUNES: usize = 4;

/// A commune as asked: its code and, when written `code@set`, its boundary set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommuneRef {
    pub code: String,
    pub boundary_set: Option<BoundarySet>,
}

/// A validated compare request.
#[derive(Debug, Clone)]
pub struct CompareRequest {
    pub communes: Vec<CommuneRef>,
    pub layers: Vec<&'static LayerDef>,
    /// The day the change is counted from (`YYYY-MM-DD`).
    pub since: Option<String>,
}

impl CompareRequest {
    /// Validates `communes=A,B[@set],…`, `layers=a,b` (every thematic layer
    /// when absent), `boundary_set=` (the set of the communes written
    /// without one) and `since=YYYY-MM-DD`.
    ///
    /// # Errors
    /// `bad_communes` (fewer than two, more than four, one twice),
    /// `bad_boundary_set`, `unknown_layer`, `bad_since`.
    pub fn parse(
        communes: Option<&str>,
        layers: Option<&str>,
        boundary_set: Option<&str>,
        since: Option<&str>,
    ) -> Result<Self, CoreError> {
        let default_set = boundary_set_param(boundary_set)?;
        let mut refs: Vec<CommuneRef> = Vec::new();
        for item in communes
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
        {
            let (code, set) = match item.split_once('@') {
                Some((code, set)) => (code, Some(crate::communes::parse_boundary_set(set)?)),
                None => (item, default_set),
            };
            let r = CommuneRef {
                code: code.to_owned(),
                boundary_set: set,
            };
            if refs.contains(&r) {
                return Err(CoreError::invalid(
                    "bad_communes",
                    format!("commune '{}' is listed twice", echo(item, 64)),
                ));
            }
            refs.push(r);
            if refs.len() > MAX_COMMUNES {
                break;
            }
        }
        if !(MIN_COMMUNES..=MAX_COMMUNES).contains(&refs.len()) {
            return Err(CoreError::invalid(
                "bad_communes",
                format!(
                    "communes= takes {MIN_COMMUNES} to {MAX_COMMUNES} commune codes, comma-separated \
                     (a code may name its boundary set: 33030@pre-2025); got {}",
                    if refs.len() > MAX_COMMUNES {
                        "more".to_owned()
                    } else {
                        refs.len().to_string()
                    }
                ),
            ));
        }
        let themes = thematic_layers();
        let layers = match layers.map(str::trim).filter(|l| !l.is_empty()) {
            None => themes.iter().filter_map(|id| agrimap_model::layer(id)).collect(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|id| {
                    agrimap_model::layer(id)
                        .filter(|l| l.group == LayerGroup::Theme)
                        .ok_or_else(|| {
                            CoreError::invalid(
                                "unknown_layer",
                                format!("no thematic layer '{}'; layers: {}", echo(id, 64), themes.join(", ")),
                            )
                        })
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let since = since
            .filter(|s| !s.is_empty())
            .map(|s| {
                agrimap_model::calendar::parse_date(s)
                    .map(|_| s.to_owned())
                    .ok_or_else(|| {
                        CoreError::invalid(
                            "bad_since",
                            format!("since must be a date YYYY-MM-DD, not '{}'", echo(s, 40)),
                        )
                    })
            })
            .transpose()?;
        Ok(Self {
            communes: refs,
            layers,
            since,
        })
    }
}

/// The figures of one layer in one commune.
fn layer_json(layer: &LayerDef, class: &str, metric: &str, rows: &[ClassFigure]) -> JsonValue {
    json!({
        "class": class,
        "metric": metric,
        "unit": if metric == "area" { "ha" } else { "features" },
        "total": agrimap_analysis::total(rows.iter().map(|r| r.value)),
        "features": rows.iter().map(|r| r.features).sum::<u64>(),
        "title_vi": layer.title_vi,
        "title_en": layer.title,
        "rows": rows,
    })
}

/// Areas (or counts) by the natural class of each asked layer, as the
/// layers stand now or stood at `as_of`.
async fn layer_figures(
    core: &Core,
    codes: &CodeLists,
    commune: &Commune,
    layers: &[&'static LayerDef],
    as_of: Option<agrimap_model::UtcTime>,
) -> Result<serde_json::Map<String, JsonValue>, CoreError> {
    let place = Place {
        level: "commune",
        code: commune.code.clone(),
        boundary_set: commune.boundary_set.clone(),
        communes: vec![commune],
    };
    let mut out = serde_json::Map::new();
    for layer in layers {
        let (class, metric) = natural_class(layer);
        let rows = by_class_at(core, codes, &place, layer.id, class, metric, as_of).await?;
        out.insert(layer.id.to_owned(), layer_json(layer, class, metric, &rows));
    }
    Ok(out)
}

/// The layers as they stood at the end of `date` (a day in the past or
/// today), to count the change since then with [`change`].
///
/// # Errors
/// `bad_since` for a date in the future; the store's.
async fn tables_as_of(
    core: &Core,
    codes: &CodeLists,
    commune: &Commune,
    layers: &[&'static LayerDef],
    date: &str,
) -> Result<serde_json::Map<String, JsonValue>, CoreError> {
    let as_of = crate::features::as_of::parse_as_of(date, agrimap_model::UtcTime::now())
        .map_err(|e| CoreError::invalid("bad_since", format!("since: {}", e.message)))?;
    layer_figures(core, codes, commune, layers, Some(as_of)).await
}

/// Per layer, the change of each class and of the total from `then` to `now`
/// (both as [`layer_figures`] gives them).
#[must_use]
pub fn change(
    now: &serde_json::Map<String, JsonValue>,
    then: &serde_json::Map<String, JsonValue>,
) -> serde_json::Map<String, JsonValue> {
    let value_of = |figures: &JsonValue, class: &str| {
        figures["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["class"] == class))
            .and_then(|r| r["value"].as_f64())
            .unwrap_or(0.0)
    };
    let classes = |figures: &JsonValue| -> Vec<String> {
        figures["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| r["class"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = serde_json::Map::new();
    for (layer, current) in now {
        let before = then.get(layer).cloned().unwrap_or(JsonValue::Null);
        let mut all = classes(current);
        for c in classes(&before) {
            if !all.contains(&c) {
                all.push(c);
            }
        }
        let rows: Vec<JsonValue> = all
            .iter()
            .map(|c| json!({"class": c, "change": value_of(current, c) - value_of(&before, c)}))
            .collect();
        let total = current["total"].as_f64().unwrap_or(0.0) - before["total"].as_f64().unwrap_or(0.0);
        out.insert(layer.clone(), json!({"total": total, "rows": rows}));
    }
    out
}

/// The summary figures a planner compares at a glance, from the commune's summary.
fn summary_figures(s: &JsonValue) -> JsonValue {
    json!({
        "crop_ha": s["crop"]["total_ha"],
        "aquaculture_ha": s["aquaculture"]["water_surface_ha"],
        "growing_area_ha": s["growing_areas"]["total_ha"],
        "growing_area_codes": s["growing_areas"]["codes"],
        "ocop_products": s["ocop"]["products"],
        "irrigation_works": s["irrigation"]["works"],
        "irrigated_ha": s["irrigation"]["irrigated_ha"],
        "forest_ha": s["forestry"]["total_ha"],
        "livestock_farms": s["livestock"]["farms"],
        "livestock_head": s["livestock"]["head"],
        "stations": s["stations"].as_array().map_or(0, Vec::len),
    })
}

/// Stations by alert state, every state named.
fn alert_counts(stations: &JsonValue) -> JsonValue {
    let mut counts = serde_json::Map::new();
    for state in agrimap_model::catalog::ALERT_STATES {
        counts.insert((*state).to_owned(), json!(0));
    }
    for s in stations.as_array().into_iter().flatten() {
        let state = s["alert_state"].as_str().unwrap_or("ok");
        let n = counts.get(state).and_then(JsonValue::as_u64).unwrap_or(0);
        counts.insert(state.to_owned(), json!(n + 1));
    }
    JsonValue::Object(counts)
}

/// The side-by-side answer.
///
/// # Errors
/// `unknown_commune` (404) naming the code, `bad_since` for a day to
/// come, and the store's errors.
pub async fn compare(core: &Core, request: &CompareRequest) -> Result<JsonValue, CoreError> {
    let index = core.communes.index(core.store.as_ref()).await?;
    let mut communes: Vec<&Commune> = Vec::with_capacity(request.communes.len());
    for r in &request.communes {
        let found = index.get(&r.code, r.boundary_set).ok_or_else(|| {
            let set = r
                .boundary_set
                .map(|s| format!(" in boundary set {s}"))
                .unwrap_or_default();
            CoreError::not_found(
                "unknown_commune",
                format!("no commune with code '{}'{set}", echo(&r.code, 64)),
            )
        })?;
        if communes
            .iter()
            .any(|c| c.code == found.code && c.boundary_set == found.boundary_set)
        {
            return Err(CoreError::invalid(
                "bad_communes",
                format!("commune '{}' is listed twice", found.code),
            ));
        }
        communes.push(found);
    }
    let codes = code_lists(core).await?;
    let mut answers = Vec::with_capacity(communes.len());
    for c in &communes {
        let set = BoundarySet::parse(&c.boundary_set);
        let layers = layer_figures(core, &codes, c, &request.layers, None).await?;
        let change = match &request.since {
            Some(date) => {
                let then = tables_as_of(core, &codes, c, &request.layers, date).await?;
                JsonValue::Object(change(&layers, &then))
            }
            None => JsonValue::Null,
        };
        let summary = crate::summary::commune_summary(core, &c.code, set).await?;
        let status = c.ntm_status.as_deref().unwrap_or("not_yet");
        let (status_vi, status_en) = ntm_label(status);
        answers.push(json!({
            "code": c.code,
            "name": c.name,
            "boundary_set": c.boundary_set,
            "kind": c.kind,
            "district": {"code": c.district_code, "name": c.district_name},
            "province": {"code": c.province_code, "name": c.province_name},
            "area_ha": c.area_ha,
            "population": c.population,
            "bbox": c.bbox,
            "center": c.center,
            "layers": layers,
            "change": change,
            "ocop": {
                "products": summary["ocop"]["products"],
                "by_stars": summary["ocop"]["by_stars"],
                "list": summary["ocop"]["list"],
            },
            "growing_areas": {
                "codes": summary["growing_areas"]["codes"],
                "area_ha": summary["growing_areas"]["total_ha"],
                "by_status": summary["growing_areas"]["by_status"],
            },
            "stations": {
                "count": summary["stations"].as_array().map_or(0, Vec::len),
                "by_alert_state": alert_counts(&summary["stations"]),
                "list": summary["stations"],
            },
            "ntm": {
                "status": status,
                "status_vi": status_vi,
                "status_en": status_en,
                "year": c.ntm_year,
                "indicators": summary["ntm"],
            },
            "summary": summary_figures(&summary),
        }));
    }
    Ok(json!({
        "layers": request.layers.iter().map(|l| l.id).collect::<Vec<_>>(),
        "since": request.since,
        "communes": answers,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(communes: &str, layers: Option<&str>) -> Result<CompareRequest, CoreError> {
        CompareRequest::parse(Some(communes), layers, None, None)
    }

    #[test]
    fn two_to_four_distinct_communes() {
        assert_eq!(parse("33001", None).expect_err("refused").code, "bad_communes");
        assert_eq!(parse("1,2,3,4,5", None).expect_err("refused").code, "bad_communes");
        assert_eq!(parse("1,1", None).expect_err("refused").code, "bad_communes");
        let r = parse("1, 2@2025 ,3@pre-2025", None).expect("three");
        assert_eq!(r.communes[1].boundary_set, Some(BoundarySet::Y2025));
        assert_eq!(r.communes[2].boundary_set, Some(BoundarySet::Pre2025));
        assert_eq!(r.layers.len(), thematic_layers().len());
        assert_eq!(parse("1,2@1990", None).expect_err("refused").code, "bad_boundary_set");
    }

    #[test]
    fn layers_are_thematic_and_since_is_a_date() {
        assert_eq!(
            parse("1,2", Some("crop,roads")).expect_err("refused").code,
            "unknown_layer"
        );
        assert_eq!(parse("1,2", Some("crop")).expect("crop").layers.len(), 1);
        let bad = CompareRequest::parse(Some("1,2"), None, None, Some("2025-02-30")).expect_err("refused");
        assert_eq!(bad.code, "bad_since");
        let ok = CompareRequest::parse(Some("1,2"), None, None, Some("2025-02-28")).expect("date");
        assert_eq!(ok.since.as_deref(), Some("2025-02-28"));
    }

    #[test]
    fn change_counts_classes_on_either_side() {
        let now = json!({"crop": {"total": 10.0, "rows": [{"class": "rice", "value": 6.0}, {"class": "mango", "value": 4.0}]}});
        let then = json!({"crop": {"total": 9.0, "rows": [{"class": "rice", "value": 8.0}, {"class": "lotus", "value": 1.0}]}});
        let c = change(now.as_object().expect("map"), then.as_object().expect("map"));
        assert!((c["crop"]["total"].as_f64().expect("total") - 1.0).abs() < 1e-9);
        let rows = c["crop"]["rows"].as_array().expect("rows");
        let of = |class: &str| {
            rows.iter().find(|r| r["class"] == class).expect("row")["change"]
                .as_f64()
                .expect("change")
        };
        assert!((of("rice") + 2.0).abs() < 1e-9);
        assert!((of("mango") - 4.0).abs() < 1e-9);
        assert!((of("lotus") + 1.0).abs() < 1e-9);
    }
}
