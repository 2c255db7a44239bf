//! A monitoring station added by an admin (`agrimap station add`): checked
//! before it is stored, since every reading, alert and tile of it follows
//! from where it stands. Its commune must exist, in the boundary set given
//! or, without one, in whichever set has it (a 2025 code is a 2025
//! commune), and it must stand in that commune.

use crate::Core;
use crate::communes::{Commune, CommuneIndex};
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::{BoundarySet, CodeLists, Feature, Value, layer};
use agrimap_store::{LayerWrite, WriteBatch};

/// What `agrimap station add` is given.
#[derive(Debug, Clone)]
pub struct NewStation {
    pub id: String,
    pub name: String,
    /// `water_quality`, `insect_trap` or `weather`.
    pub kind: String,
    pub commune: String,
    pub boundary_set: Option<BoundarySet>,
    pub lon: f64,
    pub lat: f64,
    pub parameters: Option<String>,
    pub report_interval_min: Option<i64>,
}

/// Longest station id: ids travel in URLs, MQTT topics and file names.
const MAX_ID: usize = 64;

fn bad(message: String) -> CoreError {
    CoreError::invalid("bad_station", message)
}

/// Checks `new` and stores it; returns the commune it stands in.
///
/// # Errors
/// `bad_station` saying what is wrong (id, name, position, commune, kind);
/// `station_exists`; the store's.
pub async fn add(core: &Core, new: &NewStation) -> Result<Commune, CoreError> {
    let id_ok = !new.id.is_empty()
        && new.id.len() <= MAX_ID
        && new
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(bad(format!(
            "station id '{}' must be 1 to {MAX_ID} letters, digits, '-' or '_' (e.g. WQ-27)",
            echo(&new.id, 70)
        )));
    }
    if new.name.trim().is_empty() {
        return Err(bad("a station needs a name".into()));
    }
    if !(new.lon.is_finite() && new.lat.is_finite() && new.lon.abs() <= 180.0 && new.lat.abs() <= 90.0) {
        return Err(bad(format!(
            "--lon {} --lat {} is no position: longitude is -180 to 180 and latitude -90 to 90 (WGS 84 degrees)",
            new.lon, new.lat
        )));
    }
    // A store that cannot be read is an error, not a station that is not there.
    if crate::ingest::station(core.store.as_ref(), &new.id).await?.is_some() {
        return Err(CoreError::new(
            ErrorKind::Conflict,
            "station_exists",
            format!("a station '{}' exists already", new.id),
        ));
    }
    let index = core.commune_index().await?;
    let commune = commune_at(&index, new)?.clone();
    let monitoring = monitoring()?;
    let feature = feature_of(monitoring, new, &commune);
    let lists = CodeLists::new(&core.store.codes().await?);
    monitoring
        .check_feature(&feature)
        .and_then(|()| lists.check(monitoring, &feature))
        .map_err(|reason| bad(format!("station '{}': {reason}", new.id)))?;
    core.store
        .write(WriteBatch {
            layers: vec![LayerWrite {
                layer: monitoring,
                replace: false,
                features: vec![feature],
            }],
            ..WriteBatch::default()
        })
        .await?;
    Ok(commune)
}

fn monitoring() -> Result<&'static agrimap_model::LayerDef, CoreError> {
    layer("monitoring").ok_or_else(|| CoreError::internal("no_layer", "the catalog has no monitoring layer"))
}

/// The commune of code `new.commune` (in its set, or in either) that the
/// station stands in; the newest set's when both do.
fn commune_at<'a>(index: &'a CommuneIndex, new: &NewStation) -> Result<&'a Commune, CoreError> {
    let at = geo::Point::new(new.lon, new.lat);
    let mut named: Vec<&Commune> = index
        .communes()
        .iter()
        .filter(|c| c.code == new.commune && new.boundary_set.is_none_or(|s| c.boundary_set == s.as_str()))
        .collect();
    if named.is_empty() {
        let set = new
            .boundary_set
            .map_or("either boundary set".to_owned(), |s| format!("the {} set", s.as_str()));
        return Err(bad(format!(
            "commune '{}' is not among the communes of {set} in the store",
            echo(&new.commune, 20)
        )));
    }
    named.sort_by_key(|c| c.boundary_set != BoundarySet::Y2025.as_str());
    if let Some(c) = named.iter().find(|c| c.contains(at)) {
        return Ok(c);
    }
    let c = named[0];
    let instead = index
        .communes()
        .iter()
        .find(|other| other.boundary_set == c.boundary_set && other.contains(at))
        .map_or_else(
            || "in no commune of the store".to_owned(),
            |o| format!("in commune {} {} instead", o.code, o.name),
        );
    Err(bad(format!(
        "the position {}, {} is not in commune {} {} ({}); it lies {instead}",
        new.lon, new.lat, c.code, c.name, c.boundary_set
    )))
}

fn feature_of(monitoring: &agrimap_model::LayerDef, new: &NewStation, commune: &Commune) -> Feature {
    let mut properties = vec![Value::Null; monitoring.fields.len()];
    for (name, value) in [
        ("station_id", Some(new.id.as_str())),
        ("name", Some(new.name.trim())),
        ("kind", Some(new.kind.as_str())),
        ("commune_code", Some(commune.code.as_str())),
        ("boundary_set", Some(commune.boundary_set.as_str())),
        ("parameters", new.parameters.as_deref()),
        ("status", Some("active")),
        ("alert_state", Some("ok")),
    ] {
        if let (Some(i), Some(v)) = (monitoring.field_index(name), value) {
            properties[i] = Value::from(v);
        }
    }
    if let (Some(i), Some(minutes)) = (monitoring.field_index("report_interval_min"), new.report_interval_min) {
        properties[i] = Value::Int(minutes);
    }
    Feature {
        id: 0,
        geometry: geo::Point::new(new.lon, new.lat).into(),
        properties,
    }
}
