//! A dense polygon layer below its legible zoom: the features of each class
//! merged into the shapes they cover ([`crate::coalesce`]), clipped to the
//! buffered tile, simplified and rounded, then held to a byte budget.
//!
//! The tile carries one feature per class, with the class fields only and no
//! id: a merged shape is no one parcel. Classes come in the order of their
//! values, each class's polygons largest first, so the bytes depend on the
//! features alone, never on the order the store returned them in.
//!
//! When the polygons of a layer would take more than
//! [`TileOptions::coalesced_layer_bytes`], the smallest are dropped first
//! (by area, then by their lowest vertex: a stable order), but the largest
//! polygon of every class is always kept, so every class stays visible.

use crate::coalesce::{EdgeSet, put_varint, take_varint};
use crate::mvt::LayerEncoder;
use crate::mvt::commands::GeomType;
use crate::render::{Pipeline, TileOptions, coalescing_at, layer_tolerance};
use crate::tile_math::TileCoord;
use agrimap_model::{Audience, Feature, LayerDef, Value};
use geo::Coord;
use std::cmp::Ordering;

/// One merged polygon after clipping, simplification and rounding.
struct Piece {
    class: usize,
    /// Exterior first, then holes; each on the grid, without closing point.
    rings: Vec<Vec<Coord<i32>>>,
    /// Twice the area drawn (holes taken away).
    area2: u128,
    /// Its lowest vertex: the tie-break of the drop order.
    key: Coord<i32>,
    /// About how many bytes its commands take.
    bytes: usize,
}

/// The form of [`CoalescedLayer::kept_edges`]; a store holding another
/// draws the layer afresh.
const KEPT_FORMAT: u8 = 1;

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0),
        Value::Bool(b) => out.extend_from_slice(&[1, u8::from(*b)]),
        Value::Int(i) => {
            out.push(2);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Real(r) => {
            out.push(3);
            out.extend_from_slice(&r.to_le_bytes());
        }
        Value::Text(t) => {
            out.push(4);
            put_varint(out, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
    }
}

fn take_value(bytes: &mut &[u8]) -> Option<Value> {
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Option<&'b [u8]> {
        let (taken, rest) = bytes.split_at_checked(n)?;
        *bytes = rest;
        Some(taken)
    }
    let tag = take(bytes, 1)?[0];
    Some(match tag {
        0 => Value::Null,
        1 => Value::Bool(take(bytes, 1)?[0] != 0),
        2 => Value::Int(i64::from_le_bytes(take(bytes, 8)?.try_into().ok()?)),
        3 => Value::Real(f64::from_le_bytes(take(bytes, 8)?.try_into().ok()?)),
        4 => {
            let n = usize::try_from(take_varint(bytes)?).ok()?;
            Value::Text(String::from_utf8(take(bytes, n)?.to_vec()).ok()?)
        }
        _ => return None,
    })
}

/// A feature's value of the field at `i` (null when it is short of values).
fn value(feature: &Feature, i: usize) -> &Value {
    feature.properties.get(i).unwrap_or(&Value::Null)
}

/// A coalesced layer being drawn. Features go in one at a time, as the store
/// streams them ([`Self::add`]): each is projected and snapped into its
/// class's edges at once, so a tile over hundreds of thousands of parcels
/// holds their edges on the grid, never the features themselves.
///
/// ```
/// use agrimap_model::{Audience, Feature, Value, layer};
/// use agrimap_tiles::{CoalescedLayer, TileOptions, decode, tile_containing};
/// use geo::{Geometry, LineString, Polygon};
///
/// let crop = layer("crop").expect("in the catalog");
/// let tile = tile_containing(105.78, 10.03, 11);
/// let mut drawing = CoalescedLayer::new(tile, crop, Audience::Public, &TileOptions::default())
///     .expect("crops are coalesced at z11");
/// for (id, x) in [(1, 105.780), (2, 105.782)] {
///     let ring = LineString::from(vec![(x, 10.03), (x + 0.002, 10.03), (x + 0.002, 10.032), (x, 10.032)]);
///     let mut properties = vec![Value::Null; crop.fields.len()];
///     properties[crop.field_index("crop_type").expect("field")] = Value::from("rice");
///     drawing.add(&Feature { id, geometry: Geometry::Polygon(Polygon::new(ring, vec![])), properties });
/// }
/// let layers = decode(&drawing.finish()).expect("valid");
/// // Two neighbouring rice parcels, one merged rice shape.
/// assert_eq!(layers[0].features.len(), 1);
/// assert_eq!(layers[0].features[0].properties["crop_type"], Value::from("rice"));
/// ```
pub struct CoalescedLayer<'a> {
    pipeline: Pipeline,
    layer: &'a LayerDef,
    /// Class fields the audience may read (all of them, for the catalog's
    /// class fields are public): their index in the layer and their name.
    fields: Vec<(usize, &'static str)>,
    /// The values of each class met so far, and its edges.
    classes: Vec<(Vec<Value>, EdgeSet)>,
    extent: u32,
    budget: usize,
}

impl<'a> CoalescedLayer<'a> {
    /// Starts drawing `layer` coalesced in `tile`; `None` when it is not
    /// coalesced there ([`coalescing_at`]).
    #[must_use]
    pub fn new(tile: TileCoord, layer: &'a LayerDef, audience: Audience, opts: &TileOptions) -> Option<Self> {
        let coalescing = coalescing_at(layer, tile, opts)?;
        let fields = coalescing
            .class_fields
            .iter()
            .filter_map(|name| {
                let index = layer.field_index(name)?;
                audience
                    .may_read(layer.fields[index].access)
                    .then_some((index, layer.fields[index].name))
            })
            .collect();
        let mut pipeline = Pipeline::new(tile, opts);
        pipeline.tolerance = layer_tolerance(tile, layer, opts);
        Some(Self {
            pipeline,
            layer,
            fields,
            classes: Vec::new(),
            extent: opts.extent,
            budget: opts.coalesced_layer_bytes,
        })
    }

    /// Takes up a drawing from what [`Self::kept_edges`] wrote, to merge a
    /// write into it ([`Self::add`] the new features, [`Self::remove`] the
    /// old); `None` when `kept` is not the edges of this layer drawn so
    /// (then draw it afresh).
    #[must_use]
    pub fn resume(
        tile: TileCoord,
        layer: &'a LayerDef,
        audience: Audience,
        opts: &TileOptions,
        kept: &[u8],
    ) -> Option<Self> {
        let mut drawing = Self::new(tile, layer, audience, opts)?;
        let mut bytes = kept;
        let (&format, rest) = bytes.split_first()?;
        bytes = rest;
        if format != KEPT_FORMAT || take_varint(&mut bytes)? != drawing.fields.len() as u64 {
            return None;
        }
        let classes = take_varint(&mut bytes)?;
        for _ in 0..classes {
            let values = (0..drawing.fields.len())
                .map(|_| take_value(&mut bytes))
                .collect::<Option<Vec<_>>>()?;
            drawing.classes.push((values, EdgeSet::read(&mut bytes)?));
        }
        bytes.is_empty().then_some(drawing)
    }

    /// The drawing's edges so far, class by class, for a store to keep and
    /// [`Self::resume`] to take up: a few bytes per edge of the classes'
    /// outlines, not per feature.
    pub fn kept_edges(&mut self) -> Vec<u8> {
        let mut out = vec![KEPT_FORMAT];
        put_varint(&mut out, self.fields.len() as u64);
        let mut classes = Vec::new();
        for (values, edges) in &mut self.classes {
            let mut written = Vec::new();
            edges.write(&mut written);
            // A class whose edges all cancelled has nothing left to draw.
            if written != [0] {
                classes.push((&*values, written));
            }
        }
        put_varint(&mut out, classes.len() as u64);
        for (values, written) in classes {
            for v in values {
                put_value(&mut out, v);
            }
            out.extend_from_slice(&written);
        }
        out
    }

    /// The layer being drawn.
    #[must_use]
    pub fn layer(&self) -> &'a LayerDef {
        self.layer
    }

    /// Adds one feature (geometry in longitude/latitude); one outside the
    /// buffered tile, or not polygonal, adds nothing.
    pub fn add(&mut self, feature: &Feature) {
        self.put(feature, false);
    }

    /// Takes away a feature added before (its old version, when a write
    /// changed or removed it): its edges cancel those it added.
    pub fn remove(&mut self, feature: &Feature) {
        self.put(feature, true);
    }

    fn put(&mut self, feature: &Feature, removing: bool) {
        let fields = &self.fields;
        // A handful of classes per tile: a scan beats hashing, and nothing is cloned.
        let known = self
            .classes
            .iter()
            .position(|(v, _)| v.iter().zip(fields).all(|(v, &(i, _))| v == value(feature, i)));
        let class = known.unwrap_or_else(|| {
            let values = fields.iter().map(|&(i, _)| value(feature, i).clone()).collect();
            self.classes.push((values, EdgeSet::new()));
            self.classes.len() - 1
        });
        self.pipeline
            .snap_polygons_into(&feature.geometry, &mut self.classes[class].1, removing);
    }

    /// The layer's MVT message: one feature per class, within the byte
    /// budget; empty when nothing of it is drawn.
    #[must_use]
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(encoder) = self.encode() {
            encoder.write_to(&mut out);
        }
        out
    }

    fn encode(&mut self) -> Option<LayerEncoder> {
        let pipeline = &mut self.pipeline;
        self.classes.sort_by(|a, b| compare_values(&a.0, &b.0));
        let mut pieces = Vec::new();
        for (class, (_, edges)) in self.classes.iter_mut().enumerate() {
            for polygon in std::mem::take(edges).into_polygons() {
                let Some((exterior, outer2)) = pipeline.thin_grid_ring(&polygon.exterior().0) else {
                    continue;
                };
                let mut area2 = outer2;
                let mut rings = vec![exterior];
                for hole in polygon.interiors() {
                    if let Some((ring, hole2)) = pipeline.thin_grid_ring(&hole.0) {
                        area2 = area2.saturating_sub(hole2);
                        rings.push(ring);
                    }
                }
                let key = rings[0].iter().copied().min_by_key(|c| (c.x, c.y)).unwrap_or_default();
                let bytes = rings.iter().map(|r| ring_bytes(r)).sum();
                pieces.push(Piece {
                    class,
                    rings,
                    area2,
                    key,
                    bytes,
                });
            }
        }
        keep_within_budget(&mut pieces, self.classes.len(), self.budget);
        if pieces.is_empty() {
            return None;
        }

        let mut encoder = LayerEncoder::new(self.layer.id, self.extent);
        let mut tags = Vec::new();
        let mut start = 0;
        while start < pieces.len() {
            let class = pieces[start].class;
            let end = start + pieces[start..].iter().take_while(|p| p.class == class).count();
            pipeline.writer.clear();
            for piece in &pieces[start..end] {
                let mut rings = piece.rings.iter();
                let Some(exterior) = rings.next() else { continue };
                if pipeline.writer.ring(exterior, true).is_some() {
                    for hole in rings {
                        pipeline.writer.ring(hole, false);
                    }
                }
            }
            if !pipeline.writer.is_empty() {
                tags.clear();
                for (&(_, name), value) in self.fields.iter().zip(&self.classes[class].0) {
                    if let Some(v) = encoder.value(value) {
                        tags.push(encoder.key(name));
                        tags.push(v);
                    }
                }
                encoder.push_writer(None, GeomType::Polygon, &pipeline.writer, &tags);
            }
            start = end;
        }
        (!encoder.is_empty()).then_some(encoder)
    }
}

/// Orders pieces by class, then largest first (ties by lowest vertex), and
/// drops the smallest while they take more than `budget` bytes, keeping the
/// largest piece of every class whatever the budget.
fn keep_within_budget(pieces: &mut Vec<Piece>, classes: usize, budget: usize) {
    let by_size = |a: &Piece, b: &Piece| {
        b.area2
            .cmp(&a.area2)
            .then_with(|| (a.key.x, a.key.y).cmp(&(b.key.x, b.key.y)))
            .then_with(|| a.class.cmp(&b.class))
    };
    let total: usize = pieces.iter().map(|p| p.bytes).sum();
    if total > budget {
        pieces.sort_by(by_size);
        let mut kept = vec![false; pieces.len()];
        let mut has_class = vec![false; classes];
        let mut used = 0;
        // The largest of each class first, whatever they cost.
        for (i, p) in pieces.iter().enumerate() {
            if !has_class[p.class] {
                has_class[p.class] = true;
                kept[i] = true;
                used += p.bytes;
            }
        }
        // Then the rest, largest first, until the first that does not fit:
        // everything smaller goes, so what is dropped is always the smallest.
        for (i, p) in pieces.iter().enumerate() {
            if kept[i] {
                continue;
            }
            if used + p.bytes > budget {
                break;
            }
            kept[i] = true;
            used += p.bytes;
        }
        let mut flags = kept.into_iter();
        pieces.retain(|_| flags.next().unwrap_or(false));
    }
    pieces.sort_by(|a, b| a.class.cmp(&b.class).then_with(|| by_size(a, b)));
}

/// About how many bytes a ring's commands take: the three command integers
/// and a zigzag varint per coordinate delta.
fn ring_bytes(ring: &[Coord<i32>]) -> usize {
    let varint = |d: i32| {
        let z = ((d << 1) ^ (d >> 31)) as u32;
        (32 - z.leading_zeros()).max(1).div_ceil(7) as usize
    };
    let mut prev = ring.last().copied().unwrap_or_default();
    let mut bytes = 3;
    for &c in ring {
        bytes += varint(c.x.wrapping_sub(prev.x)) + varint(c.y.wrapping_sub(prev.y));
        prev = c;
    }
    bytes
}

/// A total order on class values, so classes come out the same way whatever
/// order their features came in.
fn compare_values(a: &[Value], b: &[Value]) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Real(_) => 3,
            Value::Text(_) => 4,
        }
    }
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Value::Bool(p), Value::Bool(q)) => p.cmp(q),
            (Value::Int(p), Value::Int(q)) => p.cmp(q),
            (Value::Real(p), Value::Real(q)) => p.total_cmp(q),
            (Value::Text(p), Value::Text(q)) => p.cmp(q),
            _ => rank(x).cmp(&rank(y)),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

#[cfg(test)]
// Shapes on the integer grid: their areas are exact in f64.
#[allow(clippy::float_cmp)]
mod tests {
    use crate::mvt::{DecodedLayer, decode};
    use crate::render::{TileOptions, encode_tile};
    use crate::tile_math::{TileCoord, TileProjector, tile_containing};
    use agrimap_model::{Audience, Feature, Value, layer};
    use geo::{Area, Geometry, LineString, MultiPolygon, Polygon};

    /// A z12 tile over Cần Thơ: crops are coalesced there.
    fn tile12() -> TileCoord {
        tile_containing(105.78, 10.03, 12)
    }

    /// A parcel whose corners are the given tile units of `tile`, with its
    /// crop type and a few other fields set.
    fn parcel(tile: TileCoord, id: i64, crop: &str, (x0, y0, x1, y1): (f64, f64, f64, f64)) -> Feature {
        let crop_layer = layer("crop").expect("crop");
        let p = TileProjector::new(tile, 4096);
        let ring: Vec<(f64, f64)> = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            .iter()
            .map(|&(x, y)| p.unproject(x, y))
            .collect();
        let mut properties = vec![Value::Null; crop_layer.fields.len()];
        let mut set = |name: &str, v: Value| properties[crop_layer.field_index(name).expect("field")] = v;
        set("crop_type", Value::from(crop));
        set("parcel_id", Value::from(format!("P-{id}")));
        set("area_ha", Value::Real(0.5));
        Feature {
            id,
            geometry: Geometry::Polygon(Polygon::new(LineString::from(ring), vec![])),
            properties,
        }
    }

    fn render(tile: TileCoord, features: &[Feature], opts: &TileOptions) -> Vec<DecodedLayer> {
        let crop = layer("crop").expect("crop");
        decode(&encode_tile(tile, &[(crop, features)], Audience::Public, opts)).expect("valid tile")
    }

    fn area(geometry: &Geometry<f64>) -> f64 {
        match geometry {
            Geometry::Polygon(p) => p.unsigned_area(),
            Geometry::MultiPolygon(mp) => mp.unsigned_area(),
            other => panic!("polygonal expected: {other:?}"),
        }
    }

    fn polygon_count(geometry: &Geometry<f64>) -> usize {
        match geometry {
            Geometry::Polygon(_) => 1,
            Geometry::MultiPolygon(MultiPolygon(ps)) => ps.len(),
            other => panic!("polygonal expected: {other:?}"),
        }
    }

    #[test]
    fn adjacent_parcels_of_one_class_become_one_polygon_with_only_the_class() {
        let t = tile12();
        let features = [
            parcel(t, 1, "rice", (100.0, 100.0, 120.0, 150.0)),
            parcel(t, 2, "rice", (120.0, 100.0, 140.0, 150.0)),
            parcel(t, 3, "rice", (100.0, 150.0, 140.0, 200.0)),
        ];
        let layers = render(t, &features, &TileOptions::default());
        assert_eq!(layers.len(), 1);
        let [merged] = layers[0].features.as_slice() else {
            panic!("one feature: {:?}", layers[0].features)
        };
        assert_eq!(polygon_count(&merged.geometry), 1);
        assert_eq!(area(&merged.geometry), 40.0 * 100.0);
        assert_eq!(merged.id, None, "a merged shape is no one parcel");
        assert_eq!(merged.properties.len(), 1, "{:?}", merged.properties);
        assert_eq!(merged.properties["crop_type"], Value::from("rice"));
    }

    #[test]
    fn classes_stay_apart_and_come_in_the_order_of_their_values() {
        let t = tile12();
        let features = [
            parcel(t, 1, "rice", (100.0, 100.0, 120.0, 150.0)),
            parcel(t, 2, "mango", (120.0, 100.0, 140.0, 150.0)),
            parcel(t, 3, "rice", (140.0, 100.0, 160.0, 150.0)),
        ];
        let layers = render(t, &features, &TileOptions::default());
        let drawn: Vec<(Value, usize, f64)> = layers[0]
            .features
            .iter()
            .map(|f| {
                (
                    f.properties["crop_type"].clone(),
                    polygon_count(&f.geometry),
                    area(&f.geometry),
                )
            })
            .collect();
        assert_eq!(
            drawn,
            [(Value::from("mango"), 1, 1000.0), (Value::from("rice"), 2, 2000.0)]
        );
    }

    #[test]
    fn a_kept_drawing_taken_up_with_a_write_draws_what_a_fresh_drawing_of_the_result_does() {
        use crate::CoalescedLayer;
        let (t, crop, opts) = (tile12(), layer("crop").expect("crop"), TileOptions::default());
        // A block of rice beside a block of mango, a lone lotus parcel.
        let before: Vec<Feature> = (0..6)
            .map(|i| {
                let x = 100.0 + 20.0 * f64::from(i);
                parcel(
                    t,
                    i64::from(i),
                    if i < 4 { "rice" } else { "mango" },
                    (x, 100.0, x + 20.0, 150.0),
                )
            })
            .chain([parcel(t, 9, "lotus", (400.0, 400.0, 420.0, 430.0))])
            .collect();
        let mut drawing = CoalescedLayer::new(t, crop, Audience::Public, &opts).expect("coalesced");
        for f in &before {
            drawing.add(f);
        }
        let kept = drawing.kept_edges();

        // The write: parcel 1 turns mango, the lotus parcel is removed (its
        // class goes with it), a new rice parcel is added below.
        let mut resumed = CoalescedLayer::resume(t, crop, Audience::Public, &opts, &kept).expect("our edges");
        let turned = parcel(t, 1, "mango", (120.0, 100.0, 140.0, 150.0));
        let added = parcel(t, 10, "rice", (100.0, 150.0, 140.0, 180.0));
        for old in [&before[1], &before[6]] {
            resumed.remove(old);
        }
        for new in [&turned, &added] {
            resumed.add(new);
        }
        let after: Vec<Feature> = before
            .iter()
            .filter(|f| f.id != 1 && f.id != 9)
            .cloned()
            .chain([turned, added])
            .collect();
        let fresh = encode_tile(t, &[(crop, &after)], Audience::Public, &opts);
        assert_eq!(resumed.finish(), fresh);
        let classes: Vec<Value> = decode(&fresh).expect("valid")[0]
            .features
            .iter()
            .map(|f| f.properties["crop_type"].clone())
            .collect();
        assert_eq!(classes, [Value::from("mango"), Value::from("rice")]);

        // Another layer's or a damaged keeping is refused, not misread.
        let ponds = layer("aquaculture").expect("aquaculture");
        assert!(CoalescedLayer::resume(t, ponds, Audience::Public, &opts, &kept).is_none());
        assert!(CoalescedLayer::resume(t, crop, Audience::Public, &opts, &kept[..kept.len() - 1]).is_none());
    }

    #[test]
    fn from_the_legible_zoom_parcels_are_drawn_one_by_one() {
        let t13 = tile_containing(105.78, 10.03, 13);
        let features = [
            parcel(t13, 1, "rice", (100.0, 100.0, 120.0, 150.0)),
            parcel(t13, 2, "rice", (120.0, 100.0, 140.0, 150.0)),
        ];
        let layers = render(t13, &features, &TileOptions::default());
        let ids: Vec<Option<u64>> = layers[0].features.iter().map(|f| f.id).collect();
        assert_eq!(ids, [Some(1), Some(2)]);
        assert_eq!(layers[0].features[0].properties["parcel_id"], Value::from("P-1"));
        // And coalescing can be turned off below it.
        let off = TileOptions {
            coalesce: false,
            ..TileOptions::default()
        };
        let t = tile12();
        let features = [
            parcel(t, 1, "rice", (100.0, 100.0, 120.0, 150.0)),
            parcel(t, 2, "rice", (120.0, 100.0, 140.0, 150.0)),
        ];
        assert_eq!(render(t, &features, &off)[0].features.len(), 2);
    }

    /// A field of parcels: 30 × 20 strips of 12 × 30 units, crop types in
    /// blocks with a few odd parcels, some isolated by a gap.
    fn field(t: TileCoord) -> Vec<Feature> {
        let mut features = Vec::new();
        for i in 0..30 {
            for j in 0..20 {
                let crop = match (i / 10 + j / 7, (i * 7 + j * 13) % 23) {
                    (_, 0) => "durian",
                    (k, _) if k % 2 == 0 => "rice",
                    _ => "mango",
                };
                let (x, y) = (500.0 + 12.0 * f64::from(i), 600.0 + 30.0 * f64::from(j));
                // Every fifth column stands a unit apart from the one before.
                let x = x + f64::from(i / 5);
                features.push(parcel(t, i64::from(i * 20 + j + 1), crop, (x, y, x + 12.0, y + 30.0)));
            }
        }
        features
    }

    #[test]
    fn tiles_are_identical_whatever_the_order_of_the_features() {
        let t = tile12();
        let features = field(t);
        let crop = layer("crop").expect("crop");
        let opts = TileOptions::default();
        let sorted = encode_tile(t, &[(crop, &features)], Audience::Public, &opts);
        let mut shuffled = features.clone();
        shuffled.reverse();
        // A fixed permutation, as a store's physical order might give.
        let n = shuffled.len();
        let mut permuted: Vec<Feature> = (0..n).map(|i| shuffled[(i * 37) % n].clone()).collect();
        assert_eq!(encode_tile(t, &[(crop, &shuffled)], Audience::Public, &opts), sorted);
        assert_eq!(encode_tile(t, &[(crop, &permuted)], Audience::Public, &opts), sorted);
        permuted.rotate_left(101);
        assert_eq!(encode_tile(t, &[(crop, &permuted)], Audience::Public, &opts), sorted);
    }

    #[test]
    fn the_area_of_every_class_is_kept() {
        let t = tile12();
        let features = field(t);
        let mut exact = std::collections::BTreeMap::<String, f64>::new();
        for f in &features {
            let crop = layer("crop").expect("crop");
            *exact
                .entry(crop.text_of(f, "crop_type").expect("crop type").to_owned())
                .or_default() += 12.0 * 30.0;
        }
        let layers = render(t, &features, &TileOptions::default());
        let drawn: std::collections::BTreeMap<String, f64> = layers[0]
            .features
            .iter()
            .map(|f| {
                (
                    f.properties["crop_type"].as_str().expect("text").to_owned(),
                    area(&f.geometry),
                )
            })
            .collect();
        assert_eq!(drawn, exact);
        // Far fewer features than parcels.
        assert_eq!(layers[0].features.len(), 3);
    }

    #[test]
    fn over_budget_the_smallest_go_first_and_every_class_keeps_its_largest() {
        let t = tile12();
        // Rice: squares of 60, 50, 40 and 30 units; mango: one of 10.
        let features = [
            parcel(t, 1, "rice", (0.0, 0.0, 60.0, 60.0)),
            parcel(t, 2, "rice", (100.0, 0.0, 150.0, 50.0)),
            parcel(t, 3, "rice", (200.0, 0.0, 240.0, 40.0)),
            parcel(t, 4, "rice", (300.0, 0.0, 330.0, 30.0)),
            parcel(t, 5, "mango", (400.0, 0.0, 410.0, 10.0)),
        ];
        let areas = |opts: &TileOptions| -> Vec<(Value, Vec<f64>)> {
            render(t, &features, opts)[0]
                .features
                .iter()
                .map(|f| {
                    let mut parts: Vec<f64> = match &f.geometry {
                        Geometry::Polygon(p) => vec![p.unsigned_area()],
                        Geometry::MultiPolygon(mp) => mp.iter().map(Area::unsigned_area).collect(),
                        other => panic!("polygonal: {other:?}"),
                    };
                    parts.sort_by(|a, b| b.total_cmp(a));
                    (f.properties["crop_type"].clone(), parts)
                })
                .collect()
        };
        let all = areas(&TileOptions::default());
        assert_eq!(
            all,
            [
                (Value::from("mango"), vec![100.0]),
                (Value::from("rice"), vec![3600.0, 2500.0, 1600.0, 900.0])
            ]
        );
        // Each square takes 3 command integers and 8 one-byte deltas (its
        // sides are under 64 units) plus 2 for the first: about 13 bytes.
        // Room for four squares: the 30-unit rice square goes, the 10-unit
        // mango square (smaller still) stays as its class's largest.
        let four = TileOptions {
            coalesced_layer_bytes: 4 * 13 + 6,
            ..TileOptions::default()
        };
        assert_eq!(
            areas(&four),
            [
                (Value::from("mango"), vec![100.0]),
                (Value::from("rice"), vec![3600.0, 2500.0, 1600.0])
            ]
        );
        // No room at all: the largest of each class is still drawn.
        let none = TileOptions {
            coalesced_layer_bytes: 0,
            ..TileOptions::default()
        };
        assert_eq!(
            areas(&none),
            [(Value::from("mango"), vec![100.0]), (Value::from("rice"), vec![3600.0])]
        );
    }
}
