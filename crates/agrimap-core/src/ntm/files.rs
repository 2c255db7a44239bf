//! Evidence files: minutes, decisions, photos and tables an NTM office
//! attaches to a value. Kept once per content under its SHA-256, at most
//! [`MAX_EVIDENCE_BYTES`], and only of the kinds an office sends (PDF,
//! JPEG, PNG, spreadsheets and CSV), judged by the bytes themselves, not
//! by the name or the header the client gives.

use super::Actor;
use crate::Core;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::{BoundarySet, Role};
use agrimap_store::ntm::EvidenceFile;
use sha2::{Digest, Sha256};

/// The largest evidence file taken: a scanned decision of a few pages.
pub const MAX_EVIDENCE_BYTES: usize = 10 * 1024 * 1024;

/// Which kind a file is, from its first bytes (and, for the zip-based
/// office formats and CSV, its name).
#[must_use]
pub fn sniff(name: &str, bytes: &[u8]) -> Option<&'static str> {
    let extension = std::path::Path::new(name).extension();
    let is = |ext: &str| extension.is_some_and(|e| e.eq_ignore_ascii_case(ext));
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(b"PK\x03\x04") && is("xlsx") {
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else if bytes.starts_with(b"PK\x03\x04") && is("docx") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if is("csv") && std::str::from_utf8(bytes).is_ok_and(|t| !t.contains('\0')) {
        Some("text/csv")
    } else {
        None
    }
}

/// Checks that `sha` is a SHA-256 as agrimap writes it (64 lower-case hex digits).
///
/// # Errors
/// `bad_evidence`.
pub fn check_sha256(sha: &str) -> Result<(), CoreError> {
    if sha.len() == 64 && sha.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)) {
        Ok(())
    } else {
        Err(CoreError::invalid(
            "bad_evidence",
            format!(
                "'{}' is not the SHA-256 of an uploaded file (64 lower-case hex digits)",
                echo(sha, 70)
            ),
        ))
    }
}

/// A file name as kept: its last path part, without control characters, at most 128 characters.
fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    last.chars()
        .filter(|c| !c.is_control())
        .take(128)
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Keeps an evidence file and returns it (without its bytes).
///
/// # Errors
/// `forbidden` below editor, `evidence_too_large`, `bad_evidence_name`,
/// `evidence_type` (a kind not taken), or the store's.
pub async fn upload(core: &Core, actor: &Actor, name: &str, bytes: Vec<u8>) -> Result<EvidenceFile, CoreError> {
    if actor.role < Role::Editor {
        return Err(CoreError::new(
            ErrorKind::Forbidden,
            "forbidden",
            "evidence is uploaded by editors or admins",
        ));
    }
    if bytes.len() > MAX_EVIDENCE_BYTES {
        return Err(CoreError::new(
            ErrorKind::Unprocessable,
            "evidence_too_large",
            format!(
                "an evidence file takes at most {MAX_EVIDENCE_BYTES} bytes; this one has {}",
                bytes.len()
            ),
        ));
    }
    let name = clean_name(name);
    if name.is_empty() {
        return Err(CoreError::invalid(
            "bad_evidence_name",
            "give the file's name as name=FILE",
        ));
    }
    let Some(media_type) = sniff(&name, &bytes) else {
        return Err(CoreError::new(
            ErrorKind::UnsupportedMedia,
            "evidence_type",
            format!(
                "'{}' is not a PDF, JPEG, PNG, XLSX, DOCX or CSV file (judged by its content)",
                echo(&name, 64)
            ),
        ));
    };
    let sha256 = crate::tokens::hex(&Sha256::digest(&bytes));
    let file = EvidenceFile {
        sha256,
        name,
        media_type: media_type.to_owned(),
        size: bytes.len() as u64,
        bytes,
        author: actor.id.clone(),
    };
    core.store.add_evidence(&file).await?;
    Ok(EvidenceFile {
        bytes: Vec::new(),
        ..file
    })
}

/// An evidence file with its bytes, for a planner who may read it: one of
/// every province, its uploader, or one of a province with a dossier that
/// cites it. A file is a dossier's record, so another province's office
/// may not read it even knowing its SHA-256 (which anyone holding the same
/// document can work out).
///
/// # Errors
/// `bad_evidence`, `forbidden` below planner, `unknown_evidence`,
/// `outside_provinces`, or the store's.
pub async fn download(core: &Core, actor: &Actor, sha: &str) -> Result<EvidenceFile, CoreError> {
    check_sha256(sha)?;
    if actor.role < Role::Planner {
        return Err(CoreError::new(
            ErrorKind::Forbidden,
            "forbidden",
            "evidence is read by planners, editors or admins",
        ));
    }
    let file = core
        .store
        .evidence(sha, true)
        .await?
        .ok_or_else(|| CoreError::not_found("unknown_evidence", format!("no evidence file {sha}")))?;
    check_readable(core, actor, &file).await?;
    Ok(file)
}

/// Refuses to let `actor` cite a file it may not read: citing a file in
/// a dossier of one's own province would otherwise open it to that
/// province (see [`download`]).
///
/// # Errors
/// `bad_evidence`, `unknown_evidence`, `outside_provinces`, or the store's.
pub async fn check_citable(core: &Core, actor: &Actor, sha: &str) -> Result<(), CoreError> {
    check_sha256(sha)?;
    let file = core.store.evidence(sha, false).await?.ok_or_else(|| {
        CoreError::new(
            ErrorKind::Unprocessable,
            "unknown_evidence",
            format!("no evidence file {sha}; upload it first"),
        )
    })?;
    check_readable(core, actor, &file).await
}

/// Whether `actor` may read `file`: a token of every province, its
/// uploader, or a token of a province with a dossier that cites it.
async fn check_readable(core: &Core, actor: &Actor, file: &EvidenceFile) -> Result<(), CoreError> {
    if actor.provinces.is_empty() || file.author == actor.id {
        return Ok(());
    }
    let index = core.commune_index().await?;
    let citations = core.store.evidence_citations(&file.sha256).await?;
    let readable = citations.iter().any(|d| {
        index
            .get(&d.commune_code, BoundarySet::parse(&d.boundary_set))
            .is_some_and(|c| actor.may_act_in(c).is_ok())
    });
    if readable {
        Ok(())
    } else {
        Err(CoreError::new(
            ErrorKind::Forbidden,
            "outside_provinces",
            format!(
                "evidence file {} is cited by no dossier of a commune in {}, and this token did not upload it",
                file.sha256,
                actor.provinces.join(", ")
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_judged_by_their_bytes() {
        assert_eq!(sniff("a.pdf", b"%PDF-1.7 ..."), Some("application/pdf"));
        assert_eq!(sniff("photo.bin", &[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(sniff("a.pdf", b"MZ\x90\x00 an executable"), None);
        assert_eq!(
            sniff("table.xlsx", b"PK\x03\x04..."),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(sniff("archive.zip", b"PK\x03\x04..."), None);
        assert_eq!(sniff("so-lieu.csv", "xã,giá trị\n".as_bytes()), Some("text/csv"));
        assert_eq!(sniff("so-lieu.csv", b"\x00\x01binary"), None);
        assert_eq!(clean_name("C:\\Users\\x\\biên bản.pdf"), "biên bản.pdf");
        assert!(check_sha256(&"a".repeat(64)).is_ok());
        assert!(check_sha256(&"A".repeat(64)).is_err());
    }
}
