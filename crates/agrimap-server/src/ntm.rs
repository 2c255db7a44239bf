//! New rural development (NTM) over HTTP ([`agrimap_core::ntm`]):
//!
//! - `GET /api/ntm/sets`, `GET /api/ntm/sets/{id}` (anyone; `?version=`),
//!   `POST /api/ntm/sets` (admins: a set file, e.g. the next period's);
//! - `GET /api/ntm/scorecards/{commune}?year=&boundary_set=&set=` (planners;
//!   `f=xlsx` a self-assessment workbook, `f=html` a printable page);
//! - `POST /api/ntm/scorecards/{commune}/indicators/{indicator}?year=`
//!   (editors: `{"value", "comment", "evidence": [sha256…]}`);
//! - `POST /api/ntm/evidence?name=FILE` (editors: the file as the body) and
//!   `GET /api/ntm/evidence/{sha256}` (planners of a province whose
//!   dossier cites it, and its uploader);
//! - `POST /api/ntm/dossiers/{commune}/{year}/transitions` (`{"to", …}`:
//!   the core decides which role may make which move) and
//!   `GET /api/ntm/dossiers/{commune}/{year}/history` (planners);
//! - `GET /api/ntm/dashboard?province=&year=&boundary_set=` (planners; `f=csv|xlsx`).

use crate::AppState;
use crate::Route;
use crate::auth::{Caller, Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath, ApiQuery};
use crate::respond::{CSV, Form, XLSX, attachment, form};
use agrimap_core::CoreError;
use agrimap_core::communes::boundary_set_param;
use agrimap_core::ntm::dashboard::{self, DashboardRequest, province_param};
use agrimap_core::ntm::scorecard::{self, EntryInput, Which};
use agrimap_core::ntm::workflow::{self, MoveRequest};
use agrimap_core::ntm::{Actor, documents, files, sets};
use agrimap_model::ntm::CriteriaSet;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};

/// The endpoints of this module.
pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/ntm/sets", Need::Anyone, list_sets),
        Route::post("/api/ntm/sets", Need::AtLeast(Role::Admin), load_set),
        Route::get("/api/ntm/sets/{id}", Need::Anyone, one_set),
        Route::get(
            "/api/ntm/scorecards/{commune}",
            Need::AtLeast(Role::Planner),
            get_scorecard,
        ),
        Route::post(
            "/api/ntm/scorecards/{commune}/indicators/{indicator}",
            Need::AtLeast(Role::Editor),
            enter_value,
        ),
        Route::post("/api/ntm/evidence", Need::AtLeast(Role::Editor), upload_evidence)
            // The size is checked by the core, to answer with the limit; the
            // body limit only stops what is far beyond it.
            .with_body_limit(files::MAX_EVIDENCE_BYTES + 1024 * 1024),
        Route::get(
            "/api/ntm/evidence/{sha256}",
            Need::AtLeast(Role::Planner),
            download_evidence,
        ),
        Route::post(
            "/api/ntm/dossiers/{commune}/{year}/transitions",
            Need::AtLeast(Role::Planner),
            transition,
        ),
        Route::get(
            "/api/ntm/dossiers/{commune}/{year}/history",
            Need::AtLeast(Role::Planner),
            history,
        ),
        Route::get("/api/ntm/dashboard", Need::AtLeast(Role::Planner), dashboard),
    ]
}

/// Refuses a caller whose token is limited to provinces other than the commune's:
/// a province's dossiers are its own office's to read.
async fn in_scope(state: &AppState, caller: &Caller, which: &Which) -> Result<(), ApiError> {
    if caller.provinces.is_empty() {
        return Ok(());
    }
    let c = scorecard::commune(&state.core, &which.code, which.boundary_set).await?;
    Ok(actor(caller).may_act_in(&c)?)
}

fn actor(caller: &Caller) -> Actor {
    caller.actor()
}

/// A set as listed: what it is, not its criteria.
fn set_summary(set: &CriteriaSet, versions: &[u32]) -> JsonValue {
    json!({
        "id": set.id,
        "version": set.version,
        "versions": versions,
        "level": set.level,
        "title_vi": set.title_vi,
        "title_en": set.title_en,
        "period": set.period,
        "complete": set.complete,
        "source": {"document": set.source.document, "date": set.source.date, "issuer": set.source.issuer},
        "criteria": set.criteria.len(),
        "indicators": set.indicators().count(),
        "href": format!("/api/ntm/sets/{}", set.id),
    })
}

/// `GET /api/ntm/sets`: the newest version of every set.
async fn list_sets(State(state): State<AppState>) -> Result<Json<JsonValue>, ApiError> {
    let sets = state.core.ntm_sets().await?;
    Ok(Json(json!({
        "sets": sets.iter().map(|(s, v)| set_summary(s, v)).collect::<Vec<_>>()
    })))
}

#[derive(Debug, Deserialize)]
struct VersionParam {
    version: Option<u32>,
}

/// `GET /api/ntm/sets/{id}?version=N`: a whole set.
async fn one_set(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(params): ApiQuery<VersionParam>,
) -> Result<Json<CriteriaSet>, ApiError> {
    Ok(Json(state.core.ntm_set(&id, params.version).await?))
}

/// `POST /api/ntm/sets` (admins): a set file; 201 when new, 200 when the
/// same version was kept already.
async fn load_set(State(state): State<AppState>, ApiBody(body): ApiBody) -> Result<Response, ApiError> {
    let (set, added) = sets::load(state.core.store.as_ref(), &body).await?;
    let status = if added { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(json!({"id": set.id, "version": set.version, "added": added})),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
struct ScorecardParams {
    year: Option<String>,
    boundary_set: Option<String>,
    set: Option<String>,
    f: Option<String>,
}

fn which(code: String, params: &ScorecardParams, year: Option<i32>) -> Result<Which, ApiError> {
    let year = if let Some(y) = year {
        y
    } else {
        let text = params
            .year
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("missing_year", "give the year as year=YYYY"))?;
        text.trim().parse().map_err(|_| {
            ApiError::bad_request(
                "bad_year",
                format!("year is a year (YYYY), not '{}'", agrimap_core::echo(text, 16)),
            )
        })?
    };
    Ok(Which {
        code,
        boundary_set: boundary_set_param(params.boundary_set.as_deref())?,
        year,
        set: params.set.clone().filter(|s| !s.is_empty()),
    })
}

/// `GET /api/ntm/scorecards/{commune}?year=&boundary_set=&set=&f=json|xlsx|html`
async fn get_scorecard(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(code): ApiPath<String>,
    ApiQuery(params): ApiQuery<ScorecardParams>,
) -> Result<Response, ApiError> {
    let form = form(params.f.as_deref(), &[("xlsx", Form::Xlsx), ("html", Form::Html)])?;
    let which = which(code, &params, None)?;
    in_scope(&state, &caller, &which).await?;
    let card = scorecard::scorecard(&state.core, &which).await?;
    let name = format!("ntm-{}-{}", card.commune.code, card.year);
    Ok(match form {
        Form::Xlsx => {
            let history = workflow::history(&state.core, &which).await?;
            attachment(
                XLSX,
                &format!("{name}.xlsx"),
                documents::scorecard_xlsx(&card, &history)?,
            )
        }
        Form::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            documents::scorecard_html(&card),
        )
            .into_response(),
        Form::Json | Form::Csv => Json(card).into_response(),
    })
}

/// `POST /api/ntm/scorecards/{commune}/indicators/{indicator}?year=` (editors).
async fn enter_value(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((code, indicator)): ApiPath<(String, String)>,
    ApiQuery(params): ApiQuery<ScorecardParams>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let input: EntryInput = serde_json::from_slice(&body).map_err(|e| {
        CoreError::invalid(
            "bad_entry",
            format!("the body is {{\"value\": number|true|false|null, \"comment\": \"…\", \"evidence\": [\"sha256\", …]}}: {e}"),
        )
    })?;
    let which = which(code, &params, None)?;
    let card = scorecard::record_entry(&state.core, &actor(&caller), &which, &indicator, input).await?;
    Ok((StatusCode::CREATED, Json(card)).into_response())
}

#[derive(Debug, Deserialize)]
struct NameParam {
    name: Option<String>,
}

/// `POST /api/ntm/evidence?name=FILE` (editors): the file as the body.
async fn upload_evidence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(params): ApiQuery<NameParam>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let name = params.name.unwrap_or_default();
    let file = files::upload(&state.core, &actor(&caller), &name, body.to_vec()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "sha256": file.sha256,
            "name": file.name,
            "media_type": file.media_type,
            "size": file.size,
            "href": format!("/api/ntm/evidence/{}", file.sha256),
        })),
    )
        .into_response())
}

/// `GET /api/ntm/evidence/{sha256}` (planners of a province whose dossier
/// cites it, and its uploader): the file, as an attachment.
async fn download_evidence(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(sha): ApiPath<String>,
) -> Result<Response, ApiError> {
    let file = files::download(&state.core, &actor(&caller), &sha).await?;
    Ok(attachment(&file.media_type, &file.name, file.bytes))
}

/// `POST /api/ntm/dossiers/{commune}/{year}/transitions?boundary_set=`: `{"to", …}`.
async fn transition(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((code, year)): ApiPath<(String, i32)>,
    ApiQuery(params): ApiQuery<ScorecardParams>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let req: MoveRequest = serde_json::from_slice(&body).map_err(|e| {
        CoreError::invalid(
            "bad_transition",
            format!(
                "the body is {{\"to\": \"submitted\"|\"appraised\"|\"recognised\"|\"returned\"|\"revoked\", …}}: {e}"
            ),
        )
    })?;
    let which = which(code, &params, Some(year))?;
    let moved = workflow::move_dossier(&state.core, &actor(&caller), &which, &req).await?;
    let details: JsonValue = serde_json::from_str(&moved.details).unwrap_or(JsonValue::Null);
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "commune_code": moved.dossier.commune_code,
            "boundary_set": moved.dossier.boundary_set,
            "year": moved.dossier.year,
            "from": moved.from,
            "to": moved.to,
            "next": moved.to.next(),
            "author": moved.author,
            "role": moved.role,
            "at": moved.at,
            "details": details,
        })),
    )
        .into_response())
}

/// `GET /api/ntm/dossiers/{commune}/{year}/history?boundary_set=`
async fn history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((code, year)): ApiPath<(String, i32)>,
    ApiQuery(params): ApiQuery<ScorecardParams>,
) -> Result<Json<JsonValue>, ApiError> {
    let which = which(code, &params, Some(year))?;
    in_scope(&state, &caller, &which).await?;
    let changes = workflow::history(&state.core, &which).await?;
    Ok(Json(json!({ "changes": changes })))
}

#[derive(Debug, Deserialize)]
struct DashboardParams {
    province: Option<String>,
    year: Option<String>,
    boundary_set: Option<String>,
    f: Option<String>,
}

/// `GET /api/ntm/dashboard?province=&year=&boundary_set=&f=json|csv`
async fn dashboard(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(params): ApiQuery<DashboardParams>,
) -> Result<Response, ApiError> {
    let year = which(
        String::new(),
        &ScorecardParams {
            year: params.year.clone(),
            ..ScorecardParams::default()
        },
        None,
    )?
    .year;
    let req = DashboardRequest {
        province: province_param(params.province.as_deref())?,
        boundary_set: boundary_set_param(params.boundary_set.as_deref())?,
        year,
    };
    let form = form(params.f.as_deref(), &[("csv", Form::Csv), ("xlsx", Form::Xlsx)])?;
    // A token limited to provinces sees one of its own.
    if !caller.provinces.is_empty() && req.province.as_ref().is_none_or(|p| !caller.provinces.contains(p)) {
        let asked = match &req.province {
            Some(p) => format!("province {p} is not one of them"),
            None => "give one of them as province=".to_owned(),
        };
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "outside_provinces",
            format!(
                "this token is limited to provinces {}: {asked}",
                caller.provinces.join(", ")
            ),
        ));
    }
    let d = dashboard::dashboard(&state.core, &req).await?;
    let name = format!("ntm-{}-{}", d.province.as_deref().unwrap_or("all"), d.year);
    Ok(match form {
        Form::Csv => attachment(CSV, &format!("{name}.csv"), dashboard::to_csv(&d).into_bytes()),
        Form::Xlsx => attachment(XLSX, &format!("{name}.xlsx"), documents::dashboard_xlsx(&d)?),
        Form::Json | Form::Html => Json(d.as_ref().clone()).into_response(),
    })
}
