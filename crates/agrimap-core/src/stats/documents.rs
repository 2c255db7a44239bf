//! A statistics table as it is taken home: CSV with English column names for
//! analysts, and an Excel workbook for planners (the question in words above
//! the table, Vietnamese headers with English beneath, numbers as numbers).

use super::StatsTable;
use crate::csv_cell::neutralised;
use crate::error::CoreError;
use rust_xlsxwriter::{Format, FormatBorder, Workbook};
use std::fmt::Write as _;

/// The table as CSV: `code,name[,class fields],metric (unit)…,features`
/// and, with `per`, the denominator and each metric divided by it.
#[must_use]
pub fn to_csv(table: &StatsTable) -> String {
    let grouped = table.group.is_some();
    let mut head: Vec<String> = Vec::new();
    if grouped {
        head.push("period".into());
    }
    head.extend(["code".to_owned(), "name".to_owned()]);
    head.extend(table.classes.iter().map(|c| (*c).to_owned()));
    head.extend(table.metrics.iter().map(|m| format!("{} ({})", m.name, m.unit)));
    head.push("features".into());
    if let Some(per) = &table.per {
        head.push(format!("{} ({})", per.by, per.unit));
        head.extend(
            table
                .metrics
                .iter()
                .map(|m| format!("{} per {} ({}/{})", m.name, per.by, m.unit, per.unit)),
        );
    }
    let mut out = head.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in &table.rows {
        let mut cells: Vec<String> = Vec::new();
        if grouped {
            cells.push(csv_field(r.period.as_deref().unwrap_or("")));
        }
        cells.extend([csv_field(&r.code), csv_field(&r.name)]);
        cells.extend(r.classes.iter().map(|c| csv_field(c)));
        cells.extend(r.values.iter().map(f64::to_string));
        cells.push(r.features.to_string());
        if let Some(d) = r.denominator {
            cells.push(d.to_string());
        }
        if let Some(ratios) = &r.ratios {
            cells.extend(ratios.iter().map(|v| v.map(|v| v.to_string()).unwrap_or_default()));
        }
        let _ = writeln!(out, "{}", cells.join(","));
    }
    out
}

/// A text cell: neutralised for spreadsheets, then quoted where CSV needs it.
fn csv_field(s: &str) -> String {
    let s = neutralised(s);
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.into_owned()
    }
}

/// Vietnamese names of the layers statistics are asked of.
fn layer_vi(id: &str) -> &str {
    match id {
        "crop" => "Cây trồng",
        "aquaculture" => "Nuôi trồng thủy sản",
        "growing_area" => "Vùng trồng",
        "ocop" => "Sản phẩm OCOP",
        "irrigation_works" => "Công trình thủy lợi",
        "irrigated_areas" => "Diện tích được tưới",
        "forest_plots" => "Lô rừng",
        "livestock_farms" => "Trang trại chăn nuôi",
        other => other,
    }
}

/// Vietnamese headers of the common class fields; others keep their name.
fn field_vi(name: &str) -> &str {
    match name {
        "crop_type" => "Loại cây trồng",
        "season" => "Mùa vụ",
        "practice" => "Phương thức sản xuất",
        "variety" => "Giống",
        "species" => "Đối tượng nuôi",
        "farming_mode" => "Hình thức nuôi",
        "status" => "Trạng thái",
        "stars" => "Số sao",
        "category" => "Nhóm sản phẩm",
        "kind" => "Loại",
        other => other,
    }
}

fn metric_vi(name: &str) -> String {
    match name {
        "area" => "Diện tích".to_owned(),
        "count" => "Số lượng".to_owned(),
        other => format!("Tổng {}", other.strip_prefix("sum:").unwrap_or(other)),
    }
}

fn per_vi(by: &str) -> &str {
    match by {
        "commune_area" => "diện tích tự nhiên",
        "farmland" => "diện tích sản xuất nông nghiệp",
        "population" => "dân số",
        other => other,
    }
}

fn by_vi(by: &str) -> &str {
    match by {
        "commune" => "Xã",
        "district" => "Huyện",
        "province" => "Tỉnh",
        other => other,
    }
}

/// The question a table answers, in Vietnamese and in English.
fn question(table: &StatsTable) -> (String, String) {
    let metrics_vi: Vec<String> = table.metrics.iter().map(|m| metric_vi(&m.name)).collect();
    let metrics_en: Vec<&str> = table.metrics.iter().map(|m| m.name.as_str()).collect();
    let mut vi = format!(
        "{} — {} theo {}",
        layer_vi(table.layer),
        metrics_vi.join(", "),
        by_vi(table.by).to_lowercase()
    );
    let mut en = format!("{}: {} by {}", table.layer, metrics_en.join(", "), table.by);
    if !table.classes.is_empty() {
        let vi_classes: Vec<&str> = table.classes.iter().map(|c| field_vi(c)).collect();
        let _ = write!(vi, " và {}", vi_classes.join(", ").to_lowercase());
        let _ = write!(en, " and {}", table.classes.join(", "));
    }
    if let Some(per) = &table.per {
        let _ = write!(vi, ", trên {}", per_vi(per.by));
        let _ = write!(en, ", per {}", per.by);
    }
    (vi, en)
}

/// The column headers of a table: (Vietnamese, English).
fn headers(table: &StatsTable) -> Vec<(String, String)> {
    let mut heads: Vec<(String, String)> = Vec::new();
    if table.group.is_some() {
        heads.push(("Kỳ (năm, vụ)".into(), "Period".into()));
    }
    heads.extend([
        (format!("Mã {}", by_vi(table.by).to_lowercase()), "Code".into()),
        (format!("Tên {}", by_vi(table.by).to_lowercase()), "Name".into()),
    ]);
    heads.extend(table.classes.iter().map(|c| (field_vi(c).to_owned(), (*c).to_owned())));
    heads.extend(table.metrics.iter().map(|m| {
        (
            format!("{} ({})", metric_vi(&m.name), m.unit),
            format!("{} ({})", m.name, m.unit),
        )
    }));
    heads.push(("Số đối tượng".into(), "Features".into()));
    if let Some(per) = &table.per {
        heads.push((
            format!("{} ({})", per_vi(per.by), per.unit),
            format!("{} ({})", per.by, per.unit),
        ));
        heads.extend(table.metrics.iter().map(|m| {
            (
                format!("{} trên {}", metric_vi(&m.name), per_vi(per.by)),
                format!("{} per {} ({}/{})", m.name, per.by, m.unit, per.unit),
            )
        }));
    }
    heads
}

/// The table as an Excel workbook: the question and its selection above,
/// then one header row in Vietnamese and one in English, then the rows and
/// a total; values are numbers.
///
/// # Errors
/// When the workbook cannot be written.
pub fn to_xlsx(table: &StatsTable) -> Result<Vec<u8>, CoreError> {
    let mut book = Workbook::new();
    let title = Format::new().set_bold().set_font_size(13);
    let head = crate::workbook::header();
    let english = crate::workbook::english_header();
    let cell = Format::new().set_border(FormatBorder::Thin);
    let number = Format::new().set_border(FormatBorder::Thin).set_num_format("#,##0.00");
    let ratio = Format::new().set_border(FormatBorder::Thin).set_num_format("0.0000");
    let total = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_num_format("#,##0.00");
    let sheet = book.add_worksheet();
    sheet.set_name("Thong ke")?;
    let (vi, en) = question(table);
    sheet.write_string_with_format(0, 0, vi, &title)?;
    sheet.write_string(1, 0, en)?;
    let mut line = 2;
    let mut note = |label: &str, text: String| -> Result<(), CoreError> {
        sheet.write_string(line, 0, format!("{label}: {text}"))?;
        line += 1;
        Ok(())
    };
    note("Bộ ranh giới / boundary set", table.boundary_set.to_owned())?;
    if let Some(p) = &table.province {
        note("Tỉnh / province", p.clone())?;
    }
    if let Some(f) = &table.filter {
        note("Điều kiện lọc / filter (CQL2)", f.clone())?;
    }
    if let Some(d) = &table.datetime {
        note("Thời gian / datetime", d.clone())?;
    }
    if let Some(t) = &table.as_of {
        note("Hiện trạng tại / as of", t.clone())?;
    }
    if let Some(g) = table.group {
        let periods: Vec<&str> = table.periods.iter().map(|p| p.period.as_str()).collect();
        note("Theo kỳ / by", format!("{g}: {}", periods.join(", ")))?;
    }

    let heads = headers(table);
    let top = line + 1;
    for (col, (vi, en)) in heads.iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.write_string_with_format(top, col, vi, &head)?;
        sheet.write_string_with_format(top + 1, col, en, &english)?;
        sheet.set_column_width(col, if col == 1 { 26.0 } else { 16.0 })?;
    }
    let mut row = top + 2;
    for r in &table.rows {
        let mut col: u16 = 0;
        let mut next = || {
            col += 1;
            col - 1
        };
        if let Some(period) = &r.period {
            sheet.write_string_with_format(row, next(), period, &cell)?;
        }
        sheet.write_string_with_format(row, next(), &r.code, &cell)?;
        sheet.write_string_with_format(row, next(), &r.name, &cell)?;
        for c in &r.classes {
            sheet.write_string_with_format(row, next(), c, &cell)?;
        }
        for v in &r.values {
            sheet.write_number_with_format(row, next(), *v, &number)?;
        }
        sheet.write_number_with_format(row, next(), r.features as f64, &cell)?;
        if let Some(d) = r.denominator {
            sheet.write_number_with_format(row, next(), d, &number)?;
        }
        for v in r.ratios.iter().flatten() {
            let c = next();
            match v {
                Some(v) => sheet.write_number_with_format(row, c, *v, &ratio)?,
                None => sheet.write_blank(row, c, &cell)?,
            };
        }
        row += 1;
    }
    // Across periods a total adds one year to another: none is written.
    if table.group.is_none() {
        sheet.write_string_with_format(row, 0, "Tổng cộng / Total", &total)?;
        let first_value = u16::try_from(2 + table.classes.len()).unwrap_or(u16::MAX);
        for (i, t) in table.totals.iter().enumerate() {
            let col = first_value + u16::try_from(i).unwrap_or(u16::MAX);
            sheet.write_number_with_format(row, col, *t, &total)?;
        }
    }
    sheet.set_freeze_panes(top + 2, 2)?;
    Ok(book.save_to_buffer()?)
}
