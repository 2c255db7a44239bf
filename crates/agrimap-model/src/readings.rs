//! What stations measure: the parameters agrimap accepts, their units and
//! physically possible ranges, the `monitoring` column holding each one's
//! latest value, and the thresholds that put a station on watch or alarm.

use crate::codes::CodeLists;
use crate::crop_stage::{CropCalendar, is_stage};
use crate::pests::{PEST_COUNT, check_species, code_like, species_parameter, split_parameter};
use crate::{Reading, UtcTime};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One measured parameter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Parameter {
    pub name: &'static str,
    /// The one unit readings of it must carry.
    pub unit: &'static str,
    /// Physically possible values, inclusive.
    pub min: f64,
    pub max: f64,
    /// Column of the `monitoring` layer holding the latest value.
    pub latest_column: &'static str,
}

pub const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "salinity",
        unit: "ppt",
        min: 0.0,
        // Sea water is about 35 ‰; brine pans reach a few times that.
        max: 300.0,
        latest_column: "latest_salinity",
    },
    Parameter {
        name: "ph",
        unit: "pH",
        min: 0.0,
        max: 14.0,
        latest_column: "latest_ph",
    },
    Parameter {
        name: "dissolved_oxygen",
        unit: "mg/L",
        min: 0.0,
        // Supersaturated water in full sun stays well under this.
        max: 50.0,
        latest_column: "latest_dissolved_oxygen",
    },
    Parameter {
        name: "temperature",
        unit: "°C",
        min: -20.0,
        max: 60.0,
        latest_column: "latest_temperature",
    },
    Parameter {
        name: "pest_count",
        unit: "insects",
        min: 0.0,
        // A light trap on a bad night catches tens of thousands of planthoppers.
        max: 10_000_000.0,
        latest_column: "latest_pest_count",
    },
];

/// A parameter by name; a species' count (`pest_count:{species}`, see
/// [`crate::pests`]) is the pest count (whether the species is on the
/// store's list is the ingestion's check, [`IncomingReading::check`]).
#[must_use]
pub fn parameter(name: &str) -> Option<&'static Parameter> {
    match split_parameter(name) {
        (base, None) => PARAMETERS.iter().find(|p| p.name == base),
        (PEST_COUNT, Some(species)) if code_like(species) => parameter(PEST_COUNT),
        _ => None,
    }
}

/// One reading as a station sends it (JSON, CSV, MQTT), not yet checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncomingReading {
    pub parameter: String,
    /// The pest species of a light trap's `pest_count`, a code of the
    /// store's `pest_species` list; absent for every other parameter, and
    /// for a trap's whole catch as older clients send it.
    #[serde(default)]
    pub species: Option<String>,
    pub value: f64,
    pub unit: String,
    pub time: String,
}

impl IncomingReading {
    /// The reading of `station_id`, its time read into UTC, or why it is
    /// refused (the first thing wrong, naming the field at fault).
    ///
    /// `now_unix` and `max_future_seconds` bound the reading's time: a
    /// station clock a little ahead is tolerated, a reading from next week
    /// is not. A species (given as `species`, or as the parameter
    /// `pest_count:{species}`) must be an active code of `lists`' `pest_species`.
    ///
    /// # Errors
    /// The first thing wrong with the reading.
    pub fn check(
        self,
        station_id: &str,
        now_unix: i64,
        max_future_seconds: i64,
        lists: &CodeLists,
    ) -> Result<Reading, String> {
        let parameter = match self.species {
            None => self.parameter,
            Some(species) if self.parameter == PEST_COUNT => species_parameter(&species),
            Some(_) => {
                return Err(format!(
                    "a species is given with {PEST_COUNT} only, not with '{}'",
                    crate::echo(&self.parameter, 40)
                ));
            }
        };
        if let (PEST_COUNT, Some(species)) = split_parameter(&parameter) {
            check_species(lists, species)?;
        }
        check_measurement(&parameter, self.value, &self.unit)?;
        let reading = Reading {
            station_id: station_id.to_owned(),
            parameter,
            value: self.value,
            unit: self.unit,
            time: UtcTime::parse(&self.time)?,
        };
        check_not_future(reading.time, now_unix, max_future_seconds)?;
        Ok(reading)
    }
}

/// Why a reading is refused, for the error answer (it names the field at fault).
///
/// # Errors
/// The first thing wrong with the reading.
pub fn check_reading(r: &Reading, now_unix: i64, max_future_seconds: i64) -> Result<(), String> {
    check_measurement(&r.parameter, r.value, &r.unit)?;
    check_not_future(r.time, now_unix, max_future_seconds)
}

fn check_measurement(parameter_name: &str, value: f64, unit: &str) -> Result<(), String> {
    let p = parameter(parameter_name).ok_or_else(|| {
        let known: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
        format!(
            "unknown parameter '{}'; parameters: {}",
            crate::echo(parameter_name, 40),
            known.join(", ")
        )
    })?;
    if unit != p.unit {
        return Err(format!(
            "unit '{}' does not match {}, which is measured in '{}'",
            crate::echo(unit, 40),
            p.name,
            p.unit
        ));
    }
    if p.name == PEST_COUNT && value < 0.0 {
        return Err(format!(
            "{parameter_name} {value} is negative: a count per trap-night is 0 or more"
        ));
    }
    if !value.is_finite() || value < p.min || value > p.max {
        return Err(format!(
            "{} {} {} is not physically possible (from {} to {})",
            p.name, value, p.unit, p.min, p.max
        ));
    }
    Ok(())
}

fn check_not_future(time: UtcTime, now_unix: i64, max_future_seconds: i64) -> Result<(), String> {
    if time.unix() > now_unix.saturating_add(max_future_seconds) {
        return Err(format!("time {time} is in the future"));
    }
    Ok(())
}

/// The alert state of a station. `Silent` is not a level of its readings
/// but their absence: the station has not reported within its expected
/// interval ([`crate::alerts::report_interval_minutes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Ok,
    Watch,
    Alarm,
    Silent,
}

impl AlertState {
    pub const ALL: [Self; 4] = [Self::Ok, Self::Watch, Self::Alarm, Self::Silent];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Watch => "watch",
            Self::Alarm => "alarm",
            Self::Silent => "silent",
        }
    }

    /// The state named `s` as stored and sent.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// Which side of a threshold is bad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// High values are bad (salinity, pests).
    Above,
    /// Low values are bad (dissolved oxygen, acid water).
    Below,
}

/// Thresholds of one parameter, optionally for one station kind or commune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub parameter: String,
    pub direction: Direction,
    pub watch: f64,
    pub alarm: f64,
    /// Only stations of this kind (`water_quality`, `insect_trap`).
    #[serde(default)]
    pub station_kind: Option<String>,
    /// Only stations in this commune; overrides the province-wide rule.
    #[serde(default)]
    pub commune_code: Option<String>,
    /// Only this pest species' count (of `pest_count`); overrides a rule
    /// for every species.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub species: Option<String>,
    /// Only while the rice of the station's commune is at this stage
    /// ([`crate::crop_stage::STAGES`]), by the province's sowing calendar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crop_stage: Option<String>,
    /// The sowing calendar a stage rule reads (given beside the rules).
    #[serde(skip)]
    pub calendar: Arc<CropCalendar>,
    /// Why these levels, for the people reading the alert.
    #[serde(default)]
    pub note: String,
}

/// The default rules with a province's own rules on top: a rule for the same
/// parameter, species, crop stage, station kind and commune replaces the
/// default; a more specific rule (per species, per stage, per commune, per
/// kind, in that order) wins over a general one. A species' rule is written
/// `"parameter": "pest_count", "species": "rice_leaf_folder"`.
///
/// The JSON is the list of rules, or `{"rules": [...], "crop_calendar":
/// [{"commune_code"?, "sown_on": "YYYY-MM-DD"}]}` when rules name a
/// `crop_stage` ([`crate::crop_stage`]).
///
/// # Errors
/// When the JSON is neither, or a rule names an unknown parameter or stage,
/// has its levels the wrong way round, or names a stage with no calendar.
pub fn thresholds_with(json: &str) -> Result<Vec<Threshold>, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct WithCalendar {
        rules: Vec<Threshold>,
        #[serde(default)]
        crop_calendar: Option<serde_json::Value>,
    }
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| format!("thresholds: {e}"))?;
    let (own, calendar) = if value.is_object() {
        let w: WithCalendar = serde_json::from_value(value).map_err(|e| format!("thresholds: {e}"))?;
        let calendar = w
            .crop_calendar
            .map(CropCalendar::from_value)
            .transpose()?
            .unwrap_or_default();
        (w.rules, Arc::new(calendar))
    } else {
        let rules: Vec<Threshold> = serde_json::from_value(value).map_err(|e| format!("thresholds: {e}"))?;
        (rules, Arc::default())
    };
    let mut rules = default_thresholds();
    for (i, mut t) in own.into_iter().enumerate() {
        if parameter(&t.parameter).is_none() {
            let known: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
            return Err(format!(
                "threshold {i}: unknown parameter '{}'; parameters: {}",
                t.parameter,
                known.join(", ")
            ));
        }
        if let Some(species) = &t.species {
            if t.parameter != PEST_COUNT {
                return Err(format!(
                    "threshold {i}: a species is given with {PEST_COUNT} only, not with {}",
                    t.parameter
                ));
            }
            if !code_like(species) {
                return Err(format!("threshold {i}: '{species}' is not a species code"));
            }
        }
        if let Some(stage) = &t.crop_stage {
            if !is_stage(stage) {
                let stages: Vec<&str> = crate::crop_stage::STAGES.iter().map(|s| s.0).collect();
                return Err(format!(
                    "threshold {i}: unknown crop stage '{stage}'; stages: {}",
                    stages.join(", ")
                ));
            }
            if calendar.is_empty() {
                return Err(format!(
                    "threshold {i}: a rule by crop stage needs the sowing calendar: give {{\"rules\": [...], \"crop_calendar\": [{{\"commune_code\", \"sown_on\"}}]}}"
                ));
            }
            t.calendar = calendar.clone();
        }
        let ordered = match t.direction {
            Direction::Above => t.alarm >= t.watch,
            Direction::Below => t.alarm <= t.watch,
        };
        if !ordered || !t.watch.is_finite() || !t.alarm.is_finite() {
            return Err(format!(
                "threshold {i} ({}): the alarm level must be beyond the watch level in its direction",
                t.parameter
            ));
        }
        rules.retain(|r| {
            !(r.parameter == t.parameter
                && r.species == t.species
                && r.crop_stage == t.crop_stage
                && r.station_kind == t.station_kind
                && r.commune_code == t.commune_code)
        });
        rules.push(t);
    }
    Ok(rules)
}

/// Province-wide defaults, from the levels Mekong-delta extension services
/// publish; a province overrides them per station kind or commune.
#[must_use]
pub fn default_thresholds() -> Vec<Threshold> {
    let rule = |parameter: &str, direction, watch, alarm, note: &str| Threshold {
        parameter: parameter.to_owned(),
        direction,
        watch,
        alarm,
        station_kind: None,
        commune_code: None,
        species: None,
        crop_stage: None,
        calendar: Arc::default(),
        note: note.to_owned(),
    };
    let species_rule = |code: &str, watch, alarm, note: &str| Threshold {
        species: Some(code.to_owned()),
        ..rule(PEST_COUNT, Direction::Above, watch, alarm, note)
    };
    vec![
        rule(
            "salinity",
            Direction::Above,
            2.0,
            4.0,
            "rice seedlings suffer from 2 ‰ and are damaged from 4 ‰",
        ),
        rule(
            "ph",
            Direction::Below,
            5.5,
            4.5,
            "acid sulphate water harms rice and shrimp",
        ),
        rule(
            "dissolved_oxygen",
            Direction::Below,
            4.0,
            3.0,
            "shrimp and fish stress below 4 mg/L",
        ),
        rule(
            "temperature",
            Direction::Above,
            33.0,
            35.0,
            "pond water too warm for shrimp",
        ),
        rule(
            "pest_count",
            Direction::Above,
            1_000.0,
            3_000.0,
            "insects per trap-night (whole catch, species not told) calling for field checks / for action",
        ),
        // Indicative levels per trap-night for the sorted catch; a province
        // sets its sub-department's own in its thresholds file.
        species_rule(
            "brown_planthopper",
            1_000.0,
            3_000.0,
            "rầy nâu vào đèn: field checks from 1,000, action from 3,000 per trap-night",
        ),
        species_rule(
            "white_backed_planthopper",
            1_000.0,
            3_000.0,
            "rầy lưng trắng vào đèn: field checks from 1,000, action from 3,000 per trap-night",
        ),
        species_rule(
            "rice_leaf_folder",
            200.0,
            500.0,
            "bướm sâu cuốn lá nhỏ: a flight of moths means eggs in the leaves within days",
        ),
        species_rule(
            "yellow_stem_borer",
            50.0,
            200.0,
            "bướm sâu đục thân hai chấm: few moths already mean dead hearts and white heads",
        ),
        species_rule(
            "rice_bug",
            100.0,
            300.0,
            "bọ xít dài: a threat to grain at flowering and milk stage",
        ),
    ]
}

/// What put a station in its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertCause {
    pub parameter: String,
    pub value: f64,
    pub unit: String,
    pub time: UtcTime,
    pub threshold: f64,
    pub direction: Direction,
}

/// The state of a station from its latest readings (one per parameter): the
/// worst over parameters, with the reading that caused it. A species' rule
/// beats one for every species, a rule of the crop stage the commune's rice
/// is at on the reading's day beats one for any stage; then a commune rule
/// beats a kind rule, which beats a province-wide one.
#[must_use]
pub fn alert_state(
    latest: &[Reading],
    station_kind: &str,
    commune_code: &str,
    thresholds: &[Threshold],
) -> (AlertState, Option<AlertCause>) {
    let mut worst = (AlertState::Ok, None);
    for r in latest {
        let (base, species) = split_parameter(&r.parameter);
        let applicable = thresholds
            .iter()
            .filter(|t| t.parameter == base)
            .filter(|t| t.species.is_none() || t.species.as_deref() == species)
            .filter(|t| t.station_kind.as_deref().is_none_or(|k| k == station_kind))
            .filter(|t| t.commune_code.as_deref().is_none_or(|c| c == commune_code))
            .filter(|t| {
                t.crop_stage
                    .as_deref()
                    .is_none_or(|s| t.calendar.stage(commune_code, r.time.unix()) == Some(s))
            })
            .max_by_key(|t| {
                (
                    t.species.is_some(),
                    t.crop_stage.is_some(),
                    t.commune_code.is_some(),
                    t.station_kind.is_some(),
                )
            });
        let Some(t) = applicable else { continue };
        let beyond = |level: f64| match t.direction {
            Direction::Above => r.value >= level,
            Direction::Below => r.value <= level,
        };
        let (state, level) = if beyond(t.alarm) {
            (AlertState::Alarm, t.alarm)
        } else if beyond(t.watch) {
            (AlertState::Watch, t.watch)
        } else {
            continue;
        };
        if state > worst.0 {
            worst = (
                state,
                Some(AlertCause {
                    parameter: r.parameter.clone(),
                    value: r.value,
                    unit: r.unit.clone(),
                    time: r.time,
                    threshold: level,
                    direction: t.direction,
                }),
            );
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(parameter: &str, value: f64, unit: &str, time: &str) -> IncomingReading {
        IncomingReading {
            parameter: parameter.into(),
            species: None,
            value,
            unit: unit.into(),
            time: time.into(),
        }
    }

    fn reading(parameter: &str, value: f64, unit: &str, time: &str) -> Reading {
        incoming(parameter, value, unit, time)
            .check("WQ-01", NOW, 600, &lists())
            .expect("a valid reading")
    }

    fn parse_utc(s: &str) -> Option<i64> {
        UtcTime::parse(s).ok().map(UtcTime::unix)
    }

    const NOW: i64 = 1_795_000_000; // 2026-11-19

    fn lists() -> CodeLists {
        CodeLists::new(&crate::codes::national_defaults())
    }

    #[test]
    fn times_cut_inside_a_character_are_refused() {
        // 18 ASCII bytes, then a two-byte character over bytes 18 and 19.
        assert_eq!(parse_utc("2026-10-22T00:00:0Ц"), None);
        assert_eq!(parse_utc("2026-10-22T00:00:0ЦZ"), None);
        assert!(
            incoming("ph", 7.0, "pH", "2026-10-22T00:00:0Ц")
                .check("WQ-01", NOW, 600, &lists())
                .is_err()
        );
    }

    #[test]
    fn readings_are_checked_field_by_field() {
        let ok = reading("salinity", 3.2, "ppt", "2026-11-18T07:00:00Z");
        assert_eq!(check_reading(&ok, NOW, 600), Ok(()));
        assert_eq!(ok.time.to_string(), "2026-11-18T07:00:00Z");
        let cases = [
            (
                incoming("turbidity", 1.0, "NTU", "2026-11-18T07:00:00Z"),
                "unknown parameter",
            ),
            (
                incoming("salinity", 3.0, "g/L", "2026-11-18T07:00:00Z"),
                "does not match",
            ),
            (
                incoming("salinity", -0.5, "ppt", "2026-11-18T07:00:00Z"),
                "not physically possible",
            ),
            (
                incoming("ph", 14.5, "pH", "2026-11-18T07:00:00Z"),
                "not physically possible",
            ),
            (
                incoming("ph", f64::NAN, "pH", "2026-11-18T07:00:00Z"),
                "not physically possible",
            ),
            (incoming("ph", 7.0, "pH", "yesterday"), "ISO 8601"),
            (incoming("ph", 7.0, "pH", "2026-02-30T07:00:00Z"), "ISO 8601"),
            (incoming("ph", 7.0, "pH", "2027-01-01T00:00:00Z"), "future"),
        ];
        for (r, expected) in cases {
            let err = r.clone().check("WQ-01", NOW, 600, &lists()).expect_err("refused");
            assert!(err.contains(expected), "{r:?}: {err}");
        }
    }

    #[test]
    fn utc_times_parse_to_unix_seconds() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_utc("2024-02-29T23:59:59.250Z"), Some(1_709_251_199));
        assert_eq!(parse_utc("2024-02-29T23:59:59+07:00"), Some(1_709_251_199 - 7 * 3_600));
        assert_eq!(parse_utc("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_utc("2024-02-29T23:59:59+00:00"), Some(1_709_251_199));
    }

    #[test]
    fn reading_times_are_read_as_ogc_datetime_reads_them() {
        // Refused by the shared reader, as `/ogc` refuses them.
        for bad in [
            "2026-11-18T05:00:02.Z",
            "0000-01-01T00:00:00Z",
            "2026-11-18T07:00:60Z",
            "2026-11-18T07:00:00",
        ] {
            let err = UtcTime::parse(bad).expect_err(bad);
            assert!(err.contains("ISO 8601"), "{bad}: {err}");
        }
        // Any offset is read, and kept in UTC.
        assert_eq!(
            UtcTime::parse("2026-11-18T14:00:00+07:00"),
            UtcTime::parse("2026-11-18T07:00:00Z")
        );
        assert_eq!(
            UtcTime::parse("2026-11-18T14:00:00+07:00").map(|t| t.to_string()),
            Ok("2026-11-18T07:00:00Z".to_owned())
        );
        assert_eq!(
            UtcTime::parse("2026-11-18t07:00:00.5z").map(|t| t.to_string()),
            Ok("2026-11-18T07:00:00Z".to_owned())
        );
        assert_eq!(
            UtcTime::parse("0001-01-01T00:00:00Z").map(UtcTime::unix),
            Ok(-62_135_596_800)
        );
    }

    #[test]
    fn the_worst_parameter_decides_and_commune_rules_win() {
        let rules = default_thresholds();
        let latest = [
            reading("salinity", 2.5, "ppt", "2026-11-18T07:00:00Z"),
            reading("dissolved_oxygen", 2.8, "mg/L", "2026-11-18T07:00:00Z"),
        ];
        let (state, cause) = alert_state(&latest, "water_quality", "33001", &rules);
        assert_eq!(state, AlertState::Alarm);
        assert_eq!(cause.expect("cause").parameter, "dissolved_oxygen");

        let only_salt = &latest[..1];
        assert_eq!(
            alert_state(only_salt, "water_quality", "33001", &rules).0,
            AlertState::Watch
        );
        let mut local = rules.clone();
        local.push(Threshold {
            commune_code: Some("33001".into()),
            watch: 3.0,
            alarm: 5.0,
            ..rules[0].clone()
        });
        assert_eq!(
            alert_state(only_salt, "water_quality", "33001", &local).0,
            AlertState::Ok
        );
        assert_eq!(
            alert_state(only_salt, "water_quality", "33002", &local).0,
            AlertState::Watch
        );
    }

    #[test]
    fn species_counts_are_checked_and_judged_by_their_own_rules() {
        let trap = |species: Option<&str>, value: f64| IncomingReading {
            parameter: "pest_count".into(),
            species: species.map(str::to_owned),
            value,
            unit: "insects".into(),
            time: "2026-11-17T23:00:00Z".into(),
        };
        let folder = trap(Some("rice_leaf_folder"), 600.0)
            .check("IT-01", NOW, 600, &lists())
            .expect("valid");
        assert_eq!(folder.parameter, "pest_count:rice_leaf_folder");
        // 600 moths is nothing for the whole catch, an alarm for leaf folders.
        let rules = default_thresholds();
        let (state, cause) = alert_state(std::slice::from_ref(&folder), "insect_trap", "99001", &rules);
        assert_eq!((state, cause.map(|c| c.threshold)), (AlertState::Alarm, Some(500.0)));
        let whole = trap(None, 600.0)
            .check("IT-01", NOW, 600, &lists())
            .expect("an older client's count");
        assert_eq!(whole.parameter, "pest_count");
        assert_eq!(alert_state(&[whole], "insect_trap", "99001", &rules).0, AlertState::Ok);

        let err = trap(Some("locust"), 5.0)
            .check("IT-01", NOW, 600, &lists())
            .expect_err("unknown");
        assert!(
            err.contains("unknown species 'locust'") && err.contains("rice_bug (Bọ xít dài)"),
            "{err}"
        );
        let err = trap(Some("rice_bug"), -3.0)
            .check("IT-01", NOW, 600, &lists())
            .expect_err("negative");
        assert!(err.contains("negative"), "{err}");
        let mut salt = trap(Some("rice_bug"), 1.0);
        salt.parameter = "salinity".into();
        assert!(
            salt.check("IT-01", NOW, 600, &lists())
                .expect_err("no species")
                .contains("pest_count only")
        );

        // A province's commune rule for one species, over the defaults.
        let own = r#"[{"parameter": "pest_count", "species": "rice_leaf_folder", "direction": "above",
                       "watch": 800, "alarm": 2000, "commune_code": "99001"}]"#;
        let local = thresholds_with(own).expect("valid rules");
        assert_eq!(
            alert_state(std::slice::from_ref(&folder), "insect_trap", "99001", &local).0,
            AlertState::Ok
        );
        assert_eq!(
            alert_state(std::slice::from_ref(&folder), "insect_trap", "99002", &local).0,
            AlertState::Alarm
        );
        // The list is the store's: a rule file is held to the form of a code here.
        let bad =
            r#"[{"parameter": "pest_count", "species": "Rầy nâu", "direction": "above", "watch": 1, "alarm": 2}]"#;
        assert!(
            thresholds_with(bad)
                .expect_err("not a code")
                .contains("not a species code")
        );
        let bad = r#"[{"parameter": "ph", "species": "rice_bug", "direction": "below", "watch": 5, "alarm": 4}]"#;
        assert!(
            thresholds_with(bad)
                .expect_err("not a pest")
                .contains("pest_count only")
        );
    }

    #[test]
    fn stage_rules_hold_while_the_commune_rice_is_at_that_stage() {
        // Rice bugs suck the grain at flowering and milk stage: 60 of them
        // then is an alarm, where the species' default (100 / 300) says ok.
        let own = r#"{"rules": [{"parameter": "pest_count", "species": "rice_bug", "crop_stage": "flowering",
                                 "direction": "above", "watch": 30, "alarm": 50}],
                      "crop_calendar": [{"commune_code": "99001", "sown_on": "2026-09-10"}]}"#;
        let rules = thresholds_with(own).expect("rules and a calendar");
        let bug = |time: &str| IncomingReading {
            parameter: "pest_count".into(),
            species: Some("rice_bug".into()),
            value: 60.0,
            unit: "insects".into(),
            time: time.into(),
        };
        // 2026-11-16 in Vietnam, day 67 after sowing: flowering.
        let flowering = bug("2026-11-15T23:00:00Z")
            .check("IT-01", NOW, 600, &lists())
            .expect("valid");
        let state = |r: &Reading, commune: &str| alert_state(std::slice::from_ref(r), "insect_trap", commune, &rules).0;
        assert_eq!(state(&flowering, "99001"), AlertState::Alarm);
        // Another commune has no sowing: the species' default.
        assert_eq!(state(&flowering, "99002"), AlertState::Ok);
        // The same commune at tillering (2026-10-21, day 41).
        let tillering = bug("2026-10-20T23:00:00Z")
            .check("IT-01", NOW, 600, &lists())
            .expect("valid");
        assert_eq!(state(&tillering, "99001"), AlertState::Ok);

        let no_calendar =
            r#"[{"parameter": "pest_count", "crop_stage": "flowering", "direction": "above", "watch": 1, "alarm": 2}]"#;
        assert!(
            thresholds_with(no_calendar)
                .expect_err("no calendar")
                .contains("sowing calendar")
        );
        let bad_stage = r#"{"rules": [{"parameter": "pest_count", "crop_stage": "booting", "direction": "above",
                            "watch": 1, "alarm": 2}], "crop_calendar": [{"sown_on": "2026-09-10"}]}"#;
        assert!(
            thresholds_with(bad_stage)
                .expect_err("stage")
                .contains("unknown crop stage 'booting'")
        );
    }
}
