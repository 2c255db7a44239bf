//! Finding the commune a feature lies in, from the `admin_commune` layer of
//! the store, for files that carry no commune code. A feature belongs to the
//! commune holding a point inside it (its interior point, so that an
//! L-shaped parcel is not placed by a centroid outside it), among the
//! communes of the feature's boundary set when it has one.

use agrimap_analysis::zones::Zones;
use agrimap_model::{FeatureQuery, Value, layer};
use agrimap_store::{Store, StoreError};
use geo::{BoundingRect, Geometry, InteriorPoint, MultiPolygon, Rect};

/// A commune as [`Zones::new`] takes it: code, district code, province code, boundary.
type CommuneEntry = (String, String, String, MultiPolygon<f64>);

/// The communes of one boundary set, indexed.
struct BoundarySet {
    name: String,
    zones: Zones,
}

/// Communes of the store around the features being imported.
pub struct Communes {
    sets: Vec<BoundarySet>,
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
            .map(|(name, list)| BoundarySet {
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
        let mut sets: Vec<&BoundarySet> = self
            .sets
            .iter()
            .filter(|s| boundary_set.is_none_or(|b| b == s.name))
            .collect();
        sets.sort_by_key(|s| s.name != agrimap_model::BoundarySet::Y2025.as_str());
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
    use agrimap_model::BoundarySet;
    use agrimap_store::CrosswalkQuery;
    let as_old = CrosswalkQuery {
        old_code: Some(code.to_owned()),
        new_code: None,
    };
    let as_new = CrosswalkQuery {
        old_code: None,
        new_code: Some(code.to_owned()),
    };
    let (old, new) = (store.crosswalk(&as_old).await?, store.crosswalk(&as_new).await?);
    Ok(match (old.is_empty(), new.is_empty()) {
        (false, true) => Some(BoundarySet::Pre2025.as_str()),
        (true, false) => Some(BoundarySet::Y2025.as_str()),
        _ => None,
    })
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
