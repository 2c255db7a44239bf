//! Whether a client takes gzip, read once by RFC 9110 §12.5.3 for every
//! route: the tile handler (which keeps tiles gzipped) and tower-http's
//! compression of everything else answer from the same reading.
//!
//! A weight of zero refuses a coding whatever its spelling (`q=0`, `q=0.0`,
//! `q=0.000`); an explicit `gzip` entry wins over `*`; an entry with a
//! weight that is no weight is ignored, as tower-http ignores it.

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Whether the `Accept-Encoding` headers accept gzip. No header: no gzip
/// (a client that says nothing gets the plain bytes it surely reads).
#[must_use]
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    let entries = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for entry in entries {
        let mut parts = entry.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let Some(weight) = weight(parts) else { continue };
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(gzip.map_or(weight, |w: u16| w.max(weight)));
        } else if coding == "*" {
            any = Some(any.map_or(weight, |w: u16| w.max(weight)));
        }
    }
    gzip.or(any).is_some_and(|w| w > 0)
}

/// The weight of an entry in thousandths (1000 when none is given); `None`
/// for a parameter list whose `q` is not a weight.
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut weight = 1000;
    for param in params {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("q") {
            weight = qvalue(value.trim())?;
        }
    }
    Some(weight)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn qvalue(s: &str) -> Option<u16> {
    let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Rewrites `Accept-Encoding` to what [`accepts_gzip`] read (`gzip` or
/// `identity`) before the compression layer and the handlers see it, so that
/// no two readings of one header can disagree.
pub async fn settle_accept_encoding(mut req: Request, next: Next) -> Response {
    let settled = if accepts_gzip(req.headers()) {
        "gzip"
    } else {
        "identity"
    };
    if req.headers().contains_key(header::ACCEPT_ENCODING) {
        req.headers_mut()
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static(settled));
    }
    next.run(req).await
}
