//! Building features of a catalog layer by field name.

use agrimap_model::{Feature, FieldType, LayerDef, Value};
use geo::{GeodesicArea, Geometry};

/// A feature under construction; `boundary_set` is filled in for every layer
/// (the demo province uses the pre-2025 boundaries, which have districts).
pub struct FeatureBuilder {
    layer: &'static LayerDef,
    feature: Feature,
}

impl FeatureBuilder {
    #[must_use]
    pub fn new(layer: &str, index: usize, geometry: Geometry<f64>) -> Self {
        let layer = agrimap_model::layer(layer).expect("a catalog layer");
        let mut b = Self {
            layer,
            feature: Feature {
                id: i64::try_from(index + 1).expect("feature ids fit i64"),
                geometry,
                properties: vec![Value::Null; layer.fields.len()],
            },
        };
        if layer.field("boundary_set").is_some() {
            b = b.set("boundary_set", "pre-2025");
        }
        b
    }

    /// Sets a field; integers given to real fields become reals.
    #[must_use]
    pub fn set(mut self, field: &str, value: impl Into<Value>) -> Self {
        let i = self
            .layer
            .field_index(field)
            .unwrap_or_else(|| panic!("{} has no field {field}", self.layer.id));
        let value = match (self.layer.fields[i].ty, value.into()) {
            (FieldType::Real, Value::Int(v)) => Value::Real(v as f64),
            (_, v) => v,
        };
        self.feature.properties[i] = value;
        self
    }

    #[must_use]
    pub fn set_opt(self, field: &str, value: Option<impl Into<Value>>) -> Self {
        match value {
            Some(v) => self.set(field, v),
            None => self,
        }
    }

    #[must_use]
    pub fn build(self) -> Feature {
        debug_assert_eq!(self.layer.check_feature(&self.feature), Ok(()), "{}", self.layer.id);
        self.feature
    }
}

/// Area on the WGS 84 ellipsoid in hectares, rounded to 1 m².
#[must_use]
pub fn geodesic_ha(g: &Geometry<f64>) -> f64 {
    (g.geodesic_area_unsigned() / 10_000.0 * 10_000.0).round() / 10_000.0
}
