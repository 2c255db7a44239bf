//! The documents an NTM office hands on: a commune's scorecard and dossier
//! as an Excel workbook laid out like a self-assessment report (báo cáo
//! tự đánh giá: one row per indicator under its criterion, then the
//! dossier's history on a sheet of its own) and as a printable HTML page,
//! and the province's roll-up as a workbook.

use super::dashboard::Dashboard;
use super::scorecard::{IndicatorCard, Scorecard};
use super::workflow::Change;
use crate::error::CoreError;
use agrimap_model::ntm::{EntryValue, Target, Unit, Verdict};
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
    sheet.set_name("Tu danh gia")?;
    sheet.merge_range(
        0,
        0,
        0,
        7,
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
        format!(
            "Kết quả: {}/{} tiêu chí đạt; {}/{} chỉ tiêu đạt; hồ sơ: {}",
            card.criteria_met,
            card.criteria_total,
            card.indicators_met,
            card.indicators_total,
            card.dossier.state.as_str()
        ),
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
        "Nguồn số liệu",
        "Minh chứng, ghi chú",
    ];
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(header_row, col as u16, *h, &head)?;
    }
    for (col, width) in [6.0, 26.0, 60.0, 14.0, 14.0, 16.0, 16.0, 60.0].iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    let mut row = header_row + 1;
    for c in &card.criteria {
        sheet.write_string_with_format(row, 0, &c.id, &criterion)?;
        sheet.write_string_with_format(row, 1, &c.name_vi, &criterion)?;
        for col in 2..5 {
            sheet.write_blank(row, col, &criterion)?;
        }
        sheet.write_string_with_format(row, 5, verdict_vi(c.verdict), &criterion)?;
        for col in 6..8 {
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
                verdict_vi(i.verdict).to_owned(),
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

/// The dossier's history on a sheet of its own, one change a row.
fn history_sheet(book: &mut Workbook, head: &Format, history: &[Change]) -> Result<(), CoreError> {
    let log = book.add_worksheet();
    log.set_name("Lich su ho so")?;
    for (col, h) in ["Thời điểm (UTC)", "Người thực hiện", "Loại", "Nội dung"]
        .iter()
        .enumerate()
    {
        log.write_string_with_format(0, col as u16, *h, head)?;
    }
    for (col, width) in [22.0, 18.0, 10.0, 90.0].iter().enumerate() {
        log.set_column_width(col as u16, *width)?;
    }
    for (n, change) in history.iter().enumerate() {
        let r = 1 + n as u32;
        log.write_string(r, 0, change.at.to_string())?;
        log.write_string(r, 1, &change.author)?;
        log.write_string(r, 2, change.kind)?;
        log.write_string(r, 3, change.what.to_string())?;
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
    sheet.set_name("Tong hop")?;
    sheet.write_string(
        0,
        0,
        format!(
            "Tổng hợp nông thôn mới năm {} — tỉnh {} ({} xã, bộ ranh giới {})",
            d.year,
            d.province.as_deref().unwrap_or("tất cả"),
            d.communes,
            d.boundary_set
        ),
    )?;
    let headers = [
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
    for (col, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, col as u16, *h, &head)?;
    }
    for (n, r) in d.rows.iter().enumerate() {
        let row = 3 + n as u32;
        sheet.write_string(row, 0, &r.code)?;
        sheet.write_string(row, 1, &r.name)?;
        sheet.write_string(row, 2, r.district_code.as_deref().unwrap_or(""))?;
        sheet.write_string(row, 3, r.ntm_status.as_deref().unwrap_or(""))?;
        if let Some(y) = r.ntm_year {
            sheet.write_number(row, 4, y as f64)?;
        }
        sheet.write_string(row, 5, &r.dossier)?;
        sheet.write_number(row, 6, r.criteria_met as f64)?;
        sheet.write_number(row, 7, r.criteria_total as f64)?;
        if let Some(b) = r.criteria_met_before {
            sheet.write_number(row, 8, b as f64)?;
        }
        sheet.write_string(row, 9, r.missing.join(", "))?;
    }
    for (col, width) in [10.0, 28.0, 10.0, 14.0, 12.0, 12.0, 12.0, 12.0, 14.0, 40.0]
        .iter()
        .enumerate()
    {
        sheet.set_column_width(col as u16, *width)?;
    }
    Ok(book.save_to_buffer()?)
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
Căn cứ: {source}<br>Kết quả: {cm}/{ct} tiêu chí đạt; {im}/{it} chỉ tiêu đạt; hồ sơ: {state}</p>\
<table><thead><tr><th>TT</th><th>Tên tiêu chí / nội dung</th><th>Chỉ tiêu</th><th>Kết quả</th><th>Tự đánh giá</th><th>Nguồn</th><th>Minh chứng, ghi chú</th></tr></thead><tbody>",
        code = esc(&card.commune.code),
        name = esc(&card.commune.name),
        set = esc(&card.commune.boundary_set),
        year = card.year,
        title = esc(&card.set.title_vi),
        version = card.set.version,
        source = esc(&card.set.source),
        cm = card.criteria_met,
        ct = card.criteria_total,
        im = card.indicators_met,
        it = card.indicators_total,
        state = card.dossier.state.as_str(),
    );
    for c in &card.criteria {
        let _ = write!(
            h,
            "<tr class=\"criterion\"><td>{}</td><td colspan=\"3\">{}</td><td class=\"{}\">{}</td><td></td><td></td></tr>",
            esc(&c.id),
            esc(&c.name_vi),
            c.verdict.as_str(),
            verdict_vi(c.verdict)
        );
        for i in &c.indicators {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&i.id),
                esc(&i.text_vi),
                esc(&target_text(i)),
                esc(&value_text(i)),
                i.verdict.as_str(),
                verdict_vi(i.verdict),
                source_text(i),
                esc(&evidence_text(i))
            );
        }
    }
    h.push_str("</tbody></table></body></html>\n");
    h
}
