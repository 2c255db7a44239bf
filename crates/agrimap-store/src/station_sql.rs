//! SQL of station ingestion shared by both stores; only the placeholder
//! syntax (`?1` / `$1::text`) differs. Parameter and column names come from
//! the model's parameter table, never from a request.

use agrimap_model::readings::PARAMETERS;

/// Brings one station's `latest_*` values and `last_reading_at` up to date
/// from its readings; `station` is the placeholder of the station id.
pub(crate) fn update_latest(station: &str) -> String {
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
        "last_reading_at = COALESCE((SELECT max(time) FROM readings WHERE station_id = {station}), last_reading_at)"
    ));
    format!("UPDATE monitoring SET {} WHERE station_id = {station}", sets.join(", "))
}

/// The latest reading of each (station, parameter); `filter` is empty or
/// `WHERE station_id = <placeholder>`; `time` is the select expression of the time.
pub(crate) fn latest_readings(filter: &str, time: &str) -> String {
    format!(
        "SELECT r.station_id, r.parameter, r.value, r.unit, {time} FROM readings r
         JOIN (SELECT station_id, parameter, max(time) AS t FROM readings {filter} GROUP BY station_id, parameter) m
           ON r.station_id = m.station_id AND r.parameter = m.parameter AND r.time = m.t
         ORDER BY r.station_id, r.parameter"
    )
}
