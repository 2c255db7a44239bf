//! Reading tiles back: used by the tests of every crate that makes tiles and,
//! later, fuzzed. It therefore treats its input as hostile: every length is
//! checked against the bytes present, nothing is allocated for a count the
//! input does not back, and attribute text copied out per feature is capped
//! relative to the input size (a tile could otherwise reference one long
//! string from millions of features).

use super::MvtError;
use super::commands::{GeomType, decode_geometry};
use super::wire::{FIXED32, FIXED64, LEN, Reader, VARINT, unzigzag64};
use agrimap_model::Value;
use std::collections::BTreeMap;

/// One layer of a decoded tile.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedLayer {
    pub name: String,
    pub extent: u32,
    pub version: u32,
    pub features: Vec<DecodedFeature>,
}

/// One feature of a decoded layer.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedFeature {
    pub id: Option<u64>,
    /// In tile units (0..extent, y down); see [`crate::TileProjector::unproject`].
    pub geometry: geo::Geometry<f64>,
    pub properties: BTreeMap<String, Value>,
}

/// How many bytes of attribute text decoding may copy out.
struct Budget {
    left: usize,
    limit: usize,
}

impl Budget {
    fn new(input_len: usize) -> Self {
        let limit = input_len.saturating_mul(64).saturating_add(1 << 20);
        Self { left: limit, limit }
    }

    fn charge(&mut self, bytes: usize) -> Result<(), MvtError> {
        self.left = self
            .left
            .checked_sub(bytes)
            .ok_or(MvtError::TooLarge { limit: self.limit })?;
        Ok(())
    }
}

/// Decodes a (gunzipped) tile.
///
/// # Errors
/// [`MvtError`] for anything that is not a well-formed MVT 2.1 tile:
/// truncated or overlong varints, lengths past the end of the input, wrong
/// wire types for known fields, non-UTF-8 strings, a layer without a name,
/// tags pointing outside the key or value table, and geometry commands the
/// spec forbids (see [`decode_geometry`]).
pub fn decode(bytes: &[u8]) -> Result<Vec<DecodedLayer>, MvtError> {
    let mut budget = Budget::new(bytes.len());
    let mut r = Reader::new(bytes, "tile");
    let mut layers = Vec::new();
    while !r.at_end() {
        match r.key()? {
            (3, LEN) => layers.push(decode_layer(r.bytes()?, &mut budget)?),
            (3, wire_type) => return Err(r.wire_type_error(3, wire_type)),
            (field, wire_type) => r.skip(field, wire_type)?,
        }
    }
    Ok(layers)
}

fn utf8(bytes: &[u8], context: &'static str) -> Result<String, MvtError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| MvtError::Utf8 { context })
}

fn decode_layer(buf: &[u8], budget: &mut Budget) -> Result<DecodedLayer, MvtError> {
    let mut r = Reader::new(buf, "layer");
    let (mut name, mut version, mut extent) = (None, 1, 4096);
    let (mut features, mut keys, mut values) = (Vec::new(), Vec::new(), Vec::new());
    while !r.at_end() {
        match r.key()? {
            (1, LEN) => name = Some(utf8(r.bytes()?, "layer name")?),
            (2, LEN) => features.push(r.bytes()?),
            (3, LEN) => keys.push(utf8(r.bytes()?, "layer keys")?),
            (4, LEN) => values.push(decode_value(r.bytes()?)?),
            (5, VARINT) => extent = r.varint_u32()?,
            (15, VARINT) => version = r.varint_u32()?,
            (field @ (1..=5 | 15), wire_type) => return Err(r.wire_type_error(field, wire_type)),
            (field, wire_type) => r.skip(field, wire_type)?,
        }
    }
    let name = name.ok_or(MvtError::MissingLayerName)?;
    let features = features
        .into_iter()
        .map(|f| decode_feature(f, &name, &keys, &values, budget))
        .collect::<Result<_, _>>()?;
    Ok(DecodedLayer {
        name,
        extent,
        version,
        features,
    })
}

fn decode_value(buf: &[u8]) -> Result<Value, MvtError> {
    let mut r = Reader::new(buf, "value");
    let mut value = None;
    while !r.at_end() {
        value = Some(match r.key()? {
            (1, LEN) => Value::Text(utf8(r.bytes()?, "string value")?),
            (2, FIXED32) => Value::Real(f64::from(f32::from_bits(r.fixed32()?))),
            (3, FIXED64) => Value::Real(f64::from_bits(r.fixed64()?)),
            (4, VARINT) => Value::Int(r.varint()? as i64),
            // uint64 beyond i64 has no exact Value; the nearest real is kept.
            (5, VARINT) => {
                let u = r.varint()?;
                i64::try_from(u).map_or(Value::Real(u as f64), Value::Int)
            }
            (6, VARINT) => Value::Int(unzigzag64(r.varint()?)),
            (7, VARINT) => Value::Bool(r.varint()? != 0),
            (field @ 1..=7, wire_type) => return Err(r.wire_type_error(field, wire_type)),
            (field, wire_type) => {
                r.skip(field, wire_type)?;
                continue;
            }
        });
    }
    value.ok_or(MvtError::EmptyValue)
}

fn decode_feature(
    buf: &[u8],
    layer: &str,
    keys: &[String],
    values: &[Value],
    budget: &mut Budget,
) -> Result<DecodedFeature, MvtError> {
    let mut r = Reader::new(buf, "feature");
    let (mut id, mut geom_type, mut tags, mut commands) = (None, GeomType::Unknown, Vec::new(), Vec::new());
    while !r.at_end() {
        match r.key()? {
            (1, VARINT) => id = Some(r.varint()?),
            (2, wire_type) => r.repeated_u32(2, wire_type, &mut tags)?,
            (3, VARINT) => geom_type = GeomType::from_u32(r.varint_u32()?),
            (4, wire_type) => r.repeated_u32(4, wire_type, &mut commands)?,
            (field @ (1 | 3), wire_type) => return Err(r.wire_type_error(field, wire_type)),
            (field, wire_type) => r.skip(field, wire_type)?,
        }
    }
    let tag_error = |reason: String| MvtError::Tag {
        layer: layer.to_owned(),
        reason,
    };
    if tags.len() % 2 != 0 {
        return Err(tag_error(format!(
            "a feature has an odd number of tags ({})",
            tags.len()
        )));
    }
    let mut properties = BTreeMap::new();
    for pair in tags.chunks_exact(2) {
        let key = keys
            .get(pair[0] as usize)
            .ok_or_else(|| tag_error(format!("key index {} but {} keys", pair[0], keys.len())))?;
        let value = values
            .get(pair[1] as usize)
            .ok_or_else(|| tag_error(format!("value index {} but {} values", pair[1], values.len())))?;
        budget.charge(key.len() + value.as_str().map_or(0, str::len))?;
        properties.insert(key.clone(), value.clone());
    }
    Ok(DecodedFeature {
        id,
        geometry: decode_geometry(geom_type, &commands)?,
        properties,
    })
}
