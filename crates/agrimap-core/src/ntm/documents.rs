//! The documents an NTM office hands on: a commune's scorecard and dossier
//! as an Excel workbook laid out like a self-assessment report (báo cáo
//! tự đánh giá: one row per indicator under its criterion, then the
//! dossier's history on a sheet of its own) and as a printable HTML page,
//! and the province's roll-up as a workbook.

use super::dashboard::Dashboard;
use super::scorecard::{CriterionCard, IndicatorCard, Scorecard};
use super::workflow::Change;
use crate::error::CoreError;
use agrimap_model::ntm::{DossierState, EntryValue, Target, Unit, Verdict};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use std::fmt::Write as _;

fn verdict_vi(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "Đạt",
        Verdict::NotMet => "Chưa đạt",
        Verdict::NoData => "Chưa có số liệu",
        Verdict::NoTarget => "Chưa có chỉ tiêu",
    }
}

/// Where a dossier stands, as the NTM office writes it.
fn state_vi(s: DossierState) -> &'static str {
    match s {
        DossierState::Draft => "Đang lập",
        DossierState::Submitted => "Đã nộp, chờ thẩm định",
        DossierState::Appraised => "Đã thẩm định",
        DossierState::Returned => "Trả lại để bổ sung",
        DossierState::Recognised => "Đã công nhận",
        DossierState::Revoked => "Đã thu hồi công nhận",
    }
}

/// A commune's recognised level (`ntm_status`), as the decisions name it.
fn level_vi(status: &str) -> &str {
    match status {
        "standard" => "Đạt chuẩn",
        "advanced" => "Nâng cao",
        "model" => "Kiểu mẫu",
        "not_yet" => "Chưa đạt chuẩn",
        other => other,
    }
}

/// The result line of a scorecard: counted from the appraisal once the
/// dossier stands on one, else from the values (the self-assessment).
fn result_line(card: &Scorecard) -> String {
    let by = if card.counted_from == "appraisal" {
        "theo thẩm định"
    } else {
        "tự đánh giá"
    };
    format!(
        "Kết quả ({by}): {}/{} tiêu chí đạt; {}/{} chỉ tiêu đạt; hồ sơ: {}",
        card.criteria_met,
        card.criteria_total,
        card.indicators_met,
        card.indicators_total,
        state_vi(card.dossier.state)
    )
}

/// The appraisers' word on an indicator, or nothing before an appraisal.
fn appraisal_vi(i: &IndicatorCard) -> &'static str {
    match appraised_met(i) {
        Some(true) => "Đạt",
        Some(false) => "Chưa đạt",
        None => "",
    }
}

/// Whether the appraisers found the indicator met; `None` before an appraisal.
fn appraised_met(i: &IndicatorCard) -> Option<bool> {
    i.appraisal.as_ref().map(|a| a.verdict == "met")
}

/// A criterion's verdicts: what its values say, and the appraisers' (when given).
fn criterion_vi(c: &CriterionCard) -> (&'static str, &'static str) {
    let values: Vec<Verdict> = c.indicators.iter().map(|i| i.value_verdict).collect();
    let appraised: Option<Vec<bool>> = c.indicators.iter().map(appraised_met).collect();
    let appraised = match appraised {
        Some(met) if met.iter().all(|m| *m) => "Đạt",
        Some(_) => "Chưa đạt",
        None => "",
    };
    (verdict_vi(Verdict::of_criterion(&values)), appraised)
}

fn unit_vi(u: Unit) -> &'static str {
    match u {
        Unit::Percent => "%",
        Unit::MillionVnd => " triệu đồng/người",
        Unit::Count | Unit::Pass => "",
    }
}

fn target_text(i: &IndicatorCard) -> String {
    let op = match i.judged {
        agrimap_model::ntm::Judged::AtLeast => "≥ ",
        agrimap_model::ntm::Judged::AtMost => "≤ ",
        agrimap_model::ntm::Judged::Pass => "",
    };
    match i.target {
        None => String::new(),
        Some(Target::Pass(_)) => "Đạt".into(),
        Some(Target::Number(n)) => format!("{op}{n}{}", unit_vi(i.unit)),
    }
}

fn value_text(i: &IndicatorCard) -> String {
    match i.value {
        None => String::new(),
        Some(EntryValue::Pass(true)) => "Đạt".into(),
        Some(EntryValue::Pass(false)) => "Không đạt".into(),
        Some(EntryValue::Number(n)) => format!("{n}{}", unit_vi(i.unit)),
    }
}

fn source_text(i: &IndicatorCard) -> &'static str {
    match i.source {
        "layers" => "Bản đồ agrimap",
        "editor" => "Xã nhập",
        _ => "",
    }
}

/// What backs a value: the editor's comment and files, and the layers' figures.
fn evidence_text(i: &IndicatorCard) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &i.entry {
        if !e.comment.is_empty() {
            parts.push(e.comment.clone());
        }
        for f in &e.evidence {
            parts.push(format!(
                "Tệp: {} (SHA-256 {})",
                f.name,
                &f.sha256[..12.min(f.sha256.len())]
            ));
        }
    }
    if let Some(c) = &i.computed {
        for item in &c.evidence {
            parts.push(format!("{}: {} {}", item.label_vi, item.figure, item.unit));
        }
    }
    parts.join("; ")
}

impl From<XlsxError> for CoreError {
    fn from(e: XlsxError) -> Self {
        CoreError::internal("document_failed", format!("the workbook could not be written: {e}"))
    }
}

/// The scorecard and the dossier's history as an `.xlsx` workbook.
///
/// # Errors
/// `document_failed` when the workbook cannot be written.
pub fn scorecard_xlsx(card: &Scorecard, history: &[Change]) -> Result<Vec<u8>, CoreError> {
    let mut book = Workbook::new();
    let title = Format::new()
        .set_bold()
        .set_font_size(13)
        .set_align(FormatAlign::Center);
    let head = crate::workbook::header();
    let cell = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let criterion = Format::new().set_bold().set_border(FormatBorder::Thin).set_text_wrap();
    let sheet = book.add_worksheet();
    sheet.set_name("Tự đánh giá")?;
    sheet.merge_range(
        0,
        0,
        0,
        8,
        "BÁO CÁO TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN BỘ TIÊU CHÍ XÃ NÔNG THÔN MỚI",
        &title,
    )?;
    let facts = [
        format!(
            "Xã: {} (mã {}, bộ ranh giới {})",
            card.commune.name, card.commune.code, card.commune.boundary_set
        ),
        format!("Năm đánh giá: {}", card.year),
        format!("Bộ tiêu chí: {} (phiên bản {})", card.set.title_vi, card.set.version),
        format!("Căn cứ: {}", card.set.source),
        result_line(card),
    ];
    for (n, text) in facts.iter().enumerate() {
        sheet.write_string(1 + n as u32, 0, text)?;
    }
    let header_row = 7;
    let headers = [
        "TT",
        "Tên tiêu chí",
        "Nội dung tiêu chí",
        "Chỉ tiêu",
        "Kết quả",
        "Tự đánh giá",
        "Thẩm định",
        "Nguồn số liệu",
        "Minh chứng, ghi chú",
    ];
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(header_row, col as u16, *h, &head)?;
    }
    for (col, width) in [6.0, 26.0, 60.0, 14.0, 14.0, 16.0, 12.0, 16.0, 60.0].iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    let mut row = header_row + 1;
    for c in &card.criteria {
        sheet.write_string_with_format(row, 0, &c.id, &criterion)?;
        sheet.write_string_with_format(row, 1, &c.name_vi, &criterion)?;
        for col in 2..5 {
            sheet.write_blank(row, col, &criterion)?;
        }
        let (own, appraised) = criterion_vi(c);
        sheet.write_string_with_format(row, 5, own, &criterion)?;
        sheet.write_string_with_format(row, 6, appraised, &criterion)?;
        for col in 7..9 {
            sheet.write_blank(row, col, &criterion)?;
        }
        row += 1;
        for i in &c.indicators {
            let cells = [
                i.id.clone(),
                String::new(),
                i.text_vi.clone(),
                target_text(i),
                value_text(i),
                verdict_vi(i.value_verdict).to_owned(),
                appraisal_vi(i).to_owned(),
                source_text(i).to_owned(),
                evidence_text(i),
            ];
            for (col, text) in cells.iter().enumerate() {
                sheet.write_string_with_format(row, col as u16, text, &cell)?;
            }
            row += 1;
        }
    }
    history_sheet(&mut book, &head, history)?;
    Ok(book.save_to_buffer()?)
}

/// Who made a change: the token's name and id, or the id alone.
fn author_vi(change: &Change) -> String {
    match (change.author.as_str(), &change.author_name) {
        ("cli", _) => "Dòng lệnh (quản trị)".into(),
        (id, Some(name)) => format!("{name} ({id})"),
        (id, None) => id.to_owned(),
    }
}

/// What a change did, in words: the value entered, or the move with its
/// comment, reasons or decision.
fn change_vi(change: &Change) -> (&'static str, String) {
    let w = &change.what;
    let text = |key: &str| w[key].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
    if change.kind == "entry" {
        let value = match &w["value"] {
            serde_json::Value::Null => "rút số liệu đã nhập".to_owned(),
            serde_json::Value::Bool(true) => "Đạt".to_owned(),
            serde_json::Value::Bool(false) => "Không đạt".to_owned(),
            v => v.to_string(),
        };
        let mut out = format!("Chỉ tiêu {}: {value}", w["indicator"].as_str().unwrap_or("?"));
        if let Some(c) = text("comment") {
            let _ = write!(out, "; {c}");
        }
        let files = w["evidence"].as_array().map_or(0, Vec::len);
        if files > 0 {
            let _ = write!(out, "; {files} tệp minh chứng");
        }
        return ("Nhập số liệu", out);
    }
    let to = w["to"].as_str().and_then(DossierState::parse).map_or("?", state_vi);
    let d = &w["details"];
    let detail = |key: &str| d[key].as_str().filter(|t| !t.is_empty());
    let mut out = format!("Chuyển hồ sơ: {to}");
    if let Some(n) = detail("decision_number") {
        let _ = write!(out, "; quyết định số {n}");
    }
    if let Some(date) = detail("decision_date") {
        let _ = write!(out, " ngày {date}");
    }
    if let Some(level) = detail("level") {
        let _ = write!(out, "; mức {}", level_vi(level));
    }
    if let Some(verdicts) = d["verdicts"].as_object() {
        let met = verdicts.values().filter(|v| v["verdict"] == "met").count();
        let _ = write!(out, "; {met}/{} chỉ tiêu đạt", verdicts.len());
    }
    if let Some(r) = detail("reasons") {
        let _ = write!(out, "; lý do: {r}");
    }
    if let Some(c) = detail("comment") {
        let _ = write!(out, "; {c}");
    }
    ("Chuyển hồ sơ", out)
}

/// The dossier's history on a sheet of its own, one change a row.
fn history_sheet(book: &mut Workbook, head: &Format, history: &[Change]) -> Result<(), CoreError> {
    let log = book.add_worksheet();
    log.set_name("Lịch sử hồ sơ")?;
    for (col, h) in ["Thời điểm (UTC)", "Người thực hiện", "Loại", "Nội dung"]
        .iter()
        .enumerate()
    {
        log.write_string_with_format(0, col as u16, *h, head)?;
    }
    for (col, width) in [22.0, 28.0, 14.0, 90.0].iter().enumerate() {
        log.set_column_width(col as u16, *width)?;
    }
    for (n, change) in history.iter().enumerate() {
        let r = 1 + n as u32;
        let (kind, what) = change_vi(change);
        log.write_string(r, 0, change.at.to_string())?;
        log.write_string(r, 1, author_vi(change))?;
        log.write_string(r, 2, kind)?;
        log.write_string(r, 3, what)?;
    }
    Ok(())
}

/// The roll-up's table of communes as an `.xlsx` workbook.
///
/// # Errors
/// `document_failed` when the workbook cannot be written.
pub fn dashboard_xlsx(d: &Dashboard) -> Result<Vec<u8>, CoreError> {
    let mut book = Workbook::new();
    let head = Format::new()
        .set_bold()
        .set_border(FormatBorder::Thin)
        .set_background_color(0x00D9_E1F2);
    let sheet = book.add_worksheet();
    sheet.set_name("Tổng hợp")?;
    let place = match (&d.province_name, &d.province) {
        (Some(name), Some(code)) => format!("{name} (mã {code})"),
        (None, Some(code)) => format!("tỉnh mã {code}"),
        _ => "mọi tỉnh".to_owned(),
    };
    // Districts were abolished with the 2025 reform: their column only for the older set.
    let districts = d.rows.iter().any(|r| r.district_code.is_some());
    sheet.write_string(
        0,
        0,
        format!(
            "Tổng hợp nông thôn mới năm {} — {place} ({} đơn vị cấp xã, bộ ranh giới {})",
            d.year, d.communes, d.boundary_set
        ),
    )?;
    let mut headers = vec![
        "Mã xã",
        "Tên xã",
        "Mã huyện",
        "Mức công nhận",
        "Năm công nhận",
        "Hồ sơ",
        "Số tiêu chí đạt",
        "Tổng số tiêu chí",
        "Số tiêu chí đạt năm trước",
        "Tiêu chí chưa đạt",
    ];
    let mut widths = vec![10.0, 28.0, 10.0, 16.0, 12.0, 20.0, 12.0, 12.0, 14.0, 40.0];
    if !districts {
        headers.remove(2);
        widths.remove(2);
    }
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, col as u16, *h, &head)?;
    }
    for (n, r) in d.rows.iter().enumerate() {
        let row = 3 + n as u32;
        let mut cells: Vec<Cell> = vec![Cell::Text(r.code.clone()), Cell::Text(r.name.clone())];
        if districts {
            cells.push(Cell::Text(r.district_code.clone().unwrap_or_default()));
        }
        cells.extend([
            Cell::Text(level_vi(r.ntm_status.as_deref().unwrap_or("")).to_owned()),
            Cell::Number(r.ntm_year.map(|y| y as f64)),
            Cell::Text(DossierState::parse(&r.dossier).map_or_else(|| r.dossier.clone(), |s| state_vi(s).to_owned())),
            Cell::Number(Some(r.criteria_met as f64)),
            Cell::Number(Some(r.criteria_total as f64)),
            Cell::Number(r.criteria_met_before.map(|b| b as f64)),
            Cell::Text(r.missing.join(", ")),
        ]);
        for (col, c) in cells.into_iter().enumerate() {
            match c {
                Cell::Text(t) => sheet.write_string(row, col as u16, t)?,
                Cell::Number(Some(n)) => sheet.write_number(row, col as u16, n)?,
                Cell::Number(None) => sheet,
            };
        }
    }
    for (col, width) in widths.iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    Ok(book.save_to_buffer()?)
}

/// A cell of the roll-up: text, or a number that may be missing.
enum Cell {
    Text(String),
    Number(Option<f64>),
}

/// `text` made safe inside HTML.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The scorecard as a printable HTML page (A4, Vietnamese), self-contained.
#[must_use]
pub fn scorecard_html(card: &Scorecard) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Tự đánh giá NTM {code} {year}</title>\
<style>@page{{size:A4 landscape;margin:12mm}}body{{font-family:'Times New Roman',serif;font-size:12pt}}\
h1{{font-size:14pt;text-align:center}}table{{border-collapse:collapse;width:100%}}\
th,td{{border:1px solid #000;padding:3px 5px;vertical-align:top}}th{{background:#d9e1f2}}\
tr.criterion td{{font-weight:bold;background:#f2f2f2}}.met{{color:#006100}}.not_met{{color:#9c0006}}</style></head><body>\
<h1>BÁO CÁO TỰ ĐÁNH GIÁ KẾT QUẢ THỰC HIỆN BỘ TIÊU CHÍ XÃ NÔNG THÔN MỚI</h1>\
<p>Xã: <b>{name}</b> (mã {code}, bộ ranh giới {set})<br>Năm đánh giá: {year}<br>Bộ tiêu chí: {title} (phiên bản {version})<br>\
Căn cứ: {source}<br>{result}</p>\
<table><thead><tr><th>TT</th><th>Tên tiêu chí / nội dung</th><th>Chỉ tiêu</th><th>Kết quả</th><th>Tự đánh giá</th><th>Thẩm định</th><th>Nguồn</th><th>Minh chứng, ghi chú</th></tr></thead><tbody>",
        code = esc(&card.commune.code),
        name = esc(&card.commune.name),
        set = esc(&card.commune.boundary_set),
        year = card.year,
        title = esc(&card.set.title_vi),
        version = card.set.version,
        source = esc(&card.set.source),
        result = esc(&result_line(card)),
    );
    for c in &card.criteria {
        let (own, appraised) = criterion_vi(c);
        let _ = write!(
            h,
            "<tr class=\"criterion\"><td>{}</td><td colspan=\"3\">{}</td><td>{}</td><td>{}</td><td></td><td></td></tr>",
            esc(&c.id),
            esc(&c.name_vi),
            own,
            appraised
        );
        for i in &c.indicators {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.id),
                esc(&i.text_vi),
                esc(&target_text(i)),
                esc(&value_text(i)),
                i.value_verdict.as_str(),
                verdict_vi(i.value_verdict),
                appraisal_vi(i),
                source_text(i),
                esc(&evidence_text(i))
            );
        }
    }
    h.push_str("</tbody></table></body></html>\n");
    h
}
