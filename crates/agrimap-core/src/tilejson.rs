//! TileJSON 3.0.0 for a list of layers: where their tiles are, the zooms
//! they are drawn at, their extent, and their public fields.

use crate::Core;
use crate::error::CoreError;
use agrimap_model::{Audience, LayerDef};

/// The TileJSON of the tiles of `layers` (`spec`, as the tile URLs name
/// them) served from `origin` (`http://host:port`).
///
/// # Errors
/// The store's.
pub async fn tilejson(
    core: &Core,
    spec: &str,
    layers: &[&'static LayerDef],
    origin: &str,
) -> Result<serde_json::Value, CoreError> {
    let bounds = layers_extent(core, layers).await?;
    let minzoom = layers.iter().map(|l| l.minzoom).min().unwrap_or(0);
    let maxzoom = layers.iter().map(|l| l.maxzoom).max().unwrap_or(16);
    let mut doc = serde_json::json!({
        "tilejson": "3.0.0",
        "name": format!("agrimap: {spec}"),
        "scheme": "xyz",
        "tiles": [format!("{origin}/tiles/{spec}/{{z}}/{{x}}/{{y}}.mvt")],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "vector_layers": layers.iter().map(|l| vector_layer(l)).collect::<Vec<_>>(),
    });
    if let Some(b) = bounds {
        let c = b.center();
        doc["bounds"] = serde_json::json!([b.min().x, b.min().y, b.max().x, b.max().y]);
        doc["center"] = serde_json::json!([c.x, c.y, minzoom.max(9)]);
    }
    Ok(doc)
}

/// The box holding every feature of `layers` (the layers' extents, kept
/// until a layer changes); `None` when they are all empty.
///
/// # Errors
/// The store's.
pub async fn layers_extent(core: &Core, layers: &[&'static LayerDef]) -> Result<Option<geo::Rect<f64>>, CoreError> {
    let versions = core.store.versions().await?;
    let mut bounds: Option<geo::Rect<f64>> = None;
    for layer in layers {
        if let Some(r) = core.extents.get(core.store.as_ref(), layer, &versions).await? {
            bounds = Some(bounds.map_or(r, |b| {
                geo::Rect::new(
                    geo::coord! { x: b.min().x.min(r.min().x), y: b.min().y.min(r.min().y) },
                    geo::coord! { x: b.max().x.max(r.max().x), y: b.max().y.max(r.max().y) },
                )
            }));
        }
    }
    Ok(bounds)
}

/// One `vector_layers` entry: public fields only, described with type and unit.
fn vector_layer(layer: &LayerDef) -> serde_json::Value {
    let fields: serde_json::Map<String, serde_json::Value> = layer
        .readable_fields(Audience::Public)
        .map(|(_, f)| {
            let unit = f.unit.map(|u| format!(" ({u})")).unwrap_or_default();
            (
                f.name.to_owned(),
                format!("{}: {}{unit}", f.ty.tilejson_name(), f.description).into(),
            )
        })
        .collect();
    let mut entry = serde_json::json!({
        "id": layer.id,
        "description": layer.description,
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "fields": fields,
    });
    // Below this zoom a tile holds one merged shape per class carrying the
    // class fields only (TileJSON allows keys of one's own).
    if let Some(c) = layer.coalescing() {
        entry["coalesced"] = serde_json::json!({
            "below_zoom": c.below_zoom,
            "fields": c.class_fields,
        });
    }
    entry
}
