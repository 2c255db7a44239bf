//! The official commune crosswalk of the 2025 reorganisation:
//! `GET /api/crosswalk?old=CODE` or `?new=CODE` (the pairs of one commune,
//! each with the share of the old commune's area in the new one where both
//! are loaded; JSON or `f=csv`), `GET /api/crosswalk/report` (the list checked against
//! the loaded boundaries), both public like `/api/communes`, and
//! `POST /api/crosswalk/apportion` (planners: an `old_code,value` CSV table
//! as values by new commune).

use crate::AppState;
use crate::Route;
use crate::auth::{Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiQuery};
use crate::respond::{CSV, Form, form};
use agrimap_core::crosswalk::{SharedPair, apportion, pairs_csv};
use agrimap_core::echo;
use agrimap_store::CrosswalkQuery;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

/// Largest table `apportion` takes (a country's communes many times over).
pub const MAX_TABLE_BYTES: usize = 16 * 1024 * 1024;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/crosswalk", Need::Anyone, pairs),
        Route::get("/api/crosswalk/report", Need::Anyone, report),
        Route::post(
            "/api/crosswalk/apportion",
            Need::AtLeast(Role::Planner),
            apportion_table,
        )
        .with_body_limit(MAX_TABLE_BYTES),
    ]
}

#[derive(Debug, Deserialize)]
struct PairParams {
    old: Option<String>,
    new: Option<String>,
    f: Option<String>,
}

#[derive(Debug, Deserialize)]
struct FormatParam {
    f: Option<String>,
}

/// A commune code as given, or `bad_code`.
fn code(name: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .map(|v| {
            if v.len() <= 10 && v.chars().all(|c| c.is_ascii_digit()) {
                Ok(v)
            } else {
                Err(ApiError::bad_request(
                    "bad_code",
                    format!("{name} must be a commune code (digits), got '{}'", echo(&v, 64)),
                ))
            }
        })
        .transpose()
}

fn csv_response(text: String) -> Response {
    ([(header::CONTENT_TYPE, CSV)], text).into_response()
}

fn pair_json(SharedPair { pair: p, share }: &SharedPair) -> serde_json::Value {
    json!({
        "old_code": p.old_code,
        "old_name": p.old_name,
        "new_province_code": p.new_province_code,
        "new_province_name": p.new_province_name,
        "new_code": p.new_code,
        "new_name": p.new_name,
        "type": p.kind.as_str(),
        "share": share,
    })
}

/// `GET /api/crosswalk?old=CODE|new=CODE&f=json|csv`: the pairs of one commune.
async fn pairs(State(state): State<AppState>, ApiQuery(params): ApiQuery<PairParams>) -> Result<Response, ApiError> {
    let csv = form(params.f.as_deref(), &[("csv", Form::Csv)])? == Form::Csv;
    let query = CrosswalkQuery {
        old_code: code("old", params.old)?,
        new_code: code("new", params.new)?,
    };
    if query.old_code.is_none() && query.new_code.is_none() {
        return Err(ApiError::bad_request(
            "missing_code",
            "give old=CODE (a pre-2025 commune) or new=CODE (a 2025 commune)",
        ));
    }
    let pairs = state.core.crosswalk_pairs(&query).await?;
    Ok(if csv {
        csv_response(pairs_csv(&pairs))
    } else {
        Json(json!({ "pairs": pairs.iter().map(pair_json).collect::<Vec<_>>() })).into_response()
    })
}

/// `GET /api/crosswalk/report`: the stored list against the loaded boundaries.
async fn report(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.core.crosswalk_report().await?).into_response())
}

/// `POST /api/crosswalk/apportion?f=json|csv` with an `old_code,value` CSV body.
async fn apportion_table(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<FormatParam>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let csv = form(params.f.as_deref(), &[("csv", Form::Csv)])? == Form::Csv;
    let table = state.core.apportion(&body).await?;
    Ok(if csv {
        csv_response(apportion::to_csv(&table))
    } else {
        Json(table).into_response()
    })
}
