//! One JSON error shape for every route: `{"error": {"code", "message"}}`.

use agrimap_core::{CoreError, ErrorKind};
use agrimap_store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answered to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable code (`unknown_layer`, `bad_tile`, ...).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// The JSON body of every error answer: `{"error": {"code", "message"}}`.
    #[must_use]
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            // RFC 9110: a 401 names the scheme the client should use.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"agrimap\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE
            && !response.headers().contains_key(axum::http::header::RETRY_AFTER)
        {
            // Busy or a store that did not answer: a few seconds is worth waiting.
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        response
    }
}

/// The HTTP status that answers a core error of this kind.
#[must_use]
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::UnsupportedMedia => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        Self::new(status_of(e.kind), e.code, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        CoreError::from(e).into()
    }
}

/// The answer for any path no route matches.
pub fn not_found(uri: &axum::http::Uri) -> ApiError {
    ApiError::not_found("not_found", format!("no such resource: {}", uri.path()))
}

/// The answer for a known path asked with the wrong method.
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on {}", uri.path()),
    )
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        Self::bad_request(
            "bad_path",
            format!("the request path cannot be read: {}", e.body_text()),
        )
    }
}

/// Turns a handler's panic into a JSON 500 (the panic goes to the log), so
/// the client gets an answer and the connection its response.
#[must_use]
pub fn catch_panics() -> tower_http::catch_panic::CatchPanicLayer<fn(Box<dyn std::any::Any + Send>) -> Response> {
    // The signature is CatchPanicLayer's: the panic's payload is handed over.
    #[allow(clippy::needless_pass_by_value)]
    fn answer(panic: Box<dyn std::any::Any + Send>) -> Response {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(panic = %what, "a request handler panicked");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the server failed on this request; the failure is logged",
        )
        .into_response()
    }
    tower_http::catch_panic::CatchPanicLayer::custom(answer as fn(Box<dyn std::any::Any + Send>) -> Response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panicking_handler_answers_a_json_500() {
        async fn broken() -> &'static str {
            panic!("a bug")
        }
        let app = axum::Router::new()
            .route("/", axum::routing::get(broken))
            .layer(catch_panics());
        let request = axum::http::Request::get("/")
            .body(axum::body::Body::empty())
            .expect("request");
        let response = app.oneshot(request).await.expect("answer");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024).await.expect("body");
        assert!(String::from_utf8_lossy(&body).contains("internal_error"));
    }
}
