//! The alert history, subscriptions and delivery queue in the GeoPackage:
//! plain tables made on open when missing. Times are stored as
//! `YYYY-MM-DDTHH:MM:SSZ` text, which sorts as time does.

use super::{GpkgStore, db};
use crate::StoreError;
use crate::alerts::{self as shared, AlertStore, DeliveryOutcome, EventQuery};
use agrimap_model::UtcTime;
use agrimap_model::alerts::{
    AlertEvent, Delivery, DeliveryStatus, NewAlertEvent, NewSubscription, StationClock, Subscription,
};
use agrimap_model::readings::AlertState;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params, params_from_iter};
use std::fmt::Write;

/// Created on open when missing (stores made before alerts have none).
pub(super) const ALERTS_SQL: &str = "
CREATE TABLE IF NOT EXISTS agrimap_alert_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  station_id TEXT NOT NULL,
  station_kind TEXT NOT NULL,
  commune_code TEXT NOT NULL,
  from_state TEXT NOT NULL CHECK (from_state IN ('ok', 'watch', 'alarm', 'silent')),
  to_state TEXT NOT NULL CHECK (to_state IN ('ok', 'watch', 'alarm', 'silent')),
  cause TEXT,
  at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS agrimap_alert_events_station ON agrimap_alert_events (station_id, id);
CREATE INDEX IF NOT EXISTS agrimap_alert_events_at ON agrimap_alert_events (at);
CREATE TABLE IF NOT EXISTS agrimap_alert_subscriptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  scope TEXT NOT NULL,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  owner_provinces TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE TABLE IF NOT EXISTS agrimap_alert_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id INTEGER NOT NULL REFERENCES agrimap_alert_events (id),
  subscription_id INTEGER NOT NULL REFERENCES agrimap_alert_subscriptions (id),
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_at TEXT NOT NULL,
  retry_from TEXT NOT NULL,
  next_attempt_at TEXT NOT NULL,
  lease_until TEXT,
  delivered_at TEXT,
  UNIQUE (event_id, subscription_id)
);
CREATE INDEX IF NOT EXISTS agrimap_alert_deliveries_due ON agrimap_alert_deliveries (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS agrimap_alert_dispatch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL
);
INSERT OR IGNORE INTO agrimap_alert_dispatch (id, last_event_id) VALUES (1, 0);
";

/// Subscriptions whose oldest pending delivery is due at `?1` and not
/// leased: a receiver's deliveries go in the order of their events, so
/// none is sent while an older one waits for its retry.
const DUE_RECEIVERS: &str = "SELECT d.subscription_id FROM agrimap_alert_deliveries d
  JOIN (SELECT subscription_id, min(id) AS head FROM agrimap_alert_deliveries
        WHERE status = 'pending' GROUP BY subscription_id) h ON d.id = h.head
  WHERE d.next_attempt_at <= ?1 AND (d.lease_until IS NULL OR d.lease_until <= ?1)";

const EVENT_COLUMNS: &str = "id, station_id, station_kind, commune_code, from_state, to_state, cause, at";
const DELIVERY_COLUMNS: &str = "id, event_id, subscription_id, status, attempts, last_error, created_at, retry_from, next_attempt_at, delivered_at";

/// A station's clock and commune, as [`clock_of`] reads them.
const STATION_CLOCK: &str =
    "SELECT station_id, kind, status, alert_state, last_reading_at, report_interval_min, commune_code
   FROM monitoring";

/// The station as ingestion sees it before a change.
pub(super) fn station_before(
    tx: &Transaction<'_>,
    station: &str,
) -> Result<Option<(StationClock, String)>, StoreError> {
    tx.query_row(&format!("{STATION_CLOCK} WHERE station_id = ?1"), [station], |r| {
        Ok((clock_of(r)?, r.get::<_, Option<String>>(6)?.unwrap_or_default()))
    })
    .optional()
    .map_err(|e| db("reading a station's state", e))
}

fn clock_of(r: &Row<'_>) -> rusqlite::Result<StationClock> {
    Ok(StationClock {
        station_id: r.get(0)?,
        kind: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
        status: r.get(2)?,
        alert_state: r.get::<_, Option<String>>(3)?.as_deref().and_then(AlertState::parse),
        last_reading_at: r
            .get::<_, Option<String>>(4)?
            .as_deref()
            .and_then(|t| UtcTime::parse(t).ok()),
        report_interval_min: r.get(5)?,
    })
}

/// Stores one change, in the caller's transaction.
pub(super) fn insert_event(tx: &Transaction<'_>, event: NewAlertEvent) -> Result<AlertEvent, StoreError> {
    let cause = event.cause.as_ref().map(shared::cause_text);
    tx.execute(
        "INSERT INTO agrimap_alert_events (station_id, station_kind, commune_code, from_state, to_state, cause, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            event.station_id,
            event.station_kind,
            event.commune_code,
            event.from.as_str(),
            event.to.as_str(),
            cause,
            event.at.to_string()
        ],
    )
    .map_err(|e| db("storing an alert event", e))?;
    Ok(event.stored(tx.last_insert_rowid()))
}

fn event_of(r: &Row<'_>) -> rusqlite::Result<Result<AlertEvent, String>> {
    let (from, to, cause, at): (String, String, Option<String>, String) = (r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?);
    let (id, station_id, station_kind, commune_code) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
    Ok(shared::event_from_parts(
        id,
        station_id,
        station_kind,
        commune_code,
        &from,
        &to,
        cause.as_deref(),
        &at,
    ))
}

fn delivery_of(r: &Row<'_>) -> rusqlite::Result<Result<Delivery, String>> {
    let texts: [Option<String>; 5] = [r.get(6)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(3).map(Some)?];
    Ok(shared::delivery_from_parts(
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        texts[4].as_deref().unwrap_or_default(),
        r.get(4)?,
        r.get(5)?,
        [
            texts[0].as_deref(),
            texts[1].as_deref(),
            texts[2].as_deref(),
            texts[3].as_deref(),
        ],
    ))
}

fn subscription_of(r: &Row<'_>) -> rusqlite::Result<Result<Subscription, String>> {
    let (id, name, scope, url, secret, owners, by, at): (i64, String, String, String, String, String, String, String) = (
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    );
    Ok(shared::subscription_from_parts(
        id, name, &scope, url, secret, &owners, by, &at,
    ))
}

fn collect<T>(rows: rusqlite::Result<Vec<Result<T, String>>>, what: &'static str) -> Result<Vec<T>, StoreError> {
    rows.map_err(|e| db(what, e))?
        .into_iter()
        .map(|r| r.map_err(StoreError::Corrupt))
        .collect()
}

/// The stations not yet silent that have reported, with their communes.
fn station_clocks(conn: &Connection) -> Result<Vec<(StationClock, String)>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "{STATION_CLOCK} WHERE last_reading_at IS NOT NULL AND alert_state IS NOT 'silent'"
        ))
        .map_err(|e| db("reading station clocks", e))?;
    stmt.query_map([], |r| {
        Ok((clock_of(r)?, r.get::<_, Option<String>>(6)?.unwrap_or_default()))
    })
    .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
    .map_err(|e| db("reading station clocks", e))
}

fn silence(conn: &mut Connection, now: UtcTime) -> Result<Vec<AlertEvent>, StoreError> {
    // Run every minute: the write lock is taken only when a station is due,
    // and the clocks read again under it.
    if !station_clocks(conn)?.iter().any(|(c, _)| c.falls_silent(now)) {
        return Ok(Vec::new());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db("starting a transaction", e))?;
    let mut events = Vec::new();
    for (clock, commune) in station_clocks(&tx)?.into_iter().filter(|(c, _)| c.falls_silent(now)) {
        tx.execute(
            "UPDATE monitoring SET alert_state = 'silent' WHERE station_id = ?1",
            [&clock.station_id],
        )
        .map_err(|e| db("marking a station silent", e))?;
        events.push(insert_event(&tx, shared::silence_event(clock, commune, now))?);
    }
    tx.commit().map_err(|e| db("committing", e))?;
    Ok(events)
}

fn alert_events(conn: &Connection, q: &EventQuery) -> Result<Vec<AlertEvent>, StoreError> {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM agrimap_alert_events WHERE 1 = 1");
    let mut params: Vec<rusqlite::types::Value> = Vec::new();
    let add =
        |sql: &mut String, params: &mut Vec<rusqlite::types::Value>, condition: &str, value: rusqlite::types::Value| {
            params.push(value);
            let _ = write!(sql, " AND {condition} ?{}", params.len());
        };
    if let Some(after) = q.after_id {
        add(&mut sql, &mut params, "id >", after.into());
    }
    if let Some(station) = &q.station_id {
        add(&mut sql, &mut params, "station_id =", station.clone().into());
    }
    if let Some(from) = q.from {
        add(&mut sql, &mut params, "at >=", from.to_string().into());
    }
    if let Some(to) = q.to {
        add(&mut sql, &mut params, "at <=", to.to_string().into());
    }
    if let Some(communes) = &q.communes {
        let list = serde_json::to_string(communes).unwrap_or_else(|_| "[]".into());
        params.push(list.into());
        let _ = write!(
            sql,
            " AND commune_code IN (SELECT value FROM json_each(?{}))",
            params.len()
        );
    }
    let _ = write!(
        sql,
        " ORDER BY id {} LIMIT {}",
        if q.newest_first { "DESC" } else { "ASC" },
        q.limit.max(1)
    );
    let mut stmt = conn.prepare(&sql).map_err(|e| db("reading alert events", e))?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), event_of)
        .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>);
    collect(rows, "reading alert events")
}

#[async_trait::async_trait]
impl AlertStore for GpkgStore {
    async fn silence(&self, now: UtcTime) -> Result<Vec<AlertEvent>, StoreError> {
        self.with_conn(move |c| silence(c, now)).await
    }

    async fn alert_events(&self, query: &EventQuery) -> Result<Vec<AlertEvent>, StoreError> {
        let q = query.clone();
        self.with_conn(move |c| alert_events(c, &q)).await
    }

    async fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, StoreError> {
        let new = new.clone();
        self.with_conn(move |c| {
            let now = UtcTime::now().to_string();
            c.execute(
                "INSERT INTO agrimap_alert_subscriptions (name, scope, url, secret, owner_provinces, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    new.name,
                    shared::scope_text(&new.scope),
                    new.url,
                    new.secret,
                    new.owner_provinces.join(","),
                    new.created_by,
                    now
                ],
            )
            .map_err(|e| db("storing a subscription", e))?;
            let id = c.last_insert_rowid();
            c.query_row(
                "SELECT id, name, scope, url, secret, owner_provinces, created_by, created_at
                 FROM agrimap_alert_subscriptions WHERE id = ?1",
                [id],
                subscription_of,
            )
            .map_err(|e| db("reading a subscription", e))?
            .map_err(StoreError::Corrupt)
        })
        .await
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, name, scope, url, secret, owner_provinces, created_by, created_at
                     FROM agrimap_alert_subscriptions WHERE ended_at IS NULL ORDER BY id",
                )
                .map_err(|e| db("reading subscriptions", e))?;
            let rows = stmt
                .query_map([], subscription_of)
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>);
            collect(rows, "reading subscriptions")
        })
        .await
    }

    async fn end_subscription(&self, id: i64, at: UtcTime) -> Result<bool, StoreError> {
        self.with_conn(move |c| {
            c.execute(
                "UPDATE agrimap_alert_subscriptions SET ended_at = ?2 WHERE id = ?1 AND ended_at IS NULL",
                params![id, at.to_string()],
            )
            .map(|n| n > 0)
            .map_err(|e| db("ending a subscription", e))
        })
        .await
    }

    async fn restore_alert_history(&self, events: &[AlertEvent], deliveries: &[Delivery]) -> Result<bool, StoreError> {
        let (events, deliveries) = (events.to_vec(), deliveries.to_vec());
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            let held: Vec<AlertEvent> = tx
                .prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM agrimap_alert_events ORDER BY id"))
                .and_then(|mut stmt| stmt.query_map([], event_of)?.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(|e| db("reading alert events", e))?
                .into_iter()
                .collect::<Result<_, _>>()
                .map_err(StoreError::Corrupt)?;
            if !shared::may_restore_events(&held, &events)? {
                return Ok(false);
            }
            for e in &events {
                tx.execute(
                    "INSERT INTO agrimap_alert_events (id, station_id, station_kind, commune_code, from_state, to_state, cause, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        e.id,
                        e.station_id,
                        e.station_kind,
                        e.commune_code,
                        e.from.as_str(),
                        e.to.as_str(),
                        e.cause.as_ref().map(shared::cause_text),
                        e.at.to_string()
                    ],
                )
                .map_err(|e| db("copying an alert event", e))?;
            }
            for d in &deliveries {
                tx.execute(
                    &format!("INSERT INTO agrimap_alert_deliveries ({DELIVERY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                    params![
                        d.id,
                        d.event_id,
                        d.subscription_id,
                        d.status.as_str(),
                        d.attempts,
                        d.last_error,
                        d.created_at.to_string(),
                        d.retry_from.to_string(),
                        d.next_attempt_at.to_string(),
                        d.delivered_at.map(|t| t.to_string())
                    ],
                )
                .map_err(|e| db("copying an alert delivery", e))?;
            }
            tx.execute(
                "UPDATE agrimap_alert_dispatch SET last_event_id = max(last_event_id, ?1) WHERE id = 1",
                [shared::last_id(events.iter().map(|e| e.id))],
            )
            .map_err(|e| db("moving the dispatch cursor", e))?;
            tx.commit().map_err(|e| db("copying the alert history", e))?;
            Ok(true)
        })
        .await
    }

    async fn dispatch_cursor(&self) -> Result<i64, StoreError> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT last_event_id FROM agrimap_alert_dispatch WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .map_err(|e| db("reading the dispatch cursor", e))
        })
        .await
    }

    async fn enqueue_deliveries(
        &self,
        through_event: i64,
        pairs: &[(i64, i64)],
        now: UtcTime,
    ) -> Result<(), StoreError> {
        let pairs = pairs.to_vec();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO agrimap_alert_deliveries
                           (event_id, subscription_id, status, created_at, retry_from, next_attempt_at)
                         VALUES (?1, ?2, 'pending', ?3, ?3, ?3) ON CONFLICT DO NOTHING",
                    )
                    .map_err(|e| db("queueing deliveries", e))?;
                for (event, subscription) in pairs {
                    insert
                        .execute(params![event, subscription, now.to_string()])
                        .map_err(|e| db("queueing a delivery", e))?;
                }
            }
            tx.execute(
                "UPDATE agrimap_alert_dispatch SET last_event_id = max(last_event_id, ?1) WHERE id = 1",
                [through_event],
            )
            .map_err(|e| db("moving the dispatch cursor", e))?;
            tx.commit().map_err(|e| db("committing", e))
        })
        .await
    }

    async fn claim_deliveries(
        &self,
        now: UtcTime,
        lease_until: UtcTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.with_conn(move |c| {
            // Asked every second: take the write lock only when something is
            // due, so that the idle deliverer never holds up other writers.
            let due: bool = c
                .query_row(&format!("SELECT EXISTS ({DUE_RECEIVERS})"), [now.to_string()], |r| {
                    r.get(0)
                })
                .map_err(|e| db("looking for due deliveries", e))?;
            if !due {
                return Ok(Vec::new());
            }
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            let claimed = {
                let mut stmt = tx
                    .prepare_cached(&format!(
                        "UPDATE agrimap_alert_deliveries SET lease_until = ?2
                         WHERE id IN (SELECT id FROM agrimap_alert_deliveries
                                      WHERE status = 'pending' AND subscription_id IN ({DUE_RECEIVERS})
                                      ORDER BY id LIMIT ?3)
                         RETURNING {DELIVERY_COLUMNS}"
                    ))
                    .map_err(|e| db("claiming deliveries", e))?;
                let rows = stmt
                    .query_map(
                        params![
                            now.to_string(),
                            lease_until.to_string(),
                            i64::try_from(limit).unwrap_or(i64::MAX)
                        ],
                        delivery_of,
                    )
                    .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>);
                collect(rows, "claiming deliveries")?
            };
            tx.commit().map_err(|e| db("committing", e))?;
            let mut claimed = claimed;
            claimed.sort_by_key(|d: &Delivery| d.id);
            Ok(claimed)
        })
        .await
    }

    async fn finish_delivery(&self, id: i64, outcome: DeliveryOutcome) -> Result<(), StoreError> {
        self.with_conn(move |c| {
            let done = match outcome {
                DeliveryOutcome::Delivered { at } => c.execute(
                    "UPDATE agrimap_alert_deliveries SET status = 'delivered', attempts = attempts + 1,
                       delivered_at = ?2, lease_until = NULL WHERE id = ?1",
                    params![id, at.to_string()],
                ),
                DeliveryOutcome::Retry { error, next_attempt_at } => c.execute(
                    "UPDATE agrimap_alert_deliveries SET attempts = attempts + 1, last_error = ?2,
                       next_attempt_at = ?3, lease_until = NULL WHERE id = ?1",
                    params![id, error, next_attempt_at.to_string()],
                ),
                DeliveryOutcome::Postponed { until } => c.execute(
                    "UPDATE agrimap_alert_deliveries SET next_attempt_at = ?2, lease_until = NULL WHERE id = ?1",
                    params![id, until.to_string()],
                ),
                DeliveryOutcome::Dead { error } => c.execute(
                    "UPDATE agrimap_alert_deliveries SET status = 'dead', attempts = attempts + 1,
                       last_error = ?2, lease_until = NULL WHERE id = ?1",
                    params![id, error],
                ),
            };
            done.map(drop).map_err(|e| db("recording a delivery attempt", e))
        })
        .await
    }

    async fn deliveries(
        &self,
        event_ids: Option<&[i64]>,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let events = event_ids.map(|ids| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()));
        self.with_conn(move |c| {
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM agrimap_alert_deliveries
                 WHERE (?1 IS NULL OR event_id IN (SELECT value FROM json_each(?1)))
                   AND (?2 IS NULL OR status = ?2)
                 ORDER BY id LIMIT ?3"
            );
            let mut stmt = c.prepare_cached(&sql).map_err(|e| db("reading deliveries", e))?;
            let rows = stmt
                .query_map(
                    params![
                        events,
                        status.map(DeliveryStatus::as_str),
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    delivery_of,
                )
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>);
            collect(rows, "reading deliveries")
        })
        .await
    }

    async fn replay_dead(&self, ids: Option<&[i64]>, now: UtcTime) -> Result<u64, StoreError> {
        let ids = ids.map(|ids| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()));
        self.with_conn(move |c| {
            c.execute(
                "UPDATE agrimap_alert_deliveries SET status = 'pending', retry_from = ?2, next_attempt_at = ?2,
                   lease_until = NULL
                 WHERE status = 'dead' AND (?1 IS NULL OR id IN (SELECT value FROM json_each(?1)))",
                params![ids, now.to_string()],
            )
            .map(|n| n as u64)
            .map_err(|e| db("replaying dead deliveries", e))
        })
        .await
    }
}
