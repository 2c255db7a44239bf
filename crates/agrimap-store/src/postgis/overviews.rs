//! Kept tile layers in PostGIS ([`crate::overviews`]); the table and the
//! triggers that forget them are migration 0015, the list of what they
//! forgot 0018, the kept edges and the changes since 0019. They live on the primary:
//! a replica's copy could be behind the write that forgot it.

use super::{PgStore, pg};
use crate::StoreError;
use crate::overviews::{KeptEdges, OverviewKey, OverviewStore, catalog_layer, edge_change};
use crate::wkb::read_wkb;
use agrimap_model::UtcTime;
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

    async fn overview_edges(&self, key: &OverviewKey) -> Result<Option<KeptEdges>, StoreError> {
        let Some(layer) = agrimap_model::layer(key.layer) else {
            return Ok(None);
        };
        let (z, x, y) = tile_numbers(key);
        let client = self.client().await?;
        // One statement, one snapshot: the edges and exactly the changes
        // not yet folded into them.
        let rows = client
            .query(
                "SELECT generation, edges, NULL::bigint, NULL::boolean, NULL::bytea, NULL::text
                   FROM tile_overview_edges
                  WHERE layer = $1 AND options = $2 AND z = $3 AND x = $4 AND y = $5
                 UNION ALL
                 SELECT NULL, NULL, id, removed, ST_AsBinary(geom), class::text
                   FROM tile_overview_changes
                  WHERE layer = $1 AND options = $2 AND z = $3 AND x = $4 AND y = $5",
                &[&key.layer, &key.options, &z, &x, &y],
            )
            .await
            .map_err(pg("reading a tile layer's kept edges"))?;
        let mut kept = None;
        let mut changes = Vec::new();
        for row in &rows {
            if let Some(generation) = row.get::<_, Option<i64>>(0) {
                kept = Some((generation, row.get::<_, Vec<u8>>(1)));
                continue;
            }
            changes.push(edge_change(
                layer,
                row.get(2),
                row.get(3),
                read_wkb(row.get(4)),
                row.get(5),
            )?);
        }
        changes.sort_by_key(|c| c.id);
        Ok(kept.map(|(generation, edges)| KeptEdges {
            edges,
            generation,
            changes,
        }))
    }

    async fn keep_overview_edges(
        &self,
        key: &OverviewKey,
        bounds: Rect<f64>,
        version: u64,
        edges: &[u8],
    ) -> Result<bool, StoreError> {
        let (z, x, y) = tile_numbers(key);
        let version = i64::try_from(version).unwrap_or(-1);
        let client = self.client().await?;
        // Under the counter's share lock, as `keep_overview`: a write that
        // committed since `version` may have changed features the edges
        // were drawn without, and no change of it would be listed. Changes
        // listed before are in the edges: they go.
        let kept = client
            .query_one(
                "WITH current AS (
                   SELECT version FROM agrimap_layer_version WHERE layer = $1 FOR SHARE),
                 kept AS (
                   INSERT INTO tile_overview_edges (layer, options, z, x, y, bounds, edges)
                   SELECT $1, $2, $3, $4, $5, ST_MakeEnvelope($6, $7, $8, $9, 4326), $10
                     FROM current WHERE version = $11
                   ON CONFLICT (layer, options, z, x, y) DO UPDATE
                     SET bounds = EXCLUDED.bounds, edges = EXCLUDED.edges,
                         generation = tile_overview_edges.generation + 1
                   RETURNING 1),
                 folded AS (
                   DELETE FROM tile_overview_changes
                   WHERE layer = $1 AND options = $2 AND z = $3 AND x = $4 AND y = $5
                     AND EXISTS (SELECT 1 FROM kept))
                 SELECT EXISTS (SELECT 1 FROM kept)",
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
                    &edges,
                    &version,
                ],
            )
            .await
            .map_err(pg("keeping a tile layer's edges"))?;
        Ok(kept.get(0))
    }

    async fn fold_overview_edges(
        &self,
        key: &OverviewKey,
        generation: i64,
        edges: &[u8],
        folded: &[i64],
    ) -> Result<bool, StoreError> {
        let (z, x, y) = tile_numbers(key);
        let client = self.client().await?;
        let row = client
            .query_one(
                "WITH folded AS (
                   UPDATE tile_overview_edges SET edges = $6, generation = generation + 1
                   WHERE layer = $1 AND options = $2 AND z = $3 AND x = $4 AND y = $5 AND generation = $7
                   RETURNING 1),
                 dropped AS (
                   DELETE FROM tile_overview_changes WHERE id = ANY($8) AND EXISTS (SELECT 1 FROM folded))
                 SELECT EXISTS (SELECT 1 FROM folded)",
                &[&key.layer, &key.options, &z, &x, &y, &edges, &generation, &folded],
            )
            .await
            .map_err(pg("folding changes into a tile layer's edges"))?;
        Ok(row.get(0))
    }

    async fn overviews_to_redraw(&self, options: &str, limit: usize) -> Result<Vec<OverviewKey>, StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM tile_overviews_redraw WHERE options <> $1", &[&options])
            .await
            .map_err(pg("dropping other drawings' redraws"))?;
        // Edges of other drawings would only gather changes nothing folds.
        client
            .execute("DELETE FROM tile_overview_edges WHERE options <> $1", &[&options])
            .await
            .map_err(pg("dropping other drawings' edges"))?;
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
            .execute("DELETE FROM tile_overview_edges", &[])
            .await
            .map_err(pg("forgetting the kept tile layers' edges"))?;
        client
            .execute("DELETE FROM tile_overviews", &[])
            .await
            .map_err(pg("forgetting the kept tile layers"))
    }

    async fn take_lease(&self, name: &str, holder: &str, now: UtcTime, until: UtcTime) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let taken = client
            .query_opt(
                "INSERT INTO agrimap_leases AS l (name, holder, until) VALUES ($1, $2, $4::text::timestamptz)
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
                 WHERE l.holder = EXCLUDED.holder OR l.until <= $3::text::timestamptz
                 RETURNING 1",
                &[&name, &holder, &now.to_string(), &until.to_string()],
            )
            .await
            .map_err(pg("taking a lease"))?;
        Ok(taken.is_some())
    }

    async fn end_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM agrimap_leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await
            .map_err(pg("ending a lease"))?;
        Ok(())
    }
}
