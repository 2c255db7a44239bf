//! A commune's scorecard for a year: every indicator of the criteria set
//! with its target (the region's where the set gives one), its value, the
//! verdict, and where the value came from — the layers ([`super::layers`])
//! or an editor's entry (which takes precedence: it is how a missing layer
//! or a correction is recorded) — with the appraisers' verdicts once the
//! dossier is appraised.
//!
//! Once appraised, the appraisal decides: while a dossier is appraised or
//! recognised, each indicator's `verdict` (and so the criteria met) is the
//! appraisers', and `value_verdict` keeps what the value alone says. Before
//! an appraisal, after a return and after a revocation, the values decide.

use super::Actor;
use super::layers::{self, Computed, Facts};
use crate::Core;
use crate::communes::Commune;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::ntm::{CriteriaSet, DossierState, EntryValue, Indicator, Judged, Region, Target, Unit, Verdict};
use agrimap_model::{BoundarySet, Role};
use agrimap_store::ntm::{DossierKey, Entry, Move, NewEntry, state_after};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The longest comment an entry or a move takes.
pub const MAX_COMMENT_CHARS: usize = 4000;

/// Which scorecard: a commune (in a boundary set, or the newest holding
/// the code), a year, and a set (or the one covering the year).
#[derive(Debug, Clone)]
pub struct Which {
    pub code: String,
    pub boundary_set: Option<BoundarySet>,
    pub year: i32,
    pub set: Option<String>,
}

/// The commune a scorecard is of.
#[derive(Debug, Clone, Serialize)]
pub struct CommuneRef {
    pub code: String,
    pub name: String,
    pub boundary_set: String,
    pub province_code: String,
    pub district_code: Option<String>,
    pub bbox: Option<[f64; 4]>,
}

/// The set a scorecard holds the commune to.
#[derive(Debug, Clone, Serialize)]
pub struct SetRef {
    pub id: String,
    pub version: u32,
    pub title_vi: String,
    pub title_en: String,
    pub source: String,
}

/// What an editor entered last for an indicator.
#[derive(Debug, Clone, Serialize)]
pub struct EntryCard {
    pub value: Option<EntryValue>,
    pub comment: String,
    pub evidence: Vec<FileRef>,
    pub author: String,
    pub at: agrimap_model::UtcTime,
}

/// An evidence file as a scorecard cites it.
#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub sha256: String,
    pub name: String,
    pub media_type: String,
    pub size: u64,
    /// Where planners download it.
    pub href: String,
}

/// The appraisers' word on an indicator.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Appraisal {
    /// `met` or `not_met`.
    pub verdict: String,
    #[serde(default)]
    pub comment: String,
}

/// One indicator of a scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct IndicatorCard {
    pub id: String,
    pub text_vi: String,
    pub text_en: String,
    pub unit: Unit,
    pub judged: Judged,
    pub target: Option<Target>,
    pub value: Option<EntryValue>,
    /// The verdict that counts: the standing appraisal's, else the value's.
    pub verdict: Verdict,
    /// What the value alone says.
    pub value_verdict: Verdict,
    /// `layers`, `editor` or `none`.
    pub source: &'static str,
    /// Whether the set's wording and target were checked against the decision.
    pub checked: bool,
    pub note: Option<String>,
    /// What the layers give, for indicators they evidence.
    pub computed: Option<Computed>,
    pub entry: Option<EntryCard>,
    pub appraisal: Option<Appraisal>,
}

/// One criterion of a scorecard.
#[derive(Debug, Clone, Serialize)]
pub struct CriterionCard {
    pub id: String,
    pub group_vi: String,
    pub group_en: String,
    pub name_vi: String,
    pub name_en: String,
    pub verdict: Verdict,
    pub indicators: Vec<IndicatorCard>,
}

/// Where the dossier stands, and where it may go.
#[derive(Debug, Clone, Serialize)]
pub struct DossierRef {
    pub state: DossierState,
    pub next: Vec<DossierState>,
    pub moves: usize,
}

/// A commune's scorecard for a year.
#[derive(Debug, Clone, Serialize)]
pub struct Scorecard {
    pub commune: CommuneRef,
    pub year: i32,
    pub region: Option<Region>,
    pub set: SetRef,
    pub dossier: DossierRef,
    /// `appraisal` while the dossier stands on its appraisal, else `values`.
    pub counted_from: &'static str,
    pub criteria_met: usize,
    pub criteria_total: usize,
    pub indicators_met: usize,
    pub indicators_total: usize,
    pub criteria: Vec<CriterionCard>,
}

/// The commune `code` (in `set`, or the newest set holding it).
///
/// # Errors
/// `unknown_commune`, or the store's.
pub async fn commune(core: &Core, commune_code: &str, set: Option<BoundarySet>) -> Result<Commune, CoreError> {
    let index = core.commune_index().await?;
    index.get(commune_code, set).cloned().ok_or_else(|| {
        CoreError::not_found(
            "unknown_commune",
            format!("no commune with code '{}'", echo(commune_code, 64)),
        )
    })
}

/// Checks a year given by a client.
///
/// # Errors
/// `bad_year`.
pub fn check_year(year: i32) -> Result<i32, CoreError> {
    if (2000..=2100).contains(&year) {
        Ok(year)
    } else {
        Err(CoreError::invalid(
            "bad_year",
            format!("year {year} is not one NTM records are kept for (2000–2100)"),
        ))
    }
}

fn key_of(c: &Commune, year: i32) -> DossierKey {
    DossierKey {
        commune_code: c.code.clone(),
        boundary_set: c.boundary_set.clone(),
        year,
    }
}

/// The appraisers' verdicts of the dossier's latest appraisal or return.
#[must_use]
pub fn appraisals(moves: &[Move]) -> BTreeMap<String, Appraisal> {
    moves
        .iter()
        .rev()
        .find(|m| {
            m.to == DossierState::Appraised || (m.to == DossierState::Returned && m.from == DossierState::Submitted)
        })
        .and_then(|m| serde_json::from_str::<Json>(&m.details).ok())
        .and_then(|d| serde_json::from_value(d["verdicts"].clone()).ok())
        .unwrap_or_default()
}

/// The verdicts of the appraisal a dossier stands on: its latest, while the
/// dossier is appraised or recognised on it against `set`.
#[must_use]
pub fn standing_appraisal(moves: &[Move], set: &str) -> Option<BTreeMap<String, Appraisal>> {
    if !matches!(state_after(moves), DossierState::Appraised | DossierState::Recognised) {
        return None;
    }
    let appraisal = moves.iter().rev().find(|m| m.to == DossierState::Appraised)?;
    let details: Json = serde_json::from_str(&appraisal.details).ok()?;
    if details["set"].as_str() != Some(set) {
        return None;
    }
    serde_json::from_value(details["verdicts"].clone()).ok()
}

/// The verdict that counts for indicator `i`: the standing appraisal's,
/// else what `value` says.
fn counted_verdict(
    i: &Indicator,
    region: Option<Region>,
    value: Option<EntryValue>,
    standing: Option<&BTreeMap<String, Appraisal>>,
) -> Verdict {
    match standing.and_then(|s| s.get(&i.id)) {
        Some(a) if a.verdict == "met" => Verdict::Met,
        Some(_) => Verdict::NotMet,
        None => Verdict::of(i, region, value),
    }
}

/// The latest entry of each indicator.
fn latest_entries(entries: Vec<Entry>) -> BTreeMap<String, Entry> {
    let mut by_indicator = BTreeMap::new();
    for e in entries {
        by_indicator.insert(e.entry.indicator_id.clone(), e);
    }
    by_indicator
}

async fn entry_card(core: &Core, e: &Entry) -> Result<EntryCard, CoreError> {
    let mut evidence = Vec::new();
    for sha in &e.entry.evidence {
        if let Some(f) = core.store.evidence(sha, false).await? {
            evidence.push(FileRef {
                href: format!("/api/ntm/evidence/{}", f.sha256),
                sha256: f.sha256,
                name: f.name,
                media_type: f.media_type,
                size: f.size,
            });
        }
    }
    Ok(EntryCard {
        value: e.entry.value,
        comment: e.entry.comment.clone(),
        evidence,
        author: e.entry.author.clone(),
        at: e.at,
    })
}

/// The indicator's value and where it came from: an editor's value first,
/// then the layers'.
fn value_of(entry: Option<&Entry>, computed: Option<&Computed>) -> (Option<EntryValue>, &'static str) {
    match (entry.and_then(|e| e.entry.value), computed.and_then(|c| c.value)) {
        (Some(v), _) => (Some(v), "editor"),
        (None, Some(v)) => (Some(v), "layers"),
        (None, None) => (None, "none"),
    }
}

/// Each criterion's verdict for a commune of `region`, from the layers'
/// facts and the latest entries, or the appraisal the dossier stands on:
/// what a scorecard says, without its details.
#[must_use]
pub fn criterion_verdicts(
    set: &CriteriaSet,
    region: Option<Region>,
    facts: &Facts,
    entries: &BTreeMap<String, Entry>,
    standing: Option<&BTreeMap<String, Appraisal>>,
) -> Vec<Verdict> {
    set.criteria
        .iter()
        .map(|c| {
            let verdicts: Vec<Verdict> = c
                .indicators
                .iter()
                .map(|i| {
                    let computed = i.evidence.as_deref().map(|k| layers::compute(k, facts));
                    let (value, _) = value_of(entries.get(&i.id), computed.as_ref());
                    counted_verdict(i, region, value, standing)
                })
                .collect();
            Verdict::of_criterion(&verdicts)
        })
        .collect()
}

/// The latest entry of each indicator of a dossier.
///
/// # Errors
/// The store's.
pub async fn current_entries(core: &Core, c: &Commune, year: i32) -> Result<BTreeMap<String, Entry>, CoreError> {
    Ok(latest_entries(core.store.entries(&key_of(c, year)).await?))
}

/// Everything a scorecard reads, gathered once: the layers' facts and the dossier's records.
struct Inputs {
    facts: Facts,
    entries: BTreeMap<String, Entry>,
    moves: Vec<Move>,
}

/// The scorecard of `which`.
///
/// # Errors
/// `unknown_commune`, `bad_year`, `no_criteria_set` (and the other set
/// errors of [`Core::ntm_set_for`]), or the store's.
pub async fn scorecard(core: &Core, which: &Which) -> Result<Scorecard, CoreError> {
    let year = check_year(which.year)?;
    let c = commune(core, &which.code, which.boundary_set).await?;
    let set = core.ntm_set_for(which.set.as_deref(), year).await?;
    let key = key_of(&c, year);
    let inputs = Inputs {
        facts: layers::gather(core, &c, year).await?,
        entries: latest_entries(core.store.entries(&key).await?),
        moves: core.store.moves(&c.code, &c.boundary_set, Some(year)).await?,
    };
    assemble(core, &c, &set, year, &inputs).await
}

async fn assemble(
    core: &Core,
    c: &Commune,
    set: &CriteriaSet,
    year: i32,
    inputs: &Inputs,
) -> Result<Scorecard, CoreError> {
    let region = Region::of_province(&c.province_code);
    let appraised = appraisals(&inputs.moves);
    let standing = standing_appraisal(&inputs.moves, &set.id);
    let mut criteria = Vec::with_capacity(set.criteria.len());
    for criterion in &set.criteria {
        let mut indicators = Vec::with_capacity(criterion.indicators.len());
        for i in &criterion.indicators {
            indicators.push(indicator_card(core, i, region, inputs, appraised.get(&i.id), standing.as_ref()).await?);
        }
        let verdicts: Vec<Verdict> = indicators.iter().map(|i| i.verdict).collect();
        criteria.push(CriterionCard {
            id: criterion.id.clone(),
            group_vi: criterion.group_vi.clone(),
            group_en: criterion.group_en.clone(),
            name_vi: criterion.name_vi.clone(),
            name_en: criterion.name_en.clone(),
            verdict: Verdict::of_criterion(&verdicts),
            indicators,
        });
    }
    let state = state_after(&inputs.moves);
    let all: Vec<&IndicatorCard> = criteria.iter().flat_map(|c| &c.indicators).collect();
    Ok(Scorecard {
        commune: CommuneRef {
            code: c.code.clone(),
            name: c.name.clone(),
            boundary_set: c.boundary_set.clone(),
            province_code: c.province_code.clone(),
            district_code: c.district_code.clone(),
            bbox: c.bbox,
        },
        year,
        region,
        set: SetRef {
            id: set.id.clone(),
            version: set.version,
            title_vi: set.title_vi.clone(),
            title_en: set.title_en.clone(),
            source: set.source.document.clone(),
        },
        dossier: DossierRef {
            state,
            next: state.next(),
            moves: inputs.moves.len(),
        },
        counted_from: if standing.is_some() { "appraisal" } else { "values" },
        criteria_met: criteria.iter().filter(|c| c.verdict == Verdict::Met).count(),
        criteria_total: criteria.len(),
        indicators_met: all.iter().filter(|i| i.verdict == Verdict::Met).count(),
        indicators_total: all.len(),
        criteria,
    })
}

async fn indicator_card(
    core: &Core,
    i: &Indicator,
    region: Option<Region>,
    inputs: &Inputs,
    appraisal: Option<&Appraisal>,
    standing: Option<&BTreeMap<String, Appraisal>>,
) -> Result<IndicatorCard, CoreError> {
    let computed = i.evidence.as_deref().map(|k| layers::compute(k, &inputs.facts));
    let entry = inputs.entries.get(&i.id);
    let (value, source) = value_of(entry, computed.as_ref());
    Ok(IndicatorCard {
        id: i.id.clone(),
        text_vi: i.text_vi.clone(),
        text_en: i.text_en.clone(),
        unit: i.unit,
        judged: i.judged,
        target: i.target_for(region),
        value,
        verdict: counted_verdict(i, region, value, standing),
        value_verdict: Verdict::of(i, region, value),
        source,
        checked: i.checked,
        note: i.note.clone(),
        computed,
        entry: match entry {
            Some(e) => Some(entry_card(core, e).await?),
            None => None,
        },
        appraisal: appraisal.cloned(),
    })
}

/// An editor's value for one indicator, as a client sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    /// A number in the indicator's unit, `true`/`false` for met-or-not
    /// indicators, or `null` to withdraw a value entered before.
    pub value: Option<EntryValue>,
    #[serde(default)]
    pub comment: String,
    /// SHA-256 of evidence files uploaded before (`POST /api/ntm/evidence`).
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// Records an editor's value for `indicator` of the commune's dossier of
/// the year, after checking the indicator, the value's unit and range,
/// the evidence and who is asking; returns the scorecard's line for it.
///
/// # Errors
/// `forbidden`/`outside_provinces`, `unknown_commune`, `unknown_indicator`,
/// `wrong_unit`, `value_out_of_range`, `comment_too_long`, `bad_evidence`,
/// `unknown_evidence`, `dossier_not_editable`, or the store's.
pub async fn record_entry(
    core: &Core,
    actor: &Actor,
    which: &Which,
    indicator: &str,
    input: EntryInput,
) -> Result<IndicatorCard, CoreError> {
    if actor.role < Role::Editor {
        return Err(CoreError::new(
            ErrorKind::Forbidden,
            "forbidden",
            "values are entered by editors (the commune's NTM office) or admins",
        ));
    }
    let year = check_year(which.year)?;
    let c = commune(core, &which.code, which.boundary_set).await?;
    actor.may_act_in(&c)?;
    let set = core.ntm_set_for(which.set.as_deref(), year).await?;
    let Some(i) = set.indicator(indicator) else {
        return Err(CoreError::not_found(
            "unknown_indicator",
            format!("criteria set '{}' has no indicator '{}'", set.id, echo(indicator, 16)),
        ));
    };
    if let Some(v) = &input.value {
        i.unit.check(&i.id, v)?;
    }
    if input.comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(CoreError::invalid(
            "comment_too_long",
            format!("a comment takes at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    for sha in &input.evidence {
        super::files::check_citable(core, actor, sha).await?;
    }
    let key = key_of(&c, year);
    core.store
        .add_entry(&NewEntry {
            dossier: key.clone(),
            set_id: set.id.clone(),
            indicator_id: i.id.clone(),
            value: input.value,
            comment: input.comment.trim().to_owned(),
            evidence: input.evidence,
            author: actor.id.clone(),
        })
        .await?;
    let inputs = Inputs {
        facts: layers::gather(core, &c, year).await?,
        entries: latest_entries(core.store.entries(&key).await?),
        moves: core.store.moves(&c.code, &c.boundary_set, Some(year)).await?,
    };
    let appraised = appraisals(&inputs.moves);
    indicator_card(
        core,
        i,
        Region::of_province(&c.province_code),
        &inputs,
        appraised.get(&i.id),
        standing_appraisal(&inputs.moves, &set.id).as_ref(),
    )
    .await
}
