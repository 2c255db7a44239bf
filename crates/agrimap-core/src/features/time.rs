//! The `datetime` parameter: RFC 3339 instants and intervals, the time field
//! of each layer, and the filter that selects features in time.
//!
//! A layer has time when the catalog gives it a public date or timestamp that
//! says when the feature applies: crop parcels by planting date, ponds by
//! stocking date, stations by their latest reading, growing areas by their
//! validity (issued on … expires on, open-ended when there is no expiry).
//! Other layers have no time, and `datetime` on them is refused.
//!
//! Dates and date-times are read by [`rfc3339`], the reader readings use too.
//! Bounds are whole seconds in UTC: a date alone stands for the whole day, a
//! lower bound with a fraction of a second rounds up and an upper one down,
//! so that the stored values (whole seconds, `Z`) compare as text in the
//! GeoPackage and as typed values in PostGIS alike.

use agrimap_model::calendar::format_date;
pub use agrimap_model::calendar::format_timestamp;
use agrimap_model::rfc3339;
use agrimap_model::{CompareOp, FieldType, Filter, LayerDef, Value};

/// When the features of a layer apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporal {
    /// One date or timestamp per feature.
    Instant(&'static str),
    /// From the first field to the second; a missing end is open.
    Period(&'static str, &'static str),
}

/// The time fields of the layers that have time.
const TEMPORAL: &[(&str, Temporal)] = &[
    ("crop", Temporal::Instant("planting_date")),
    ("aquaculture", Temporal::Instant("stocking_date")),
    ("monitoring", Temporal::Instant("last_reading_at")),
    ("growing_area", Temporal::Period("issued_on", "expires_on")),
];

/// The time of a layer, if it has one.
#[must_use]
pub fn temporal(layer: &LayerDef) -> Option<Temporal> {
    TEMPORAL.iter().find(|(id, _)| *id == layer.id).map(|(_, t)| *t)
}

impl Temporal {
    /// The fields, for documentation and messages (`issued_on/expires_on`).
    #[must_use]
    pub fn describe(self) -> String {
        match self {
            Self::Instant(f) => f.to_owned(),
            Self::Period(a, b) => format!("{a}/{b}"),
        }
    }
}

/// Layers that take `datetime`, for messages: `crop (planting_date), …`.
#[must_use]
pub fn layers_with_time() -> String {
    TEMPORAL
        .iter()
        .map(|(id, t)| format!("{id} ({})", t.describe()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// An inclusive range of whole seconds since 1970-01-01T00:00:00Z; either end may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Option<i64>,
    pub end: Option<i64>,
}

/// Which end of a range a value bounds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    Start,
    End,
}

/// Parses `datetime`: an instant (`2025-03-01T07:00:00Z`, or a date standing
/// for its whole day) or an interval `start/end` where either end may be `..`
/// or empty.
///
/// # Errors
/// A message saying what is wrong.
pub fn parse_datetime(s: &str) -> Result<TimeRange, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("datetime is empty".into());
    }
    let range = if let Some((a, b)) = s.split_once('/') {
        if b.contains('/') {
            return Err("an interval has one '/' between its start and end".into());
        }
        let open = |t: &str| t.trim().is_empty() || t.trim() == "..";
        TimeRange {
            start: if open(a) {
                None
            } else {
                Some(parse_bound(a.trim(), End::Start)?)
            },
            end: if open(b) {
                None
            } else {
                Some(parse_bound(b.trim(), End::End)?)
            },
        }
    } else {
        if s == ".." {
            return Err("'..' is only allowed as an end of an interval (start/end)".into());
        }
        TimeRange {
            start: Some(parse_bound(s, End::Start)?),
            end: Some(parse_bound(s, End::End)?),
        }
    };
    if let (Some(a), Some(b)) = (range.start, range.end)
        && a > b
        && s.contains('/')
    {
        return Err("the interval ends before it starts".into());
    }
    // An instant with a fraction of a second lies between two whole seconds:
    // its range is empty (start after end), and selects nothing.
    Ok(range)
}

/// One RFC 3339 date or date-time, read by the reader readings share
/// ([`rfc3339`]), as the second it starts (`Start`) or the last second it
/// covers (`End`).
fn parse_bound(s: &str, end: End) -> Result<i64, String> {
    if s.len() == 10 {
        let midnight = rfc3339::parse_date(s).map_err(|e| e.to_string())?;
        return Ok(match end {
            End::Start => midnight,
            End::End => midnight + 86_399,
        });
    }
    // A '+' in a query string arrives as a space: `…T07:00:00 07:00`.
    let mut text = s.to_owned();
    if text.len() > 6 && text.as_bytes()[text.len() - 6] == b' ' {
        text.replace_range(text.len() - 6..text.len() - 5, "+");
    }
    let t = rfc3339::parse_date_time(&text).map_err(|e| e.to_string())?;
    Ok(clamp(if t.fraction && end == End::Start {
        t.seconds + 1
    } else {
        t.seconds
    }))
}

/// Keeps a bound rounded up past 9999-12-31T23:59:59Z within the years both
/// stores read.
fn clamp(seconds: i64) -> i64 {
    seconds.clamp(rfc3339::FIRST, rfc3339::LAST)
}

/// Now, as `timeStamp` wants it.
#[must_use]
pub fn now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    format_timestamp(secs)
}

/// A bound as the value to compare a field of this type with.
fn bound(layer: &LayerDef, field: &str, seconds: i64) -> Value {
    match layer.field(field).map(|f| f.ty) {
        Some(FieldType::DateTime) => Value::Text(format_timestamp(seconds)),
        _ => Value::Text(format_date(seconds)),
    }
}

fn compare(field: &str, op: CompareOp, value: Value) -> Filter {
    Filter::Compare {
        field: field.to_owned(),
        op,
        value,
    }
}

/// The filter selecting the features of `layer` whose time meets `range`;
/// `None` when the range is open at both ends.
#[must_use]
pub fn filter(layer: &LayerDef, temporal: Temporal, range: TimeRange) -> Option<Filter> {
    let mut parts = Vec::new();
    match temporal {
        Temporal::Instant(f) => {
            if let Some(s) = range.start {
                parts.push(compare(f, CompareOp::Ge, bound(layer, f, s)));
            }
            if let Some(e) = range.end {
                parts.push(compare(f, CompareOp::Le, bound(layer, f, e)));
            }
        }
        Temporal::Period(from, to) => {
            if let Some(e) = range.end {
                parts.push(compare(from, CompareOp::Le, bound(layer, from, e)));
            } else if range.start.is_some() {
                // A period without a start has no time at all.
                parts.push(Filter::Not(Box::new(Filter::IsNull { field: from.to_owned() })));
            }
            if let Some(s) = range.start {
                parts.push(Filter::Or(vec![
                    Filter::IsNull { field: to.to_owned() },
                    compare(to, CompareOp::Ge, bound(layer, to, s)),
                ]));
            }
        }
    }
    (!parts.is_empty()).then_some(Filter::And(parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agrimap_model::{Access, catalog, layer};

    #[test]
    fn parses_instants_dates_and_intervals() {
        let day = agrimap_model::calendar::days_from_civil(2025, 3, 1) * 86_400;
        assert_eq!(format_timestamp(day), "2025-03-01T00:00:00Z");
        assert_eq!(
            parse_datetime("2025-03-01T07:00:00Z"),
            Ok(TimeRange {
                start: Some(day + 7 * 3600),
                end: Some(day + 7 * 3600)
            })
        );
        assert_eq!(
            parse_datetime("2025-03-01"),
            Ok(TimeRange {
                start: Some(day),
                end: Some(day + 86_399)
            })
        );
        // +07:00 is Indochina time; a '+' in a query string arrives as a space.
        for s in ["2025-03-01T07:00:00+07:00", "2025-03-01T07:00:00 07:00"] {
            assert_eq!(parse_datetime(s).map(|r| r.start), Ok(Some(day)), "{s}");
        }
        assert_eq!(
            parse_datetime("../2025-03-01T00:00:00.5Z"),
            Ok(TimeRange {
                start: None,
                end: Some(day)
            })
        );
        assert_eq!(
            parse_datetime("2025-02-28T23:59:59.25Z/").map(|r| r.start),
            Ok(Some(day))
        );
        assert_eq!(parse_datetime("../.."), Ok(TimeRange { start: None, end: None }));
        // Stored times are whole seconds: an instant between two selects nothing, and is no error.
        assert_eq!(
            parse_datetime("2025-03-01T00:00:00.5Z"),
            Ok(TimeRange {
                start: Some(day + 1),
                end: Some(day)
            })
        );
        for bad in [
            "",
            "..",
            "2025-02-29",
            "2025-13-01",
            "2025-03-01T07:00:00",
            "2025-03-01T24:00:00Z",
            "2025/03/01",
            "2025-03-02/2025-03-01",
            "a/b/c",
            "2025-03-01T07:00:00.Z",
            "ngày 1",
            "2025-03-01T07:00:00+7:00",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
        assert!(parse_datetime("2024-02-29").is_ok());
    }

    #[test]
    fn bounds_outside_the_years_the_stores_read_are_refused() {
        for bad in [
            "0000-01-01/..",
            "../9999-12-31T23:59:60Z",
            "0001-01-01T00:00:00+14:00",
            "2025-03-01T05:00:02.Z",
        ] {
            assert!(parse_datetime(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_datetime("0001-01-01/9999-12-31T23:59:59.5Z")
                .map(|r| (r.start.map(format_timestamp), r.end.map(format_timestamp))),
            Ok((
                Some("0001-01-01T00:00:00Z".to_owned()),
                Some("9999-12-31T23:59:59Z".to_owned())
            ))
        );
        assert_eq!(
            parse_datetime("9999-12-31T23:59:59.5Z/..").map(|r| r.start.map(format_timestamp)),
            Ok(Some("9999-12-31T23:59:59Z".to_owned()))
        );
    }

    #[test]
    fn time_fields_are_public_dates_and_every_dated_layer_has_time() {
        for l in catalog() {
            let fields: Vec<&str> = match temporal(l) {
                Some(Temporal::Instant(f)) => vec![f],
                Some(Temporal::Period(a, b)) => vec![a, b],
                None => vec![],
            };
            for f in &fields {
                let def = l.field(f).unwrap_or_else(|| panic!("{}.{f}", l.id));
                assert!(matches!(def.ty, FieldType::Date | FieldType::DateTime), "{}.{f}", l.id);
                assert_eq!(def.access, Access::Public);
            }
            let dated = l
                .fields
                .iter()
                .any(|f| matches!(f.ty, FieldType::Date | FieldType::DateTime));
            assert_eq!(dated, !fields.is_empty(), "{}", l.id);
        }
    }

    #[test]
    fn period_filter_keeps_open_ended_areas() {
        let l = layer("growing_area").expect("layer");
        let t = temporal(l).expect("time");
        let range = parse_datetime("2026-01-01/..").expect("range");
        let f = filter(l, t, range).expect("filter");
        assert_eq!(
            f,
            Filter::And(vec![
                Filter::Not(Box::new(Filter::IsNull {
                    field: "issued_on".into()
                })),
                Filter::Or(vec![
                    Filter::IsNull {
                        field: "expires_on".into()
                    },
                    compare("expires_on", CompareOp::Ge, Value::Text("2026-01-01".into())),
                ]),
            ])
        );
        assert_eq!(filter(l, t, TimeRange { start: None, end: None }), None);
    }
}
