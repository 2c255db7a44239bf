//! Layer and field definitions.

use serde::Serialize;

/// The type of an attribute field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Integer,
    Real,
    Boolean,
    /// ISO 8601 calendar date, stored as text (`2026-03-01`).
    Date,
    /// ISO 8601 UTC timestamp, stored as text (`2026-03-01T07:00:00Z`).
    DateTime,
}

impl FieldType {
    /// The name used in TileJSON `vector_layers` (`String`, `Number`, `Boolean`).
    #[must_use]
    pub fn tilejson_name(self) -> &'static str {
        match self {
            Self::Integer | Self::Real => "Number",
            Self::Boolean => "Boolean",
            Self::Text | Self::Date | Self::DateTime => "String",
        }
    }
}

/// Who may read a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone, including anonymous map users.
    Public,
    /// Personal or business data (owner names, phone numbers): signed-in roles only.
    Restricted,
}

/// What a reader is allowed to see. The default is the safe one: public fields only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// Anonymous readers: public fields only.
    #[default]
    Public,
    /// Signed-in readers with access to restricted fields.
    Full,
}

impl Audience {
    #[must_use]
    pub fn may_read(self, access: Access) -> bool {
        matches!((self, access), (Self::Full, _) | (Self::Public, Access::Public))
    }
}

/// One attribute field of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldDef {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Unit of measure (`ha`, `m`, `ppt`, ...), if the field has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
    pub access: Access,
    /// Whether the field must have a value.
    pub required: bool,
    /// The allowed values of an enumerated text field; empty when free.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub values: &'static [&'static str],
    /// The code list the values come from ([`crate::codes`]): kept in the
    /// store and checked against it, not fixed here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_list: Option<&'static str>,
    /// The least and greatest value of a number, both allowed (an area is
    /// not negative, OCOP stars are 3 to 5); `None` when any number is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounds: Option<(i64, i64)>,
    pub description: &'static str,
}

impl FieldDef {
    /// Why `value` lies outside the field's bounds, if it does.
    #[must_use]
    pub fn out_of_bounds(&self, value: &crate::Value) -> Option<String> {
        let (min, max) = self.bounds?;
        let number = value.as_f64()?;
        #[expect(clippy::cast_precision_loss, reason = "bounds are small whole numbers")]
        let (low, high) = (min as f64, max as f64);
        if number >= low && number <= high {
            return None;
        }
        Some(if max == i64::MAX {
            format!("field '{}' is at least {min}, not {number}", self.name)
        } else {
            format!("field '{}' is from {min} to {max}, not {number}", self.name)
        })
    }
}

/// Whether a layer is part of the base map or a thematic overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerGroup {
    Base,
    Theme,
}

/// The geometry a layer holds (each may also be the multi- variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum GeometryKind {
    Point,
    LineString,
    Polygon,
    /// One point or lines a feature: works that are drawn as a point (a
    /// sluice gate, a pumping station) beside works drawn as lines (a dyke,
    /// an embankment) in one layer, so a kind of work is a field, not a
    /// layer. Stored as a generic geometry column that holds only these two.
    PointOrLine,
}

impl GeometryKind {
    /// The GeoPackage / OGC geometry type name for the column.
    #[must_use]
    pub fn ogc_name(self) -> &'static str {
        match self {
            Self::Point => "POINT",
            Self::LineString => "MULTILINESTRING",
            Self::Polygon => "MULTIPOLYGON",
            Self::PointOrLine => "GEOMETRY",
        }
    }

    /// Whether a feature's extent says how large it is drawn: not for
    /// points, which are drawn at any zoom however small the box.
    #[must_use]
    pub fn has_extent(self) -> bool {
        matches!(self, Self::LineString | Self::Polygon)
    }
}

/// The zoom from which parcels and ponds are drawn one by one: a parcel of
/// the demo province (about 25 × 60 m at two million parcels) is some 5 × 12
/// px there on a 512 px tile, and the farmer style outlines parcels from it.
pub const LEGIBLE_ZOOM: u8 = 13;

/// How a dense polygon layer is drawn below the zoom where its features are
/// legible: the features of one class (the same values of `class_fields`,
/// the fields the styles colour by) are merged across the edges they share
/// within the tile and simplified, and the tile carries one feature per
/// class with only those fields (no id, no other field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coalescing {
    /// Tiles below this zoom coalesce; from it on, features are drawn whole.
    pub below_zoom: u8,
    /// The fields that make a class.
    pub class_fields: &'static [&'static str],
}

/// One layer of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LayerDef {
    pub id: &'static str,
    pub title: &'static str,
    pub title_vi: &'static str,
    pub group: LayerGroup,
    pub geometry: GeometryKind,
    /// Lowest zoom at which the layer appears in tiles.
    pub minzoom: u8,
    /// Highest zoom at which tiles are generated (clients overzoom beyond it).
    pub maxzoom: u8,
    pub description: &'static str,
    pub fields: &'static [FieldDef],
}

impl LayerDef {
    /// Index of a field by name.
    #[must_use]
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// The value of the field `name` in a feature of this layer; `Null` when
    /// the layer has no such field (or the feature is short of values).
    #[must_use]
    pub fn value_of<'f>(&self, feature: &'f crate::Feature, name: &str) -> &'f crate::Value {
        const NULL: &crate::Value = &crate::Value::Null;
        self.field_index(name)
            .and_then(|i| feature.properties.get(i))
            .unwrap_or(NULL)
    }

    /// The text of the field `name` in a feature of this layer; `None` when
    /// it is null, empty or not text.
    #[must_use]
    pub fn text_of<'f>(&self, feature: &'f crate::Feature, name: &str) -> Option<&'f str> {
        self.value_of(feature, name).as_str().filter(|s| !s.is_empty())
    }

    /// A field by name.
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Indices of the fields an audience may read, in schema order.
    pub fn readable_fields(&self, audience: Audience) -> impl Iterator<Item = (usize, &'static FieldDef)> {
        self.fields
            .iter()
            .enumerate()
            .filter(move |(_, f)| audience.may_read(f.access))
    }

    /// Whether the layer carries a `commune_code` field.
    #[must_use]
    pub fn has_commune(&self) -> bool {
        self.field_index("commune_code").is_some()
    }

    /// How the layer is drawn below the zoom where its features are legible
    /// one by one (see [`Coalescing`]); `None` for layers always drawn
    /// feature by feature. Only the dense layers (parcels and ponds, a few
    /// pixels each at zoom 12) are coalesced; boundaries, growing areas and
    /// the like are few, carry names and codes the page shows, and stay whole.
    #[must_use]
    pub fn coalescing(&self) -> Option<Coalescing> {
        match self.id {
            // The farmer and planner styles colour parcels by crop type.
            "crop" => Some(Coalescing {
                below_zoom: LEGIBLE_ZOOM,
                class_fields: &["crop_type"],
            }),
            // The farmer style colours ponds by species, the planner style by mode.
            "aquaculture" => Some(Coalescing {
                below_zoom: LEGIBLE_ZOOM,
                class_fields: &["species", "mode"],
            }),
            _ => None,
        }
    }

    /// Whether every change to the layer's features is kept as a version
    /// (valid from / valid to), so that the layer can be read as it stood on
    /// a past day: the thematic layers, except the monitoring stations,
    /// whose every reading updates their latest values (their readings are
    /// their history, kept apart).
    #[must_use]
    pub fn versioned(&self) -> bool {
        self.group == LayerGroup::Theme && self.id != "monitoring"
    }

    /// A feature's natural key as text, its values joined by `/`
    /// (`parcel_id` of a parcel, …); `None` when the layer has no key or
    /// the feature no value for it.
    #[must_use]
    pub fn key_text(&self, feature: &crate::Feature) -> Option<String> {
        let key: Vec<&str> = self
            .natural_key()
            .iter()
            .filter_map(|k| self.text_of(feature, k))
            .collect();
        (!key.is_empty()).then(|| key.join("/"))
    }

    /// The fields whose values identify a feature of the layer in the
    /// departments' own records (a parcel's id, a growing-area code as
    /// issued, a commune's official code in its boundary set), so that
    /// bringing the same records in again updates them instead of adding
    /// copies. Empty for layers without such an identifier (rivers, roads,
    /// places). Every key field is required.
    #[must_use]
    pub fn natural_key(&self) -> &'static [&'static str] {
        match self.id {
            "admin_province" | "admin_district" | "admin_commune" => &["code", "boundary_set"],
            "crop" => &["parcel_id"],
            "aquaculture" => &["pond_id"],
            "monitoring" => &["station_id"],
            "growing_area" => &["code"],
            "ocop" => &["product_id"],
            "irrigation_works" => &["work_id"],
            "irrigated_areas" => &["area_id"],
            "forest_plots" => &["plot_id"],
            "livestock_farms" => &["farm_id"],
            _ => &[],
        }
    }
}

impl LayerDef {
    /// Checks a feature against the schema: one value per field, each of the
    /// field's type, required fields present, enumerated fields within their values.
    ///
    /// # Errors
    /// A message naming the first offending field.
    pub fn check_feature(&self, feature: &crate::Feature) -> Result<(), String> {
        self.check(feature, true)
    }

    /// [`Self::check_feature`] for a past version copied from another
    /// store: kept as it was, so a bound added since does not refuse it.
    ///
    /// # Errors
    /// A message naming the first offending field.
    pub fn check_past_feature(&self, feature: &crate::Feature) -> Result<(), String> {
        self.check(feature, false)
    }

    fn check(&self, feature: &crate::Feature, bounded: bool) -> Result<(), String> {
        use crate::Value;
        if feature.properties.len() != self.fields.len() {
            return Err(format!(
                "expected {} attribute values for layer '{}', got {}",
                self.fields.len(),
                self.id,
                feature.properties.len()
            ));
        }
        for (field, value) in self.fields.iter().zip(&feature.properties) {
            let type_ok = match (field.ty, value) {
                (_, Value::Null) => !field.required,
                (FieldType::Text | FieldType::Date | FieldType::DateTime, Value::Text(_))
                | (FieldType::Integer, Value::Int(_))
                | (FieldType::Real, Value::Real(_) | Value::Int(_))
                | (FieldType::Boolean, Value::Bool(_)) => true,
                _ => false,
            };
            if !type_ok {
                return Err(if value.is_null() {
                    format!("field '{}' is required", field.name)
                } else {
                    format!("field '{}' expects {:?}, got {value:?}", field.name, field.ty)
                });
            }
            if let Some(reason) = field.out_of_bounds(value).filter(|_| bounded) {
                return Err(reason);
            }
            if let (false, Value::Text(s)) = (field.values.is_empty(), value)
                && !field.values.contains(&s.as_str())
            {
                return Err(format!(
                    "field '{}' does not allow '{s}' (allowed: {})",
                    field.name,
                    field.values.join(", ")
                ));
            }
        }
        Ok(())
    }
}
