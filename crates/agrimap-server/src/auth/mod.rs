//! Who is calling, and whether they may.
//!
//! Roles, from least to most: anonymous (public layers and public fields),
//! `planner` (every field, every read API), `editor` (imports, edits, readings
//! as CSV) and `admin` (tokens and stations); each role may do what the ones
//! before it may. A monitoring station holds a token of its own that lets it
//! post its own readings and nothing else; the readings handler checks it
//! against that station.
//!
//! API tokens travel as `Authorization: Bearer <token>`; the store keeps
//! only their SHA-256. Every endpoint declares what it needs (see
//! [`crate::endpoints`]); [`authorize`] runs before each one, answers 401 to a
//! missing or unknown token and 403 to a role too low, and hands the handler
//! the [`Caller`].

use crate::AppState;
use crate::error::ApiError;
use crate::limits::{QuotaKey, client_address, too_many_requests};
use agrimap_core::tokens::hash_token;
use agrimap_model::Audience;
pub use agrimap_model::Role;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// What an endpoint needs of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone, signed in or not.
    Anyone,
    /// An API token of at least this role.
    AtLeast(Role),
    /// A station's own token (the handler checks which station), or an
    /// API token of at least `editor`.
    StationOrEditor,
}

/// The caller of a request, as [`authorize`] found it.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    /// Id of the API token used, if any (for rate limits and logs).
    pub token_id: Option<String>,
    /// A bearer token that is no API token, on a station route: the handler
    /// checks it against the station's own.
    pub station_token: Option<String>,
    /// The provinces an API token is limited to, with those merged into
    /// them; empty for every province.
    pub provinces: Vec<String>,
}

impl Caller {
    const ANONYMOUS: Self = Self {
        role: Role::Anonymous,
        token_id: None,
        station_token: None,
        provinces: Vec::new(),
    };

    /// The caller as the core's services know it.
    #[must_use]
    pub fn actor(&self) -> agrimap_core::actor::Actor {
        agrimap_core::actor::Actor {
            role: self.role,
            id: self.token_id.clone().unwrap_or_else(|| "anonymous".into()),
            provinces: self.provinces.clone(),
        }
    }

    /// Which fields this caller may read.
    #[must_use]
    pub fn audience(&self) -> Audience {
        self.role.audience()
    }

    /// How this caller reads the registries: producers' contacts only of
    /// its provinces.
    #[must_use]
    pub fn registry_reader(&self) -> agrimap_core::registry::Reader<'_> {
        agrimap_core::registry::Reader {
            audience: self.audience(),
            provinces: &self.provinces,
        }
    }
}

fn unauthorized(message: &str) -> Response {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message.to_owned()).into_response()
}

/// What the `Authorization` header holds.
enum Credentials {
    None,
    Bearer(String),
    /// Present but not `Bearer <token>`.
    Malformed,
}

fn credentials(req: &Request) -> Credentials {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Credentials::None;
    };
    match value.to_str().ok().and_then(bearer_token) {
        Some(token) => Credentials::Bearer(token.to_owned()),
        None => Credentials::Malformed,
    }
}

/// The token of `Bearer <token>`. RFC 9110 §11.1: the scheme is
/// case-insensitive (`bearer`, `BEARER`) and one or more spaces part it from
/// the token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// Finds the caller, checks `need`, and runs the endpoint with the
/// [`Caller`] in the request's extensions.
pub async fn authorize(State((state, need)): State<(AppState, Need)>, mut req: Request, next: Next) -> Response {
    // Whatever is not a valid API token counts against the client's address,
    // before any work is done for it; an API token against its own quota.
    let address = client_address(&req);
    let by_address = || match address {
        Some(ip) => state.quotas.check(QuotaKey::Address(ip)),
        None => Ok(()),
    };
    let credentials = credentials(&req);
    let malformed = matches!(credentials, Credentials::Malformed);
    let secret = match credentials {
        Credentials::Bearer(secret) => Some(secret),
        Credentials::None | Credentials::Malformed => None,
    };
    let token = match &secret {
        Some(secret) => match state.core.store.api_token_by_hash(&hash_token(secret)).await {
            Ok(token) => token,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => None,
    };
    let quota = match &token {
        Some(t) => state.quotas.check(QuotaKey::Token(&t.id)),
        None => by_address(),
    };
    if let Err(wait) = quota {
        return too_many_requests(wait);
    }
    let caller = match (secret, token) {
        (Some(_), Some(token)) if token.role == Role::Anonymous => {
            return unauthorized("the token carries no known role");
        }
        (Some(_), Some(token)) => Caller {
            role: token.role,
            token_id: Some(token.id),
            station_token: None,
            // What the token covers now: a 2025 province with the pre-2025
            // ones the list merges into it, loaded before or after the token.
            provinces: if token.provinces.is_empty() {
                Vec::new()
            } else {
                match state.core.province_merges().await {
                    Ok(merges) => merges.coverage(&token.provinces),
                    Err(e) => return ApiError::from(e).into_response(),
                }
            },
        },
        // Possibly a station's token: only its readings route may take it.
        (Some(secret), None) if need == Need::StationOrEditor => Caller {
            station_token: Some(secret),
            ..Caller::ANONYMOUS
        },
        (Some(_), None) => return unauthorized("the token is not valid (unknown or revoked)"),
        (None, _) if malformed => {
            return unauthorized("the Authorization header must be 'Bearer <token>'");
        }
        (None, _) => Caller::ANONYMOUS,
    };
    let allowed = match need {
        Need::Anyone => true,
        Need::AtLeast(role) => caller.role >= role,
        Need::StationOrEditor => caller.role >= Role::Editor || caller.station_token.is_some(),
    };
    if !allowed {
        let wanted = match need {
            Need::AtLeast(role) => role.name(),
            _ => "editor (or the station's own token)",
        };
        return if caller.role == Role::Anonymous {
            unauthorized(&format!(
                "this needs a '{wanted}' token sent as 'Authorization: Bearer <token>'"
            ))
        } else {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("this needs the role '{wanted}'; the token is '{}'", caller.role.name()),
            )
            .into_response()
        };
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER abc", "bEaReR   abc", " Bearer abc "] {
            assert_eq!(bearer_token(value), Some("abc"), "{value}");
        }
        for value in ["Bearer", "Bearer ", "Basic abc", "Bearerabc", "Bearer a b", "Token abc"] {
            assert_eq!(bearer_token(value), None, "{value}");
        }
    }
}
