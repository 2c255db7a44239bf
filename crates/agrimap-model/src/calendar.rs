//! Proleptic Gregorian calendar arithmetic in UTC, shared by the CQL2
//! parser, filter validation, the OGC `datetime` parameter and reading
//! validation: the few conversions and the one date and timestamp form
//! agrimap needs, without a date-time dependency.

/// Whether `year` has a 29 February.
#[must_use]
pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in a month (1–12) of a year.
#[must_use]
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date (Howard Hinnant's `days_from_civil`).
#[must_use]
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `(year, month, day)` of a day count since 1970-01-01.
#[must_use]
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `2025-03-01` of seconds since 1970.
#[must_use]
pub fn format_date(seconds: i64) -> String {
    let (y, m, d) = civil_from_days(seconds.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2025-03-01T07:00:00Z` of seconds since 1970: the form both stores keep and compare.
#[must_use]
pub fn format_timestamp(seconds: i64) -> String {
    let s = seconds.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        format_date(seconds),
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in seconds since 1970:
/// the first and last second of the years `YYYY` can write.
pub const FIRST_SECOND: i64 = -62_135_596_800;
pub const LAST_SECOND: i64 = 253_402_300_799;

/// A UTC instant: whole seconds since 1970, and whether a fraction of a
/// second follows (stored times are whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant {
    pub seconds: i64,
    pub fraction: bool,
}

/// The days since 1970-01-01 of a `YYYY-MM-DD` date (years 0001 to 9999).
#[must_use]
pub fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    if year < 1 || !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `YYYY-MM-DDTHH:MM:SS[.fff]Z` (`T` and `Z` in either case).
///
/// # Errors
/// What is wrong with the text, in words fit for a user.
pub fn parse_timestamp(s: &str) -> Result<Instant, String> {
    let b = s.as_bytes();
    let form = "expected a UTC timestamp 'YYYY-MM-DDTHH:MM:SSZ' (a fraction of a second may follow the seconds)";
    let days = b
        .get(..10)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(parse_date)
        .ok_or_else(|| form.to_owned())?;
    if b.len() < 20 || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return Err(form.to_owned());
    }
    let (Some(hour), Some(minute), Some(second)) = (digits(&b[11..13]), digits(&b[14..16]), digits(&b[17..19])) else {
        return Err(form.to_owned());
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err("that is not a time of day (hours 00–23, minutes and seconds 00–59)".to_owned());
    }
    let mut rest = &b[19..];
    let mut fraction = false;
    if rest.first() == Some(&b'.') {
        let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(form.to_owned());
        }
        fraction = rest[1..=n].iter().any(|d| *d != b'0');
        rest = &rest[1 + n..];
    }
    if !matches!(rest, [b'Z' | b'z']) {
        return Err("a TIMESTAMP is in UTC and ends with Z".to_owned());
    }
    Ok(Instant {
        seconds: days * 86_400 + hour * 3600 + minute * 60 + second,
        fraction,
    })
}

/// Whether `s` is a date as both stores compare it: `YYYY-MM-DD`.
#[must_use]
pub fn is_date(s: &str) -> bool {
    parse_date(s).is_some()
}

/// Whether `s` is a timestamp as both stores compare it: `YYYY-MM-DDTHH:MM:SSZ`.
#[must_use]
pub fn is_timestamp(s: &str) -> bool {
    parse_timestamp(s).is_ok_and(|t| !t.fraction && format_timestamp(t.seconds) == s)
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter()
        .try_fold(0_i64, |n, d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_known_dates() {
        for days in [-719_468, -1, 0, 1, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(format_timestamp(951_868_800), "2000-03-01T00:00:00Z");
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59Z");
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
    }

    #[test]
    fn timestamps_round_trip() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let t = parse_timestamp(s).expect(s);
            assert_eq!(format_timestamp(t.seconds), s);
        }
        assert_eq!(
            parse_timestamp("9999-12-31T23:59:59Z").map(|t| t.seconds),
            Ok(LAST_SECOND)
        );
        assert_eq!(
            parse_timestamp("0001-01-01T00:00:00Z").map(|t| t.seconds),
            Ok(FIRST_SECOND)
        );
    }
}
