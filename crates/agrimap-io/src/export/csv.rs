//! CSV with a header: `fid`, the chosen fields, and the geometry as `WKT`
//! (the column GDAL and QGIS read geometries from), in WGS 84 or any CRS
//! `crate::crs` offers.
//!
//! Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and, in
//! some, a tab or carriage return) as a formula, so a text value such as
//! `=HYPERLINK(…)` typed into a field by one user would run on the machine
//! of whoever opens the export. As OWASP advises, such text cells are
//! written with a leading `'`, which spreadsheets show as text; numbers
//! (`-5.2` in a numeric field) are left as they are.

use super::{Columns, Encoder, ExportError};
use crate::crs::{Crs, Transform};
use agrimap_model::{Feature, Value};

/// Writes CSV rows.
pub struct CsvEncoder {
    columns: Columns,
    transform: Option<Transform>,
}

impl CsvEncoder {
    /// Geometries in `crs`, or as stored (WGS 84) with `None`.
    #[must_use]
    pub fn new(columns: Columns, crs: Option<Crs>) -> Self {
        Self {
            columns,
            transform: crs.filter(|c| !c.is_wgs84()).map(Transform::new),
        }
    }
}

fn csv_error(e: csv::Error) -> ExportError {
    ExportError::Io(std::io::Error::other(e))
}

impl Encoder for CsvEncoder {
    fn head(&mut self, out: &mut Vec<u8>) -> Result<(), ExportError> {
        let names = std::iter::once("fid".to_owned())
            .chain(self.columns.names())
            .chain(std::iter::once("WKT".to_owned()));
        let mut w = csv::Writer::from_writer(out);
        w.write_record(names).map_err(csv_error)?;
        w.flush()?;
        Ok(())
    }

    fn chunk(&mut self, features: &[Feature], out: &mut Vec<u8>) -> Result<(), ExportError> {
        let mut w = csv::Writer::from_writer(out);
        let mut record = Vec::with_capacity(self.columns.fields.len() + 2);
        for f in features {
            record.clear();
            record.push(f.id.to_string());
            record.extend(self.columns.values(f).map(|v| cell(&v)));
            let geometry = match &self.transform {
                None => wkt::ToWkt::wkt_string(&f.geometry),
                Some(t) => {
                    let g = t.geometry_from_wgs84(&f.geometry).map_err(|e| ExportError::Transform {
                        id: f.id,
                        reason: e.to_string(),
                    })?;
                    wkt::ToWkt::wkt_string(&g)
                }
            };
            record.push(geometry);
            w.write_record(&record).map_err(csv_error)?;
        }
        w.flush()?;
        Ok(())
    }

    fn tail(&mut self, _out: &mut Vec<u8>) -> Result<(), ExportError> {
        Ok(())
    }
}

/// A value as a CSV cell: empty for null, text that a spreadsheet would
/// take for a formula behind a `'`.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Text(s) if s.starts_with(['=', '+', '-', '@', '\t', '\r']) => format!("'{s}"),
        Value::Text(s) => s.clone(),
        Value::Int(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::write_sync;

    #[test]
    fn text_that_spreadsheets_would_run_is_quoted_and_numbers_stay_numbers() {
        for (text, cell_text) in [
            ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
            ("+84 90 000", "'+84 90 000"),
            ("-1+2", "'-1+2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "'\rcmd"),
            ("Lúa = tốt", "Lúa = tốt"),
        ] {
            assert_eq!(cell(&Value::Text(text.into())), cell_text);
        }
        assert_eq!(cell(&Value::Real(-5.2)), "-5.2");
        assert_eq!(cell(&Value::Int(-3)), "-3");
    }

    #[test]
    fn rows_read_back_with_the_quote_only_on_text() {
        let crop = agrimap_model::layer("crop").expect("crop");
        let pick = |name: &str| crop.fields.iter().position(|f| f.name == name).expect("field");
        let (variety, area) = (pick("variety"), pick("area_ha"));
        let mut properties = vec![Value::Null; crop.fields.len()];
        properties[variety] = Value::Text("=1+1".into());
        properties[area] = Value::Real(-5.2);
        let feature = Feature {
            id: 1,
            geometry: geo::Geometry::Point(geo::Point::new(105.0, 10.0)),
            properties,
        };
        let mut encoder = CsvEncoder::new(Columns::new(crop, vec![variety, area]), None);
        let mut out = Vec::new();
        write_sync(&mut encoder, [std::slice::from_ref(&feature)], &mut out).expect("written");
        let mut reader = csv::Reader::from_reader(out.as_slice());
        let row = reader.records().next().expect("a row").expect("valid");
        assert_eq!(&row[1], "'=1+1");
        assert_eq!(&row[2], "-5.2");
        assert_eq!(&row[3], "POINT(105 10)");
    }
}
