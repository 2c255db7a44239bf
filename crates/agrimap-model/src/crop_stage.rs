//! The growth stage of the rice around a light trap, from the province's
//! sowing calendar (lịch xuống giống: the dates a plant-protection
//! sub-department sets per commune, often to dodge a planthopper flight, "né
//! rầy"), so that a threshold can hold at one stage only: a few rice bugs
//! matter at flowering and milk stage, not at tillering.
//!
//! Stages by days after sowing, as extension services count them for the
//! delta's 95–110-day varieties: `seedling` (mạ) 0–20, `tillering` (đẻ nhánh)
//! 21–45, `panicle` (làm đòng) 46–65, `flowering` (trổ) 66–80, `ripening`
//! (chín) 81–110; past that the field is harvested and no stage holds.

use crate::calendar::parse_date;
use serde::Deserialize;

/// The stages, with their first and last day after sowing and their name in bulletins.
pub const STAGES: &[(&str, i64, i64, &str)] = &[
    ("seedling", 0, 20, "mạ"),
    ("tillering", 21, 45, "đẻ nhánh"),
    ("panicle", 46, 65, "làm đòng"),
    ("flowering", 66, 80, "trổ"),
    ("ripening", 81, 110, "chín"),
];

/// Whether `name` is a stage.
#[must_use]
pub fn is_stage(name: &str) -> bool {
    STAGES.iter().any(|(s, ..)| *s == name)
}

/// One sowing of the calendar, as a province writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SowingEntry {
    /// The commune it is for; the whole province when absent.
    #[serde(default)]
    commune_code: Option<String>,
    /// `YYYY-MM-DD`, in Vietnam.
    sown_on: String,
    /// The season, for the people reading the file (`dong_xuan`, …).
    #[serde(default)]
    #[expect(dead_code, reason = "kept in the file for its readers, not used in the arithmetic")]
    season: Option<String>,
}

/// The sowing calendar: for a commune, the dates its rice was sown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CropCalendar {
    /// (commune, or none for the province; day since 1970-01-01 of the sowing).
    sowings: Vec<(Option<String>, i64)>,
}

/// Vietnam's offset from UTC, in seconds: a day in the calendar is a day there.
const VIETNAM: i64 = 7 * 3_600;

impl CropCalendar {
    /// The calendar from its JSON list `[{"commune_code"?, "sown_on", "season"?}]`.
    ///
    /// # Errors
    /// When it is not such a list, naming the entry at fault.
    pub fn from_value(value: serde_json::Value) -> Result<Self, String> {
        let entries: Vec<SowingEntry> = serde_json::from_value(value).map_err(|e| format!("crop_calendar: {e}"))?;
        let mut sowings = Vec::with_capacity(entries.len());
        for (i, e) in entries.into_iter().enumerate() {
            let day = parse_date(&e.sown_on)
                .ok_or_else(|| format!("crop_calendar {i}: sown_on is a date YYYY-MM-DD, not '{}'", e.sown_on))?;
            sowings.push((e.commune_code, day));
        }
        Ok(Self { sowings })
    }

    /// Whether the calendar holds no sowing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sowings.is_empty()
    }

    /// The stage of the rice of `commune_code` at `unix` (seconds): from the
    /// commune's latest sowing on or before that day, or the province's when
    /// the commune has none of its own.
    #[must_use]
    pub fn stage(&self, commune_code: &str, unix: i64) -> Option<&'static str> {
        let day = (unix + VIETNAM).div_euclid(86_400);
        let latest = |of: Option<&str>| {
            self.sowings
                .iter()
                .filter(|(c, d)| c.as_deref() == of && *d <= day)
                .map(|(_, d)| *d)
                .max()
        };
        let sown = latest(Some(commune_code)).or_else(|| latest(None))?;
        let age = day - sown;
        STAGES
            .iter()
            .find(|(_, from, to, _)| (*from..=*to).contains(&age))
            .map(|(name, ..)| *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stages_follow_the_commune_sowing_or_the_province() {
        let calendar = CropCalendar::from_value(json!([
            {"sown_on": "2026-09-01", "season": "thu_dong"},
            {"commune_code": "33015", "sown_on": "2026-09-10"},
        ]))
        .expect("a calendar");
        let at = |date: &str| {
            crate::UtcTime::parse(&format!("{date}T23:00:00Z"))
                .expect("time")
                .unix()
        };
        // 23:00 UTC is the next morning in Vietnam: 2026-11-16 06:00, day 67 after 10 September.
        assert_eq!(calendar.stage("33015", at("2026-11-15")), Some("flowering"));
        // Elsewhere the province's sowing, nine days earlier: day 76.
        assert_eq!(calendar.stage("33042", at("2026-11-15")), Some("flowering"));
        assert_eq!(calendar.stage("33042", at("2026-09-20")), Some("seedling"));
        assert_eq!(calendar.stage("33015", at("2026-10-20")), Some("tillering"));
        assert_eq!(calendar.stage("33015", at("2026-11-01")), Some("panicle"));
        assert_eq!(calendar.stage("33015", at("2027-01-10")), None, "harvested");
        assert_eq!(calendar.stage("33015", at("2026-08-01")), None, "not sown");
        assert!(CropCalendar::from_value(json!([{"sown_on": "1/9/2026"}])).is_err());
        assert!(CropCalendar::from_value(json!([{"sown": "2026-09-01"}])).is_err());
    }
}
