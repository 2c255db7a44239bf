//! The parameters that select features (`bbox`, `bbox-crs`, `crs`,
//! `properties`, `filter`, `filter-lang`, `filter-crs`, `limit`, `offset`),
//! read by hand from the raw name/value pairs so that every mistake (an
//! unknown or repeated parameter, a bad value) is refused with an error
//! naming it, whoever asked: `/ogc` items, `/api/export` or `agrimap export`.

use crate::error::{CoreError, echo};
use agrimap_io::crs::{Crs, Transform, offered_uris};
use agrimap_model::{Audience, Filter, LayerDef, cql2};
use geo::{Rect, coord};
use std::fmt::Write as _;

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page; larger limits are answered with this many features.
pub const MAX_LIMIT: usize = 10_000;

/// Characters of a client's text echoed in a message.
const ECHO: usize = 64;

/// Most query parameters a request takes: every resource takes fewer than
/// twenty, so more is a mistake or an attack, refused before any is read.
pub const MAX_PARAMS: usize = 64;

/// The query string of a request as name/value pairs, each name at most once.
#[derive(Debug, Default)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Reads the decoded pairs and refuses a name given twice.
    ///
    /// # Errors
    /// `bad_parameter` for a repeated parameter.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, CoreError> {
        if pairs.len() > MAX_PARAMS {
            return Err(CoreError::invalid(
                "bad_parameter",
                format!("{} query parameters; a request takes at most {MAX_PARAMS}", pairs.len()),
            ));
        }
        // A set, not a scan of the names before each: a URL holds thousands of short names.
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            return Err(CoreError::invalid(
                "bad_parameter",
                format!("the query parameter '{}' is given more than once", echo(name, ECHO)),
            ));
        }
        Ok(Self { pairs })
    }

    /// The value of a parameter, trimmed.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.raw(name).map(str::trim)
    }

    /// The value of a parameter as sent (a filter's positions count in it).
    #[must_use]
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Refuses any parameter not in `known`.
    ///
    /// # Errors
    /// `unknown_parameter`, naming the parameters the resource takes.
    pub fn only(&self, known: &[&str]) -> Result<(), CoreError> {
        match self.pairs.iter().find(|(n, _)| !known.contains(&n.as_str())) {
            None => Ok(()),
            Some((name, _)) => Err(CoreError::invalid(
                "unknown_parameter",
                format!(
                    "unknown query parameter '{}'; this resource takes: {}",
                    echo(name, ECHO),
                    known.join(", ")
                ),
            )),
        }
    }
}

/// The CRS named by the parameter `name` (`crs`, `bbox-crs`, `filter-crs`),
/// CRS84 without it.
///
/// # Errors
/// `bad_crs` naming the parameter and listing the CRSs offered.
pub fn crs(params: &Params, name: &str) -> Result<Crs, CoreError> {
    let Some(text) = params.get(name) else {
        return Ok(Crs::CRS84);
    };
    Crs::parse(text).map_err(|_| {
        CoreError::invalid(
            "bad_crs",
            format!(
                "{name}: '{}' is not a CRS offered here; give one of these URIs: {}",
                echo(text, ECHO),
                offered_uris().join(", ")
            ),
        )
    })
}

/// `limit`: 1 or more; above [`MAX_LIMIT`] the maximum is used.
///
/// # Errors
/// `bad_limit` for anything but a positive whole number.
pub fn limit(params: &Params) -> Result<usize, CoreError> {
    let Some(s) = params.get("limit") else {
        return Ok(DEFAULT_LIMIT);
    };
    match s.parse::<u128>() {
        Ok(0) | Err(_) => Err(CoreError::invalid(
            "bad_limit",
            format!(
                "limit must be a whole number from 1 to {MAX_LIMIT} (larger ones give {MAX_LIMIT}), got '{}'",
                echo(s, ECHO)
            ),
        )),
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
    }
}

/// `offset`: the features to skip, 0 by default.
///
/// # Errors
/// `bad_offset` for anything but a whole number.
pub fn offset(params: &Params) -> Result<usize, CoreError> {
    params.get("offset").map_or(Ok(0), |s| {
        s.parse::<u128>()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .map_err(|_| {
                CoreError::invalid(
                    "bad_offset",
                    format!("offset must be a whole number from 0, got '{}'", echo(s, ECHO)),
                )
            })
    })
}

/// `bbox`: west, south, east, north in degrees (CRS84), or six numbers with
/// heights (ignored). One rectangle, or two when it crosses the antimeridian
/// (west greater than east).
///
/// With `bbox-crs` (Part 2) the numbers are the lower and upper corners in
/// that CRS's axis order: south, west, north, east for EPSG:4326; easting,
/// northing, easting, northing in metres for a VN-2000 CRS, whose box is
/// turned into the WGS 84 envelope of its edges.
///
/// # Errors
/// `bad_bbox` naming the problem; `bad_crs` for a `bbox-crs` not offered.
// Four corners (and two more for 6 numbers) read best as w, s, e, n.
#[allow(clippy::many_single_char_names)]
pub fn bbox(params: &Params) -> Result<Option<Vec<Rect<f64>>>, CoreError> {
    let crs = crs(params, "bbox-crs")?;
    let Some(s) = params.get("bbox") else {
        return Ok(None);
    };
    let order = match crs.epsg_code() {
        None => "west,south,east,north in degrees".to_owned(),
        Some(4326) => "south,west,north,east in degrees (EPSG:4326 is latitude first)".to_owned(),
        Some(code) => format!("min easting,min northing,max easting,max northing in metres of EPSG:{code}"),
    };
    let bad = |why: String| {
        CoreError::invalid(
            "bad_bbox",
            format!("bbox must be {order} (four numbers, or six with heights): {why}"),
        )
    };
    let numbers: Vec<f64> = s
        .split(',')
        .map(|n| n.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect::<Option<_>>()
        .ok_or_else(|| bad(format!("'{}' is not a list of numbers", echo(s, ECHO))))?;
    let [x0, y0, x1, y1] = match numbers.as_slice() {
        [a, b, c, d] | [a, b, _, c, d, _] => [*a, *b, *c, *d],
        other => return Err(bad(format!("got {} numbers", other.len()))),
    };
    if !crs.is_wgs84() {
        if x0 > x1 || y0 > y1 {
            return Err(bad("the lower corner must come first".into()));
        }
        let rect = Rect::new(coord! { x: x0, y: y0 }, coord! { x: x1, y: y1 });
        let envelope = agrimap_io::crs::Transform::new(crs)
            .rect_to_wgs84(rect)
            .map_err(|e| bad(e.to_string()))?;
        return Ok(Some(vec![envelope]));
    }
    let [west, south, east, north] = if crs == agrimap_io::crs::Crs::CRS84 {
        [x0, y0, x1, y1]
    } else {
        [y0, x0, y1, x1]
    };
    if [west, east].iter().any(|x| !(-180.0..=180.0).contains(x)) {
        return Err(bad("longitudes must lie between -180 and 180".into()));
    }
    if [south, north].iter().any(|y| !(-90.0..=90.0).contains(y)) {
        return Err(bad("latitudes must lie between -90 and 90".into()));
    }
    if south > north {
        return Err(bad(format!("south ({south}) is north of north ({north})")));
    }
    let rect = |w: f64, e: f64| Rect::new(coord! { x: w, y: south }, coord! { x: e, y: north });
    Ok(Some(if west <= east {
        vec![rect(west, east)]
    } else {
        vec![rect(west, 180.0), rect(-180.0, east)]
    }))
}

/// `properties`: public fields to return, comma-separated, in schema order;
/// `None` for all of them. An empty value returns none.
///
/// # Errors
/// `bad_properties` naming the fields there are; a restricted field is
/// refused exactly like a missing one.
pub fn properties(
    params: &Params,
    layer: &'static LayerDef,
    audience: Audience,
) -> Result<Option<Vec<usize>>, CoreError> {
    let Some(s) = params.get("properties") else {
        return Ok(None);
    };
    let readable: Vec<(usize, &str)> = layer.readable_fields(audience).map(|(i, f)| (i, f.name)).collect();
    let mut chosen = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let Some((i, _)) = readable.iter().find(|(_, n)| *n == name) else {
            let valid: Vec<&str> = readable.iter().map(|(_, n)| *n).collect();
            return Err(CoreError::invalid(
                "bad_properties",
                format!(
                    "collection '{}' has no property '{}'; its properties are: {}",
                    layer.id,
                    echo(name, ECHO),
                    valid.join(", ")
                ),
            ));
        };
        chosen.push(*i);
    }
    chosen.sort_unstable();
    chosen.dedup();
    Ok(Some(chosen))
}

/// The filter languages `filter-lang` takes: CQL2 text, also under the name
/// drafts of Part 3 gave it (which GDAL's OGC API driver sends).
pub const FILTER_LANGS: &[&str] = &["cql2-text", "cql-text"];
/// The default CRS of filter geometries.
pub const FILTER_CRS: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// `filter` in `filter-lang` (CQL2 text by default) with coordinates in
/// `filter-crs` (CRS84 by default, or any CRS `crs` offers, in its axis
/// order): the filter on the layer's public properties, `None` without
/// `filter`.
///
/// # Errors
/// `bad_filter` saying where the filter goes wrong and what was expected
/// there (a restricted property in the very words of a missing one);
/// `bad_filter_lang` and `bad_filter_crs` for what is not offered.
pub fn filter(params: &Params, layer: &'static LayerDef, audience: Audience) -> Result<Option<Filter>, CoreError> {
    if let Some(lang) = params.get("filter-lang")
        && !FILTER_LANGS.iter().any(|l| l.eq_ignore_ascii_case(lang))
    {
        let why = if lang.eq_ignore_ascii_case("cql2-json") {
            "CQL2 JSON is not supported".to_owned()
        } else {
            format!("'{}' is not a filter language this server reads", echo(lang, ECHO))
        };
        return Err(CoreError::invalid(
            "bad_filter_lang",
            format!("filter-lang: {why}; send the filter as CQL2 text (filter-lang=cql2-text, the default)"),
        ));
    }
    let crs = crs(params, "filter-crs").map_err(|e| CoreError::invalid("bad_filter_crs", e.message))?;
    let Some(text) = params.raw("filter") else {
        return Ok(None);
    };
    let parsed = if crs == Crs::CRS84 {
        cql2::parse(text, layer, audience)
    } else {
        let transform = Transform::new(crs);
        let to_crs84 = |c| transform.to_wgs84(c).ok();
        let name = crs.uri();
        cql2::parse_in(
            text,
            layer,
            audience,
            cql2::FilterCrs::Other {
                name: &name,
                to_crs84: &to_crs84,
            },
        )
    };
    parsed
        .map(Some)
        .map_err(|e| CoreError::invalid("bad_filter", format!("filter: {e}")))
}

/// Percent-encodes a query value, leaving what is safe in a query as is.
#[must_use]
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~,:".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(pairs.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()).expect("params")
    }

    #[test]
    fn thousands_of_names_are_refused_whole_and_a_repeat_is_named() {
        let many: Vec<(String, String)> = (0..17_000).map(|i| (format!("p{i}"), String::new())).collect();
        let refused = Params::new(many).expect_err("too many");
        assert_eq!(refused.code, "bad_parameter");
        assert!(
            refused.message.contains("17000 query parameters"),
            "{}",
            refused.message
        );
        let repeated = vec![
            ("limit".to_owned(), "1".to_owned()),
            ("f".to_owned(), "json".to_owned()),
            ("limit".to_owned(), "2".to_owned()),
        ];
        let refused = Params::new(repeated).expect_err("repeat");
        assert!(
            refused.message.contains("'limit' is given more than once"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn limits_bboxes_and_repeats() {
        assert_eq!(limit(&params(&[])).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(
            limit(&params(&[("limit", "99999999999999999999999")])).ok(),
            Some(MAX_LIMIT)
        );
        for bad in ["0", "-1", "1.5", "ten", ""] {
            assert!(limit(&params(&[("limit", bad)])).is_err(), "{bad}");
        }
        let one = bbox(&params(&[("bbox", "105.5, 9.6,106,10.2")]))
            .expect("bbox")
            .expect("some");
        assert_eq!(one.len(), 1);
        let across = bbox(&params(&[("bbox", "170,-10,-170,10")]))
            .expect("bbox")
            .expect("some");
        assert_eq!(across.len(), 2);
        for bad in [
            "1,2,3",
            "1,2,3,4,5",
            "a,b,c,d",
            "NaN,0,1,1",
            "0,0,200,1",
            "0,10,1,5",
            "0,0,1,inf",
        ] {
            assert!(bbox(&params(&[("bbox", bad)])).is_err(), "{bad}");
        }
        assert!(Params::new(vec![("f".into(), "json".into()), ("f".into(), "html".into())]).is_err());
        // Latitude first in EPSG:4326; metres in VN-2000, as a WGS 84 envelope.
        let lat_first = bbox(&params(&[("bbox", "9.6,105.5,10.2,106"), ("bbox-crs", "EPSG:4326")]))
            .expect("bbox")
            .expect("some");
        assert_eq!(lat_first, one);
        let utm = bbox(&params(&[
            ("bbox", "560000,1080000,600000,1120000"),
            ("bbox-crs", "http://www.opengis.net/def/crs/EPSG/0/3405"),
        ]))
        .expect("bbox")
        .expect("some");
        let r = utm[0];
        assert!(
            r.min().x > 105.5 && r.max().x < 106.0 && r.min().y > 9.7 && r.max().y < 10.2,
            "{r:?}"
        );
        for (bad, crs) in [
            ("600000,1080000,560000,1120000", "EPSG:3405"),
            ("0,0,1,1", "EPSG:4326x"),
        ] {
            assert!(
                bbox(&params(&[("bbox", bad), ("bbox-crs", crs)])).is_err(),
                "{bad} {crs}"
            );
        }
        assert!(params(&[("crs", "x")]).only(&["f"]).is_err());
    }

    #[test]
    fn filters_in_cql2_text_only() {
        let ocop = agrimap_model::layer("ocop").expect("ocop");
        assert!(filter(&params(&[]), ocop, Audience::Public).expect("none").is_none());
        for ok in [
            vec![("filter", "stars = 5")],
            vec![("filter", "stars = 5"), ("filter-lang", "cql2-text")],
            vec![("filter", "stars = 5"), ("filter-lang", "cql-text")],
            vec![("filter", "stars = 5"), ("filter-crs", FILTER_CRS)],
        ] {
            assert!(
                filter(&params(&ok), ocop, Audience::Public).expect("ok").is_some(),
                "{ok:?}"
            );
        }
        let code = |pairs: &[(&str, &str)]| {
            filter(&params(pairs), ocop, Audience::Public)
                .expect_err("refused")
                .code
        };
        assert_eq!(
            code(&[("filter", "stars = 5"), ("filter-lang", "cql2-json")]),
            "bad_filter_lang"
        );
        assert_eq!(
            code(&[("filter", "stars = 5"), ("filter-crs", "EPSG:3857")]),
            "bad_filter_crs"
        );
        // Latitude first in EPSG:4326; metres in VN-2000, outside its reach refused.
        let lat_first = filter(
            &params(&[
                ("filter", "S_INTERSECTS(geometry, POINT(10 105.8))"),
                ("filter-crs", "EPSG:4326"),
            ]),
            ocop,
            Audience::Public,
        )
        .expect("ok");
        assert_eq!(
            lat_first,
            Some(Filter::IntersectsGeometry(geo::Geometry::Point(geo::Point::new(
                105.8, 10.0
            ))))
        );
        let utm = filter(
            &params(&[
                (
                    "filter",
                    "S_INTERSECTS(geometry, BBOX(560000, 1080000, 600000, 1120000))",
                ),
                ("filter-crs", "http://www.opengis.net/def/crs/EPSG/0/3405"),
            ]),
            ocop,
            Audience::Public,
        )
        .expect("ok");
        let Some(Filter::IntersectsGeometry(geo::Geometry::Polygon(p))) = utm else {
            panic!("{utm:?}");
        };
        assert!(
            p.exterior()
                .coords()
                .all(|c| (105.5..106.0).contains(&c.x) && (9.7..10.2).contains(&c.y))
        );
        assert_eq!(
            code(&[
                ("filter", "S_INTERSECTS(geometry, POINT(1e12 1e12))"),
                ("filter-crs", "EPSG:3405")
            ]),
            "bad_filter"
        );
        let e = filter(&params(&[("filter", "  stars ==")]), ocop, Audience::Public).expect_err("refused");
        assert_eq!(e.code, "bad_filter");
        assert!(e.message.starts_with("filter: at character 10: "), "{}", e.message);
    }

    #[test]
    fn properties_refuse_restricted_fields_like_missing_ones() {
        let crop = agrimap_model::layer("crop").expect("crop");
        let chosen = properties(
            &params(&[("properties", "area_ha,crop_type,area_ha")]),
            crop,
            Audience::Public,
        )
        .expect("ok")
        .expect("some");
        assert_eq!(
            chosen,
            vec![
                crop.field_index("crop_type").expect("i"),
                crop.field_index("area_ha").expect("i")
            ]
        );
        let restricted =
            properties(&params(&[("properties", "owner_phone")]), crop, Audience::Public).expect_err("refused");
        let missing = properties(&params(&[("properties", "colour")]), crop, Audience::Public).expect_err("refused");
        assert!(restricted.message.contains("crop_type") && !restricted.message.contains("owner_name"));
        assert_eq!(
            restricted.message.replace("owner_phone", "X"),
            missing.message.replace("colour", "X")
        );
    }
}
