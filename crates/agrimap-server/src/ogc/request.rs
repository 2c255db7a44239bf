//! [`OgcRequest`]: what every `/ogc` handler starts from, read from the
//! request once: the collection its path names, its query parameters
//! (each at most once, and only those the resource takes), the format asked
//! for (`f`, else `Accept`) and the absolute URL of `/ogc`.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::origin::request_origin;
use agrimap_core::echo;
use agrimap_core::features::{self, Params};
use agrimap_model::LayerDef;
use axum::extract::{FromRequestParts, MatchedPath};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use std::collections::HashMap;

/// The two encodings of every resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON; GeoJSON for features; OpenAPI JSON for the API definition.
    Json,
    Html,
}

impl Format {
    /// The value of `f` that asks for this format.
    #[must_use]
    pub fn param(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Html => "html",
        }
    }
}

/// A request to an `/ogc` resource; `C` is what its path names: `()` for the
/// resources of the whole service, the layer (`&'static LayerDef`) for those
/// under `/ogc/collections/{id}`.
pub struct OgcRequest<C = ()> {
    pub collection: C,
    pub params: Params,
    pub format: Format,
    /// The absolute URL of `/ogc`, from the configured public URL or the host asked.
    pub base: String,
}

/// What the path of an `/ogc` resource names.
pub trait Collection: Sized {
    /// From the path's `{id}`, if the route has one.
    ///
    /// # Errors
    /// `unknown_collection` for an id that names no layer.
    fn from_id(id: Option<&str>) -> Result<Self, ApiError>;
}

impl Collection for () {
    fn from_id(_: Option<&str>) -> Result<Self, ApiError> {
        Ok(())
    }
}

impl Collection for &'static LayerDef {
    fn from_id(id: Option<&str>) -> Result<Self, ApiError> {
        Ok(features::collection(id.unwrap_or_default())?)
    }
}

impl<C: Collection> FromRequestParts<AppState> for OgcRequest<C> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map_or_else(String::new, |m| m.as_str().to_owned());
        let path = if route.contains('{') {
            ApiPath::<HashMap<String, String>>::from_request_parts(parts, state)
                .await?
                .0
        } else {
            HashMap::new()
        };
        let ApiQuery(pairs) = ApiQuery::<Vec<(String, String)>>::from_request_parts(parts, state).await?;
        let collection = C::from_id(path.get("id").map(String::as_str))?;
        let params = Params::new(pairs)?;
        params.only(super::parameters(&route))?;
        let format = format(&params, &parts.headers)?;
        let base = format!(
            "{}/ogc",
            request_origin(state.config.public_url.as_deref(), &parts.headers)
        );
        Ok(Self {
            collection,
            params,
            format,
            base,
        })
    }
}

/// The format asked for: `f` first, else the best match of `Accept`, else JSON.
///
/// # Errors
/// `bad_format` for an `f` that is neither `json` nor `html`.
pub fn format(params: &Params, headers: &HeaderMap) -> Result<Format, ApiError> {
    if let Some(f) = params.get("f") {
        return match f.to_ascii_lowercase().as_str() {
            "json" | "geojson" | "application/json" | "application/geo+json" => Ok(Format::Json),
            "html" | "text/html" => Ok(Format::Html),
            _ => Err(ApiError::bad_request(
                "bad_format",
                format!("f must be 'json' or 'html', got '{}'", echo(f, 64)),
            )),
        };
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(negotiate(accept))
}

/// HTML when `Accept` prefers it to every JSON type, JSON otherwise.
fn negotiate(accept: &str) -> Format {
    let mut json = 0.0_f32;
    let mut html = 0.0_f32;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .filter(|q| q.is_finite())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        let (is_json, is_html) = match media.as_str() {
            "*/*" => (true, true),
            "application/*" => (true, false),
            "text/*" | "text/html" | "application/xhtml+xml" => (false, true),
            m => (m.ends_with("json") || m.ends_with("+json"), false),
        };
        if is_json {
            json = json.max(q);
        }
        if is_html {
            html = html.max(q);
        }
    }
    if html > json { Format::Html } else { Format::Json }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_prefers_json_unless_html_ranks_higher() {
        assert_eq!(negotiate(""), Format::Json);
        assert_eq!(negotiate("*/*"), Format::Json);
        assert_eq!(negotiate("application/geo+json, application/json"), Format::Json);
        assert_eq!(
            negotiate("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            Format::Html
        );
        assert_eq!(negotiate("text/html;q=0.5, application/json"), Format::Json);
        assert_eq!(negotiate("text/html;q=nan"), Format::Html);
        assert_eq!(negotiate("image/png"), Format::Json);
    }
}
