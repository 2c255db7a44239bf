//! Thematic tables partitioned by province (migration 0014).
//!
//! PostgreSQL routes a row to its partition before any BEFORE ROW trigger
//! could set the partition key, so the store supplies `province_code` with
//! every feature it writes: the province of its commune, as the database's
//! own `agrimap_province_of` finds it in `admin_commune` (in the feature's
//! boundary set, else in the newest set that has the code), or '' for a
//! feature of no known province (no commune code, or a commune whose
//! boundaries the store does not hold), which has a partition of its own.
//!
//! A province gets its partitions when its boundaries are written (any write
//! of `admin_commune`), in the same transaction. A feature of a province
//! whose partition is missing (detached or dropped by an operator) is
//! refused with [`StoreError::NoPartition`], and its whole write with it.

use super::{pg, schema};
use crate::StoreError;
use agrimap_model::{Feature, LayerDef};
use std::collections::HashMap;

/// The province of each feature, in order; `None` for a layer that is not
/// partitioned.
pub(super) async fn provinces_of(
    tx: &deadpool_postgres::Transaction<'_>,
    layer: &LayerDef,
    features: &[Feature],
) -> Result<Option<Vec<String>>, StoreError> {
    if !schema::partitioned(layer) || features.is_empty() {
        return Ok(schema::partitioned(layer).then(Vec::new));
    }
    let text = |name: &str, f: &Feature| layer.value_of(f, name).as_str().map(str::to_owned);
    let keys: Vec<(Option<String>, Option<String>)> = features
        .iter()
        .map(|f| (text("commune_code", f), text("boundary_set", f)))
        .collect();
    // Each distinct (commune, set) once: a province's parcels share a few
    // hundred communes.
    let mut distinct: Vec<(String, String)> = keys
        .iter()
        .filter_map(|(c, s)| Some((c.clone()?, s.clone().unwrap_or_default())))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let (communes, sets): (Vec<String>, Vec<String>) = distinct.into_iter().unzip();
    let rows = tx
        .query(
            "SELECT c, s, agrimap_province_of(c, s) FROM unnest($1::text[], $2::text[]) AS u(c, s)",
            &[&communes, &sets],
        )
        .await
        .map_err(pg("finding the provinces of features"))?;
    let province: HashMap<(String, String), String> = rows.iter().map(|r| ((r.get(0), r.get(1)), r.get(2))).collect();
    Ok(Some(
        keys.into_iter()
            .map(|(c, s)| {
                c.and_then(|c| province.get(&(c, s.unwrap_or_default())).cloned())
                    .unwrap_or_default()
            })
            .collect(),
    ))
}

/// Makes the partitions of every province whose communes the store holds
/// and that lacks them (after a write of boundaries).
pub(super) async fn add_provinces(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        "SELECT agrimap_add_province(p) FROM (SELECT DISTINCT province_code AS p FROM admin_commune) s",
        &[],
    )
    .await
    .map_err(pg("making the partitions of the provinces"))?;
    Ok(())
}

/// The error for a row PostgreSQL found no partition for, naming the
/// province from the error's detail (`Partition key of the failing row
/// contains (province_code) = (92).`) or, when given, from the row itself.
pub(super) fn no_partition(
    layer: &LayerDef,
    db: &tokio_postgres::error::DbError,
    province: Option<&str>,
) -> Option<StoreError> {
    if !db.message().starts_with("no partition of relation") {
        return None;
    }
    let from_detail = db
        .detail()
        .and_then(|d| d.split("(province_code) = (").nth(1))
        .and_then(|rest| rest.strip_suffix(")."))
        .map(str::to_owned);
    Some(StoreError::NoPartition {
        layer: layer.id.to_owned(),
        province: province.map(str::to_owned).or(from_detail).unwrap_or_default(),
    })
}

/// `pg(action)` for a statement that writes rows of `layer`: a row without
/// a partition becomes [`StoreError::NoPartition`].
pub(super) fn write_error<'a>(
    layer: &'a LayerDef,
    action: &'static str,
) -> impl FnOnce(tokio_postgres::Error) -> StoreError + 'a {
    move |e| match e.as_db_error().and_then(|db| no_partition(layer, db, None)) {
        Some(missing) => missing,
        None => pg(action)(e),
    }
}
