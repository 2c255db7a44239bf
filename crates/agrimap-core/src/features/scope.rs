//! Provinces: selecting the features of one (`province=`), and what a
//! caller whose token is limited to some provinces may read.
//!
//! A feature belongs to a province through its commune: its `commune_code`
//! together with its `boundary_set` names one commune of the index, and that
//! commune's province is the feature's. A 2025 province also holds the
//! features of the pre-2025 provinces merged into it. A planner limited to provinces reads
//! restricted fields only of a selection that lies within them (`province=`
//! one of them, or `commune=` a commune of one of them) or of one feature of
//! theirs; anything wider is read as the public reads it, never refused, so
//! that the same link works for every planner.

use super::Params;
use crate::Core;
use crate::communes::CommuneIndex;
use crate::error::{CoreError, echo};
use agrimap_model::{Audience, BoundarySet, Feature, Filter, LayerDef, Value};
use std::collections::BTreeMap;

/// A province asked for with `province=`: its code and the pre-2025
/// provinces the official list merges into it. A department's files are
/// still coded by the communes before the reform, and those features lie
/// in the province all the same (Sóc Trăng's, coded 94, in Cần Thơ, 92).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvinceScope {
    pub code: String,
    /// Without `code`; empty before the list is loaded.
    pub merged: Vec<String>,
}

impl ProvinceScope {
    /// `province` with what the store's list merges into it.
    ///
    /// # Errors
    /// The store's.
    pub async fn of(core: &Core, province: &str) -> Result<Self, CoreError> {
        Ok(Self {
            code: province.to_owned(),
            merged: core.province_merges().await?.merged_into(province),
        })
    }

    /// Every province code a feature of it is stored under.
    #[must_use]
    pub fn codes(&self) -> Vec<String> {
        std::iter::once(&self.code).chain(&self.merged).cloned().collect()
    }

    /// Whether a commune of `province_code` and `boundary_set` is one of
    /// its communes: of the province itself in any set held, or of a
    /// province merged into it before the reform.
    fn holds(&self, province_code: &str, boundary_set: &str) -> bool {
        province_code == self.code
            || (boundary_set == BoundarySet::Pre2025.as_str() && self.merged.iter().any(|m| m == province_code))
    }
}

/// The filter selecting the features of `layer` in province `scope`: those
/// whose (commune code, boundary set) is a commune of it; for the
/// administrative layers, the units whose province it is (its communes and
/// districts, or the province itself).
///
/// # Errors
/// `bad_province` for a layer without communes, `unknown_province` for a
/// province the store holds no commune of.
pub(crate) fn province_filter(
    index: &CommuneIndex,
    layer: &LayerDef,
    scope: &ProvinceScope,
) -> Result<Filter, CoreError> {
    let code = scope.code.as_str();
    let own_field = match layer.id {
        "admin_province" => Some("code"),
        "admin_district" | "admin_commune" => Some("province_code"),
        _ => None,
    };
    if let Some(field) = own_field {
        index.known_province(code, None)?;
        let own = Filter::eq(field, code);
        if scope.merged.is_empty() {
            return Ok(own);
        }
        let merged = Filter::And(vec![
            Filter::eq("boundary_set", BoundarySet::Pre2025.as_str()),
            Filter::In {
                field: field.to_owned(),
                values: scope.merged.iter().map(|m| Value::Text(m.clone())).collect(),
            },
        ]);
        return Ok(Filter::Or(vec![own, merged]));
    }
    if !layer.has_commune() {
        return Err(CoreError::invalid(
            "bad_province",
            format!(
                "collection '{}' has no commune_code, so it cannot be selected by province",
                layer.id
            ),
        ));
    }
    index.known_province(code, None)?;
    let mut by_set: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for c in index
        .communes()
        .iter()
        .filter(|c| scope.holds(&c.province_code, &c.boundary_set))
    {
        by_set
            .entry(c.boundary_set.as_str())
            .or_default()
            .push(Value::Text(c.code.clone()));
    }
    if by_set.is_empty() {
        return Err(CoreError::invalid(
            "unknown_province",
            format!("the store holds no commune of province '{}'", echo(code, 16)),
        ));
    }
    Ok(Filter::Or(
        by_set
            .into_iter()
            .map(|(set, codes)| {
                Filter::And(vec![
                    Filter::eq("boundary_set", set),
                    Filter::In {
                        field: "commune_code".to_owned(),
                        values: codes,
                    },
                ])
            })
            .collect(),
    ))
}

/// What a caller limited to `provinces`, reading restricted fields of the
/// province `params` asks for, may count: the features coded in it (see
/// [`crate::stats::Selection::coded_in`]); `None` for a caller of every
/// province, the public, or no province asked.
///
/// # Errors
/// `unknown_province`, `bad_province`, or the store's.
pub async fn coded_scope(
    core: &Core,
    layer: &LayerDef,
    audience: Audience,
    provinces: &[String],
    params: &Params,
) -> Result<Option<(Filter, String)>, CoreError> {
    let Some(province) = params.get("province") else {
        return Ok(None);
    };
    if provinces.is_empty() || audience == Audience::Public {
        return Ok(None);
    }
    let index = core.commune_index().await?;
    let scope = ProvinceScope::of(core, province).await?;
    Ok(Some((province_filter(&index, layer, &scope)?, province.to_owned())))
}

/// The audience a caller who reads as `audience`, with a token limited to
/// `provinces` (empty: every province), reads the selection `params` with:
/// its own when the selection lies within its provinces, else the public's.
///
/// # Errors
/// The errors of reading `boundary_set`, and the store's.
pub async fn selection_audience(
    core: &Core,
    audience: Audience,
    provinces: &[String],
    params: &Params,
) -> Result<Audience, CoreError> {
    if provinces.is_empty() || audience == Audience::Public {
        return Ok(audience);
    }
    let within = if let Some(province) = params.get("province") {
        // The selection holds the provinces merged into the one asked for:
        // within only if the token covers them all.
        let scope = ProvinceScope::of(core, province).await?;
        scope.codes().iter().all(|code| provinces.contains(code))
    } else if let Some(code) = params.get("commune") {
        // A 2025 commune's selection holds what its old communes coded, of
        // the provinces merged into its own.
        let asked = crate::communes::boundary_set_param(params.get("boundary_set"))?;
        let index = core.commune_index().await?;
        match index.get(code, asked) {
            Some(c) if c.boundary_set == BoundarySet::Y2025.as_str() => {
                let scope = ProvinceScope::of(core, &c.province_code).await?;
                scope.codes().iter().all(|code| provinces.contains(code))
            }
            Some(c) => provinces.contains(&c.province_code),
            None => false,
        }
    } else {
        false
    };
    Ok(if within { audience } else { Audience::Public })
}

/// The province of a feature of `layer`, through its commune.
#[must_use]
pub fn feature_province(index: &CommuneIndex, layer: &LayerDef, feature: &Feature) -> Option<String> {
    let set = layer.text_of(feature, "boundary_set").and_then(BoundarySet::parse);
    layer
        .text_of(feature, "commune_code")
        .and_then(|code| index.get(code, set))
        .map(|c| c.province_code.clone())
}

/// The audience a caller limited to `provinces` reads one feature with:
/// its own for a feature of its provinces, else the public's.
///
/// # Errors
/// The store's.
pub async fn feature_audience(
    core: &Core,
    audience: Audience,
    provinces: &[String],
    layer: &LayerDef,
    feature: &Feature,
) -> Result<Audience, CoreError> {
    if provinces.is_empty() || audience == Audience::Public {
        return Ok(audience);
    }
    let index = core.commune_index().await?;
    let within = feature_province(&index, layer, feature).is_some_and(|p| provinces.contains(&p));
    Ok(if within { audience } else { Audience::Public })
}
