//! SQL of station ingestion shared by both stores; only the placeholder
//! syntax (`?1` / `$1::text`) differs. Parameter and column names come from
//! the model's parameter table, never from a request.
//!
//! Every lookup of a latest value is one `ORDER BY time DESC LIMIT 1` per
//! parameter on the (station, parameter, time) unique index, so its cost
//! does not grow with a station's history.

use agrimap_model::pests::{PEST_COUNT, PEST_LIST};
use agrimap_model::readings::PARAMETERS;

/// Brings one station's `latest_*` values, `last_reading_at` and alert state
/// up to date after new readings, in one statement (the `monitoring` layer is
/// touched once per batch). Placeholders: the station id, the newest reading
/// time of the batch, and the alert state.
pub(crate) fn update_latest(station: &str, newest: &str, alert: &str) -> String {
    let mut sets: Vec<String> = PARAMETERS
        .iter()
        .map(|p| {
            format!(
                "{col} = COALESCE((SELECT value FROM readings WHERE station_id = {station} AND parameter = '{name}' \
                 ORDER BY time DESC LIMIT 1), {col})",
                col = p.latest_column,
                name = p.name
            )
        })
        .collect();
    sets.push(format!(
        "last_reading_at = CASE WHEN last_reading_at IS NULL OR last_reading_at < {newest} THEN {newest} \
         ELSE last_reading_at END"
    ));
    sets.push(format!("alert_state = {alert}"));
    format!("UPDATE monitoring SET {} WHERE station_id = {station}", sets.join(", "))
}

/// The latest reading of each parameter of one station, and of each pest
/// species' count (`pest_count:{code}` for every code of the `pest_species`
/// list, `agrimap_model::pests`: one probe of the unique index per code, so
/// this cost does not grow with history either); `time` is the select
/// expression of the time (over the alias `r`).
pub(crate) fn latest_of_station(station: &str, time: &str) -> String {
    let mut parts: Vec<String> = PARAMETERS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "SELECT * FROM (SELECT r.station_id, r.parameter, r.value, r.unit, {time} AS t FROM readings r \
                 WHERE r.station_id = {station} AND r.parameter = '{name}' ORDER BY r.time DESC LIMIT 1) AS p{i}",
                name = p.name
            )
        })
        .collect();
    parts.push(format!(
        "SELECT r.station_id, r.parameter, r.value, r.unit, {time} AS t FROM readings r WHERE r.id IN \
         (SELECT (SELECT x.id FROM readings x WHERE x.station_id = {station} AND x.parameter = '{PEST_COUNT}:' || c.code \
         ORDER BY x.time DESC LIMIT 1) FROM agrimap_codes c WHERE c.list = '{PEST_LIST}')"
    ));
    format!(
        "SELECT * FROM ({}) AS latest ORDER BY parameter",
        parts.join(" UNION ALL ")
    )
}

/// The latest reading of each (station, parameter) of every station; `time`
/// is the select expression of the time.
pub(crate) fn latest_readings(time: &str) -> String {
    format!(
        "SELECT r.station_id, r.parameter, r.value, r.unit, {time} FROM readings r
         JOIN (SELECT station_id, parameter, max(time) AS t FROM readings GROUP BY station_id, parameter) m
           ON r.station_id = m.station_id AND r.parameter = m.parameter AND r.time = m.t
         ORDER BY r.station_id, r.parameter"
    )
}

/// The newest reading time of each station in a batch.
pub(crate) fn newest_by_station(
    readings: &[agrimap_model::Reading],
) -> std::collections::BTreeMap<&str, agrimap_model::UtcTime> {
    let mut newest = std::collections::BTreeMap::new();
    for r in readings {
        let t = newest.entry(r.station_id.as_str()).or_insert(r.time);
        *t = (*t).max(r.time);
    }
    newest
}

/// A stored reading time as both stores keep it (`YYYY-MM-DDTHH:MM:SSZ`);
/// a time written by another client that cannot be read is an error that
/// names it, never a guess.
pub(crate) fn stored_time(text: &str) -> Result<agrimap_model::UtcTime, String> {
    agrimap_model::UtcTime::parse(text).map_err(|e| format!("a stored reading's {e}"))
}
