//! The code lists in PostGIS: table `agrimap_codes` (migration 0006).

use super::{PgStore, pg};
use crate::StoreError;
use crate::codes::{CodeStore, in_use, known_list};
use agrimap_model::Code;
use agrimap_model::codes::{CodeError, fields_using, national_defaults};

/// Seeds the national defaults; run in the transaction that applies migration 0006.
pub(super) async fn seed(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    let insert = tx
        .prepare(
            "INSERT INTO agrimap_codes (list, code, label_vi, label_en) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(pg("seeding the code lists"))?;
    for c in national_defaults() {
        tx.execute(&insert, &[&c.list, &c.code, &c.label_vi, &c.label_en])
            .await
            .map_err(pg("seeding the code lists"))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl CodeStore for PgStore {
    async fn codes(&self) -> Result<Vec<Code>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT list, code, label_vi, label_en, retired FROM agrimap_codes ORDER BY list, code",
                &[],
            )
            .await
            .map_err(pg("reading the code lists"))?;
        Ok(rows
            .iter()
            .map(|r| Code {
                list: r.get(0),
                code: r.get(1),
                label_vi: r.get(2),
                label_en: r.get(3),
                retired: r.get(4),
            })
            .collect())
    }

    async fn add_code(&self, code: &Code) -> Result<(), StoreError> {
        code.check()?;
        let client = self.client().await?;
        let added = client
            .execute(
                "INSERT INTO agrimap_codes (list, code, label_vi, label_en) VALUES ($1, $2, $3, $4)
                 ON CONFLICT DO NOTHING",
                &[&code.list, &code.code, &code.label_vi.trim(), &code.label_en.trim()],
            )
            .await
            .map_err(pg("adding a code"))?;
        if added == 0 {
            return Err(CodeError::Exists {
                list: code.list.clone(),
                code: code.code.clone(),
            }
            .into());
        }
        Ok(())
    }

    async fn retire_code(&self, list: &str, code: &str) -> Result<(), StoreError> {
        known_list(list)?;
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // The row first, locked: a feature written meanwhile cannot slip past the count.
        let found = tx
            .query_opt(
                "SELECT 1 FROM agrimap_codes WHERE list = $1 AND code = $2 FOR UPDATE",
                &[&list, &code],
            )
            .await
            .map_err(pg("retiring a code"))?;
        if found.is_none() {
            return Err(CodeError::NotFound {
                list: list.to_owned(),
                code: code.to_owned(),
            }
            .into());
        }
        let mut uses = Vec::new();
        for (layer, field) in fields_using(list) {
            let n: i64 = tx
                .query_one(
                    &format!("SELECT count(*) FROM {} WHERE {field} = $1", layer.id),
                    &[&code],
                )
                .await
                .map_err(pg("counting a code's uses"))?
                .get(0);
            uses.push((layer.id, field, u64::try_from(n).unwrap_or(0)));
        }
        if let Some(refused) = in_use(list, code, &uses) {
            return Err(refused);
        }
        tx.execute(
            "UPDATE agrimap_codes SET retired = true WHERE list = $1 AND code = $2",
            &[&list, &code],
        )
        .await
        .map_err(pg("retiring a code"))?;
        tx.commit().await.map_err(pg("retiring a code"))
    }
}
