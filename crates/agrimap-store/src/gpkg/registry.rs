//! The registries in the GeoPackage: plain tables (no geometry), the
//! records as JSON text, so QGIS shows them as attribute tables.

use super::{GpkgStore, db};
use crate::registry::{RegistryAction, may_restore, repeated_key};
use crate::{RegistryChange, RegistryHistory, RegistryRecord, RegistryStore, RegistryWrite, StoreError};
use agrimap_model::registry::RegistryKind;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

/// Created on open when missing (stores made before the registries have none).
pub(super) const REGISTRY_SQL: &str = "CREATE TABLE IF NOT EXISTS agrimap_registry (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  province_code TEXT NOT NULL,
  body TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS agrimap_registry_province ON agrimap_registry (kind, province_code);
CREATE TABLE IF NOT EXISTS agrimap_registry_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('insert', 'update')),
  body TEXT NOT NULL,
  actor TEXT NOT NULL,
  changed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agrimap_registry_history_key ON agrimap_registry_history (kind, key);
CREATE TABLE IF NOT EXISTS agrimap_registry_scans (
  product TEXT NOT NULL,
  day TEXT NOT NULL,
  scans INTEGER NOT NULL,
  PRIMARY KEY (product, day)
);";

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')";

fn kind_of(s: &str) -> RegistryKind {
    // Only this module writes the column, from `RegistryKind::as_str`.
    RegistryKind::parse(s).unwrap_or(RegistryKind::Products)
}

fn change_row(r: &Row<'_>) -> rusqlite::Result<RegistryChange> {
    Ok(RegistryChange {
        kind: kind_of(&r.get::<_, String>(0)?),
        key: r.get(1)?,
        action: RegistryAction::stored(&r.get::<_, String>(2)?)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into()))?,
        body: r.get(3)?,
        actor: r.get(4)?,
        at: super::time_at(r, 5)?,
    })
}

/// The registries whole, as `conn` sees them (in a transaction, one snapshot).
fn read_registries(conn: &Connection) -> Result<RegistryHistory, StoreError> {
    let read = |what: &'static str| move |e| db(what, e);
    let records = conn
        .prepare("SELECT kind, key, province_code, body FROM agrimap_registry ORDER BY kind, key")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok((
                    kind_of(&r.get::<_, String>(0)?),
                    RegistryRecord {
                        key: r.get(1)?,
                        province_code: r.get(2)?,
                        body: r.get(3)?,
                    },
                ))
            })?
            .collect()
        })
        .map_err(read("reading the registries"))?;
    let changes = conn
        .prepare("SELECT kind, key, action, body, actor, changed_at FROM agrimap_registry_history ORDER BY seq")
        .and_then(|mut stmt| stmt.query_map([], change_row)?.collect())
        .map_err(read("reading the registry history"))?;
    let scans = conn
        .prepare("SELECT product, day, scans FROM agrimap_registry_scans ORDER BY product, day")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0).cast_unsigned()))
            })?
            .collect()
        })
        .map_err(read("reading the scans"))?;
    Ok(RegistryHistory {
        records,
        changes,
        scans,
    })
}

/// Writes registries kept elsewhere; each record was last changed when its
/// history says (or now, without one).
fn write_registries(tx: &Transaction<'_>, history: &RegistryHistory) -> Result<(), StoreError> {
    let changed = history.last_changed();
    for (kind, r) in &history.records {
        tx.execute(
            &format!(
                "INSERT INTO agrimap_registry (kind, key, province_code, body, updated_at)
                 VALUES (?1, ?2, ?3, ?4, coalesce(?5, {NOW}))"
            ),
            params![
                kind.as_str(),
                r.key,
                r.province_code,
                r.body,
                changed.get(&(kind.as_str(), r.key.as_str()))
            ],
        )
        .map_err(|e| db("copying a registry record", e))?;
    }
    for c in &history.changes {
        tx.execute(
            "INSERT INTO agrimap_registry_history (kind, key, action, body, actor, changed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                c.kind.as_str(),
                c.key,
                c.action.as_str(),
                c.body,
                c.actor,
                c.at.to_string()
            ],
        )
        .map_err(|e| db("copying a registry change", e))?;
    }
    for (product, day, scans) in &history.scans {
        tx.execute(
            "INSERT INTO agrimap_registry_scans (product, day, scans) VALUES (?1, ?2, ?3)",
            params![product, day, i64::try_from(*scans).unwrap_or(i64::MAX)],
        )
        .map_err(|e| db("copying a product's scans", e))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl RegistryStore for GpkgStore {
    async fn registry_history(&self) -> Result<RegistryHistory, StoreError> {
        self.with_conn(|c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            read_registries(&tx)
        })
        .await
    }

    async fn restore_registry_history(&self, history: &RegistryHistory) -> Result<bool, StoreError> {
        let history = history.clone();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            if !may_restore(&read_registries(&tx)?, &history)? {
                return Ok(false);
            }
            write_registries(&tx, &history)?;
            tx.commit().map_err(|e| db("copying the registries", e))?;
            Ok(true)
        })
        .await
    }

    async fn put_records(
        &self,
        kind: RegistryKind,
        records: Vec<RegistryRecord>,
        actor: &str,
    ) -> Result<RegistryWrite, StoreError> {
        if let Some(key) = repeated_key(&records) {
            return Err(StoreError::RepeatedKey {
                kind: kind.as_str(),
                key: key.to_owned(),
            });
        }
        let actor = actor.to_owned();
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            let mut done = RegistryWrite::default();
            {
                let mut stored = tx
                    .prepare("SELECT province_code, body FROM agrimap_registry WHERE kind = ?1 AND key = ?2")
                    .map_err(|e| db("preparing the registry read", e))?;
                let mut put = tx
                    .prepare(&format!(
                        "INSERT INTO agrimap_registry (kind, key, province_code, body, updated_at)
                         VALUES (?1, ?2, ?3, ?4, {NOW})
                         ON CONFLICT (kind, key) DO UPDATE SET province_code = excluded.province_code,
                           body = excluded.body, updated_at = excluded.updated_at"
                    ))
                    .map_err(|e| db("preparing the registry write", e))?;
                let mut history = tx
                    .prepare(&format!(
                        "INSERT INTO agrimap_registry_history (kind, key, action, body, actor, changed_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, {NOW})"
                    ))
                    .map_err(|e| db("preparing the registry history", e))?;
                for r in &records {
                    let before: Option<(String, String)> = stored
                        .query_row(params![kind.as_str(), r.key], |row| Ok((row.get(0)?, row.get(1)?)))
                        .optional()
                        .map_err(|e| db("reading a registry record", e))?;
                    let action = match before {
                        None => "insert",
                        Some((p, b)) if p == r.province_code && b == r.body => {
                            done.unchanged += 1;
                            continue;
                        }
                        Some(_) => "update",
                    };
                    put.execute(params![kind.as_str(), r.key, r.province_code, r.body])
                        .map_err(|e| db("writing a registry record", e))?;
                    history
                        .execute(params![kind.as_str(), r.key, action, r.body, actor])
                        .map_err(|e| db("keeping the registry history", e))?;
                    if action == "insert" {
                        done.inserted += 1;
                    } else {
                        done.updated += 1;
                    }
                }
            }
            tx.commit().map_err(|e| db("committing the registry", e))?;
            Ok(done)
        })
        .await
    }

    async fn record(&self, kind: RegistryKind, key: &str) -> Result<Option<RegistryRecord>, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |c| {
            c.query_row(
                "SELECT key, province_code, body FROM agrimap_registry WHERE kind = ?1 AND key = ?2",
                params![kind.as_str(), key],
                |r| {
                    Ok(RegistryRecord {
                        key: r.get(0)?,
                        province_code: r.get(1)?,
                        body: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| db("reading a registry record", e))
        })
        .await
    }

    async fn records(
        &self,
        kind: RegistryKind,
        province_code: Option<&str>,
    ) -> Result<Vec<RegistryRecord>, StoreError> {
        let province = province_code.map(str::to_owned);
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT key, province_code, body FROM agrimap_registry
                     WHERE kind = ?1 AND (?2 IS NULL OR province_code = ?2) ORDER BY key",
                )
                .map_err(|e| db("preparing the registry query", e))?;
            stmt.query_map(params![kind.as_str(), province], |r| {
                Ok(RegistryRecord {
                    key: r.get(0)?,
                    province_code: r.get(1)?,
                    body: r.get(2)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| db("reading the registry", e))
        })
        .await
    }

    async fn record_history(&self, kind: RegistryKind, key: &str) -> Result<Vec<RegistryChange>, StoreError> {
        let key = key.to_owned();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare(
                    "SELECT kind, key, action, body, actor, changed_at FROM agrimap_registry_history
                     WHERE kind = ?1 AND key = ?2 ORDER BY seq",
                )
                .map_err(|e| db("preparing the history query", e))?;
            stmt.query_map(params![kind.as_str(), key], change_row)
                .and_then(Iterator::collect)
                .map_err(|e| db("reading the registry history", e))
        })
        .await
    }

    async fn add_scans(&self, product: &str, day: &str, scans: u64) -> Result<(), StoreError> {
        let (product, day) = (product.to_owned(), day.to_owned());
        let scans = i64::try_from(scans).unwrap_or(i64::MAX);
        self.with_conn(move |c| {
            c.execute(
                "INSERT INTO agrimap_registry_scans (product, day, scans) VALUES (?1, ?2, ?3)
                 ON CONFLICT (product, day) DO UPDATE SET scans = scans + excluded.scans",
                params![product, day, scans],
            )
            .map_err(|e| db("counting a scan", e))?;
            Ok(())
        })
        .await
    }

    async fn scans(&self, product: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let product = product.to_owned();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare("SELECT day, scans FROM agrimap_registry_scans WHERE product = ?1 ORDER BY day")
                .map_err(|e| db("preparing the scans query", e))?;
            stmt.query_map(params![product], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))
                .and_then(Iterator::collect)
                .map_err(|e| db("reading the scans", e))
        })
        .await
    }
}
