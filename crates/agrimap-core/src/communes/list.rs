//! Communes as a client asks for them: a page of them (a search text, the
//! province, district and boundary set to look in, `limit` and `offset`, all
//! as sent and checked here), or one by its code; and their JSON documents.

use super::former::FormerNames;
use super::{Commune, CommuneIndex, CommuneQuery};
use crate::error::{CoreError, echo};
use agrimap_io::export::geojson::GeoJsonGeometry;
use agrimap_model::BoundarySet;
use serde::Deserialize;
use serde_json::{Value as Json, json};

/// Page size when the request gives none.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest page; larger limits are capped to it.
pub const MAX_LIMIT: usize = 50;

/// The parameters of a list of communes, as sent (all text).
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub q: Option<String>,
    pub province: Option<String>,
    pub district: Option<String>,
    pub boundary_set: Option<String>,
    pub limit: Option<String>,
    pub offset: Option<String>,
}

/// A page of communes, and how many matched in all.
#[derive(Debug)]
pub struct Page<'a> {
    pub communes: Vec<&'a Commune>,
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
}

/// A parameter given with a value (an empty one counts as not given).
fn given(p: Option<&String>) -> Option<&str> {
    p.map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// `boundary_set`, if given.
///
/// # Errors
/// `bad_boundary_set` for a set that is not one ([`super::parse_boundary_set`]).
pub fn parse_boundary_set(p: Option<&String>) -> Result<Option<BoundarySet>, CoreError> {
    super::boundary_set_param(given(p))
}

fn parse_limit(p: Option<&String>) -> Result<usize, CoreError> {
    let Some(s) = given(p) else {
        return Ok(DEFAULT_LIMIT);
    };
    match s.parse::<u64>() {
        Ok(0) | Err(_) => Err(CoreError::invalid(
            "bad_limit",
            format!(
                "limit must be a whole number from 1 to {MAX_LIMIT}, got '{}'",
                echo(s, 64)
            ),
        )),
        // Larger pages are capped rather than refused.
        Ok(n) => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
    }
}

fn parse_offset(p: Option<&String>) -> Result<usize, CoreError> {
    given(p).map_or(Ok(0), |s| {
        s.parse::<usize>().map_err(|_| {
            CoreError::invalid(
                "bad_offset",
                format!("offset must be a whole number from 0, got '{}'", echo(s, 64)),
            )
        })
    })
}

/// The checked parameters of a list.
#[derive(Debug)]
pub struct List<'p> {
    params: &'p ListParams,
    boundary_set: Option<BoundarySet>,
    limit: usize,
    offset: usize,
}

impl<'p> List<'p> {
    /// Checks `params`.
    ///
    /// # Errors
    /// `bad_boundary_set`, `bad_limit` or `bad_offset`.
    pub fn new(params: &'p ListParams) -> Result<Self, CoreError> {
        Ok(Self {
            boundary_set: parse_boundary_set(params.boundary_set.as_ref())?,
            limit: parse_limit(params.limit.as_ref())?,
            offset: parse_offset(params.offset.as_ref())?,
            params,
        })
    }

    /// The page of `index` this list asks for: communes matching `q` (by name
    /// or code), best match first; without `q`, every commune in code order.
    ///
    /// # Errors
    /// As [`CommuneIndex::find`].
    pub fn page<'a>(&self, index: &'a CommuneIndex) -> Result<Page<'a>, CoreError> {
        let found = index.find(&CommuneQuery {
            text: self.params.q.as_deref().unwrap_or(""),
            province: given(self.params.province.as_ref()),
            district: given(self.params.district.as_ref()),
            boundary_set: self.boundary_set,
        })?;
        Ok(Page {
            total: found.len(),
            communes: found.into_iter().skip(self.offset).take(self.limit).collect(),
            offset: self.offset,
            limit: self.limit,
        })
    }
}

impl List<'_> {
    /// Whether the list looks for communes by a name they had before the
    /// reform: it searches (`q`) among the 2025 communes (no other set
    /// asked, no district: the 2025 set has none), from the first page.
    #[must_use]
    pub fn asks_former_names(&self) -> bool {
        given(self.params.q.as_ref()).is_some()
            && self.boundary_set.is_none_or(|s| s == BoundarySet::Y2025)
            && given(self.params.district.as_ref()).is_none()
            && self.offset == 0
    }

    /// `[{old_code, old_name, commune}]`: the old communes whose name
    /// matches `q`, best first, each with the 2025 commune it went into (in
    /// short, as the page's communes); empty unless [`Self::asks_former_names`].
    #[must_use]
    pub fn former_json(&self, index: &CommuneIndex, former: &FormerNames) -> Json {
        if !self.asks_former_names() {
            return json!([]);
        }
        let q = self.params.q.as_deref().unwrap_or("");
        let found = former.find(index, q, given(self.params.province.as_ref()), self.limit);
        Json::Array(
            found
                .into_iter()
                .map(|(f, c)| json!({"old_code": f.old_code, "old_name": f.old_name, "commune": summary(c)}))
                .collect(),
        )
    }
}

impl Page<'_> {
    /// `{communes, total, offset, limit}`, each commune in short.
    #[must_use]
    pub fn to_json(&self) -> Json {
        json!({
            "communes": self.communes.iter().map(|c| summary(c)).collect::<Vec<_>>(),
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
        })
    }
}

/// A commune in short, as a list gives it.
fn summary(c: &Commune) -> Json {
    json!({
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "district_code": c.district_code,
        "district_name": c.district_name,
        "province_code": c.province_code,
        "province_name": c.province_name,
        "boundary_set": c.boundary_set,
        "area_ha": c.area_ha,
        "bbox": c.bbox,
        "center": c.center,
    })
}

/// The commune of `code` (in `boundary_set`, if given).
///
/// # Errors
/// `unknown_commune` (not found).
pub fn one<'a>(
    index: &'a CommuneIndex,
    code: &str,
    boundary_set: Option<BoundarySet>,
) -> Result<&'a Commune, CoreError> {
    index.get(code.trim(), boundary_set).ok_or_else(|| {
        let within = boundary_set.map_or_else(String::new, |set| format!(" in the {set} boundary set"));
        CoreError::not_found(
            "unknown_commune",
            format!(
                "no commune has the code '{}'{within}; find communes by name or code with /api/communes?q=…",
                echo(code, 64)
            ),
        )
    })
}

/// The commune with its district, province, area, NTM status, population,
/// bounding box and boundary (GeoJSON).
#[must_use]
pub fn detail(c: &Commune) -> Json {
    let district = c
        .district_code
        .as_ref()
        .map(|code| json!({ "code": code, "name": c.district_name }));
    json!({
        "code": c.code,
        "name": c.name,
        "kind": c.kind,
        "boundary_set": c.boundary_set,
        "district": district,
        "province": { "code": c.province_code, "name": c.province_name },
        "area_ha": c.area_ha,
        "ntm_status": c.ntm_status,
        "ntm_year": c.ntm_year,
        "population": c.population,
        "bbox": c.bbox,
        "center": c.center,
        "boundary": GeoJsonGeometry(&c.boundary).to_json(),
    })
}
