//! The commune splits of the thematic layers in PostGIS (see
//! [`crate::splits`]; tables and triggers by migration 0016): the settling
//! of what a write left pending, in the write's transaction, and the
//! grouped read.

use super::{COPY_CHUNK, PgStore, copy_str, pg};
use crate::StoreError;
use crate::splits::{
    CHUNK, CommuneRow, SetZones, SplitQuery, SplitRow, SplitStore, StoredSplit, ZonesCache, check_layer, split_layers,
    totals_answer, totals_fields,
};
use crate::wkb::read_wkb;
use agrimap_analysis::Metric;
use agrimap_model::{FieldType, LayerDef, Value};
use deadpool_postgres::Transaction;
use geo::Geometry;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use tokio_postgres::Row;

/// The marker a change of the communes leaves: every split is stale.
const BOUNDARIES: &str = "admin_commune";

/// Gives features their splits where a write left them pending, in the
/// write's own transaction: the features noted, or every feature of every
/// layer when the communes changed. Returns how many features were split.
pub(super) async fn settle(tx: &Transaction<'_>, cache: &ZonesCache) -> Result<usize, StoreError> {
    let pending: Vec<String> = tx
        .query("SELECT DISTINCT layer FROM agrimap_split_pending", &[])
        .await
        .map_err(pg("reading pending splits"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if pending.is_empty() {
        return Ok(0);
    }
    let all = pending.iter().any(|l| l == BOUNDARIES);
    if all {
        // A whole recomputation runs longer than any query should.
        tx.batch_execute("SET LOCAL statement_timeout = 0")
            .await
            .map_err(pg("lifting the statement timeout"))?;
    }
    let zones = zones(tx, cache, all).await?;
    if all {
        // Every split goes: emptying the table is much cheaper than deleting
        // a million rows and their index entries (readers of the table wait
        // for the transaction, as they would for the rows).
        tx.batch_execute("TRUNCATE agrimap_feature_splits")
            .await
            .map_err(pg("clearing splits"))?;
    }
    let mut split = 0;
    for layer in split_layers() {
        if all {
            split += split_layer(tx, layer, &zones).await?;
        } else if pending.iter().any(|l| l == layer.id) {
            split += split_pending(tx, layer, &zones).await?;
        }
    }
    // Deleted, never truncated: a write of a layer holds the pending table
    // while it waits for the splits table, so taking the pending table
    // whole here, after the splits table, would close a deadlock. Other
    // transactions' pending rows are not visible, so not deleted.
    tx.batch_execute("DELETE FROM agrimap_split_pending")
        .await
        .map_err(pg("clearing pending splits"))?;
    if all {
        // The totals were emptied with the splits and hold this
        // transaction's deltas alone: fold them before anyone reads.
        fold(tx).await?;
    }
    Ok(split)
}

/// The zones of the communes: the cached ones when the communes are as
/// committed, else read afresh.
async fn zones(tx: &Transaction<'_>, cache: &ZonesCache, changed: bool) -> Result<Arc<SetZones>, StoreError> {
    let version: i64 = tx
        .query_opt(
            "SELECT version FROM agrimap_layer_version WHERE layer = $1",
            &[&BOUNDARIES],
        )
        .await
        .map_err(pg("reading the communes' version"))?
        .map_or(0, |r| r.get(0));
    let version = u64::try_from(version).unwrap_or(0);
    if !changed && let Some(z) = cache.get(version) {
        return Ok(z);
    }
    let rows = tx
        .query(
            "SELECT coalesce(boundary_set, ''), code, coalesce(district_code, ''), province_code, ST_AsBinary(geom)
             FROM admin_commune",
            &[],
        )
        .await
        .map_err(pg("reading the communes"))?;
    let communes: Vec<CommuneRow> = rows
        .iter()
        .filter_map(|r| {
            let geometry = read_wkb(r.get::<_, &[u8]>(4)).ok()?;
            Some((r.get(0), r.get(1), r.get(2), r.get(3), geometry))
        })
        .collect();
    let zones = Arc::new(
        tokio::task::spawn_blocking(move || SetZones::new(communes))
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?,
    );
    if !changed {
        cache.keep(version, zones.clone());
    }
    Ok(zones)
}

/// Splits every feature of a layer, a chunk at a time: one query read
/// through a portal (the table is scanned once), each chunk split on rayon
/// and sent back with one COPY before the next is fetched.
async fn split_layer(
    tx: &Transaction<'_>,
    layer: &'static LayerDef,
    zones: &Arc<SetZones>,
) -> Result<usize, StoreError> {
    let select = tx
        .prepare(&format!(
            "SELECT fid, ST_AsBinary(geom), {} FROM {}",
            classes_json(layer),
            layer.id
        ))
        .await
        .map_err(pg("reading features to split"))?;
    let portal = tx.bind(&select, &[]).await.map_err(pg("reading features to split"))?;
    let provinces = Arc::new(zones.provinces());
    let mut split = 0;
    loop {
        let rows = tx
            .query_portal(&portal, i32::try_from(CHUNK).unwrap_or(i32::MAX))
            .await
            .map_err(pg("reading features to split"))?;
        if rows.is_empty() {
            break;
        }
        let read = rows.len();
        split += split_rows(tx, layer, zones, &provinces, rows).await?;
        if read < CHUNK {
            break;
        }
    }
    Ok(split)
}

/// Splits the features of a layer a write left pending, by their ids (the
/// primary keys find a handful of parcels without a scan, and a million
/// in chunks), their old splits dropped first.
async fn split_pending(
    tx: &Transaction<'_>,
    layer: &'static LayerDef,
    zones: &Arc<SetZones>,
) -> Result<usize, StoreError> {
    let fids: Vec<i64> = tx
        .query(
            "SELECT fid FROM agrimap_split_pending WHERE layer = $1 ORDER BY fid",
            &[&layer.id],
        )
        .await
        .map_err(pg("reading pending splits"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let select = tx
        .prepare(&format!(
            "SELECT fid, ST_AsBinary(geom), {} FROM {} WHERE fid = ANY($1::bigint[])",
            classes_json(layer),
            layer.id
        ))
        .await
        .map_err(pg("reading features to split"))?;
    let provinces = Arc::new(zones.provinces());
    let mut split = 0;
    for chunk in fids.chunks(CHUNK) {
        let chunk = chunk.to_vec();
        tx.execute(
            "DELETE FROM agrimap_feature_splits WHERE layer = $1 AND fid = ANY($2::bigint[])",
            &[&layer.id, &chunk],
        )
        .await
        .map_err(pg("clearing splits"))?;
        let rows = tx
            .query(&select, &[&chunk])
            .await
            .map_err(pg("reading features to split"))?;
        split += split_rows(tx, layer, zones, &provinces, rows).await?;
    }
    Ok(split)
}

/// The values of a layer's coded fields as a JSON object, which each split
/// carries for the kept totals (migration 0017).
fn classes_json(layer: &LayerDef) -> String {
    let pairs: Vec<String> = totals_fields(layer)
        .map(|(_, f)| format!("'{0}', {0}", f.name))
        .collect();
    if pairs.is_empty() {
        "'{}'::text".to_owned()
    } else {
        format!("jsonb_build_object({})::text", pairs.join(", "))
    }
}

/// Splits rows of (fid, WKB, classes) on rayon and stores their splits with one COPY.
async fn split_rows(
    tx: &Transaction<'_>,
    layer: &'static LayerDef,
    zones: &Arc<SetZones>,
    provinces: &Arc<HashMap<(String, String), String>>,
    rows: Vec<Row>,
) -> Result<usize, StoreError> {
    let (zones, provinces, t) = (zones.clone(), provinces.clone(), layer.id);
    let (count, text) = tokio::task::spawn_blocking(move || {
        let features: Vec<(i64, Geometry<f64>)> = rows
            .iter()
            .filter_map(|r| Some((r.get(0), read_wkb(r.get::<_, &[u8]>(1)).ok()?)))
            .collect();
        let classes: HashMap<i64, &str> = rows.iter().map(|r| (r.get(0), r.get(2))).collect();
        let splits = zones.split(&features);
        (features.len(), copy_text(t, &splits, &provinces, &classes))
    })
    .await
    .map_err(|e| StoreError::Task(e.to_string()))?;
    copy_splits(tx, text).await?;
    Ok(count)
}

/// The splits as COPY text, in chunks of about [`COPY_CHUNK`] bytes.
fn copy_text(
    layer: &str,
    splits: &[StoredSplit],
    provinces: &HashMap<(String, String), String>,
    classes: &HashMap<i64, &str>,
) -> Vec<bytes::Bytes> {
    let mut chunks = Vec::new();
    let mut buf = String::with_capacity(COPY_CHUNK + 4096);
    for s in splits {
        let province = provinces
            .get(&(s.boundary_set.clone(), s.commune_code.clone()))
            .map_or("", String::as_str);
        let _ = write!(buf, "{layer}\t{}\t", s.fid);
        copy_str(&s.boundary_set, &mut buf);
        buf.push('\t');
        copy_str(&s.commune_code, &mut buf);
        buf.push('\t');
        copy_str(province, &mut buf);
        let _ = write!(
            buf,
            "\t{}\t{}\t{}\t",
            s.area_ha,
            s.share,
            if s.largest { "t" } else { "f" }
        );
        copy_str(classes.get(&s.fid).copied().unwrap_or("{}"), &mut buf);
        buf.push('\n');
        if buf.len() >= COPY_CHUNK {
            chunks.push(bytes::Bytes::from(std::mem::take(&mut buf)));
        }
    }
    if !buf.is_empty() {
        chunks.push(bytes::Bytes::from(buf));
    }
    chunks
}

async fn copy_splits(tx: &Transaction<'_>, chunks: Vec<bytes::Bytes>) -> Result<(), StoreError> {
    use futures::SinkExt;
    if chunks.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(
            "COPY agrimap_feature_splits \
             (layer, fid, boundary_set, commune_code, province_code, area_ha, share, largest, classes) FROM STDIN",
        )
        .await
        .map_err(pg("starting a COPY"))?;
    futures::pin_mut!(sink);
    for chunk in chunks {
        sink.send(chunk).await.map_err(pg("storing splits"))?;
    }
    sink.finish().await.map_err(pg("storing splits"))?;
    Ok(())
}

/// A class column as the table reads it (dates as text, as features are read).
fn class_column(layer: &LayerDef, field: usize) -> String {
    let f = &layer.fields[field];
    let c = format!("l.{}", f.name);
    match f.ty {
        FieldType::Date => format!("to_char({c}, 'YYYY-MM-DD')"),
        FieldType::DateTime => format!("to_char({c} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"),
        _ => c,
    }
}

fn table_sql(query: &SplitQuery) -> String {
    let layer = query.layer;
    let classes: Vec<String> = query.classes.iter().map(|&i| class_column(layer, i)).collect();
    let mut select = vec!["s.commune_code".to_owned()];
    select.extend(classes.iter().cloned());
    select.extend(query.metrics.iter().map(|m| match *m {
        Metric::Area => "sum(s.area_ha)".to_owned(),
        Metric::Count => "sum(s.largest::int)::double precision".to_owned(),
        Metric::Sum(i) => format!("sum(coalesce(l.{}, 0) * s.share)", layer.fields[i].name),
    }));
    select.push("sum(s.largest::int)::bigint".to_owned());
    let group: Vec<String> = (1..=1 + classes.len()).map(|i| i.to_string()).collect();
    let province = if query.province.is_some() {
        " AND s.province_code = $3"
    } else {
        ""
    };
    format!(
        "SELECT {} FROM agrimap_feature_splits s JOIN {} l ON l.fid = s.fid
         WHERE s.layer = $1 AND s.boundary_set = $2{province} GROUP BY {}",
        select.join(", "),
        layer.id,
        group.join(", ")
    )
}

fn value_at(row: &Row, i: usize, ty: FieldType) -> Value {
    match ty {
        FieldType::Integer => row.get::<_, Option<i64>>(i).map_or(Value::Null, Value::Int),
        FieldType::Real => row.get::<_, Option<f64>>(i).map_or(Value::Null, Value::Real),
        FieldType::Boolean => row.get::<_, Option<bool>>(i).map_or(Value::Null, Value::Bool),
        _ => row.get::<_, Option<String>>(i).map_or(Value::Null, Value::Text),
    }
}

/// Deltas past which a reader folds them into the totals before reading:
/// a few thousand writes' worth, read in a few milliseconds meanwhile.
const FOLD_AFTER: i64 = 20_000;

/// The key of the advisory lock that lets one folder at a time fold.
const FOLD_LOCK: i64 = 0x6167_7269_5f74_6f74; // "agri_tot"

/// Folds the deltas of the totals into them (in the caller's transaction):
/// one statement, so its row locks on the totals are taken in key order.
/// Cells left with no split are dropped.
async fn fold(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.batch_execute(
        "WITH d AS (DELETE FROM agrimap_split_deltas RETURNING *)
         INSERT INTO agrimap_split_totals AS t
           SELECT layer, boundary_set, class_field, province_code, commune_code, class_value,
                  sum(area_ha), sum(features), sum(parts)
           FROM d GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
         ON CONFLICT ON CONSTRAINT agrimap_split_totals_key DO UPDATE
           SET area_ha = t.area_ha + EXCLUDED.area_ha, features = t.features + EXCLUDED.features,
               parts = t.parts + EXCLUDED.parts;
         DELETE FROM agrimap_split_totals WHERE parts = 0;",
    )
    .await
    .map_err(pg("folding the totals"))
}

/// The table of one boundary set by commune and at most one coded field,
/// from the kept totals and the deltas not folded yet.
fn totals_sql(query: &SplitQuery) -> String {
    let province = if query.province.is_some() {
        " AND province_code = $4"
    } else {
        ""
    };
    let part = |table: &str| {
        format!(
            "SELECT commune_code, class_value, area_ha, features, parts FROM {table}
             WHERE layer = $1 AND boundary_set = $2 AND class_field = $3{province}"
        )
    };
    format!(
        "SELECT commune_code, class_value, sum(area_ha), sum(features)::bigint
         FROM ({} UNION ALL {}) t GROUP BY commune_code, class_value HAVING sum(parts) > 0",
        part("agrimap_split_totals"),
        part("agrimap_split_deltas")
    )
}

impl PgStore {
    /// A table from the kept totals (see [`totals_answer`]): a few thousand
    /// rows read, however many features the layer holds.
    async fn totals_table(&self, query: &SplitQuery) -> Result<Vec<SplitRow>, StoreError> {
        self.fold_if_many().await?;
        let client = self.client().await?;
        let field = query.classes.first().map_or("", |&i| query.layer.fields[i].name);
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
            vec![&query.layer.id, &query.boundary_set, &field];
        if let Some(p) = &query.province {
            params.push(p);
        }
        let rows = client
            .query(&totals_sql(query), &params)
            .await
            .map_err(pg("reading the kept totals"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let features: i64 = r.get(3);
                SplitRow {
                    commune_code: r.get(0),
                    classes: if query.classes.is_empty() {
                        Vec::new()
                    } else {
                        vec![r.get::<_, Option<String>>(1).map_or(Value::Null, Value::Text)]
                    },
                    values: query
                        .metrics
                        .iter()
                        .map(|m| match m {
                            Metric::Count => features as f64,
                            _ => r.get(2),
                        })
                        .collect(),
                    features: u64::try_from(features).unwrap_or(0),
                }
            })
            .collect())
    }

    /// Folds the deltas when they have grown past [`FOLD_AFTER`], unless
    /// another reader is folding them already.
    async fn fold_if_many(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let many: bool = client
            .query_one(
                "SELECT count(*) > $1 FROM (SELECT 1 FROM agrimap_split_deltas LIMIT $1::bigint + 1) d",
                &[&FOLD_AFTER],
            )
            .await
            .map_err(pg("counting the totals' deltas"))?
            .get(0);
        if !many {
            return Ok(());
        }
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let mine: bool = tx
            .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&FOLD_LOCK])
            .await
            .map_err(pg("locking the totals"))?
            .get(0);
        if mine {
            fold(&tx).await?;
        }
        tx.commit().await.map_err(pg("committing"))
    }

    /// Settles what another program's edit left pending, in a transaction
    /// of its own (most reads find nothing and write nothing).
    pub(super) async fn settle_pending(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let any: bool = client
            .query_one("SELECT EXISTS (SELECT 1 FROM agrimap_split_pending)", &[])
            .await
            .map_err(pg("reading pending splits"))?
            .get(0);
        if any {
            let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
            settle(&tx, &self.zones).await?;
            tx.commit().await.map_err(pg("committing"))?;
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl SplitStore for PgStore {
    async fn split_table(&self, query: &SplitQuery) -> Result<Vec<SplitRow>, StoreError> {
        check_layer(query.layer)?;
        self.settle_pending().await?;
        if totals_answer(query) {
            return self.totals_table(query).await;
        }
        let client = self.client().await?;
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&query.layer.id, &query.boundary_set];
        if let Some(p) = &query.province {
            params.push(p);
        }
        let rows = client
            .query(&table_sql(query), &params)
            .await
            .map_err(pg("grouping splits"))?;
        let (classes, metrics) = (query.classes.len(), query.metrics.len());
        Ok(rows
            .iter()
            .map(|r| SplitRow {
                commune_code: r.get(0),
                classes: query
                    .classes
                    .iter()
                    .enumerate()
                    .map(|(n, &f)| value_at(r, 1 + n, query.layer.fields[f].ty))
                    .collect(),
                values: (0..metrics)
                    .map(|m| r.get::<_, Option<f64>>(1 + classes + m).unwrap_or(0.0))
                    .collect(),
                features: u64::try_from(r.get::<_, i64>(1 + classes + metrics)).unwrap_or(0),
            })
            .collect())
    }

    async fn feature_splits(&self, layer: &'static LayerDef, fid: i64) -> Result<Vec<StoredSplit>, StoreError> {
        check_layer(layer)?;
        self.settle_pending().await?;
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT fid, boundary_set, commune_code, area_ha, share, largest FROM agrimap_feature_splits
                 WHERE layer = $1 AND fid = $2 ORDER BY boundary_set, commune_code",
                &[&layer.id, &fid],
            )
            .await
            .map_err(pg("reading splits"))?;
        Ok(rows
            .iter()
            .map(|r| StoredSplit {
                fid: r.get(0),
                boundary_set: r.get(1),
                commune_code: r.get(2),
                area_ha: r.get(3),
                share: r.get(4),
                largest: r.get(5),
            })
            .collect())
    }

    async fn recompute_splits(&self) -> Result<usize, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        tx.execute(
            "INSERT INTO agrimap_split_pending (layer, fid) VALUES ($1, 0) ON CONFLICT DO NOTHING",
            &[&BOUNDARIES],
        )
        .await
        .map_err(pg("marking splits stale"))?;
        let split = settle(&tx, &self.zones).await?;
        tx.commit().await.map_err(pg("committing"))?;
        if let Err(e) = client.batch_execute("ANALYZE agrimap_feature_splits").await {
            tracing::warn!(cause = %e, "ANALYZE after recomputing splits failed");
        }
        Ok(split)
    }
}
