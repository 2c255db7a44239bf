//! What an import did, record by record where a record needs a word: the
//! report the CLI prints or writes with `--report`, and the HTTP answer.

use serde::Serialize;
use std::fmt::Write as _;

/// A record of the file that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The record's identifier in the file (GDAL FID, GeoJSON id, CSV row).
    pub feature: String,
    pub reason: String,
}

/// A record whose geometry was repaired before import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repaired {
    pub feature: String,
    pub repair: String,
}

/// A feature that took the code of another commune because the boundaries
/// imported now place it there (see `follow`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moved {
    pub layer: String,
    /// Its natural key (`parcel_id` of a parcel, …).
    pub feature: String,
    /// The commune code it had, and the one it has now (same boundary set).
    pub from: String,
    pub to: String,
}

/// A commune code of the file that names no commune of its boundary set:
/// none of the store's communes of that set has it, nor the official
/// crosswalk on that side. A typo, most often; its records are imported
/// (the code may be a commune whose boundaries come later) but no table by
/// commune will count them until the code is mended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownCode {
    pub commune_code: String,
    pub boundary_set: String,
    /// Records of the file that carry it.
    pub records: usize,
    /// The first of them (its identifier in the file).
    pub first: String,
    /// The commune of that set the first record lies in, when it lies in one.
    pub lies_in: Option<String>,
}

/// The outcome of one import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub layer: String,
    /// The file's name (never its full path: the report may leave the server).
    pub source: String,
    /// The reader: a GDAL driver (`ESRI Shapefile`, `GPKG`, ...) or `GeoJSON` / `CSV`.
    pub format: String,
    /// The CRS the file was read in; features are stored in EPSG:4326.
    pub crs: String,
    /// Records in the file.
    pub read: usize,
    /// Whether anything was written: false when a record was refused and
    /// `skip_invalid` was not asked for (then the store is unchanged).
    pub written: bool,
    pub inserted: usize,
    /// Records that replaced a stored feature with the same key.
    pub updated: usize,
    /// Whether the file's features took the place of every stored feature of the layer.
    pub replaced_layer: bool,
    pub rejected: Vec<Rejected>,
    /// Records left out without stopping the import (a commune without a code).
    pub skipped: Vec<Rejected>,
    pub repaired: Vec<Repaired>,
    /// Districts and provinces made by dissolving the imported communes
    /// (or made again, when their communes' boundaries changed).
    pub derived: Vec<String>,
    /// Districts and provinces whose communes' boundaries changed but that
    /// came from a file of their own: kept as stored.
    pub kept_units: Vec<String>,
    /// Records whose commune was found from their location.
    pub communes_assigned: usize,
    /// Features of other layers that the communes imported now hold
    /// instead of the commune they were coded with (boundaries imports only).
    pub moved: Vec<Moved>,
    /// The file's fields that fill no field of the layer.
    pub unused_fields: Vec<String>,
    /// Commune codes that name no commune of their set (see [`UnknownCode`]).
    pub unknown_codes: Vec<UnknownCode>,
}

impl ImportReport {
    /// One line for a terminal.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} records read ({}, {}); ",
            self.source, self.read, self.format, self.crs
        );
        if self.written && self.replaced_layer {
            let _ = write!(
                s,
                "{} features now make up layer '{}' (the stored ones were replaced)",
                self.inserted, self.layer
            );
        } else if self.written {
            let _ = write!(
                s,
                "{} added and {} updated in layer '{}'",
                self.inserted, self.updated, self.layer
            );
        } else {
            let _ = write!(s, "nothing written to layer '{}'", self.layer);
        }
        if !self.rejected.is_empty() {
            let _ = write!(s, "; {} records refused", self.rejected.len());
        }
        if !self.skipped.is_empty() {
            let _ = write!(s, "; {} records left out", self.skipped.len());
        }
        if !self.repaired.is_empty() {
            let _ = write!(s, "; {} geometries repaired", self.repaired.len());
        }
        if !self.derived.is_empty() {
            let _ = write!(
                s,
                "; {} districts and provinces made from their communes",
                self.derived.len()
            );
        }
        if !self.moved.is_empty() {
            let _ = write!(
                s,
                "; {} features of other layers moved to the commune that now holds them",
                self.moved.len()
            );
        }
        if !self.unknown_codes.is_empty() {
            let records: usize = self.unknown_codes.iter().map(|u| u.records).sum();
            let _ = write!(
                s,
                "; {records} records carry a commune code that names no commune of its set"
            );
        }
        if self.communes_assigned > 0 {
            let _ = write!(s, "; {} communes found by location", self.communes_assigned);
        }
        s
    }
}
