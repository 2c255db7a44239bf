//! Offline packs: one commune's map as a single PMTiles v3 archive.
//!
//! A pack holds, for every zoom from `minzoom` to `maxzoom`, the composite
//! tiles (base map and themes, public fields only) that cover the commune's
//! bounding box, exactly as `/tiles` serves them, gzipped. The page opens a
//! downloaded pack with the PMTiles reader and needs no network for it;
//! `agrimap pack` writes the same archive to a file. `GET /api/packs/{code}.pmtiles`
//! builds it on request: a commune at z10–z16 is a few hundred tiles.

use crate::Core;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::{LayerDef, catalog};
use agrimap_tiles::{TileCoord, tile_containing};
use pmtiles::{Compression, PmTilesWriter, TileType};
use serde_json::json;
use std::io::Cursor;

/// Zooms a pack covers unless asked otherwise: from a commune in view to single parcels.
pub const DEFAULT_MINZOOM: u8 = 10;
pub const DEFAULT_MAXZOOM: u8 = 16;
/// The tiles stop at this zoom (MapLibre over-zooms them beyond).
pub const MAX_ZOOM: u8 = 16;
/// A pack is for one commune; anything far larger is a mistake, not a pack.
pub const MAX_TILES: usize = 20_000;

/// What `agrimap pack` and `/api/packs` produce.
#[derive(Debug)]
pub struct Pack {
    pub commune_code: String,
    pub commune_name: String,
    /// The PMTiles archive.
    pub bytes: Vec<u8>,
    /// Tiles with something in them (empty ones are left out, as PMTiles wants).
    pub tiles: usize,
}

/// The tiles of zooms `minzoom..=maxzoom` covering `bbox` (`[west, south, east, north]`).
fn tiles_covering(bbox: [f64; 4], minzoom: u8, maxzoom: u8) -> Vec<TileCoord> {
    let mut out = Vec::new();
    for z in minzoom..=maxzoom {
        let nw = tile_containing(bbox[0], bbox[3], z);
        let se = tile_containing(bbox[2], bbox[1], z);
        for x in nw.x..=se.x {
            for y in nw.y..=se.y {
                if let Ok(t) = TileCoord::new(z, x, y) {
                    out.push(t);
                }
            }
        }
    }
    out
}

/// Checks a zoom range for a pack.
///
/// # Errors
/// When `minzoom > maxzoom` or `maxzoom` is beyond [`MAX_ZOOM`].
pub fn check_zooms(minzoom: u8, maxzoom: u8) -> Result<(), CoreError> {
    if minzoom > maxzoom || maxzoom > MAX_ZOOM {
        return Err(CoreError::invalid(
            "bad_zoom",
            format!("zooms must satisfy minzoom <= maxzoom <= {MAX_ZOOM}, got {minzoom} to {maxzoom}"),
        ));
    }
    Ok(())
}

/// Builds the pack of one commune (its code, in the 2025 boundary set where it has one).
///
/// # Errors
/// Unknown commune (404), bad zooms or too many tiles (400), store failures.
// `core` and `code`: the names the rest of the crate uses.
#[allow(clippy::similar_names)]
pub async fn commune_pack(
    core: &Core,
    code: &str,
    boundary_set: Option<agrimap_model::BoundarySet>,
    minzoom: u8,
    maxzoom: u8,
) -> Result<Pack, CoreError> {
    check_zooms(minzoom, maxzoom)?;
    let index = core.communes.index(core.store.as_ref()).await?;
    let commune = index
        .get(code, boundary_set)
        .ok_or_else(|| CoreError::not_found("unknown_commune", format!("no commune with code '{}'", echo(code, 32))))?;
    let bbox = commune.bbox.ok_or_else(|| {
        CoreError::new(
            ErrorKind::Unprocessable,
            "empty_commune",
            format!("commune {code} has no boundary to pack"),
        )
    })?;
    let mut coords = tiles_covering(bbox, minzoom, maxzoom);
    if coords.len() > MAX_TILES {
        return Err(CoreError::invalid(
            "pack_too_large",
            format!(
                "commune {code} from z{minzoom} to z{maxzoom} is {} tiles, more than {MAX_TILES}; lower maxzoom",
                coords.len()
            ),
        ));
    }
    // In tile-id order (zoom, then Hilbert curve), as PMTiles readers expect.
    coords.sort_by_key(|t| pmtiles::TileId::from(to_pmtiles(*t)).value());

    let layers: Vec<&'static LayerDef> = catalog().iter().collect();
    let [west, south, east, north] = bbox;
    let center = commune
        .center
        .unwrap_or([f64::midpoint(west, east), f64::midpoint(south, north)]);
    let metadata = json!({
        "name": format!("agrimap: {}", commune.name),
        "description": format!("Offline pack of commune {} ({}), zooms {minzoom}-{maxzoom}", commune.name, commune.code),
        "agrimap:commune": { "code": commune.code, "name": commune.name, "boundary_set": commune.boundary_set },
        "vector_layers": layers.iter().map(|l| json!({ "id": l.id, "minzoom": l.minzoom, "maxzoom": MAX_ZOOM })).collect::<Vec<_>>(),
    });
    let mut archive = Cursor::new(Vec::new());
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .precompressed(Compression::Gzip)
        .min_zoom(minzoom)
        .max_zoom(maxzoom)
        .bounds(west, south, east, north)
        .center(center[0], center[1])
        .center_zoom(minzoom.max(13).min(maxzoom))
        .metadata(metadata.to_string())
        .create(&mut archive)
        .map_err(pack_failed)?;
    let mut tiles = 0;
    for coord in coords {
        let body = core.tiles.render(&layers, coord).await?;
        if !body.is_empty() {
            writer.add_tile(to_pmtiles(coord), &body.gzip).map_err(pack_failed)?;
            tiles += 1;
        }
    }
    writer.finalize().map_err(pack_failed)?;
    let bytes = archive.into_inner();
    Ok(Pack {
        commune_code: commune.code.clone(),
        commune_name: commune.name.clone(),
        bytes,
        tiles,
    })
}

fn to_pmtiles(t: TileCoord) -> pmtiles::TileCoord {
    pmtiles::TileCoord::new(t.z, t.x, t.y).expect("a valid tile is a valid PMTiles tile")
}

fn pack_failed(e: impl std::fmt::Display) -> CoreError {
    CoreError::internal("pack_failed", format!("the pack could not be written: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bbox_is_covered_at_every_zoom() {
        // Mỹ Xương's box in the demo province.
        let tiles = tiles_covering([105.838, 10.153, 105.902, 10.199], 10, 16);
        for z in 10..=16 {
            assert!(tiles.iter().any(|t| t.z == z), "no tile at z{z}");
        }
        // One z10 tile; at z16 the box is about 12 by 9 tiles.
        assert_eq!(tiles.iter().filter(|t| t.z == 10).count(), 1);
        let z16 = tiles.iter().filter(|t| t.z == 16).count();
        assert!((100..=200).contains(&z16), "{z16}");
    }

    #[test]
    fn zooms_are_checked() {
        assert!(check_zooms(10, 16).is_ok());
        assert!(check_zooms(16, 16).is_ok());
        assert_eq!(check_zooms(12, 10).map_err(|e| e.code), Err("bad_zoom"));
        assert_eq!(check_zooms(10, 17).map_err(|e| e.code), Err("bad_zoom"));
    }
}
