//! The province's roll-up: every commune of a province (in one boundary
//! set) for a year — its recognised level, its dossier's state, the
//! criteria it meets and how that changed since the year before — with
//! the counts by level, the criteria most often missing, district
//! roll-ups for the pre-2025 communes, and for 2025 communes the
//! standing of the communes they were made from (the crosswalk).
//!
//! A dashboard is computed once and kept until a layer it reads or an NTM
//! record changes ([`DashboardCache`]).

use super::layers;
use super::scorecard::{SetRef, check_year, criterion_verdicts, current_entries, standing_appraisal};
use crate::Core;
use crate::communes::Commune;
use crate::error::{CoreError, echo};
use agrimap_model::BoundarySet;
use agrimap_model::ntm::{CriteriaSet, DossierState, Region, Verdict};
use agrimap_store::CrosswalkQuery;
use agrimap_store::ntm::state_after;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which roll-up: a province (or every commune held), a boundary set (or
/// the newest held), a year.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DashboardRequest {
    pub province: Option<String>,
    pub boundary_set: Option<BoundarySet>,
    pub year: i32,
}

/// A pre-2025 commune a 2025 commune was made from, with its standing.
#[derive(Debug, Clone, Serialize)]
pub struct Predecessor {
    pub code: String,
    pub name: Option<String>,
    /// `full` or `partial`.
    pub kind: String,
    pub ntm_status: Option<String>,
    pub ntm_year: Option<i64>,
}

/// One commune of the roll-up.
#[derive(Debug, Clone, Serialize)]
pub struct CommuneRow {
    pub code: String,
    pub name: String,
    pub district_code: Option<String>,
    pub ntm_status: Option<String>,
    pub ntm_year: Option<i64>,
    /// The state of the year's dossier.
    pub dossier: String,
    pub criteria_met: usize,
    pub criteria_total: usize,
    /// Criteria met the year before (by that year's set), when a set covers it.
    pub criteria_met_before: Option<usize>,
    /// The criteria not met (or without data).
    pub missing: Vec<String>,
    pub bbox: Option<[f64; 4]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub predecessors: Vec<Predecessor>,
}

/// How often a criterion is missing across the communes.
#[derive(Debug, Clone, Serialize)]
pub struct Missing {
    pub criterion: String,
    pub name_vi: String,
    pub name_en: String,
    pub not_met: usize,
    pub no_data: usize,
}

/// A district's communes taken together (pre-2025 communes only).
#[derive(Debug, Clone, Serialize)]
pub struct DistrictRow {
    pub code: String,
    pub communes: usize,
    pub recognised: usize,
    pub mean_criteria_met: f64,
}

/// The roll-up.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub province: Option<String>,
    /// The province's name, as its communes carry it.
    pub province_name: Option<String>,
    pub boundary_set: String,
    pub year: i32,
    pub set: SetRef,
    pub communes: usize,
    /// Communes by recognised level (`ntm_status` of the commune layer).
    pub by_level: BTreeMap<String, usize>,
    /// The year's dossiers by state.
    pub by_state: BTreeMap<String, usize>,
    /// Communes by the number of criteria they meet (0 to the set's count).
    pub by_criteria_met: BTreeMap<usize, usize>,
    /// Criteria met across all communes, this year and the year before.
    pub criteria_met: usize,
    pub criteria_met_before: Option<usize>,
    pub most_missing: Vec<Missing>,
    pub districts: Vec<DistrictRow>,
    pub rows: Vec<CommuneRow>,
}

/// What a cached dashboard was computed from.
type CacheKey = (DashboardRequest, agrimap_store::LayerVersions, i64);

/// Dashboards kept until what they read changes.
#[derive(Debug, Default)]
pub struct DashboardCache {
    held: tokio::sync::Mutex<BTreeMap<String, (CacheKey, Arc<Dashboard>)>>,
}

impl DashboardCache {
    /// At most this many dashboards are kept (one per province, set and year asked).
    const KEPT: usize = 32;
}

fn set_ref(set: &CriteriaSet) -> SetRef {
    SetRef {
        id: set.id.clone(),
        version: set.version,
        title_vi: set.title_vi.clone(),
        title_en: set.title_en.clone(),
        source: set.source.document.clone(),
    }
}

/// The roll-up of `req`, from the cache when nothing it reads changed.
///
/// # Errors
/// `unknown_province`, `unknown_boundary_set`, `bad_year`, `no_criteria_set`, or the store's.
pub async fn dashboard(core: &Core, req: &DashboardRequest) -> Result<Arc<Dashboard>, CoreError> {
    check_year(req.year)?;
    let versions = core.store.versions().await?;
    let records = core.store.ntm_changes().await?;
    let name = format!("{req:?}");
    let key: CacheKey = (req.clone(), versions, records);
    // Held while computing, so that concurrent requests compute once.
    let mut held = core.ntm_dashboards.held.lock().await;
    if let Some((k, d)) = held.get(&name)
        && *k == key
    {
        return Ok(d.clone());
    }
    let computed = Arc::new(compute(core, req).await?);
    if held.len() >= DashboardCache::KEPT {
        held.clear();
    }
    held.insert(name, (key, computed.clone()));
    Ok(computed)
}

/// Where a commune stands in a year: each criterion's verdict, the
/// criteria met the year before (when a set covers it), and its dossier's state.
struct Standing {
    verdicts: Vec<Verdict>,
    met_before: Option<usize>,
    state: DossierState,
}

async fn standing(
    core: &Core,
    c: &Commune,
    year: i32,
    set: &CriteriaSet,
    before: Option<&CriteriaSet>,
) -> Result<Standing, CoreError> {
    let region = Region::of_province(&c.province_code);
    let facts = layers::gather(core, c, year).await?;
    let moves = core.store.moves(&c.code, &c.boundary_set, None).await?;
    let of_year = |y: i32| {
        moves
            .iter()
            .filter(|m| m.dossier.year == y)
            .cloned()
            .collect::<Vec<_>>()
    };
    let (this_year, last_year) = (of_year(year), of_year(year - 1));
    let verdicts = criterion_verdicts(
        set,
        region,
        &facts,
        &current_entries(core, c, year).await?,
        standing_appraisal(&this_year, &set.id).as_ref(),
    );
    let met_before = match before {
        Some(b) => Some(
            criterion_verdicts(
                b,
                region,
                &facts,
                &current_entries(core, c, year - 1).await?,
                standing_appraisal(&last_year, &b.id).as_ref(),
            )
            .iter()
            .filter(|v| **v == Verdict::Met)
            .count(),
        ),
        None => None,
    };
    Ok(Standing {
        verdicts,
        met_before,
        state: state_after(&this_year),
    })
}

async fn compute(core: &Core, req: &DashboardRequest) -> Result<Dashboard, CoreError> {
    let index = core.commune_index().await?;
    let set_held = index.resolve_set(req.boundary_set)?;
    if let Some(p) = &req.province {
        index.known_province(p, Some(set_held))?;
    }
    let set = core.ntm_set_for(None, req.year).await?;
    let before = core.ntm_set_for(None, req.year - 1).await.ok();
    let communes: Vec<&Commune> = index
        .communes()
        .iter()
        .filter(|c| c.boundary_set == set_held.as_str())
        .filter(|c| req.province.as_ref().is_none_or(|p| *p == c.province_code))
        .collect();
    let crosswalk = if set_held == BoundarySet::Y2025 {
        core.store.crosswalk(&CrosswalkQuery::default()).await?
    } else {
        Vec::new()
    };
    let mut rows = Vec::with_capacity(communes.len());
    let mut missing: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for c in &communes {
        let Standing {
            verdicts,
            met_before,
            state,
        } = standing(core, c, req.year, &set, before.as_ref()).await?;
        for (n, v) in verdicts.iter().enumerate() {
            let m = missing.entry(n).or_default();
            match v {
                Verdict::NotMet => m.0 += 1,
                Verdict::NoData | Verdict::NoTarget => m.1 += 1,
                Verdict::Met => {}
            }
        }
        *by_state.entry(state.as_str().to_owned()).or_default() += 1;
        let predecessors = crosswalk
            .iter()
            .filter(|p| p.new_code == c.code)
            .map(|p| {
                let old = index.get(&p.old_code, Some(BoundarySet::Pre2025));
                Predecessor {
                    code: p.old_code.clone(),
                    name: old.map(|o| o.name.clone()).or_else(|| Some(p.old_name.clone())),
                    kind: p.kind.as_str().to_owned(),
                    ntm_status: old.and_then(|o| o.ntm_status.clone()),
                    ntm_year: old.and_then(|o| o.ntm_year),
                }
            })
            .collect();
        rows.push(CommuneRow {
            code: c.code.clone(),
            name: c.name.clone(),
            district_code: c.district_code.clone(),
            ntm_status: c.ntm_status.clone(),
            ntm_year: c.ntm_year,
            dossier: state.as_str().to_owned(),
            criteria_met: verdicts.iter().filter(|v| **v == Verdict::Met).count(),
            criteria_total: verdicts.len(),
            criteria_met_before: met_before,
            missing: set
                .criteria
                .iter()
                .zip(&verdicts)
                .filter(|(_, v)| **v != Verdict::Met)
                .map(|(c, _)| c.id.clone())
                .collect(),
            bbox: c.bbox,
            predecessors,
        });
    }
    rows.sort_by(|a, b| a.code.cmp(&b.code));
    let most_missing = most_missing(&set, &missing);
    let (by_level, by_criteria_met) = counts(&rows);
    Ok(Dashboard {
        province: req.province.clone(),
        province_name: req
            .province
            .as_ref()
            .and(communes.first())
            .and_then(|c| c.province_name.clone()),
        boundary_set: set_held.as_str().to_owned(),
        year: req.year,
        set: set_ref(&set),
        communes: rows.len(),
        by_level,
        by_state,
        by_criteria_met,
        criteria_met: rows.iter().map(|r| r.criteria_met).sum(),
        criteria_met_before: rows.iter().map(|r| r.criteria_met_before).sum::<Option<usize>>(),
        most_missing,
        districts: districts(&rows),
        rows,
    })
}

/// Communes by recognised level, and by the number of criteria they meet.
fn counts(rows: &[CommuneRow]) -> (BTreeMap<String, usize>, BTreeMap<usize, usize>) {
    let mut by_level: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_criteria_met: BTreeMap<usize, usize> = BTreeMap::new();
    for r in rows {
        *by_level
            .entry(r.ntm_status.clone().unwrap_or_else(|| "not_yet".into()))
            .or_default() += 1;
        *by_criteria_met.entry(r.criteria_met).or_default() += 1;
    }
    (by_level, by_criteria_met)
}

/// The criteria not met (or without data) by at least one commune, most often missing first.
fn most_missing(set: &CriteriaSet, missing: &BTreeMap<usize, (usize, usize)>) -> Vec<Missing> {
    let mut most: Vec<Missing> = set
        .criteria
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let (not_met, no_data) = missing.get(&n).copied().unwrap_or_default();
            Missing {
                criterion: c.id.clone(),
                name_vi: c.name_vi.clone(),
                name_en: c.name_en.clone(),
                not_met,
                no_data,
            }
        })
        .filter(|m| m.not_met + m.no_data > 0)
        .collect();
    most.sort_by(|a, b| {
        (b.not_met + b.no_data, b.not_met)
            .cmp(&(a.not_met + a.no_data, a.not_met))
            .then_with(|| a.criterion.cmp(&b.criterion))
    });
    most
}

fn districts(rows: &[CommuneRow]) -> Vec<DistrictRow> {
    let mut by: BTreeMap<&str, Vec<&CommuneRow>> = BTreeMap::new();
    for r in rows {
        if let Some(d) = &r.district_code {
            by.entry(d).or_default().push(r);
        }
    }
    by.into_iter()
        .map(|(code, rs)| DistrictRow {
            code: code.to_owned(),
            communes: rs.len(),
            recognised: rs
                .iter()
                .filter(|r| r.ntm_status.as_deref().is_some_and(|s| s != "not_yet"))
                .count(),
            mean_criteria_met: (rs.iter().map(|r| r.criteria_met).sum::<usize>() as f64 / rs.len() as f64 * 10.0)
                .round()
                / 10.0,
        })
        .collect()
}

/// The communes' table as CSV: one row per commune.
#[must_use]
pub fn to_csv(d: &Dashboard) -> String {
    let mut out = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = out.write_record([
        "code",
        "name",
        "district_code",
        "ntm_status",
        "ntm_year",
        "dossier",
        "criteria_met",
        "criteria_total",
        "criteria_met_before",
        "missing",
    ]);
    for r in &d.rows {
        let cells = [
            r.code.clone(),
            r.name.clone(),
            r.district_code.clone().unwrap_or_default(),
            r.ntm_status.clone().unwrap_or_default(),
            r.ntm_year.map(|y| y.to_string()).unwrap_or_default(),
            r.dossier.clone(),
            r.criteria_met.to_string(),
            r.criteria_total.to_string(),
            r.criteria_met_before.map(|n| n.to_string()).unwrap_or_default(),
            r.missing.join(" "),
        ];
        let safe: Vec<_> = cells.iter().map(|c| crate::csv_cell::neutralised(c)).collect();
        let _ = out.write_record(safe.iter().map(|c| c.as_bytes()));
    }
    String::from_utf8(out.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// A province code as a client gives it.
///
/// # Errors
/// `bad_province`.
pub fn province_param(p: Option<&str>) -> Result<Option<String>, CoreError> {
    match p.map(str::trim).filter(|p| !p.is_empty()) {
        None => Ok(None),
        Some(p) if p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()) => Ok(Some(p.to_owned())),
        Some(p) => Err(CoreError::invalid(
            "bad_province",
            format!("province is an official code (digits), not '{}'", echo(p, 16)),
        )),
    }
}
