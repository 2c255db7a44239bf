//! Reports people hand in: everything the layers say about a commune or a
//! province, as tables with Vietnamese headers and units, one theme after
//! another (crops, aquaculture, growing areas, OCOP, stations, NTM).
//!
//! - [`figures`]: the figures of a place (areas by class, the features in it),
//!   shared with the side-by-side comparison of communes ([`crate::compare`]).
//! - [`gather`]: a [`Report`] of a commune or a province from those figures.
//! - [`workbook`]: the report as an Excel workbook, one sheet per theme.
//! - [`page`]: the report as a printable A4 page with the place's map.
//!
//! A report is one model rendered twice, so the workbook and the page
//! always hold the same tables. Restricted fields (a growing area's contact
//! phone) are in it only for an audience that may read them.

pub mod figures;
pub mod gather;
pub mod page;
pub mod workbook;

pub use gather::{commune_report, province_report};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// Hectares (two decimals).
    Hectares(f64),
    /// A whole count.
    Count(u64),
    /// A share, 0 to 100 (one decimal).
    Percent(f64),
    Empty,
}

impl Cell {
    /// Text, or empty when absent.
    #[must_use]
    pub fn text(value: Option<&str>) -> Self {
        value.map_or(Self::Empty, |v| Self::Text(v.to_owned()))
    }
}

/// One column: its Vietnamese header and the unit of its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub head: &'static str,
    pub unit: Option<&'static str>,
}

impl Column {
    #[must_use]
    pub const fn new(head: &'static str, unit: Option<&'static str>) -> Self {
        Self { head, unit }
    }

    /// "Diện tích (ha)": the header as printed.
    #[must_use]
    pub fn title(&self) -> String {
        match self.unit {
            Some(unit) => format!("{} ({unit})", self.head),
            None => self.head.to_owned(),
        }
    }
}

/// A table: a caption, columns, rows, and whether a total row closes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub caption: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Sum the numeric columns in a last row ("Tổng"); not for lists.
    pub total: bool,
}

/// One theme of the report: one sheet of the workbook, one section of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// `crop`, `aquaculture`, `growing_area`, `ocop`, `monitoring`, `ntm`.
    pub key: &'static str,
    /// The title, which is also the sheet's name (at most 31 characters).
    pub title: &'static str,
    pub tables: Vec<Table>,
}

/// What a report is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    /// `commune` or `province`.
    pub level: &'static str,
    pub code: String,
    pub name: String,
    pub boundary_set: String,
    pub district: Option<String>,
    pub province: Option<String>,
    pub area_ha: Option<f64>,
    pub communes: usize,
    pub bbox: Option<[f64; 4]>,
    /// The day the report was made (Vietnam).
    pub made_on: String,
    /// Whether restricted fields are in it (a planner's report).
    pub restricted: bool,
}

/// Whether a unit's name starts with the word of its kind.
fn has_unit_word(name: &str) -> bool {
    [
        "Tỉnh ",
        "Thành phố ",
        "Xã ",
        "Phường ",
        "Thị trấn ",
        "Đặc khu ",
        "Huyện ",
        "Thị xã ",
        "Quận ",
    ]
    .iter()
    .any(|w| name.starts_with(w))
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub heading: Heading,
    pub themes: Vec<Theme>,
}

impl Report {
    /// "Báo cáo nông nghiệp xã Mỹ Xương": the report's title. A name that
    /// carries its unit ("Phường Sóc Trăng", "Thành phố Cần Thơ", as the
    /// official lists write them) is given as it is, not after another one.
    #[must_use]
    pub fn title(&self) -> String {
        let name = &self.heading.name;
        if has_unit_word(name) {
            return format!("Báo cáo nông nghiệp {name}");
        }
        let what = if self.heading.level == "province" {
            "tỉnh"
        } else {
            "xã"
        };
        format!("Báo cáo nông nghiệp {what} {name}")
    }

    /// The lines under the title: codes, boundary set, units above, area, date.
    #[must_use]
    pub fn facts(&self) -> Vec<String> {
        let h = &self.heading;
        let set = if h.boundary_set == "2025" {
            "ranh giới từ 01/7/2025"
        } else {
            "ranh giới trước 01/7/2025"
        };
        let mut lines = vec![format!("Mã: {} ({set})", h.code)];
        let above: Vec<&str> = [h.district.as_deref(), h.province.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        if !above.is_empty() {
            lines.push(format!("Thuộc: {}", above.join(", ")));
        }
        if h.level == "province" {
            // Since the 2025 reform the units are communes, wards and special zones; no towns.
            let units = if h.boundary_set == "2025" {
                "Số xã, phường, đặc khu"
            } else {
                "Số xã, phường, thị trấn"
            };
            lines.push(format!("{units}: {}", h.communes));
        }
        if let Some(ha) = h.area_ha {
            lines.push(format!("Diện tích tự nhiên: {} ha", page::hectares(ha)));
        }
        lines.push(format!("Ngày lập: {}", h.made_on));
        if h.restricted {
            lines.push("Có thông tin hạn chế (dành cho cán bộ quy hoạch), không công bố rộng rãi".into());
        }
        lines
    }
}
