//! The registries in PostgreSQL (migration 0008): a write is one statement
//! (the records as arrays, the changed ones returned into the history) in
//! one transaction, so a 10,000-record import is one round trip.

use super::{PgStore, pg};
use crate::registry::{RegistryAction, may_restore, repeated_key};
use crate::{RegistryChange, RegistryHistory, RegistryRecord, RegistryStore, RegistryWrite, StoreError};
use agrimap_model::registry::RegistryKind;
use tokio_postgres::Row;

const AT: &str = r#"to_char(changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"#;

fn record_of(r: &Row) -> RegistryRecord {
    RegistryRecord {
        key: r.get(0),
        province_code: r.get(1),
        body: r.get(2),
    }
}

/// The registries whole, as `tx` sees them.
async fn read_registries(tx: &deadpool_postgres::Transaction<'_>) -> Result<RegistryHistory, StoreError> {
    let kind =
        |text: &str| RegistryKind::parse(text).ok_or_else(|| StoreError::Corrupt(format!("a registry '{text}'")));
    let records = tx
        .query(
            // In SQLite's order (bytes), so that two stores' lists compare.
            "SELECT key, province_code, body::text, kind FROM agrimap_registry ORDER BY kind COLLATE \"C\", key COLLATE \"C\"",
            &[],
        )
        .await
        .map_err(pg("reading the registries"))?;
    let changes = tx
        .query(
            &format!("SELECT kind, key, action, body::text, actor, {AT} FROM agrimap_registry_history ORDER BY seq"),
            &[],
        )
        .await
        .map_err(pg("reading the registry history"))?;
    let scans = tx
        .query(
            "SELECT product, to_char(day, 'YYYY-MM-DD'), scans FROM agrimap_registry_scans ORDER BY product COLLATE \"C\", day",
            &[],
        )
        .await
        .map_err(pg("reading the scans"))?;
    Ok(RegistryHistory {
        records: records
            .iter()
            .map(|r| Ok((kind(r.get(3))?, record_of(r))))
            .collect::<Result<_, StoreError>>()?,
        changes: changes
            .iter()
            .map(|r| {
                Ok(RegistryChange {
                    kind: kind(r.get(0))?,
                    key: r.get(1),
                    action: RegistryAction::stored(r.get(2)).map_err(StoreError::Corrupt)?,
                    body: r.get(3),
                    actor: r.get(4),
                    at: crate::stored_time(r.get(5))?,
                })
            })
            .collect::<Result<_, StoreError>>()?,
        scans: scans
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get::<_, i64>(2).max(0).cast_unsigned()))
            .collect(),
    })
}

/// Writes registries kept elsewhere; each record was last changed when its
/// history says (or now, without one).
async fn write_registries(
    tx: &deadpool_postgres::Transaction<'_>,
    history: &RegistryHistory,
) -> Result<(), StoreError> {
    let record = tx
        .prepare(
            "INSERT INTO agrimap_registry (kind, key, province_code, body, updated_at)
             VALUES ($1, $2, $3, $4::text::jsonb, coalesce($5::text::timestamptz, now()))",
        )
        .await
        .map_err(pg("copying a registry record"))?;
    let changed = history.last_changed();
    for (kind, r) in &history.records {
        let updated = changed.get(&(kind.as_str(), r.key.as_str()));
        tx.execute(&record, &[&kind.as_str(), &r.key, &r.province_code, &r.body, &updated])
            .await
            .map_err(pg("copying a registry record"))?;
    }
    let change = tx
        .prepare(
            "INSERT INTO agrimap_registry_history (kind, key, action, body, actor, changed_at)
             VALUES ($1, $2, $3, $4::text::jsonb, $5, $6::text::timestamptz)",
        )
        .await
        .map_err(pg("copying a registry change"))?;
    for c in &history.changes {
        tx.execute(
            &change,
            &[
                &c.kind.as_str(),
                &c.key,
                &c.action.as_str(),
                &c.body,
                &c.actor,
                &c.at.to_string(),
            ],
        )
        .await
        .map_err(pg("copying a registry change"))?;
    }
    let scan = tx
        .prepare("INSERT INTO agrimap_registry_scans (product, day, scans) VALUES ($1, $2::text::date, $3)")
        .await
        .map_err(pg("copying a product's scans"))?;
    for (product, day, scans) in &history.scans {
        let scans = i64::try_from(*scans).unwrap_or(i64::MAX);
        tx.execute(&scan, &[product, day, &scans])
            .await
            .map_err(pg("copying a product's scans"))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl RegistryStore for PgStore {
    async fn registry_history(&self) -> Result<RegistryHistory, StoreError> {
        let mut client = self.client().await?;
        let tx = super::snapshot(&mut client).await?;
        read_registries(&tx).await
    }

    async fn restore_registry_history(&self, history: &RegistryHistory) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // Records are written one statement a batch; the copy takes the
        // tables whole, so no write slips in between the check and the copy.
        tx.batch_execute(
            "LOCK TABLE agrimap_registry, agrimap_registry_history, agrimap_registry_scans IN EXCLUSIVE MODE",
        )
        .await
        .map_err(pg("locking the registries"))?;
        if !may_restore(&read_registries(&tx).await?, history)? {
            return Ok(false);
        }
        write_registries(&tx, history).await?;
        tx.commit().await.map_err(pg("copying the registries"))?;
        Ok(true)
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
        let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        let provinces: Vec<&str> = records.iter().map(|r| r.province_code.as_str()).collect();
        let bodies: Vec<&str> = records.iter().map(|r| r.body.as_str()).collect();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // Rows that would not change are left out of the upsert (its WHERE),
        // so they get no history row; `xmax = 0` marks the inserted ones.
        let rows = tx
            .query(
                "WITH input AS (
                   SELECT * FROM unnest($2::text[], $3::text[], $4::text[]) AS i(key, province_code, body)
                 ), put AS (
                   INSERT INTO agrimap_registry (kind, key, province_code, body, updated_at)
                   SELECT $1::text, key, province_code, body::jsonb, now() FROM input
                   ON CONFLICT (kind, key) DO UPDATE
                     SET province_code = excluded.province_code, body = excluded.body, updated_at = excluded.updated_at
                     WHERE agrimap_registry.body IS DISTINCT FROM excluded.body
                        OR agrimap_registry.province_code IS DISTINCT FROM excluded.province_code
                   RETURNING key, body, (xmax = 0) AS inserted
                 )
                 INSERT INTO agrimap_registry_history (kind, key, action, body, actor)
                 SELECT $1::text, key, CASE WHEN inserted THEN 'insert' ELSE 'update' END, body, $5::text FROM put
                 RETURNING action",
                &[&kind.as_str(), &keys, &provinces, &bodies, &actor],
            )
            .await
            .map_err(pg("writing the registry"))?;
        tx.commit().await.map_err(pg("committing the registry"))?;
        let inserted = rows.iter().filter(|r| r.get::<_, &str>(0) == "insert").count();
        let updated = rows.len() - inserted;
        Ok(RegistryWrite {
            inserted,
            updated,
            unchanged: records.len() - rows.len(),
        })
    }

    async fn record(&self, kind: RegistryKind, key: &str) -> Result<Option<RegistryRecord>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT key, province_code, body::text FROM agrimap_registry WHERE kind = $1 AND key = $2",
                &[&kind.as_str(), &key],
            )
            .await
            .map_err(pg("reading a registry record"))?;
        Ok(row.as_ref().map(record_of))
    }

    async fn records(
        &self,
        kind: RegistryKind,
        province_code: Option<&str>,
    ) -> Result<Vec<RegistryRecord>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT key, province_code, body::text FROM agrimap_registry
                 WHERE kind = $1 AND ($2::text IS NULL OR province_code = $2::text) ORDER BY key",
                &[&kind.as_str(), &province_code],
            )
            .await
            .map_err(pg("reading the registry"))?;
        Ok(rows.iter().map(record_of).collect())
    }

    async fn record_history(&self, kind: RegistryKind, key: &str) -> Result<Vec<RegistryChange>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT action, body::text, actor, {AT} FROM agrimap_registry_history
                     WHERE kind = $1 AND key = $2 ORDER BY seq"
                ),
                &[&kind.as_str(), &key],
            )
            .await
            .map_err(pg("reading the registry history"))?;
        rows.iter()
            .map(|r| {
                Ok(RegistryChange {
                    kind,
                    key: key.to_owned(),
                    action: RegistryAction::stored(r.get(0)).map_err(StoreError::Corrupt)?,
                    body: r.get(1),
                    actor: r.get(2),
                    at: crate::stored_time(r.get(3))?,
                })
            })
            .collect()
    }

    async fn add_scans(&self, product: &str, day: &str, scans: u64) -> Result<(), StoreError> {
        let scans = i64::try_from(scans).unwrap_or(i64::MAX);
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO agrimap_registry_scans (product, day, scans) VALUES ($1, $2::text::date, $3)
                 ON CONFLICT (product, day) DO UPDATE SET scans = agrimap_registry_scans.scans + excluded.scans",
                &[&product, &day, &scans],
            )
            .await
            .map_err(pg("counting a scan"))?;
        Ok(())
    }

    async fn scans(&self, product: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT to_char(day, 'YYYY-MM-DD'), scans FROM agrimap_registry_scans WHERE product = $1 ORDER BY day",
                &[&product],
            )
            .await
            .map_err(pg("reading the scans"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
            .collect())
    }
}
