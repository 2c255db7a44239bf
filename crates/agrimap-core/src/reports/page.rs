//! A [`Report`] as a printable page: A4, Vietnamese, the place's map drawn
//! by the browser with MapLibre over the service's own farmer style (the
//! place outlined), then one section per theme, each starting a new printed
//! page. The map's canvas keeps its drawing so the browser's print holds it.
//!
//! Numbers are written the Vietnamese way (`1.234,56`); each numeric cell
//! also carries its value in `data-value`, as the workbook holds it.

use super::{Cell, Report, Table};
use crate::ntm::documents::esc;
use std::fmt::Write as _;

/// `1234.5` → `1.234,50`: hectares as a Vietnamese reader writes them.
#[must_use]
pub fn hectares(v: f64) -> String {
    grouped(v, 2)
}

fn grouped(v: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, v.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    if v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0') {
        out.push('-');
    }
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(digit);
    }
    if !fraction.is_empty() {
        out.push(',');
        out.push_str(fraction);
    }
    out
}

const STYLE: &str = "\
@page{size:A4;margin:14mm 12mm}\
body{font-family:'Times New Roman','Noto Serif',serif;font-size:11pt;color:#000;margin:0 auto;max-width:190mm}\
h1{font-size:16pt;text-align:center;margin:0 0 4mm}\
h2{font-size:13pt;margin:0 0 3mm;border-bottom:1px solid #000}\
h3{font-size:11pt;margin:4mm 0 2mm}\
p.facts{margin:0 0 4mm;line-height:1.5}\
#map{width:100%;height:120mm;border:1px solid #000}\
table{border-collapse:collapse;width:100%;margin-bottom:3mm;page-break-inside:auto}\
tr{page-break-inside:avoid}\
th,td{border:1px solid #000;padding:2px 4px;vertical-align:top}\
th{background:#d9e1f2}\
td.num{text-align:right;white-space:nowrap}\
tr.total td{font-weight:bold;background:#f2f2f2}\
p.none{font-style:italic}\
.noprint{margin:4mm 0}\
section.theme{break-before:page;page-break-before:always}\
@media print{.noprint{display:none}body{max-width:none}}";

fn cell_html(out: &mut String, cell: &Cell) {
    let _ = match cell {
        Cell::Text(t) => write!(out, "<td>{}</td>", esc(t)),
        Cell::Hectares(v) => write!(out, "<td class=\"num\" data-value=\"{v}\">{}</td>", hectares(*v)),
        Cell::Count(n) => write!(out, "<td class=\"num\" data-value=\"{n}\">{n}</td>"),
        Cell::Percent(p) => write!(out, "<td class=\"num\" data-value=\"{p}\">{}</td>", grouped(*p, 1)),
        Cell::Empty => write!(out, "<td></td>"),
    };
}

fn table_html(out: &mut String, table: &Table) {
    let _ = write!(out, "<h3>{}</h3>", esc(&table.caption));
    if table.rows.is_empty() {
        out.push_str("<p class=\"none\">Không có</p>");
        return;
    }
    out.push_str("<table><thead><tr>");
    for c in &table.columns {
        let _ = write!(out, "<th>{}</th>", esc(&c.title()));
    }
    out.push_str("</tr></thead><tbody>");
    let mut sums: Vec<Option<Cell>> = vec![None; table.columns.len()];
    for row in &table.rows {
        out.push_str("<tr>");
        for (cell, sum) in row.iter().zip(sums.iter_mut()) {
            cell_html(out, cell);
            *sum = match (cell, sum.take()) {
                (Cell::Hectares(v), Some(Cell::Hectares(s))) => Some(Cell::Hectares(s + v)),
                (Cell::Hectares(v), _) => Some(Cell::Hectares(*v)),
                (Cell::Count(n), Some(Cell::Count(s))) => Some(Cell::Count(s + n)),
                (Cell::Count(n), _) => Some(Cell::Count(*n)),
                _ => None,
            };
        }
        out.push_str("</tr>");
    }
    if table.total {
        out.push_str("<tr class=\"total\"><td>Tổng</td>");
        for sum in sums.iter().skip(1) {
            match sum {
                Some(cell) => cell_html(out, cell),
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// The map script: the farmer style, framed on the place, the place
/// outlined; `data-map` on the body turns `ready` once it is drawn.
fn map_script(report: &Report) -> String {
    let heading = &report.heading;
    let Some([west, south, east, north]) = heading.bbox else {
        return String::new();
    };
    let source_layer = if heading.level == "province" {
        "admin_province"
    } else {
        "admin_commune"
    };
    let code = serde_json::to_string(&heading.code).unwrap_or_default();
    let set = serde_json::to_string(&heading.boundary_set).unwrap_or_default();
    format!(
        "<script src=\"/static/maplibre-gl.js\"></script><script>\
(function(){{\
var map=new maplibregl.Map({{container:'map',style:'/styles/farmer.json',bounds:[[{west},{south}],[{east},{north}]],\
fitBoundsOptions:{{padding:20}},interactive:false,attributionControl:false,fadeDuration:0,\
canvasContextAttributes:{{preserveDrawingBuffer:true}},preserveDrawingBuffer:true}});\
map.on('load',function(){{map.addLayer({{id:'report-place',type:'line',source:'agrimap','source-layer':'{source_layer}',\
filter:['all',['==',['get','code'],{code}],['==',['get','boundary_set'],{set}]],\
paint:{{'line-color':'#c00000','line-width':3}}}});}});\
map.once('idle',function(){{document.body.dataset.map='ready';}});\
map.on('error',function(){{document.body.dataset.map='failed';}});\
}})();</script>"
    )
}

/// The report as a printable A4 page.
#[must_use]
pub fn report_html(report: &Report) -> String {
    let mut h = String::new();
    let title = report.title();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{t}</title>\
<link rel=\"stylesheet\" href=\"/static/maplibre-gl.css\"><style>{STYLE}</style></head>\
<body data-map=\"loading\" data-level=\"{level}\" data-code=\"{code}\">\
<p class=\"noprint\"><button type=\"button\" onclick=\"window.print()\">In báo cáo</button></p>\
<h1>{t}</h1><p class=\"facts\">",
        t = esc(&title),
        level = report.heading.level,
        code = esc(&report.heading.code),
    );
    let facts: Vec<String> = report.facts().iter().map(|l| esc(l)).collect();
    h.push_str(&facts.join("<br>"));
    h.push_str("</p><div id=\"map\" role=\"img\" aria-label=\"Bản đồ\"></div>");
    for theme in &report.themes {
        let _ = write!(
            h,
            "<section class=\"theme\" data-theme=\"{}\"><h2>{}</h2>",
            theme.key,
            esc(theme.title)
        );
        for table in &theme.tables {
            table_html(&mut h, table);
        }
        h.push_str("</section>");
    }
    h.push_str(&map_script(report));
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hectares_are_written_the_vietnamese_way() {
        assert_eq!(hectares(1234.5), "1.234,50");
        assert_eq!(hectares(0.004), "0,00");
        assert_eq!(hectares(1_234_567.891), "1.234.567,89");
        assert_eq!(hectares(12.0), "12,00");
    }
}
