//! Alerts over HTTP: the alert history (`GET /api/alerts/history`), the live
//! feed as server-sent events (`GET /api/alerts/stream`), subscriptions
//! (`GET/POST /api/subscriptions`, `DELETE /api/subscriptions/{id}`, editors)
//! and the dead-letter list with its replay (admins). The work is the core's
//! ([`agrimap_core::alerts`]).

use crate::auth::{Caller, Need, Role};
use crate::error::ApiError;
use crate::extract::{ApiBody, ApiPath, ApiQuery};
use crate::{AppState, Route};
use agrimap_core::CoreError;
use agrimap_core::alerts::subscriptions::{self, SubscriptionRequest};
use agrimap_core::alerts::{HistoryQuery, communes_of_province, history};
use agrimap_model::UtcTime;
use agrimap_model::alerts::AlertEvent;
use axum::Json;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

pub(crate) fn endpoints() -> Vec<Route> {
    vec![
        Route::get("/api/alerts/history", Need::Anyone, get_history),
        Route::get("/api/alerts/stream", Need::Anyone, stream),
        Route::get("/api/alerts/dead-letters", Need::AtLeast(Role::Admin), dead_letters),
        Route::post("/api/alerts/dead-letters/replay", Need::AtLeast(Role::Admin), replay),
        Route::get("/api/subscriptions", Need::AtLeast(Role::Editor), list_subscriptions),
        Route::post("/api/subscriptions", Need::AtLeast(Role::Editor), create_subscription),
        Route::delete("/api/subscriptions/{id}", Need::AtLeast(Role::Editor), end_subscription),
    ]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryParams {
    province: Option<String>,
    commune: Option<String>,
    station: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

fn time_param(name: &str, text: Option<&str>) -> Result<Option<UtcTime>, CoreError> {
    text.filter(|t| !t.is_empty())
        .map(|t| UtcTime::parse(t).map_err(|e| CoreError::invalid("bad_time", format!("{name}: {e}"))))
        .transpose()
}

/// `GET /api/alerts/history?province&commune&station&from&to&limit`: changes
/// of station states, newest first; editors and admins also see who was
/// notified of each.
async fn get_history(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> Result<Response, ApiError> {
    let query = HistoryQuery {
        from: time_param("from", p.from.as_deref())?,
        to: time_param("to", p.to.as_deref())?,
        province: p.province,
        commune: p.commune,
        station: p.station,
        limit: p.limit.unwrap_or(100),
    };
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from > to
    {
        return Err(CoreError::invalid("bad_interval", format!("from {from} is after to {to}")).into());
    }
    let index = state.core.commune_index().await?;
    let merges = state.core.province_merges().await?;
    let entries = history(
        state.core.store.as_ref(),
        &index,
        &merges,
        &query,
        caller.role >= Role::Editor,
    )
    .await?;
    Ok(Json(json!({ "events": entries })).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    province: Option<String>,
}

/// `GET /api/alerts/stream?province=`: each change of a station's state as
/// an SSE `alert` event whose id is the event's; a client that reconnects
/// with `Last-Event-ID` first gets what it missed, from the store.
async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<StreamParams>,
) -> Result<Response, ApiError> {
    let communes: Option<Arc<HashSet<String>>> = match p.province.as_deref().filter(|p| !p.is_empty()) {
        Some(province) => {
            let index = state.core.commune_index().await?;
            let merges = state.core.province_merges().await?;
            Some(Arc::new(
                communes_of_province(&index, &merges, province)?.into_iter().collect(),
            ))
        }
        None => None,
    };
    // Listen before reading what was missed, so nothing falls between the two.
    let live = state.core.alerts.listen();
    let last_seen: Option<i64> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let missed = match last_seen {
        Some(after) => state
            .core
            .store
            .alert_events(&agrimap_store::EventQuery {
                after_id: Some(after),
                limit: 1000,
                ..agrimap_store::EventQuery::default()
            })
            .await
            .map_err(CoreError::from)?,
        None => Vec::new(),
    };
    let stopping = state.stopping.clone();
    let events = feed(missed, live, communes, stopping);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

/// The missed events, then live ones, in this province only, until the
/// server stops.
fn feed(
    missed: Vec<AlertEvent>,
    mut live: tokio::sync::broadcast::Receiver<Arc<AlertEvent>>,
    communes: Option<Arc<HashSet<String>>>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    async_stream(move |tx| async move {
        let wanted = |e: &AlertEvent| communes.as_ref().is_none_or(|c| c.contains(&e.commune_code));
        let mut sent = 0;
        for e in missed.iter().filter(|e| wanted(e)) {
            sent = e.id;
            if tx.send(event_of(e)).await.is_err() {
                return;
            }
        }
        loop {
            let next = tokio::select! {
                next = live.recv() => next,
                _ = stopping.wait_for(|s| *s) => return,
            };
            match next {
                Ok(e) if e.id > sent && wanted(&e) => {
                    sent = e.id;
                    if tx.send(event_of(&e)).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                // Too slow to keep up: the client reconnects with Last-Event-ID and catches up.
                Err(RecvError::Lagged(_) | RecvError::Closed) => return,
            }
        }
    })
}

fn event_of(e: &AlertEvent) -> Event {
    Event::default()
        .event("alert")
        .id(e.id.to_string())
        .json_data(e)
        .unwrap_or_else(|_| Event::default().comment("an event that could not be written"))
}

/// A stream fed by a task through a small channel.
fn async_stream<F, Fut>(produce: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(produce(tx));
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) })
}

/// `GET /api/subscriptions`: those in force the caller may manage.
async fn list_subscriptions(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Response, ApiError> {
    let list = subscriptions::list(state.core.store.as_ref(), &caller.actor()).await?;
    Ok(Json(json!({ "subscriptions": list })).into_response())
}

/// `POST /api/subscriptions`: a new subscription; the answer holds its
/// signing secret, shown this once.
async fn create_subscription(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiBody(body): ApiBody,
) -> Result<Response, ApiError> {
    let request: SubscriptionRequest = serde_json::from_slice(&body).map_err(|e| {
        CoreError::invalid(
            "bad_subscription",
            format!(
                "the body is {{\"name\", \"url\", \"provinces\", \"communes\", \"station_kinds\", \"parameters\", \"states\"}}: {e}"
            ),
        )
    })?;
    let index = state.core.commune_index().await?;
    let made = subscriptions::create(
        state.core.store.as_ref(),
        &index,
        &caller.actor(),
        request,
        state.core.alerts.config.allow_private_webhooks,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(made)).into_response())
}

/// `DELETE /api/subscriptions/{id}`: ends it (it stays in the history).
async fn end_subscription(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    subscriptions::end(state.core.store.as_ref(), &caller.actor(), id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /api/alerts/dead-letters`: deliveries given up on.
async fn dead_letters(State(state): State<AppState>) -> Result<Response, ApiError> {
    let dead = subscriptions::dead_letters(state.core.store.as_ref()).await?;
    Ok(Json(json!({ "dead_letters": dead })).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    ids: Option<Vec<i64>>,
}

/// `POST /api/alerts/dead-letters/replay` with `{"ids": [...]}` or no body
/// (all): back in the queue, with a fresh day of retries.
async fn replay(State(state): State<AppState>, ApiBody(body): ApiBody) -> Result<Response, ApiError> {
    let request: ReplayRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReplayRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            CoreError::invalid(
                "bad_replay",
                format!("the body is {{\"ids\": [delivery ids]}} or empty: {e}"),
            )
        })?
    };
    let replayed = subscriptions::replay(state.core.store.as_ref(), request.ids.as_deref()).await?;
    state.core.alerts.wake_deliverer();
    Ok(Json(json!({ "replayed": replayed })).into_response())
}
