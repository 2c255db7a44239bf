//! What can go wrong in a core service, said so that any entry point (HTTP,
//! the command line, MQTT) can tell its caller: a kind that says whose fault
//! it is, a stable machine-readable code and a message for a person.

use agrimap_store::StoreError;

/// Whose fault an error is, and so how an entry point answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or asks for something that cannot be.
    Invalid,
    /// What the request names does not exist.
    NotFound,
    /// The caller did not prove who they are (or holds the wrong secret).
    Unauthorized,
    /// The caller is known, but may not do this (a token limited to other provinces).
    Forbidden,
    /// Well-formed, but its content cannot be used as it is.
    Unprocessable,
    /// The request does not fit the current state of what it names (a
    /// dossier moved by someone else, a version already taken): reload and retry.
    Conflict,
    /// The request's body is of a kind the endpoint does not take.
    UnsupportedMedia,
    /// The store is not answering, or took too long: try again later.
    Unavailable,
    /// Asks for something this installation cannot do (an export GDAL
    /// would write, without GDAL).
    Unsupported,
    /// A fault of ours; the details are logged, not shown.
    Internal,
}

/// An error of a core service.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct CoreError {
    pub kind: ErrorKind,
    /// Stable, machine-readable code (`unknown_layer`, `bad_tile`, ...).
    pub code: &'static str,
    /// What is wrong, for a person.
    pub message: String,
}

impl CoreError {
    pub fn new(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, code, message)
    }

    pub fn internal(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, code, message)
    }

    /// A blocking task that died (it panicked or the runtime is shutting
    /// down): logged, and answered as our fault.
    pub(crate) fn task_failed(code: &'static str, what: &str, cause: &tokio::task::JoinError) -> Self {
        tracing::error!(%cause, "{what} failed");
        Self::internal(code, format!("{what} failed"))
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(cause = %e, "store unavailable");
                Self::new(
                    ErrorKind::Unavailable,
                    "store_unavailable",
                    "the data store is not answering; try again shortly",
                )
            }
            StoreError::Filter(f) => Self::invalid("bad_filter", f.to_string()),
            StoreError::Code(c) => {
                use agrimap_model::codes::CodeError;
                let (kind, code) = match &c {
                    CodeError::UnknownList(_) => (ErrorKind::NotFound, "unknown_code_list"),
                    CodeError::NotFound { .. } => (ErrorKind::NotFound, "unknown_code"),
                    CodeError::BadCode(_) | CodeError::MissingLabel { .. } => (ErrorKind::Invalid, "bad_code"),
                    CodeError::Exists { .. } => (ErrorKind::Unprocessable, "code_exists"),
                    CodeError::InUse { .. } => (ErrorKind::Unprocessable, "code_in_use"),
                };
                Self::new(kind, code, c.to_string())
            }
            StoreError::RepeatedKey { .. } => Self::invalid("repeated_key", e.to_string()),
            StoreError::NoPartition { .. } => Self::new(ErrorKind::Unprocessable, "no_partition", e.to_string()),
            StoreError::HistoryHeld { .. } => Self::new(ErrorKind::Conflict, "history_held", e.to_string()),
            StoreError::Ntm(n) => {
                use agrimap_store::ntm::NtmError;
                let (kind, code) = match &n {
                    NtmError::VersionTaken { .. } => (ErrorKind::Conflict, "set_version_taken"),
                    NtmError::StateChanged { .. } => (ErrorKind::Conflict, "dossier_changed"),
                    NtmError::NotEditable(_) => (ErrorKind::Conflict, "dossier_not_editable"),
                    NtmError::UnknownEvidence(_) => (ErrorKind::Unprocessable, "unknown_evidence"),
                    NtmError::UnknownCommune { .. } => (ErrorKind::NotFound, "unknown_commune"),
                };
                Self::new(kind, code, n.to_string())
            }
            StoreError::Timeout(_) => {
                tracing::warn!(cause = %e, "statement timeout");
                Self::new(
                    ErrorKind::Unavailable,
                    "timeout",
                    "the data store took too long to answer this request; try again shortly",
                )
            }
            other => {
                // Details go to the log, not to the caller: they may name internals.
                tracing::error!(cause = %other, "store error");
                Self::internal("store_error", "the data store failed to answer this request")
            }
        }
    }
}

pub use agrimap_model::echo;
