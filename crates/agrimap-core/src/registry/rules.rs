//! The rules a registry record must keep before it is stored: its commune
//! exists in its boundary set (and so gives its province), codes have their
//! official form, a product's producer and growing areas are registered and
//! its growing areas lie in its own province, stars and dates are sound.

use crate::communes::CommuneIndex;
use crate::communes::merges::ProvinceMerges;
use agrimap_model::BoundarySet;
use agrimap_model::echo;
use agrimap_model::registry::{CERTIFICATE_SCHEMES, GROWING_AREA_CODE, GrowingArea, Producer, Product, is_date};
use std::collections::HashMap;
use std::sync::Arc;

/// What is registered already (or arrives in the same write), by key: the
/// province of each; and which provinces the 2025 reform merged into which.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub producers: HashMap<String, String>,
    pub growing_areas: HashMap<String, String>,
    /// Which pre-2025 provinces went into which 2025 province.
    pub merges: Arc<ProvinceMerges>,
}

impl Known {
    /// Whether provinces `a` and `b` are one province since the reform: a
    /// growing-area code issued by Sóc Trăng (94) stays valid for an area of
    /// a commune of the merged Cần Thơ (92).
    fn same_province(&self, a: &str, b: &str) -> bool {
        a == b || self.merges.after(a) == self.merges.after(b)
    }
}

/// The province of a commune of a boundary set.
fn province(index: &CommuneIndex, commune: &str, set: &str) -> Result<String, String> {
    let parsed =
        BoundarySet::parse(set).ok_or_else(|| format!("boundary_set '{}' is none of pre-2025, 2025", echo(set, 20)))?;
    index
        .get(commune, Some(parsed))
        .map(|c| c.province_code.clone())
        .ok_or_else(|| format!("commune '{}' is not among the {set} communes", echo(commune, 20)))
}

/// A key that can stand in a URL path segment as it is: ASCII letters, digits and `-`.
fn check_key(what: &str, key: &str, max: usize) -> Result<(), String> {
    if key.is_empty() || key.len() > max || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "{what} '{}' must be 1 to {max} letters, digits or '-'",
            echo(key, 40)
        ));
    }
    Ok(())
}

fn check_date(field: &str, d: &str) -> Result<(), String> {
    if is_date(d) {
        Ok(())
    } else {
        Err(format!("{field} '{}' is no YYYY-MM-DD date", echo(d, 20)))
    }
}

/// Checks a producer; returns its province.
///
/// # Errors
/// The first rule it breaks.
pub fn producer(p: &Producer, index: &CommuneIndex) -> Result<String, String> {
    check_key("code", &p.code, 20)?;
    if p.name.trim().is_empty() {
        return Err("name is empty".into());
    }
    province(index, &p.commune_code, &p.boundary_set)
}

/// Checks a growing area; returns its province. Its code's province is the
/// commune's, or one merged with it in 2025.
///
/// # Errors
/// The first rule it breaks.
pub fn growing_area(a: &GrowingArea, index: &CommuneIndex, known: &Known) -> Result<String, String> {
    let parts = GROWING_AREA_CODE.check(&a.code)?;
    let province = province(index, &a.commune_code, &a.boundary_set)?;
    if !known.same_province(parts.province_code, &province) {
        return Err(format!(
            "code {} is of province {}, but commune {} is in province {province}",
            a.code, parts.province_code, a.commune_code
        ));
    }
    if !(a.area_ha.is_finite() && a.area_ha > 0.0) {
        return Err(format!("area_ha must be above 0, not {}", a.area_ha));
    }
    check_date("issued_on", &a.issued_on)?;
    check_date("expires_on", &a.expires_on)?;
    if a.expires_on < a.issued_on {
        return Err(format!(
            "expires_on {} is before issued_on {}",
            a.expires_on, a.issued_on
        ));
    }
    for m in &a.markets {
        if !(m.market.len() == 2 && m.market.bytes().all(|b| b.is_ascii_uppercase())) {
            return Err(format!(
                "market '{}' must be a two-letter country code (CN, US) or EU",
                echo(&m.market, 20)
            ));
        }
    }
    Ok(province)
}

/// Checks a product against what is known; returns its province.
///
/// # Errors
/// The first rule it breaks.
pub fn product(p: &Product, index: &CommuneIndex, known: &Known) -> Result<String, String> {
    check_key("id", &p.id, 40)?;
    if p.name.trim().is_empty() {
        return Err("name is empty".into());
    }
    let province = province(index, &p.commune_code, &p.boundary_set)?;
    if !known.producers.contains_key(&p.producer) {
        return Err(format!("producer '{}' is not registered", echo(&p.producer, 40)));
    }
    if let Some(o) = &p.ocop {
        if !(3..=5).contains(&o.stars) {
            return Err(format!("ocop_stars must be 3 to 5, not {}", o.stars));
        }
        check_date("ocop_expires_on", &o.expires_on)?;
    }
    for c in &p.certificates {
        if !CERTIFICATE_SCHEMES.iter().any(|(s, _)| *s == c.scheme) {
            return Err(format!("certificate scheme '{}' is unknown", echo(&c.scheme, 20)));
        }
        check_date(&format!("{}_expires_on", c.scheme), &c.expires_on)?;
    }
    for code in &p.growing_areas {
        match known.growing_areas.get(code) {
            None => return Err(format!("growing area '{}' is not registered", echo(code, 40))),
            Some(of) if !known.same_province(of, &province) => {
                return Err(format!(
                    "growing area {code} is in province {of}, the product's commune in province {province}"
                ));
            }
            Some(_) => {}
        }
    }
    Ok(province)
}
