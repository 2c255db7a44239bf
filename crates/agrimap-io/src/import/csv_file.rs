//! CSV read in pure Rust, for builds without GDAL: the geometry is a WKT
//! column (`wkt`, `geometry`, `geom` or `the_geom`) or a pair of
//! longitude/latitude columns (`lon`/`lat`, `longitude`/`latitude`, `x`/`y`),
//! in WGS 84 unless `--srs` names a VN-2000 CRS (then `x`/`y` are eastings
//! and northings, reprojected by the import); every other column is a
//! field, as text. The same column names
//! are given to GDAL's CSV driver, so both builds read a file alike.

use super::error::ImportError;
use super::source::{SourceData, SourceRecord, SourceValue};
use geo::Geometry;
use wkt::TryFromWkt;

/// Column names taken for the geometry, in GDAL's open-option spelling.
pub const WKT_COLUMNS: &[&str] = &["wkt", "geometry", "geom", "the_geom"];
pub const LON_COLUMNS: &[&str] = &["lon", "longitude", "lng", "x"];
pub const LAT_COLUMNS: &[&str] = &["lat", "latitude", "y"];

enum Shape {
    Wkt(usize),
    LonLat(usize, usize),
}

fn column(names: &[String], wanted: &[&str]) -> Option<usize> {
    names.iter().position(|n| wanted.contains(&n.to_lowercase().as_str()))
}

/// Reads a CSV file with a header.
///
/// # Errors
/// When the bytes are not UTF-8 CSV, or no geometry column is found.
pub fn read(bytes: &[u8], file: &str) -> Result<SourceData, ImportError> {
    let unreadable = |reason: String| ImportError::Unreadable {
        file: file.to_owned(),
        format: "CSV".into(),
        reason,
    };
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(ImportError::Encoding(format!(
            "'{file}' is not UTF-8 (invalid byte at {}); save the sheet as \"CSV UTF-8\"",
            e.valid_up_to()
        )));
    }
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| unreadable(format!("the header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    let shape = match (
        column(&header, WKT_COLUMNS),
        column(&header, LON_COLUMNS),
        column(&header, LAT_COLUMNS),
    ) {
        (Some(w), _, _) => Shape::Wkt(w),
        (None, Some(x), Some(y)) => Shape::LonLat(x, y),
        _ => {
            return Err(unreadable(format!(
                "no geometry column: name one {} (WKT) or give {} and {} columns",
                WKT_COLUMNS.join("/"),
                LON_COLUMNS.join("/"),
                LAT_COLUMNS.join("/")
            )));
        }
    };
    let geometry_columns: Vec<usize> = match shape {
        Shape::Wkt(w) => vec![w],
        Shape::LonLat(x, y) => vec![x, y],
    };
    let fields: Vec<(usize, String)> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !geometry_columns.contains(i))
        .map(|(i, n)| (i, n.clone()))
        .collect();
    let mut records = Vec::new();
    for (row, record) in reader.records().enumerate() {
        // GDAL numbers CSV rows from 1; so do we, so that reports agree.
        let fid = (row + 1).to_string();
        let record = record.map_err(|e| unreadable(format!("row {fid}: {e}")))?;
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let geometry = match shape {
            Shape::Wkt(w) => Geometry::try_from_wkt_str(cell(w)).map_err(|e| format!("unreadable WKT: {e}")),
            Shape::LonLat(x, y) => match (cell(x).parse::<f64>(), cell(y).parse::<f64>()) {
                (Ok(lon), Ok(lat)) => Ok(Geometry::Point(geo::Point::new(lon, lat))),
                _ => Err(format!(
                    "longitude/latitude '{}', '{}' are not numbers",
                    agrimap_model::echo(cell(x), 30),
                    agrimap_model::echo(cell(y), 30)
                )),
            },
        };
        let values = fields
            .iter()
            .map(|(i, _)| match cell(*i) {
                "" => SourceValue::Null,
                s => SourceValue::Text(s.to_owned()),
            })
            .collect();
        records.push(SourceRecord {
            fid,
            geometry,
            repaired: None,
            values,
        });
    }
    Ok(SourceData {
        fields: fields.into_iter().map(|(_, n)| n).collect(),
        records,
        crs: "EPSG:4326".into(),
        format: "CSV".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkt_and_lon_lat_columns_give_geometries() {
        let data = read(
            "product_id,WKT,name\nP1,POINT (105.5 10.2),Bưởi\nP2,POINT (oops,Xoài\n".as_bytes(),
            "a.csv",
        )
        .expect("read");
        assert_eq!(data.fields, vec!["product_id", "name"]);
        assert_eq!(
            data.records[0].geometry,
            Ok(Geometry::Point(geo::Point::new(105.5, 10.2)))
        );
        assert_eq!(data.records[0].values[1], SourceValue::Text("Bưởi".into()));
        assert!(data.records[1].geometry.is_err());
        assert_eq!(data.records[1].fid, "2");

        let data = read(b"id,lat,lon\n7,10.25,105.75\n", "b.csv").expect("read");
        assert_eq!(data.fields, vec!["id"]);
        assert_eq!(
            data.records[0].geometry,
            Ok(Geometry::Point(geo::Point::new(105.75, 10.25)))
        );
    }

    #[test]
    fn a_sheet_without_coordinates_is_refused() {
        let e = read(b"id,name\n1,a\n", "c.csv").expect_err("no geometry");
        assert!(e.to_string().contains("no geometry column"), "{e}");
    }
}
