//! Kept tile layers in PostGIS ([`crate::overviews`]); the table and the
//! triggers that forget them are migration 0015, the list of what they
//! forgot 0018. They live on the primary:
//! a replica's copy could be behind the write that forgot it.

use super::{PgStore, pg};
use crate::StoreError;
use crate::overviews::{OverviewKey, OverviewStore, catalog_layer};
use geo::Rect;

fn tile_numbers(key: &OverviewKey) -> (i32, i64, i64) {
    (i32::from(key.z), i64::from(key.x), i64::from(key.y))
}

#[async_trait::async_trait]
impl OverviewStore for PgStore {
    async fn overview(&self, key: &OverviewKey) -> Result<Option<Vec<u8>>, StoreError> {
        let (z, x, y) = tile_numbers(key);
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT mvt FROM tile_overviews WHERE layer = $1 AND options = $2 AND z = $3 AND x = $4 AND y = $5",
                &[&key.layer, &key.options, &z, &x, &y],
            )
            .await
            .map_err(pg("reading a kept tile layer"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn keep_overview(
        &self,
        key: &OverviewKey,
        bounds: Rect<f64>,
        version: u64,
        mvt: &[u8],
    ) -> Result<bool, StoreError> {
        let (z, x, y) = tile_numbers(key);
        // Counters are bigint in the database: one past it is never current.
        let version = i64::try_from(version).unwrap_or(-1);
        let client = self.client().await?;
        // FOR SHARE: a write of the layer holds its counter's row from its
        // first row on (see migration 0015), so the check and the insert
        // cannot straddle it.
        let kept = client
            .execute(
                "WITH current AS (
                   SELECT version FROM agrimap_layer_version WHERE layer = $1 FOR SHARE),
                 redrawn AS (
                   DELETE FROM tile_overviews_redraw
                   WHERE layer = $1 AND options = $2 AND z = $3 AND x = $4 AND y = $5
                     AND EXISTS (SELECT 1 FROM current WHERE version = $11))
                 INSERT INTO tile_overviews (layer, options, z, x, y, bounds, mvt)
                 SELECT $1, $2, $3, $4, $5, ST_MakeEnvelope($6, $7, $8, $9, 4326), $10
                   FROM current WHERE version = $11
                 ON CONFLICT (layer, options, z, x, y) DO UPDATE SET bounds = EXCLUDED.bounds, mvt = EXCLUDED.mvt",
                &[
                    &key.layer,
                    &key.options,
                    &z,
                    &x,
                    &y,
                    &bounds.min().x,
                    &bounds.min().y,
                    &bounds.max().x,
                    &bounds.max().y,
                    &mvt,
                    &version,
                ],
            )
            .await
            .map_err(pg("keeping a tile layer"))?;
        Ok(kept > 0)
    }

    async fn overviews_to_redraw(&self, options: &str, limit: usize) -> Result<Vec<OverviewKey>, StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM tile_overviews_redraw WHERE options <> $1", &[&options])
            .await
            .map_err(pg("dropping other drawings' redraws"))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT layer, z, x, y FROM tile_overviews_redraw WHERE options = $1 ORDER BY z, x, y, layer LIMIT $2",
                &[&options, &limit],
            )
            .await
            .map_err(pg("reading the tile layers to redraw"))?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                Some(OverviewKey {
                    layer: catalog_layer(r.get(0))?,
                    options: options.to_owned(),
                    z: u8::try_from(r.get::<_, i32>(1)).ok()?,
                    x: u32::try_from(r.get::<_, i64>(2)).ok()?,
                    y: u32::try_from(r.get::<_, i64>(3)).ok()?,
                })
            })
            .collect())
    }

    async fn overview_count(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let n: i64 = client
            .query_one("SELECT count(*) FROM tile_overviews", &[])
            .await
            .map_err(pg("counting kept tile layers"))?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn forget_overviews(&self) -> Result<u64, StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM tile_overviews", &[])
            .await
            .map_err(pg("forgetting the kept tile layers"))
    }
}
