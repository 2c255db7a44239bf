//! Finding the commune a feature lies in, from the `admin_commune` layer of
//! the store, for files that carry no commune code. A feature belongs to the
//! commune holding a point inside it (its interior point, so that an
//! L-shaped parcel is not placed by a centroid outside it), among the
//! communes of the feature's boundary set when it has one.

use super::UnknownCode;
use agrimap_analysis::zones::Zones;
use agrimap_model::{BoundarySet, Feature, FeatureQuery, Filter, LayerDef, Value, layer};
use agrimap_store::{Store, StoreError};
use geo::{BoundingRect, Geometry, InteriorPoint, MultiPolygon, Rect};

/// A commune as [`Zones::new`] takes it: code, district code, province code, boundary.
type CommuneEntry = (String, String, String, MultiPolygon<f64>);

/// The communes of one boundary set, indexed.
struct SetZones {
    name: String,
    zones: Zones,
}

/// Communes of the store around the features being imported.
pub struct Communes {
    sets: Vec<SetZones>,
}

impl Communes {
    /// Reads the communes whose boxes meet `extent` from the store.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(store: &dyn Store, extent: Rect<f64>) -> Result<Self, StoreError> {
        let Some(communes) = layer("admin_commune") else {
            return Ok(Self { sets: Vec::new() });
        };
        let features = store.features(communes, &FeatureQuery::in_bbox(extent)).await?;
        let text = |f: &agrimap_model::Feature, name: &str| {
            communes
                .field_index(name)
                .and_then(|i| f.properties[i].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let mut by_set: Vec<(String, Vec<CommuneEntry>)> = Vec::new();
        for f in &features {
            let shape = match &f.geometry {
                Geometry::MultiPolygon(m) => m.clone(),
                Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
                _ => continue,
            };
            let set = text(f, "boundary_set");
            let entry = (
                text(f, "code"),
                text(f, "district_code"),
                text(f, "province_code"),
                shape,
            );
            match by_set.iter_mut().find(|(s, _)| *s == set) {
                Some((_, list)) => list.push(entry),
                None => by_set.push((set, vec![entry])),
            }
        }
        let sets = by_set
            .into_iter()
            .map(|(name, list)| SetZones {
                name,
                zones: Zones::new(list),
            })
            .collect();
        Ok(Self { sets })
    }

    /// The commune code and boundary set of the commune `g` lies in; only
    /// communes of `boundary_set` when it is given. Where a point lies in
    /// communes of two sets, the newest set (`2025`) wins.
    #[must_use]
    pub fn locate(&self, g: &Geometry<f64>, boundary_set: Option<&str>) -> Option<(String, String)> {
        let point = g.interior_point()?;
        let mut sets: Vec<&SetZones> = self
            .sets
            .iter()
            .filter(|s| boundary_set.is_none_or(|b| b == s.name))
            .collect();
        sets.sort_by_key(|s| s.name != BoundarySet::Y2025.as_str());
        sets.iter().find_map(|s| {
            s.zones
                .containing(point)
                .map(|i| (s.zones.get(i).code.clone(), s.name.clone()))
        })
    }
}

impl Communes {
    /// The boundary set whose commune holding `g` has the code `code`, if one does.
    #[must_use]
    pub fn set_holding(&self, g: &Geometry<f64>, code: &str) -> Option<String> {
        let point = g.interior_point()?;
        self.sets.iter().find_map(|s| {
            let at = s.zones.containing(point)?;
            (s.zones.get(at).code == code).then(|| s.name.clone())
        })
    }
}

/// The boundary set the official crosswalk puts `code` in: `pre-2025` for
/// a code found only among its old communes, `2025` for one found only
/// among its new ones; `None` for a code it lacks or has on both sides
/// (codes the reform kept).
///
/// # Errors
/// When the store cannot be read.
pub async fn set_by_crosswalk(store: &dyn Store, code: &str) -> Result<Option<&'static str>, StoreError> {
    let as_old = listed_in_crosswalk(store, code, BoundarySet::Pre2025).await?;
    let as_new = listed_in_crosswalk(store, code, BoundarySet::Y2025).await?;
    Ok(match (as_old, as_new) {
        (true, false) => Some(BoundarySet::Pre2025.as_str()),
        (false, true) => Some(BoundarySet::Y2025.as_str()),
        _ => None,
    })
}

/// The codes among `features` of layer `of` (with their identifiers in the
/// file, `fids`)
/// that name no commune of their boundary set: none of the store's
/// communes of that set has them, nor the official crosswalk on that side.
/// Codes of a set the store holds no commune of are not checked: thematic
/// files may come before their boundaries.
///
/// # Errors
/// When the store cannot be read.
pub async fn unknown_codes(
    store: &dyn Store,
    of: &LayerDef,
    features: &[Feature],
    fids: &[String],
) -> Result<Vec<UnknownCode>, StoreError> {
    let (Some(communes), Some(code_at), Some(set_at)) = (
        layer("admin_commune"),
        of.field_index("commune_code"),
        of.field_index("boundary_set"),
    ) else {
        return Ok(Vec::new());
    };
    // Each (code, set) once, in the order of its first record, with how
    // many records carry it.
    let mut coded: Vec<((&str, BoundarySet), usize, usize)> = Vec::new();
    let mut seen: std::collections::HashMap<(&str, BoundarySet), usize> = std::collections::HashMap::new();
    for (i, f) in features.iter().enumerate() {
        let (Some(code), Some(set)) = (
            text_value(&f.properties[code_at]),
            text_value(&f.properties[set_at]).and_then(BoundarySet::parse),
        ) else {
            continue;
        };
        let at = *seen.entry((code, set)).or_insert_with(|| {
            coded.push(((code, set), i, 0));
            coded.len() - 1
        });
        coded[at].2 += 1;
    }
    let in_set = |set: BoundarySet| FeatureQuery {
        boundary_set: Some(set),
        ..FeatureQuery::default()
    };
    let mut held = Vec::new();
    for set in [BoundarySet::Pre2025, BoundarySet::Y2025] {
        if coded.iter().any(|((_, s), _, _)| *s == set) && store.count(communes, &in_set(set)).await? > 0 {
            held.push(set);
        }
    }
    let mut unknown = Vec::new();
    for ((code, set), first, records) in coded {
        if !held.contains(&set) {
            continue;
        }
        let named = FeatureQuery {
            filter: Some(Filter::eq("code", code)),
            ..in_set(set)
        };
        if store.count(communes, &named).await? > 0 || listed_in_crosswalk(store, code, set).await? {
            continue;
        }
        unknown.push((code, set, first, records));
    }
    // Where the first record of each lies, from one read of the communes.
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    let near = match extent(unknown.iter().map(|&(_, _, first, _)| &features[first].geometry)) {
        Some(around) => Some(Communes::load(store, around).await?),
        None => None,
    };
    Ok(unknown
        .into_iter()
        .map(|(code, set, first, records)| UnknownCode {
            commune_code: code.to_owned(),
            boundary_set: set.as_str().to_owned(),
            records,
            first: fids[first].clone(),
            lies_in: near
                .as_ref()
                .and_then(|n| n.locate(&features[first].geometry, Some(set.as_str())))
                .map(|(code, _)| code),
        })
        .collect())
}

/// Whether the official crosswalk lists `code` among its communes of `set`.
async fn listed_in_crosswalk(store: &dyn Store, code: &str, set: BoundarySet) -> Result<bool, StoreError> {
    use agrimap_store::CrosswalkQuery;
    let query = match set {
        BoundarySet::Pre2025 => CrosswalkQuery {
            old_code: Some(code.to_owned()),
            new_code: None,
        },
        BoundarySet::Y2025 => CrosswalkQuery {
            old_code: None,
            new_code: Some(code.to_owned()),
        },
    };
    Ok(!store.crosswalk(&query).await?.is_empty())
}

/// The box around every geometry, to read only the communes near them.
#[must_use]
pub fn extent<'a>(geometries: impl Iterator<Item = &'a Geometry<f64>>) -> Option<Rect<f64>> {
    geometries.filter_map(BoundingRect::bounding_rect).reduce(|a, b| {
        Rect::new(
            geo::coord! { x: a.min().x.min(b.min().x), y: a.min().y.min(b.min().y) },
            geo::coord! { x: a.max().x.max(b.max().x), y: a.max().y.max(b.max().y) },
        )
    })
}

/// The text of a feature value, if it has one.
#[must_use]
pub fn text_value(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}
