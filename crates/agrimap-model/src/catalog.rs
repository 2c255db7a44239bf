//! The layer catalog: the base map and the agricultural themes a Vietnamese
//! provincial agriculture department keeps. Field names are the column names in
//! both stores, the attribute names in tiles and the property names in GeoJSON.

use crate::schema::{Access, FieldDef, FieldType, GeometryKind, LayerDef, LayerGroup};

const fn field(name: &'static str, ty: FieldType, description: &'static str) -> FieldDef {
    FieldDef {
        name,
        ty,
        unit: None,
        access: Access::Public,
        required: false,
        values: &[],
        code_list: None,
        bounds: None,
        description,
    }
}

const fn text(name: &'static str, description: &'static str) -> FieldDef {
    field(name, FieldType::Text, description)
}

const fn required(f: FieldDef) -> FieldDef {
    FieldDef { required: true, ..f }
}

const fn restricted(f: FieldDef) -> FieldDef {
    FieldDef {
        access: Access::Restricted,
        ..f
    }
}

const fn with_unit(f: FieldDef, unit: &'static str) -> FieldDef {
    FieldDef { unit: Some(unit), ..f }
}

/// A field whose values are the codes of a list kept in the store
/// ([`crate::codes`]), not fixed here.
const fn coded(f: FieldDef, list: &'static str) -> FieldDef {
    FieldDef {
        code_list: Some(list),
        ..f
    }
}

const fn one_of(f: FieldDef, values: &'static [&'static str]) -> FieldDef {
    FieldDef { values, ..f }
}

/// A number from `min` to `max` (both allowed).
const fn within(f: FieldDef, min: i64, max: i64) -> FieldDef {
    FieldDef {
        bounds: Some((min, max)),
        ..f
    }
}

/// An area, never negative.
const fn hectares(name: &'static str, description: &'static str) -> FieldDef {
    within(with_unit(field(name, FieldType::Real, description), "ha"), 0, i64::MAX)
}

/// `boundary_set`: which administrative boundary set a code belongs to.
const BOUNDARY_SET: FieldDef = required(one_of(
    text(
        "boundary_set",
        "Administrative boundary set the codes refer to (before or after the 1 July 2025 reorganisation)",
    ),
    &["pre-2025", "2025"],
));
const COMMUNE_CODE: FieldDef = required(text("commune_code", "Official code of the commune the feature lies in"));
/// What `agrimap recode --to 2025` keeps of the code it replaces.
const FORMER_COMMUNE_CODE: FieldDef = text(
    "former_commune_code",
    "The pre-2025 commune code the feature carried before it was recoded to the 2025 communes",
);

pub const ALERT_STATES: &[&str] = &["ok", "watch", "alarm", "silent"];
pub const NTM_STATUSES: &[&str] = &["not_yet", "standard", "advanced", "model"];

static ADMIN_PROVINCE: &[FieldDef] = &[
    required(text("code", "Official province code")),
    required(text("name", "Province name")),
    BOUNDARY_SET,
    hectares("area_ha", "Area on the ellipsoid"),
];

static ADMIN_DISTRICT: &[FieldDef] = &[
    required(text("code", "Official district code")),
    required(text("name", "District name")),
    required(text("province_code", "Official code of the province")),
    BOUNDARY_SET,
    one_of(
        text("kind", "huyện (rural district), thị xã (town) or thành phố (city)"),
        &["huyen", "thi_xa", "thanh_pho"],
    ),
    hectares("area_ha", "Area on the ellipsoid"),
];

static ADMIN_COMMUNE: &[FieldDef] = &[
    required(text("code", "Official commune code")),
    required(text("name", "Commune name")),
    text(
        "district_code",
        "Official code of the district (empty in the 2025 set, which has none)",
    ),
    required(text("province_code", "Official code of the province")),
    BOUNDARY_SET,
    one_of(
        text(
            "kind",
            "xã (rural commune), phường (ward), thị trấn (township, before 2025) or đặc khu (special zone, from 2025)",
        ),
        &["xa", "phuong", "thi_tran", "dac_khu"],
    ),
    one_of(
        text("ntm_status", "New rural development (nông thôn mới) status"),
        NTM_STATUSES,
    ),
    field("ntm_year", FieldType::Integer, "Year the NTM status was recognised"),
    with_unit(
        field("population", FieldType::Integer, "Resident population"),
        "persons",
    ),
    hectares("area_ha", "Area on the ellipsoid"),
];

static WATER: &[FieldDef] = &[
    text("name", "River or canal name"),
    required(one_of(text("kind", "River or canal"), &["river", "canal"])),
    with_unit(field("width_m", FieldType::Real, "Typical width"), "m"),
];

static ROADS: &[FieldDef] = &[
    text("name", "Road name"),
    text("ref", "Road number (QL national, ĐT provincial, ĐH district)"),
    required(one_of(
        text("class", "Road class"),
        &["national", "provincial", "district", "commune"],
    )),
    one_of(text("surface", "Surface"), &["asphalt", "concrete", "gravel"]),
];

static PLACES: &[FieldDef] = &[
    required(text("name", "Place name")),
    required(one_of(
        text("kind", "Kind of place"),
        &["province_capital", "town", "commune_centre", "hamlet"],
    )),
    text("commune_code", "Official code of the commune the place lies in"),
    BOUNDARY_SET,
    with_unit(
        field("population", FieldType::Integer, "Resident population"),
        "persons",
    ),
];

static CROP: &[FieldDef] = &[
    required(text("parcel_id", "Parcel identifier")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(coded(text("crop_type", "Crop grown"), "crop_type")),
    required(coded(
        text(
            "season",
            "Growing season: đông xuân, hè thu, thu đông, vụ mùa, vụ chiêm or perennial",
        ),
        "season",
    )),
    text("variety", "Variety (e.g. ST25, OM 5451, Cát Hòa Lộc)"),
    hectares(
        "area_ha",
        "Parcel area as recorded (the source's figure; /api/stats measures the drawn parcel on the ellipsoid)",
    ),
    field("planting_date", FieldType::Date, "Date of sowing or planting"),
    coded(text("practice", "Farming practice / certification"), "practice"),
    text(
        "growing_area_code",
        "Registered growing-area code (mã số vùng trồng) the parcel belongs to",
    ),
    restricted(text("owner_name", "Name of the land user")),
    restricted(text("owner_phone", "Phone number of the land user")),
    restricted(text("household_id", "Household registration identifier")),
    FORMER_COMMUNE_CODE,
];

static AQUACULTURE: &[FieldDef] = &[
    required(text("pond_id", "Pond or farming-area identifier")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(coded(text("species", "Species farmed"), "species")),
    required(coded(text("mode", "Farming mode"), "farming_mode")),
    hectares("water_area_ha", "Water surface as recorded"),
    text("facility_code", "Farming-facility code"),
    field("stocking_date", FieldType::Date, "Date the current crop was stocked"),
    one_of(
        text("certification", "Certification"),
        &["none", "vietgap", "asc", "bap"],
    ),
    restricted(text("owner_name", "Name of the farmer")),
    restricted(text("owner_phone", "Phone number of the farmer")),
    FORMER_COMMUNE_CODE,
];

static MONITORING: &[FieldDef] = &[
    required(text("station_id", "Station identifier")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(text("name", "Station name")),
    required(coded(text("kind", "Kind of station"), "station_kind")),
    text(
        "parameters",
        "Parameters measured, comma-separated (salinity, ph, dissolved_oxygen, temperature, pest_count)",
    ),
    text("operator", "Operating agency"),
    one_of(
        text("status", "Operating status"),
        &["active", "maintenance", "offline"],
    ),
    with_unit(field("latest_salinity", FieldType::Real, "Latest salinity"), "ppt"),
    with_unit(field("latest_ph", FieldType::Real, "Latest pH"), "pH"),
    with_unit(
        field("latest_dissolved_oxygen", FieldType::Real, "Latest dissolved oxygen"),
        "mg/L",
    ),
    with_unit(
        field("latest_temperature", FieldType::Real, "Latest water or air temperature"),
        "°C",
    ),
    with_unit(
        field(
            "latest_pest_count",
            FieldType::Integer,
            "Latest light-trap count (brown planthopper)",
        ),
        "insects/night",
    ),
    one_of(
        text("alert_state", "Alert state from the latest readings"),
        ALERT_STATES,
    ),
    field("last_reading_at", FieldType::DateTime, "Time of the latest reading"),
    with_unit(
        field(
            "report_interval_min",
            FieldType::Integer,
            "Expected reporting interval; empty for the default of the station's kind",
        ),
        "min",
    ),
    FORMER_COMMUNE_CODE,
];

static GROWING_AREA: &[FieldDef] = &[
    required(text("code", "Growing-area code as issued (mã số vùng trồng)")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(coded(text("crop_type", "Crop the code was issued for"), "crop_type")),
    hectares("area_ha", "Area on the ellipsoid"),
    text(
        "markets",
        "Certified export markets, comma-separated ISO codes (CN, US, EU, AU, JP, KR)",
    ),
    required(one_of(
        text("status", "Status of the code"),
        &["active", "suspended", "revoked"],
    )),
    field("issued_on", FieldType::Date, "Date of issue"),
    field("expires_on", FieldType::Date, "Date of expiry"),
    with_unit(
        field("households", FieldType::Integer, "Households in the area"),
        "households",
    ),
    text("cooperative", "Cooperative or company managing the area"),
    restricted(text("contact_phone", "Phone number of the contact person")),
    FORMER_COMMUNE_CODE,
];

static OCOP: &[FieldDef] = &[
    required(text("product_id", "OCOP product identifier")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(text("name", "Product name")),
    one_of(
        text("category", "OCOP product group"),
        &[
            "food",
            "beverage",
            "herbal",
            "textile_handicraft",
            "ornamental",
            "tourism_service",
        ],
    ),
    required(within(
        with_unit(
            field(
                "stars",
                FieldType::Integer,
                "OCOP rating on the programme's 1-to-5 scale (3 and up certified)",
            ),
            "stars",
        ),
        1,
        5,
    )),
    text("producer", "Producer (cooperative, enterprise or household business)"),
    within(
        field("certified_year", FieldType::Integer, "Year of certification"),
        2000,
        2100,
    ),
    text("qr_url", "Traceability link behind the product's QR code"),
    FORMER_COMMUNE_CODE,
];

static IRRIGATION_WORKS: &[FieldDef] = &[
    required(text("work_id", "Identifier of the work in the irrigation inventory")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    text("name", "Name of the work (e.g. Cống Cái Côn, Trạm bơm Ấp 3)"),
    required(coded(
        text(
            "kind",
            "Kind of work: sluice gate and pumping station (points), dyke and embankment (lines)",
        ),
        "irrigation_work_kind",
    )),
    with_unit(
        field(
            "capacity",
            FieldType::Real,
            "Design discharge of a gate or pumping station (empty for dykes and embankments)",
        ),
        "m³/s",
    ),
    within(
        with_unit(
            field(
                "length_m",
                FieldType::Real,
                "Length of a dyke or embankment, as recorded",
            ),
            "m",
        ),
        0,
        i64::MAX,
    ),
    required(one_of(
        text("condition", "Condition at the latest inspection"),
        &["good", "fair", "degraded", "damaged"],
    )),
    text(
        "managing_body",
        "Body that operates and maintains the work (irrigation company, commune, cooperative)",
    ),
    field(
        "built_year",
        FieldType::Integer,
        "Year the work was built or last rebuilt",
    ),
    FORMER_COMMUNE_CODE,
];

static IRRIGATED_AREAS: &[FieldDef] = &[
    required(text("area_id", "Identifier of the irrigated area (khu tưới)")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(one_of(
        text(
            "irrigation",
            "Irrigation: active (water brought in when the crop needs it) or not",
        ),
        &["active", "not_active"],
    )),
    required(one_of(
        text(
            "drainage",
            "Drainage: active (water taken off when the field must drain) or not",
        ),
        &["active", "not_active"],
    )),
    required(coded(text("source", "How water is brought in"), "irrigation_source")),
    text(
        "served_by",
        "Identifier of the irrigation work that serves the area (work_id)",
    ),
    hectares("area_ha", "Area on the ellipsoid"),
    FORMER_COMMUNE_CODE,
];

static FOREST_PLOTS: &[FieldDef] = &[
    required(text("plot_id", "Forest plot identifier (lô rừng)")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(coded(
        text(
            "forest_type",
            "Use of the forest: production, protection or special-use",
        ),
        "forest_type",
    )),
    required(coded(text("species", "Main tree species"), "tree_species")),
    field("planting_year", FieldType::Integer, "Year the stand was planted"),
    hectares("area_ha", "Area on the ellipsoid"),
    restricted(text(
        "owner_name",
        "Name of the forest owner or the household holding the plot",
    )),
    restricted(text("owner_phone", "Phone number of the forest owner")),
    FORMER_COMMUNE_CODE,
];

static LIVESTOCK_FARMS: &[FieldDef] = &[
    required(text("farm_id", "Livestock farm identifier")),
    COMMUNE_CODE,
    BOUNDARY_SET,
    required(coded(text("species", "Main species raised"), "livestock_species")),
    required(with_unit(
        field(
            "head_count",
            FieldType::Integer,
            "Animals on the farm at the latest count",
        ),
        "head",
    )),
    required(one_of(
        text(
            "scale",
            "Farm scale by livestock units (Decree 13/2020/NĐ-CP): large, medium, small, or a household",
        ),
        &["large", "medium", "small", "household"],
    )),
    required(one_of(
        text(
            "biosecurity",
            "Biosecurity certification: none, VietGAHP, or a disease-free facility (cơ sở an toàn dịch bệnh)",
        ),
        &["none", "vietgahp", "disease_free"],
    )),
    restricted(text("owner_name", "Name of the farm owner")),
    restricted(text("owner_phone", "Phone number of the farm owner")),
    FORMER_COMMUNE_CODE,
];

#[expect(
    clippy::too_many_arguments,
    reason = "one positional row per layer keeps the catalog table readable"
)]
const fn layer_def(
    id: &'static str,
    title: &'static str,
    title_vi: &'static str,
    group: LayerGroup,
    geometry: GeometryKind,
    zooms: (u8, u8),
    description: &'static str,
    fields: &'static [FieldDef],
) -> LayerDef {
    LayerDef {
        id,
        title,
        title_vi,
        group,
        geometry,
        minzoom: zooms.0,
        maxzoom: zooms.1,
        description,
        fields,
    }
}

use GeometryKind::{LineString, Point, PointOrLine, Polygon};
use LayerGroup::{Base, Theme};

static CATALOG: &[LayerDef] = &[
    layer_def(
        "admin_province",
        "Province",
        "Tỉnh",
        Base,
        Polygon,
        (0, 14),
        "Province boundary",
        ADMIN_PROVINCE,
    ),
    layer_def(
        "admin_district",
        "Districts",
        "Huyện",
        Base,
        Polygon,
        (5, 14),
        "District boundaries (pre-2025 set)",
        ADMIN_DISTRICT,
    ),
    layer_def(
        "admin_commune",
        "Communes",
        "Xã",
        Base,
        Polygon,
        (7, 14),
        "Commune boundaries with new-rural-development status",
        ADMIN_COMMUNE,
    ),
    layer_def(
        "water",
        "Rivers and canals",
        "Sông, kênh",
        Base,
        LineString,
        (6, 14),
        "Rivers and irrigation canals",
        WATER,
    ),
    layer_def(
        "roads",
        "Roads",
        "Đường",
        Base,
        LineString,
        (6, 14),
        "National, provincial, district and commune roads",
        ROADS,
    ),
    layer_def(
        "places",
        "Places",
        "Địa danh",
        Base,
        Point,
        (6, 14),
        "Province capital, towns, commune centres and hamlets",
        PLACES,
    ),
    layer_def(
        "crop",
        "Crops",
        "Trồng trọt",
        Theme,
        Polygon,
        (11, 16),
        "Crop parcels with crop type, season and practice",
        CROP,
    ),
    layer_def(
        "aquaculture",
        "Aquaculture",
        "Thủy sản",
        Theme,
        Polygon,
        (10, 16),
        "Ponds and farming areas with species and mode",
        AQUACULTURE,
    ),
    layer_def(
        "monitoring",
        "Monitoring stations",
        "Quan trắc",
        Theme,
        Point,
        (7, 16),
        "Water-quality stations and insect light traps",
        MONITORING,
    ),
    layer_def(
        "growing_area",
        "Growing areas",
        "Vùng trồng",
        Theme,
        Polygon,
        (8, 16),
        "Registered growing-area codes (mã số vùng trồng)",
        GROWING_AREA,
    ),
    layer_def(
        "ocop",
        "OCOP products",
        "Sản phẩm OCOP",
        Theme,
        Point,
        (8, 16),
        "One Commune One Product producers, 3 to 5 stars",
        OCOP,
    ),
    layer_def(
        "irrigation_works",
        "Irrigation works",
        "Công trình thủy lợi",
        Theme,
        PointOrLine,
        (9, 16),
        "Sluice gates and pumping stations (points), dykes and embankments (lines)",
        IRRIGATION_WORKS,
    ),
    layer_def(
        "irrigated_areas",
        "Irrigated areas",
        "Vùng tưới tiêu",
        Theme,
        Polygon,
        (9, 16),
        "Farmland irrigated and drained, actively or not",
        IRRIGATED_AREAS,
    ),
    layer_def(
        "forest_plots",
        "Forest plots",
        "Lô rừng",
        Theme,
        Polygon,
        (9, 16),
        "Production, protection and special-use forest plots with species and planting year",
        FOREST_PLOTS,
    ),
    layer_def(
        "livestock_farms",
        "Livestock farms",
        "Chăn nuôi",
        Theme,
        Point,
        (9, 16),
        "Livestock farms with species, head count, scale and biosecurity",
        LIVESTOCK_FARMS,
    ),
];

/// Every layer, base map first, in drawing order.
#[must_use]
pub fn catalog() -> &'static [LayerDef] {
    CATALOG
}

/// A layer by id.
#[must_use]
pub fn layer(id: &str) -> Option<&'static LayerDef> {
    CATALOG.iter().find(|l| l.id == id)
}

/// The catalog as a Markdown document (docs/SCHEMA.md is this text).
#[must_use]
pub fn markdown() -> String {
    use std::fmt::Write;
    let mut md = String::from(
        "# Layer schema\n\nGenerated from `crates/agrimap-model/src/catalog.rs` (a test keeps this file in step).\n\
         Restricted fields are never shown to anonymous readers: not in tiles, not in queries, not in exports.\n\
         Every layer is stored in EPSG:4326 (longitude, latitude).\n",
    );
    for l in CATALOG {
        let _ = write!(
            md,
            "\n## `{}`: {} ({})\n\n{} Geometry: {:?}; group: {:?}; tiles from zoom {} (generated to {}).\n\n\
             | field | type | unit | access | required | values | description |\n|---|---|---|---|---|---|---|\n",
            l.id, l.title, l.title_vi, l.description, l.geometry, l.group, l.minzoom, l.maxzoom
        );
        for f in l.fields {
            let _ = writeln!(
                md,
                "| `{}` | {:?} | {} | {:?} | {} | {} | {} |",
                f.name,
                f.ty,
                f.unit.unwrap_or(""),
                f.access,
                if f.required { "yes" } else { "" },
                match (f.code_list, f.bounds) {
                    (Some(list), _) => format!("codes of the list `{list}`"),
                    (None, Some((min, i64::MAX))) => format!("≥ {min}"),
                    (None, Some((min, max))) => format!("{min} to {max}"),
                    (None, None) => f.values.join(", "),
                },
                f.description
            );
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_out_of_bounds_are_refused_now_and_kept_in_the_past() {
        use crate::{Feature, Value};
        let ocop = layer("ocop").expect("ocop");
        let mut properties = vec![Value::Null; ocop.fields.len()];
        for (name, value) in [
            ("product_id", Value::Text("P-1".into())),
            ("commune_code", Value::Text("33030".into())),
            ("boundary_set", Value::Text("pre-2025".into())),
            ("name", Value::Text("Bưởi".into())),
            ("category", Value::Text("food".into())),
            ("stars", Value::Int(7)),
        ] {
            properties[ocop.field_index(name).expect("field")] = value;
        }
        let feature = Feature {
            id: 1,
            geometry: geo::Geometry::Point(geo::Point::new(105.0, 10.0)),
            properties,
        };
        assert_eq!(
            ocop.check_feature(&feature),
            Err("field 'stars' is from 1 to 5, not 7".to_owned())
        );
        assert_eq!(ocop.check_past_feature(&feature), Ok(()));
    }

    #[test]
    fn natural_keys_are_required_fields_and_every_theme_has_one() {
        for l in catalog() {
            for name in l.natural_key() {
                let field = l.field(name).unwrap_or_else(|| panic!("{}: no key field {name}", l.id));
                assert!(field.required, "{}: key field {name} is optional", l.id);
            }
            if l.group == Theme {
                assert!(!l.natural_key().is_empty(), "{} has no natural key", l.id);
            }
        }
    }

    #[test]
    fn every_theme_carries_commune_and_boundary_set() {
        for l in catalog().iter().filter(|l| l.group == Theme) {
            assert!(l.field("commune_code").is_some_and(|f| f.required), "{}", l.id);
            assert!(l.field("boundary_set").is_some_and(|f| f.required), "{}", l.id);
        }
    }

    #[test]
    fn field_names_are_unique_and_sql_safe() {
        for l in catalog() {
            let mut names: Vec<_> = l.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), l.fields.len(), "{}", l.id);
            for n in names.iter().chain([&l.id]) {
                assert!(n.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{n}");
            }
        }
    }

    #[test]
    fn personal_data_is_restricted() {
        for (l, f) in [
            ("crop", "owner_phone"),
            ("crop", "owner_name"),
            ("aquaculture", "owner_phone"),
            ("growing_area", "contact_phone"),
            ("forest_plots", "owner_name"),
            ("forest_plots", "owner_phone"),
            ("livestock_farms", "owner_name"),
            ("livestock_farms", "owner_phone"),
        ] {
            assert_eq!(
                layer(l).and_then(|l| l.field(f)).map(|f| f.access),
                Some(Access::Restricted)
            );
        }
    }
}
