//! How a route answers with a document: the form a client asks for with
//! `f=`, and files handed over as attachments.

use crate::error::ApiError;
use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The forms a document is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    Json,
    Csv,
    Xlsx,
    Html,
}

/// `f=`: one of `allowed` (JSON by default), or `bad_format` naming them.
pub(crate) fn form(f: Option<&str>, allowed: &[(&str, Form)]) -> Result<Form, ApiError> {
    match f {
        None | Some("json") => Ok(Form::Json),
        Some(other) => allowed
            .iter()
            .find(|(n, _)| *n == other)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                let names: Vec<&str> = std::iter::once("json").chain(allowed.iter().map(|(n, _)| *n)).collect();
                ApiError::bad_request(
                    "bad_format",
                    format!(
                        "f must be {}, not '{}'",
                        names.join(" or "),
                        agrimap_core::echo(other, 16)
                    ),
                )
            }),
    }
}

pub(crate) const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub(crate) const CSV: &str = "text/csv; charset=utf-8";

/// A file to download as `name`. Only the name's safe characters go into the
/// header (others become `_`): some names are an uploader's.
pub(crate) fn attachment(media_type: &str, name: &str, body: Vec<u8>) -> Response {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, media_type.to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")),
        ],
        body,
    )
        .into_response()
}
