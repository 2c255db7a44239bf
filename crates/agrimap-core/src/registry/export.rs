//! A registry as a spreadsheet: xlsx (rust_xlsxwriter) or CSV, with the
//! import's English headers so that an export imports back unchanged.
//! Restricted columns (producers' contacts) only for callers who may read them.

use super::Reader;
use super::columns::{export_header, growing_area_cells, producer_cells, product_cells};
use crate::Core;
use crate::error::CoreError;
use agrimap_model::registry::{GrowingArea, Producer, Product, RegistryKind};

/// The kind of file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Xlsx,
    Csv,
}

impl ExportFormat {
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "xlsx" => Some(Self::Xlsx),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The rows of a registry as text cells, in key order: producers' contact
/// columns for a reader of restricted details, filled where it reads them.
///
/// # Errors
/// The store's.
pub async fn rows(core: &Core, kind: RegistryKind, reader: Reader<'_>) -> Result<Vec<Vec<String>>, CoreError> {
    let store = core.store.as_ref();
    Ok(match kind {
        RegistryKind::Producers => store
            .records(kind, None)
            .await?
            .iter()
            .map(|r| {
                let p: Producer = super::parse_body(kind, r)?;
                // A limited planner's file has the contact columns, empty
                // for producers of other provinces.
                let p = if reader.reads_restricted_of(&r.province_code) {
                    p
                } else {
                    p.public()
                };
                Ok(producer_cells(&p, reader.reads_restricted()))
            })
            .collect::<Result<_, CoreError>>()?,
        RegistryKind::Products => super::all::<Product>(store, kind)
            .await?
            .iter()
            .map(product_cells)
            .collect(),
        RegistryKind::GrowingAreas => super::all::<GrowingArea>(store, kind)
            .await?
            .iter()
            .map(growing_area_cells)
            .collect(),
    })
}

/// Header and rows as a file.
///
/// # Errors
/// `export_failed` when the workbook cannot be written (it is made in memory).
pub fn file(header: &[&str], rows: &[Vec<String>], format: ExportFormat, sheet: &str) -> Result<Vec<u8>, CoreError> {
    match format {
        ExportFormat::Csv => {
            let mut out = csv::Writer::from_writer(Vec::new());
            let failed = |e: csv::Error| CoreError::internal("export_failed", format!("writing CSV: {e}"));
            out.write_record(header).map_err(failed)?;
            for row in rows {
                out.write_record(row.iter().map(|c| crate::csv_cell::neutralised(c).into_owned()))
                    .map_err(failed)?;
            }
            out.into_inner()
                .map_err(|e| CoreError::internal("export_failed", format!("writing CSV: {e}")))
        }
        ExportFormat::Xlsx => xlsx(header, rows, sheet)
            .map_err(|e| CoreError::internal("export_failed", format!("writing the workbook: {e}"))),
    }
}

/// Every cell is written as text: codes keep their leading zeros, and text
/// that looks like a formula stays text (a string cell is never evaluated).
fn xlsx(header: &[&str], rows: &[Vec<String>], sheet: &str) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.set_name(sheet)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                ws.write_string(r as u32 + 1, c as u16, cell)?;
            }
        }
    }
    book.save_to_buffer()
}

impl Core {
    /// A registry as an xlsx or CSV file.
    ///
    /// # Errors
    /// The store's; `export_failed`.
    pub async fn registry_export(
        &self,
        kind: RegistryKind,
        format: ExportFormat,
        reader: Reader<'_>,
    ) -> Result<Vec<u8>, CoreError> {
        let rows = rows(self, kind, reader).await?;
        let header = export_header(kind, reader.reads_restricted());
        tokio::task::spawn_blocking(move || file(&header, &rows, format, kind.as_str()))
            .await
            .map_err(|e| CoreError::task_failed("export_failed", "writing the registry", &e))?
    }
}
