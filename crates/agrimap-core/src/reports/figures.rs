//! The figures of one place (a commune or a province), as the reports and
//! the side-by-side comparison of communes both need them: areas or counts
//! by class from the cached statistics tables, and the features of a point
//! layer (products, stations) that stand in the place.
//!
//! Areas come from the province-wide tables of [`crate::stats`] (only the
//! part of each feature inside the place counts), so a report, the compare
//! view, `/api/stats` and the commune summary give the same hectares.

use crate::Core;
use crate::communes::Commune;
use crate::error::CoreError;
use crate::stats::StatsRequest;
use agrimap_model::codes::CodeLists;
use agrimap_model::{Audience, Feature, FeatureQuery, GeometryKind, LayerDef};
use geo::Intersects;
use serde::Serialize;

/// Where the figures are taken: a commune, or every commune of a province.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    /// `commune` or `province`: the `by=` of the statistics tables.
    pub level: &'static str,
    pub code: String,
    /// `pre-2025` or `2025`.
    pub boundary_set: String,
    /// The communes the place is made of (one for a commune).
    pub communes: Vec<&'a Commune>,
}

impl Place<'_> {
    /// The box around every commune of the place.
    #[must_use]
    pub fn bbox(&self) -> Option<[f64; 4]> {
        self.communes
            .iter()
            .filter_map(|c| c.bbox)
            .reduce(|a, b| [a[0].min(b[0]), a[1].min(b[1]), a[2].max(b[2]), a[3].max(b[3])])
    }
}

/// One class of a layer in a place: its area (or count, or sum) and features.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassFigure {
    pub class: String,
    /// The Vietnamese name of the class (the code list's label), or the class itself.
    pub label_vi: String,
    pub label_en: String,
    pub value: f64,
    pub features: u64,
}

/// The class field and metric a layer is naturally split by: what a planner
/// means by "the crops of a commune" (hectares by crop type), "its ponds"
/// (hectares by species), "its stations" (how many of each kind).
#[must_use]
pub fn natural_class(layer: &LayerDef) -> (&'static str, &'static str) {
    let class = match layer.id {
        "crop" => "crop_type",
        "aquaculture" | "livestock_farms" => "species",
        "growing_area" => "status",
        "ocop" => "stars",
        "irrigated_areas" => "irrigation",
        "forest_plots" => "forest_type",
        // monitoring, irrigation_works, and any later layer with a kind.
        _ => "kind",
    };
    let metric = if layer.geometry == GeometryKind::Polygon {
        "area"
    } else {
        "count"
    };
    (class, metric)
}

/// Vietnamese and English names of the values of enumerated fields that
/// have no code list (the code lists carry their own labels).
fn fixed_label(layer: &str, field: &str, value: &str) -> Option<(&'static str, &'static str)> {
    if (layer, field, value) == ("monitoring", "status", "active") {
        return Some(("Đang hoạt động", "Active"));
    }
    Some(match (field, value) {
        ("status", "active") => ("Đang hiệu lực", "Active"),
        ("status", "suspended") => ("Tạm đình chỉ", "Suspended"),
        ("status", "revoked") => ("Đã thu hồi", "Revoked"),
        ("status", "expired") => ("Hết hạn", "Expired"),
        ("status", "maintenance") => ("Đang bảo trì", "Maintenance"),
        ("status", "offline") => ("Ngừng hoạt động", "Offline"),
        ("alert_state", "ok") => ("Bình thường", "Normal"),
        ("alert_state", "watch") => ("Theo dõi", "Watch"),
        ("alert_state", "alarm") => ("Báo động", "Alarm"),
        ("alert_state", "silent") => ("Mất tín hiệu", "Silent"),
        ("ntm_status", "not_yet") => ("Chưa đạt chuẩn", "Not yet"),
        ("ntm_status", "standard") => ("Đạt chuẩn NTM", "Standard"),
        ("ntm_status", "advanced") => ("NTM nâng cao", "Advanced"),
        ("ntm_status", "model") => ("NTM kiểu mẫu", "Model"),
        ("irrigation" | "drainage", "active") => ("Chủ động", "Active"),
        ("irrigation" | "drainage", "not_active") => ("Chưa chủ động", "Not active"),
        ("category", "food") => ("Thực phẩm", "Food"),
        ("category", "beverage") => ("Đồ uống", "Beverage"),
        ("category", "herbal") => ("Thảo dược", "Herbal"),
        ("category", "textile_handicraft") => ("Thủ công mỹ nghệ", "Textile and handicraft"),
        ("category", "ornamental") => ("Sinh vật cảnh", "Ornamental"),
        ("category", "tourism_service") => ("Dịch vụ du lịch", "Tourism service"),
        _ => return None,
    })
}

/// Vietnamese and English names of an OCOP product group (`category`), if it is one.
#[must_use]
pub fn ocop_category_label(category: &str) -> Option<(&'static str, &'static str)> {
    fixed_label("ocop", "category", category)
}

/// Vietnamese and English names of a registered product's group: an OCOP
/// group, or one of the groups fresh produce is registered under (a
/// product that is not OCOP is not held to OCOP's six).
#[must_use]
pub fn product_category_label(category: &str) -> Option<(&'static str, &'static str)> {
    ocop_category_label(category).or(match category {
        "fruit" => Some(("Trái cây", "Fruit")),
        "vegetable" => Some(("Rau củ", "Vegetables")),
        "rice" => Some(("Lúa gạo", "Rice")),
        "seafood" | "aquatic" => Some(("Thủy sản", "Aquatic products")),
        "livestock" => Some(("Sản phẩm chăn nuôi", "Livestock products")),
        _ => None,
    })
}

/// Vietnamese and English names of an NTM level (`ntm_status`).
#[must_use]
pub fn ntm_label(status: &str) -> (&'static str, &'static str) {
    fixed_label("admin_commune", "ntm_status", status).unwrap_or(("Chưa đạt chuẩn", "Not yet"))
}

/// Names of the value of a field: the code list's label, the fixed label,
/// "3 sao" for stars, or the value itself.
#[must_use]
pub fn class_label(codes: &CodeLists, layer: &LayerDef, field: &str, value: &str) -> (String, String) {
    if let Some((vi, en)) = layer
        .field(field)
        .and_then(|f| f.code_list)
        .and_then(|list| codes.label(list, value))
    {
        return (vi.to_owned(), en.to_owned());
    }
    if let Some((vi, en)) = fixed_label(layer.id, field, value) {
        return (vi.to_owned(), en.to_owned());
    }
    if field == "stars" {
        return (format!("{value} sao"), format!("{value} stars"));
    }
    if value.is_empty() {
        return ("(không ghi)".into(), "(not recorded)".into());
    }
    (value.to_owned(), value.to_owned())
}

/// The place's rows of the province-wide table of `layer` split by `class`
/// (`metric`: `area`, `count` or `sum:field`), largest first.
///
/// # Errors
/// A bad layer, class or metric, and the store's errors.
pub async fn by_class(
    core: &Core,
    codes: &CodeLists,
    place: &Place<'_>,
    layer: &str,
    class: &str,
    metric: &str,
) -> Result<Vec<ClassFigure>, CoreError> {
    by_class_at(core, codes, place, layer, class, metric, None).await
}

/// [`by_class`] of the layer as it stood at `as_of` (a layer that keeps no
/// history is read as it is now).
///
/// # Errors
/// The store's.
pub async fn by_class_at(
    core: &Core,
    codes: &CodeLists,
    place: &Place<'_>,
    layer: &str,
    class: &str,
    metric: &str,
    as_of: Option<agrimap_model::UtcTime>,
) -> Result<Vec<ClassFigure>, CoreError> {
    let mut request = StatsRequest::parse(layer, Some(place.level), Some(class), Some(metric))?
        .within(Some(&place.boundary_set), None)?;
    if request.layer.versioned() {
        request.as_of = as_of;
    }
    let def = request.layer;
    let table = core.stats.table(core.store.as_ref(), request).await?;
    let mut rows: Vec<ClassFigure> = table
        .rows
        .iter()
        .filter(|r| r.code == place.code)
        .map(|r| {
            let value = r.class.clone().unwrap_or_default();
            let (label_vi, label_en) = class_label(codes, def, class, &value);
            ClassFigure {
                class: value,
                label_vi,
                label_en,
                value: r.value,
                features: r.features,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.value.total_cmp(&a.value).then_with(|| a.class.cmp(&b.class)));
    Ok(rows)
}

/// The features of `layer` that lie in the place, by location whatever
/// commune code they carry (a 2025 commune holds the products still coded
/// by the pre-2025 communes it merged), in id order. Restricted fields are
/// read only for an `audience` that may see them.
///
/// # Errors
/// The store's.
pub async fn located(
    core: &Core,
    layer: &'static LayerDef,
    place: &Place<'_>,
    audience: Audience,
) -> Result<Vec<Feature>, CoreError> {
    let Some([west, south, east, north]) = place.bbox() else {
        return Ok(Vec::new());
    };
    let near = FeatureQuery {
        bbox: Some(geo::Rect::new(
            geo::coord! { x: west, y: south },
            geo::coord! { x: east, y: north },
        )),
        audience,
        ..FeatureQuery::default()
    };
    let mut found = core.store.features(layer, &near).await?;
    found.retain(|f| place.communes.iter().any(|c| c.boundary.intersects(&f.geometry)));
    Ok(found)
}

/// The code lists as the store holds them, for the labels.
///
/// # Errors
/// The store's.
pub async fn code_lists(core: &Core) -> Result<CodeLists, CoreError> {
    Ok(CodeLists::new(&core.store.codes().await?))
}
