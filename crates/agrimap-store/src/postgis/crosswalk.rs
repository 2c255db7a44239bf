//! The crosswalk list in PostgreSQL (migration 0005): replaced in one
//! transaction, the pairs sent as arrays in one statement.

use super::{PgStore, pg};
use crate::{CrosswalkPair, CrosswalkQuery, CrosswalkStore, PairKind, StoreError};
use tokio_postgres::Row;

const COLUMNS: &str = "old_code, old_name, new_province_code, new_province_name, new_code, new_name, kind";

fn pair_of(r: &Row) -> CrosswalkPair {
    let kind: String = r.get(6);
    CrosswalkPair {
        old_code: r.get(0),
        old_name: r.get(1),
        new_province_code: r.get(2),
        new_province_name: r.get(3),
        new_code: r.get(4),
        new_name: r.get(5),
        // The CHECK constraint holds the column to these two.
        kind: PairKind::parse(&kind).unwrap_or(PairKind::Partial),
    }
}

#[async_trait::async_trait]
impl CrosswalkStore for PgStore {
    async fn replace_crosswalk(&self, pairs: Vec<CrosswalkPair>) -> Result<usize, StoreError> {
        let column = |f: fn(&CrosswalkPair) -> &str| pairs.iter().map(|p| f(p).to_owned()).collect::<Vec<String>>();
        let columns = [
            column(|p| &p.old_code),
            column(|p| &p.old_name),
            column(|p| &p.new_province_code),
            column(|p| &p.new_province_name),
            column(|p| &p.new_code),
            column(|p| &p.new_name),
            column(|p| p.kind.as_str()),
        ];
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        tx.execute("DELETE FROM agrimap_crosswalk", &[])
            .await
            .map_err(pg("emptying the crosswalk"))?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = columns
            .iter()
            .map(|c| c as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let stored = tx
            .execute(
                &format!(
                    "INSERT INTO agrimap_crosswalk ({COLUMNS})
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])"
                ),
                &params,
            )
            .await
            .map_err(pg("storing the crosswalk"))?;
        tx.commit().await.map_err(pg("committing the crosswalk"))?;
        Ok(usize::try_from(stored).unwrap_or(usize::MAX))
    }

    async fn crosswalk(&self, query: &CrosswalkQuery) -> Result<Vec<CrosswalkPair>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM agrimap_crosswalk
                     WHERE ($1::text IS NULL OR old_code = $1::text) AND ($2::text IS NULL OR new_code = $2::text)
                     ORDER BY old_code, new_code"
                ),
                &[&query.old_code, &query.new_code],
            )
            .await
            .map_err(pg("reading the crosswalk"))?;
        Ok(rows.iter().map(pair_of).collect())
    }
}
