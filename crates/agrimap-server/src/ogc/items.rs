//! `/ogc/collections/{id}/items` and `/ogc/collections/{id}/items/{featureId}`:
//! features as GeoJSON (or HTML tables), public fields only.

use super::crs::with_content_crs;
use super::params::{self, Format, Params, echo};
use super::{GEOJSON, HTML, JSON, Ogc, collection_of, home, html, link, time, with_f};
use crate::auth::Caller;
use crate::communes::geojson;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use agrimap_io::export::geojson::GeoJsonGeometry;
use agrimap_model::{Audience, Feature, FeatureQuery, Filter, LayerDef};
use axum::extract::{Extension, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value as Json;

/// The parameters `items` takes.
const ITEMS_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "commune",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
    "limit",
    "offset",
    "f",
];

/// The parameters that select features, which the links of a page carry on.
const SELECTION_PARAMS: &[&str] = &[
    "bbox",
    "bbox-crs",
    "crs",
    "datetime",
    "commune",
    "filter",
    "filter-lang",
    "filter-crs",
    "properties",
];

/// A feature as a GeoJSON Feature with the chosen properties.
pub(super) struct GeoJsonFeature<'a> {
    pub(super) layer: &'static LayerDef,
    pub(super) feature: &'a Feature,
    pub(super) fields: &'a [usize],
    pub(super) links: Option<Json>,
}

impl Serialize for GeoJsonFeature<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", "Feature")?;
        map.serialize_entry("id", &self.feature.id)?;
        map.serialize_entry("geometry", &GeoJsonGeometry(&self.feature.geometry))?;
        map.serialize_entry(
            "properties",
            &Properties {
                layer: self.layer,
                feature: self.feature,
                fields: self.fields,
            },
        )?;
        if let Some(links) = &self.links {
            map.serialize_entry("links", links)?;
        }
        map.end()
    }
}

/// Properties in schema order; restricted fields are never among `fields`.
struct Properties<'a> {
    layer: &'static LayerDef,
    feature: &'a Feature,
    fields: &'a [usize],
}

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for &i in self.fields {
            let value = self.feature.properties.get(i).unwrap_or(&agrimap_model::Value::Null);
            map.serialize_entry(self.layer.fields[i].name, value)?;
        }
        map.end()
    }
}

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

/// The fields to return: those chosen with `properties`, else every one the
/// caller may read.
pub(super) fn chosen_fields(
    params: &Params,
    layer: &'static LayerDef,
    audience: Audience,
) -> Result<Vec<usize>, ApiError> {
    Ok(params::properties(params, layer, audience)?
        .unwrap_or_else(|| layer.readable_fields(audience).map(|(i, _)| i).collect()))
}

/// The query of the links of a page: the request's selection, then `limit`
/// and `offset` (0 left out).
fn page_query(params: &Params, limit: usize, offset: usize) -> String {
    let mut parts: Vec<String> = SELECTION_PARAMS
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

/// Builds the store query of an items request.
pub(super) async fn feature_query(
    ogc: &Ogc,
    layer: &'static LayerDef,
    params: &Params,
    audience: Audience,
) -> Result<FeatureQuery, ApiError> {
    let mut filters = Vec::new();
    let mut query = FeatureQuery::default();
    if let Some(rects) = params::bbox(params)? {
        match rects.as_slice() {
            [one] => query.bbox = Some(*one),
            more => filters.push(Filter::Or(more.iter().copied().map(Filter::Intersects).collect())),
        }
    }
    if let Some(s) = params.get("datetime") {
        let temporal = time::temporal(layer).ok_or_else(|| {
            ApiError::bad_request(
                "bad_datetime",
                format!(
                    "collection '{}' has no time; datetime applies to {}",
                    layer.id,
                    time::layers_with_time()
                ),
            )
        })?;
        let range =
            time::parse_datetime(s).map_err(|why| ApiError::bad_request("bad_datetime", format!("datetime: {why}")))?;
        filters.extend(time::filter(layer, temporal, range));
    }
    if let Some(code) = params.get("commune") {
        if !layer.has_commune() {
            return Err(ApiError::bad_request(
                "bad_commune",
                format!(
                    "collection '{}' has no commune_code, so it cannot be selected by commune",
                    layer.id
                ),
            ));
        }
        let index = ogc.communes.index(ogc.store.as_ref()).await?;
        if !index.communes().iter().any(|c| c.code == code) {
            return Err(ApiError::bad_request(
                "unknown_commune",
                format!(
                    "no commune has the code '{}'; find communes by name or code with /api/communes?q=…",
                    echo(code)
                ),
            ));
        }
        query.commune = Some(code.to_owned());
    }
    filters.extend(super::filter_task::filter(params, layer, audience).await?);
    query.filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
    query.audience = audience;
    Ok(query)
}

/// `GET /ogc/collections/{id}/items`: a page of features.
// Parameters, query, answer in three formats: one request's steps in order.
#[allow(clippy::too_many_lines)]
pub(super) async fn items(
    State(ogc): State<Ogc>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let layer = collection_of(&id)?;
    let params = Params::new(pairs)?;
    params.only(ITEMS_PARAMS)?;
    let format = params::format(&params, &headers)?;
    let limit = params::limit(&params)?;
    let offset = params::offset(&params)?;
    let audience = caller.audience();
    let fields = chosen_fields(&params, layer, audience)?;
    let crs = super::crs::param(&params, "crs")?;
    let mut query = feature_query(&ogc, layer, &params, audience).await?;
    // Both stores take the offset as a 64-bit integer; past the end is past the end.
    query.offset = offset.min(usize::try_from(i64::MAX).unwrap_or(usize::MAX));
    query.limit = Some(limit);
    let store = ogc.store.as_ref();
    let (matched, features) = tokio::try_join!(store.count(layer, &query), store.features(layer, &query))?;
    let features = super::crs::features_in(features, crs).await?;

    let base = ogc.base(&headers);
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
                        layer,
                        feature,
                        fields: &fields,
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
            let collection = format!("{base}/collections/{}", layer.id);
            html_response_with(
                &format!("{}: features", layer.title),
                &[
                    home(&base),
                    (
                        with_f(&format!("{base}/collections"), "", Format::Html),
                        "Collections".to_owned(),
                    ),
                    (with_f(&collection, "", Format::Html), layer.id.to_owned()),
                ],
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
    State(ogc): State<Ogc>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    ApiPath((id, feature_id)): ApiPath<(String, String)>,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let layer = collection_of(&id)?;
    let params = Params::new(pairs)?;
    params.only(&["properties", "crs", "f"])?;
    let format = params::format(&params, &headers)?;
    let audience = caller.audience();
    let fields = chosen_fields(&params, layer, audience)?;
    let crs = super::crs::param(&params, "crs")?;
    let not_found = || {
        ApiError::not_found(
            "unknown_feature",
            format!("collection '{}' has no feature '{}'", layer.id, echo(&feature_id)),
        )
    };
    // Ids are the store's integers; any other id names no feature.
    let fid: i64 = feature_id.parse().map_err(|_| not_found())?;
    let feature = ogc.store.feature(layer, fid, audience).await?.ok_or_else(not_found)?;
    let feature = super::crs::features_in(vec![feature], crs)
        .await?
        .pop()
        .ok_or_else(not_found)?;

    let base = ogc.base(&headers);
    let collection = format!("{base}/collections/{}", layer.id);
    let url = format!("{collection}/items/{fid}");
    let keep = ["properties", "crs"]
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
                layer,
                feature: &feature,
                fields: &fields,
                links: Some(Json::Array(links)),
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
            let geometry = geojson(&feature.geometry);
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
            html_response_with(
                &format!("{} {fid}", layer.title),
                &[
                    home(&base),
                    (
                        with_f(&format!("{base}/collections"), "", Format::Html),
                        "Collections".to_owned(),
                    ),
                    (with_f(&collection, "", Format::Html), layer.id.to_owned()),
                    (
                        with_f(&format!("{collection}/items"), "", Format::Html),
                        "items".to_owned(),
                    ),
                ],
                &body,
                &Json::Array(links),
            )
        }
    };
    Ok(with_content_crs(response, crs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_carry_public_properties_in_schema_order() {
        let crop = agrimap_model::layer("crop").expect("crop");
        let mut properties: Vec<agrimap_model::Value> =
            crop.fields.iter().map(|_| agrimap_model::Value::Null).collect();
        properties[crop.field_index("crop_type").expect("i")] = "rice".into();
        let feature = Feature {
            id: 7,
            geometry: geo::Geometry::Point(geo::Point::new(105.8, 9.9)),
            properties,
        };
        let fields: Vec<usize> = crop.readable_fields(Audience::Public).map(|(i, _)| i).collect();
        let text = serde_json::to_string(&GeoJsonFeature {
            layer: crop,
            feature: &feature,
            fields: &fields,
            links: None,
        })
        .expect("json");
        assert!(text.starts_with(r#"{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[105.8,9.9]},"properties":{"parcel_id":null,"commune_code":null"#), "{text}");
        assert!(text.contains(r#""crop_type":"rice""#));
        assert!(!text.contains("owner"), "{text}");
    }
}
