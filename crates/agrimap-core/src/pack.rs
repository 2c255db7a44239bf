//! Packs: a commune's or a whole province's map as a single PMTiles v3 archive.
//!
//! A pack holds, for every zoom from `minzoom` to `maxzoom`, the composite
//! tiles (base map and themes, public fields only) that cover the place,
//! exactly as `/tiles` serves them, gzipped.
//!
//! - A commune's pack is an offline pack: the page opens a downloaded one with
//!   the PMTiles reader and needs no network for it. `GET /api/packs/{code}.pmtiles`
//!   builds it on request (a commune at z10–z16 is a few hundred tiles) and
//!   `agrimap pack --commune` writes the same archive to a file.
//! - A province's pack (`agrimap pack --province`) is how a province publishes
//!   its map: one file on any static server or CDN that answers range
//!   requests, which the page opens with `?pmtiles=URL`. It is streamed to
//!   its file tile by tile, never held in memory.

use crate::Core;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::{LayerDef, catalog};
use agrimap_tiles::{TileCoord, tile_containing};
use futures::{StreamExt, stream};
use pmtiles::{Compression, PmTilesWriter, TileType};
use serde_json::json;
use std::io::{Cursor, Seek, Write};

/// Zooms a pack covers unless asked otherwise: from a commune in view to single parcels.
pub const DEFAULT_MINZOOM: u8 = 10;
pub const DEFAULT_MAXZOOM: u8 = 16;
/// Zooms of a province's pack unless asked otherwise: from the province in
/// view to parcels legible (the map over-zooms z14 well enough for a page
/// published without a server).
pub const PROVINCE_MINZOOM: u8 = 6;
pub const PROVINCE_MAXZOOM: u8 = 14;
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
    let coords = tiles_covering(bbox, minzoom, maxzoom);
    if coords.len() > MAX_TILES {
        return Err(CoreError::invalid(
            "pack_too_large",
            format!(
                "commune {code} from z{minzoom} to z{maxzoom} is {} tiles, more than {MAX_TILES}; lower maxzoom",
                coords.len()
            ),
        ));
    }
    let area = PackArea {
        title: format!("commune {} ({})", commune.name, commune.code),
        bbox,
        center: commune.center,
        about: json!({ "agrimap:commune": { "code": commune.code, "name": commune.name, "boundary_set": commune.boundary_set } }),
    };
    let mut archive = Cursor::new(Vec::new());
    let tiles = write_archive(core, &area, coords, minzoom, maxzoom, &mut archive, &mut |_| {}).await?;
    Ok(Pack {
        commune_code: commune.code.clone(),
        commune_name: commune.name.clone(),
        bytes: archive.into_inner(),
        tiles,
    })
}

/// What [`province_pack`] wrote.
#[derive(Debug)]
pub struct ProvincePack {
    pub province_code: String,
    pub province_name: Option<String>,
    pub boundary_set: String,
    /// Tiles with something in them.
    pub tiles: usize,
    /// Tiles looked at (those of the province's box).
    pub tiles_considered: usize,
}

/// How far [`province_pack`] has come, for a progress line.
#[derive(Debug, Clone, Copy)]
pub struct PackProgress {
    pub zoom: u8,
    pub done: usize,
    pub total: usize,
}

/// Writes a whole province (its communes in `boundary_set`, by default the
/// newest set that has it) as one PMTiles archive into `out`, tile by tile, so that
/// a province of millions of parcels never sits in memory: this is the file a
/// province publishes on any static server or CDN that answers range
/// requests, and that the map page opens with `?pmtiles=URL`.
///
/// # Errors
/// Unknown province or bad zooms (400), a province without boundaries (422),
/// store failures, and failures writing `out`.
// `core` and `code`: the names the rest of the crate uses.
#[allow(clippy::similar_names)]
pub async fn province_pack<W: Write + Seek + Send>(
    core: &Core,
    code: &str,
    boundary_set: Option<agrimap_model::BoundarySet>,
    minzoom: u8,
    maxzoom: u8,
    out: W,
    progress: &mut (dyn FnMut(PackProgress) + Send),
) -> Result<ProvincePack, CoreError> {
    check_zooms(minzoom, maxzoom)?;
    let index = core.communes.index(core.store.as_ref()).await?;
    if let Some(set) = boundary_set {
        index.resolve_set(Some(set))?;
    }
    index.known_province(code, boundary_set)?;
    // Without a set, the newest one that has the province: a store may hold
    // a province only before the reform.
    let held = index
        .provinces_held()
        .into_iter()
        .find(|p| p.code == code && boundary_set.is_none_or(|set| p.boundary_set == set.as_str()))
        .ok_or_else(|| {
            CoreError::new(
                ErrorKind::Unprocessable,
                "empty_province",
                format!("province {code} has no commune boundaries to pack"),
            )
        })?;
    // The whole box, like a commune's pack: a published map has no holes
    // where the province's outline is concave.
    let coords = tiles_covering(held.bbox, minzoom, maxzoom);
    let tiles_considered = coords.len();
    let name = held.name.clone().unwrap_or_else(|| held.code.clone());
    let [west, south, east, north] = held.bbox;
    let area = PackArea {
        title: format!("province {name} ({code})"),
        bbox: held.bbox,
        center: Some([f64::midpoint(west, east), f64::midpoint(south, north)]),
        about: json!({ "agrimap:province": { "code": held.code, "name": held.name, "boundary_set": held.boundary_set } }),
    };
    let tiles = write_archive(core, &area, coords, minzoom, maxzoom, out, progress).await?;
    Ok(ProvincePack {
        province_code: held.code,
        province_name: held.name,
        boundary_set: held.boundary_set,
        tiles,
        tiles_considered,
    })
}

/// The place a pack is of, for its header and metadata.
struct PackArea {
    /// "commune Mỹ Xương (33030)".
    title: String,
    bbox: [f64; 4],
    center: Option<[f64; 2]>,
    /// Merged into the archive's metadata.
    about: serde_json::Value,
}

/// Renders `coords` (any order) and writes them as a PMTiles archive into
/// `out`; returns the number of tiles written (empty ones are left out).
async fn write_archive<W: Write + Seek + Send>(
    core: &Core,
    area: &PackArea,
    mut coords: Vec<TileCoord>,
    minzoom: u8,
    maxzoom: u8,
    out: W,
    progress: &mut (dyn FnMut(PackProgress) + Send),
) -> Result<usize, CoreError> {
    // In tile-id order (zoom, then Hilbert curve), as PMTiles readers expect.
    coords.sort_by_key(|t| pmtiles::TileId::from(to_pmtiles(*t)).value());
    let layers: Vec<&'static LayerDef> = catalog().iter().collect();
    let [west, south, east, north] = area.bbox;
    let center = area
        .center
        .unwrap_or([f64::midpoint(west, east), f64::midpoint(south, north)]);
    let mut metadata = json!({
        "name": format!("agrimap: {}", area.title),
        "description": format!("Map of {}, zooms {minzoom}-{maxzoom}", area.title),
        "vector_layers": layers.iter().map(|l| json!({ "id": l.id, "minzoom": l.minzoom, "maxzoom": MAX_ZOOM })).collect::<Vec<_>>(),
    });
    if let (Some(meta), Some(about)) = (metadata.as_object_mut(), area.about.as_object()) {
        meta.extend(about.clone());
    }
    let mut writer = PmTilesWriter::new(TileType::Mvt)
        .precompressed(Compression::Gzip)
        .min_zoom(minzoom)
        .max_zoom(maxzoom)
        .bounds(west, south, east, north)
        .center(center[0], center[1])
        .center_zoom(minzoom.max(13).min(maxzoom))
        .metadata(metadata.to_string())
        .create(out)
        .map_err(pack_failed)?;
    // Tiles are made a few at a time (each is a store query, then encoding on
    // the blocking pool) and written in order as they come.
    let parallel = std::thread::available_parallelism().map_or(2, |n| n.get() * 2);
    let total = coords.len();
    let layers = &layers;
    let mut rendered = stream::iter(coords)
        .map(|coord| async move { core.tiles.render(layers, coord).await.map(|body| (coord, body)) })
        .buffered(parallel);
    let (mut tiles, mut done) = (0, 0);
    while let Some(next) = rendered.next().await {
        let (coord, body) = next?;
        if !body.is_empty() {
            writer.add_tile(to_pmtiles(coord), &body.gzip).map_err(pack_failed)?;
            tiles += 1;
        }
        done += 1;
        if done % 256 == 0 || done == total {
            progress(PackProgress {
                zoom: coord.z,
                done,
                total,
            });
        }
    }
    writer.finalize().map_err(pack_failed)?;
    Ok(tiles)
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
