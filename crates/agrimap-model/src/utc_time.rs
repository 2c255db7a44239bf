//! [`UtcTime`]: the instant of a reading, to the second, in UTC.
//!
//! Readings come in as RFC 3339 text in any offset, with or without a
//! fraction of a second; they are kept and compared as whole seconds in UTC.
//! Both stores keep the text form `YYYY-MM-DDTHH:MM:SSZ`, which sorts as the
//! instants do, so a value read back is the value written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::{FIRST_SECOND, LAST_SECOND, format_timestamp};
use crate::rfc3339;

/// A UTC instant in whole seconds since 1970, between years 0001 and 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcTime(i64);

impl UtcTime {
    /// The instant `seconds` after 1970-01-01T00:00:00Z, if a four-digit
    /// year can write it.
    #[must_use]
    pub fn from_unix(seconds: i64) -> Option<Self> {
        (FIRST_SECOND..=LAST_SECOND).contains(&seconds).then_some(Self(seconds))
    }

    /// The current instant, by the system clock (1970 if the clock is before it).
    #[must_use]
    pub fn now() -> Self {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(LAST_SECOND));
        Self(seconds.clamp(FIRST_SECOND, LAST_SECOND))
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    #[must_use]
    pub fn unix(self) -> i64 {
        self.0
    }

    /// Reads any RFC 3339 date-time (the reader `/ogc` `datetime` uses): an
    /// offset is applied and a fraction of a second dropped.
    ///
    /// # Errors
    /// What is wrong with the text, in words fit for a user.
    pub fn parse(s: &str) -> Result<Self, String> {
        let why = match rfc3339::parse_date_time(s) {
            Ok(t) => match Self::from_unix(t.seconds) {
                Some(time) => return Ok(time),
                None => String::new(),
            },
            Err(e) => format!(": {e}"),
        };
        Err(format!(
            "time '{}' is not an ISO 8601 UTC time like 2026-11-01T07:00:00Z{why}",
            crate::echo(s, 40)
        ))
    }

    /// The start of the instant's hour.
    #[must_use]
    pub fn hour_start(self) -> Self {
        Self(self.0 - self.0.rem_euclid(3_600))
    }

    /// The start of the instant's day (UTC).
    #[must_use]
    pub fn day_start(self) -> Self {
        Self(self.0 - self.0.rem_euclid(86_400))
    }
}

impl fmt::Display for UtcTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_timestamp(self.0))
    }
}

impl FromStr for UtcTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for UtcTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for UtcTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_fractions_are_read_into_whole_utc_seconds() {
        let t = UtcTime::parse("2026-11-18T14:00:00.750+07:00").expect("reads");
        assert_eq!(t.to_string(), "2026-11-18T07:00:00Z");
        assert_eq!(t, "2026-11-18t07:00:00z".parse().expect("reads"));
        assert_eq!(UtcTime::parse("1970-01-01T00:00:00Z").map(UtcTime::unix), Ok(0));
    }

    #[test]
    fn order_is_the_order_of_instants_and_of_the_kept_text() {
        let a = UtcTime::parse("1999-12-31T23:59:59Z").expect("reads");
        let b = UtcTime::parse("2000-01-01T06:59:58+07:00").expect("reads");
        assert!(a > b);
        assert!(a.to_string() > b.to_string());
    }

    #[test]
    fn hours_and_days_start_where_expected() {
        let t = UtcTime::parse("2026-11-18T07:42:13Z").expect("reads");
        assert_eq!(t.hour_start().to_string(), "2026-11-18T07:00:00Z");
        assert_eq!(t.day_start().to_string(), "2026-11-18T00:00:00Z");
        let before_1970 = UtcTime::parse("1969-12-31T23:30:00Z").expect("reads");
        assert_eq!(before_1970.day_start().to_string(), "1969-12-31T00:00:00Z");
    }

    #[test]
    fn unreadable_times_say_what_is_wrong() {
        for bad in ["", "2026-02-30T00:00:00Z", "2026-11-18 07:00", "tomorrow"] {
            let err = UtcTime::parse(bad).expect_err(bad);
            assert!(err.contains("is not an ISO 8601 UTC time"), "{err}");
        }
        assert_eq!(UtcTime::from_unix(LAST_SECOND + 1), None);
    }

    #[test]
    fn json_carries_the_text_form() {
        let t = UtcTime::parse("2026-11-18T07:00:00Z").expect("reads");
        assert_eq!(serde_json::to_string(&t).expect("json"), "\"2026-11-18T07:00:00Z\"");
        let back: UtcTime = serde_json::from_str("\"2026-11-18T14:00:00+07:00\"").expect("json");
        assert_eq!(back, t);
        assert!(serde_json::from_str::<UtcTime>("\"soon\"").is_err());
    }
}
