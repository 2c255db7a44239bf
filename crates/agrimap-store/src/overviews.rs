//! Kept tile layers ("overviews"): the encoded layer of a coalesced tile,
//! kept by the store until a write touches the tile's area.
//!
//! Below the legible zoom a tile coalesces every parcel it reaches: some
//! 200,000 rows for a tile at z11 of a large province, about a second to
//! read and merge, however small the result. The result depends only on the
//! geometry and class of those rows, so it is kept beside them and forgotten
//! by the layer's own triggers, in the writing transaction, for exactly the
//! tiles whose buffered bounds the old or the new geometry reaches. A write
//! anywhere else leaves the other tiles' layers in place, so a province that
//! edits every day still serves its low zooms from what it kept.
//!
//! What a write forgets is listed for drawing again
//! ([`OverviewStore::overviews_to_redraw`]): the server draws those tiles'
//! coalesced layers in the background right after the write, so the first
//! farmer to look at an edited area at a low zoom finds them kept. Keeping a
//! layer takes it off the list.
//!
//! A write does not forget a tile's edges: the store keeps, beside the
//! encoded layer, the layer's merged edges on the tile grid
//! ([`OverviewStore::overview_edges`]), and the layer's triggers add the
//! old and new versions of every feature a write changes to the changes of
//! each tile whose edges it reaches. So the tile is drawn again from its
//! edges and a few features (edges walked both ways cancel: taking a
//! feature away is adding its rings reversed), not from every parcel, and
//! the changes are then folded into the edges
//! ([`OverviewStore::fold_overview_edges`]).
//!
//! A render keeps what it made only if the layer's change counter is still
//! the one it read before it queried the features ([`OverviewStore::keep_overview`]):
//! a write that committed in between may have forgotten tiles the render
//! had not yet kept. The check and the insert hold the counter's row (a
//! share lock in PostGIS; the single writer in the GeoPackage) so that a
//! write cannot slip between them.

use crate::StoreError;
use agrimap_model::{Feature, FieldType, LayerDef, UtcTime, Value};
use geo::{Geometry, Rect};

/// Which kept layer: a layer of one tile, drawn with one set of options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OverviewKey {
    pub layer: &'static str,
    /// A fingerprint of how the tile was drawn (extent, buffer,
    /// simplification, coalescing options and the encoder's own version):
    /// tiles drawn differently never share a kept layer.
    pub options: String,
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

/// The kept tile layers of a store.
#[async_trait::async_trait]
pub trait OverviewStore: Send + Sync + 'static {
    /// The encoded layer kept for `key`, unless a write has touched the
    /// tile's area since it was kept.
    async fn overview(&self, key: &OverviewKey) -> Result<Option<Vec<u8>>, StoreError>;

    /// Keeps `mvt` (the encoded layer, possibly empty) for `key`, over the
    /// tile's buffered `bounds` (longitude/latitude), if the layer's change
    /// counter is still `version`. Returns whether it was kept.
    async fn keep_overview(
        &self,
        key: &OverviewKey,
        bounds: Rect<f64>,
        version: u64,
        mvt: &[u8],
    ) -> Result<bool, StoreError>;

    /// The edges kept for `key`'s tile (see [`OverviewStore::keep_overview_edges`]),
    /// with the features written over the tile since, read at one instant.
    async fn overview_edges(&self, key: &OverviewKey) -> Result<Option<KeptEdges>, StoreError>;

    /// Keeps a tile layer's `edges`, drawn from every feature the layer held
    /// at `version`, in place of any kept before (and their changes), if
    /// the layer's change counter is still `version`; whether they were kept.
    async fn keep_overview_edges(
        &self,
        key: &OverviewKey,
        bounds: Rect<f64>,
        version: u64,
        edges: &[u8],
    ) -> Result<bool, StoreError>;

    /// Replaces the edges of `generation` (as read by
    /// [`OverviewStore::overview_edges`]) by `edges`, those edges with the
    /// changes `folded` merged in, and drops those changes; nothing when
    /// the edges were replaced since. Whether it folded.
    async fn fold_overview_edges(
        &self,
        key: &OverviewKey,
        generation: i64,
        edges: &[u8],
        folded: &[i64],
    ) -> Result<bool, StoreError>;

    /// Kept layers drawn with `options` that writes have forgotten and
    /// nothing has kept again since, to draw again: at most `limit`, lowest
    /// zoom first. Entries of other drawings are dropped (nothing serves
    /// them any more).
    async fn overviews_to_redraw(&self, options: &str, limit: usize) -> Result<Vec<OverviewKey>, StoreError>;

    /// How many tile layers the store keeps (operators, tests).
    async fn overview_count(&self) -> Result<u64, StoreError>;

    /// Forgets every kept tile layer, and their edges; returns how many
    /// layers there were. (The
    /// triggers make this unnecessary for correctness; it measures the first
    /// draw of every tile again, and frees the space.)
    async fn forget_overviews(&self) -> Result<u64, StoreError>;

    /// Takes the lease `name` for `holder` until `until`, or renews it;
    /// false while another holder's lease runs past `now`. Several servers
    /// over one store so do once what needs doing once (keeping the tiles
    /// ahead), and one takes it up when the holder stops renewing.
    async fn take_lease(&self, name: &str, holder: &str, now: UtcTime, until: UtcTime) -> Result<bool, StoreError>;

    /// Ends `holder`'s lease `name`, if it holds it.
    async fn end_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// The catalog's name of a layer read back from the store (keys hold
/// `&'static str`); `None` for a layer the catalog no longer has.
pub(crate) fn catalog_layer(name: &str) -> Option<&'static str> {
    agrimap_model::layer(name).map(|l| l.id)
}

/// A tile layer's kept edges and the writes over its tile since.
#[derive(Debug, Clone)]
pub struct KeptEdges {
    /// What `CoalescedLayer::kept_edges` wrote (agrimap-tiles).
    pub edges: Vec<u8>,
    /// Which keeping of the edges these are (see [`OverviewStore::fold_overview_edges`]).
    pub generation: i64,
    /// In the order they were written (the order does not matter to the union).
    pub changes: Vec<EdgeChange>,
}

/// One feature version a write took away from a tile, or added to it.
#[derive(Debug, Clone)]
pub struct EdgeChange {
    pub id: i64,
    /// The version a write replaced or deleted; else the one it wrote.
    pub removed: bool,
    /// Its geometry and class fields (every other field null).
    pub feature: Feature,
}

/// A change as the stores hold it, read back: its geometry (as decoded) and
/// its class fields by name (JSON text), made into a feature of `layer`
/// (id 0: a merged shape carries none).
pub(crate) fn edge_change(
    layer: &LayerDef,
    id: i64,
    removed: bool,
    geometry: Result<Geometry<f64>, crate::wkb::WkbError>,
    class: &str,
) -> Result<EdgeChange, StoreError> {
    let geometry = geometry.map_err(|e| StoreError::Corrupt(format!("a kept tile change: {e}")))?;
    let class: serde_json::Value =
        serde_json::from_str(class).map_err(|e| StoreError::Corrupt(format!("a kept tile change's class: {e}")))?;
    let mut properties = vec![Value::Null; layer.fields.len()];
    for (field, slot) in layer.fields.iter().zip(&mut properties) {
        let Some(value) = class.get(field.name) else { continue };
        *slot = match value {
            serde_json::Value::String(s) => Value::Text(s.clone()),
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) if field.ty == FieldType::Integer => {
                n.as_i64().map_or(Value::Null, Value::Int)
            }
            serde_json::Value::Number(n) => n.as_f64().map_or(Value::Null, Value::Real),
            _ => Value::Null,
        };
    }
    Ok(EdgeChange {
        id,
        removed,
        feature: Feature {
            id: 0,
            geometry,
            properties,
        },
    })
}
