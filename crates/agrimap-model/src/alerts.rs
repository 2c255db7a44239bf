//! Alerts as events: each change of a station's state (ok, watch, alarm,
//! silent) with the reading that caused it, how long a station may stay
//! quiet before it counts as silent, and the subscriptions that push
//! changes to people's gateways (SMS, Zalo) through webhooks.

use crate::UtcTime;
use crate::readings::{AlertCause, AlertState};
use serde::{Deserialize, Serialize};

/// How often a station of `kind` is expected to report, in minutes, when
/// the station does not say (`report_interval_min` of the `monitoring`
/// layer). Generous on purpose: a silent station is a call to send someone
/// out, so one late report must not raise it.
#[must_use]
pub fn report_interval_minutes(kind: &str) -> i64 {
    match kind {
        // A light trap is counted once a night, the morning after.
        "insect_trap" => 36 * 60,
        // IoT water and weather stations send every 15–60 minutes.
        _ => 2 * 60,
    }
}

/// A station as the silence check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationClock {
    pub station_id: String,
    pub kind: String,
    /// `active`, `maintenance` or `offline`; only active stations are expected to report.
    pub status: Option<String>,
    pub alert_state: Option<AlertState>,
    pub last_reading_at: Option<UtcTime>,
    /// The station's own interval, if set.
    pub report_interval_min: Option<i64>,
}

impl StationClock {
    /// Whether the station is past its expected interval at `now` and not
    /// yet marked silent. A station that has never reported, or that its
    /// operator put under maintenance or offline, is not expected to report.
    #[must_use]
    pub fn falls_silent(&self, now: UtcTime) -> bool {
        let Some(last) = self.last_reading_at else {
            return false;
        };
        if self.alert_state == Some(AlertState::Silent) || self.status.as_deref().is_some_and(|s| s != "active") {
            return false;
        }
        let minutes = self
            .report_interval_min
            .filter(|m| *m > 0)
            .unwrap_or_else(|| report_interval_minutes(&self.kind));
        now.unix() - last.unix() > minutes.saturating_mul(60)
    }
}

/// The state a station moves to after a batch of readings whose newest is
/// `newest`: what the readings say, except that a silent station stays
/// silent when the batch brings nothing newer than what it last sent (a
/// late reading proves nothing about the station today).
#[must_use]
pub fn state_after_readings(
    previous: Option<AlertState>,
    last_reading_at: Option<UtcTime>,
    newest: UtcTime,
    judged: (AlertState, Option<AlertCause>),
) -> (AlertState, Option<AlertCause>) {
    let stale = last_reading_at.is_some_and(|last| newest <= last);
    if previous == Some(AlertState::Silent) && stale {
        (AlertState::Silent, None)
    } else {
        judged
    }
}

/// A change of a station's state, as stored in the alert history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Increasing with time of storing; the SSE event id.
    pub id: i64,
    pub station_id: String,
    pub station_kind: String,
    pub commune_code: String,
    pub from: AlertState,
    pub to: AlertState,
    /// The reading that caused it (none for silence and recovery to ok).
    pub cause: Option<AlertCause>,
    /// When the change was stored.
    pub at: UtcTime,
}

/// A change to store: the event without its id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlertEvent {
    pub station_id: String,
    pub station_kind: String,
    pub commune_code: String,
    pub from: AlertState,
    pub to: AlertState,
    pub cause: Option<AlertCause>,
    pub at: UtcTime,
}

impl NewAlertEvent {
    #[must_use]
    pub fn stored(self, id: i64) -> AlertEvent {
        AlertEvent {
            id,
            station_id: self.station_id,
            station_kind: self.station_kind,
            commune_code: self.commune_code,
            from: self.from,
            to: self.to,
            cause: self.cause,
            at: self.at,
        }
    }
}

/// What a subscription asks to hear about; every list empty means "any".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionScope {
    /// Province codes (2025 set); empty: every province the creator may see.
    #[serde(default)]
    pub provinces: Vec<String>,
    /// Commune codes, of either boundary set.
    #[serde(default)]
    pub communes: Vec<String>,
    /// Station kinds (`water_quality`, `insect_trap`, `weather`).
    #[serde(default)]
    pub station_kinds: Vec<String>,
    /// Parameters whose readings caused the change (`salinity`, `pest_count`,
    /// one species' `pest_count:brown_planthopper`);
    /// changes no reading caused (silence, recovery) pass this test.
    #[serde(default)]
    pub parameters: Vec<String>,
    /// States that notify: a change *to* one of them (default: watch, alarm, silent).
    #[serde(default = "SubscriptionScope::default_states")]
    pub states: Vec<AlertState>,
}

impl SubscriptionScope {
    /// Watch, alarm and silent: whatever needs someone to act.
    #[must_use]
    pub fn default_states() -> Vec<AlertState> {
        vec![AlertState::Watch, AlertState::Alarm, AlertState::Silent]
    }

    /// Whether `event`, in `provinces`, is one this scope asks for. An
    /// event is in its commune's province and, for a commune of before the
    /// reform, in the 2025 province that commune went into.
    #[must_use]
    pub fn matches(&self, event: &AlertEvent, provinces: &[&str]) -> bool {
        let any_or =
            |list: &[String], values: &[&str]| list.is_empty() || values.iter().any(|v| list.iter().any(|x| x == v));
        self.states.contains(&event.to)
            && any_or(&self.provinces, provinces)
            && any_or(&self.communes, &[event.commune_code.as_str()])
            && any_or(&self.station_kinds, &[event.station_kind.as_str()])
            && event.cause.as_ref().is_none_or(|c| {
                self.parameters.is_empty() || self.parameters.iter().any(|p| cause_is_of(&c.parameter, p))
            })
    }
}

/// Whether a cause's parameter is the one a scope names: itself, or for a
/// light trap's species count (`pest_count:rice_bug`, [`crate::pests`]) the
/// pest count of every species as well as that species'.
fn cause_is_of(cause: &str, named: &str) -> bool {
    cause == named || crate::pests::split_parameter(cause).0 == named
}

/// A subscription as stored. The secret that signs its deliveries is shown
/// once, when it is made, and never listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subscription {
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub scope: SubscriptionScope,
    /// The webhook that receives each matching change as signed JSON.
    pub url: String,
    /// Provinces of the token that made it (empty: all), which bound what it may hear.
    pub owner_provinces: Vec<String>,
    /// The API token that made it.
    pub created_by: String,
    pub created_at: UtcTime,
    #[serde(skip)]
    pub secret: String,
}

/// A subscription to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubscription {
    pub name: String,
    pub scope: SubscriptionScope,
    pub url: String,
    pub secret: String,
    pub owner_provinces: Vec<String>,
    pub created_by: String,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting for its (next) attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up after a day of failures: in the dead-letter list until replayed.
    Dead,
}

impl DeliveryStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Dead]
            .into_iter()
            .find(|d| d.as_str() == s)
    }
}

/// One event to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub event_id: i64,
    pub subscription_id: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: UtcTime,
    /// Start of the day of retries: when it was queued, or replayed.
    pub retry_from: UtcTime,
    pub next_attempt_at: UtcTime,
    pub delivered_at: Option<UtcTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> UtcTime {
        UtcTime::parse(s).expect("time")
    }

    fn clock(kind: &str, last: &str) -> StationClock {
        StationClock {
            station_id: "S1".into(),
            kind: kind.into(),
            status: Some("active".into()),
            alert_state: Some(AlertState::Ok),
            last_reading_at: Some(at(last)),
            report_interval_min: None,
        }
    }

    #[test]
    fn a_station_falls_silent_past_its_kinds_interval_or_its_own() {
        let now = at("2026-12-06T12:00:00Z");
        assert!(!clock("water_quality", "2026-12-06T10:00:00Z").falls_silent(now));
        assert!(clock("water_quality", "2026-12-06T09:59:59Z").falls_silent(now));
        assert!(!clock("insect_trap", "2026-12-05T06:00:00Z").falls_silent(now));
        let own = StationClock {
            report_interval_min: Some(15),
            ..clock("water_quality", "2026-12-06T11:40:00Z")
        };
        assert!(own.falls_silent(now));
        let resting = StationClock {
            status: Some("maintenance".into()),
            ..clock("water_quality", "2026-11-01T00:00:00Z")
        };
        assert!(!resting.falls_silent(now));
        let never = StationClock {
            last_reading_at: None,
            ..clock("water_quality", "2026-11-01T00:00:00Z")
        };
        assert!(!never.falls_silent(now));
    }

    #[test]
    fn a_late_reading_does_not_wake_a_silent_station_but_a_newer_one_does() {
        let last = Some(at("2026-12-06T08:00:00Z"));
        let ok = (AlertState::Ok, None);
        let late = state_after_readings(Some(AlertState::Silent), last, at("2026-12-06T07:00:00Z"), ok.clone());
        assert_eq!(late.0, AlertState::Silent);
        let newer = state_after_readings(Some(AlertState::Silent), last, at("2026-12-06T08:00:01Z"), ok.clone());
        assert_eq!(newer.0, AlertState::Ok);
        let awake = state_after_readings(Some(AlertState::Watch), last, at("2026-12-06T07:00:00Z"), ok);
        assert_eq!(awake.0, AlertState::Ok);
    }

    #[test]
    fn a_scope_matches_by_state_place_kind_and_parameter() {
        let event = AlertEvent {
            id: 1,
            station_id: "S1".into(),
            station_kind: "water_quality".into(),
            commune_code: "31471".into(),
            from: AlertState::Ok,
            to: AlertState::Alarm,
            cause: None,
            at: at("2026-12-06T08:00:00Z"),
        };
        let any = SubscriptionScope {
            states: SubscriptionScope::default_states(),
            ..SubscriptionScope::default()
        };
        assert!(any.matches(&event, &["92"]));
        let elsewhere = SubscriptionScope {
            provinces: vec!["82".into()],
            ..any.clone()
        };
        assert!(!elsewhere.matches(&event, &["92"]));
        let salinity = SubscriptionScope {
            parameters: vec!["salinity".into()],
            ..any.clone()
        };
        assert!(salinity.matches(&event, &["92"]), "a change no reading caused passes");
        let pests = AlertEvent {
            cause: Some(crate::readings::AlertCause {
                parameter: "pest_count".into(),
                value: 4000.0,
                unit: "insects".into(),
                time: at("2026-12-06T08:00:00Z"),
                threshold: 3000.0,
                direction: crate::readings::Direction::Above,
            }),
            ..event.clone()
        };
        assert!(!salinity.matches(&pests, &["92"]));
        // A species' count is heard by its own name and by the pest count's.
        let bugs = AlertEvent {
            cause: pests.cause.clone().map(|c| crate::readings::AlertCause {
                parameter: "pest_count:rice_bug".into(),
                ..c
            }),
            ..event.clone()
        };
        for (named, heard) in [
            ("pest_count", true),
            ("pest_count:rice_bug", true),
            ("pest_count:brown_planthopper", false),
        ] {
            let scope = SubscriptionScope {
                parameters: vec![named.into()],
                ..any.clone()
            };
            assert_eq!(scope.matches(&bugs, &["92"]), heard, "{named}");
        }
        let recoveries = SubscriptionScope {
            states: vec![AlertState::Ok],
            ..any
        };
        assert!(!recoveries.matches(&event, &["92"]));
    }
}
