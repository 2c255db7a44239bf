//! The one reader of RFC 3339 dates and date-times (§5.6), shared by reading
//! validation ([`crate::readings`]) and the `/ogc` `datetime` parameter, so
//! that a time one accepts the other accepts, as the same instant.
//!
//! What it takes: `YYYY-MM-DD`, and `YYYY-MM-DDTHH:MM:SS[.fraction]` with
//! `Z` or an offset `±HH:MM`, normalised to UTC; `T` and `Z` in either case
//! (RFC 3339 §5.6), or a space for the `T` (its note on readability).
//! What it refuses, whoever asks: a fraction point without digits (`…:02.Z`),
//! a calendar date that does not exist, a leap second (`:60`: neither store
//! keeps one), a missing time zone, and instants outside the years 0001–9999
//! in UTC (PostgreSQL has no year 0, and four digits hold no more).

use crate::calendar::{days_from_civil, days_in_month};

/// First second a time may be: 0001-01-01T00:00:00Z.
pub const FIRST: i64 = -62_135_596_800;
/// Last second a time may be: 9999-12-31T23:59:59Z.
pub const LAST: i64 = 253_402_300_799;

/// An instant read from a date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    /// Whole seconds since 1970-01-01T00:00:00Z (the fraction dropped).
    pub seconds: i64,
    /// Whether a fraction of a second was given that is not zero.
    pub fraction: bool,
}

/// Why a text is not an RFC 3339 date or date-time, for the error answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rfc3339Error {
    #[error("'{0}' is not an RFC 3339 date-time (2025-03-01T07:00:00Z) or date (2025-03-01)")]
    Shape(String),
    #[error("'{0}' is not a calendar date")]
    Date(String),
    #[error("'{0}' is not a time of day (a leap second, :60, is not taken)")]
    Time(String),
    #[error("'{0}' needs a time zone: Z or an offset such as +07:00")]
    Zone(String),
    #[error("'{0}' is outside the years 0001 to 9999 (UTC)")]
    Range(String),
}

/// Seconds of the midnight (UTC) that starts the date `YYYY-MM-DD`.
///
/// # Errors
/// When `s` is no such date, or not within the years 0001–9999.
pub fn parse_date(s: &str) -> Result<i64, Rfc3339Error> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return Err(Rfc3339Error::Shape(crate::echo(s, 40)));
    }
    date(s, b)
}

/// The instant of an RFC 3339 date-time, in UTC.
///
/// # Errors
/// When `s` is not one, or its instant lies outside the years 0001–9999 in UTC.
pub fn parse_date_time(s: &str) -> Result<Instant, Rfc3339Error> {
    let b = s.as_bytes();
    let shape = || Rfc3339Error::Shape(crate::echo(s, 40));
    // 19 bytes: a date-time without a zone, refused below for that reason.
    if b.len() < 19 || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return Err(shape());
    }
    let midnight = date(s, &b[..10])?;
    let (Some(hour), Some(minute), Some(second)) = (digits(b, 11..13), digits(b, 14..16), digits(b, 17..19)) else {
        return Err(shape());
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(Rfc3339Error::Time(crate::echo(s, 40)));
    }
    let mut rest = &b[19..];
    let mut fraction = false;
    if let Some(after_point) = rest.strip_prefix(b".") {
        let n = after_point.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(shape());
        }
        fraction = after_point[..n].iter().any(|d| *d != b'0');
        rest = &after_point[n..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (Some(oh), Some(om)) = (two(*h1, *h2), two(*m1, *m2)) else {
                return Err(shape());
            };
            if oh > 23 || om > 59 {
                return Err(shape());
            }
            let seconds = (oh * 60 + om) * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return Err(Rfc3339Error::Zone(crate::echo(s, 40))),
    };
    let seconds = midnight + hour * 3600 + minute * 60 + second - offset;
    if !(FIRST..=LAST).contains(&seconds) {
        return Err(Rfc3339Error::Range(crate::echo(s, 40)));
    }
    Ok(Instant { seconds, fraction })
}

/// `YYYY-MM-DD` of the first ten bytes, as the seconds of its midnight.
fn date(s: &str, b: &[u8]) -> Result<i64, Rfc3339Error> {
    let shape = || Rfc3339Error::Shape(crate::echo(s, 40));
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(shape());
    }
    let (Some(year), Some(month), Some(day)) = (digits(b, 0..4), digits(b, 5..7), digits(b, 8..10)) else {
        return Err(shape());
    };
    if year == 0 {
        return Err(Rfc3339Error::Range(crate::echo(s, 40)));
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(Rfc3339Error::Date(crate::echo(s, 40)));
    }
    Ok(days_from_civil(year, month, day) * 86_400)
}

/// The decimal number in `b[range]`; `None` when it holds anything else.
fn digits(b: &[u8], range: std::ops::Range<usize>) -> Option<i64> {
    b.get(range)
        .filter(|part| part.iter().all(u8::is_ascii_digit))
        .map(|part| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
}

fn two(a: u8, b: u8) -> Option<i64> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i64::from(a - b'0') * 10 + i64::from(b - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::format_timestamp;

    fn utc(s: &str) -> Result<String, Rfc3339Error> {
        parse_date_time(s).map(|i| format_timestamp(i.seconds))
    }

    #[test]
    fn a_time_without_a_zone_is_refused_for_that() {
        assert!(matches!(utc("2026-11-24T13:00:00"), Err(Rfc3339Error::Zone(_))));
        assert!(matches!(utc("2026-11-24T13:00:00.5"), Err(Rfc3339Error::Zone(_))));
        assert!(matches!(utc("2026-11-24T13:00:0"), Err(Rfc3339Error::Shape(_))));
    }

    #[test]
    fn offsets_are_normalised_to_utc() {
        assert_eq!(utc("2025-03-01T07:00:00Z").as_deref(), Ok("2025-03-01T07:00:00Z"));
        assert_eq!(utc("2025-03-01T07:00:00+07:00").as_deref(), Ok("2025-03-01T00:00:00Z"));
        assert_eq!(utc("2025-03-01T00:30:00-01:00").as_deref(), Ok("2025-03-01T01:30:00Z"));
        assert_eq!(utc("2025-03-01t07:00:00.250z").as_deref(), Ok("2025-03-01T07:00:00Z"));
        assert_eq!(utc("2025-03-01 07:00:00Z").as_deref(), Ok("2025-03-01T07:00:00Z"));
        assert_eq!(utc("1970-01-01T00:00:00Z"), Ok("1970-01-01T00:00:00Z".into()));
        assert_eq!(
            parse_date_time("2000-03-01T00:00:00Z").map(|i| i.seconds),
            Ok(951_868_800)
        );
        assert_eq!(
            parse_date_time("2024-02-29T23:59:59.250Z"),
            Ok(Instant {
                seconds: 1_709_251_199,
                fraction: true
            })
        );
        assert_eq!(
            parse_date_time("2024-02-29T23:59:59.000Z").map(|i| i.fraction),
            Ok(false)
        );
        assert_eq!(parse_date("2025-03-01"), Ok(days_from_civil(2025, 3, 1) * 86_400));
    }

    #[test]
    fn what_one_caller_refuses_every_caller_refuses() {
        for bad in [
            "2025-03-01T05:00:02.Z",
            "2025-03-01T07:00:00",
            "2025-03-01T07:00:00+7:00",
            "2025-03-01T07:00:00+07",
            "2025-03-01T07:00:00+24:00",
            "2025-03-01T07:00:00 07:00",
            "2025-03-01T24:00:00Z",
            "2025-03-01T23:59:60Z",
            "2023-02-29T00:00:00Z",
            "2025-13-01T00:00:00Z",
            "0000-12-31T00:00:00Z",
            "0001-01-01T00:00:00+00:01",
            "9999-12-31T23:59:59-00:01",
            "2025/03/01T07:00:00Z",
            "+2025-03-01T07:00:00Z",
            "2026-10-22T00:00:0Ц",
            "2026-10-22T00:00:0ЦZ",
            "2025-03-01T07:00:00ZZ",
            "yesterday",
            "",
        ] {
            assert!(parse_date_time(bad).is_err(), "{bad}");
        }
        assert!(utc("0001-01-01T00:00:00Z").is_ok());
        assert!(utc("9999-12-31T23:59:59Z").is_ok());
        for bad in ["0000-01-01", "2025-02-29", "2025-3-01", "2025-03-01Z", "20250301"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
