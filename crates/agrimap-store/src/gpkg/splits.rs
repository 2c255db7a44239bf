//! The commune splits of the thematic layers in the GeoPackage (see
//! [`crate::splits`]): the tables and triggers, made on open when missing,
//! the settling of what a write left pending, and the grouped read.

use super::{db, on_layer, stored_value};
use crate::splits::{CHUNK, CommuneRow, SetZones, SplitQuery, SplitRow, StoredSplit, ZonesCache, split_layers};
use crate::{StoreError, gpkg_geom};
use agrimap_analysis::Metric;
use agrimap_model::LayerDef;
use geo::Geometry;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, Transaction, params_from_iter};
use std::fmt::Write as _;
use std::sync::Arc;

const TABLES_SQL: &str = "
CREATE TABLE IF NOT EXISTS agrimap_feature_splits (
  layer TEXT NOT NULL,
  fid INTEGER NOT NULL,
  boundary_set TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  province_code TEXT NOT NULL,
  area_ha REAL NOT NULL,
  share REAL NOT NULL,
  largest INTEGER NOT NULL,
  PRIMARY KEY (layer, fid, boundary_set, commune_code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agrimap_split_pending (
  layer TEXT NOT NULL,
  fid INTEGER NOT NULL,
  PRIMARY KEY (layer, fid)
) WITHOUT ROWID;";

/// The marker a change of the communes leaves: every split is stale.
const BOUNDARIES: &str = "admin_commune";

/// The triggers that keep a layer's splits pending after its writes.
fn layer_triggers(layer: &LayerDef) -> String {
    let t = layer.id;
    format!(
        "CREATE TRIGGER IF NOT EXISTS \"agrimap_splits_{t}_insert\" AFTER INSERT ON \"{t}\" BEGIN
           INSERT OR IGNORE INTO agrimap_split_pending (layer, fid) VALUES ('{t}', NEW.fid);
         END;
         CREATE TRIGGER IF NOT EXISTS \"agrimap_splits_{t}_update\" AFTER UPDATE OF fid, geom ON \"{t}\" BEGIN
           DELETE FROM agrimap_feature_splits WHERE layer = '{t}' AND fid = OLD.fid;
           INSERT OR IGNORE INTO agrimap_split_pending (layer, fid) VALUES ('{t}', NEW.fid);
         END;
         CREATE TRIGGER IF NOT EXISTS \"agrimap_splits_{t}_delete\" AFTER DELETE ON \"{t}\" BEGIN
           DELETE FROM agrimap_feature_splits WHERE layer = '{t}' AND fid = OLD.fid;
           DELETE FROM agrimap_split_pending WHERE layer = '{t}' AND fid = OLD.fid;
         END;\n"
    )
}

fn boundary_triggers() -> String {
    let mut sql = String::new();
    for event in ["INSERT", "UPDATE", "DELETE"] {
        let _ = writeln!(
            sql,
            "CREATE TRIGGER IF NOT EXISTS \"agrimap_splits_{BOUNDARIES}_{e}\" AFTER {event} ON \"{BOUNDARIES}\" BEGIN
               INSERT OR IGNORE INTO agrimap_split_pending (layer, fid) VALUES ('{BOUNDARIES}', 0);
             END;",
            e = event.to_lowercase()
        );
    }
    sql
}

/// Makes the split tables and triggers when missing. A store that had no
/// splits gets them for every feature it holds, in the same transaction
/// (once, on the first open by a release that keeps them).
pub(super) fn ensure(conn: &mut Connection) -> Result<(), StoreError> {
    let triggers = split_layers().count() * 3 + 3;
    let present: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'agrimap\\_splits\\_%' ESCAPE '\\'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| db("reading the split triggers", e))?;
    if usize::try_from(present).is_ok_and(|p| p == triggers) {
        return Ok(());
    }
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    let mut sql = String::from(TABLES_SQL);
    for layer in split_layers() {
        sql.push_str(&layer_triggers(layer));
    }
    sql.push_str(&boundary_triggers());
    let _ = write!(
        sql,
        "INSERT OR IGNORE INTO agrimap_split_pending (layer, fid) VALUES ('{BOUNDARIES}', 0);"
    );
    tx.execute_batch(&sql).map_err(|e| db("creating the split tables", e))?;
    tx.commit().map_err(|e| db("committing the split tables", e))
}

/// The communes of every set, as the transaction sees them.
fn read_communes(tx: &Transaction<'_>) -> Result<Vec<CommuneRow>, StoreError> {
    let mut stmt = tx
        .prepare(
            "SELECT coalesce(boundary_set, ''), code, coalesce(district_code, ''), province_code, geom
             FROM admin_commune WHERE geom IS NOT NULL",
        )
        .map_err(|e| db("reading the communes", e))?;
    let mut rows = stmt.query([]).map_err(|e| db("reading the communes", e))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| db("reading the communes", e))? {
        let blob: Vec<u8> = r.get(4).map_err(|e| db("reading the communes", e))?;
        let Ok(geometry) = gpkg_geom::decode(&blob) else {
            continue;
        };
        let text = |i| r.get::<_, String>(i).map_err(|e| db("reading the communes", e));
        out.push((text(0)?, text(1)?, text(2)?, text(3)?, geometry));
    }
    Ok(out)
}

/// Gives features their splits where a write left them pending, in the
/// write's own transaction: the features noted, or every feature of every
/// layer when the communes changed. Returns how many features were split.
pub(super) fn settle(tx: &Transaction<'_>, cache: &ZonesCache) -> Result<usize, StoreError> {
    let pending: Vec<String> = {
        let mut stmt = tx
            .prepare_cached("SELECT DISTINCT layer FROM agrimap_split_pending")
            .map_err(|e| db("reading pending splits", e))?;
        stmt.query_map([], |r| r.get(0))
            .map_err(|e| db("reading pending splits", e))?
            .collect::<Result<_, _>>()
            .map_err(|e| db("reading pending splits", e))?
    };
    if pending.is_empty() {
        return Ok(0);
    }
    let all = pending.iter().any(|l| l == BOUNDARIES);
    let zones = zones(tx, cache, all)?;
    if all {
        // Without a WHERE, SQLite empties the table at once.
        tx.execute("DELETE FROM agrimap_feature_splits", [])
            .map_err(|e| db("clearing splits", e))?;
    }
    let mut split = 0;
    for layer in split_layers() {
        if all {
            split += split_layer(tx, layer, &zones, false)?;
        } else if pending.iter().any(|l| l == layer.id) {
            tx.execute(
                "DELETE FROM agrimap_feature_splits WHERE layer = ?1
                   AND fid IN (SELECT fid FROM agrimap_split_pending WHERE layer = ?1)",
                [layer.id],
            )
            .map_err(on_layer("clearing splits", layer))?;
            split += split_layer(tx, layer, &zones, true)?;
        }
    }
    tx.execute("DELETE FROM agrimap_split_pending", [])
        .map_err(|e| db("clearing pending splits", e))?;
    Ok(split)
}

/// The zones of the communes: the cached ones when the communes are as
/// committed, else read afresh.
fn zones(tx: &Transaction<'_>, cache: &ZonesCache, changed: bool) -> Result<Arc<SetZones>, StoreError> {
    let version: i64 = tx
        .query_row(
            "SELECT version FROM agrimap_layer_version WHERE layer = ?1",
            [BOUNDARIES],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db("reading the communes' version", e))?
        .unwrap_or(0);
    let version = u64::try_from(version).unwrap_or(0);
    if !changed && let Some(z) = cache.get(version) {
        return Ok(z);
    }
    let zones = Arc::new(SetZones::new(read_communes(tx)?));
    if !changed {
        cache.keep(version, zones.clone());
    }
    Ok(zones)
}

/// Splits a layer's features (those pending, or all), a chunk at a time.
fn split_layer(tx: &Transaction<'_>, layer: &LayerDef, zones: &SetZones, pending: bool) -> Result<usize, StoreError> {
    let provinces = zones.provinces();
    let mut split = 0;
    if pending {
        // By id: the primary key finds a handful of parcels without a scan.
        let fids: Vec<i64> = {
            let mut stmt = tx
                .prepare_cached("SELECT fid FROM agrimap_split_pending WHERE layer = ?1 ORDER BY fid")
                .map_err(on_layer("reading pending splits", layer))?;
            stmt.query_map([layer.id], |r| r.get(0))
                .map_err(on_layer("reading pending splits", layer))?
                .collect::<Result<_, _>>()
                .map_err(on_layer("reading pending splits", layer))?
        };
        let mut stmt = tx
            .prepare(&format!("SELECT geom FROM \"{}\" WHERE fid = ?1", layer.id))
            .map_err(on_layer("reading features to split", layer))?;
        for chunk in fids.chunks(CHUNK) {
            let mut features = Vec::with_capacity(chunk.len());
            for &fid in chunk {
                let blob: Option<Vec<u8>> = stmt
                    .query_row([fid], |r| r.get(0))
                    .optional()
                    .map_err(on_layer("reading features to split", layer))?
                    .flatten();
                if let Some(g) = blob.and_then(|b| gpkg_geom::decode(&b).ok()) {
                    features.push((fid, g));
                }
            }
            split += store_splits(tx, layer, zones, &provinces, &features)?;
        }
        return Ok(split);
    }
    let mut stmt = tx
        .prepare(&format!(
            "SELECT fid, geom FROM \"{}\" WHERE fid > ?1 AND geom IS NOT NULL ORDER BY fid LIMIT {CHUNK}",
            layer.id
        ))
        .map_err(on_layer("reading features to split", layer))?;
    let mut after = i64::MIN;
    loop {
        let mut features: Vec<(i64, Geometry<f64>)> = Vec::new();
        let mut rows = stmt
            .query([after])
            .map_err(on_layer("reading features to split", layer))?;
        let mut count = 0;
        while let Some(r) = rows.next().map_err(on_layer("reading features to split", layer))? {
            let fid: i64 = r.get(0).map_err(on_layer("reading features to split", layer))?;
            after = fid;
            count += 1;
            if let ValueRef::Blob(b) = r.get_ref(1).map_err(on_layer("reading features to split", layer))?
                && let Ok(g) = gpkg_geom::decode(b)
            {
                features.push((fid, g));
            }
        }
        drop(rows);
        if count == 0 {
            break;
        }
        split += store_splits(tx, layer, zones, &provinces, &features)?;
        if count < CHUNK {
            break;
        }
    }
    Ok(split)
}

/// Splits features on rayon and stores their splits.
fn store_splits(
    tx: &Transaction<'_>,
    layer: &LayerDef,
    zones: &SetZones,
    provinces: &std::collections::HashMap<(String, String), String>,
    features: &[(i64, Geometry<f64>)],
) -> Result<usize, StoreError> {
    let splits = zones.split(features);
    let mut insert = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO agrimap_feature_splits
               (layer, fid, boundary_set, commune_code, province_code, area_ha, share, largest)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .map_err(on_layer("storing splits", layer))?;
    for s in &splits {
        let province = provinces
            .get(&(s.boundary_set.clone(), s.commune_code.clone()))
            .map_or("", String::as_str);
        insert
            .execute((
                layer.id,
                s.fid,
                &s.boundary_set,
                &s.commune_code,
                province,
                s.area_ha,
                s.share,
                s.largest,
            ))
            .map_err(on_layer("storing splits", layer))?;
    }
    Ok(features.len())
}

/// The table asked, grouped by SQLite.
pub(super) fn table(conn: &Connection, query: &SplitQuery) -> Result<Vec<SplitRow>, StoreError> {
    let layer = query.layer;
    let (sql, params) = table_sql(query);
    let mut stmt = conn.prepare(&sql).map_err(on_layer("grouping splits", layer))?;
    let mut rows = stmt
        .query(params_from_iter(params.iter()))
        .map_err(on_layer("grouping splits", layer))?;
    let classes = query.classes.len();
    let metrics = query.metrics.len();
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(on_layer("grouping splits", layer))? {
        let get = |i| r.get_ref(i).map_err(on_layer("grouping splits", layer));
        let commune_code: String = r.get(0).map_err(on_layer("grouping splits", layer))?;
        let mut class_values = Vec::with_capacity(classes);
        for (n, &field) in query.classes.iter().enumerate() {
            class_values.push(stored_value(get(1 + n)?, layer.fields[field].ty));
        }
        let mut values = Vec::with_capacity(metrics);
        for m in 0..metrics {
            values.push(
                r.get::<_, Option<f64>>(1 + classes + m)
                    .map_err(on_layer("grouping splits", layer))?
                    .unwrap_or(0.0),
            );
        }
        let features: i64 = r
            .get(1 + classes + metrics)
            .map_err(on_layer("grouping splits", layer))?;
        out.push(SplitRow {
            commune_code,
            classes: class_values,
            values,
            features: u64::try_from(features).unwrap_or(0),
        });
    }
    Ok(out)
}

fn table_sql(query: &SplitQuery) -> (String, Vec<String>) {
    let layer = query.layer;
    let classes: Vec<String> = query
        .classes
        .iter()
        .map(|&i| format!("l.\"{}\"", layer.fields[i].name))
        .collect();
    let metrics: Vec<String> = query
        .metrics
        .iter()
        .map(|m| match *m {
            Metric::Area => "sum(s.area_ha)".to_owned(),
            Metric::Count => "sum(s.largest)".to_owned(),
            Metric::Sum(i) => format!("sum(coalesce(l.\"{}\", 0) * s.share)", layer.fields[i].name),
        })
        .collect();
    let mut select = vec!["s.commune_code".to_owned()];
    select.extend(classes.iter().cloned());
    select.extend(metrics);
    select.push("sum(s.largest)".to_owned());
    let mut group = vec!["s.commune_code".to_owned()];
    group.extend(classes);
    let mut params = vec![layer.id.to_owned(), query.boundary_set.clone()];
    let province = if let Some(p) = &query.province {
        params.push(p.clone());
        " AND s.province_code = ?3"
    } else {
        ""
    };
    (
        format!(
            "SELECT {} FROM agrimap_feature_splits s JOIN \"{}\" l ON l.fid = s.fid
             WHERE s.layer = ?1 AND s.boundary_set = ?2{province} GROUP BY {}",
            select.join(", "),
            layer.id,
            group.join(", ")
        ),
        params,
    )
}

/// The stored splits of one feature.
pub(super) fn of_feature(conn: &Connection, layer: &LayerDef, fid: i64) -> Result<Vec<StoredSplit>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT fid, boundary_set, commune_code, area_ha, share, largest FROM agrimap_feature_splits
             WHERE layer = ?1 AND fid = ?2 ORDER BY boundary_set, commune_code",
        )
        .map_err(on_layer("reading splits", layer))?;
    stmt.query_map((layer.id, fid), |r| {
        Ok(StoredSplit {
            fid: r.get(0)?,
            boundary_set: r.get(1)?,
            commune_code: r.get(2)?,
            area_ha: r.get(3)?,
            share: r.get(4)?,
            largest: r.get(5)?,
        })
    })
    .map_err(on_layer("reading splits", layer))?
    .collect::<Result<_, _>>()
    .map_err(on_layer("reading splits", layer))
}

/// Marks every split stale, for [`crate::SplitStore::recompute_splits`].
pub(super) fn mark_all(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.execute(
        &format!("INSERT OR IGNORE INTO agrimap_split_pending (layer, fid) VALUES ('{BOUNDARIES}', 0)"),
        [],
    )
    .map_err(|e| db("marking splits stale", e))?;
    Ok(())
}

/// Whether anything waits to be split (another program's edit).
pub(super) fn any_pending(conn: &Connection) -> Result<bool, StoreError> {
    conn.query_row("SELECT EXISTS (SELECT 1 FROM agrimap_split_pending)", [], |r| r.get(0))
        .map_err(|e| db("reading pending splits", e))
}

#[async_trait::async_trait]
impl crate::SplitStore for super::GpkgStore {
    async fn split_table(&self, query: &SplitQuery) -> Result<Vec<SplitRow>, StoreError> {
        crate::splits::check_layer(query.layer)?;
        let zones = self.zones.clone();
        let query = query.clone();
        self.with_conn(move |c| {
            settle_pending(c, &zones)?;
            table(c, &query)
        })
        .await
    }

    async fn feature_splits(&self, layer: &'static LayerDef, fid: i64) -> Result<Vec<StoredSplit>, StoreError> {
        crate::splits::check_layer(layer)?;
        let zones = self.zones.clone();
        self.with_conn(move |c| {
            settle_pending(c, &zones)?;
            of_feature(c, layer, fid)
        })
        .await
    }

    async fn recompute_splits(&self) -> Result<usize, StoreError> {
        let zones = self.zones.clone();
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            mark_all(&tx)?;
            let split = settle(&tx, &zones)?;
            tx.commit().map_err(|e| db("committing", e))?;
            Ok(split)
        })
        .await
    }
}

/// Settles what another program's edit left pending, in a transaction of
/// its own (most reads find nothing and write nothing).
fn settle_pending(conn: &mut Connection, zones: &ZonesCache) -> Result<(), StoreError> {
    if any_pending(conn)? {
        let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
        settle(&tx, zones)?;
        tx.commit().map_err(|e| db("committing", e))?;
    }
    Ok(())
}
