//! Spreadsheets in: an `.xlsx` (or `.ods`, `.xls`) workbook read with
//! calamine, or a CSV file, as tables of text cells with the sheet name and
//! the row number a person sees in Excel.

use crate::error::CoreError;
use agrimap_model::calendar;
use calamine::{Data, Reader};
use std::io::Cursor;

/// Largest file taken (a province's registry is a few MB).
pub const MAX_FILE_BYTES: usize = 32 * 1024 * 1024;
/// Most data rows taken in all the sheets of a file.
pub const MAX_ROWS: usize = 100_000;
/// Most bytes a workbook may hold once unzipped: a small file that unzips
/// into gigabytes (a zip bomb) is refused before calamine reads it.
pub const MAX_UNZIPPED_BYTES: u64 = 512 * 1024 * 1024;

/// The kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    /// A workbook (xlsx, xlsm, xls, ods): calamine tells which from the bytes.
    Workbook,
    Csv,
}

impl SheetFormat {
    /// The format of a file by its name's extension.
    #[must_use]
    pub fn of_name(name: &str) -> Option<Self> {
        let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "xlsx" | "xlsm" | "xls" | "ods" => Some(Self::Workbook),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

/// One sheet: its header cells and its data rows.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub sheet: String,
    pub header: Vec<String>,
    /// Each row with its number as the spreadsheet shows it (the header's is
    /// the first non-empty row; data rows follow it).
    pub rows: Vec<(usize, Vec<String>)>,
}

fn bad_file(message: impl Into<String>) -> CoreError {
    CoreError::invalid("bad_spreadsheet", message)
}

/// Reads every sheet of a file. Empty rows are skipped; the first
/// non-empty row of each sheet is its header.
///
/// # Errors
/// `bad_spreadsheet` for a file that cannot be read (corrupt, not a
/// spreadsheet, not UTF-8 CSV), `too_large` past the limits.
pub fn read(bytes: &[u8], format: SheetFormat, csv_name: &str) -> Result<Vec<Table>, CoreError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(CoreError::invalid(
            "too_large",
            format!("the file has {} bytes; at most {MAX_FILE_BYTES} are taken", bytes.len()),
        ));
    }
    let tables = match format {
        SheetFormat::Csv => vec![read_csv(bytes, csv_name)?],
        SheetFormat::Workbook => read_workbook(bytes)?,
    };
    let rows: usize = tables.iter().map(|t| t.rows.len()).sum();
    if rows > MAX_ROWS {
        return Err(CoreError::invalid(
            "too_large",
            format!("the file has {rows} rows; at most {MAX_ROWS} are taken"),
        ));
    }
    Ok(tables)
}

fn read_csv(bytes: &[u8], name: &str) -> Result<Table, CoreError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut table = Table {
        sheet: name.to_owned(),
        ..Table::default()
    };
    let mut lines = crate::csv_lines::Lines::new(bytes);
    for record in reader.records() {
        let at = match &record {
            Ok(r) => r.position(),
            Err(e) => e.position(),
        };
        let line = usize::try_from(lines.of(at)).unwrap_or(usize::MAX);
        let record = record.map_err(|e| bad_file(format!("{name}, row {line}: not CSV text in UTF-8 ({e})")))?;
        let cells: Vec<String> = record.iter().map(|c| c.trim().to_owned()).collect();
        push_row(&mut table, line, cells);
        if table.rows.len() > MAX_ROWS {
            break;
        }
    }
    Ok(table)
}

fn push_row(table: &mut Table, number: usize, cells: Vec<String>) {
    if cells.iter().all(String::is_empty) {
        return;
    }
    if table.header.is_empty() {
        table.header = cells;
    } else {
        table.rows.push((number, cells));
    }
}

/// The sum of the sizes the zip archive's entries claim once unzipped.
fn unzipped_size(bytes: &[u8]) -> Option<u64> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let mut total = 0u64;
    for i in 0..archive.len() {
        total = total.saturating_add(archive.by_index_raw(i).ok()?.size());
    }
    Some(total)
}

fn read_workbook(bytes: &[u8]) -> Result<Vec<Table>, CoreError> {
    // xlsx and ods are zip archives; an old .xls is not, and calamine reads it whole.
    if let Some(size) = unzipped_size(bytes)
        && size > MAX_UNZIPPED_BYTES
    {
        return Err(CoreError::invalid(
            "too_large",
            format!("the workbook unzips to {size} bytes; at most {MAX_UNZIPPED_BYTES} are taken"),
        ));
    }
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| bad_file(format!("the file is not a spreadsheet that can be read: {e}")))?;
    let mut tables = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| bad_file(format!("sheet '{name}' cannot be read: {e}")))?;
        // Row numbers as Excel shows them: the range may start below row 1.
        let first = range.start().map_or(0, |(row, _)| row as usize);
        let mut table = Table {
            sheet: name.clone(),
            ..Table::default()
        };
        for (i, row) in range.rows().enumerate() {
            push_row(&mut table, first + i + 1, row.iter().map(cell_text).collect());
            if table.rows.len() > MAX_ROWS {
                break;
            }
        }
        tables.push(table);
    }
    Ok(tables)
}

/// A cell as text: whole numbers without `.0` (tax codes typed as numbers),
/// dates as `YYYY-MM-DD`.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty | Data::Error(_) => String::new(),
        Data::String(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number_text(*f),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => {
            // Excel's serial day 25569 is 1970-01-01.
            let days = d.as_f64().floor() as i64 - 25_569;
            calendar::format_date(days * 86_400)
        }
        Data::DateTimeIso(s) => s.get(..10).unwrap_or(s).to_owned(),
        Data::DurationIso(s) => s.clone(),
    }
}

fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_keep_their_numbers_and_skip_empty_lines() {
        let t = read(b"\xEF\xBB\xBFa,b\n\n1,2\n,\n3,4\n", SheetFormat::Csv, "x.csv").expect("csv");
        assert_eq!(t[0].header, ["a", "b"]);
        assert_eq!(
            t[0].rows,
            [
                (3, vec!["1".to_owned(), "2".to_owned()]),
                (5, vec!["3".into(), "4".into()])
            ]
        );
    }

    #[test]
    fn garbage_is_no_workbook() {
        let e = read(b"not a spreadsheet", SheetFormat::Workbook, "").expect_err("garbage");
        assert_eq!(e.code, "bad_spreadsheet");
    }

    #[test]
    fn workbook_cells_read_as_text_with_their_sheet_and_row() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let ws = book.add_worksheet();
        ws.set_name("Vùng trồng").expect("name");
        ws.write_string(2, 0, "Mã số thuế").expect("header");
        ws.write_string(2, 1, "Ngày hết hạn").expect("header");
        ws.write_number(3, 0, 1_801_234_567.0).expect("number");
        let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2029, 2, 28).expect("date");
        let format = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
        ws.write_datetime_with_format(3, 1, &date, &format).expect("date");
        let bytes = book.save_to_buffer().expect("workbook");
        let tables = read(&bytes, SheetFormat::Workbook, "").expect("read");
        assert_eq!(tables[0].sheet, "Vùng trồng");
        assert_eq!(tables[0].header, ["Mã số thuế", "Ngày hết hạn"]);
        // Excel's row 4: the header is on row 3.
        assert_eq!(
            tables[0].rows,
            [(4, vec!["1801234567".to_owned(), "2029-02-28".to_owned()])]
        );
    }

    #[test]
    fn numbers_read_as_codes_lose_their_point() {
        assert_eq!(number_text(1_801_234_567.0), "1801234567");
        assert_eq!(number_text(9.5), "9.5");
    }
}
