//! An indicator's value judged against its target.

use super::set::{Indicator, Judged, Region, Target};
use serde::{Deserialize, Serialize};

/// A value of an indicator: a number in the indicator's unit, or met-or-not.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EntryValue {
    Pass(bool),
    Number(f64),
}

/// What a scorecard says of one indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    /// Nobody entered a value, and the layers do not give one.
    NoData,
    /// The set carries no target for this indicator (see its notes).
    NoTarget,
}

impl Verdict {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::NotMet => "not_met",
            Self::NoData => "no_data",
            Self::NoTarget => "no_target",
        }
    }

    /// The verdict of `value` on `indicator` for a commune of `region`.
    #[must_use]
    pub fn of(indicator: &Indicator, region: Option<Region>, value: Option<EntryValue>) -> Self {
        let Some(value) = value else { return Self::NoData };
        let Some(target) = indicator.target_for(region) else {
            return Self::NoTarget;
        };
        let met = match (indicator.judged, value, target) {
            (Judged::Pass, EntryValue::Pass(v), _) => v,
            (Judged::AtLeast, EntryValue::Number(v), Target::Number(t)) => v >= t,
            (Judged::AtMost, EntryValue::Number(v), Target::Number(t)) => v <= t,
            // A set and a value of different units are refused before this.
            _ => false,
        };
        if met { Self::Met } else { Self::NotMet }
    }

    /// A criterion is met when each of its indicators is.
    #[must_use]
    pub fn of_criterion(verdicts: &[Self]) -> Self {
        if verdicts.iter().all(|v| *v == Self::Met) {
            Self::Met
        } else if verdicts.contains(&Self::NotMet) {
            Self::NotMet
        } else if verdicts.contains(&Self::NoData) {
            Self::NoData
        } else {
            Self::NoTarget
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ntm::set::Unit;

    fn indicator(judged: Judged, unit: Unit, target: Option<Target>) -> Indicator {
        Indicator {
            id: "1.1".into(),
            text_vi: "x".into(),
            text_en: "x".into(),
            unit,
            judged,
            target,
            regional: [(Region::MekongDelta, Target::Number(70.0))].into_iter().collect(),
            evidence: None,
            checked: false,
            note: None,
        }
    }

    #[test]
    fn values_meet_or_miss_their_regional_targets() {
        let at_least = indicator(Judged::AtLeast, Unit::Percent, Some(Target::Number(80.0)));
        let delta = Some(Region::MekongDelta);
        assert_eq!(
            Verdict::of(&at_least, delta, Some(EntryValue::Number(75.0))),
            Verdict::Met
        );
        assert_eq!(
            Verdict::of(&at_least, None, Some(EntryValue::Number(75.0))),
            Verdict::NotMet
        );
        assert_eq!(Verdict::of(&at_least, None, None), Verdict::NoData);
        let at_most = indicator(Judged::AtMost, Unit::Percent, Some(Target::Number(5.0)));
        assert_eq!(Verdict::of(&at_most, None, Some(EntryValue::Number(5.0))), Verdict::Met);
        let open = Indicator {
            regional: std::collections::BTreeMap::default(),
            ..indicator(Judged::AtLeast, Unit::Percent, None)
        };
        assert_eq!(
            Verdict::of(&open, delta, Some(EntryValue::Number(99.0))),
            Verdict::NoTarget
        );
        let pass = indicator(Judged::Pass, Unit::Pass, Some(Target::Pass(true)));
        assert_eq!(Verdict::of(&pass, None, Some(EntryValue::Pass(false))), Verdict::NotMet);
        assert_eq!(
            Verdict::of_criterion(&[Verdict::Met, Verdict::NoData, Verdict::NotMet]),
            Verdict::NotMet
        );
        assert_eq!(Verdict::of_criterion(&[Verdict::Met, Verdict::Met]), Verdict::Met);
    }
}
