//! Three years of the demo province's past: what changed on its farmland
//! from [`HISTORY_FROM`] on, so that its layers can be read as they stood.
//!
//! - **Orchards planted**: about a quarter of today's fruit parcels (mango,
//!   longan, durian, pomelo) were rice until they were planted, on their
//!   planting date when it falls in the three years.
//! - **Certified**: about a quarter of today's VietGAP rice was farmed
//!   conventionally until a day in the three years.
//! - **Rice turned to shrimp–rice**: about a third of today's rice–shrimp
//!   rotation ponds were rice parcels (ids `PS-R…`) until their conversion.
//! - **Ponds abandoned**: a few intensive and extensive ponds were given up
//!   and are in the past only.
//! - **OCOP upgrades**: about a third of today's four-star products held
//!   three stars until their re-rating.
//!
//! Each feature changes at most once. The changes are kept in
//! `history.geojsonl.gz` as the version each change replaced (the state
//! after it is the layer file's), and [`replay`] turns them back into the
//! layers as they stood at [`HISTORY_FROM`] and the dated changes that
//! bring them to today, which is how a store is loaded.

use crate::rng::hash01;
use agrimap_model::{Feature, LayerDef, Value, calendar, layer};
use std::collections::{BTreeMap, HashMap};

/// The day the demo's history starts: the layers are known from then on.
pub const HISTORY_FROM: &str = "2024-01-01";
/// The last day a change may fall on.
const HISTORY_TO: &str = "2026-10-31";

/// What a change did to a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The feature appeared (its state is the layer file's).
    Insert,
    /// The feature took the layer file's state; `before` is what it was.
    Update,
    /// The feature went; `before` is what it was.
    Remove,
}

impl ChangeKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Remove => "remove",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "insert" => Some(Self::Insert),
            "update" => Some(Self::Update),
            "remove" => Some(Self::Remove),
            _ => None,
        }
    }
}

/// One dated change of one feature.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoChange {
    /// `YYYY-MM-DD`; the change takes effect at the start of the day (UTC).
    pub date: String,
    pub layer: &'static LayerDef,
    pub kind: ChangeKind,
    /// The feature's natural key (one field in every versioned layer).
    pub key: String,
    /// The version the change replaced; `None` for an insert.
    pub before: Option<Feature>,
}

/// The changes of one layer on one day, as a store applies them.
#[derive(Debug, Clone)]
pub struct Step {
    pub date: String,
    pub layer: &'static LayerDef,
    /// Features added or updated (their state after the change).
    pub put: Vec<Feature>,
    /// Natural keys of the features removed.
    pub remove: Vec<String>,
}

fn day(s: &str) -> i64 {
    calendar::parse_date(s).unwrap_or(0)
}

fn date_of(days: i64) -> String {
    calendar::format_date(days * 86_400)
}

/// A day in the history, drawn from `(a, b)`.
fn some_day(seed: u64, a: i64, b: i64) -> String {
    let (from, to) = (day(HISTORY_FROM) + 14, day(HISTORY_TO));
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_precision_loss,
        reason = "a day count"
    )]
    let offset = (hash01(seed, a, b) * (to - from) as f64) as i64;
    date_of(from + offset)
}

fn text(f: &Feature, layer: &LayerDef, field: &str) -> Option<String> {
    layer.value_of(f, field).as_str().map(str::to_owned)
}

fn set(f: &mut Feature, layer: &LayerDef, field: &str, value: Value) {
    if let Some(i) = layer.field_index(field) {
        f.properties[i] = value;
    }
}

/// Builds the history from today's layers, taking the abandoned ponds out
/// of today's aquaculture and putting the converted ponds last (so that a
/// store loaded with the history numbers today's features as one loaded
/// without it).
pub(crate) fn build(seed: u64, layers: &mut BTreeMap<&str, Vec<Feature>>) -> Vec<DemoChange> {
    let mut out = Vec::new();
    let crop = layer("crop").expect("crop layer");
    for (i, f) in layers.get("crop").into_iter().flatten().enumerate() {
        let n = i64::try_from(i).unwrap_or(0);
        let (Some(kind), Some(practice), Some(key)) = (
            text(f, crop, "crop_type"),
            text(f, crop, "practice"),
            text(f, crop, "parcel_id"),
        ) else {
            continue;
        };
        let fruit = matches!(kind.as_str(), "mango" | "longan" | "durian" | "pomelo");
        if fruit && hash01(seed ^ 0x4157, n, 1) < 0.25 {
            let planted = text(f, crop, "planting_date")
                .filter(|d| day(d) > day(HISTORY_FROM) + 14 && day(d) <= day(HISTORY_TO))
                .unwrap_or_else(|| some_day(seed ^ 0x4158, n, 2));
            let mut before = f.clone();
            set(&mut before, crop, "crop_type", "rice".into());
            set(&mut before, crop, "season", "dong_xuan".into());
            set(&mut before, crop, "variety", "OM 5451".into());
            set(&mut before, crop, "practice", "conventional".into());
            set(&mut before, crop, "planting_date", date_of(day(&planted) - 110).into());
            out.push(DemoChange {
                date: planted,
                layer: crop,
                kind: ChangeKind::Update,
                key,
                before: Some(before),
            });
        } else if kind == "rice" && practice == "vietgap" && hash01(seed ^ 0x4159, n, 3) < 0.25 {
            let mut before = f.clone();
            set(&mut before, crop, "practice", "conventional".into());
            out.push(DemoChange {
                date: some_day(seed ^ 0x415A, n, 4),
                layer: crop,
                kind: ChangeKind::Update,
                key,
                before: Some(before),
            });
        }
    }

    let ponds = layers.remove("aquaculture").unwrap_or_default();
    layers.insert("aquaculture", pond_changes(seed, ponds, &mut out));
    ocop_changes(seed, layers, &mut out);
    // By day, then layer, then key: the order a store applies them in.
    out.sort_by(|a, b| (&a.date, a.layer.id, &a.key).cmp(&(&b.date, b.layer.id, &b.key)));
    out
}

/// Rice turned to rice–shrimp ponds, and ponds abandoned: today's ponds
/// without the abandoned ones, the converted ones last.
fn pond_changes(seed: u64, ponds: Vec<Feature>, out: &mut Vec<DemoChange>) -> Vec<Feature> {
    let crop = layer("crop").expect("crop layer");
    let aquaculture = layer("aquaculture").expect("aquaculture layer");
    let (mut kept, mut converted) = (Vec::with_capacity(ponds.len()), Vec::new());
    for (i, f) in ponds.into_iter().enumerate() {
        let n = i64::try_from(i).unwrap_or(0);
        let (Some(mode), Some(key)) = (text(&f, aquaculture, "mode"), text(&f, aquaculture, "pond_id")) else {
            kept.push(f);
            continue;
        };
        if mode == "rice_shrimp" && hash01(seed ^ 0x415B, n, 5) < 0.35 {
            let date = some_day(seed ^ 0x415C, n, 6);
            out.push(DemoChange {
                date: date.clone(),
                layer: crop,
                kind: ChangeKind::Remove,
                key: format!("PS-R{}", &key[3..]),
                before: Some(rice_before(crop, aquaculture, &f, &key, &date)),
            });
            out.push(DemoChange {
                date,
                layer: aquaculture,
                kind: ChangeKind::Insert,
                key,
                before: None,
            });
            converted.push(f);
        } else if matches!(mode.as_str(), "intensive" | "extensive") && hash01(seed ^ 0x415D, n, 7) < 0.03 {
            out.push(DemoChange {
                date: some_day(seed ^ 0x415E, n, 8),
                layer: aquaculture,
                kind: ChangeKind::Remove,
                key,
                before: Some(f),
            });
        } else {
            kept.push(f);
        }
    }
    kept.extend(converted);
    kept
}

/// OCOP products re-rated from three stars to four.
fn ocop_changes(seed: u64, layers: &BTreeMap<&str, Vec<Feature>>, out: &mut Vec<DemoChange>) {
    let ocop = layer("ocop").expect("ocop layer");
    for (i, f) in layers.get("ocop").into_iter().flatten().enumerate() {
        let n = i64::try_from(i).unwrap_or(0);
        if ocop.value_of(f, "stars") == &Value::Int(4)
            && hash01(seed ^ 0x415F, n, 9) < 0.35
            && let Some(key) = text(f, ocop, "product_id")
        {
            let mut before = f.clone();
            set(&mut before, ocop, "stars", Value::Int(3));
            out.push(DemoChange {
                date: some_day(seed ^ 0x4160, n, 10),
                layer: ocop,
                kind: ChangeKind::Update,
                key,
                before: Some(before),
            });
        }
    }
}

/// The rice parcel a converted pond was until `date`.
fn rice_before(crop: &LayerDef, aquaculture: &LayerDef, pond: &Feature, key: &str, date: &str) -> Feature {
    let mut f = Feature {
        id: pond.id,
        geometry: pond.geometry.clone(),
        properties: vec![Value::Null; crop.fields.len()],
    };
    let from_pond = |field: &str| aquaculture.value_of(pond, field).clone();
    set(&mut f, crop, "parcel_id", format!("PS-R{}", &key[3..]).into());
    set(&mut f, crop, "commune_code", from_pond("commune_code"));
    set(&mut f, crop, "boundary_set", from_pond("boundary_set"));
    set(&mut f, crop, "crop_type", "rice".into());
    set(&mut f, crop, "season", "he_thu".into());
    set(&mut f, crop, "variety", "OM 5451".into());
    set(&mut f, crop, "area_ha", from_pond("water_area_ha"));
    set(&mut f, crop, "planting_date", date_of(day(date) - 100).into());
    set(&mut f, crop, "practice", "conventional".into());
    set(&mut f, crop, "owner_name", from_pond("owner_name"));
    set(&mut f, crop, "owner_phone", from_pond("owner_phone"));
    f
}

/// Turns today's layers into the layers as they stood at [`HISTORY_FROM`]
/// (an updated feature takes its old place, a removed one comes last, an
/// inserted one is left out) and returns the changes that bring them back
/// to today, one step per day and layer, in order.
#[must_use]
pub fn replay(layers: &mut [(&'static LayerDef, Vec<Feature>)], history: &[DemoChange]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    for (l, features) in layers.iter_mut() {
        let mine: Vec<&DemoChange> = history.iter().filter(|c| c.layer.id == l.id).collect();
        if mine.is_empty() {
            continue;
        }
        let key_field = l.natural_key().first().copied().unwrap_or("");
        let now: HashMap<String, Feature> = features
            .iter()
            .filter_map(|f| text(f, l, key_field).map(|k| (k, f.clone())))
            .collect();
        let by_key: HashMap<&str, &DemoChange> = mine.iter().map(|c| (c.key.as_str(), *c)).collect();
        let mut initial: Vec<Feature> = Vec::with_capacity(features.len());
        for f in features.iter() {
            let change = text(f, l, key_field).and_then(|k| by_key.get(k.as_str()).copied());
            match change.map(|c| (c.kind, &c.before)) {
                Some((ChangeKind::Insert, _)) => {}
                Some((ChangeKind::Update, Some(before))) => initial.push(before.clone()),
                _ => initial.push(f.clone()),
            }
        }
        initial.extend(
            mine.iter()
                .filter(|c| c.kind == ChangeKind::Remove)
                .filter_map(|c| c.before.clone()),
        );
        *features = initial;
        for c in mine {
            let fresh = steps.last().is_none_or(|s| s.date != c.date || s.layer.id != l.id);
            if fresh {
                steps.push(Step {
                    date: c.date.clone(),
                    layer: l,
                    put: Vec::new(),
                    remove: Vec::new(),
                });
            }
            let Some(step) = steps.last_mut() else { continue };
            match c.kind {
                ChangeKind::Remove => step.remove.push(c.key.clone()),
                ChangeKind::Insert | ChangeKind::Update => {
                    if let Some(f) = now.get(&c.key) {
                        step.put.push(f.clone());
                    }
                }
            }
        }
    }
    // Days in order; on one day, layers in catalog order.
    steps.sort_by(|a, b| a.date.cmp(&b.date));
    steps
}
