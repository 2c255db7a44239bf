//! `/ogc/collections/{id}/items` and `/ogc/collections/{id}/items/{featureId}`:
//! features as GeoJSON (or HTML tables), public fields only.

use super::crs::with_content_crs;
use super::request::{Format, OgcRequest};
use super::{GEOJSON, HTML, JSON, crumbs, html, link, time, with_f};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiPath;
use agrimap_core::echo;
use agrimap_core::features::{self, Params, params};
use agrimap_io::export::Columns;
use agrimap_io::export::geojson::{GeoJsonFeature, GeoJsonGeometry};
use agrimap_model::LayerDef;
use axum::extract::{Extension, State};
use axum::response::Response;
use serde_json::Value as Json;

/// The parameters `items` takes.
pub(super) const ITEMS_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "as_of",
    "commune",
    "boundary_set",
    "province",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
    "limit",
    "offset",
    "f",
];

/// The parameters one feature takes.
pub(super) const ITEM_PARAMS: &[&str] = &["properties", "crs", "as_of", "f"];

#[derive(serde::Serialize)]
struct FeatureCollection<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    features: Vec<GeoJsonFeature<'a>>,
    links: Vec<Json>,
    #[serde(rename = "numberMatched")]
    number_matched: u64,
    #[serde(rename = "numberReturned")]
    number_returned: usize,
    #[serde(rename = "timeStamp")]
    time_stamp: String,
}

/// The query of the links of a page: the request's selection, then `limit`
/// and `offset` (0 left out).
fn page_query(params: &Params, limit: usize, offset: usize) -> String {
    let mut parts: Vec<String> = agrimap_core::features::SELECTION_PARAMS
        .iter()
        .filter_map(|&name| {
            // A filter's positions count in the text as sent.
            let value = if name == "filter" {
                params.raw(name)
            } else {
                params.get(name)
            };
            value.map(|v| format!("{name}={}", params::encode(v)))
        })
        .collect();
    parts.push(format!("limit={limit}"));
    if offset > 0 {
        parts.push(format!("offset={offset}"));
    }
    parts.join("&")
}

/// `GET /ogc/collections/{id}/items`: a page of features.
// Parameters, query, answer in three formats: one request's steps in order.
#[allow(clippy::too_many_lines)]
pub(super) async fn items(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    OgcRequest {
        collection: layer,
        params,
        format,
        base,
    }: OgcRequest<&'static LayerDef>,
) -> Result<Response, ApiError> {
    let limit = params::limit(&params)?;
    let offset = params::offset(&params)?;
    let audience =
        features::scope::selection_audience(&state.core, caller.audience(), &caller.provinces, &params).await?;
    let columns = Columns::new(layer, features::chosen_fields(&params, layer, audience)?);
    let fields = &columns.fields;
    let crs = params::crs(&params, "crs")?;
    let mut query = features::query(&state.core, layer, &params, audience).await?;
    // Both stores take the offset as a 64-bit integer; past the end is past the end.
    query.offset = offset.min(usize::try_from(i64::MAX).unwrap_or(usize::MAX));
    query.limit = Some(limit);
    let store = state.core.store.as_ref();
    let _turn = match params.raw("filter") {
        Some(_) => Some(state.filter_turns.take().await?),
        None => None,
    };
    // Counted first (once per query and layer version): the count tells the
    // store how to read the page.
    let matched = state.core.match_counts.count(store, layer, &query).await?;
    query.matches = Some(matched);
    let features = store.features(layer, &query).await?;
    let features = features::in_crs(features, crs).await?;

    let url = format!("{base}/collections/{}/items", layer.id);
    let mut links = super::self_and_alternate(&url, &page_query(&params, limit, offset), format, GEOJSON, "This page");
    let returned = features.len();
    let seen = u64::try_from(offset.saturating_add(returned)).unwrap_or(u64::MAX);
    let mut pages = Vec::new();
    if returned > 0 && seen < matched {
        pages.push(("next", "The next page", offset + returned));
    }
    if offset > 0 {
        // From past the end, back to the start of the last page.
        let last = usize::try_from(matched.saturating_sub(1)).unwrap_or(usize::MAX) / limit * limit;
        pages.push(("prev", "The previous page", offset.saturating_sub(limit).min(last)));
    }
    let (page_type, page_format) = match format {
        Format::Json => (GEOJSON, Format::Json),
        Format::Html => (HTML, Format::Html),
    };
    for (rel, title, at) in pages {
        links.push(link(
            rel,
            page_type,
            title,
            with_f(&url, &page_query(&params, limit, at), page_format),
        ));
    }
    links.push(link(
        "collection",
        JSON,
        layer.title,
        with_f(&format!("{base}/collections/{}", layer.id), "", Format::Json),
    ));

    let response = match format {
        Format::Json => super::json_response(
            &FeatureCollection {
                ty: "FeatureCollection",
                features: features
                    .iter()
                    .map(|feature| GeoJsonFeature {
                        columns: &columns,
                        feature,
                        links: None,
                    })
                    .collect(),
                links,
                number_matched: matched,
                number_returned: returned,
                time_stamp: time::now(),
            },
            GEOJSON,
        ),
        Format::Html => {
            let mut header = vec!["id"];
            header.extend(fields.iter().map(|&i| layer.fields[i].name));
            header.push("geometry");
            let rows: Vec<Vec<String>> = features
                .iter()
                .map(|f| {
                    let mut row = vec![html::link(
                        &with_f(&format!("{url}/{}", f.id), "", Format::Html),
                        &f.id.to_string(),
                    )];
                    row.extend(
                        fields
                            .iter()
                            .map(|&i| html::cell(&serde_json::to_value(&f.properties[i]).unwrap_or(Json::Null))),
                    );
                    row.push(geometry_name(&f.geometry).to_owned());
                    row
                })
                .collect();
            let paging: Vec<String> = links
                .iter()
                .filter_map(|l| {
                    let text = match l["rel"].as_str()? {
                        "prev" => "‹ previous",
                        "next" => "next ›",
                        _ => return None,
                    };
                    Some(html::link(l["href"].as_str()?, text))
                })
                .collect();
            let first = if returned == 0 { offset } else { offset + 1 };
            let body = format!(
                "<p>Features {first}–{} of {matched} (at {}).</p>\n<p>{}</p>\n{}<p>{}</p>\n",
                offset + returned,
                time::now(),
                paging.join(" · "),
                html::table(&header, &rows),
                paging.join(" · "),
            );
            html_response_with(
                &format!("{}: features", layer.title),
                &crumbs(&base, Some(layer)),
                &body,
                &Json::Array(links),
            )
        }
    };
    Ok(with_content_crs(response, crs))
}

fn html_response_with(title: &str, crumbs: &[(String, String)], body: &str, links: &Json) -> Response {
    super::html_response(html::page(title, crumbs, body, links))
}

fn geometry_name(g: &geo::Geometry<f64>) -> &'static str {
    use geo::Geometry as G;
    match g {
        G::Point(_) => "Point",
        G::Line(_) | G::LineString(_) => "LineString",
        G::Polygon(_) | G::Rect(_) | G::Triangle(_) => "Polygon",
        G::MultiPoint(_) => "MultiPoint",
        G::MultiLineString(_) => "MultiLineString",
        G::MultiPolygon(_) => "MultiPolygon",
        G::GeometryCollection(_) => "GeometryCollection",
    }
}

/// `GET /ogc/collections/{id}/items/{featureId}`: one feature.
pub(super) async fn item(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiPath((_, feature_id)): ApiPath<(String, String)>,
    OgcRequest {
        collection: layer,
        params,
        format,
        base,
    }: OgcRequest<&'static LayerDef>,
) -> Result<Response, ApiError> {
    let audience = caller.audience();
    // Checked before the feature is looked up, as for every caller.
    features::chosen_fields(&params, layer, audience)?;
    let crs = params::crs(&params, "crs")?;
    let not_found = || {
        ApiError::not_found(
            "unknown_feature",
            format!("collection '{}' has no feature '{}'", layer.id, echo(&feature_id, 64)),
        )
    };
    let as_of = match params.get("as_of") {
        Some(s) => {
            features::as_of::check_versioned(layer)?;
            Some(features::as_of::parse_as_of(s, agrimap_model::UtcTime::now())?)
        }
        None => None,
    };
    // Ids are the store's integers; any other id names no feature.
    let fid: i64 = feature_id.parse().map_err(|_| not_found())?;
    let store = state.core.store.as_ref();
    let mut feature = store
        .feature_as_of(layer, fid, audience, as_of)
        .await?
        .ok_or_else(not_found)?;
    // A planner limited to provinces reads restricted fields of theirs only.
    let audience = features::scope::feature_audience(&state.core, audience, &caller.provinces, layer, &feature).await?;
    let columns = Columns::new(layer, features::chosen_fields(&params, layer, audience)?);
    if audience != caller.audience() {
        feature = store
            .feature_as_of(layer, fid, audience, as_of)
            .await?
            .ok_or_else(not_found)?;
    }
    let fields = &columns.fields;
    let feature = features::in_crs(vec![feature], crs)
        .await?
        .pop()
        .ok_or_else(not_found)?;

    let collection = format!("{base}/collections/{}", layer.id);
    let url = format!("{collection}/items/{fid}");
    let keep = ["properties", "crs", "as_of"]
        .iter()
        .filter_map(|&name| params.get(name).map(|v| format!("{name}={}", params::encode(v))))
        .collect::<Vec<_>>()
        .join("&");
    let mut links = super::self_and_alternate(&url, &keep, format, GEOJSON, "This feature");
    links.push(link(
        "collection",
        JSON,
        layer.title,
        with_f(&collection, "", Format::Json),
    ));
    let response = match format {
        Format::Json => super::json_response(
            &GeoJsonFeature {
                columns: &columns,
                feature: &feature,
                links: Some(&Json::Array(links)),
            },
            GEOJSON,
        ),
        Format::Html => {
            const SHOWN: usize = 2000;
            let rows: Vec<Vec<String>> = fields
                .iter()
                .map(|&i| {
                    vec![
                        format!("<code>{}</code>", html::escape(layer.fields[i].name)),
                        html::cell(&serde_json::to_value(&feature.properties[i]).unwrap_or(Json::Null)),
                    ]
                })
                .collect();
            let geometry = GeoJsonGeometry(&feature.geometry).to_json();
            let mut text = geometry.to_string();
            if text.len() > SHOWN {
                let cut = (0..=SHOWN).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            let body = format!(
                "{}<h2>Geometry</h2>\n<p>{}</p>\n<pre>{}</pre>\n",
                html::table(&["property", "value"], &rows),
                geometry_name(&feature.geometry),
                html::escape(&text),
            );
            let mut trail = crumbs(&base, Some(layer));
            trail.push((
                with_f(&format!("{collection}/items"), "", Format::Html),
                "items".to_owned(),
            ));
            html_response_with(&format!("{} {fid}", layer.title), &trail, &body, &Json::Array(links))
        }
    };
    Ok(with_content_crs(response, crs))
}
