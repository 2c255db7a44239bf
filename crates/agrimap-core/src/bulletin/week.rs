//! ISO 8601 weeks (`2026-W47`) as bulletins are dated: Monday to Sunday in
//! Vietnam's time (UTC+7, no daylight saving), so a trap emptied at dawn on
//! Monday counts in the week that starts that day.

use crate::error::{CoreError, echo};
use agrimap_model::calendar::{civil_from_days, days_from_civil};

/// Vietnam's offset from UTC, in seconds.
const VIETNAM: i64 = 7 * 3_600;
const DAY: i64 = 86_400;

/// One ISO week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsoWeek {
    pub year: i64,
    pub week: i64,
}

/// Days since 1970-01-01 of the Monday of week 1 of an ISO year (the week
/// holding 4 January).
fn first_monday(year: i64) -> i64 {
    let jan4 = days_from_civil(year, 1, 4);
    // 1970-01-01 was a Thursday: 3 days after a Monday.
    jan4 - (jan4 + 3).rem_euclid(7)
}

impl IsoWeek {
    /// A week as `YYYY-Www`.
    ///
    /// # Errors
    /// `bad_week`, saying the form and the weeks the year has.
    pub fn parse(text: &str) -> Result<Self, CoreError> {
        let bad = |why: String| CoreError::invalid("bad_week", why);
        let form = || bad(format!("week is an ISO week like 2026-W47, not '{}'", echo(text, 20)));
        let (y, w) = text.split_once("-W").ok_or_else(form)?;
        let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(y, 4) || !digits(w, 2) {
            return Err(form());
        }
        let (year, week) = (
            y.parse::<i64>().map_err(|_| form())?,
            w.parse::<i64>().map_err(|_| form())?,
        );
        let weeks = (first_monday(year + 1) - first_monday(year)) / 7;
        if !(1..=weeks).contains(&week) {
            return Err(bad(format!("{year} has ISO weeks 1 to {weeks}, not {week}")));
        }
        Ok(Self { year, week })
    }

    /// The week holding a moment (unix seconds), in Vietnam's time.
    #[must_use]
    pub fn of_unix(seconds: i64) -> Self {
        let day = (seconds + VIETNAM).div_euclid(DAY);
        // The ISO year is the calendar year of the week's Thursday.
        let thursday = day - (day + 3).rem_euclid(7) + 3;
        let (year, _, _) = civil_from_days(thursday);
        Self {
            year,
            week: (day - first_monday(year)) / 7 + 1,
        }
    }

    /// Days since 1970-01-01 of its Monday.
    fn monday(self) -> i64 {
        first_monday(self.year) + (self.week - 1) * 7
    }

    /// Its first and last second in unix seconds (Monday 00:00 to Sunday
    /// 23:59:59 in Vietnam).
    #[must_use]
    pub fn bounds(self) -> (i64, i64) {
        let start = self.monday() * DAY - VIETNAM;
        (start, start + 7 * DAY - 1)
    }

    /// The week before.
    #[must_use]
    pub fn previous(self) -> Self {
        Self::of_unix(self.bounds().0 - 1)
    }

    /// Its Monday and Sunday as `YYYY-MM-DD`.
    #[must_use]
    pub fn dates(self) -> (String, String) {
        let date = |d: i64| {
            let (y, m, day) = civil_from_days(d);
            format!("{y:04}-{m:02}-{day:02}")
        };
        (date(self.monday()), date(self.monday() + 6))
    }
}

impl std::fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_parse_and_bound_in_vietnam_time() {
        let w = IsoWeek::parse("2026-W47").expect("a week");
        assert_eq!(w.dates(), ("2026-11-16".to_owned(), "2026-11-22".to_owned()));
        // Monday 00:00 in Vietnam is Sunday 17:00 UTC.
        let start = agrimap_model::UtcTime::parse("2026-11-15T17:00:00Z")
            .expect("time")
            .unix();
        assert_eq!(w.bounds().0, start);
        assert_eq!(IsoWeek::of_unix(start), w);
        assert_eq!(IsoWeek::of_unix(start - 1).to_string(), "2026-W46");
        assert_eq!(w.previous().to_string(), "2026-W46");
        // 2026 has 53 weeks (it starts on a Thursday); week 1 of 2027 starts 2027-01-04.
        assert_eq!(IsoWeek::parse("2026-W53").expect("53").dates().1, "2027-01-03");
        assert_eq!(
            IsoWeek::parse("2027-W01").expect("1").previous().to_string(),
            "2026-W53"
        );
        assert_eq!(IsoWeek::parse("2021-W01").expect("1").dates().0, "2021-01-04");
        for bad in ["2026-47", "2026-W7", "2026-W00", "2025-W53", "W47", "２026-W47", ""] {
            let e = IsoWeek::parse(bad).expect_err(bad);
            assert_eq!(e.code, "bad_week", "{bad}");
        }
    }
}
