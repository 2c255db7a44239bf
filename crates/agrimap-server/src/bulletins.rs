//! Bulletins over HTTP ([`agrimap_core::bulletin`]):
//!
//! - `GET /api/bulletins/pests?province=&week=&commune=` (anyone: a bulletin
//!   is published; it holds counts per commune and nothing restricted),
//!   `f=json` (default), `html` (a printable page), `csv` or `xlsx`.

use crate::AppState;
use crate::Route;
use crate::auth::Need;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::respond::{CSV, Form, XLSX, attachment, form};
use agrimap_core::bulletin::{BulletinRequest, documents};
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![Route::get("/api/bulletins/pests", Need::Anyone, pest_bulletin)]
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BulletinParams {
    province: Option<String>,
    week: Option<String>,
    commune: Option<String>,
    f: Option<String>,
}

/// `GET /api/bulletins/pests?province=&week=&commune=&f=json|html|csv|xlsx`
async fn pest_bulletin(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<BulletinParams>,
) -> Result<Response, ApiError> {
    let form = form(
        params.f.as_deref(),
        &[("html", Form::Html), ("csv", Form::Csv), ("xlsx", Form::Xlsx)],
    )?;
    let req = BulletinRequest {
        province: params.province,
        week: params.week,
        commune: params.commune.filter(|c| !c.trim().is_empty()),
    };
    let b = state.core.pest_bulletin(&req).await?;
    let name = format!(
        "ban-tin-sinh-vat-gay-hai-{}{}-{}",
        b.province,
        b.commune.as_deref().map(|c| format!("-{c}")).unwrap_or_default(),
        b.week
    );
    Ok(match form {
        Form::Json => Json(b).into_response(),
        Form::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            documents::to_html(&b),
        )
            .into_response(),
        Form::Csv => attachment(CSV, &format!("{name}.csv"), documents::to_csv(&b).into_bytes()),
        Form::Xlsx => attachment(XLSX, &format!("{name}.xlsx"), documents::to_xlsx(&b)?),
    })
}
