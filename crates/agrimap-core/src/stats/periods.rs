//! Statistics across history: one table per year or per growing season,
//! each of the layer as it stood at the end of that period (`group=year|season`).
//!
//! A year ends on 31 December; the Mekong delta's seasons end with their
//! harvests: đông xuân (winter–spring) on 30 April, hè thu (summer–autumn)
//! on 31 August, thu đông (autumn–winter) on 30 November. A period that has
//! not ended yet is read as it stands now; one that has not begun is left out.

use super::{StatsCache, StatsRequest, StatsTable};
use crate::error::{CoreError, echo};
use agrimap_model::UtcTime;
use agrimap_model::calendar::{civil_from_days, days_from_civil};
use agrimap_store::Store;

/// `group=`: how history is divided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Year,
    Season,
}

impl Group {
    /// Reads `group`.
    ///
    /// # Errors
    /// `bad_group` for anything but `year` or `season`.
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        match s {
            "year" => Ok(Self::Year),
            "season" => Ok(Self::Season),
            other => Err(CoreError::invalid(
                "bad_group",
                format!("group must be year or season, not '{}'", echo(other, 64)),
            )),
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Year => "year",
            Self::Season => "season",
        }
    }
}

/// The seasons of a year, by their code in the `season` list, and the
/// month and day each ends.
const SEASONS: [(&str, i64, i64); 3] = [("dong_xuan", 4, 30), ("he_thu", 8, 31), ("thu_dong", 11, 30)];

/// How many years back `group` reaches when `from` is not given: the
/// current year and the two before it.
pub const DEFAULT_YEARS: i64 = 3;

/// One period: its name (`2025`, `2025-he_thu`) and the instant it is read at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub name: String,
    pub as_of: UtcTime,
}

/// The periods of `group` from the start of `from` (a year) to `now`.
///
/// # Errors
/// `bad_from` for a year after `now`'s or more than 50 years before it.
pub fn periods(group: Group, from: Option<i64>, now: UtcTime) -> Result<Vec<Period>, CoreError> {
    let today = now.unix().div_euclid(86_400);
    let (this_year, _, _) = civil_from_days(today);
    let first = from.unwrap_or(this_year - (DEFAULT_YEARS - 1));
    if first > this_year || first < this_year - 50 {
        return Err(CoreError::invalid(
            "bad_from",
            format!(
                "from must be a year from {} to {this_year}, not {first}",
                this_year - 50
            ),
        ));
    }
    let end_of = |year: i64, month: i64, day: i64| days_from_civil(year, month, day) * 86_400 + 86_399;
    let mut out = Vec::new();
    for year in first..=this_year {
        let ends: Vec<(String, i64, i64)> = match group {
            Group::Year => vec![(year.to_string(), end_of(year, 12, 31), days_from_civil(year, 1, 1))],
            Group::Season => SEASONS
                .iter()
                .enumerate()
                .map(|(i, (code, month, day))| {
                    // A season begins the day after the one before it ends
                    // (đông xuân after thu đông of the year before).
                    let begins = if i == 0 {
                        days_from_civil(year - 1, 12, 1)
                    } else {
                        let (_, m, d) = SEASONS[i - 1];
                        days_from_civil(year, m, d) + 1
                    };
                    (format!("{year}-{code}"), end_of(year, *month, *day), begins)
                })
                .collect(),
        };
        for (name, end, begins) in ends {
            if begins > today {
                continue;
            }
            let at = end.min(now.unix());
            let as_of = UtcTime::from_unix(at)
                .ok_or_else(|| CoreError::internal("bad_period", format!("period {name} is out of range")))?;
            out.push(Period { name, as_of });
        }
    }
    Ok(out)
}

impl StatsCache {
    /// One table per period, rows marked with their period, each table read
    /// as the layer stood at the period's end.
    ///
    /// # Errors
    /// Those of [`StatsCache::table`].
    pub async fn grouped(
        &self,
        store: &dyn Store,
        request: StatsRequest,
        group: Group,
        periods: Vec<Period>,
    ) -> Result<StatsTable, CoreError> {
        let mut whole: Option<StatsTable> = None;
        for period in periods {
            let table = self
                .table(
                    store,
                    StatsRequest {
                        as_of: Some(period.as_of),
                        ..request.clone()
                    },
                )
                .await?;
            let mut table = table.as_ref().clone();
            for row in &mut table.rows {
                row.period = Some(period.name.clone());
            }
            let summary = super::PeriodColumn {
                period: period.name,
                as_of: period.as_of.to_string(),
                totals: table.totals.clone(),
            };
            match whole.as_mut() {
                None => {
                    table.group = Some(group.as_str());
                    table.periods = vec![summary];
                    table.as_of = None;
                    whole = Some(table);
                }
                Some(w) => {
                    w.rows.append(&mut table.rows);
                    w.periods.push(summary);
                }
            }
        }
        let mut whole = whole.ok_or_else(|| CoreError::invalid("bad_from", "no period to count"))?;
        // Totals of a table across periods add up one period to another,
        // which means nothing: each period has its own in `periods`.
        whole.totals.clear();
        whole.total = None;
        Ok(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(date: &str) -> UtcTime {
        UtcTime::parse(&format!("{date}T12:00:00Z")).expect("time")
    }

    #[test]
    fn years_end_on_the_last_day_and_this_year_now() {
        let p = periods(Group::Year, Some(2024), at("2026-06-01")).expect("periods");
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["2024", "2025", "2026"]);
        assert_eq!(p[0].as_of.to_string(), "2024-12-31T23:59:59Z");
        assert_eq!(p[2].as_of, at("2026-06-01"));
    }

    #[test]
    fn seasons_end_with_their_harvests_and_those_to_come_are_left_out() {
        let p = periods(Group::Season, Some(2025), at("2025-06-01")).expect("periods");
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["2025-dong_xuan", "2025-he_thu"]);
        assert_eq!(p[0].as_of.to_string(), "2025-04-30T23:59:59Z");
        // Hè thu has begun and not ended: read as it stands now.
        assert_eq!(p[1].as_of, at("2025-06-01"));
    }

    #[test]
    fn a_start_after_this_year_is_refused() {
        let e = periods(Group::Year, Some(2030), at("2026-06-01")).expect_err("refused");
        assert_eq!(e.code, "bad_from");
        assert!(Group::parse("month").is_err());
    }
}
