//! `as_of`: a layer as it stood on a past day or at a past instant, for
//! tiles, `/ogc` items, exports and statistics alike.
//!
//! A date (`2025-03-01`) means the end of that day in UTC (its last
//! second): every change made that day is seen. An RFC 3339 instant
//! (`2025-03-01T07:00:00+07:00`) means that instant, a fraction of a second
//! dropped. A time after now is refused: the past is kept, the future is
//! not known. Before a layer's first version the answer is what the layer
//! held then (nothing, for a layer that came later).

use crate::error::{CoreError, echo};
use agrimap_model::{LayerDef, UtcTime, calendar, catalog};

/// Reads `as_of` against the clock `now`.
///
/// # Errors
/// `bad_as_of` (invalid) for text that is neither a date nor an RFC 3339
/// instant, or a time after `now`.
pub fn parse_as_of(s: &str, now: UtcTime) -> Result<UtcTime, CoreError> {
    let at = if let Some(days) = calendar::parse_date(s) {
        UtcTime::from_unix(days * 86_400 + 86_399)
            .ok_or_else(|| bad(format!("as_of: the date '{}' is out of range", echo(s, 40))))?
    } else {
        UtcTime::parse(s).map_err(|why| {
            bad(format!(
                "as_of must be a date like 2025-03-01 or an RFC 3339 time like 2025-03-01T07:00:00Z: {why}"
            ))
        })?
    };
    let day_asked = calendar::parse_date(s).map(|d| d * 86_400);
    let future = match day_asked {
        // A date is in the future from the day after today on: today's end
        // is later than now, but today is not the future.
        Some(start) => start > now.day_start().unix(),
        None => at > now,
    };
    if future {
        return Err(bad(format!(
            "as_of '{}' is in the future (now is {now}): layers keep their past, not what is to come",
            echo(s, 40)
        )));
    }
    Ok(at)
}

/// Checks that a layer keeps its past, for requests about one layer
/// (`/ogc` items, exports): elsewhere a layer without versions is simply
/// read as it is now (the base map under a tile).
///
/// # Errors
/// `bad_as_of` naming the layers that keep their past.
pub fn check_versioned(layer: &LayerDef) -> Result<(), CoreError> {
    if layer.versioned() {
        return Ok(());
    }
    let kept: Vec<&str> = catalog().iter().filter(|l| l.versioned()).map(|l| l.id).collect();
    Err(bad(format!(
        "collection '{}' keeps no history, so as_of does not apply to it; it applies to {}",
        layer.id,
        kept.join(", ")
    )))
}

fn bad(message: String) -> CoreError {
    CoreError::invalid("bad_as_of", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> UtcTime {
        UtcTime::parse(s).expect("time")
    }

    #[test]
    fn dates_mean_the_end_of_the_day_and_the_future_is_refused() {
        let now = t("2026-12-06T13:00:00Z");
        assert_eq!(parse_as_of("2025-03-01", now).expect("date"), t("2025-03-01T23:59:59Z"));
        assert_eq!(
            parse_as_of("2025-03-01T07:00:00+07:00", now).expect("instant"),
            t("2025-03-01T00:00:00Z")
        );
        assert_eq!(
            parse_as_of("2026-12-06", now).expect("today"),
            t("2026-12-06T23:59:59Z")
        );
        for future in ["2026-12-07", "2026-12-06T13:00:01Z", "2030-01-01"] {
            let e = parse_as_of(future, now).expect_err(future);
            assert_eq!(e.code, "bad_as_of");
            assert!(e.message.contains("future"), "{}", e.message);
        }
        for bad in [
            "",
            "yesterday",
            "2025-02-30",
            "2025-3-1",
            "2025-03-01T25:00:00Z",
            "1700000000",
        ] {
            assert_eq!(parse_as_of(bad, now).expect_err(bad).code, "bad_as_of", "{bad}");
        }
    }

    #[test]
    fn only_versioned_layers_take_it_alone() {
        assert!(check_versioned(agrimap_model::layer("crop").expect("crop")).is_ok());
        let e = check_versioned(agrimap_model::layer("roads").expect("roads")).expect_err("roads");
        assert!(e.message.contains("crop"), "{}", e.message);
    }
}
