//! The bulletin as it is handed on: a printable HTML page and an Excel
//! workbook laid out like a sub-department's weekly notice (Vietnamese first,
//! English beneath), and CSV with English column names for analysts. Counts
//! are numbers in the workbook, never text.

use super::{Catch, PestBulletin, SpeciesWeek};
use crate::error::CoreError;
use crate::ntm::documents::esc;
use agrimap_model::readings::AlertState;
use rust_xlsxwriter::{Format, FormatBorder, Workbook};
use std::fmt::Write as _;

fn state_vi(s: AlertState) -> &'static str {
    match s {
        AlertState::Ok => "Bình thường",
        AlertState::Watch => "Theo dõi",
        AlertState::Alarm => "Báo động",
        // A bulletin judges catches, never a station's silence.
        AlertState::Silent => "Mất tín hiệu",
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `DD/MM/YYYY` of `YYYY-MM-DD`, as Vietnamese documents date.
fn date_vi(iso: &str) -> String {
    let mut parts = iso.split('-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{d}/{m}/{y}"),
        _ => iso.to_owned(),
    }
}

fn title_vi(b: &PestBulletin) -> String {
    let (year, week) = b.week.split_once("-W").unwrap_or((&b.week, ""));
    format!(
        "THÔNG BÁO TÌNH HÌNH SINH VẬT GÂY HẠI 7 NGÀY — Tuần {week}/{year} (từ {} đến {})",
        date_vi(&b.from),
        date_vi(&b.to)
    )
}

fn place_vi(b: &PestBulletin) -> String {
    let province = b
        .province_name
        .clone()
        .unwrap_or_else(|| format!("Tỉnh {}", b.province));
    match &b.commune {
        Some(c) => format!("{province}, xã mã {c}"),
        None => province,
    }
}

const HEAD_VI: [&str; 9] = [
    "Xã",
    "Mã xã",
    "Số bẫy",
    "Số đêm bẫy",
    "Trung bình (con/bẫy/đêm)",
    "Cao nhất (con/bẫy/đêm)",
    "Trung bình tuần trước",
    "Tăng, giảm so với tuần trước (%)",
    "Mức cảnh báo",
];
const HEAD_EN: [&str; 9] = [
    "Commune",
    "Code",
    "Traps",
    "Trap-nights",
    "Mean per trap-night",
    "Max per trap-night",
    "Last week's mean",
    "Change on last week (%)",
    "State",
];

/// The bulletin as CSV: per species, the province (or commune) line, then one
/// line per commune.
#[must_use]
pub fn to_csv(b: &PestBulletin) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = out.write_record([
        "week",
        "species",
        "name_vi",
        "scientific",
        "scope",
        "commune_code",
        "commune_name",
        "traps",
        "trap_nights",
        "mean_per_trap_night",
        "max_per_trap_night",
        "last_week_mean",
        "change_percent",
        "state",
    ]);
    let row = |s: &SpeciesWeek, scope: &str, code: &str, name: &str, c: &Catch, state: &str| {
        [
            b.week.clone(),
            s.code.clone(),
            s.name_vi.clone(),
            s.scientific.clone(),
            scope.to_owned(),
            code.to_owned(),
            name.to_owned(),
            c.traps.to_string(),
            c.trap_nights.to_string(),
            number(c.mean),
            number(c.max),
            number(c.last_week_mean),
            number(c.change_percent),
            state.to_owned(),
        ]
    };
    for s in &b.species {
        let scope = if b.commune.is_some() { "commune" } else { "province" };
        let mut rows = vec![row(s, scope, b.commune.as_deref().unwrap_or(""), "", &s.total, "")];
        rows.extend(
            s.communes
                .iter()
                .map(|c| row(s, "commune", &c.code, &c.name, &c.catch, c.state.as_str())),
        );
        for r in rows {
            let safe: Vec<_> = r.iter().map(|c| crate::csv_cell::neutralised(c)).collect();
            let _ = out.write_record(safe.iter().map(|c| c.as_bytes()));
        }
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// The bulletin as a printable HTML page (A4), self-contained.
#[must_use]
pub fn to_html(b: &PestBulletin) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\"><title>Bản tin sinh vật gây hại {week}</title>\
<style>@page{{size:A4;margin:12mm}}body{{font-family:'Times New Roman',serif;font-size:12pt}}\
h1{{font-size:14pt;text-align:center}}h2{{font-size:12pt;margin-top:14pt}}.en{{color:#555;font-size:10pt}}\
table{{border-collapse:collapse;width:100%}}th,td{{border:1px solid #000;padding:3px 5px}}th{{background:#d9e1f2}}\
td.n{{text-align:right}}tr.total td{{font-weight:bold;background:#f2f2f2}}.watch{{color:#9c5700}}.alarm{{color:#9c0006;font-weight:bold}}</style>\
</head><body><h1>{title}</h1><p class=\"en\" lang=\"en\">Weekly pest bulletin, week {week} ({from} to {to})</p>\
<p>Địa bàn: <b>{place}</b>; số bẫy đèn: {traps}; so sánh với tuần {previous}.<br>\
<span class=\"en\" lang=\"en\">Light traps: {traps}; compared with week {previous}. Catches per trap-night.</span></p>",
        week = esc(&b.week),
        title = esc(&title_vi(b)),
        from = esc(&b.from),
        to = esc(&b.to),
        place = esc(&place_vi(b)),
        traps = b.traps,
        previous = esc(&b.previous_week),
    );
    for s in &b.species {
        let _ = write!(
            h,
            "<section id=\"{code}\"><h2>{vi}{sci} <span class=\"en\" lang=\"en\">{en}</span></h2><table><thead><tr>",
            code = esc(&s.code),
            vi = esc(&s.name_vi),
            sci = if s.scientific.is_empty() {
                String::new()
            } else {
                format!(" (<i>{}</i>)", esc(&s.scientific))
            },
            en = esc(&s.name_en)
        );
        for (vi, en) in HEAD_VI.iter().zip(HEAD_EN) {
            let _ = write!(h, "<th>{vi}<br><span class=\"en\" lang=\"en\">{en}</span></th>");
        }
        h.push_str("</tr></thead><tbody>");
        let line = |h: &mut String, class: &str, name: &str, code: &str, c: &Catch, state: Option<AlertState>| {
            let _ = write!(
                h,
                "<tr class=\"{class}\" data-commune=\"{code}\"><td>{name}</td><td>{code}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n mean\">{}</td><td class=\"n max\">{}</td><td class=\"n\">{}</td><td class=\"n change\">{}</td><td class=\"{}\">{}</td></tr>",
                c.traps,
                c.trap_nights,
                number(c.mean),
                number(c.max),
                number(c.last_week_mean),
                number(c.change_percent),
                state.map_or("", AlertState::as_str),
                state.map_or("", state_vi),
                name = esc(name),
                code = esc(code),
            );
        };
        for c in &s.communes {
            line(&mut h, "commune", &c.name, &c.code, &c.catch, Some(c.state));
        }
        line(&mut h, "total", "Toàn địa bàn / All", "", &s.total, None);
        let list = |codes: &[String]| {
            let names: Vec<String> = codes
                .iter()
                .map(|code| {
                    let name = s
                        .communes
                        .iter()
                        .find(|c| c.code == *code)
                        .map_or("", |c| c.name.as_str());
                    format!("{} ({})", esc(name), esc(code))
                })
                .collect();
            if names.is_empty() {
                "không có / none".to_owned()
            } else {
                names.join(", ")
            }
        };
        let _ = write!(
            h,
            "</tbody></table><p>Xã báo động <span class=\"en\" lang=\"en\">(alarm)</span>: <span class=\"alarm-list\">{}</span><br>\
Xã cần theo dõi <span class=\"en\" lang=\"en\">(watch)</span>: <span class=\"watch-list\">{}</span></p></section>",
            list(&s.communes_on_alarm),
            list(&s.communes_on_watch)
        );
    }
    h.push_str("</body></html>\n");
    h
}

/// The bulletin as an `.xlsx` workbook: one sheet, each species a block of
/// its communes and the total.
///
/// # Errors
/// `document_failed` when the workbook cannot be written.
pub fn to_xlsx(b: &PestBulletin) -> Result<Vec<u8>, CoreError> {
    let mut book = Workbook::new();
    let title = Format::new().set_bold().set_font_size(13);
    let head = crate::workbook::header();
    let english = crate::workbook::english_header();
    let species_format = Format::new().set_bold().set_background_color(0x00F2_F2F2);
    let total = Format::new().set_bold().set_border(FormatBorder::Thin);
    let cell = Format::new().set_border(FormatBorder::Thin);
    let sheet = book.add_worksheet();
    sheet.set_name("Ban tin")?;
    sheet.write_string_with_format(0, 0, title_vi(b), &title)?;
    sheet.write_string(
        1,
        0,
        format!("Weekly pest bulletin, week {} ({} to {})", b.week, b.from, b.to),
    )?;
    sheet.write_string(
        2,
        0,
        format!(
            "Địa bàn: {}; số bẫy đèn: {}; so sánh với tuần {}",
            place_vi(b),
            b.traps,
            b.previous_week
        ),
    )?;
    for (col, width) in [24.0, 10.0, 8.0, 10.0, 14.0, 14.0, 14.0, 16.0, 14.0].iter().enumerate() {
        sheet.set_column_width(col as u16, *width)?;
    }
    let mut row = 4;
    for s in &b.species {
        sheet.write_string_with_format(
            row,
            0,
            if s.scientific.is_empty() {
                format!("{} — {}", s.name_vi, s.name_en)
            } else {
                format!("{} ({}) — {}", s.name_vi, s.scientific, s.name_en)
            },
            &species_format,
        )?;
        row += 1;
        for (col, (vi, en)) in HEAD_VI.iter().zip(HEAD_EN).enumerate() {
            sheet.write_string_with_format(row, col as u16, *vi, &head)?;
            sheet.write_string_with_format(row + 1, col as u16, en, &english)?;
        }
        row += 2;
        let mut line = |name: &str, code: &str, c: &Catch, state: Option<AlertState>, f: &Format| {
            sheet.write_string_with_format(row, 0, name, f)?;
            sheet.write_string_with_format(row, 1, code, f)?;
            sheet.write_number_with_format(row, 2, c.traps as f64, f)?;
            sheet.write_number_with_format(row, 3, c.trap_nights as f64, f)?;
            for (col, v) in [(4, c.mean), (5, c.max), (6, c.last_week_mean), (7, c.change_percent)] {
                match v {
                    Some(v) => sheet.write_number_with_format(row, col, v, f)?,
                    None => sheet.write_blank(row, col, f)?,
                };
            }
            sheet.write_string_with_format(row, 8, state.map_or("", state_vi), f)?;
            row += 1;
            Ok::<_, CoreError>(())
        };
        for c in &s.communes {
            line(&c.name, &c.code, &c.catch, Some(c.state), &cell)?;
        }
        line("Toàn địa bàn", "", &s.total, None, &total)?;
        row += 1;
    }
    Ok(book.save_to_buffer()?)
}
