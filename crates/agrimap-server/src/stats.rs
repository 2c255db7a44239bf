//! `GET /api/stats`: a statistics table of the core ([`agrimap_core::stats`])
//! as JSON, CSV or an Excel workbook.
//!
//! The features counted may be selected by a CQL2 `filter` and a `datetime`,
//! read exactly as `/ogc` reads them: a filter on a restricted field is a
//! planner's, within the provinces their token covers, and for a token
//! limited to provinces it counts only the features coded in the province
//! asked for (those lying in its communes may be another's).

use crate::AppState;
use crate::Route;
use crate::auth::{Caller, Need};
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::respond::{CSV, Form, XLSX, attachment, form};
use agrimap_core::features::{self, Params};
use agrimap_core::stats::{
    Group, LayerOptions, Selection, StatsRequest, layer_options, periods, thematic_layers, to_csv, to_xlsx,
};
use agrimap_model::UtcTime;
use axum::Json;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/stats", Need::Anyone, stats),
        Route::get("/api/stats/layers", Need::Anyone, layers),
    ]
}

/// `GET /api/stats/layers`: what can be asked of each thematic layer.
async fn layers() -> Json<Vec<LayerOptions>> {
    Json(layer_options())
}

/// Query parameters of `/api/stats`.
#[derive(Debug, Deserialize)]
pub struct StatsParams {
    layer: Option<String>,
    by: Option<String>,
    class: Option<String>,
    metric: Option<String>,
    boundary_set: Option<String>,
    province: Option<String>,
    filter: Option<String>,
    #[serde(rename = "filter-lang")]
    filter_lang: Option<String>,
    datetime: Option<String>,
    per: Option<String>,
    as_of: Option<String>,
    group: Option<String>,
    from: Option<i64>,
    f: Option<String>,
}

/// `GET /api/stats?layer=…&by=…&class=a[,b]&metric=m1[,m2…][&filter=…][&datetime=…][&per=…]
/// [&as_of=…|&group=year|season[&from=YYYY]][&boundary_set=…][&province=…][&f=json|csv|xlsx]`
pub(crate) async fn stats(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(params): ApiQuery<StatsParams>,
) -> Result<Response, ApiError> {
    let layer = params.layer.as_deref().ok_or_else(|| {
        ApiError::bad_request(
            "bad_layer",
            format!("layer is required; layers: {}", thematic_layers().join(", ")),
        )
    })?;
    let form = form(params.f.as_deref(), &[("csv", Form::Csv), ("xlsx", Form::Xlsx)])?;
    let request = StatsRequest::parse(
        layer,
        params.by.as_deref(),
        params.class.as_deref(),
        params.metric.as_deref(),
    )?
    .within(params.boundary_set.as_deref(), params.province.as_deref())?
    .per(params.per.as_deref())?
    .at(params.as_of.as_deref())?;
    let selection = selection(&state, &caller, request.layer, &params).await?;
    let _turn = match params.filter {
        Some(_) => Some(state.filter_turns.take().await?),
        None => None,
    };
    let request = request.selecting(selection);
    let store = state.core.store.as_ref();
    let table = match params.group.as_deref().filter(|g| !g.is_empty()) {
        None => state.core.stats.table(store, request).await?,
        Some(group) => {
            if params.as_of.is_some() {
                return Err(ApiError::bad_request(
                    "bad_group",
                    "group reads each period at its own end: give group or as_of, not both",
                ));
            }
            let group = Group::parse(group)?;
            agrimap_core::features::as_of::check_versioned(request.layer)?;
            let periods = periods(group, params.from, UtcTime::now())?;
            Arc::new(state.core.stats.grouped(store, request, group, periods).await?)
        }
    };
    let name = format!("thong-ke-{}-{}", table.layer, table.by);
    Ok(match form {
        Form::Csv => attachment(CSV, &format!("{name}.csv"), to_csv(&table).into_bytes()),
        Form::Xlsx => attachment(XLSX, &format!("{name}.xlsx"), to_xlsx(&table)?),
        _ => Json(table.as_ref()).into_response(),
    })
}

/// The features `filter` and `datetime` select, read as `/ogc` reads them,
/// for the audience the caller has over the province asked for.
async fn selection(
    state: &AppState,
    caller: &Caller,
    layer: &'static agrimap_model::LayerDef,
    params: &StatsParams,
) -> Result<Option<Selection>, ApiError> {
    if params.filter.is_none() && params.datetime.is_none() {
        return Ok(None);
    }
    let pairs = [
        ("filter", &params.filter),
        ("filter-lang", &params.filter_lang),
        ("datetime", &params.datetime),
        ("province", &params.province),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|v| (name.to_owned(), v)))
    .collect();
    let own = Params::new(pairs)?;
    let audience = features::scope::selection_audience(&state.core, caller.audience(), &caller.provinces, &own).await?;
    let scope = features::scope::coded_scope(&state.core, layer, audience, &caller.provinces, &own).await?;
    let selection = Selection::read(layer, &own, audience).await?;
    Ok(match (selection, scope) {
        (Some(selection), Some((coded, province))) => Some(selection.coded_in(coded, &province)),
        (selection, _) => selection,
    })
}
