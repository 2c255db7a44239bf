//! The per-tile pipeline the server runs for every tile request: project
//! each feature into tile space, clip it to the tile plus buffer, simplify,
//! drop what is too small to see, round and encode.
//!
//! It is written to run thousands of features per tile on the blocking pool:
//! one set of scratch buffers serves every ring of every feature of the tile,
//! features are rejected by bounding box before any projection, and rings
//! that lie wholly inside the buffered tile skip the clipper.

use crate::clip::{LineParts, clip_line_into, clip_ring_into, contains};
use crate::coalesce::EdgeSet;
use crate::coalesced_layer::CoalescedLayer;
use crate::mvt::LayerEncoder;
use crate::mvt::commands::{CommandWriter, GeomType, ring_area2};
use crate::simplify::{round_coord, round_dedup_into, simplify_into};
use crate::tile_math::{TileCoord, TileProjector, tile_bounds_buffered};
use agrimap_model::{Audience, Coalescing, Feature, LayerDef};
use geo::{Coord, Geometry, LineString, Polygon, Rect, coord};

/// How tiles are cut and thinned.
#[derive(Debug, Clone, PartialEq)]
pub struct TileOptions {
    /// Tile units per side (4096, as most renderers expect).
    pub extent: u32,
    /// Tile units kept beyond each edge, so that strokes and fills join
    /// seamlessly across tiles (64 = 1/64 of the tile).
    pub buffer: u32,
    /// Douglas–Peucker tolerance in tile units (halved at and beyond the
    /// layer's maxzoom, whose tiles clients overzoom).
    pub simplify_tolerance: f64,
    /// Polygons (and holes) whose area after clipping, simplification and
    /// rounding is below this many square tile units are dropped. A 4096-unit
    /// tile drawn at 512 px has 64 square units per pixel, so the default 4
    /// is 1/16 px²; the server raises it for lighter low-zoom tiles.
    pub min_polygon_area: f64,
    /// Whether the dense layers are coalesced below their legible zoom
    /// ([`agrimap_model::LayerDef::coalescing`]); off, every feature is drawn.
    pub coalesce: bool,
    /// Merged polygons (and holes) of a coalesced layer below this many square
    /// tile units are dropped. Lower than `min_polygon_area`: a class's area
    /// in a tile is the sum of its pieces, and where the pieces of a class
    /// are scattered (ponds of one species among others) each may be under a
    /// pixel while together they cover a visible share of the tile.
    pub coalesced_min_area: f64,
    /// Bytes of geometry commands a coalesced layer may take in one tile
    /// (uncompressed); past it, its smallest polygons are dropped, keeping
    /// the largest of every class ([`crate::coalesced_layer`]).
    pub coalesced_layer_bytes: usize,
}

impl Default for TileOptions {
    fn default() -> Self {
        Self {
            extent: 4096,
            buffer: 64,
            simplify_tolerance: 1.0,
            min_polygon_area: 4.0,
            coalesce: true,
            coalesced_min_area: 4.0,
            coalesced_layer_bytes: DEFAULT_COALESCED_LAYER_BYTES,
        }
    }
}

/// The version of the drawing itself: raise it whenever a change to the
/// pipeline or the encoder changes the bytes of a tile, so that tile layers
/// kept by a store under the old drawing are not served again.
pub const DRAWING_VERSION: u32 = 1;

impl TileOptions {
    /// Names this way of drawing (with [`DRAWING_VERSION`]): two tiles drawn
    /// with equal fingerprints are the same bytes.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        format!(
            "d{DRAWING_VERSION} e{} b{} s{} a{} c{} ca{} cb{}",
            self.extent,
            self.buffer,
            self.simplify_tolerance,
            self.min_polygon_area,
            u8::from(self.coalesce),
            self.coalesced_min_area,
            self.coalesced_layer_bytes
        )
    }
}

/// Geometry of merged parcels and scattered ponds (small integer deltas,
/// repeated shapes) compresses about 4 times with gzip (3.7 to 4.6 on the
/// demo province's tiles), so two coalesced layers at this size and the
/// rest of a composite tile stay under 500 kB gzipped.
pub const DEFAULT_COALESCED_LAYER_BYTES: usize = 900_000;

/// At and beyond a layer's maxzoom the tile is drawn magnified, so detail
/// that is invisible at this zoom shows later: simplify less.
const MAXZOOM_TOLERANCE_FACTOR: f64 = 0.5;

/// Lines shorter than this (tile units, after clipping and simplification)
/// are dropped: they would draw as a dot at most.
const MIN_LINE_LENGTH: f64 = 1.0;

/// Encodes one tile from the features of each layer (geometry in
/// longitude/latitude, as the store returns it).
///
/// Layers appear in the order given; a layer is skipped below its minzoom
/// (above its maxzoom it still renders: whether to overzoom is the server's
/// choice) and left out when none of its features survive. Attributes are
/// the fields `audience` may read, by field name; null values are left out.
/// Returns an empty `Vec` when no layer survives (the server answers 204).
///
/// ```
/// use agrimap_model::{Audience, Feature, Value, layer};
/// use agrimap_tiles::{TileOptions, decode, encode_tile, tile_containing};
/// use geo::{Geometry, point};
///
/// let places = layer("places").expect("in the catalog");
/// let mut properties = vec![Value::Null; places.fields.len()];
/// properties[places.field_index("name").expect("field")] = Value::from("Ninh Kiều");
/// let wharf = Feature { id: 1, geometry: Geometry::Point(point!(x: 105.7876, y: 10.0341)), properties };
///
/// let tile = tile_containing(105.7876, 10.0341, 12);
/// let bytes = encode_tile(tile, &[(places, &[wharf])], Audience::Public, &TileOptions::default());
/// let layers = decode(&bytes).expect("valid");
/// assert_eq!(layers[0].name, "places");
/// assert_eq!(layers[0].features[0].properties["name"], Value::from("Ninh Kiều"));
/// ```
#[must_use]
pub fn encode_tile(
    tile: TileCoord,
    layers: &[(&LayerDef, &[Feature])],
    audience: Audience,
    opts: &TileOptions,
) -> Vec<u8> {
    let mut pipeline = Pipeline::new(tile, opts);
    let mut out = Vec::new();
    for &(layer, features) in layers {
        if tile.z < layer.minzoom || features.is_empty() {
            continue;
        }
        if let Some(mut coalesced) = CoalescedLayer::new(tile, layer, audience, opts) {
            for feature in features {
                coalesced.add(feature);
            }
            out.extend_from_slice(&coalesced.finish());
            continue;
        }
        let tolerance = layer_tolerance(tile, layer, opts);
        let readable: Vec<(usize, &str)> = layer.readable_fields(audience).map(|(i, f)| (i, f.name)).collect();
        // Key indices per readable field, filled in as fields are first used.
        let mut keys: Vec<Option<u32>> = vec![None; readable.len()];
        let mut encoder = LayerEncoder::new(layer.id, opts.extent);
        let mut tags = Vec::new();
        for feature in features {
            let Some(geom_type) = pipeline.geometry(&feature.geometry, tolerance) else {
                continue;
            };
            tags.clear();
            for (&(index, name), key) in readable.iter().zip(&mut keys) {
                let Some(value) = feature.properties.get(index).and_then(|v| encoder.value(v)) else {
                    continue;
                };
                tags.push(*key.get_or_insert_with(|| encoder.key(name)));
                tags.push(value);
            }
            // Negative ids are not store ids; MVT ids are unsigned.
            let id = u64::try_from(feature.id).ok();
            encoder.push_writer(id, geom_type, &pipeline.writer, &tags);
        }
        if !encoder.is_empty() {
            encoder.write_to(&mut out);
        }
    }
    out
}

/// How `layer` is coalesced in `tile`, if it is: visible there, and below
/// the zoom where its features are legible one by one (see
/// [`crate::coalesced_layer`]).
#[must_use]
pub fn coalescing_at(layer: &LayerDef, tile: TileCoord, opts: &TileOptions) -> Option<Coalescing> {
    if tile.z < layer.minzoom {
        return None;
    }
    layer.coalescing().filter(|c| opts.coalesce && tile.z < c.below_zoom)
}

/// The simplification tolerance of `layer` in `tile`: finer from its
/// maxzoom on, where the client overzooms.
pub(crate) fn layer_tolerance(tile: TileCoord, layer: &LayerDef, opts: &TileOptions) -> f64 {
    if tile.z >= layer.maxzoom {
        opts.simplify_tolerance * MAXZOOM_TOLERANCE_FACTOR
    } else {
        opts.simplify_tolerance
    }
}

/// Where a ring's bounding box lies relative to the clip rectangle.
enum Placement {
    Inside,
    Crossing,
    Outside,
}

/// The tile's projection and clip rectangle, and scratch buffers reused for
/// every ring and line of the tile.
pub(crate) struct Pipeline {
    projector: TileProjector,
    /// The buffered tile in longitude/latitude, for rejecting whole features.
    lonlat_bounds: Rect<f64>,
    /// The buffered tile in tile units.
    clip: Rect<f64>,
    /// Twice `min_polygon_area`, to compare with doubled ring areas.
    min_area2: f64,
    /// Twice `coalesced_min_area`.
    coalesced_min_area2: f64,
    pub(crate) tolerance: f64,
    projected: Vec<Coord<f64>>,
    clipped: Vec<Coord<f64>>,
    clip_tmp: Vec<Coord<f64>>,
    simplified: Vec<Coord<f64>>,
    stack: Vec<(usize, usize)>,
    rounded: Vec<Coord<i32>>,
    parts: LineParts,
    pub(crate) writer: CommandWriter,
}

impl Pipeline {
    pub(crate) fn new(tile: TileCoord, opts: &TileOptions) -> Self {
        let (b, e) = (f64::from(opts.buffer), f64::from(opts.extent.max(1)));
        Self {
            projector: TileProjector::new(tile, opts.extent),
            lonlat_bounds: tile_bounds_buffered(tile, opts.buffer, opts.extent),
            clip: Rect::new(coord! { x: -b, y: -b }, coord! { x: e + b, y: e + b }),
            min_area2: 2.0 * opts.min_polygon_area,
            coalesced_min_area2: 2.0 * opts.coalesced_min_area,
            tolerance: opts.simplify_tolerance,
            projected: Vec::new(),
            clipped: Vec::new(),
            clip_tmp: Vec::new(),
            simplified: Vec::new(),
            stack: Vec::new(),
            rounded: Vec::new(),
            parts: LineParts::default(),
            writer: CommandWriter::default(),
        }
    }

    /// Writes one feature's geometry into `self.writer`; `None` when nothing
    /// of it survives.
    fn geometry(&mut self, geometry: &Geometry<f64>, tolerance: f64) -> Option<GeomType> {
        let bbox = lonlat_bbox(geometry)?;
        if !intersects(&bbox, &self.lonlat_bounds) {
            return None;
        }
        self.tolerance = tolerance;
        self.writer.clear();
        let geom_type = match geometry {
            Geometry::Point(p) => {
                self.points(std::slice::from_ref(&p.0));
                GeomType::Point
            }
            Geometry::MultiPoint(mp) => {
                self.projected.clear();
                self.projected.extend(mp.iter().map(|p| p.0));
                let lonlat = std::mem::take(&mut self.projected);
                self.points(&lonlat);
                self.projected = lonlat;
                GeomType::Point
            }
            Geometry::Line(l) => {
                self.line(&[l.start, l.end]);
                GeomType::LineString
            }
            Geometry::LineString(l) => {
                self.line(&l.0);
                GeomType::LineString
            }
            Geometry::MultiLineString(ml) => {
                for l in ml {
                    self.line(&l.0);
                }
                GeomType::LineString
            }
            Geometry::Polygon(p) => {
                self.polygon(p);
                GeomType::Polygon
            }
            Geometry::MultiPolygon(mp) => {
                for p in mp {
                    self.polygon(p);
                }
                GeomType::Polygon
            }
            Geometry::Rect(r) => {
                self.polygon(&r.to_polygon());
                GeomType::Polygon
            }
            Geometry::Triangle(t) => {
                self.polygon(&t.to_polygon());
                GeomType::Polygon
            }
            // One MVT feature has one geometry type; stores hold none of these.
            Geometry::GeometryCollection(_) => return None,
        };
        (!self.writer.is_empty()).then_some(geom_type)
    }

    /// Projects longitude/latitude points and keeps those inside the clip rectangle.
    fn points(&mut self, lonlat: &[Coord<f64>]) {
        self.rounded.clear();
        for &c in lonlat {
            let p = self.projector.project_coord(c);
            if contains(&self.clip, p) {
                self.rounded.push(round_coord(p));
            }
        }
        self.writer.points(&self.rounded);
    }

    /// Projects a ring or line into `self.projected` and says where it lies.
    fn project(&mut self, lonlat: &[Coord<f64>]) -> Placement {
        self.projected.clear();
        for &c in lonlat {
            self.projected.push(self.projector.project_coord(c));
        }
        self.placement_of_projected()
    }

    /// Where the points in `self.projected` lie relative to the clip rectangle.
    fn placement_of_projected(&self) -> Placement {
        let (mut min, mut max) = (
            coord! { x: f64::INFINITY, y: f64::INFINITY },
            coord! { x: f64::NEG_INFINITY, y: f64::NEG_INFINITY },
        );
        for p in &self.projected {
            (min.x, min.y, max.x, max.y) = (min.x.min(p.x), min.y.min(p.y), max.x.max(p.x), max.y.max(p.y));
        }
        if self.projected.is_empty() {
            return Placement::Outside;
        }
        let bbox = Rect::new(min, max);
        if !intersects(&bbox, &self.clip) {
            Placement::Outside
        } else if contains(&self.clip, min) && contains(&self.clip, max) {
            Placement::Inside
        } else {
            Placement::Crossing
        }
    }

    fn line(&mut self, lonlat: &[Coord<f64>]) {
        match self.project(lonlat) {
            Placement::Outside => {}
            Placement::Inside => {
                let Self {
                    projected,
                    simplified,
                    stack,
                    rounded,
                    writer,
                    tolerance,
                    ..
                } = self;
                line_part(projected, *tolerance, simplified, stack, rounded, writer);
            }
            Placement::Crossing => {
                self.parts.clear();
                clip_line_into(&self.projected, &self.clip, &mut self.parts);
                let Self {
                    parts,
                    simplified,
                    stack,
                    rounded,
                    writer,
                    tolerance,
                    ..
                } = self;
                for part in parts.iter() {
                    line_part(part, *tolerance, simplified, stack, rounded, writer);
                }
            }
        }
    }

    fn polygon(&mut self, polygon: &Polygon<f64>) {
        if self.ring(polygon.exterior(), true) {
            for hole in polygon.interiors() {
                self.ring(hole, false);
            }
        }
    }

    /// Writes one ring; `false` (nothing written) when it lies outside, collapses
    /// or is smaller than the minimum area.
    fn ring(&mut self, ring: &LineString<f64>, exterior: bool) -> bool {
        let placement = self.project(&ring.0);
        if !self.thin_projected(&placement) {
            return false;
        }
        let Self {
            rounded,
            writer,
            min_area2,
            ..
        } = self;
        let mark = writer.mark();
        match writer.ring(rounded, exterior) {
            Some(area2) if area2 as f64 >= *min_area2 => true,
            Some(_) => {
                writer.rollback(mark);
                false
            }
            None => false,
        }
    }

    /// Clips (as `placement` says), simplifies and rounds the ring in
    /// `self.projected` into `self.rounded`; `false` when it lies outside or
    /// is thinner than the tolerance.
    fn thin_projected(&mut self, placement: &Placement) -> bool {
        let Self {
            projected,
            clipped,
            clip_tmp,
            simplified,
            stack,
            rounded,
            clip,
            tolerance,
            ..
        } = self;
        let tile_space: &[Coord<f64>] = match placement {
            Placement::Outside => return false,
            Placement::Inside => projected,
            Placement::Crossing => {
                clip_ring_into(projected, clip, clipped, clip_tmp);
                clipped
            }
        };
        simplify_into(tile_space, *tolerance, simplified, stack);
        // Three corners and the closing point, or the ring is thinner than the tolerance.
        if simplified.len() < 4 {
            return false;
        }
        round_dedup_into(simplified, rounded);
        true
    }

    /// Projects every ring of a polygon feature to tile units, snaps it to
    /// the integer grid and adds it to `edges` (coalescing), or takes it
    /// away again (`removing`); features wholly outside the buffered tile
    /// add nothing.
    pub(crate) fn snap_polygons_into(&mut self, geometry: &Geometry<f64>, edges: &mut EdgeSet, removing: bool) {
        let Some(bbox) = lonlat_bbox(geometry) else { return };
        if !intersects(&bbox, &self.lonlat_bounds) {
            return;
        }
        let mut add = |this: &mut Self, polygon: &Polygon<f64>| {
            for (i, ring) in std::iter::once(polygon.exterior())
                .chain(polygon.interiors())
                .enumerate()
            {
                this.rounded.clear();
                for &c in &ring.0 {
                    let r = round_coord(this.projector.project_coord(c));
                    if this.rounded.last() != Some(&r) {
                        this.rounded.push(r);
                    }
                }
                // A removed ring goes in the other way round and cancels its own edges.
                edges.add_ring(&this.rounded, (i == 0) != removing);
            }
        };
        match geometry {
            Geometry::Polygon(p) => add(self, p),
            Geometry::MultiPolygon(mp) => mp.iter().for_each(|p| add(self, p)),
            Geometry::Rect(r) => add(self, &r.to_polygon()),
            Geometry::Triangle(t) => add(self, &t.to_polygon()),
            _ => {}
        }
    }

    /// One ring of a coalesced polygon (tile units, on the grid), clipped to
    /// the buffered tile, simplified and rounded, with twice its unsigned
    /// area; `None` when nothing of it is left or it is below
    /// `coalesced_min_area`.
    pub(crate) fn thin_grid_ring(&mut self, ring: &[Coord<i32>]) -> Option<(Vec<Coord<i32>>, u128)> {
        self.projected.clear();
        self.projected
            .extend(ring.iter().map(|c| coord! { x: f64::from(c.x), y: f64::from(c.y) }));
        let placement = self.placement_of_projected();
        if !self.thin_projected(&placement) {
            return None;
        }
        let area2 = ring_area2(&self.rounded).unsigned_abs();
        (area2 != 0 && area2 as f64 >= self.coalesced_min_area2).then(|| (self.rounded.clone(), area2))
    }
}

/// Simplifies, length-checks, rounds and writes one line part in tile units.
fn line_part(
    part: &[Coord<f64>],
    tolerance: f64,
    simplified: &mut Vec<Coord<f64>>,
    stack: &mut Vec<(usize, usize)>,
    rounded: &mut Vec<Coord<i32>>,
    writer: &mut CommandWriter,
) {
    simplify_into(part, tolerance, simplified, stack);
    let length: f64 = simplified
        .windows(2)
        .map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y))
        .sum();
    if length < MIN_LINE_LENGTH {
        return;
    }
    round_dedup_into(simplified, rounded);
    writer.line(rounded);
}

/// A feature's bounding box in longitude/latitude, for rejecting it before
/// projecting anything. Polygons are boxed by their exterior rings alone
/// (holes lie inside them); a plain loop, because `geo`'s generic
/// `BoundingRect` showed up in profiles of dense tiles.
fn lonlat_bbox(geometry: &Geometry<f64>) -> Option<Rect<f64>> {
    let mut b = [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut add = |coords: &[Coord<f64>]| {
        for c in coords {
            b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
        }
    };
    match geometry {
        Geometry::Point(p) => add(&[p.0]),
        Geometry::MultiPoint(mp) => mp.iter().for_each(|p| add(&[p.0])),
        Geometry::Line(l) => add(&[l.start, l.end]),
        Geometry::LineString(l) => add(&l.0),
        Geometry::MultiLineString(ml) => ml.iter().for_each(|l| add(&l.0)),
        Geometry::Polygon(p) => add(&p.exterior().0),
        Geometry::MultiPolygon(mp) => mp.iter().for_each(|p| add(&p.exterior().0)),
        Geometry::Rect(r) => return Some(*r),
        Geometry::Triangle(t) => add(&t.to_array()),
        Geometry::GeometryCollection(_) => return None,
    }
    (b[0] <= b[2] && b[1] <= b[3]).then(|| Rect::new(coord! { x: b[0], y: b[1] }, coord! { x: b[2], y: b[3] }))
}

fn intersects(a: &Rect<f64>, b: &Rect<f64>) -> bool {
    a.min().x <= b.max().x && a.max().x >= b.min().x && a.min().y <= b.max().y && a.max().y >= b.min().y
}

#[cfg(test)]
// Shapes on the integer grid: their areas and coordinates are exact in f64,
// and exact equality is what these tests check.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use crate::mvt::{DecodedFeature, DecodedLayer, decode};
    use crate::tile_math::{tile_bounds, tile_containing};
    use agrimap_model::{Value, layer};
    use geo::{Area, BoundingRect, MultiPolygon, line_string, point, polygon};

    const CAN_THO: (f64, f64) = (105.78, 10.03);

    fn tile14() -> TileCoord {
        tile_containing(CAN_THO.0, CAN_THO.1, 14)
    }

    /// A feature of `layer` with the named values set and every other field null.
    fn feature(layer: &LayerDef, id: i64, geometry: Geometry<f64>, values: &[(&str, Value)]) -> Feature {
        let mut properties = vec![Value::Null; layer.fields.len()];
        for (name, v) in values {
            properties[layer.field_index(name).expect("field in layer")] = v.clone();
        }
        Feature {
            id,
            geometry,
            properties,
        }
    }

    /// A lon/lat geometry built from tile-unit coordinates of `tile`.
    fn lonlat_polygon(tile: TileCoord, ring: &[(f64, f64)]) -> Geometry<f64> {
        let p = TileProjector::new(tile, 4096);
        let ring: Vec<(f64, f64)> = ring.iter().map(|&(x, y)| p.unproject(x, y)).collect();
        Geometry::Polygon(Polygon::new(LineString::from(ring), vec![]))
    }

    fn lonlat_line(tile: TileCoord, line: &[(f64, f64)]) -> Geometry<f64> {
        let p = TileProjector::new(tile, 4096);
        Geometry::LineString(line.iter().map(|&(x, y)| p.unproject(x, y)).collect())
    }

    fn render(tile: TileCoord, layers: &[(&LayerDef, &[Feature])], audience: Audience) -> Vec<DecodedLayer> {
        decode(&encode_tile(tile, layers, audience, &TileOptions::default())).expect("valid tile")
    }

    fn only_feature(layers: &[DecodedLayer]) -> &DecodedFeature {
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].features.len(), 1);
        &layers[0].features[0]
    }

    fn parcel(tile: TileCoord, id: i64) -> Feature {
        let crop = layer("crop").expect("crop");
        feature(
            crop,
            id,
            lonlat_polygon(tile, &[(100.0, 100.0), (300.0, 100.0), (300.0, 250.0), (100.0, 250.0)]),
            &[
                ("parcel_id", Value::from("CT-0001")),
                ("crop_type", Value::from("rice")),
                ("area_ha", Value::Real(1.25)),
                ("owner_name", Value::from("Nguyễn Văn A")),
                ("owner_phone", Value::from("0900000000")),
            ],
        )
    }

    #[test]
    fn a_parcel_lands_where_it_was_put_with_its_public_attributes() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let features = [parcel(t, 77)];
        let layers = render(t, &[(crop, &features)], Audience::Public);
        let f = only_feature(&layers);
        assert_eq!(
            (layers[0].name.as_str(), layers[0].extent, f.id),
            ("crop", 4096, Some(77))
        );
        let Geometry::Polygon(p) = &f.geometry else {
            panic!("polygon expected: {:?}", f.geometry)
        };
        assert_eq!(p.unsigned_area(), 200.0 * 150.0);
        assert!(p.exterior().0.contains(&coord! { x: 100.0, y: 100.0 }));
        assert_eq!(f.properties["crop_type"], Value::from("rice"));
        assert_eq!(f.properties["area_ha"], Value::Real(1.25));
        assert!(!f.properties.contains_key("variety"), "null left out");
    }

    #[test]
    fn restricted_fields_only_for_the_full_audience() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let features = [parcel(t, 1)];
        let public = render(t, &[(crop, &features)], Audience::Public);
        let props = &only_feature(&public).properties;
        assert!(
            !props.contains_key("owner_name") && !props.contains_key("owner_phone"),
            "{props:?}"
        );
        assert_eq!(props["parcel_id"], Value::from("CT-0001"));
        let full = render(t, &[(crop, &features)], Audience::Full);
        let props = &only_feature(&full).properties;
        assert_eq!(props["owner_name"], Value::from("Nguyễn Văn A"));
        assert_eq!(props["owner_phone"], Value::from("0900000000"));
    }

    #[test]
    fn features_outside_the_tile_are_dropped() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let east = TileCoord::new(t.z, t.x + 1, t.y).expect("valid");
        // Inside the neighbouring tile, beyond this tile's buffer.
        let away = feature(
            crop,
            2,
            lonlat_polygon(east, &[(200.0, 100.0), (300.0, 100.0), (300.0, 250.0)]),
            &[],
        );
        let opts = TileOptions::default();
        assert!(encode_tile(t, &[(crop, std::slice::from_ref(&away))], Audience::Public, &opts).is_empty());
        let features = [away, parcel(t, 1)];
        let layers = render(t, &[(crop, &features)], Audience::Public);
        assert_eq!(only_feature(&layers).id, Some(1));
        // A point far away too.
        let places = layer("places").expect("places");
        let far = [feature(places, 3, Geometry::Point(point!(x: 106.7, y: 10.8)), &[])];
        assert!(encode_tile(t, &[(places, &far)], Audience::Public, &opts).is_empty());
    }

    #[test]
    fn tiny_polygons_are_dropped() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let tiny = feature(
            crop,
            5,
            lonlat_polygon(
                t,
                &[(1000.0, 1000.0), (1001.2, 1000.0), (1001.2, 1001.2), (1000.0, 1001.2)],
            ),
            &[],
        );
        let small_ok = feature(
            crop,
            6,
            lonlat_polygon(
                t,
                &[(2000.0, 2000.0), (2003.0, 2000.0), (2003.0, 2003.0), (2000.0, 2003.0)],
            ),
            &[],
        );
        let opts = TileOptions::default();
        assert!(encode_tile(t, &[(crop, std::slice::from_ref(&tiny))], Audience::Public, &opts).is_empty());
        let features = [tiny, small_ok];
        let layers = render(t, &[(crop, &features)], Audience::Public);
        assert_eq!(only_feature(&layers).id, Some(6));
        let strict = TileOptions {
            min_polygon_area: 16.0,
            ..TileOptions::default()
        };
        assert!(encode_tile(t, &[(crop, &features)], Audience::Public, &strict).is_empty());
    }

    #[test]
    fn nothing_to_draw_gives_an_empty_tile() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let opts = TileOptions::default();
        assert!(encode_tile(t, &[], Audience::Public, &opts).is_empty());
        assert!(encode_tile(t, &[(crop, &[])], Audience::Public, &opts).is_empty());
    }

    #[test]
    fn layers_below_minzoom_are_skipped_and_order_is_kept() {
        let crop = layer("crop").expect("crop");
        let province = layer("admin_province").expect("province");
        let t10 = tile_containing(CAN_THO.0, CAN_THO.1, 10);
        let b = tile_bounds(t10);
        let whole = Geometry::Polygon(polygon![
            (x: b.min().x - 1.0, y: b.min().y - 1.0), (x: b.max().x + 1.0, y: b.min().y - 1.0),
            (x: b.max().x + 1.0, y: b.max().y + 1.0), (x: b.min().x - 1.0, y: b.max().y + 1.0),
        ]);
        let parcels = [feature(crop, 1, whole.clone(), &[])];
        let provinces = [feature(province, 9, whole, &[("name", Value::from("Cần Thơ"))])];
        // crop has minzoom 11.
        let layers = render(t10, &[(crop, &parcels), (province, &provinces)], Audience::Public);
        assert_eq!(
            layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["admin_province"]
        );
        let t11 = tile_containing(CAN_THO.0, CAN_THO.1, 11);
        let layers = render(t11, &[(crop, &parcels), (province, &provinces)], Audience::Public);
        assert_eq!(
            layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["crop", "admin_province"]
        );
        let layers = render(t11, &[(province, &provinces), (crop, &parcels)], Audience::Public);
        assert_eq!(
            layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["admin_province", "crop"]
        );
        // A polygon covering the tile becomes the buffered tile square.
        let Geometry::Polygon(p) = &layers[0].features[0].geometry else {
            panic!("polygon")
        };
        assert_eq!(p.unsigned_area(), 4224.0 * 4224.0);
        // Above maxzoom (16 for crop) it still renders.
        let t18 = tile_containing(CAN_THO.0, CAN_THO.1, 18);
        assert_eq!(render(t18, &[(crop, &parcels)], Audience::Public).len(), 1);
    }

    #[test]
    fn polygons_crossing_the_edge_are_cut_at_the_buffer() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let crossing = [feature(
            crop,
            1,
            lonlat_polygon(
                t,
                &[(3900.0, -500.0), (5000.0, -500.0), (5000.0, 300.0), (3900.0, 300.0)],
            ),
            &[],
        )];
        let layers = render(t, &[(crop, &crossing)], Audience::Public);
        let Geometry::Polygon(p) = &only_feature(&layers).geometry else {
            panic!("polygon")
        };
        let b = p.bounding_rect().expect("non-empty");
        assert_eq!(
            (b.min().x, b.min().y, b.max().x, b.max().y),
            (3900.0, -64.0, 4160.0, 300.0)
        );
        assert!(
            p.exterior()
                .coords()
                .all(|c| (-64.0..=4160.0).contains(&c.x) && (-64.0..=4160.0).contains(&c.y))
        );
        assert_eq!(p.unsigned_area(), 260.0 * 364.0);
    }

    #[test]
    fn both_windings_of_input_come_out_clockwise_on_screen() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let square = [(100.0, 100.0), (300.0, 100.0), (300.0, 300.0), (100.0, 300.0)];
        let mut reversed = square;
        reversed.reverse();
        for ring in [square, reversed] {
            let features = [feature(crop, 1, lonlat_polygon(t, &ring), &[])];
            let layers = render(t, &[(crop, &features)], Audience::Public);
            let Geometry::Polygon(p) = &only_feature(&layers).geometry else {
                panic!("polygon")
            };
            let area2: f64 = p
                .exterior()
                .0
                .windows(2)
                .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
                .sum();
            assert_eq!(area2, 2.0 * 200.0 * 200.0, "{ring:?}");
        }
    }

    #[test]
    fn a_line_leaving_and_reentering_becomes_a_multilinestring() {
        let t = tile14();
        let roads = layer("roads").expect("roads");
        let out_and_back = lonlat_line(
            t,
            &[(1000.0, 1000.0), (5000.0, 1000.0), (5000.0, 2000.0), (1000.0, 2000.0)],
        );
        let features = [feature(roads, 4, out_and_back, &[("class", Value::from("national"))])];
        let layers = render(t, &[(roads, &features)], Audience::Public);
        let Geometry::MultiLineString(ml) = &only_feature(&layers).geometry else {
            panic!("multilinestring")
        };
        assert_eq!(ml.0.len(), 2);
        assert_eq!(ml.0[0], line_string![(x: 1000.0, y: 1000.0), (x: 4160.0, y: 1000.0)]);
        assert_eq!(ml.0[1], line_string![(x: 4160.0, y: 2000.0), (x: 1000.0, y: 2000.0)]);
    }

    #[test]
    fn lines_are_simplified_and_short_ones_dropped() {
        let t = tile14();
        let roads = layer("roads").expect("roads");
        // 101 points along a gentle wiggle of ±0.3 units: one segment after simplification.
        let wiggle: Vec<(f64, f64)> = (0..=100)
            .map(|i| (f64::from(i) * 30.0, 500.0 + 0.3 * f64::from(i % 2)))
            .collect();
        let short = lonlat_line(t, &[(10.0, 10.0), (10.4, 10.4)]);
        let features = [
            feature(roads, 1, lonlat_line(t, &wiggle), &[]),
            feature(roads, 2, short, &[]),
        ];
        let layers = render(t, &[(roads, &features)], Audience::Public);
        let f = only_feature(&layers);
        assert_eq!(f.id, Some(1));
        assert_eq!(
            f.geometry,
            Geometry::LineString(line_string![(x: 0.0, y: 500.0), (x: 3000.0, y: 500.0)])
        );
    }

    #[test]
    fn points_and_multipolygons_survive_partially() {
        let t = tile14();
        let places = layer("places").expect("places");
        let p = TileProjector::new(t, 4096);
        let inside = p.unproject(2048.0, 1024.0);
        let outside = p.unproject(9000.0, 1024.0);
        let mp = Geometry::MultiPoint(vec![inside, outside].into());
        let layers = render(t, &[(places, &[feature(places, 8, mp, &[])])], Audience::Public);
        assert_eq!(
            only_feature(&layers).geometry,
            Geometry::Point(point!(x: 2048.0, y: 1024.0))
        );

        let crop = layer("crop").expect("crop");
        let part = |x0: f64| match lonlat_polygon(t, &[(x0, 10.0), (x0 + 50.0, 10.0), (x0 + 50.0, 60.0)]) {
            Geometry::Polygon(p) => p,
            _ => unreachable!("built as a polygon"),
        };
        let two = Geometry::MultiPolygon(MultiPolygon(vec![part(100.0), part(9000.0), part(300.0)]));
        let layers = render(t, &[(crop, &[feature(crop, 9, two, &[])])], Audience::Public);
        let Geometry::MultiPolygon(mp) = &only_feature(&layers).geometry else {
            panic!("multipolygon")
        };
        assert_eq!(mp.0.len(), 2);
        assert_eq!(mp.unsigned_area(), 2.0 * 1250.0);
    }

    #[test]
    fn holes_are_kept_and_tiny_holes_dropped() {
        let t = tile14();
        let crop = layer("crop").expect("crop");
        let p = TileProjector::new(t, 4096);
        let ring = |r: &[(f64, f64)]| LineString::from(r.iter().map(|&(x, y)| p.unproject(x, y)).collect::<Vec<_>>());
        let poly = Polygon::new(
            ring(&[(0.0, 0.0), (1000.0, 0.0), (1000.0, 1000.0), (0.0, 1000.0)]),
            vec![
                ring(&[(100.0, 100.0), (100.0, 200.0), (200.0, 200.0), (200.0, 100.0)]),
                ring(&[(500.0, 500.0), (500.0, 501.0), (501.0, 501.0), (501.0, 500.0)]),
            ],
        );
        let layers = render(
            t,
            &[(crop, &[feature(crop, 1, Geometry::Polygon(poly), &[])])],
            Audience::Public,
        );
        let Geometry::Polygon(out) = &only_feature(&layers).geometry else {
            panic!("polygon")
        };
        assert_eq!(out.interiors().len(), 1);
        assert_eq!(out.unsigned_area(), 1_000_000.0 - 10_000.0);
    }
}
