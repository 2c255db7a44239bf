//! The recognition workflow of a commune's yearly dossier: the moves of
//! [`DossierState`], who may make each, what each must carry, and the
//! dossier's history.
//!
//! | move to      | who                                  | carries                                   |
//! |--------------|--------------------------------------|-------------------------------------------|
//! | `submitted`  | editor or admin of the province      | a comment (optional)                      |
//! | `appraised`  | planner or admin of the province, not the submitter | a verdict (`met`/`not_met`) and comment for every indicator |
//! | `returned`   | planner or admin of the province, not the submitter | reasons (and verdicts, when appraising) |
//! | `recognised` | admin of the province, neither the submitter nor the appraiser | decision number, date (from 1 January of the dossier's year to today), level; an appraisal with every indicator met for that level's set |
//! | `revoked`    | admin of the province                | reasons and the decision number           |
//!
//! No token judges its own work: whoever submitted a dossier does not
//! appraise it, and neither of them recognises it, whatever their role
//! (an admin holds every role's rights, so without this one admin token
//! could carry a dossier from draft to recognition alone).
//!
//! A recognition or a revocation sets `ntm_status`/`ntm_year` of the
//! commune in the same transaction, from the commune's latest recognised year.

use super::Actor;
use super::scorecard::{Appraisal, MAX_COMMENT_CHARS, Which, appraisals, check_year, commune};
use crate::Core;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::Role;
use agrimap_model::ntm::{DossierState, Level};
use agrimap_store::ntm::{CommuneStatus, DossierKey, Move, NewMove, state_after};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// A move as a client asks for it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveRequest {
    pub to: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub reasons: String,
    /// Appraisers' verdicts by indicator.
    #[serde(default)]
    pub verdicts: BTreeMap<String, Appraisal>,
    #[serde(default)]
    pub decision_number: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub decision_date: Option<String>,
    /// `standard`, `advanced` or `model`.
    #[serde(default)]
    pub level: Option<String>,
}

fn forbidden(message: String) -> CoreError {
    CoreError::new(ErrorKind::Forbidden, "forbidden", message)
}

fn unprocessable(code: &'static str, message: String) -> CoreError {
    CoreError::new(ErrorKind::Unprocessable, code, message)
}

fn text(name: &str, value: &str, required: bool) -> Result<String, CoreError> {
    let value = value.trim();
    if required && value.is_empty() {
        return Err(unprocessable("missing_field", format!("this move needs '{name}'")));
    }
    if value.chars().count() > MAX_COMMENT_CHARS {
        return Err(CoreError::invalid(
            "comment_too_long",
            format!("'{name}' takes at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// The tokens that have acted on the dossier so far: who submitted it
/// last, and who appraised it last.
#[derive(Default)]
struct Hands<'a> {
    submitter: Option<&'a str>,
    appraiser: Option<&'a str>,
}

impl<'a> Hands<'a> {
    fn of(moves: &'a [Move]) -> Self {
        let last = |to: DossierState| moves.iter().rev().find(|m| m.to == to).map(|m| m.author.as_str());
        Self {
            submitter: last(DossierState::Submitted),
            appraiser: last(DossierState::Appraised),
        }
    }
}

/// Who may move a dossier to `to`.
fn allowed(actor: &Actor, to: DossierState, hands: &Hands) -> Result<(), CoreError> {
    let role = actor.role;
    let me = Some(actor.id.as_str());
    match to {
        DossierState::Submitted if role == Role::Editor || role == Role::Admin => Ok(()),
        DossierState::Submitted => Err(forbidden(format!(
            "a dossier is submitted by an editor of the commune's province (or an admin), not {} {}",
            article(role),
            role.name()
        ))),
        DossierState::Appraised | DossierState::Returned if role == Role::Planner || role == Role::Admin => {
            if hands.submitter == me {
                Err(forbidden(
                    "the token that submitted a dossier may not appraise or return it".into(),
                ))
            } else {
                Ok(())
            }
        }
        DossierState::Appraised | DossierState::Returned => Err(forbidden(format!(
            "a dossier is appraised or returned by the province's appraisers (planners) or an admin, not {} {}",
            article(role),
            role.name()
        ))),
        DossierState::Recognised if role == Role::Admin => {
            if hands.submitter == me || hands.appraiser == me {
                Err(forbidden(
                    "the token that submitted or appraised a dossier may not recognise it".into(),
                ))
            } else {
                Ok(())
            }
        }
        DossierState::Revoked if role == Role::Admin => Ok(()),
        DossierState::Recognised | DossierState::Revoked => Err(forbidden(format!(
            "recognition and revocation are an admin's, not {} {}'s",
            article(role),
            role.name()
        ))),
        DossierState::Draft => Err(unprocessable("bad_state", "a dossier never moves back to draft".into())),
    }
}

/// "a planner", "an editor", "an admin".
fn article(role: Role) -> &'static str {
    if role.name().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// A recognition's decision date: a date, not before the year the dossier
/// is of, and not after today in Vietnam.
fn decision_date(date: &str, year: i32) -> Result<String, CoreError> {
    if !agrimap_model::calendar::is_date(date) {
        return Err(CoreError::invalid(
            "bad_decision_date",
            format!("decision_date is a date YYYY-MM-DD, not '{}'", echo(date, 32)),
        ));
    }
    let today = crate::registry::today();
    if date > today.as_str() {
        return Err(CoreError::invalid(
            "bad_decision_date",
            format!("decision_date {date} is after today ({today}): a decision is recorded once it is signed"),
        ));
    }
    if date < format!("{year}-01-01").as_str() {
        return Err(CoreError::invalid(
            "bad_decision_date",
            format!("decision_date {date} is before the year {year} this dossier is of"),
        ));
    }
    Ok(date.to_owned())
}

fn is_met(a: &Appraisal) -> bool {
    a.verdict == "met"
}

/// The appraisers' verdicts, checked against the set: every indicator once, each `met` or `not_met`.
async fn checked_verdicts(
    core: &Core,
    year: i32,
    verdicts: &BTreeMap<String, Appraisal>,
) -> Result<(String, u32, BTreeMap<String, Appraisal>), CoreError> {
    let set = core.ntm_set_for(None, year).await?;
    let mut out = BTreeMap::new();
    for (id, a) in verdicts {
        if set.indicator(id).is_none() {
            return Err(CoreError::not_found(
                "unknown_indicator",
                format!("criteria set '{}' has no indicator '{}'", set.id, echo(id, 16)),
            ));
        }
        if a.verdict != "met" && a.verdict != "not_met" {
            return Err(CoreError::invalid(
                "bad_verdict",
                format!(
                    "indicator {id}: the verdict is 'met' or 'not_met', not '{}'",
                    echo(&a.verdict, 16)
                ),
            ));
        }
        out.insert(
            id.clone(),
            Appraisal {
                verdict: a.verdict.clone(),
                comment: text("comment", &a.comment, false)?,
            },
        );
    }
    let missing: Vec<&str> = set
        .indicators()
        .filter(|i| !out.contains_key(&i.id))
        .map(|i| i.id.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(unprocessable(
            "missing_verdicts",
            format!(
                "an appraisal gives a verdict on every indicator; missing: {}",
                missing.join(", ")
            ),
        ));
    }
    Ok((set.id, set.version, out))
}

/// What a move carries, checked for its kind.
async fn details(
    core: &Core,
    year: i32,
    to: DossierState,
    req: &MoveRequest,
    moves: &[Move],
) -> Result<(Json, Option<Level>), CoreError> {
    let comment = text("comment", &req.comment, false)?;
    Ok(match to {
        DossierState::Submitted => (json!({ "comment": comment }), None),
        DossierState::Appraised => {
            let (set, version, verdicts) = checked_verdicts(core, year, &req.verdicts).await?;
            (
                json!({ "comment": comment, "set": set, "set_version": version, "verdicts": verdicts }),
                None,
            )
        }
        DossierState::Returned => {
            let reasons = text("reasons", &req.reasons, true)?;
            let verdicts = if req.verdicts.is_empty() {
                Json::Null
            } else {
                json!(checked_verdicts(core, year, &req.verdicts).await?.2)
            };
            (
                json!({ "comment": comment, "reasons": reasons, "verdicts": verdicts }),
                None,
            )
        }
        DossierState::Recognised => {
            let number = text("decision_number", req.decision_number.as_deref().unwrap_or(""), true)?;
            let date = decision_date(req.decision_date.as_deref().unwrap_or(""), year)?;
            let level = req
                .level
                .as_deref()
                .and_then(Level::parse)
                .ok_or_else(|| CoreError::invalid("bad_level", "level is 'standard', 'advanced' or 'model'"))?;
            let appraisal = moves.iter().rev().find(|m| m.to == DossierState::Appraised);
            let details: Json = appraisal
                .and_then(|m| serde_json::from_str(&m.details).ok())
                .unwrap_or(Json::Null);
            let set = details["set"].as_str().unwrap_or("");
            let set_level = core.ntm_set(set, None).await.map(|s| s.level).ok();
            if set_level != Some(level) {
                return Err(unprocessable(
                    "level_not_appraised",
                    format!(
                        "the dossier was appraised against '{set}', which is not a set for the level '{}'",
                        level.as_str()
                    ),
                ));
            }
            let not_met: Vec<String> = appraisals(moves)
                .iter()
                .filter(|(_, a)| !is_met(a))
                .map(|(id, _)| id.clone())
                .collect();
            if !not_met.is_empty() {
                return Err(unprocessable(
                    "criteria_not_met",
                    format!("the appraisal found indicators not met: {}", not_met.join(", ")),
                ));
            }
            (
                json!({ "comment": comment, "decision_number": number, "decision_date": date, "level": level.as_str() }),
                Some(level),
            )
        }
        DossierState::Revoked => {
            let reasons = text("reasons", &req.reasons, true)?;
            let number = text("decision_number", req.decision_number.as_deref().unwrap_or(""), true)?;
            (
                json!({ "comment": comment, "reasons": reasons, "decision_number": number }),
                None,
            )
        }
        DossierState::Draft => return Err(unprocessable("bad_state", "a dossier never moves back to draft".into())),
    })
}

/// The commune's standing after this move: its latest recognised year
/// (this dossier's new state counted), else not yet.
fn status_after(all: &[Move], year: i32, to: DossierState, level: Option<Level>) -> CommuneStatus {
    let mut by_year: BTreeMap<i32, (DossierState, Option<String>)> = BTreeMap::new();
    for m in all {
        let level = (m.to == DossierState::Recognised)
            .then(|| serde_json::from_str::<Json>(&m.details).ok())
            .flatten()
            .and_then(|d| d["level"].as_str().map(str::to_owned));
        by_year.insert(m.dossier.year, (m.to, level));
    }
    by_year.insert(year, (to, level.map(|l| l.as_str().to_owned())));
    by_year
        .iter()
        .rev()
        .find(|(_, (state, _))| *state == DossierState::Recognised)
        .map_or(
            CommuneStatus {
                status: "not_yet".into(),
                year: None,
            },
            |(y, (_, level))| CommuneStatus {
                status: level.clone().unwrap_or_else(|| "standard".into()),
                year: Some(i64::from(*y)),
            },
        )
}

/// Moves the dossier of `which` as `req` asks, if the move exists from
/// its state, `actor` may make it, and it carries what it must.
///
/// # Errors
/// `bad_state`, `transition_out_of_order` (conflict), `forbidden`,
/// `outside_provinces`, `missing_field`, `missing_verdicts`,
/// `unknown_indicator`, `bad_verdict`, `bad_decision_date`, `bad_level`,
/// `level_not_appraised`, `criteria_not_met`, `dossier_changed` (someone
/// moved it meanwhile), or the store's.
pub async fn move_dossier(core: &Core, actor: &Actor, which: &Which, req: &MoveRequest) -> Result<Move, CoreError> {
    let to = DossierState::parse(&req.to).ok_or_else(|| {
        CoreError::invalid(
            "bad_state",
            format!(
                "'to' is one of submitted, appraised, recognised, returned, revoked; not '{}'",
                echo(&req.to, 32)
            ),
        )
    })?;
    let year = check_year(which.year)?;
    let c = commune(core, &which.code, which.boundary_set).await?;
    actor.may_act_in(&c)?;
    let all = core.store.moves(&c.code, &c.boundary_set, None).await?;
    let moves: Vec<Move> = all.iter().filter(|m| m.dossier.year == year).cloned().collect();
    let from = state_after(&moves);
    if !from.may_move_to(to) {
        let next: Vec<&str> = from.next().iter().map(|s| s.as_str()).collect();
        return Err(CoreError::new(
            ErrorKind::Conflict,
            "transition_out_of_order",
            format!(
                "the dossier is '{}': it may move to {}, not to '{}'",
                from.as_str(),
                next.join(" or "),
                to.as_str()
            ),
        ));
    }
    allowed(actor, to, &Hands::of(&moves))?;
    let (details, level) = details(core, year, to, req, &moves).await?;
    let commune_status =
        matches!(to, DossierState::Recognised | DossierState::Revoked).then(|| status_after(&all, year, to, level));
    Ok(core
        .store
        .add_move(&NewMove {
            dossier: DossierKey {
                commune_code: c.code.clone(),
                boundary_set: c.boundary_set.clone(),
                year,
            },
            from,
            to,
            author: actor.id.clone(),
            role: actor.role,
            details: details.to_string(),
            commune_status,
        })
        .await?)
}

/// One change of a dossier, as its history lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// `entry` (a value entered) or `move`.
    pub kind: &'static str,
    pub at: agrimap_model::UtcTime,
    /// The token's id, or `cli`.
    pub author: String,
    /// The token's name, when the store still knows it.
    pub author_name: Option<String>,
    /// What changed.
    pub what: Json,
}

/// Every change of a dossier, oldest first: entries and moves together.
///
/// # Errors
/// `unknown_commune`, `bad_year`, or the store's.
pub async fn history(core: &Core, which: &Which) -> Result<Vec<Change>, CoreError> {
    let year = check_year(which.year)?;
    let c = commune(core, &which.code, which.boundary_set).await?;
    let key = DossierKey {
        commune_code: c.code.clone(),
        boundary_set: c.boundary_set.clone(),
        year,
    };
    let names: std::collections::HashMap<String, String> = core
        .store
        .api_tokens()
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let name_of = |id: &str| names.get(id).cloned();
    let mut changes: Vec<(i64, Change)> = Vec::new();
    for e in core.store.entries(&key).await? {
        changes.push((
            e.seq,
            Change {
                kind: "entry",
                at: e.at,
                author_name: name_of(&e.entry.author),
                author: e.entry.author,
                what: json!({
                    "set": e.entry.set_id,
                    "indicator": e.entry.indicator_id,
                    "value": e.entry.value,
                    "comment": e.entry.comment,
                    "evidence": e.entry.evidence,
                }),
            },
        ));
    }
    for m in core.store.moves(&c.code, &c.boundary_set, Some(year)).await? {
        let details: Json = serde_json::from_str(&m.details).unwrap_or(Json::Null);
        changes.push((
            m.seq,
            Change {
                kind: "move",
                at: m.at,
                author_name: name_of(&m.author),
                author: m.author,
                what: json!({ "from": m.from, "to": m.to, "role": m.role, "details": details }),
            },
        ));
    }
    // Entries and moves share one sequence: its order is the order they were made.
    changes.sort_by_key(|(seq, _)| *seq);
    Ok(changes.into_iter().map(|(_, c)| c).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, id: &str) -> Actor {
        Actor {
            role,
            id: id.into(),
            provinces: Vec::new(),
        }
    }

    #[test]
    fn each_move_is_for_its_own_role() {
        use DossierState::{Appraised, Recognised, Revoked, Submitted};
        let (editor, planner, admin) = (
            actor(Role::Editor, "e"),
            actor(Role::Planner, "p"),
            actor(Role::Admin, "a"),
        );
        let none = Hands::default();
        let submitted_by = |id| Hands {
            submitter: Some(id),
            appraiser: None,
        };
        assert!(allowed(&editor, Submitted, &none).is_ok());
        assert!(allowed(&planner, Submitted, &none).is_err());
        assert!(allowed(&editor, Appraised, &submitted_by("e")).is_err());
        assert!(allowed(&planner, Appraised, &submitted_by("e")).is_ok());
        assert!(allowed(&planner, Appraised, &submitted_by("p")).is_err());
        assert!(allowed(&planner, Recognised, &none).is_err());
        assert!(allowed(&editor, Revoked, &none).is_err());
        assert!(allowed(&admin, Recognised, &submitted_by("e")).is_ok());
        assert!(allowed(&admin, Revoked, &submitted_by("a")).is_ok());
    }

    #[test]
    fn no_token_judges_its_own_work_whatever_its_role() {
        use DossierState::{Appraised, Recognised, Returned};
        let admin = actor(Role::Admin, "a");
        let by = |submitter, appraiser| Hands { submitter, appraiser };
        assert!(allowed(&admin, Appraised, &by(Some("a"), None)).is_err());
        assert!(allowed(&admin, Returned, &by(Some("a"), None)).is_err());
        assert!(allowed(&admin, Recognised, &by(Some("a"), Some("p"))).is_err());
        assert!(allowed(&admin, Recognised, &by(Some("e"), Some("a"))).is_err());
        assert!(allowed(&admin, Recognised, &by(Some("e"), Some("p"))).is_ok());
    }

    #[test]
    fn a_decision_is_dated_between_the_dossiers_year_and_today() {
        assert_eq!(decision_date("2025-12-20", 2025).ok().as_deref(), Some("2025-12-20"));
        assert!(decision_date("2024-12-31", 2025).is_err_and(|e| e.code == "bad_decision_date"));
        assert!(decision_date("2999-01-01", 2025).is_err_and(|e| e.code == "bad_decision_date"));
        assert!(decision_date("20/12/2025", 2025).is_err());
    }
}
