//! Monitoring stations and thirty days of their hourly readings.
//!
//! Water-quality stations stand on rivers and canals; insect light traps in
//! rice fields. Readings follow tides and days with noise, salinity rising
//! towards the coast; the latest values and the alert state on each station
//! are computed from its readings, with the same thresholds a planner would use.
//!
//! Light traps also report their catch sorted by pest species once per
//! trap-night (emptied at 06:00 in Vietnam, 23:00 UTC), with a brown
//! planthopper flight peaking on the night to 17 November (week 2026-W47),
//! drawn from a random stream of their own so the other stations' readings
//! stay as they were.

use crate::admin::Admin;
use crate::feature::FeatureBuilder;
use crate::network::Waterway;
use crate::rng::Rng;
use agrimap_model::pests::species_parameter;
use agrimap_model::readings::{AlertState, alert_state, default_thresholds};
use agrimap_model::{Feature, Reading};
use geo::{Coord, Point, coord};

/// Readings end at this hour (UTC) and go back thirty days.
const DAYS: i64 = 30;
/// 2026-11-20T23:00:00Z as days since 1970-01-01 (of its date).
const LAST_DAY: i64 = 20_777;

/// Salinity (ppt) at which rice seedlings suffer (watch) and are lost (alarm).
const SALINITY_WATCH: f64 = 2.0;
const SALINITY_ALARM: f64 = 4.0;
/// Brown planthoppers per night in a light trap that call for watching / spraying.
const PEST_WATCH: f64 = 1_000.0;
const PEST_ALARM: f64 = 3_000.0;

/// `YYYY-MM-DD` of a day number (days since 1970-01-01), proleptic Gregorian.
#[must_use]
pub fn civil_date(days: i64) -> String {
    // Howard Hinnant's days_from_civil, inverted.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

struct Station {
    id: String,
    at: Coord<f64>,
    commune: usize,
    kind: &'static str,
}

/// Station features (catalog order of fields) and all their readings.
#[must_use]
// One pass of the seeded generator: the order of its random draws is what makes
// the data, and it reads best in one place. Its short names are the usual
// ones of interpolation along a line (t, i, f, a, b, p).
#[allow(clippy::too_many_lines, clippy::many_single_char_names)]
pub fn build(
    seed: u64,
    admin: &Admin,
    water: &[Waterway],
    rice_sites: &[(Coord<f64>, usize)],
) -> (Vec<Feature>, Vec<Reading>) {
    let mut rng = Rng::stream(seed, "stations");
    let mut stations = Vec::new();
    // Water quality: on the waterways, spread over communes.
    let mut candidates: Vec<(Coord<f64>, usize)> = Vec::new();
    for w in water {
        let steps = 40;
        for k in 1..steps {
            let t = f64::from(k) / f64::from(steps);
            let idx = t * (w.line.len() - 1) as f64;
            let (i, f) = (idx.floor() as usize, idx.fract());
            let (a, b) = (w.line[i], w.line[(i + 1).min(w.line.len() - 1)]);
            let p = coord! { x: a.x + f * (b.x - a.x), y: a.y + f * (b.y - a.y) };
            if let Some(c) = admin.commune_at(p) {
                candidates.push((p, c));
            }
        }
    }
    rng.shuffle(&mut candidates);
    let mut used = Vec::new();
    for (p, c) in candidates {
        if stations.len() == 16 {
            break;
        }
        if used.contains(&c) {
            continue;
        }
        used.push(c);
        stations.push(Station {
            id: format!("WQ-{:02}", stations.len() + 1),
            at: p,
            commune: c,
            kind: "water_quality",
        });
    }
    for (n, &(p, c)) in rice_sites.iter().take(8).enumerate() {
        stations.push(Station {
            id: format!("IT-{:02}", n + 1),
            at: p,
            commune: c,
            kind: "insect_trap",
        });
    }
    for (n, d) in admin.districts.iter().take(2).enumerate() {
        let c = &admin.communes[d.seat];
        stations.push(Station {
            id: format!("WX-{:02}", n + 1),
            at: coord! { x: c.centre.x + 350.0, y: c.centre.y + 350.0 },
            commune: d.seat,
            kind: "weather",
        });
    }

    let mut features = Vec::new();
    let mut readings = Vec::new();
    let mut traps = Rng::stream(seed, "light_traps");
    for (n, s) in stations.iter().enumerate() {
        let commune = &admin.communes[s.commune];
        let mut series = series_for(&mut rng, s, commune.coastal);
        let sorted = if s.kind == "insect_trap" {
            species_nights(&mut traps, s)
        } else {
            Vec::new()
        };
        let last = |param: &str| series.iter().rev().find(|r| r.parameter == param).map(|r| r.value);
        let night_pests: f64 = series
            .iter()
            .rev()
            .filter(|r| r.parameter == "pest_count")
            .take(12)
            .map(|r| r.value)
            .sum();
        let alert = match (last("salinity"), s.kind) {
            (Some(v), _) if v >= SALINITY_ALARM => "alarm",
            (Some(v), _) if v >= SALINITY_WATCH => "watch",
            (_, "insect_trap") if night_pests >= PEST_ALARM => "alarm",
            (_, "insect_trap") if night_pests >= PEST_WATCH => "watch",
            _ => "ok",
        };
        // The last night's sorted catch, judged by the species' thresholds.
        let last_night: Vec<Reading> = sorted.iter().rev().take(SPECIES_SORTED).cloned().collect();
        let by_species = alert_state(&last_night, s.kind, &commune.code, &default_thresholds()).0;
        let alert = match (alert, by_species) {
            (a, AlertState::Ok) => a,
            ("alarm", _) | (_, AlertState::Alarm) => "alarm",
            _ => "watch",
        };
        let (name, parameters, operator) = match s.kind {
            "water_quality" => (
                format!("Trạm quan trắc mặn {}", commune.name),
                "salinity,ph,dissolved_oxygen,temperature",
                "Chi cục Thủy lợi",
            ),
            "insect_trap" => (
                format!("Bẫy đèn {}", commune.name),
                "pest_count",
                "Chi cục Trồng trọt và Bảo vệ thực vật",
            ),
            _ => (
                format!("Trạm khí tượng {}", commune.name),
                "temperature",
                "Đài Khí tượng Thủy văn tỉnh",
            ),
        };
        let point: Point<f64> = admin.frame.lonlat(s.at).into();
        features.push(
            FeatureBuilder::new("monitoring", n, point.into())
                .set("station_id", s.id.clone())
                .set("commune_code", commune.code.clone())
                .set("name", name)
                .set("kind", s.kind)
                .set("parameters", parameters)
                .set("operator", operator)
                .set("status", "active")
                .set_opt("latest_salinity", last("salinity"))
                .set_opt("latest_ph", last("ph"))
                .set_opt("latest_dissolved_oxygen", last("dissolved_oxygen"))
                .set_opt("latest_temperature", last("temperature"))
                .set_opt("latest_pest_count", last("pest_count").map(|v| v as i64))
                .set("alert_state", alert)
                .set("last_reading_at", format!("{}T23:00:00Z", civil_date(LAST_DAY)))
                .build(),
        );
        series.extend(sorted);
        readings.extend(series);
    }
    (features, readings)
}

/// Species a trap's catch is sorted into (codes of the `pest_species` list).
const SPECIES_SORTED: usize = 6;

/// One trap's sorted catch per trap-night of the thirty days: a background
/// level per species, the brown planthopper flight (a few days' rise and fall
/// centred on `BPH_PEAK`, its height differing from field to field), the
/// white-backed planthopper riding along at a tenth, and a smaller leaf-folder
/// moth flight two weeks earlier; green leafhoppers, stem-borer moths and
/// rice bugs at their background level.
fn species_nights(rng: &mut Rng, s: &Station) -> Vec<Reading> {
    /// The night ending at dawn on 2026-11-17 (its reading at 23:00 UTC on the 16th).
    const BPH_PEAK: i64 = LAST_DAY - 4;
    const FOLDER_PEAK: i64 = LAST_DAY - 18;
    let bph_base = rng.range(40.0, 250.0);
    let bph_flight = rng.range(300.0, 5_500.0);
    let wbph_base = rng.range(10.0, 120.0);
    let folder_base = rng.range(5.0, 60.0);
    let folder_flight = rng.range(50.0, 450.0);
    let borer_base = rng.range(1.0, 25.0);
    let bug_base = rng.range(5.0, 60.0);
    let leafhopper_base = rng.range(20.0, 200.0);
    let mut out = Vec::with_capacity(DAYS as usize * SPECIES_SORTED);
    for day in LAST_DAY - DAYS + 1..=LAST_DAY {
        let flight = |peak: i64, width: f64| (-((day - peak) as f64 / width).powi(2)).exp();
        let bph = bph_base + bph_flight * flight(BPH_PEAK, 2.2);
        let levels: [(&str, f64); SPECIES_SORTED] = [
            ("brown_planthopper", bph),
            ("white_backed_planthopper", wbph_base + 0.1 * bph),
            ("green_leafhopper", leafhopper_base),
            (
                "rice_leaf_folder",
                folder_base + folder_flight * flight(FOLDER_PEAK, 2.5),
            ),
            ("yellow_stem_borer", borer_base),
            ("rice_bug", bug_base),
        ];
        let time = agrimap_model::UtcTime::parse(&format!("{}T23:00:00Z", civil_date(day)))
            .expect("the demo's own times are well formed");
        for (species, level) in levels {
            out.push(Reading {
                station_id: s.id.clone(),
                parameter: species_parameter(species),
                value: (level * rng.range(0.75, 1.25)).round(),
                unit: "insects".to_owned(),
                time,
            });
        }
    }
    out
}

fn series_for(rng: &mut Rng, s: &Station, coastal: bool) -> Vec<Reading> {
    let params: &[(&str, &str)] = match s.kind {
        "water_quality" => &[
            ("salinity", "ppt"),
            ("ph", "pH"),
            ("dissolved_oxygen", "mg/L"),
            ("temperature", "°C"),
        ],
        "insect_trap" => &[("pest_count", "insects")],
        _ => &[("temperature", "°C")],
    };
    let salinity_base = if coastal {
        rng.range(1.5, 3.2)
    } else {
        rng.range(0.1, 0.8)
    };
    let pest_level = rng.range(10.0, 260.0);
    let phase = rng.range(0.0, std::f64::consts::TAU);
    let mut out = Vec::with_capacity(params.len() * 24 * 30);
    for day in LAST_DAY - DAYS + 1..=LAST_DAY {
        for hour in 0..24 {
            let t = ((day - (LAST_DAY - DAYS + 1)) * 24 + hour) as f64;
            let daily = (std::f64::consts::TAU * (t - 14.0) / 24.0).cos();
            let time = agrimap_model::UtcTime::parse(&format!("{}T{hour:02}:00:00Z", civil_date(day)))
                .expect("the demo's own times are well formed");
            for (param, unit) in params {
                let value = match *param {
                    // Semi-diurnal tide plus a dry-season rise over the month.
                    "salinity" => (salinity_base * (1.0 + t / 720.0 * 0.6)
                        + 0.8 * salinity_base * (std::f64::consts::TAU * t / 12.42 + phase).sin()
                        + rng.range(-0.1, 0.1))
                    .max(0.0),
                    "ph" => 7.3 + 0.35 * daily + rng.range(-0.1, 0.1),
                    "dissolved_oxygen" => 5.6 + 1.4 * daily + rng.range(-0.3, 0.3),
                    "temperature" => 29.0 + 2.2 * daily + rng.range(-0.4, 0.4),
                    _ => {
                        let night = !(5..18).contains(&hour);
                        if night {
                            (pest_level * (1.0 + t / 720.0) * rng.range(0.5, 1.5)).round()
                        } else {
                            0.0
                        }
                    }
                };
                out.push(Reading {
                    station_id: s.id.clone(),
                    parameter: (*param).to_owned(),
                    value: (value * 1000.0).round() / 1000.0,
                    unit: (*unit).to_owned(),
                    time,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(LAST_DAY), "2026-11-20");
        assert_eq!(civil_date(LAST_DAY - 29), "2026-10-22");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }
}
