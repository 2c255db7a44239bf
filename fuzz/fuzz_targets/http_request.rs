//! Whole requests at the HTTP edge: any method, path and query, headers
//! (`Authorization`, `Accept-Encoding`, `Content-Length`, …) and body, sent
//! through the service's router in-process over a small demo province (500
//! parcels, seeded once per fuzzing process), as hyper would hand them over.
//!
//! Whatever comes in, the service answers, never panics (a handler's panic
//! would be a JSON 500), and every error answer is the service's JSON error
//! `{"error": {"code", "message"}}`; a body over a route's limit is a 413.
//!
//! Input layout: the first line is `METHOD TARGET`, header lines follow up to
//! an empty line, and the rest is the body.

#![no_main]

use agrimap_server::{AppState, ServerConfig, app};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

struct Service {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

/// The router over a small province, built once: seeding is slow next to a request.
fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("agrimap-fuzz-http-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let seed = dir.join("province");
        let options = agrimap_demo::DemoOptions {
            seed: 2025,
            parcels: 500,
        };
        let province = agrimap_demo::generate(&options);
        agrimap_demo::write_dir(&province, &options, &seed).expect("writing the small province");
        let store = agrimap::seed::open_or_seed(&dir.join("agrimap.gpkg"), &seed).expect("seeding the store");
        let config = ServerConfig {
            // Quotas would turn most inputs into 429s.
            rate_per_address: 0,
            rate_per_token: 0,
            ..ServerConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let router = runtime.block_on(async { app(AppState::new(Arc::new(store), config)) });
        Service { runtime, router }
    })
}

/// The request the input describes, or `None` when hyper would not have
/// handed such a thing to the service (no valid method, target or header).
fn request(data: &[u8]) -> Option<Request<Body>> {
    let text_end = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match text_end {
        Some(at) => (&data[..at], data[at + 2..].to_vec()),
        None => (data, Vec::new()),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.split('\n');
    let (method, target) = lines.next()?.split_once(' ')?;
    let mut builder = Request::builder().method(method).uri(target);
    for line in lines {
        let (name, value) = line.split_once(':')?;
        builder = builder.header(name.trim(), value.trim());
    }
    builder.body(Body::from(body)).ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = request(data) else {
        return;
    };
    let service = service();
    let declared_too_large = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > agrimap_server::import::MAX_BYTES as u64);
    let (status, body) = service.runtime.block_on(async {
        let response = service
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024).await;
        (status, body)
    });
    assert_ne!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "a request failed the service"
    );
    if declared_too_large {
        // Over every route's limit: a route refuses it from its length; only
        // a target no route takes (404, 405) or that is not UTF-8 (400) is
        // answered otherwise.
        assert!(
            matches!(status.as_u16(), 413 | 400 | 404 | 405),
            "{status} for a body over every limit"
        );
    }
    if status.is_client_error() || status.is_server_error() {
        let body = body.expect("an error body is short");
        let json: serde_json::Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {}", String::from_utf8_lossy(&body)));
        assert!(
            json["error"]["code"].is_string() && json["error"]["message"].is_string(),
            "{status}: {json}"
        );
    }
});
