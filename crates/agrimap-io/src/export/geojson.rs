//! GeoJSON (RFC 7946): a FeatureCollection in WGS 84 longitude/latitude,
//! one feature per line, properties in schema order.

use super::{Columns, Encoder, ExportError};
use agrimap_model::Feature;
use serde::ser::{Serialize, SerializeMap, SerializeTuple, Serializer};

/// Writes a FeatureCollection.
pub struct GeoJsonEncoder {
    columns: Columns,
    first: bool,
}

impl GeoJsonEncoder {
    #[must_use]
    pub fn new(columns: Columns) -> Self {
        Self { columns, first: true }
    }
}

impl Encoder for GeoJsonEncoder {
    fn head(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError> {
        out.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"features\":[\n");
        Ok(())
    }

    fn chunk(&mut self, features: &[Feature], out: &mut Vec<u8>) -> Result<(), ExportError> {
        for feature in features {
            if !self.first {
                out.extend_from_slice(b",\n");
            }
            self.first = false;
            let f = GeoJsonFeature {
                columns: &self.columns,
                feature,
                links: None,
            };
            serde_json::to_writer(&mut *out, &f).map_err(std::io::Error::from)?;
        }
        Ok(())
    }

    fn tail(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError> {
        out.extend_from_slice(b"\n]}\n");
        Ok(())
    }
}

/// A feature as a GeoJSON Feature with the chosen properties in schema
/// order (and `links`, as OGC API – Features gives one feature).
pub struct GeoJsonFeature<'a> {
    pub columns: &'a Columns,
    pub feature: &'a Feature,
    pub links: Option<&'a serde_json::Value>,
}

impl Serialize for GeoJsonFeature<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("type", "Feature")?;
        map.serialize_entry("id", &self.feature.id)?;
        map.serialize_entry("geometry", &GeoJsonGeometry(&self.feature.geometry))?;
        map.serialize_entry("properties", &Properties(self))?;
        if let Some(links) = self.links {
            map.serialize_entry("links", links)?;
        }
        map.end()
    }
}

struct Properties<'a>(&'a GeoJsonFeature<'a>);

impl Serialize for Properties<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let columns = self.0.columns;
        let mut map = s.serialize_map(None)?;
        for (name, value) in columns.names().zip(columns.values(self.0.feature)) {
            map.serialize_entry(&name, value.as_ref())?;
        }
        map.end()
    }
}

/// A geometry as a GeoJSON geometry object, written straight into the
/// output without building a JSON tree (exports write millions).
pub struct GeoJsonGeometry<'a>(pub &'a geo::Geometry<f64>);

impl GeoJsonGeometry<'_> {
    /// The geometry as a JSON value, longitude first.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

struct Position(geo::Coord<f64>);
struct Line<'a>(&'a geo::LineString<f64>);
struct Rings<'a>(&'a geo::Polygon<f64>);

impl Serialize for Position {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(2)?;
        t.serialize_element(&self.0.x)?;
        t.serialize_element(&self.0.y)?;
        t.end()
    }
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.coords().map(|c| Position(*c)))
    }
}

impl Serialize for Rings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(std::iter::once(self.0.exterior()).chain(self.0.interiors()).map(Line))
    }
}

impl Serialize for GeoJsonGeometry<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use geo::Geometry as G;
        let mut map = s.serialize_map(Some(2))?;
        match self.0 {
            G::Point(p) => {
                map.serialize_entry("type", "Point")?;
                map.serialize_entry("coordinates", &Position(p.0))?;
            }
            G::Line(l) => {
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &[Position(l.start), Position(l.end)])?;
            }
            G::LineString(l) => {
                map.serialize_entry("type", "LineString")?;
                map.serialize_entry("coordinates", &Line(l))?;
            }
            G::Polygon(p) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(p))?;
            }
            G::MultiPoint(m) => {
                map.serialize_entry("type", "MultiPoint")?;
                map.serialize_entry("coordinates", &m.iter().map(|p| Position(p.0)).collect::<Vec<_>>())?;
            }
            G::MultiLineString(m) => {
                map.serialize_entry("type", "MultiLineString")?;
                map.serialize_entry("coordinates", &m.iter().map(Line).collect::<Vec<_>>())?;
            }
            G::MultiPolygon(m) => {
                map.serialize_entry("type", "MultiPolygon")?;
                map.serialize_entry("coordinates", &m.iter().map(Rings).collect::<Vec<_>>())?;
            }
            G::GeometryCollection(c) => {
                map.serialize_entry("type", "GeometryCollection")?;
                map.serialize_entry("geometries", &c.iter().map(GeoJsonGeometry).collect::<Vec<_>>())?;
            }
            G::Rect(r) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(&r.to_polygon()))?;
            }
            G::Triangle(t) => {
                map.serialize_entry("type", "Polygon")?;
                map.serialize_entry("coordinates", &Rings(&t.to_polygon()))?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::write_sync;
    use agrimap_model::Value;

    #[test]
    fn a_collection_of_features_with_the_chosen_properties() {
        let ocop = agrimap_model::layer("ocop").expect("ocop");
        let name = ocop.fields.iter().position(|f| f.name == "name").expect("name");
        let feature = Feature {
            id: 7,
            geometry: geo::Geometry::Point(geo::Point::new(105.5, 10.25)),
            properties: ocop
                .fields
                .iter()
                .map(|f| {
                    if f.name == "name" {
                        Value::Text("Mắm".into())
                    } else {
                        Value::Null
                    }
                })
                .collect(),
        };
        let mut encoder = GeoJsonEncoder::new(Columns::new(ocop, vec![name]));
        let mut out = Vec::new();
        let page = [feature.clone(), Feature { id: 8, ..feature }];
        write_sync(&mut encoder, [&page[..1], &page[1..]], &mut out).expect("written");
        let json: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(json["features"][1]["id"], 8);
        assert_eq!(json["features"][0]["properties"], serde_json::json!({"name": "Mắm"}));
        assert_eq!(
            json["features"][0]["geometry"]["coordinates"],
            serde_json::json!([105.5, 10.25])
        );
    }

    #[test]
    fn features_carry_the_chosen_properties_in_schema_order() {
        let crop = agrimap_model::layer("crop").expect("crop");
        let mut properties: Vec<Value> = crop.fields.iter().map(|_| Value::Null).collect();
        properties[crop.field_index("crop_type").expect("i")] = "rice".into();
        let feature = Feature {
            id: 7,
            geometry: geo::Geometry::Point(geo::Point::new(105.8, 9.9)),
            properties,
        };
        let columns = Columns::new(
            crop,
            crop.readable_fields(agrimap_model::Audience::Public)
                .map(|(i, _)| i)
                .collect(),
        );
        let text = serde_json::to_string(&GeoJsonFeature {
            columns: &columns,
            feature: &feature,
            links: None,
        })
        .expect("json");
        assert!(text.starts_with(r#"{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[105.8,9.9]},"properties":{"parcel_id":null,"commune_code":null"#), "{text}");
        assert!(text.contains(r#""crop_type":"rice""#));
        assert!(!text.contains("owner"), "{text}");
    }

    #[test]
    fn geojson_of_a_polygon_with_a_hole() {
        let outer = geo::LineString::from(vec![(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 0.0)]);
        let hole = geo::LineString::from(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0)]);
        let j = GeoJsonGeometry(&geo::Geometry::Polygon(geo::Polygon::new(outer, vec![hole]))).to_json();
        assert_eq!(j["type"], "Polygon");
        assert_eq!(j["coordinates"][1][2], serde_json::json!([2.0, 2.0]));
    }
}
