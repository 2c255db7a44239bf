//! Vector tiles: a tile is a cache lookup by (layers, z, x, y, layer versions),
//! else one store query per layer for the tile's bounding box plus buffer, run
//! concurrently (a coalesced layer kept by the store, or merged as its
//! features stream in), then clip, simplify and encode on the blocking pool,
//! gzip, and into the cache ([`TileCache`]).

mod ahead;
mod cache;
mod redraw;

pub use ahead::spawn_keeping_ahead;
pub use cache::{TileBody, TileCache, TileKey};
pub use redraw::{Redrawn, spawn_redrawing};

use crate::error::{CoreError, echo};
use crate::metrics::{CoreMetrics, InFlight};
use agrimap_model::{Audience, Feature, FeatureQuery, LayerDef, UtcTime, catalog};
use agrimap_store::{FeatureStream, KeptEdges, LayerVersions, OverviewKey, Store};
use agrimap_tiles::{
    CoalescedLayer, TileCoord, TileOptions, coalescing_at, encode_tile, tile_bounds, tile_bounds_buffered,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::future::try_join_all;
use geo::BoundingRect;
use prometheus_client::metrics::counter::Counter;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Makes and caches the tiles of one store.
pub struct TileService {
    store: Arc<dyn Store>,
    cache: TileCache,
    options: TileOptions,
    metrics: CoreMetrics,
}

impl TileService {
    /// A service over `store` keeping about `cache_bytes` of tiles.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, cache_bytes: u64, metrics: CoreMetrics) -> Self {
        Self {
            store,
            metrics,
            cache: TileCache::new(cache_bytes),
            options: served_options(),
        }
    }

    /// The same service drawing tiles with `options` (benchmarks compare
    /// ways of drawing on one store).
    #[must_use]
    pub fn with_options(mut self, options: TileOptions) -> Self {
        self.options = options;
        self
    }

    /// The identity of a tile at the layers' current versions (what its
    /// entity tag is made of), without making it.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn key(&self, layers: &[&'static LayerDef], coord: TileCoord) -> Result<TileKey, CoreError> {
        self.key_as_of(layers, coord, None).await
    }

    /// The identity of a tile of the layers as they stood at `as_of` (see
    /// [`crate::features::as_of`]; `None`: now). The layers' versions are
    /// part of it either way: a write may bring in or correct the past.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn key_as_of(
        &self,
        layers: &[&'static LayerDef],
        coord: TileCoord,
        as_of: Option<UtcTime>,
    ) -> Result<TileKey, CoreError> {
        let versions = self.store.versions().await?;
        Ok(TileKey {
            layers: layers.iter().map(|l| l.id).collect::<Vec<_>>().join(","),
            z: coord.z,
            x: coord.x,
            y: coord.y,
            versions: versions_of(layers, &versions),
            // Layers without versions read the same at every time: a key
            // without them shares their tiles.
            as_of: as_of.filter(|_| layers.iter().any(|l| l.versioned())),
        })
    }

    /// The tile named by `key` (from [`Self::key`]), from the cache or made
    /// now; made once however many ask for it at the same time.
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn tile_at(
        &self,
        key: &TileKey,
        layers: &[&'static LayerDef],
        coord: TileCoord,
    ) -> Result<TileBody, CoreError> {
        let rendered = AtomicBool::new(false);
        let body = self
            .cache
            .get_or_render(key, async {
                rendered.store(true, Ordering::Relaxed);
                let _in_flight = InFlight::new(&self.metrics.renders_in_flight);
                let body = render(&self.store, &self.metrics, layers, coord, &self.options, key.as_of).await?;
                self.metrics.tile_bytes_rendered.inc_by(body.gzip.len() as u64);
                Ok(body)
            })
            .await;
        if rendered.load(Ordering::Relaxed) {
            self.metrics.tile_cache_misses.inc();
        } else {
            self.metrics.tile_cache_hits.inc();
        }
        body
    }

    /// The tile of `layers` at `coord`, at their current versions.
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn tile(&self, layers: &[&'static LayerDef], coord: TileCoord) -> Result<TileBody, CoreError> {
        let key = self.key(layers, coord).await?;
        self.tile_at(&key, layers, coord).await
    }

    /// Makes the tile now, past the cache: what a cold request costs (the
    /// benchmarks measure this).
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn render(&self, layers: &[&'static LayerDef], coord: TileCoord) -> Result<TileBody, CoreError> {
        render(&self.store, &self.metrics, layers, coord, &self.options, None).await
    }

    /// Makes the tile of the layers as they stood at `as_of` now, past the cache.
    ///
    /// # Errors
    /// When the store fails, or encoding does.
    pub async fn render_as_of(
        &self,
        layers: &[&'static LayerDef],
        coord: TileCoord,
        as_of: Option<UtcTime>,
    ) -> Result<TileBody, CoreError> {
        render(&self.store, &self.metrics, layers, coord, &self.options, as_of).await
    }

    /// How tiles are drawn.
    #[must_use]
    pub fn options(&self) -> &TileOptions {
        &self.options
    }

    /// Bytes the cache holds now.
    #[must_use]
    pub fn cached_bytes(&self) -> u64 {
        self.cache.weight()
    }
}

/// How the server draws tiles unless told otherwise.
#[must_use]
pub fn served_options() -> TileOptions {
    TileOptions {
        // A quarter of a pixel of a 512 px display tile: anything smaller
        // cannot be seen, and dropping it keeps low-zoom tiles light.
        min_polygon_area: 16.0,
        ..TileOptions::default()
    }
}

/// Parses `crop,aquaculture` into catalog layers, in catalog order.
///
/// # Errors
/// `bad_layers` for an empty list or a layer listed twice, `unknown_layer`
/// (not found) for a layer the catalog lacks.
pub fn parse_layers(spec: &str) -> Result<Vec<&'static LayerDef>, CoreError> {
    if spec.is_empty() {
        return Err(CoreError::invalid("bad_layers", "the layer list is empty"));
    }
    let mut layers = Vec::new();
    for id in spec.split(',') {
        let layer = agrimap_model::layer(id).ok_or_else(|| {
            let known: Vec<&str> = catalog().iter().map(|l| l.id).collect();
            CoreError::not_found(
                "unknown_layer",
                format!("unknown layer '{}'; known layers: {}", echo(id, 64), known.join(", ")),
            )
        })?;
        if layers.contains(&layer) {
            return Err(CoreError::invalid(
                "bad_layers",
                format!("layer '{id}' is listed twice"),
            ));
        }
        layers.push(layer);
    }
    layers.sort_by_key(|l| catalog().iter().position(|c| c.id == l.id));
    Ok(layers)
}

/// Parses the `{z}`, `{x}` and `{y}.mvt` segments of a tile path.
///
/// # Errors
/// `bad_tile`: not found without `.mvt`, invalid for a number out of range.
pub fn parse_coord(z: &str, x: &str, y_file: &str) -> Result<TileCoord, CoreError> {
    let y = y_file.strip_suffix(".mvt").ok_or_else(|| {
        CoreError::not_found(
            "bad_tile",
            format!("tile path must end in '{{y}}.mvt', got '{}'", echo(y_file, 64)),
        )
    })?;
    parse_zxy(z, x, y)
}

/// Reads a tile's zoom, column and row (`/ogc` tile paths, without `.mvt`).
///
/// # Errors
/// `bad_tile` for a number that is not one, or a tile off the grid.
pub fn parse_zxy(z: &str, x: &str, y: &str) -> Result<TileCoord, CoreError> {
    let number = |name: &str, s: &str| {
        s.parse::<u32>().map_err(|_| {
            CoreError::invalid(
                "bad_tile",
                format!("{name} must be a non-negative integer, got '{}'", echo(s, 64)),
            )
        })
    };
    let z = u8::try_from(number("z", z)?)
        .map_err(|_| CoreError::invalid("bad_tile", format!("zoom {z} is out of range")))?;
    TileCoord::new(z, number("x", x)?, number("y", y)?).map_err(|e| CoreError::invalid("bad_tile", e.to_string()))
}

/// A weak entity tag naming a tile at its layers' versions.
#[must_use]
pub fn etag(key: &TileKey) -> String {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    format!("W/\"{:016x}\"", h.finish())
}

fn versions_of(layers: &[&'static LayerDef], versions: &LayerVersions) -> Vec<u64> {
    layers
        .iter()
        .map(|l| versions.get(l.id).copied().unwrap_or(0))
        .collect()
}

/// One layer of a tile on its way to the encoder.
enum LayerPart {
    /// The layer's message, encoded: kept by the store, or coalesced as
    /// its features streamed in.
    Encoded(Vec<u8>),
    /// Features to encode one by one.
    Read(Vec<Feature>),
}

/// Renders one tile (see [`draw`]).
async fn render(
    store: &Arc<dyn Store>,
    metrics: &CoreMetrics,
    layers: &[&'static LayerDef],
    coord: TileCoord,
    opts: &TileOptions,
    as_of: Option<UtcTime>,
) -> Result<TileBody, CoreError> {
    Ok(draw(store, metrics, layers, coord, opts, as_of).await?.body)
}

/// A tile drawn, and how many of its layers the store holds after the
/// drawing (kept before, or kept by it).
struct Drawn {
    body: TileBody,
    kept: usize,
}

/// Draws one tile, its layers concurrently: a coalesced layer (below its
/// legible zoom) is the one the store kept for it, if no write has touched
/// it since, else taken up from the edges the store kept and the writes
/// since, else its features streamed into the merged shapes of their
/// classes on the blocking pool; and handed to the store to keep. A dense
/// layer at its first legible zoom is kept whole the same way (no edges:
/// drawn from its features). Any other layer is a query of its features in
/// the tile's bounding box plus buffer, clipped, simplified and encoded on
/// the blocking pool. Then gzip.
async fn draw(
    store: &Arc<dyn Store>,
    metrics: &CoreMetrics,
    layers: &[&'static LayerDef],
    coord: TileCoord,
    opts: &TileOptions,
    as_of: Option<UtcTime>,
) -> Result<Drawn, CoreError> {
    let opts = opts.clone();
    let bbox = tile_bounds_buffered(coord, opts.buffer, opts.extent);
    // A polygon or line that fits inside one tile unit both ways cannot be
    // drawn meaningfully; the store skips it by its R-tree box without reading it.
    let min_extent = tile_bounds(coord).width() / f64::from(opts.extent);
    let visible: Vec<&'static LayerDef> = layers.iter().copied().filter(|l| coord.z >= l.minzoom).collect();
    // Only the present is kept: a past tile is drawn afresh.
    let keeping = as_of.is_none()
        && visible
            .iter()
            .any(|l| coalescing_at(l, coord, &opts).is_some() || kept_whole(l, coord));
    let versions = if keeping {
        store.versions().await?
    } else {
        LayerVersions::new()
    };
    let fingerprint = opts.fingerprint();
    let kept = AtomicUsize::new(0);
    let parts = visible.iter().map(|&layer| {
        let coalescing = coalescing_at(layer, coord, &opts);
        let query = FeatureQuery {
            bbox: Some(bbox),
            min_extent: Some(min_extent),
            any_order: true,
            as_of,
            // A coalesced layer draws its class alone: the other fields of
            // its many rows are left unread.
            fields: coalescing.map(|c| c.class_fields),
            ..FeatureQuery::default()
        };
        let drawing = CoalescedLayer::new(coord, layer, Audience::Public, &opts);
        let keep = (keeping && (drawing.is_some() || kept_whole(layer, coord))).then(|| OverviewKey {
            layer: layer.id,
            options: fingerprint.clone(),
            z: coord.z,
            x: coord.x,
            y: coord.y,
        });
        // The layer's version is read before its features are, so a write
        // in between leaves what is kept stale, never wrong.
        let version = versions.get(layer.id).copied().unwrap_or(0);
        let (store, kept, opts, taken_up) = (store.clone(), &kept, &opts, &metrics.tile_layers_taken_up);
        async move {
            let keeper = keep.map(|key| Keeper {
                store: &store,
                key,
                coord,
                bbox,
                version,
                kept,
            });
            let part = match (drawing, keeper) {
                (None, None) => LayerPart::Read(store.features(layer, &query).await?),
                (None, Some(keeper)) => LayerPart::Encoded(whole_layer(&keeper, layer, query, opts).await?),
                (Some(drawing), None) => {
                    // The past: drawn afresh, kept nowhere.
                    let (mvt, _) = coalesce_streamed(drawing, store.stream(layer, query), false).await?;
                    LayerPart::Encoded(mvt)
                }
                (Some(drawing), Some(keeper)) => {
                    let taken_up_from = (min_extent, taken_up);
                    LayerPart::Encoded(coalesced_layer(&keeper, drawing, query, opts, taken_up_from).await?)
                }
            };
            Ok::<_, CoreError>(part)
        }
    });
    let parts = try_join_all(parts).await?;
    let body = tokio::task::spawn_blocking(move || encode(coord, &visible, parts, &opts))
        .await
        .map_err(|e| CoreError::task_failed("tile_failed", "rendering a tile", &e))?
        .map_err(|e: std::io::Error| CoreError::internal("tile_failed", e.to_string()))?;
    Ok(Drawn {
        body,
        kept: kept.into_inner(),
    })
}

/// What keeping one layer of a tile takes: the store, the key and its tile,
/// the tile's buffered bounds (what the store keeps it under), the layer's version
/// read before its features, and the count of the tile's kept layers.
struct Keeper<'a> {
    store: &'a Arc<dyn Store>,
    key: OverviewKey,
    coord: TileCoord,
    bbox: geo::Rect<f64>,
    version: u64,
    kept: &'a AtomicUsize,
}

impl Keeper<'_> {
    /// The layer as kept, if it is.
    async fn kept(&self) -> Result<Option<Vec<u8>>, CoreError> {
        let mvt = self.store.overview(&self.key).await?;
        if mvt.is_some() {
            self.kept.fetch_add(1, Ordering::Relaxed);
        }
        Ok(mvt)
    }

    /// Hands a drawn layer to the store to keep, if the layer's version is
    /// still the one read. Keeping is an optimisation: a store that cannot
    /// keep (read-only, busy) still served the tile.
    async fn keep(&self, mvt: &[u8]) {
        match self.store.keep_overview(&self.key, self.bbox, self.version, mvt).await {
            Ok(true) => {
                self.kept.fetch_add(1, Ordering::Relaxed);
            }
            Ok(false) => {}
            Err(e) => warn_not_kept(&self.key, "keeping a tile layer", &e),
        }
    }
}

/// A layer the store keeps whole (see [`kept_whole`]): as kept, else its
/// features read, encoded on the blocking pool and kept.
async fn whole_layer(
    keeper: &Keeper<'_>,
    layer: &'static LayerDef,
    query: FeatureQuery,
    opts: &TileOptions,
) -> Result<Vec<u8>, CoreError> {
    if let Some(mvt) = keeper.kept().await? {
        return Ok(mvt);
    }
    let features = keeper.store.features(layer, &query).await?;
    let (opts, coord) = (opts.clone(), keeper.coord);
    let mvt = tokio::task::spawn_blocking(move || encode_layer(coord, layer, features, &opts))
        .await
        .map_err(|e| CoreError::task_failed("tile_failed", "encoding a tile layer", &e))?;
    keeper.keep(&mvt).await;
    Ok(mvt)
}

/// A coalesced layer of the present: as kept; else taken up from the edges
/// the store kept and the writes since (counted in `taken_up`; changed
/// features under `min_extent` skipped, as the store's query skips them);
/// else drawn from every feature, and its edges kept. Then kept.
async fn coalesced_layer(
    keeper: &Keeper<'_>,
    drawing: CoalescedLayer<'static>,
    query: FeatureQuery,
    opts: &TileOptions,
    (min_extent, taken_up): (f64, &Counter),
) -> Result<Vec<u8>, CoreError> {
    if let Some(mvt) = keeper.kept().await? {
        return Ok(mvt);
    }
    let (store, key, layer) = (keeper.store, &keeper.key, drawing.layer());
    let resumed = match store.overview_edges(key).await? {
        Some(edges) => resume(keeper, layer, opts, edges, min_extent).await?,
        None => None,
    };
    let mvt = if let Some(mvt) = resumed {
        taken_up.inc();
        mvt
    } else {
        let (mvt, edges) = coalesce_streamed(drawing, store.stream(layer, query), true).await?;
        let edges = edges.unwrap_or_default();
        if let Err(e) = store
            .keep_overview_edges(key, keeper.bbox, keeper.version, &edges)
            .await
        {
            warn_not_kept(key, "keeping a tile layer's edges", &e);
        }
        mvt
    };
    keeper.keep(&mvt).await;
    Ok(mvt)
}

/// Whether the store keeps `layer`'s tile at `coord` whole (drawn feature by
/// feature): a dense layer at its first legible zoom, where a tile holds
/// some 17,000 parcels with their public fields, about 100 ms to read.
fn kept_whole(layer: &LayerDef, coord: TileCoord) -> bool {
    layer.coalescing().is_some_and(|c| coord.z == c.below_zoom)
}

fn warn_not_kept(key: &OverviewKey, what: &str, cause: &agrimap_store::StoreError) {
    tracing::warn!(layer = key.layer, z = key.z, x = key.x, y = key.y, %cause, "{what} failed");
}

/// Merges a coalesced layer's features into their classes' shapes as the
/// store streams them, on the blocking pool: a dense tile holds their edges
/// on the grid, never the features (a z11 tile of a province reaches a few
/// hundred thousand parcels). With `keeping`, also the edges for the store
/// to keep.
async fn coalesce_streamed(
    mut drawing: CoalescedLayer<'static>,
    features: FeatureStream,
    keeping: bool,
) -> Result<(Vec<u8>, Option<Vec<u8>>), CoreError> {
    tokio::task::spawn_blocking(move || {
        for feature in futures::executor::block_on_stream(features) {
            drawing.add(&feature?);
        }
        let edges = keeping.then(|| drawing.kept_edges());
        Ok((drawing.finish(), edges))
    })
    .await
    .map_err(|e| CoreError::task_failed("tile_failed", "coalescing a tile layer", &e))?
}

/// A coalesced layer taken up from the edges the store kept for its tile
/// and the writes over the tile since (their old versions taken away, their
/// new ones added), on the blocking pool, and the changes then folded into
/// the kept edges; `None` when the edges are not of this drawing (draw the
/// layer afresh). The same bytes as a drawing of every feature: edges
/// walked both ways cancel, whatever the order.
async fn resume(
    keeper: &Keeper<'_>,
    layer: &'static LayerDef,
    opts: &TileOptions,
    kept: KeptEdges,
    min_extent: f64,
) -> Result<Option<Vec<u8>>, CoreError> {
    let (opts, coord) = (opts.clone(), keeper.coord);
    let folded: Vec<i64> = kept.changes.iter().map(|c| c.id).collect();
    let generation = kept.generation;
    let drawn = tokio::task::spawn_blocking(move || {
        let mut drawing = CoalescedLayer::resume(coord, layer, Audience::Public, &opts, &kept.edges)?;
        // What the store's tile query would have skipped (see `draw`) is
        // skipped here too.
        let drawable = |f: &Feature| {
            f.geometry
                .bounding_rect()
                .is_some_and(|r| r.width() >= min_extent || r.height() >= min_extent)
        };
        for change in kept.changes.iter().filter(|c| drawable(&c.feature)) {
            if change.removed {
                drawing.remove(&change.feature);
            } else {
                drawing.add(&change.feature);
            }
        }
        let edges = (!kept.changes.is_empty()).then(|| drawing.kept_edges());
        Some((drawing.finish(), edges))
    })
    .await
    .map_err(|e| CoreError::task_failed("tile_failed", "taking up a kept tile layer", &e))?;
    let Some((mvt, edges)) = drawn else {
        return Ok(None);
    };
    if let Some(edges) = edges
        && let Err(e) = keeper
            .store
            .fold_overview_edges(&keeper.key, generation, &edges, &folded)
            .await
    {
        warn_not_kept(&keeper.key, "folding changes into a tile layer's edges", &e);
    }
    Ok(Some(mvt))
}

/// Encodes each layer (or takes the encoded one), in order, into one tile.
fn encode(
    coord: TileCoord,
    visible: &[&'static LayerDef],
    parts: Vec<LayerPart>,
    opts: &TileOptions,
) -> std::io::Result<TileBody> {
    let mut mvt = Vec::new();
    for (&layer, part) in visible.iter().zip(parts) {
        match part {
            LayerPart::Encoded(encoded) => mvt.extend_from_slice(&encoded),
            LayerPart::Read(features) => mvt.extend_from_slice(&encode_layer(coord, layer, features, opts)),
        }
    }
    Ok(if mvt.is_empty() {
        TileBody::default()
    } else {
        TileBody {
            gzip: gzip(&mvt)?.into(),
            plain: mvt.into(),
        }
    })
}

/// One layer of features, encoded as a tile's message.
fn encode_layer(coord: TileCoord, layer: &'static LayerDef, mut features: Vec<Feature>, opts: &TileOptions) -> Vec<u8> {
    // The stores return rows in any order (a sort in the database can
    // spill to disk on a big tile); sorting here keeps tiles identical
    // whatever the store and its physical row order.
    features.sort_unstable_by_key(|f| f.id);
    // A tile is its layers' messages one after another, so each layer is
    // encoded on its own and the bytes are the same as when encoded together.
    encode_tile(coord, &[(layer, &features)], Audience::Public, opts)
}

fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = GzEncoder::new(Vec::with_capacity(data.len() / 3), Compression::default());
    enc.write_all(data)?;
    enc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn layer_lists_are_checked_and_put_in_catalog_order() {
        let ids = |s| parse_layers(s).map(|v| v.iter().map(|l| l.id).collect::<Vec<_>>());
        assert_eq!(ids("ocop,crop").expect("ok"), vec!["crop", "ocop"]);
        assert_eq!(ids("crop,nope").expect_err("unknown").kind, ErrorKind::NotFound);
        assert_eq!(ids("crop,crop").expect_err("twice").kind, ErrorKind::Invalid);
        assert_eq!(ids("").expect_err("empty").kind, ErrorKind::Invalid);
    }

    #[test]
    fn tile_coordinates_are_checked() {
        assert!(parse_coord("14", "13000", "7600.mvt").is_ok());
        assert_eq!(parse_coord("3", "8", "0.mvt").expect_err("x").kind, ErrorKind::Invalid);
        assert_eq!(parse_coord("-1", "0", "0.mvt").expect_err("z").kind, ErrorKind::Invalid);
        assert_eq!(
            parse_coord("300", "0", "0.mvt").expect_err("z").kind,
            ErrorKind::Invalid
        );
        assert_eq!(
            parse_coord("3", "0", "0.png").expect_err("ext").kind,
            ErrorKind::NotFound
        );
    }
}
