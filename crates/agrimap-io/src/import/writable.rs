//! What a token limited to provinces may write: features of its provinces
//! only. That holds of what the file brings (new features, or stored ones
//! it moves) and of what the import would change without the file saying
//! where: a stored feature of another province updated by its key, or the
//! whole layer deleted by `replace`. A layer with no commune cannot be
//! written at all by someone limited to provinces.

use super::ImportError;
use agrimap_model::filter::CompareOp;
use agrimap_model::{Audience, BoundarySet, Feature, FeatureQuery, Filter, LayerDef, Value, layer};
use agrimap_store::Store;
use std::collections::HashMap;

/// How many keys one read of the stored features asks for.
const KEYS_PER_READ: usize = 1_000;
/// How many features an error names.
const NAMED: usize = 10;

/// Where a feature of `layer` lies, as far as provinces go.
enum Place {
    /// An administrative unit: this field holds its province.
    Own(&'static str),
    /// A feature with a commune: (commune code, boundary set) → province.
    Commune(HashMap<(String, String), String>),
}

/// The provinces a token may write in, for one layer.
pub(super) struct Writable<'a> {
    layer: &'static LayerDef,
    provinces: &'a [String],
    place: Place,
}

impl<'a> Writable<'a> {
    /// # Errors
    /// [`ImportError::OutsideProvinces`] for a layer with no commune; the store's.
    pub(super) async fn new(
        store: &dyn Store,
        layer: &'static LayerDef,
        provinces: &'a [String],
    ) -> Result<Self, ImportError> {
        let place = match layer.id {
            "admin_province" => Place::Own("code"),
            "admin_district" | "admin_commune" => Place::Own("province_code"),
            _ if layer.has_commune() => Place::Commune(commune_provinces(store).await?),
            _ => {
                return Err(ImportError::OutsideProvinces(format!(
                    "layer '{}' has no commune, so a token limited to provinces {} cannot write it",
                    layer.id,
                    provinces.join(", ")
                )));
            }
        };
        Ok(Self {
            layer,
            provinces,
            place,
        })
    }

    fn province_of(&self, f: &Feature) -> Option<String> {
        match &self.place {
            Place::Own(field) => self.layer.text_of(f, field).map(str::to_owned),
            Place::Commune(provinces) => {
                let key = (
                    self.layer.text_of(f, "commune_code")?.to_owned(),
                    self.layer.text_of(f, "boundary_set")?.to_owned(),
                );
                provinces.get(&key).cloned()
            }
        }
    }

    /// Each of `features` outside the provinces, named (`what` its place).
    fn outside<'f>(&self, features: impl Iterator<Item = (String, &'f Feature)>) -> Vec<String> {
        features
            .filter_map(|(what, f)| match self.province_of(f) {
                Some(p) if self.provinces.contains(&p) => None,
                Some(p) => Some(format!("{what} (province {p})")),
                None => Some(format!("{what} (no known commune)")),
            })
            .collect()
    }

    /// Refuses a file with features outside the provinces.
    ///
    /// # Errors
    /// [`ImportError::OutsideProvinces`] naming the first of them.
    pub(super) fn check_file(&self, features: &[&Feature]) -> Result<(), ImportError> {
        let outside = self.outside(features.iter().enumerate().map(|(i, f)| (format!("feature {i}"), *f)));
        if outside.is_empty() {
            return Ok(());
        }
        Err(ImportError::OutsideProvinces(format!(
            "the token may write in provinces {} only; {} of the file's features are elsewhere: {}; nothing was written",
            self.provinces.join(", "),
            outside.len(),
            first(&outside)
        )))
    }

    /// Refuses an import that would change stored features outside the
    /// provinces: with `replace`, any such feature (it would be deleted);
    /// otherwise those the file's features update by their key.
    ///
    /// # Errors
    /// [`ImportError::OutsideProvinces`] saying what would change; the store's.
    pub(super) async fn check_stored(
        &self,
        store: &dyn Store,
        features: &[Feature],
        replace: bool,
    ) -> Result<(), ImportError> {
        let elsewhere = self.stored_elsewhere();
        if replace {
            let query = FeatureQuery {
                filter: elsewhere,
                audience: Audience::Full,
                ..FeatureQuery::default()
            };
            let n = store.count(self.layer, &query).await?;
            if n == 0 {
                return Ok(());
            }
            return Err(ImportError::OutsideProvinces(format!(
                "replacing layer '{}' would delete its {n} features outside provinces {}; import without \
                 replace (features are updated by their key), or ask for a token of every province; nothing was written",
                self.layer.id,
                self.provinces.join(", ")
            )));
        }
        let key = self.layer.natural_key();
        let mut updated = Vec::new();
        for chunk in features.chunks(KEYS_PER_READ) {
            let Some(keys) = key_filter(self.layer, key, chunk) else {
                continue;
            };
            let query = FeatureQuery {
                filter: Some(match &elsewhere {
                    Some(f) => Filter::And(vec![keys, f.clone()]),
                    None => keys,
                }),
                audience: Audience::Full,
                limit: Some(NAMED),
                ..FeatureQuery::default()
            };
            let found = store.features(self.layer, &query).await?;
            updated.extend(self.outside(found.iter().map(|f| (key_text(self.layer, key, f), f))));
            if updated.len() >= NAMED {
                break;
            }
        }
        if updated.is_empty() {
            return Ok(());
        }
        Err(ImportError::OutsideProvinces(format!(
            "the token may write in provinces {} only; the file would update features stored elsewhere: {}; \
             nothing was written",
            self.provinces.join(", "),
            first(&updated)
        )))
    }

    /// The stored features outside the provinces; `None` for all of them
    /// (no commune of the store lies in the provinces).
    fn stored_elsewhere(&self) -> Option<Filter> {
        let (inside, field) = match &self.place {
            Place::Own(field) => (
                Filter::In {
                    field: (*field).to_owned(),
                    values: texts(self.provinces),
                },
                *field,
            ),
            Place::Commune(provinces) => {
                let mut by_set: HashMap<&str, Vec<&String>> = HashMap::new();
                for ((code, set), p) in provinces {
                    if self.provinces.contains(p) {
                        by_set.entry(set.as_str()).or_default().push(code);
                    }
                }
                if by_set.is_empty() {
                    return None;
                }
                let mut sets: Vec<_> = by_set.into_iter().collect();
                sets.sort_unstable_by_key(|(set, _)| *set);
                let each = sets
                    .into_iter()
                    .map(|(set, codes)| {
                        Filter::And(vec![
                            text_is("boundary_set", set),
                            Filter::In {
                                field: "commune_code".to_owned(),
                                values: texts(codes),
                            },
                        ])
                    })
                    .collect();
                (Filter::Or(each), "commune_code")
            }
        };
        Some(Filter::Or(vec![
            Filter::Not(Box::new(inside)),
            Filter::IsNull {
                field: field.to_owned(),
            },
        ]))
    }
}

/// The province of every stored commune, by its code and set.
async fn commune_provinces(store: &dyn Store) -> Result<HashMap<(String, String), String>, ImportError> {
    let communes =
        layer("admin_commune").ok_or_else(|| ImportError::Layer("the catalog has no layer 'admin_commune'".into()))?;
    let all = store.features(communes, &FeatureQuery::default()).await?;
    Ok(all
        .iter()
        .filter_map(|c| {
            Some((
                (
                    communes.text_of(c, "code")?.to_owned(),
                    communes.text_of(c, "boundary_set")?.to_owned(),
                ),
                communes.text_of(c, "province_code")?.to_owned(),
            ))
        })
        .collect())
}

fn texts<'s>(values: impl IntoIterator<Item = &'s String>) -> Vec<Value> {
    values.into_iter().map(|v| Value::Text(v.clone())).collect()
}

fn text_is(field: &str, value: &str) -> Filter {
    Filter::Compare {
        field: field.to_owned(),
        op: CompareOp::Eq,
        value: Value::Text(value.to_owned()),
    }
}

/// The stored features with the key of one of `features`: the first key
/// field among the file's values, and for the administrative units (whose
/// key is a code with its set) the set as well. `None` for a layer without a key.
fn key_filter(layer: &LayerDef, key: &[&str], features: &[Feature]) -> Option<Filter> {
    let (&field, rest) = key.split_first()?;
    let mut by_set: HashMap<Option<&str>, Vec<Value>> = HashMap::new();
    for f in features {
        let Some(value) = layer.text_of(f, field) else {
            continue;
        };
        let set = rest
            .contains(&"boundary_set")
            .then(|| layer.text_of(f, "boundary_set"))
            .flatten();
        by_set.entry(set).or_default().push(Value::Text(value.to_owned()));
    }
    let each: Vec<Filter> = by_set
        .into_iter()
        .map(|(set, values)| {
            let is_key = Filter::In {
                field: field.to_owned(),
                values,
            };
            match set.and_then(BoundarySet::parse) {
                Some(set) => Filter::And(vec![is_key, text_is("boundary_set", set.as_str())]),
                None => is_key,
            }
        })
        .collect();
    (!each.is_empty()).then_some(Filter::Or(each))
}

/// A feature named by its key (`parcel_id X`).
fn key_text(layer: &LayerDef, key: &[&str], f: &Feature) -> String {
    key.iter()
        .map(|k| format!("{k} {}", layer.text_of(f, k).unwrap_or("?")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn first(named: &[String]) -> String {
    named.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ")
}
