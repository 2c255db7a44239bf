//! API and station tokens: their secrets, what the store keeps of them (a
//! SHA-256), and issuing a new API token.

use crate::actor::Actor;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::Role;
use agrimap_store::{ApiToken, NewApiToken, Store};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// A new random secret (256 bits, hex).
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn new_token() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex(&bytes))
}

/// A short random public identifier for an API token (32 bits, hex).
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn new_token_id() -> std::io::Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::getrandom(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(hex(&bytes))
}

/// What the store keeps of a token. Tokens are random 256-bit strings, so a
/// plain SHA-256 cannot be reversed by guessing.
#[must_use]
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Compares two hashes in time that does not depend on where they differ.
#[must_use]
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Longest name a token may be given.
const MAX_NAME_CHARS: usize = 200;

/// Issues a new API token: the store keeps its hash, the caller gets the
/// secret, once.
///
/// # Errors
/// `bad_token_request` for a role that is not `planner`, `editor` or
/// `admin` or an empty or overlong name; `no_randomness` when the operating
/// system has none; the store's errors.
pub async fn issue_token(store: &dyn Store, name: &str, role: &str) -> Result<(ApiToken, String), CoreError> {
    issue_scoped_token(store, name, role, &[]).await
}

/// [`issue_token`] for a token limited to some provinces (their official
/// codes): an editor of 87 may not write in 94, and a planner of 87 sees
/// restricted fields of 87 only. No provinces: every province.
///
/// The token keeps the provinces given. A 2025 province holds the data of
/// the provinces merged into it, still coded by their pre-2025 communes:
/// whoever checks the token covers them too, as the store's list says when
/// it is used ([`crate::communes::merges::ProvinceMerges::coverage`]), so a
/// token issued before the list was loaded covers them once it is.
///
/// # Errors
/// As [`issue_token`]; `bad_token_request` for a province that is not a code (digits).
pub async fn issue_scoped_token(
    store: &dyn Store,
    name: &str,
    role: &str,
    provinces: &[String],
) -> Result<(ApiToken, String), CoreError> {
    if let Some(bad) = provinces
        .iter()
        .find(|p| p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(CoreError::invalid(
            "bad_token_request",
            format!(
                "a province is given by its official code (digits, e.g. 87), not '{}'",
                echo(bad, 32)
            ),
        ));
    }
    let Some(role) = Role::from_name(role) else {
        return Err(CoreError::invalid(
            "bad_token_request",
            format!(
                "unknown role '{}'; a token is for one of: planner, editor, admin",
                echo(role, 32)
            ),
        ));
    };
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(CoreError::invalid(
            "bad_token_request",
            format!("a token needs a name saying who or what it is for (at most {MAX_NAME_CHARS} characters)"),
        ));
    }
    let no_randomness = |e: std::io::Error| CoreError::internal("no_randomness", e.to_string());
    let secret = new_token().map_err(no_randomness)?;
    let token = store
        .add_api_token(&NewApiToken {
            id: new_token_id().map_err(no_randomness)?,
            name: name.to_owned(),
            role,
            hash: hash_token(&secret),
            provinces: provinces.to_vec(),
        })
        .await?;
    Ok((token, secret))
}

/// Whether `actor` may list and revoke `token`: an admin of every
/// province any token; an admin limited to provinces only the tokens
/// limited to provinces it covers (never a token of every province).
#[must_use]
pub fn manages(actor: &Actor, token: &ApiToken) -> bool {
    actor.provinces.is_empty()
        || (!token.provinces.is_empty() && token.provinces.iter().all(|p| actor.provinces.contains(p)))
}

/// [`issue_scoped_token`] for `actor`: an admin limited to provinces
/// issues tokens limited to provinces it covers, so that it cannot hand
/// out more than it holds.
///
/// # Errors
/// As [`issue_scoped_token`]; `outside_provinces` (forbidden) for a token
/// of every province or of a province the actor does not cover.
pub async fn issue_for(
    store: &dyn Store,
    actor: &Actor,
    name: &str,
    role: &str,
    provinces: &[String],
) -> Result<(ApiToken, String), CoreError> {
    if !actor.provinces.is_empty() {
        let outside: Vec<&str> = provinces
            .iter()
            .filter(|p| !actor.provinces.contains(p))
            .map(String::as_str)
            .collect();
        if provinces.is_empty() || !outside.is_empty() {
            return Err(CoreError::new(
                ErrorKind::Forbidden,
                "outside_provinces",
                format!(
                    "this token is limited to provinces {}: the tokens it issues are limited to some of them (\"provinces\": [...]){}",
                    actor.provinces.join(", "),
                    if outside.is_empty() {
                        String::new()
                    } else {
                        format!(", not {}", outside.join(", "))
                    }
                ),
            ));
        }
    }
    issue_scoped_token(store, name, role, provinces).await
}

/// Revokes token `id` if `actor` manages it ([`manages`]); whether a valid
/// token had that id.
///
/// # Errors
/// `outside_provinces` (forbidden) for a token the actor does not manage;
/// the store's.
pub async fn revoke_for(store: &dyn Store, actor: &Actor, id: &str) -> Result<bool, CoreError> {
    let tokens = store.api_tokens().await?;
    if let Some(token) = tokens.iter().find(|t| t.id == id)
        && !manages(actor, token)
    {
        return Err(CoreError::new(
            ErrorKind::Forbidden,
            "outside_provinces",
            format!(
                "token {} is not limited to provinces within {}, as this token is",
                token.id,
                actor.provinces.join(", ")
            ),
        ));
    }
    Ok(store.revoke_api_token(id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed_to_hex() {
        let (a, b) = (new_token().expect("random"), new_token().expect("random"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(new_token_id().expect("random").len(), 8);
        // SHA-256 of "abc", from FIPS 180-2.
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same_hash(&hash_token(&a), &hash_token(&a)));
        assert!(!same_hash(&hash_token(&a), &hash_token(&b)));
    }
}
