//! A criteria set: the criteria of one decision for one level of
//! recognition and one period, each with its indicators (unit, how it is
//! judged, the target, and the targets of the regions where the decision
//! sets them apart), in Vietnamese and English, with the source document.
//!
//! A set is a JSON file (`data/ntm/`), versioned: a province that corrects
//! a target or the next period's decision ships a new file, loaded with
//! `agrimap ntm load` or `POST /api/ntm/sets`, with no code change.

use super::dossier::Level;
use super::verdict::EntryValue;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The seven regions the 2021–2025 decision gives targets for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// Trung du và miền núi phía Bắc.
    NorthernMidlandsMountains,
    /// Đồng bằng sông Hồng.
    RedRiverDelta,
    /// Bắc Trung Bộ.
    NorthCentral,
    /// Duyên hải Nam Trung Bộ.
    SouthCentralCoast,
    /// Tây Nguyên.
    CentralHighlands,
    /// Đông Nam Bộ.
    Southeast,
    /// Đồng bằng sông Cửu Long: the provinces agrimap serves.
    MekongDelta,
}

impl Region {
    /// The region of a province (its official two-digit code, either
    /// boundary set); `None` for a code agrimap does not place. The demo
    /// province (99) is a Mekong-delta province.
    #[must_use]
    pub fn of_province(code: &str) -> Option<Self> {
        // Mekong delta before 2025: Long An 80, Tiền Giang 82, Bến Tre 83,
        // Trà Vinh 84, Vĩnh Long 86, Đồng Tháp 87, An Giang 89, Kiên Giang 91,
        // Cần Thơ 92, Hậu Giang 93, Sóc Trăng 94, Bạc Liêu 95, Cà Mau 96.
        match code {
            "80" | "82" | "83" | "84" | "86" | "87" | "89" | "91" | "92" | "93" | "94" | "95" | "96" | "99" => {
                Some(Self::MekongDelta)
            }
            _ => None,
        }
    }
}

/// What an indicator's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A share, 0 to 100.
    Percent,
    /// A whole number, 0 or more.
    Count,
    /// Million đồng per person and year.
    MillionVnd,
    /// Met or not (đạt / không đạt).
    Pass,
}

impl Unit {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Percent => "percent",
            Self::Count => "count",
            Self::MillionVnd => "million_vnd",
            Self::Pass => "pass",
        }
    }

    /// Whether `value` is a value of this unit, and in its range.
    ///
    /// # Errors
    /// [`SetError::WrongUnit`] or [`SetError::OutOfRange`], naming the indicator.
    pub fn check(self, indicator: &str, value: &EntryValue) -> Result<(), SetError> {
        let wrong = || SetError::WrongUnit {
            indicator: indicator.to_owned(),
            unit: self.as_str(),
        };
        match (self, value) {
            (Self::Pass, EntryValue::Pass(_)) => Ok(()),
            (Self::Pass, EntryValue::Number(_)) | (_, EntryValue::Pass(_)) => Err(wrong()),
            (_, EntryValue::Number(n)) => {
                let ok = n.is_finite()
                    && *n >= 0.0
                    && match self {
                        Self::Percent => *n <= 100.0,
                        Self::Count => n.fract() == 0.0,
                        Self::MillionVnd | Self::Pass => true,
                    };
                if ok {
                    Ok(())
                } else {
                    Err(SetError::OutOfRange {
                        indicator: indicator.to_owned(),
                        unit: self.as_str(),
                        value: *n,
                    })
                }
            }
        }
    }
}

/// How a value is held to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judged {
    /// The value must reach the target (≥).
    AtLeast,
    /// The value must not pass the target (≤).
    AtMost,
    /// The indicator is met or not (the target is `true`).
    Pass,
}

/// A target: a number for measured indicators, `true` for met-or-not ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Target {
    Pass(bool),
    Number(f64),
}

/// The document a set transcribes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Its number and title, e.g. `Quyết định 318/QĐ-TTg …`.
    pub document: String,
    /// The day it was signed, `YYYY-MM-DD`.
    pub date: String,
    pub issuer: String,
    /// Where the text was read, and what could not be checked.
    #[serde(default)]
    pub notes: Vec<String>,
}

/// The years a set applies to, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from: i32,
    pub to: i32,
}

/// One indicator (chỉ tiêu) of a criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// `2.1`, or the criterion's own number when it has one indicator.
    pub id: String,
    pub text_vi: String,
    pub text_en: String,
    pub unit: Unit,
    pub judged: Judged,
    /// The target everywhere, unless a region has its own; `None` where the
    /// set's transcription lacks it (the verdict is then `no_target`).
    #[serde(default)]
    pub target: Option<Target>,
    /// Targets of regions that differ from [`Indicator::target`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub regional: BTreeMap<Region, Target>,
    /// What agrimap computes from its layers for this indicator
    /// (one of [`EVIDENCE`]); without it an editor enters the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Whether the wording and target were checked against the decision's text.
    #[serde(default)]
    pub checked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Indicator {
    /// The target for a commune of `region` (its own, else the general one).
    #[must_use]
    pub fn target_for(&self, region: Option<Region>) -> Option<Target> {
        region.and_then(|r| self.regional.get(&r).copied()).or(self.target)
    }
}

/// One criterion (tiêu chí).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// `1` to `19` in the national sets.
    pub id: String,
    pub group_vi: String,
    pub group_en: String,
    pub name_vi: String,
    pub name_en: String,
    pub indicators: Vec<Indicator>,
}

/// A criteria set, as its file holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriteriaSet {
    /// Lower-case letters, digits and dashes, e.g. `ntm-commune-2021-2025`.
    pub id: String,
    /// 1 for the first file of a set; a corrected file takes the next number.
    pub version: u32,
    /// The recognition this set is for.
    pub level: Level,
    pub title_vi: String,
    pub title_en: String,
    pub period: Period,
    pub source: Source,
    /// `false` while the criteria are not all transcribed: such a set is
    /// listed, but no scorecard is computed against it.
    #[serde(default = "yes")]
    pub complete: bool,
    #[serde(default)]
    pub notes: Vec<String>,
    pub criteria: Vec<Criterion>,
}

fn yes() -> bool {
    true
}

/// The figures agrimap computes from its layers, by name; an indicator's
/// `evidence` names one of them.
pub const EVIDENCE: &[(&str, &str)] = &[
    (
        "roads_hard_surface",
        "share of road length in the commune with asphalt or concrete surface (roads layer)",
    ),
    (
        "irrigated_farmland",
        "share of farmland irrigated and drained (needs an irrigation layer)",
    ),
    (
        "cooperatives",
        "cooperatives named by the commune's growing areas (growing_area.cooperative)",
    ),
    (
        "ocop_products",
        "OCOP products of the commune rated 3 stars or more (ocop layer)",
    ),
    (
        "traceability",
        "key products with working traceability: OCOP products with a QR link, active growing-area codes",
    ),
    (
        "certified_farmland",
        "share of crop area farmed under VietGAP, GlobalGAP or organic practice (crop layer)",
    ),
    (
        "water_quality",
        "water-quality stations of the commune and their compliance over the year (monitoring, readings)",
    ),
];

/// Why a set file or an entered value is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetError {
    #[error("the criteria set is not valid JSON of the expected shape: {0}")]
    Json(String),
    #[error("criteria set: {0}")]
    Invalid(String),
    #[error("indicator '{indicator}' takes a value in {unit}, and this is not one")]
    WrongUnit { indicator: String, unit: &'static str },
    #[error("indicator '{indicator}': {value} is out of range for {unit}")]
    OutOfRange {
        indicator: String,
        unit: &'static str,
        value: f64,
    },
}

fn invalid(message: impl Into<String>) -> SetError {
    SetError::Invalid(message.into())
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn is_number_path(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 16
        && s.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

impl CriteriaSet {
    /// Reads and checks a set file.
    ///
    /// # Errors
    /// [`SetError::Json`] for a file of another shape, [`SetError::Invalid`]
    /// naming what is wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, SetError> {
        let set: Self = serde_json::from_slice(bytes).map_err(|e| SetError::Json(e.to_string()))?;
        set.check()?;
        Ok(set)
    }

    /// The indicator `id`, if the set has it.
    #[must_use]
    pub fn indicator(&self, id: &str) -> Option<&Indicator> {
        self.criteria.iter().flat_map(|c| &c.indicators).find(|i| i.id == id)
    }

    /// The criterion an indicator belongs to.
    #[must_use]
    pub fn criterion_of(&self, indicator: &str) -> Option<&Criterion> {
        self.criteria
            .iter()
            .find(|c| c.indicators.iter().any(|i| i.id == indicator))
    }

    /// Every indicator, in the set's order.
    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.criteria.iter().flat_map(|c| &c.indicators)
    }

    /// Whether the set applies to `year`.
    #[must_use]
    pub fn covers(&self, year: i32) -> bool {
        (self.period.from..=self.period.to).contains(&year)
    }

    /// Checks what serde cannot: names, numbering, units against targets.
    ///
    /// # Errors
    /// [`SetError::Invalid`] naming the first fault.
    pub fn check(&self) -> Result<(), SetError> {
        if !is_id(&self.id) {
            return Err(invalid(format!(
                "id '{}' must be lower-case letters, digits and dashes",
                crate::echo(&self.id, 64)
            )));
        }
        if self.version == 0 {
            return Err(invalid("version starts at 1"));
        }
        if self.period.from > self.period.to || !(2000..=2100).contains(&self.period.from) {
            return Err(invalid(format!(
                "period {}–{} is not a range of years",
                self.period.from, self.period.to
            )));
        }
        for (name, text) in [
            ("title_vi", &self.title_vi),
            ("title_en", &self.title_en),
            ("source.document", &self.source.document),
        ] {
            if text.trim().is_empty() {
                return Err(invalid(format!("{name} is empty")));
            }
        }
        if self.complete && self.criteria.is_empty() {
            return Err(invalid("a complete set has criteria"));
        }
        let mut criteria = BTreeSet::new();
        let mut indicators = BTreeSet::new();
        for c in &self.criteria {
            if !is_number_path(&c.id) || !criteria.insert(c.id.as_str()) {
                return Err(invalid(format!(
                    "criterion id '{}' is not a new number",
                    crate::echo(&c.id, 16)
                )));
            }
            if c.name_vi.trim().is_empty() || c.name_en.trim().is_empty() {
                return Err(invalid(format!("criterion {} has no name", c.id)));
            }
            if self.complete && c.indicators.is_empty() {
                return Err(invalid(format!("criterion {} has no indicator", c.id)));
            }
            for i in &c.indicators {
                let own = i.id == c.id || i.id.strip_prefix(&format!("{}.", c.id)).is_some_and(is_number_path);
                if !own || !indicators.insert(i.id.as_str()) {
                    return Err(invalid(format!(
                        "indicator '{}' of criterion {} must be numbered {}.N, once",
                        crate::echo(&i.id, 16),
                        c.id,
                        c.id
                    )));
                }
                check_indicator(i)?;
            }
        }
        Ok(())
    }
}

fn check_indicator(i: &Indicator) -> Result<(), SetError> {
    if i.text_vi.trim().is_empty() || i.text_en.trim().is_empty() {
        return Err(invalid(format!("indicator {} has no text", i.id)));
    }
    if (i.unit == Unit::Pass) != (i.judged == Judged::Pass) {
        return Err(invalid(format!(
            "indicator {}: a 'pass' unit is judged 'pass', and only it",
            i.id
        )));
    }
    for t in i.target.iter().chain(i.regional.values()) {
        let fits = match (i.unit, t) {
            (Unit::Pass, Target::Pass(true)) => true,
            (Unit::Pass, _) | (_, Target::Pass(_)) => false,
            (unit, Target::Number(n)) => unit.check(&i.id, &EntryValue::Number(*n)).is_ok(),
        };
        if !fits {
            return Err(invalid(format!(
                "indicator {}: a target does not fit its unit {}",
                i.id,
                i.unit.as_str()
            )));
        }
    }
    if let Some(e) = &i.evidence
        && !EVIDENCE.iter().any(|(name, _)| name == e)
    {
        return Err(invalid(format!(
            "indicator {}: evidence '{}' is none agrimap computes",
            i.id,
            crate::echo(e, 32)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> serde_json::Value {
        serde_json::json!({
            "id": "ntm-commune-2026-2030", "version": 1, "level": "standard",
            "title_vi": "Bộ tiêu chí thử", "title_en": "Test set",
            "period": {"from": 2026, "to": 2030},
            "source": {"document": "Quyết định thử", "date": "2026-01-01", "issuer": "UBND tỉnh"},
            "criteria": [{"id": "3", "group_vi": "Hạ tầng", "group_en": "Infrastructure",
                "name_vi": "Thủy lợi", "name_en": "Irrigation", "indicators": [
                {"id": "3.1", "text_vi": "Tưới tiêu", "text_en": "Irrigated", "unit": "percent",
                 "judged": "at_least", "target": 80, "regional": {"mekong_delta": 85},
                 "evidence": "irrigated_farmland"}]}]
        })
    }

    fn parse(v: &serde_json::Value) -> Result<CriteriaSet, SetError> {
        CriteriaSet::parse(&serde_json::to_vec(v).expect("json"))
    }

    #[test]
    fn a_set_file_reads_with_regional_targets() {
        let set = parse(&minimal()).expect("valid");
        let i = set.indicator("3.1").expect("3.1");
        assert_eq!(i.target_for(Some(Region::MekongDelta)), Some(Target::Number(85.0)));
        assert_eq!(i.target_for(Some(Region::RedRiverDelta)), Some(Target::Number(80.0)));
        assert_eq!(i.target_for(None), Some(Target::Number(80.0)));
        assert!(set.covers(2026) && !set.covers(2031));
    }

    #[test]
    fn bad_sets_are_refused_naming_the_fault() {
        let cases: [(&str, serde_json::Value); 5] = [
            ("/id", serde_json::json!("Bad Id")),
            ("/criteria/0/indicators/0/id", serde_json::json!("4.1")),
            ("/criteria/0/indicators/0/target", serde_json::json!(180)),
            ("/criteria/0/indicators/0/evidence", serde_json::json!("guesswork")),
            ("/criteria/0/indicators/0/unit", serde_json::json!("pass")),
        ];
        for (path, value) in cases {
            let mut v = minimal();
            *v.pointer_mut(path).expect(path) = value;
            assert!(matches!(parse(&v), Err(SetError::Invalid(_))), "{path}");
        }
        let mut v = minimal();
        v["surprise"] = serde_json::json!(1);
        assert!(matches!(parse(&v), Err(SetError::Json(_))));
    }

    #[test]
    fn values_are_held_to_their_unit() {
        let n = |x: f64| EntryValue::Number(x);
        assert!(Unit::Percent.check("2.1", &n(100.0)).is_ok());
        assert!(matches!(
            Unit::Percent.check("2.1", &n(100.5)),
            Err(SetError::OutOfRange { .. })
        ));
        assert!(matches!(
            Unit::Count.check("9.1", &n(1.5)),
            Err(SetError::OutOfRange { .. })
        ));
        assert!(matches!(
            Unit::Count.check("9.1", &n(-1.0)),
            Err(SetError::OutOfRange { .. })
        ));
        assert!(matches!(
            Unit::Pass.check("1.1", &n(1.0)),
            Err(SetError::WrongUnit { .. })
        ));
        assert!(matches!(
            Unit::Percent.check("2.1", &EntryValue::Pass(true)),
            Err(SetError::WrongUnit { .. })
        ));
        assert!(Unit::Pass.check("1.1", &EntryValue::Pass(false)).is_ok());
    }
}
