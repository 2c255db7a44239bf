//! Which arriving communes change the boundaries the store holds: worked
//! out once per import, for the districts and provinces ([`super::outlines`])
//! and the features ([`super::follow`]) that follow them.

use super::admin::shape;
use agrimap_model::{Feature, LayerDef};
use std::collections::BTreeMap;

/// A commune's identity: its code and boundary set.
pub(super) type CommuneKey = (String, String);

/// The stored communes, and the arriving ones that change them.
pub(super) struct Changes<'a> {
    /// The stored communes by (code, boundary set), before the import.
    pub before: BTreeMap<CommuneKey, &'a Feature>,
    /// The arriving communes that are new or whose boundary differs from
    /// the stored one (a polygon and the same multipolygon are one boundary).
    pub changed: Vec<&'a Feature>,
}

impl<'a> Changes<'a> {
    pub(super) fn new(communes: &LayerDef, stored: &'a [Feature], arrived: &'a [Feature]) -> Self {
        let before: BTreeMap<CommuneKey, &Feature> =
            stored.iter().filter_map(|f| Some((key(communes, f)?, f))).collect();
        let changed = arrived
            .iter()
            .filter(|f| {
                key(communes, f).is_some_and(|k| {
                    before
                        .get(&k)
                        .is_none_or(|old| shape(&old.geometry) != shape(&f.geometry))
                })
            })
            .collect();
        Self { before, changed }
    }

    /// The stored commune that the arriving `f` replaces, if any.
    pub(super) fn replaced(&self, communes: &LayerDef, f: &Feature) -> Option<&'a Feature> {
        key(communes, f).and_then(|k| self.before.get(&k).copied())
    }
}

/// A commune's code and boundary set, when it has both.
pub(super) fn key(communes: &LayerDef, f: &Feature) -> Option<CommuneKey> {
    Some((
        communes.text_of(f, "code")?.to_owned(),
        communes.text_of(f, "boundary_set")?.to_owned(),
    ))
}
