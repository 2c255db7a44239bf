//! Building one layer of a tile: features with their geometry commands and
//! tags, and the key and value tables they index into.
//!
//! Keys and values are deduplicated per layer, as the spec intends: a crop
//! layer of 10 000 parcels has a handful of distinct `crop_type` values and
//! each is stored once. Feature messages are serialized as they are added, so
//! a layer is one growing byte buffer rather than a tree of owned messages.

use super::commands::{CommandWriter, EncodedGeometry, GeomType, encode_geometry};
use super::fxhash::FxBuildHasher;
use super::wire::{
    FIXED64, LEN, VARINT, bytes_field_len, key_len, packed_payload_len, varint_len, write_bytes, write_key,
    write_packed, write_varint, zigzag64,
};
use agrimap_model::Value;
use std::collections::HashMap;

type Map<K> = HashMap<K, u32, FxBuildHasher>;

/// The MVT version written.
pub const VERSION: u32 = 2;

/// One layer being built. Add features, then append the layer to a tile
/// buffer with [`LayerEncoder::write_to`]; a tile is its layers concatenated.
///
/// ```
/// use agrimap_model::Value;
/// use agrimap_tiles::mvt::{LayerEncoder, decode};
/// use geo::{Geometry, point};
///
/// let mut layer = LayerEncoder::new("places", 4096);
/// let name = Value::from("Cần Thơ");
/// layer.add_feature(Some(7), &Geometry::Point(point!(x: 100.0, y: 200.0)), [("name", &name)]);
/// let mut tile = Vec::new();
/// layer.write_to(&mut tile);
///
/// let decoded = decode(&tile).expect("valid tile");
/// assert_eq!(decoded[0].name, "places");
/// assert_eq!(decoded[0].features[0].id, Some(7));
/// assert_eq!(decoded[0].features[0].properties["name"], name);
/// ```
#[derive(Debug)]
pub struct LayerEncoder {
    name: String,
    extent: u32,
    keys: Vec<u8>,
    key_count: u32,
    key_index: Map<String>,
    /// Serialized `values` fields, in index order.
    values: Vec<u8>,
    value_count: u32,
    texts: Map<String>,
    ints: Map<i64>,
    /// By bit pattern, so that NaN and -0.0 are values like any other.
    reals: Map<u64>,
    bools: [Option<u32>; 2],
    /// Serialized `features` fields.
    features: Vec<u8>,
    feature_count: usize,
    tags: Vec<u32>,
}

impl LayerEncoder {
    /// An empty layer. `extent` is the number of tile units per side.
    #[must_use]
    pub fn new(name: impl Into<String>, extent: u32) -> Self {
        Self {
            name: name.into(),
            extent,
            keys: Vec::new(),
            key_count: 0,
            key_index: Map::default(),
            values: Vec::new(),
            value_count: 0,
            texts: Map::default(),
            ints: Map::default(),
            reals: Map::default(),
            bools: [None; 2],
            features: Vec::new(),
            feature_count: 0,
            tags: Vec::new(),
        }
    }

    /// Number of features added.
    #[must_use]
    pub fn len(&self) -> usize {
        self.feature_count
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.feature_count == 0
    }

    /// The index of a key, added to the table on first use.
    pub fn key(&mut self, key: &str) -> u32 {
        if let Some(&i) = self.key_index.get(key) {
            return i;
        }
        write_bytes(&mut self.keys, 3, key.as_bytes());
        let i = self.key_count;
        self.key_count += 1;
        self.key_index.insert(key.to_owned(), i);
        i
    }

    /// The index of a value, added to the table on first use; `None` for
    /// [`Value::Null`], which MVT cannot express (the attribute is left out).
    pub fn value(&mut self, value: &Value) -> Option<u32> {
        let next = self.value_count;
        let found = match value {
            Value::Null => return None,
            Value::Text(s) => self.texts.get(s.as_str()).copied(),
            Value::Int(i) => self.ints.get(i).copied(),
            Value::Real(r) => self.reals.get(&r.to_bits()).copied(),
            Value::Bool(b) => self.bools[usize::from(*b)],
        };
        if let Some(i) = found {
            return Some(i);
        }
        // The Value message: exactly one field set.
        let mut msg = Vec::with_capacity(16);
        match value {
            Value::Null => return None,
            Value::Text(s) => {
                self.texts.insert(s.clone(), next);
                write_bytes(&mut msg, 1, s.as_bytes());
            }
            Value::Int(i) => {
                self.ints.insert(*i, next);
                // int_value for the common non-negative case; sint_value
                // keeps negative numbers short (int64 would take 10 bytes).
                if *i >= 0 {
                    write_key(&mut msg, 4, VARINT);
                    write_varint(&mut msg, i.unsigned_abs());
                } else {
                    write_key(&mut msg, 6, VARINT);
                    write_varint(&mut msg, zigzag64(*i));
                }
            }
            Value::Real(r) => {
                self.reals.insert(r.to_bits(), next);
                write_key(&mut msg, 3, FIXED64);
                msg.extend_from_slice(&r.to_le_bytes());
            }
            Value::Bool(b) => {
                self.bools[usize::from(*b)] = Some(next);
                write_key(&mut msg, 7, VARINT);
                write_varint(&mut msg, u64::from(*b));
            }
        }
        write_bytes(&mut self.values, 4, &msg);
        self.value_count += 1;
        Some(next)
    }

    /// Adds a feature whose geometry is in tile units (rounded, reoriented and
    /// cleaned by [`encode_geometry`]). Null properties are left out. Returns
    /// `false`, adding nothing, when the geometry degenerates.
    pub fn add_feature<'p>(
        &mut self,
        id: Option<u64>,
        geometry: &geo::Geometry<f64>,
        properties: impl IntoIterator<Item = (&'p str, &'p Value)>,
    ) -> bool {
        let Some(EncodedGeometry { geom_type, commands }) = encode_geometry(geometry) else {
            return false;
        };
        let mut tags = std::mem::take(&mut self.tags);
        tags.clear();
        for (k, v) in properties {
            if let Some(vi) = self.value(v) {
                tags.push(self.key(k));
                tags.push(vi);
            }
        }
        self.push_encoded(id, geom_type, &commands, &tags);
        self.tags = tags;
        true
    }

    /// Adds a feature from commands written by the tile pipeline.
    pub(crate) fn push_writer(&mut self, id: Option<u64>, geom_type: GeomType, writer: &CommandWriter, tags: &[u32]) {
        self.push_encoded(id, geom_type, &writer.commands, tags);
    }

    fn push_encoded(&mut self, id: Option<u64>, geom_type: GeomType, commands: &[u32], tags: &[u32]) {
        let tags_len = packed_payload_len(tags);
        let geometry_len = packed_payload_len(commands);
        let mut len = bytes_field_len(4, geometry_len) + key_len(3) + varint_len(geom_type as u64);
        if let Some(id) = id {
            len += key_len(1) + varint_len(id);
        }
        if !tags.is_empty() {
            len += bytes_field_len(2, tags_len);
        }
        let f = &mut self.features;
        f.reserve(len + 4);
        write_key(f, 2, LEN);
        write_varint(f, len as u64);
        if let Some(id) = id {
            write_key(f, 1, VARINT);
            write_varint(f, id);
        }
        if !tags.is_empty() {
            write_packed(f, 2, tags, tags_len);
        }
        write_key(f, 3, VARINT);
        write_varint(f, geom_type as u64);
        write_packed(f, 4, commands, geometry_len);
        self.feature_count += 1;
    }

    /// Appends the layer (field 3 of `Tile`) to a tile buffer; an empty layer
    /// is written too, so callers that want to omit it check
    /// [`Self::is_empty`] first.
    pub fn write_to(&self, tile: &mut Vec<u8>) {
        let name_len = bytes_field_len(1, self.name.len());
        let tail = key_len(5) + varint_len(u64::from(self.extent)) + key_len(15) + varint_len(u64::from(VERSION));
        let len = name_len + self.features.len() + self.keys.len() + self.values.len() + tail;
        tile.reserve(len + 6);
        write_key(tile, 3, LEN);
        write_varint(tile, len as u64);
        write_bytes(tile, 1, self.name.as_bytes());
        tile.extend_from_slice(&self.features);
        tile.extend_from_slice(&self.keys);
        tile.extend_from_slice(&self.values);
        write_key(tile, 5, VARINT);
        write_varint(tile, u64::from(self.extent));
        write_key(tile, 15, VARINT);
        write_varint(tile, u64::from(VERSION));
    }
}
