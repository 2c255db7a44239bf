//! What stops an import as a whole (a record that cannot be used is not an
//! error: it is listed in the report). Each message names the problem and,
//! where there is one, the way out.

/// Why nothing was imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The format is read only through GDAL, which this build does not have.
    #[error(
        "{what} needs GDAL, which this build of agrimap does not include; build it with `--features gdal` \
         (`cargo build --release -p agrimap --features gdal`, with the system GDAL: Debian's libgdal-dev)"
    )]
    NeedsGdal { what: String },
    /// The file cannot be opened or read (truncated, corrupt, not that format).
    #[error("'{file}' cannot be read as {format}: {reason}")]
    Unreadable {
        file: String,
        format: String,
        reason: String,
    },
    /// The file holds no records.
    #[error("'{file}' holds no features")]
    Empty { file: String },
    /// The file holds several layers with features and none was chosen, or
    /// the one chosen is not there.
    #[error(
        "'{file}' {problem}; its layers with features: {layers}; choose one with --source-layer (source_layer= over HTTP)"
    )]
    WhichLayer {
        file: String,
        problem: String,
        layers: String,
    },
    /// The coordinate reference system given or found is not known.
    #[error("unknown coordinate reference system '{crs}': {reason}")]
    UnknownCrs { crs: String, reason: String },
    /// The file does not say its CRS and none was given.
    #[error(
        "'{file}' does not say which coordinate reference system it is in; pass it with --srs (e.g. --srs EPSG:3405 for VN-2000 UTM 48N)"
    )]
    NoCrs { file: String },
    /// A `--map` or `--commune-field` names a field that is not there.
    #[error("{0}")]
    Mapping(String),
    /// Text was read in the wrong character encoding.
    #[error("{0}")]
    Encoding(String),
    /// The target layer cannot take imports.
    #[error("{0}")]
    Layer(String),
    /// The store refused the write or could not be reached; nothing was written.
    #[error("the store refused the import, nothing was written: {0}")]
    Store(#[from] agrimap_store::StoreError),
    /// A worker thread failed.
    #[error("the import task failed: {0}")]
    Task(String),
    /// Features lie in provinces the importer may not write in.
    #[error("{0}")]
    OutsideProvinces(String),
}

impl ImportError {
    /// A short stable code for HTTP answers.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NeedsGdal { .. } => "needs_gdal",
            Self::Unreadable { .. } => "unreadable_file",
            Self::Empty { .. } => "empty_file",
            Self::WhichLayer { .. } => "which_layer",
            Self::UnknownCrs { .. } => "unknown_crs",
            Self::NoCrs { .. } => "no_crs",
            Self::Mapping(_) => "bad_field_mapping",
            Self::Encoding(_) => "wrong_encoding",
            Self::Layer(_) => "layer_not_importable",
            Self::Store(_) => "store_error",
            Self::Task(_) => "import_failed",
            Self::OutsideProvinces(_) => "outside_provinces",
        }
    }
}
