use agrimap_model::FilterError;

/// Errors of a store. Messages name the layer or file involved; they never
/// contain attribute values of restricted fields.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("store is unavailable: {0}")]
    Unavailable(String),
    /// A read replica given at start that cannot serve: unreachable, a
    /// primary, or a replica of another cluster.
    #[error("{0}")]
    Replica(String),
    /// A statement ran past the database's statement timeout and was cancelled.
    #[error("while {0}: the statement took too long and was cancelled")]
    Timeout(&'static str),
    #[error("while {action} on layer '{layer}': {source}")]
    Sqlite {
        action: &'static str,
        layer: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("while {action}: {source}")]
    Database {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("while {action}: {source}")]
    Postgres {
        action: &'static str,
        #[source]
        source: tokio_postgres::Error,
    },
    #[error("invalid geometry in layer '{layer}', feature {id}: {source}")]
    Geometry {
        layer: String,
        id: i64,
        #[source]
        source: crate::wkb::WkbError,
    },
    #[error("feature {index} of layer '{layer}' is invalid: {message}")]
    InvalidFeature {
        layer: String,
        index: usize,
        message: String,
    },
    /// A feature of a province whose partition of the layer's table is
    /// missing (PostGIS): its boundaries were never loaded there, or the
    /// partition was detached.
    #[error(
        "layer '{layer}' has no partition for province '{province}': load the boundaries of \
         province {province} (agrimap boundaries import) before writing its features"
    )]
    NoPartition { layer: String, province: String },
    #[error("layer '{0}' has no natural key: its features cannot be matched for an update")]
    NoNaturalKey(String),
    /// Commune splits asked of a layer that keeps none (a base layer).
    #[error("layer '{0}' keeps no commune splits")]
    NoSplits(String),
    #[error("reading {index} is invalid: {message}")]
    InvalidReading { index: usize, message: String },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("'{path}' is not an agrimap GeoPackage: {reason}")]
    NotAStore { path: String, reason: String },
    /// A layer read page by page was written to between two pages.
    #[error("layer '{0}' changed while it was being read page by page; read it again")]
    Changed(String),
    /// Data written by another client that agrimap cannot read.
    #[error("the store holds data agrimap cannot read: {0}")]
    Corrupt(String),
    #[error("store task failed: {0}")]
    Task(String),
    /// A code list change that was refused.
    #[error(transparent)]
    Code(#[from] agrimap_model::codes::CodeError),
    /// Two records of one registry write have the same key.
    #[error("{kind}: '{key}' is given twice")]
    RepeatedKey { kind: &'static str, key: String },
    /// A history copied from another store into one that keeps a history
    /// of its own (`agrimap load` into a database already in use).
    #[error(
        "the store keeps {history} of its own ({rows} records) that is not the one given; \
         a history is copied only into a store without one"
    )]
    HistoryHeld { history: &'static str, rows: usize },
    /// A timeline given without a write of its whole layer, or for a
    /// layer that keeps no versions ([`crate::WriteBatch::timelines`]).
    #[error("layer '{0}': a timeline is written only with the whole layer, and only for a layer that keeps versions")]
    TimelineWithoutLayer(String),
    /// An NTM write that was refused.
    #[error(transparent)]
    Ntm(#[from] crate::ntm::NtmError),
}
