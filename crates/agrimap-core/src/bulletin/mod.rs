//! The weekly pest bulletin (bản tin dự báo sâu bệnh hằng tuần) of a
//! province, or of one commune: what a plant-protection sub-department
//! publishes from its light traps. Per pest species: the trap-nights of the
//! week, the catch per trap-night (mean and largest, per commune and over the
//! province), the change on the week before, and the communes on watch or
//! alarm by the same thresholds the stations are judged with.
//!
//! The species are the active codes of the store's `pest_species` list,
//! the national defaults first in the order bulletins list them. A
//! trap-night is one species reading (`pest_count:{species}`, see
//! [`agrimap_model::pests`]); it falls in the week of its time in Vietnam
//! (traps are emptied at dawn). A trap's whole catch sent without a species
//! (`pest_count`) is not sorted, so it is not in the bulletin.

pub mod documents;
pub mod week;

use crate::Core;
use crate::communes::CommuneIndex;
use crate::error::{CoreError, echo};
use agrimap_model::pests::{PEST_COUNT, PEST_LIST, bulletin_rank, scientific_name, split_parameter};
use agrimap_model::readings::{AlertState, alert_state};
use agrimap_model::{BoundarySet, CodeLists, CompareOp, FeatureQuery, Filter, Reading, UtcTime, Value, layer};
use agrimap_store::ReadingQuery;
use serde::Serialize;
use std::collections::BTreeMap;
pub use week::IsoWeek;

/// What a client asks for.
#[derive(Debug, Clone, Default)]
pub struct BulletinRequest {
    pub province: Option<String>,
    /// `YYYY-Www`; the current week in Vietnam when absent.
    pub week: Option<String>,
    pub commune: Option<String>,
}

/// The catch of one species in one commune (or the whole province).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catch {
    /// Traps that reported the species this week.
    pub traps: usize,
    pub trap_nights: usize,
    /// Insects per trap-night, to one decimal.
    pub mean: Option<f64>,
    pub max: Option<f64>,
    pub last_week_mean: Option<f64>,
    /// Of the mean on last week's, in percent to one decimal; none when
    /// last week caught nothing or was not reported.
    pub change_percent: Option<f64>,
}

/// One commune's line under a species.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CommuneCatch {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub catch: Catch,
    /// By the week's largest catch per trap-night against the thresholds of
    /// the species in this commune.
    pub state: AlertState,
}

/// One species of the bulletin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeciesWeek {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// Empty for a species a province added.
    pub scientific: String,
    /// Over every commune of the bulletin.
    pub total: Catch,
    pub communes: Vec<CommuneCatch>,
    pub communes_on_watch: Vec<String>,
    pub communes_on_alarm: Vec<String>,
}

/// The bulletin.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PestBulletin {
    pub province: String,
    pub province_name: Option<String>,
    pub commune: Option<String>,
    pub week: String,
    /// Monday and Sunday of the week.
    pub from: String,
    pub to: String,
    pub previous_week: String,
    /// Light traps in the province (or commune), reporting or not.
    pub traps: usize,
    pub species: Vec<SpeciesWeek>,
}

/// A light trap of the bulletin.
struct Trap {
    id: String,
    commune_code: String,
    at: Option<geo::Point<f64>>,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The catch of a species from this week's and last week's trap-nights.
fn catch_of(this: &[&Reading], last: &[&Reading]) -> Catch {
    let mean = |rs: &[&Reading]| (!rs.is_empty()).then(|| rs.iter().map(|r| r.value).sum::<f64>() / rs.len() as f64);
    let (now, before) = (mean(this), mean(last));
    let mut traps: Vec<&str> = this.iter().map(|r| r.station_id.as_str()).collect();
    traps.sort_unstable();
    traps.dedup();
    Catch {
        traps: traps.len(),
        trap_nights: this.len(),
        mean: now.map(round1),
        max: this.iter().map(|r| r.value).reduce(f64::max),
        last_week_mean: before.map(round1),
        change_percent: match (now, before) {
            (Some(n), Some(b)) if b > 0.0 => Some(round1((n - b) / b * 100.0)),
            _ => None,
        },
    }
}

impl Core {
    /// The weekly pest bulletin of a province, or of one of its communes.
    ///
    /// # Errors
    /// `bad_province` or `unknown_province`, `bad_week`, `unknown_commune`
    /// (not in the province); the store's errors.
    pub async fn pest_bulletin(&self, req: &BulletinRequest) -> Result<PestBulletin, CoreError> {
        let province = crate::ntm::dashboard::province_param(req.province.as_deref())?
            .ok_or_else(|| CoreError::invalid("bad_province", "province (its official code) is required"))?;
        let week = match req.week.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
            Some(w) => IsoWeek::parse(w)?,
            None => IsoWeek::of_unix(unix_now()),
        };
        let index = self.commune_index().await?;
        index.known_province(&province, None)?;
        let traps = self.traps_of(&index, &province, req.commune.as_deref()).await?;
        let previous = week.previous();
        let (from, to) = (previous.bounds().0, week.bounds().1);
        let mut readings = Vec::new();
        for (t, _) in &traps {
            let query = ReadingQuery {
                station_id: t.id.clone(),
                parameter: None,
                from: UtcTime::from_unix(from),
                to: UtcTime::from_unix(to),
            };
            readings.extend(
                self.store
                    .readings_between(&query)
                    .await?
                    .into_iter()
                    .filter(|r| matches!(split_parameter(&r.parameter), (PEST_COUNT, Some(_)))),
            );
        }
        let commune_of: BTreeMap<&str, (&str, &str)> = traps
            .iter()
            .map(|(t, (code, name))| (t.id.as_str(), (code.as_str(), name.as_str())))
            .collect();
        let lists = CodeLists::new(&self.store.codes().await?);
        let mut codes: Vec<&str> = lists.active(PEST_LIST).collect();
        codes.sort_by_key(|c| (bulletin_rank(c), *c));
        let species = codes
            .into_iter()
            .map(|code| {
                let (vi, en) = lists.label(PEST_LIST, code).unwrap_or((code, code));
                let named = SpeciesWeek {
                    code: code.to_owned(),
                    name_vi: vi.to_owned(),
                    name_en: en.to_owned(),
                    scientific: scientific_name(code).unwrap_or_default().to_owned(),
                    total: catch_of(&[], &[]),
                    communes: Vec::new(),
                    communes_on_watch: Vec::new(),
                    communes_on_alarm: Vec::new(),
                };
                self.species_week(named, &readings, &commune_of, week)
            })
            .collect();
        let (monday, sunday) = week.dates();
        Ok(PestBulletin {
            province_name: index
                .provinces_held()
                .into_iter()
                .find(|p| p.code == province)
                .and_then(|p| p.name),
            province,
            commune: req.commune.clone(),
            week: week.to_string(),
            from: monday,
            to: sunday,
            previous_week: previous.to_string(),
            traps: traps.len(),
            species,
        })
    }

    /// The light traps of the bulletin of `province` (of its `commune`
    /// when given), each with the commune it is reported under: its own,
    /// in the province; a trap still coded by a commune of a province
    /// merged into this one is reported under the 2025 commune it stands
    /// in (its old commune when it stands in none held).
    ///
    /// # Errors
    /// `unknown_commune` (not in the province); the store's.
    async fn traps_of(
        &self,
        index: &CommuneIndex,
        province: &str,
        commune: Option<&str>,
    ) -> Result<Vec<(Trap, (String, String))>, CoreError> {
        let merged = crate::features::scope::ProvinceScope::of(self, province).await?.merged;
        let reported_in = |t: &Trap, set: Option<BoundarySet>| -> Option<(String, String)> {
            let c = index.get(&t.commune_code, set)?;
            let named = |c: &crate::communes::Commune| (c.code.clone(), c.name.clone());
            if c.province_code == province {
                return Some(named(c));
            }
            if c.boundary_set != BoundarySet::Pre2025.as_str() || !merged.contains(&c.province_code) {
                return None;
            }
            let now = t.at.and_then(|at| index.containing(at, BoundarySet::Y2025, province));
            Some(now.map_or_else(|| named(c), named))
        };
        if let Some(c) = commune
            && index.get(c, None).is_none_or(|c| c.province_code != province)
        {
            return Err(CoreError::invalid(
                "unknown_commune",
                format!("no commune '{}' in province {province}", echo(c, 16)),
            ));
        }
        Ok(self
            .light_traps()
            .await?
            .into_iter()
            .filter_map(|(t, set)| {
                let reported = reported_in(&t, set)?;
                commune.is_none_or(|c| c == reported.0).then_some((t, reported))
            })
            .collect())
    }

    /// One species' lines: per commune, then over all, with the communes'
    /// states.
    fn species_week<'r>(
        &self,
        named: SpeciesWeek,
        readings: &'r [Reading],
        commune_of: &BTreeMap<&str, (&str, &str)>,
        week: IsoWeek,
    ) -> SpeciesWeek {
        let parameter = agrimap_model::pests::species_parameter(&named.code);
        let (start, _) = week.bounds();
        let ofs: Vec<&Reading> = readings.iter().filter(|r| r.parameter == parameter).collect();
        let split = |rs: &[&'r Reading]| split_at(rs, start);
        let mut by_commune: BTreeMap<(&str, &str), Vec<&Reading>> = BTreeMap::new();
        for r in &ofs {
            if let Some(c) = commune_of.get(r.station_id.as_str()) {
                by_commune.entry(*c).or_default().push(r);
            }
        }
        let mut communes = Vec::new();
        for ((code, name), rs) in by_commune {
            let (this, last) = split(&rs);
            let catch = catch_of(&this, &last);
            let state = catch.max.map_or(AlertState::Ok, |max| {
                let worst = this.iter().find(|r| r.value >= max).map(|r| (*r).clone());
                let judged: Vec<Reading> = worst.into_iter().collect();
                alert_state(&judged, "insect_trap", code, &self.thresholds).0
            });
            communes.push(CommuneCatch {
                code: code.to_owned(),
                name: name.to_owned(),
                catch,
                state,
            });
        }
        let on = |state| {
            communes
                .iter()
                .filter(|c| c.state == state)
                .map(|c| c.code.clone())
                .collect()
        };
        let (this, last) = split(&ofs);
        SpeciesWeek {
            total: catch_of(&this, &last),
            communes_on_watch: on(AlertState::Watch),
            communes_on_alarm: on(AlertState::Alarm),
            communes,
            ..named
        }
    }

    /// Every light trap with its commune and boundary set.
    async fn light_traps(&self) -> Result<Vec<(Trap, Option<BoundarySet>)>, CoreError> {
        let monitoring = layer("monitoring").ok_or_else(|| CoreError::internal("no_layer", "no monitoring layer"))?;
        let query = FeatureQuery {
            filter: Some(Filter::Compare {
                field: "kind".into(),
                op: CompareOp::Eq,
                value: Value::from("insect_trap"),
            }),
            ..FeatureQuery::default()
        };
        let features = self.store.features(monitoring, &query).await?;
        Ok(features
            .iter()
            .filter_map(|f| {
                let text = |name| monitoring.text_of(f, name).map(str::to_owned);
                Some((
                    Trap {
                        id: text("station_id")?,
                        commune_code: text("commune_code")?,
                        at: match f.geometry {
                            geo::Geometry::Point(p) => Some(p),
                            _ => None,
                        },
                    },
                    text("boundary_set").as_deref().and_then(BoundarySet::parse),
                ))
            })
            .collect())
    }
}

/// Readings of the week (from `start`) and of the week before.
fn split_at<'r>(rs: &[&'r Reading], start: i64) -> (Vec<&'r Reading>, Vec<&'r Reading>) {
    rs.iter().copied().partition(|r| r.time.unix() >= start)
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
