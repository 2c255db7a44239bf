//! A [`Report`] as an Excel workbook (rust_xlsxwriter): an overview sheet,
//! then one sheet per theme; each table under its caption with bordered
//! Vietnamese headers that carry their units, numbers written as numbers
//! (hectares to two decimals, counts whole, shares in percent), and a total
//! row where the rows add up. Sheets print on A4.

use super::{Cell, Report, Table};
use crate::error::CoreError;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

/// A4 in Excel's paper sizes.
const A4: u8 = 9;

struct Formats {
    title: Format,
    caption: Format,
    head: Format,
    text: Format,
    hectares: Format,
    count: Format,
    percent: Format,
    total_text: Format,
    total_hectares: Format,
    total_count: Format,
}

impl Formats {
    fn new() -> Self {
        let cell = Format::new().set_border(FormatBorder::Thin);
        let total = cell.clone().set_bold().set_background_color(0x00F2_F2F2);
        Self {
            title: Format::new().set_bold().set_font_size(14),
            caption: Format::new().set_bold().set_font_size(12),
            head: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(0x00D9_E1F2),
            text: cell.clone().set_text_wrap(),
            hectares: cell.clone().set_num_format("#,##0.00"),
            count: cell.clone().set_num_format("0"),
            percent: cell.set_num_format("0.0"),
            total_text: total.clone(),
            total_hectares: total.clone().set_num_format("#,##0.00"),
            total_count: total.set_num_format("0"),
        }
    }
}

/// Writes one table from `row`; answers the row after it.
fn write_table(sheet: &mut Worksheet, f: &Formats, table: &Table, mut row: u32) -> Result<u32, XlsxError> {
    sheet.write_string_with_format(row, 0, &table.caption, &f.caption)?;
    row += 1;
    for (col, column) in (0u16..).zip(&table.columns) {
        sheet.write_string_with_format(row, col, column.title(), &f.head)?;
    }
    row += 1;
    if table.rows.is_empty() {
        sheet.write_string_with_format(row, 0, "Không có", &f.text)?;
        return Ok(row + 2);
    }
    let mut sums = vec![None::<(f64, bool)>; table.columns.len()];
    for cells in &table.rows {
        for ((col, cell), sum) in (0u16..).zip(cells).zip(sums.iter_mut()) {
            match cell {
                Cell::Text(t) => {
                    sheet.write_string_with_format(row, col, t, &f.text)?;
                }
                Cell::Hectares(v) => {
                    sheet.write_number_with_format(row, col, *v, &f.hectares)?;
                    *sum = Some((sum.map_or(0.0, |s| s.0) + v, true));
                }
                Cell::Count(n) => {
                    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
                    let n = *n as f64;
                    sheet.write_number_with_format(row, col, n, &f.count)?;
                    *sum = Some((sum.map_or(0.0, |s| s.0) + n, false));
                }
                Cell::Percent(p) => {
                    sheet.write_number_with_format(row, col, *p, &f.percent)?;
                }
                Cell::Empty => {
                    sheet.write_blank(row, col, &f.text)?;
                }
            }
        }
        row += 1;
    }
    if table.total {
        sheet.write_string_with_format(row, 0, "Tổng", &f.total_text)?;
        for (col, sum) in (0u16..).zip(&sums).skip(1) {
            match sum {
                Some((v, true)) => sheet.write_number_with_format(row, col, *v, &f.total_hectares)?,
                Some((v, false)) => sheet.write_number_with_format(row, col, *v, &f.total_count)?,
                // The shares of a total are 100 %, which says nothing.
                None => sheet.write_blank(row, col, &f.total_text)?,
            };
        }
        row += 1;
    }
    Ok(row + 1)
}

fn prepare(sheet: &mut Worksheet, name: &str) -> Result<(), XlsxError> {
    sheet.set_name(name)?;
    sheet.set_paper_size(A4).set_portrait().set_print_fit_to_pages(1, 0);
    sheet.set_column_width(0, 28)?;
    for col in 1..8 {
        sheet.set_column_width(col, 16)?;
    }
    Ok(())
}

/// The report as an `.xlsx` workbook.
///
/// # Errors
/// `document_failed` when the workbook cannot be written.
pub fn report_xlsx(report: &Report) -> Result<Vec<u8>, CoreError> {
    let f = Formats::new();
    let mut book = Workbook::new();
    let overview = book.add_worksheet();
    prepare(overview, "Tổng quan")?;
    overview.write_string_with_format(0, 0, report.title(), &f.title)?;
    let mut row = 2;
    for line in report.facts() {
        overview.write_string(row, 0, line)?;
        row += 1;
    }
    row += 1;
    overview.write_string_with_format(row, 0, "Các trang trong tệp", &f.caption)?;
    for theme in &report.themes {
        row += 1;
        overview.write_string(row, 0, theme.title)?;
    }
    for theme in &report.themes {
        let sheet = book.add_worksheet();
        prepare(sheet, theme.title)?;
        sheet.write_string_with_format(0, 0, format!("{} — {}", theme.title, report.heading.name), &f.title)?;
        let mut row = 2;
        for table in &theme.tables {
            row = write_table(sheet, &f, table, row)?;
        }
    }
    Ok(book.save_to_buffer()?)
}
