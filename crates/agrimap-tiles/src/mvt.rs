//! Mapbox Vector Tile 2.1, encoded and decoded by hand.
//!
//! The format is four protobuf messages (`Tile`, `Layer`, `Feature`,
//! `Value`) and a small geometry command language, so a hand-written codec is
//! shorter than a protobuf toolchain and lets the encoder write straight into
//! one buffer per layer.
//!
//! - `wire` (private): varints, zigzag and length-delimited fields.
//! - [`commands`]: geometry command streams, ring winding.
//! - [`encode`]: one layer's key/value tables and features.
//! - [`decode`](mod@decode): tiles back into layers and `geo` geometry.

pub mod commands;
pub mod decode;
pub mod encode;
mod fxhash;
mod wire;

pub use commands::{EncodedGeometry, GeomType, decode_geometry, encode_geometry, ring_area2};
pub use decode::{DecodedFeature, DecodedLayer, decode};
pub use encode::{LayerEncoder, VERSION};

/// Why bytes are not a valid vector tile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MvtError {
    #[error("the {context} ends in the middle of a field")]
    Truncated { context: &'static str },
    #[error("a varint in the {context} is longer than 10 bytes or too large for its field")]
    VarintOverflow { context: &'static str },
    #[error("field {field} of the {context} has wire type {wire_type}, which it cannot have")]
    WireType {
        context: &'static str,
        field: u32,
        wire_type: u8,
    },
    #[error("the {context} is not valid UTF-8")]
    Utf8 { context: &'static str },
    #[error("a layer has no name")]
    MissingLayerName,
    #[error("a value sets none of its fields")]
    EmptyValue,
    #[error("layer '{layer}': {reason}")]
    Tag { layer: String, reason: String },
    #[error("bad geometry: {0}")]
    Geometry(String),
    #[error("the tile would expand to more than {limit} bytes of attribute text")]
    TooLarge { limit: usize },
}

#[cfg(test)]
// Shapes on the integer grid: their areas and coordinates are exact in f64,
// and exact equality is what these tests check.
#[allow(clippy::float_cmp)]
mod tests {
    use super::*;
    use agrimap_model::Value;
    use geo::{Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Polygon, line_string, point, polygon};
    use std::collections::BTreeMap;

    /// Encodes one feature in one layer and decodes the tile.
    fn round_trip(geometry: &Geometry<f64>, props: &[(&str, Value)]) -> DecodedFeature {
        let mut layer = LayerEncoder::new("test", 4096);
        assert!(layer.add_feature(Some(42), geometry, props.iter().map(|(k, v)| (*k, v))));
        let mut tile = Vec::new();
        layer.write_to(&mut tile);
        let mut layers = decode(&tile).expect("decodes");
        assert_eq!(layers.len(), 1);
        let l = layers.remove(0);
        assert_eq!(
            (l.name.as_str(), l.extent, l.version, l.features.len()),
            ("test", 4096, 2, 1)
        );
        l.features.into_iter().next().expect("one feature")
    }

    fn same_geometry(geometry: &Geometry<f64>) {
        let f = round_trip(geometry, &[]);
        assert_eq!(&f.geometry, geometry);
        assert_eq!(f.id, Some(42));
    }

    #[test]
    fn points_and_multipoints_round_trip() {
        same_geometry(&Geometry::Point(point!(x: 100.0, y: 4000.0)));
        same_geometry(&Geometry::Point(point!(x: -64.0, y: 4160.0)));
        same_geometry(&Geometry::MultiPoint(MultiPoint(vec![
            point!(x: 1.0, y: 2.0),
            point!(x: 3000.0, y: 17.0),
            point!(x: 1.0, y: 2.0),
        ])));
    }

    #[test]
    fn lines_and_multilines_round_trip() {
        same_geometry(&Geometry::LineString(
            line_string![(x: 0.0, y: 0.0), (x: 10.0, y: 5.0), (x: 4096.0, y: 4096.0)],
        ));
        same_geometry(&Geometry::MultiLineString(MultiLineString(vec![
            line_string![(x: 0.0, y: 0.0), (x: 10.0, y: 5.0)],
            line_string![(x: 100.0, y: 100.0), (x: 50.0, y: 60.0), (x: 3.0, y: 2.0)],
        ])));
    }

    #[test]
    fn polygons_with_holes_and_multipolygons_round_trip() {
        // Exterior clockwise on screen (positive area, y down), hole counter-clockwise.
        let with_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)],
            interiors: [[(x: 20.0, y: 20.0), (x: 20.0, y: 40.0), (x: 40.0, y: 40.0), (x: 40.0, y: 20.0)]],
        );
        same_geometry(&Geometry::Polygon(with_hole.clone()));
        let second = polygon![(x: 200.0, y: 200.0), (x: 300.0, y: 200.0), (x: 250.0, y: 280.0)];
        same_geometry(&Geometry::MultiPolygon(MultiPolygon(vec![with_hole, second])));
    }

    #[test]
    fn wrongly_wound_input_comes_back_correctly_wound() {
        // Exterior counter-clockwise on screen, hole clockwise: both reversed.
        let ccw = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 0.0, y: 100.0), (x: 100.0, y: 100.0), (x: 100.0, y: 0.0)],
            interiors: [[(x: 20.0, y: 20.0), (x: 40.0, y: 20.0), (x: 40.0, y: 40.0), (x: 20.0, y: 40.0)]],
        );
        let f = round_trip(&Geometry::Polygon(ccw), &[]);
        let Geometry::Polygon(p) = f.geometry else {
            panic!("a polygon expected, got {:?}", f.geometry)
        };
        let area2 = |r: &LineString<f64>| r.0.windows(2).map(|w| w[0].x * w[1].y - w[1].x * w[0].y).sum::<f64>();
        assert_eq!(area2(p.exterior()), 20_000.0);
        assert_eq!(area2(&p.interiors()[0]), -800.0);
    }

    #[test]
    fn attributes_of_every_type_round_trip() {
        let props = [
            ("name", Value::from("Ấp Mỹ Khánh")),
            ("households", Value::Int(1234)),
            ("balance", Value::Int(-5)),
            ("big", Value::Int(i64::MIN)),
            ("area_ha", Value::Real(2.75)),
            ("certified", Value::Bool(true)),
            ("flooded", Value::Bool(false)),
            ("variety", Value::Null),
        ];
        let f = round_trip(&Geometry::Point(point!(x: 1.0, y: 1.0)), &props);
        let expected: BTreeMap<String, Value> = props
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        assert_eq!(f.properties, expected);
        assert!(!f.properties.contains_key("variety"));
    }

    #[test]
    fn keys_and_values_are_shared_across_features() {
        let mut layer = LayerEncoder::new("crop", 4096);
        let (rice, mango) = (Value::from("rice"), Value::from("mango"));
        for (i, crop) in [&rice, &mango, &rice, &rice].into_iter().enumerate() {
            let g = Geometry::Point(point!(x: i as f64, y: 0.0));
            assert!(layer.add_feature(Some(i as u64), &g, [("crop_type", crop), ("season", &rice)]));
        }
        assert_eq!((layer.key("crop_type"), layer.key("season")), (0, 1));
        assert_eq!((layer.value(&rice), layer.value(&mango)), (Some(0), Some(1)));
        assert_eq!(layer.value(&Value::Null), None);
        let mut tile = Vec::new();
        layer.write_to(&mut tile);
        let text = String::from_utf8_lossy(&tile);
        assert_eq!(text.matches("rice").count(), 1, "each value stored once");
        assert_eq!(text.matches("crop_type").count(), 1, "each key stored once");
        let l = &decode(&tile).expect("decodes")[0];
        let crops: Vec<_> = l.features.iter().map(|f| f.properties["crop_type"].clone()).collect();
        assert_eq!(crops, [rice.clone(), mango, rice.clone(), rice]);
        assert_eq!(
            l.features.iter().map(|f| f.id).collect::<Vec<_>>(),
            [Some(0), Some(1), Some(2), Some(3)]
        );
    }

    #[test]
    fn several_layers_and_features_without_ids() {
        let mut tile = Vec::new();
        for name in ["roads", "water"] {
            let mut layer = LayerEncoder::new(name, 512);
            let g = Geometry::LineString(line_string![(x: 0.0, y: 0.0), (x: 5.0, y: 5.0)]);
            assert!(layer.add_feature(None, &g, []));
            layer.write_to(&mut tile);
        }
        let layers = decode(&tile).expect("decodes");
        assert_eq!(
            layers.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
            ["roads", "water"]
        );
        assert_eq!((layers[1].extent, layers[1].features[0].id), (512, None));
    }

    #[test]
    fn degenerate_geometry_is_not_added() {
        let mut layer = LayerEncoder::new("x", 4096);
        let sliver = Polygon::new(
            line_string![(x: 0.0, y: 0.0), (x: 0.2, y: 0.0), (x: 0.2, y: 0.2)],
            vec![],
        );
        assert!(!layer.add_feature(Some(1), &Geometry::Polygon(sliver), []));
        assert!(layer.is_empty());
    }

    fn sample_tile() -> Vec<u8> {
        let mut layer = LayerEncoder::new("crop", 4096);
        let v = Value::from("rice");
        let g = Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0)]);
        assert!(layer.add_feature(Some(9), &g, [("crop_type", &v)]));
        let mut tile = Vec::new();
        layer.write_to(&mut tile);
        tile
    }

    #[test]
    fn every_truncation_is_an_error() {
        let tile = sample_tile();
        assert!(decode(&tile).is_ok());
        for len in 1..tile.len() {
            assert!(decode(&tile[..len]).is_err(), "prefix of {len} bytes decoded");
        }
        assert_eq!(decode(&[]), Ok(vec![]));
    }

    #[test]
    fn malformed_tiles_are_errors_not_panics() {
        let cases: &[&[u8]] = &[
            &[0x1a, 0x80],                         // truncated length varint
            &[0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f], // layer longer than the input
            &[0x18, 0x01],                         // layer with a varint wire type
            &[0x1a, 0x02, 0x28, 0x01],             // layer without a name
            &[0x1a, 0x03, 0x0a, 0x01, 0xff],       // name not UTF-8
            &[0x1b],                               // group wire type
            &[
                0x1a, 0x0b, 0x0a, 0x01, b'a', 0x12, 0x06, 0x18, 0x01, 0x22, 0x02, 0x0b, 0x00,
            ], // bad command
            // Feature with a tag pointing past the key table.
            &[
                0x1a, 0x0d, 0x0a, 0x01, b'a', 0x12, 0x08, 0x12, 0x02, 0x05, 0x00, 0x18, 0x01, 0x22, 0x00,
            ],
        ];
        for bytes in cases {
            assert!(decode(bytes).is_err(), "{bytes:02x?} decoded");
        }
        // Unknown fields are skipped.
        let mut tile = vec![0x08, 0x96, 0x01, 0x15, 0, 0, 0, 0];
        tile.extend(sample_tile());
        assert_eq!(decode(&tile).map(|l| l.len()), Ok(1));
    }

    #[test]
    fn flipped_bytes_never_panic() {
        let tile = sample_tile();
        for i in 0..tile.len() {
            for bit in 0..8 {
                let mut t = tile.clone();
                t[i] ^= 1 << bit;
                let _ = decode(&t);
            }
        }
    }

    #[test]
    fn text_amplification_is_capped() {
        // One 4 KiB key referenced by many features.
        let mut layer = LayerEncoder::new("x", 4096);
        let key = "k".repeat(4096);
        let v = Value::Bool(true);
        let g = Geometry::Point(point!(x: 0.0, y: 0.0));
        for _ in 0..400 {
            layer.add_feature(None, &g, [(key.as_str(), &v)]);
        }
        let mut tile = Vec::new();
        layer.write_to(&mut tile);
        assert!(decode(&tile).is_ok(), "1.6 MB of text is within the floor");
        for _ in 0..20_000 {
            layer.add_feature(None, &g, [(key.as_str(), &v)]);
        }
        tile.clear();
        layer.write_to(&mut tile);
        assert!(matches!(decode(&tile), Err(MvtError::TooLarge { .. })));
    }
}
