//! A [`Report`] of a commune or a province, theme by theme, from the
//! figures of the place ([`super::figures`]).

use super::figures::{ClassFigure, Place, by_class, class_label, code_lists, located, ntm_label};
use super::{Cell, Column, Heading, Report, Table, Theme};
use crate::Core;
use crate::communes::{Commune, CommuneIndex};
use crate::error::{CoreError, echo};
use agrimap_model::codes::CodeLists;
use agrimap_model::{Audience, BoundarySet, Feature, LayerDef, Value, layer};

const HA: Option<&str> = Some("ha");

fn catalog_layer(id: &str) -> Result<&'static LayerDef, CoreError> {
    layer(id).ok_or_else(|| CoreError::internal("unknown_layer", format!("the catalog has no layer '{id}'")))
}

/// Who reads the report: `audience`, unless the caller's token is limited
/// to `provinces` and the place lies in none of them (then the public).
fn scoped(audience: Audience, provinces: &[String], province: &str) -> Audience {
    if provinces.is_empty() || provinces.iter().any(|p| p == province) {
        audience
    } else {
        Audience::Public
    }
}

/// The report of the commune `commune_code` (in `boundary_set` when given, else the
/// newest set that has the code), for `audience` (a token limited to
/// `provinces` reads restricted fields only in them).
///
/// # Errors
/// `unknown_commune` (not found), and the store's errors.
pub async fn commune_report(
    core: &Core,
    commune_code: &str,
    boundary_set: Option<BoundarySet>,
    audience: Audience,
    provinces: &[String],
) -> Result<Report, CoreError> {
    let index = core.communes.index(core.store.as_ref()).await?;
    let commune = index.get(commune_code, boundary_set).ok_or_else(|| {
        CoreError::not_found(
            "unknown_commune",
            format!("no commune with code '{}'", echo(commune_code, 64)),
        )
    })?;
    let audience = scoped(audience, provinces, &commune.province_code);
    let place = Place {
        level: "commune",
        code: commune.code.clone(),
        boundary_set: commune.boundary_set.clone(),
        communes: vec![commune],
    };
    let heading = Heading {
        level: "commune",
        code: commune.code.clone(),
        name: commune.name.clone(),
        boundary_set: commune.boundary_set.clone(),
        district: commune.district_name.clone(),
        province: commune.province_name.clone(),
        area_ha: commune.area_ha,
        communes: 1,
        bbox: commune.bbox,
        made_on: crate::registry::today(),
        restricted: audience != Audience::Public,
    };
    report(core, heading, &place, audience).await
}

/// The communes of province `code` in `boundary_set` (the newest set that
/// has the province when not given).
fn province_communes<'a>(
    index: &'a CommuneIndex,
    code: &str,
    boundary_set: Option<BoundarySet>,
) -> Result<Vec<&'a Commune>, CoreError> {
    let of_set = |set: &str| -> Vec<&'a Commune> {
        index
            .communes()
            .iter()
            .filter(|c| c.province_code == code && c.boundary_set == set)
            .collect()
    };
    let found = if let Some(set) = boundary_set {
        of_set(set.as_str())
    } else {
        let newest = of_set(BoundarySet::Y2025.as_str());
        if newest.is_empty() {
            of_set(BoundarySet::Pre2025.as_str())
        } else {
            newest
        }
    };
    if found.is_empty() {
        return Err(CoreError::not_found(
            "unknown_province",
            format!("no province with code '{}' holds communes", echo(code, 64)),
        ));
    }
    Ok(found)
}

/// The report of the province `province_code`, for `audience` (a token limited to
/// `provinces` reads restricted fields only in them).
///
/// # Errors
/// `unknown_province` (not found), and the store's errors.
pub async fn province_report(
    core: &Core,
    province_code: &str,
    boundary_set: Option<BoundarySet>,
    audience: Audience,
    provinces: &[String],
) -> Result<Report, CoreError> {
    let index = core.communes.index(core.store.as_ref()).await?;
    let communes = province_communes(&index, province_code, boundary_set)?;
    let first = communes[0];
    let audience = scoped(audience, provinces, &first.province_code);
    let area: Option<f64> = communes
        .iter()
        .map(|c| c.area_ha)
        .try_fold(0.0, |sum, ha| ha.map(|ha| sum + ha));
    let place = Place {
        level: "province",
        code: first.province_code.clone(),
        boundary_set: first.boundary_set.clone(),
        communes,
    };
    let heading = Heading {
        level: "province",
        code: first.province_code.clone(),
        name: first
            .province_name
            .clone()
            .unwrap_or_else(|| first.province_code.clone()),
        boundary_set: first.boundary_set.clone(),
        district: None,
        province: None,
        area_ha: area,
        communes: place.communes.len(),
        bbox: place.bbox(),
        made_on: crate::registry::today(),
        restricted: audience != Audience::Public,
    };
    report(core, heading, &place, audience).await
}

async fn report(core: &Core, heading: Heading, place: &Place<'_>, audience: Audience) -> Result<Report, CoreError> {
    let codes = code_lists(core).await?;
    let themes = vec![
        crop_theme(core, &codes, place).await?,
        aquaculture_theme(core, &codes, place).await?,
        growing_area_theme(core, &codes, place, audience).await?,
        ocop_theme(core, &codes, place).await?,
        monitoring_theme(core, &codes, place).await?,
        ntm_theme(place),
    ];
    Ok(Report { heading, themes })
}

/// A class table: class, hectares and features (or, for a count, the
/// count alone), and the share of the total.
fn class_table(
    caption: &str,
    class_head: &'static str,
    value: Column,
    features: &'static str,
    rows: &[ClassFigure],
) -> Table {
    let total = agrimap_analysis::total(rows.iter().map(|r| r.value));
    let hectares = value.unit == HA;
    let share = |r: &ClassFigure| Cell::Percent(if total > 0.0 { 100.0 * r.value / total } else { 0.0 });
    let (columns, rows) = if hectares {
        (
            vec![
                Column::new(class_head, None),
                value,
                Column::new(features, None),
                Column::new("Tỷ lệ", Some("%")),
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.label_vi.clone()),
                        Cell::Hectares(r.value),
                        Cell::Count(r.features),
                        share(r),
                    ]
                })
                .collect(),
        )
    } else {
        (
            vec![Column::new(class_head, None), value, Column::new("Tỷ lệ", Some("%"))],
            rows.iter()
                .map(|r| vec![Cell::Text(r.label_vi.clone()), Cell::Count(r.features), share(r)])
                .collect(),
        )
    };
    Table {
        caption: caption.to_owned(),
        columns,
        rows,
        total: true,
    }
}

async fn crop_theme(core: &Core, codes: &CodeLists, place: &Place<'_>) -> Result<Theme, CoreError> {
    let (by_type, by_season, by_practice) = futures::try_join!(
        by_class(core, codes, place, "crop", "crop_type", "area"),
        by_class(core, codes, place, "crop", "season", "area"),
        by_class(core, codes, place, "crop", "practice", "area"),
    )?;
    let area = || Column::new("Diện tích", HA);
    Ok(Theme {
        key: "crop",
        title: "Trồng trọt",
        tables: vec![
            class_table(
                "Diện tích theo loại cây trồng",
                "Loại cây trồng",
                area(),
                "Số thửa",
                &by_type,
            ),
            class_table("Diện tích theo mùa vụ", "Mùa vụ", area(), "Số thửa", &by_season),
            class_table(
                "Diện tích theo phương thức canh tác",
                "Phương thức canh tác",
                area(),
                "Số thửa",
                &by_practice,
            ),
        ],
    })
}

async fn aquaculture_theme(core: &Core, codes: &CodeLists, place: &Place<'_>) -> Result<Theme, CoreError> {
    let (by_species, by_mode) = futures::try_join!(
        by_class(core, codes, place, "aquaculture", "species", "area"),
        by_class(core, codes, place, "aquaculture", "mode", "area"),
    )?;
    let area = || Column::new("Diện tích mặt nước", HA);
    Ok(Theme {
        key: "aquaculture",
        title: "Thủy sản",
        tables: vec![
            class_table(
                "Diện tích nuôi theo đối tượng",
                "Đối tượng nuôi",
                area(),
                "Số ao, vùng nuôi",
                &by_species,
            ),
            class_table(
                "Diện tích nuôi theo hình thức",
                "Hình thức nuôi",
                area(),
                "Số ao, vùng nuôi",
                &by_mode,
            ),
        ],
    })
}

fn text_cell(layer: &LayerDef, f: &Feature, field: &str) -> Cell {
    Cell::text(layer.text_of(f, field))
}

fn labelled_cell(codes: &CodeLists, layer: &LayerDef, f: &Feature, field: &str) -> Cell {
    match layer.text_of(f, field) {
        Some(v) => Cell::Text(class_label(codes, layer, field, v).0),
        None => Cell::Empty,
    }
}

fn number_cell(layer: &LayerDef, f: &Feature, field: &str, hectares: bool) -> Cell {
    match (layer.value_of(f, field), hectares) {
        (Value::Real(v), true) => Cell::Hectares(*v),
        #[expect(clippy::cast_precision_loss, reason = "hectares far below 2^52")]
        (Value::Int(v), true) => Cell::Hectares(*v as f64),
        (Value::Int(v), false) => u64::try_from(*v).map_or(Cell::Empty, Cell::Count),
        (Value::Text(t), _) => Cell::Text(t.clone()),
        _ => Cell::Empty,
    }
}

async fn growing_area_theme(
    core: &Core,
    codes: &CodeLists,
    place: &Place<'_>,
    audience: Audience,
) -> Result<Theme, CoreError> {
    let by_status = by_class(core, codes, place, "growing_area", "status", "area").await?;
    let layer = catalog_layer("growing_area")?;
    let areas = located(core, layer, place, audience).await?;
    let restricted = audience != Audience::Public;
    let mut columns = vec![
        Column::new("Mã số vùng trồng", None),
        Column::new("Cây trồng", None),
        Column::new("Diện tích", HA),
        Column::new("Tình trạng", None),
        Column::new("Thị trường", None),
        Column::new("Hợp tác xã, doanh nghiệp", None),
        Column::new("Hết hạn", None),
    ];
    if restricted {
        columns.push(Column::new("Điện thoại liên hệ", None));
    }
    let rows = areas
        .iter()
        .map(|f| {
            let mut row = vec![
                text_cell(layer, f, "code"),
                labelled_cell(codes, layer, f, "crop_type"),
                number_cell(layer, f, "area_ha", true),
                labelled_cell(codes, layer, f, "status"),
                text_cell(layer, f, "markets"),
                text_cell(layer, f, "cooperative"),
                text_cell(layer, f, "expires_on"),
            ];
            if restricted {
                row.push(text_cell(layer, f, "contact_phone"));
            }
            row
        })
        .collect();
    Ok(Theme {
        key: "growing_area",
        title: "Vùng trồng",
        tables: vec![
            class_table(
                "Mã số vùng trồng theo tình trạng",
                "Tình trạng",
                Column::new("Diện tích", HA),
                "Số mã",
                &by_status,
            ),
            Table {
                caption: "Danh sách mã số vùng trồng".into(),
                columns,
                rows,
                total: false,
            },
        ],
    })
}

async fn ocop_theme(core: &Core, codes: &CodeLists, place: &Place<'_>) -> Result<Theme, CoreError> {
    let by_stars = by_class(core, codes, place, "ocop", "stars", "count").await?;
    let layer = catalog_layer("ocop")?;
    let products = located(core, layer, place, Audience::Public).await?;
    let mut stars = by_stars;
    stars.sort_by(|a, b| b.class.cmp(&a.class));
    Ok(Theme {
        key: "ocop",
        title: "Sản phẩm OCOP",
        tables: vec![
            class_table(
                "Sản phẩm OCOP theo hạng sao",
                "Hạng",
                Column::new("Số sản phẩm", None),
                "",
                &stars,
            ),
            Table {
                caption: "Danh sách sản phẩm OCOP".into(),
                columns: vec![
                    Column::new("Mã sản phẩm", None),
                    Column::new("Tên sản phẩm", None),
                    Column::new("Nhóm sản phẩm", None),
                    Column::new("Hạng sao", None),
                    Column::new("Chủ thể", None),
                    Column::new("Năm công nhận", None),
                ],
                rows: products
                    .iter()
                    .map(|f| {
                        vec![
                            text_cell(layer, f, "product_id"),
                            text_cell(layer, f, "name"),
                            labelled_cell(codes, layer, f, "category"),
                            number_cell(layer, f, "stars", false),
                            text_cell(layer, f, "producer"),
                            number_cell(layer, f, "certified_year", false),
                        ]
                    })
                    .collect(),
                total: false,
            },
        ],
    })
}

async fn monitoring_theme(core: &Core, codes: &CodeLists, place: &Place<'_>) -> Result<Theme, CoreError> {
    let by_kind = by_class(core, codes, place, "monitoring", "kind", "count").await?;
    let layer = catalog_layer("monitoring")?;
    let stations = located(core, layer, place, Audience::Public).await?;
    Ok(Theme {
        key: "monitoring",
        title: "Quan trắc môi trường",
        tables: vec![
            class_table(
                "Trạm quan trắc theo loại",
                "Loại trạm",
                Column::new("Số trạm", None),
                "",
                &by_kind,
            ),
            Table {
                caption: "Danh sách trạm và tình trạng cảnh báo".into(),
                columns: vec![
                    Column::new("Mã trạm", None),
                    Column::new("Tên trạm", None),
                    Column::new("Loại trạm", None),
                    Column::new("Hoạt động", None),
                    Column::new("Cảnh báo", None),
                    Column::new("Lần đo gần nhất", None),
                ],
                rows: stations
                    .iter()
                    .map(|f| {
                        vec![
                            text_cell(layer, f, "station_id"),
                            text_cell(layer, f, "name"),
                            labelled_cell(codes, layer, f, "kind"),
                            labelled_cell(codes, layer, f, "status"),
                            labelled_cell(codes, layer, f, "alert_state"),
                            text_cell(layer, f, "last_reading_at"),
                        ]
                    })
                    .collect(),
                total: false,
            },
        ],
    })
}

/// The recognised NTM level of each commune of the place (`ntm_status`,
/// `ntm_year` of the commune layer, which a recognition writes), and for a
/// province the communes by level.
fn ntm_theme(place: &Place<'_>) -> Theme {
    let status_vi = |s: Option<&str>| Cell::Text(ntm_label(s.unwrap_or("not_yet")).0.to_owned());
    let mut tables = Vec::new();
    if place.level == "province" {
        let mut counts: Vec<(&str, u64)> = agrimap_model::catalog::NTM_STATUSES.iter().map(|s| (*s, 0)).collect();
        for c in &place.communes {
            let s = c.ntm_status.as_deref().unwrap_or("not_yet");
            if let Some(entry) = counts.iter_mut().find(|(k, _)| *k == s) {
                entry.1 += 1;
            }
        }
        tables.push(Table {
            caption: "Số xã theo mức đạt chuẩn nông thôn mới".into(),
            columns: vec![Column::new("Mức đạt chuẩn", None), Column::new("Số xã", None)],
            rows: counts
                .iter()
                .map(|(s, n)| vec![status_vi(Some(s)), Cell::Count(*n)])
                .collect(),
            total: true,
        });
    }
    // Districts were abolished with the 2025 reform: their column only where communes have one.
    let districts = place.communes.iter().any(|c| c.district_name.is_some());
    let mut columns = vec![Column::new("Mã xã", None), Column::new("Tên xã", None)];
    if districts {
        columns.push(Column::new("Huyện", None));
    }
    columns.extend([Column::new("Mức đạt chuẩn", None), Column::new("Năm công nhận", None)]);
    tables.push(Table {
        caption: "Mức đạt chuẩn nông thôn mới của xã".into(),
        columns,
        rows: place
            .communes
            .iter()
            .map(|c| {
                let mut row = vec![Cell::Text(c.code.clone()), Cell::Text(c.name.clone())];
                if districts {
                    row.push(Cell::text(c.district_name.as_deref()));
                }
                row.extend([
                    status_vi(c.ntm_status.as_deref()),
                    c.ntm_year
                        .and_then(|y| u64::try_from(y).ok())
                        .map_or(Cell::Empty, Cell::Count),
                ]);
                row
            })
            .collect(),
        total: false,
    });
    Theme {
        key: "ntm",
        title: "Nông thôn mới",
        tables,
    }
}
