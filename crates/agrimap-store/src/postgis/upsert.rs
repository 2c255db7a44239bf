//! Adding or updating features by their natural key: the features are
//! copied into a temporary table shaped like the layer's, then one UPDATE
//! replaces the stored features with the same key (keeping their `fid`) and
//! one INSERT adds the rest. Two statements whatever the number of features,
//! so other instances hear of the change twice, not once per feature.

use super::{copy_features, param, partitions, pg, refs};
use crate::layer_geometry::fit_to_layer;
use crate::{Change, StoreError, Upsert, UpsertSummary};

/// The temporary table the features go through; dropped at commit.
const STAGING: &str = "agrimap_upsert";

/// Applies one dated change (the write clock already set to its instant):
/// its features put with every value, then its removals. Returns how many
/// features it put or removed.
pub(super) async fn apply_change(
    tx: &deadpool_postgres::Transaction<'_>,
    change: &Change,
) -> Result<usize, StoreError> {
    let key = crate::check_removals(change)?;
    let layer = change.layer;
    let put = if change.put.is_empty() {
        UpsertSummary::default()
    } else {
        upsert(
            tx,
            &Upsert {
                layer,
                features: change.put.clone(),
                update: layer.fields.iter().map(|f| f.name).collect(),
                insert_new: true,
            },
        )
        .await?
    };
    let mut removed = 0;
    if !change.remove.is_empty() {
        let matches: Vec<String> = key
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let ty = layer.field(k).map_or(agrimap_model::FieldType::Text, |f| f.ty);
                format!("{k} = ${}::{}", i + 1, super::schema::column_type(ty))
            })
            .collect();
        let stmt = tx
            .prepare(&format!("DELETE FROM {} WHERE {}", layer.id, matches.join(" AND ")))
            .await
            .map_err(pg("preparing the removal"))?;
        for values in &change.remove {
            let params: Vec<_> = values.iter().map(param).collect();
            removed += tx
                .execute(&stmt, &refs(&params))
                .await
                .map_err(pg("removing a feature"))?;
        }
    }
    Ok(put.inserted + put.updated + usize::try_from(removed).unwrap_or(usize::MAX))
}

pub(super) async fn upsert(
    tx: &deadpool_postgres::Transaction<'_>,
    write: &Upsert,
) -> Result<UpsertSummary, StoreError> {
    let (layer, features) = (write.layer, &write.features);
    let key = crate::natural_key(layer)?;
    let invalid = |index: usize, message: String| StoreError::InvalidFeature {
        layer: layer.id.to_owned(),
        index,
        message,
    };
    let mut geometries = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        layer.check_feature(feature).map_err(|m| invalid(index, m))?;
        geometries.push(fit_to_layer(layer, &feature.geometry).map_err(|m| invalid(index, m))?);
    }
    let t = layer.id;
    let provinces = partitions::provinces_of(tx, layer, features).await?;
    let mut columns: Vec<&str> = layer.fields.iter().map(|f| f.name).collect();
    if provinces.is_some() {
        columns.push("province_code");
    }
    let columns = columns.join(", ");
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {STAGING} ON COMMIT DROP AS SELECT geom, {columns} FROM {t} WITH NO DATA"
    ))
    .await
    .map_err(pg("preparing the staging table"))?;
    copy_features(tx, STAGING, layer, features, &geometries, provinces.as_deref(), &[]).await?;

    let same_key = |a: &str, b: &str| -> String {
        key.iter()
            .map(|k| format!("{a}.{k} = {b}.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let assignments: Vec<String> = std::iter::once("geom".to_owned())
        .chain(
            layer
                .fields
                .iter()
                .filter(|f| write.update.contains(&f.name))
                .map(|f| f.name.to_owned()),
        )
        // The province follows the commune, when the commune is updated.
        .chain(
            (provinces.is_some()
                && write
                    .update
                    .iter()
                    .any(|f| *f == "commune_code" || *f == "boundary_set"))
            .then(|| "province_code".to_owned()),
        )
        .map(|c| format!("{c} = s.{c}"))
        .collect();
    let updated = tx
        .execute(
            &format!(
                "UPDATE {t} AS t SET {} FROM {STAGING} AS s WHERE {}",
                assignments.join(", "),
                same_key("t", "s")
            ),
            &[],
        )
        .await
        .map_err(partitions::write_error(layer, "updating features by key"))?;
    let inserted = if write.insert_new {
        tx.execute(
            &format!(
                "INSERT INTO {t} (geom, {columns}) SELECT geom, {columns} FROM {STAGING} AS s
                 WHERE NOT EXISTS (SELECT 1 FROM {t} AS t WHERE {})",
                same_key("t", "s")
            ),
            &[],
        )
        .await
        .map_err(partitions::write_error(layer, "inserting features"))?
    } else {
        0
    };
    tx.batch_execute(&format!("DROP TABLE {STAGING}"))
        .await
        .map_err(pg("dropping the staging table"))?;
    if layer.id == "admin_commune" {
        partitions::add_provinces(tx).await?;
    }
    Ok(UpsertSummary {
        inserted: usize::try_from(inserted).unwrap_or(usize::MAX),
        updated: usize::try_from(updated).unwrap_or(usize::MAX),
    })
}
