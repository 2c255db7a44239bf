//! The public page of a product, `/t/{id}`: what a consumer sees after
//! scanning the QR code on a package. Plain HTML with a small inline
//! stylesheet and an inline SVG map: no script, no web font, no second
//! request, so it reads in well under a second on a slow 3G link. In
//! Vietnamese, with `?lang=en` for English. Each view counts one scan of
//! the product for today; nothing about the visitor is kept.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::ogc::html::escape;
use agrimap_core::registry::page::ProductView;
use agrimap_core::registry::qr;
use agrimap_core::{CoreError, ErrorKind};
use agrimap_model::registry::{CERTIFICATE_SCHEMES, EffectiveStatus, valid_on};
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fmt::Write as _;

/// The page's words in one language.
struct Words {
    lang: &'static str,
    other: (&'static str, &'static str),
    producer: &'static str,
    commune: &'static str,
    /// Before the 2025 communes an old commune went into.
    now: &'static str,
    or: &'static str,
    category: &'static str,
    ocop: &'static str,
    certificates: &'static str,
    expires: &'static str,
    expired: &'static str,
    areas: &'static str,
    markets: &'static str,
    packing: &'static str,
    none: &'static str,
    footer: &'static str,
}

const VI: Words = Words {
    lang: "vi",
    other: ("en", "English"),
    producer: "Cơ sở sản xuất",
    commune: "Nơi sản xuất",
    now: "nay là",
    or: "hoặc",
    category: "Nhóm sản phẩm",
    ocop: "OCOP",
    certificates: "Chứng nhận",
    expires: "có hiệu lực đến",
    expired: "đã hết hạn",
    areas: "Mã số vùng trồng",
    markets: "Thị trường",
    packing: "Cơ sở đóng gói",
    none: "Không có",
    footer: "Thông tin truy xuất nguồn gốc do Sở Nông nghiệp và Môi trường quản lý.",
};

const EN: Words = Words {
    lang: "en",
    other: ("vi", "Tiếng Việt"),
    producer: "Producer",
    commune: "Place of production",
    now: "now",
    or: "or",
    category: "Category",
    ocop: "OCOP",
    certificates: "Certificates",
    expires: "valid until",
    expired: "expired",
    areas: "Growing-area codes",
    markets: "Markets",
    packing: "Packing facilities",
    none: "None",
    footer: "Traceability information kept by the provincial Department of Agriculture and Environment.",
};

/// A date as the reader writes it: 21/06/2030 in Vietnamese, ISO in English.
fn date(iso: &str, en: bool) -> String {
    match (en, iso.split('-').collect::<Vec<_>>().as_slice()) {
        (false, [y, m, d]) => format!("{d}/{m}/{y}"),
        _ => escape(iso),
    }
}

/// Hectares to two places, with the reader's decimal mark (9,50 ha).
fn hectares(ha: f64, en: bool) -> String {
    let text = format!("{ha:.2}");
    if en { text } else { text.replace('.', ",") }
}

fn status_words(status: EffectiveStatus, en: bool) -> &'static str {
    match (status, en) {
        (EffectiveStatus::Active, false) => "còn hiệu lực",
        (EffectiveStatus::Suspended, false) => "tạm dừng",
        (EffectiveStatus::Revoked, false) => "đã thu hồi",
        (EffectiveStatus::Expired, false) => "đã hết hạn",
        (EffectiveStatus::Active, true) => "active",
        (EffectiveStatus::Suspended, true) => "suspended",
        (EffectiveStatus::Revoked, true) => "revoked",
        (EffectiveStatus::Expired, true) => "expired",
    }
}

const STYLE: &str = "body{font:16px/1.45 system-ui,sans-serif;margin:0;color:#1d2a14;background:#fafaf5}\
main{max-width:36rem;margin:auto;padding:1rem}h1{font-size:1.4rem;margin:.2rem 0}\
h2{font-size:1.05rem;margin:1.2rem 0 .3rem;color:#2f5d1a}.stars{color:#c88a00;font-size:1.3rem}\
ul{padding-left:1.1rem;margin:.2rem 0}.bad{color:#a02020;font-weight:600}.ok{color:#2f7d1a}\
nav{text-align:right;font-size:.9rem}svg{width:100%;height:auto;border-radius:6px}\
footer{font-size:.8rem;color:#666;margin-top:1.5rem}";

/// The page's HTML.
fn render(view: &ProductView, en: bool) -> String {
    let w = if en { &EN } else { &VI };
    let p = &view.product;
    let mut h = String::with_capacity(8 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>{}</title><style>{STYLE}</style></head><body><main>\
         <nav><a href=\"?lang={}\" hreflang=\"{}\">{}</a></nav><h1>{}</h1>",
        w.lang,
        escape(&p.name),
        w.other.0,
        w.other.0,
        w.other.1,
        escape(&p.name)
    );
    if let Some(o) = &p.ocop {
        let stars = "★".repeat(usize::from(o.stars));
        let state = if valid_on(&o.expires_on, &view.today) {
            format!("{} {}", w.expires, date(&o.expires_on, en))
        } else {
            format!("<span class=\"bad\">{} {}</span>", w.expired, date(&o.expires_on, en))
        };
        let _ = write!(
            h,
            "<p><span class=\"stars\" aria-label=\"{} {}\">{stars}</span> {} {} · {}</p>",
            o.stars,
            if en { "stars" } else { "sao" },
            w.ocop,
            escape(&o.certificate),
            state
        );
    }
    let category = agrimap_core::reports::figures::product_category_label(&p.category)
        .map_or(p.category.as_str(), |(vi, english)| if en { english } else { vi });
    let _ = write!(h, "<p>{}: {}</p>", w.category, escape(category));
    let _ = write!(h, "<h2>{}</h2>", w.producer);
    match &view.producer {
        Some(prod) => {
            let _ = write!(h, "<p>{}", escape(&prod.name));
            if let Some(a) = &prod.address {
                let _ = write!(h, "<br>{}", escape(a));
            }
            h.push_str("</p>");
        }
        None => {
            let _ = write!(h, "<p>{}</p>", escape(&p.producer));
        }
    }
    let _ = write!(
        h,
        "<p>{}: {}",
        w.commune,
        escape(view.place.as_ref().map_or(&p.commune_code, |place| &place.named))
    );
    if let Some(place) = view.place.as_ref().filter(|place| !place.now.is_empty()) {
        let now: Vec<String> = place.now.iter().map(|n| escape(n)).collect();
        let _ = write!(h, " ({} {})", w.now, now.join(&format!(" {} ", w.or)));
    }
    h.push_str("</p>");
    let _ = write!(h, "<h2>{}</h2><ul>", w.certificates);
    if p.certificates.is_empty() {
        let _ = write!(h, "<li>{}</li>", w.none);
    }
    for c in &p.certificates {
        let scheme = CERTIFICATE_SCHEMES
            .iter()
            .find(|(s, _)| *s == c.scheme)
            .map_or(c.scheme.as_str(), |(_, name)| name);
        let state = if valid_on(&c.expires_on, &view.today) {
            format!("<span class=\"ok\">{} {}</span>", w.expires, date(&c.expires_on, en))
        } else {
            format!("<span class=\"bad\">{} {}</span>", w.expired, date(&c.expires_on, en))
        };
        let _ = write!(h, "<li>{scheme} {} · {state}</li>", escape(&c.number));
    }
    h.push_str("</ul>");
    areas_html(&mut h, view, w, en);
    if let Some(svg) = &view.map_svg {
        h.push_str(svg);
    }
    let _ = write!(h, "<footer>{}</footer></main></body></html>", w.footer);
    h
}

/// The growing areas' list, with each code's status today and its markets.
fn areas_html(h: &mut String, view: &ProductView, w: &Words, en: bool) {
    if view.areas.is_empty() {
        return;
    }
    let _ = write!(h, "<h2>{}</h2><ul>", w.areas);
    for (a, status) in &view.areas {
        let class = if *status == EffectiveStatus::Active {
            "ok"
        } else {
            "bad"
        };
        let markets: Vec<String> = a
            .markets
            .iter()
            .map(|m| match &m.approved_on {
                Some(d) => format!("{} ({})", escape(&m.market), date(d, en)),
                None => escape(&m.market),
            })
            .collect();
        let _ = write!(
            h,
            "<li><b>{}</b> · <span class=\"{class}\">{}</span> · {} ha",
            escape(&a.code),
            status_words(*status, en),
            hectares(a.area_ha, en)
        );
        if !markets.is_empty() {
            let _ = write!(h, "<br>{}: {}", w.markets, markets.join(", "));
        }
        if !a.packing_facilities.is_empty() {
            let _ = write!(h, "<br>{}: {}", w.packing, escape(&a.packing_facilities.join(", ")));
        }
        h.push_str("</li>");
    }
    h.push_str("</ul>");
}

/// Whether the page is asked in English: the first `lang`, in any case
/// (a QR code's URL is typed again by hand, and query strings get mangled).
fn in_english(query: Option<&str>) -> bool {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("lang="))
        .is_some_and(|lang| lang.eq_ignore_ascii_case("en"))
}

/// The page of a code no product has: the person holding a package needs a
/// page they can read, not an API's error.
fn not_found_page(id: &str, en: bool) -> String {
    let (title, text) = if en {
        (
            "Product not found",
            "No registered product has this code. Check the code on the package, or ask the seller.",
        )
    } else {
        (
            "Không tìm thấy sản phẩm",
            "Không có sản phẩm nào được đăng ký với mã này. Hãy kiểm tra lại mã trên bao bì hoặc hỏi người bán.",
        )
    };
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"icon\" href=\"data:,\"><title>{title}</title><style>{STYLE}</style></head><body><main>\
         <h1>{title}</h1><p>{text}</p><p>{}: <b>{}</b></p><footer>{}</footer></main></body></html>\n",
        if en { "en" } else { "vi" },
        if en { "Code" } else { "Mã" },
        escape(&agrimap_core::echo(id, 64)),
        if en { EN.footer } else { VI.footer },
    )
}

fn html_page(status: StatusCode, html: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        html,
    )
        .into_response()
}

/// `GET /t/{id}[?lang=en]` (and `/t/{id}/`): the page, in English or
/// Vietnamese; a code no product has is a page too (404). A code typed in
/// small letters finds the product registered in capitals.
pub(super) async fn product_page(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let en = in_english(query.as_deref());
    let view = match state.core.product_view(&id).await {
        Err(e) if e.kind == ErrorKind::NotFound && id != id.to_uppercase() => {
            state.core.product_view(&id.to_uppercase()).await
        }
        other => other,
    };
    let view = match view {
        Ok(view) => view,
        Err(e) if e.kind == ErrorKind::NotFound => {
            return Ok(html_page(StatusCode::NOT_FOUND, not_found_page(&id, en)));
        }
        Err(e) => return Err(e.into()),
    };
    state.core.count_scan(&view.product.id, &view.today);
    Ok(html_page(StatusCode::OK, render(&view, en)))
}

/// An A4 sheet (210 × 297 mm) of 3 × 8 labels, each with the QR code of the
/// page, the product's name, its producer and its OCOP stars.
///
/// # Errors
/// `qr_failed`.
pub(super) fn label_sheet(view: &ProductView, url: &str) -> Result<String, CoreError> {
    let (dark, width) = qr::modules(url)?;
    let path = qr::svg_path(&dark, width);
    let side = width + 2 * qr::QUIET_ZONE;
    let product = &view.product;
    let producer = view
        .producer
        .as_ref()
        .map_or(product.producer.as_str(), |x| x.name.as_str());
    let stars = product
        .ocop
        .as_ref()
        .map(|o| format!("OCOP {}", "★".repeat(usize::from(o.stars))))
        .unwrap_or_default();
    let mut svg = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297" font-family="sans-serif">"#,
    );
    let _ = write!(
        svg,
        r##"<defs><g id="q"><rect width="{side}" height="{side}" fill="#fff"/><path d="{path}"/></g></defs>"##
    );
    // 3 columns of 70 mm, 8 rows of 37.125 mm: the A4 sheets of label printers.
    let (label_width, label_height) = (70.0, 37.125);
    let scale = 30.0 / side as f64;
    for row in 0..8 {
        for column in 0..3 {
            let (left, top) = (f64::from(column) * label_width, f64::from(row) * label_height);
            let _ = write!(
                svg,
                r##"<g transform="translate({left} {top})"><use href="#q" transform="translate(3 3.5) scale({scale:.4})"/><text x="35" y="10" font-size="3.6" font-weight="bold">{}</text><text x="35" y="16" font-size="2.8">{}</text><text x="35" y="22" font-size="3.2" fill="#c88a00">{}</text><text x="35" y="31" font-size="2.2">{}</text></g>"##,
                escape(&clip(&product.name, 26)),
                escape(&clip(producer, 34)),
                stars,
                escape(url)
            );
        }
    }
    svg.push_str("</svg>");
    Ok(svg)
}

/// At most `max` characters, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    agrimap_core::echo(text, max)
}
