//! What keeps one client, or one slow request, from taking the service down:
//! a deadline on every request, well-formed (UTF-8) paths and queries, request quotas per address and per token
//! (429 with `Retry-After`, checked by [`crate::auth::authorize`] once it
//! knows the caller), a cap on request bodies (each route's, refused from the
//! `Content-Length` before anything is read), and CORS for the origins the
//! operator names.

use crate::error::ApiError;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Largest request body of a route that sets none: ten thousand readings
/// fit in well under this.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Per-key request quotas: a steady rate with a burst of four seconds' worth,
/// so that a map opening (tens of tiles at once) is never throttled.
pub struct Quotas {
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_token: Option<DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
    checks: AtomicU64,
}

/// Every this many checks, keys back to a full quota are forgotten, so that
/// the maps do not grow with every address ever seen.
const FORGET_EVERY: u64 = 10_000;

fn limiter<K: std::hash::Hash + Eq + Clone>(per_second: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = NonZeroU32::new(per_second.saturating_mul(4)).unwrap_or(rate);
    Some(DefaultKeyedRateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ))
}

/// The key a request counts against.
#[derive(Debug, Clone, Copy)]
pub enum QuotaKey<'a> {
    Address(IpAddr),
    Token(&'a str),
}

impl Quotas {
    /// Quotas of `per_address` and `per_token` requests a second; 0 turns one off.
    #[must_use]
    pub fn new(per_address: u32, per_token: u32) -> Self {
        Self {
            by_address: limiter(per_address),
            by_token: limiter(per_token),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts a request against `key`.
    ///
    /// # Errors
    /// `Err(wait)`, how long until the next request is let in, when the key
    /// has used up its quota for now.
    pub fn check(&self, key: QuotaKey<'_>) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % FORGET_EVERY == FORGET_EVERY - 1 {
            self.forget_idle();
        }
        let verdict = match key {
            QuotaKey::Address(ip) => self.by_address.as_ref().map(|l| l.check_key(&ip)),
            QuotaKey::Token(id) => self.by_token.as_ref().map(|l| l.check_key(&id.to_owned())),
        };
        match verdict {
            Some(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            _ => Ok(()),
        }
    }

    fn forget_idle(&self) {
        if let Some(l) = &self.by_address {
            l.retain_recent();
        }
        if let Some(l) = &self.by_token {
            l.retain_recent();
        }
    }
}

/// The 429 answer, with the seconds to wait.
#[must_use]
pub fn too_many_requests(wait: Duration) -> Response {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut r = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many requests; try again in {seconds} s"),
    )
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    r
}

/// The client's address, when the server was started with connection info.
#[must_use]
pub fn client_address(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// Answers 503 when a request has not produced its response within `limit`.
/// A streamed body, once started, is not cut. File imports are not timed:
/// a province's parcels take longer than any query should, and an answer
/// of "stopped" would be untrue of a transaction that may still commit.
pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if req.method() == Method::POST && req.uri().path().starts_with("/api/import/") {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms and was stopped", limit.as_millis()),
        )
        .into_response(),
    }
}

/// Refuses a request whose path or query, once percent-decoded, is not
/// UTF-8: every name and value agrimap knows is text, and a lossy decoding
/// would quietly search for something else than what was sent.
pub async fn require_utf8(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let decodes = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8().is_ok();
    if !decodes(uri.path()) || !uri.query().is_none_or(|q| decodes(&q.replace('+', " "))) {
        return ApiError::bad_request(
            "bad_encoding",
            "the path or query is not valid UTF-8 once percent-decoded",
        )
        .into_response();
    }
    next.run(req).await
}

/// CORS for the listed origins (`*` for any); `None` when no origin is listed,
/// so browsers keep the same-origin rule.
#[must_use]
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::IF_NONE_MATCH])
            .expose_headers([header::ETAG, header::RETRY_AFTER])
            .max_age(Duration::from_hours(1)),
    )
}

/// Refuses a body larger than the route's `limit` (see [`crate::Route`]):
/// at once when its `Content-Length` says so, so that nothing is read (or
/// held in memory) for it; and with the same answer when a body sent without
/// a length crosses the limit as it is read.
pub async fn body_limit(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return body_too_large(limit).into_response();
    }
    let response = next.run(req).await;
    // Only the body limit answers 413; its answer names this route's limit.
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return body_too_large(limit).into_response();
    }
    response
}

/// The 413 of a route taking at most `limit` bytes.
#[must_use]
pub fn body_too_large(limit: usize) -> ApiError {
    const MIB: usize = 1024 * 1024;
    let size = if limit.is_multiple_of(MIB) {
        format!("{limit} bytes ({} MiB)", limit / MIB)
    } else {
        format!("{limit} bytes")
    };
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!("the request body is larger than this route takes: at most {size}"),
    )
}

impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // [`body_limit`] puts the route's limit in the answer.
            Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than this route takes",
            )
        } else {
            Self::bad_request("bad_body", format!("the request body could not be read: {e}"))
        }
    }
}
