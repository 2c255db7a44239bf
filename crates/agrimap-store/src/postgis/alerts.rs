//! The alert history, subscriptions and delivery queue in PostgreSQL
//! (migration 0010). Times are `timestamptz`, bound and read as UTC text.
//! Claims take `FOR UPDATE SKIP LOCKED`, so instances sharing a database
//! never send one delivery twice at once.

use super::{PgStore, pg, read_versions};
use crate::StoreError;
use crate::alerts::{self as shared, AlertStore, DeliveryOutcome, EventQuery};
use agrimap_model::UtcTime;
use agrimap_model::alerts::{
    AlertEvent, Delivery, DeliveryStatus, NewAlertEvent, NewSubscription, StationClock, Subscription,
};
use agrimap_model::readings::AlertState;
use deadpool_postgres::GenericClient;
use std::fmt::Write as _;
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// A `timestamptz` column as stored text (`YYYY-MM-DDTHH:MM:SSZ`).
fn utc(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

fn event_columns() -> String {
    format!(
        "id, station_id, station_kind, commune_code, from_state, to_state, cause::text, {}",
        utc("at")
    )
}

fn delivery_columns() -> String {
    format!(
        "id, event_id, subscription_id, status, attempts::bigint, last_error, {}, {}, {}, {}",
        utc("created_at"),
        utc("retry_from"),
        utc("next_attempt_at"),
        utc("delivered_at")
    )
}

fn subscription_columns() -> String {
    format!(
        "id, name, scope::text, url, secret, owner_provinces, created_by, {}",
        utc("created_at")
    )
}

const STATION_CLOCK: &str = "SELECT station_id, kind, status, alert_state,
   to_char(last_reading_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), report_interval_min, commune_code
   FROM monitoring";

fn clock_of(r: &Row) -> (StationClock, String) {
    let clock = StationClock {
        station_id: r.get(0),
        kind: r.get::<_, Option<String>>(1).unwrap_or_default(),
        status: r.get(2),
        alert_state: r.get::<_, Option<String>>(3).as_deref().and_then(AlertState::parse),
        last_reading_at: r
            .get::<_, Option<String>>(4)
            .as_deref()
            .and_then(|t| UtcTime::parse(t).ok()),
        report_interval_min: r.get(5),
    };
    (clock, r.get::<_, Option<String>>(6).unwrap_or_default())
}

/// The station as ingestion sees it before a change, its row locked until
/// the transaction ends.
pub(super) async fn station_before(
    tx: &impl GenericClient,
    station: &str,
) -> Result<Option<(StationClock, String)>, StoreError> {
    let row = tx
        .query_opt(
            &format!("{STATION_CLOCK} WHERE station_id = $1::text FOR UPDATE"),
            &[&station],
        )
        .await
        .map_err(pg("reading a station's state"))?;
    Ok(row.as_ref().map(clock_of))
}

/// Stores one change, in the caller's transaction.
pub(super) async fn insert_event(tx: &impl GenericClient, event: NewAlertEvent) -> Result<AlertEvent, StoreError> {
    let cause = event.cause.as_ref().map(shared::cause_text);
    let row = tx
        .query_one(
            "INSERT INTO agrimap_alert_events (station_id, station_kind, commune_code, from_state, to_state, cause, at)
             VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::timestamptz) RETURNING id",
            &[
                &event.station_id,
                &event.station_kind,
                &event.commune_code,
                &event.from.as_str(),
                &event.to.as_str(),
                &cause,
                &event.at.to_string(),
            ],
        )
        .await
        .map_err(pg("storing an alert event"))?;
    Ok(event.stored(row.get(0)))
}

fn event_of(r: &Row) -> Result<AlertEvent, StoreError> {
    shared::event_from_parts(
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get::<_, &str>(4),
        r.get::<_, &str>(5),
        r.get::<_, Option<&str>>(6),
        r.get::<_, &str>(7),
    )
    .map_err(StoreError::Corrupt)
}

fn delivery_of(r: &Row) -> Result<Delivery, StoreError> {
    shared::delivery_from_parts(
        r.get(0),
        r.get(1),
        r.get(2),
        r.get::<_, &str>(3),
        r.get(4),
        r.get(5),
        [r.get(6), r.get(7), r.get(8), r.get(9)],
    )
    .map_err(StoreError::Corrupt)
}

fn subscription_of(r: &Row) -> Result<Subscription, StoreError> {
    shared::subscription_from_parts(
        r.get(0),
        r.get(1),
        r.get::<_, &str>(2),
        r.get(3),
        r.get(4),
        r.get::<_, &str>(5),
        r.get(6),
        r.get::<_, &str>(7),
    )
    .map_err(StoreError::Corrupt)
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit.max(1)).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl AlertStore for PgStore {
    async fn silence(&self, now: UtcTime) -> Result<Vec<AlertEvent>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // In station order, as ingestion locks them, so the two cannot deadlock.
        let rows = tx
            .query(
                &format!(
                    "{STATION_CLOCK} WHERE last_reading_at IS NOT NULL AND alert_state IS DISTINCT FROM 'silent'
                     ORDER BY station_id FOR UPDATE"
                ),
                &[],
            )
            .await
            .map_err(pg("reading station clocks"))?;
        let mut events = Vec::new();
        for (clock, commune) in rows.iter().map(clock_of).filter(|(c, _)| c.falls_silent(now)) {
            tx.execute(
                "UPDATE monitoring SET alert_state = 'silent' WHERE station_id = $1::text",
                &[&clock.station_id],
            )
            .await
            .map_err(pg("marking a station silent"))?;
            events.push(insert_event(&tx, shared::silence_event(clock, commune, now)).await?);
        }
        tx.commit().await.map_err(pg("committing"))?;
        if !events.is_empty()
            && let Some(watch) = self.watch.get()
        {
            let read = read_versions(&client).await.map_err(pg("reading layer versions"))?;
            watch.observe(&read);
        }
        Ok(events)
    }

    async fn alert_events(&self, q: &EventQuery) -> Result<Vec<AlertEvent>, StoreError> {
        let mut sql = format!("SELECT {} FROM agrimap_alert_events WHERE true", event_columns());
        let (from, to) = (q.from.map(|t| t.to_string()), q.to.map(|t| t.to_string()));
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(after) = &q.after_id {
            params.push(after);
            let _ = write!(sql, " AND id > ${}", params.len());
        }
        if let Some(station) = &q.station_id {
            params.push(station);
            let _ = write!(sql, " AND station_id = ${}::text", params.len());
        }
        if let Some(from) = &from {
            params.push(from);
            let _ = write!(sql, " AND at >= ${}::text::timestamptz", params.len());
        }
        if let Some(to) = &to {
            params.push(to);
            let _ = write!(sql, " AND at <= ${}::text::timestamptz", params.len());
        }
        if let Some(communes) = &q.communes {
            params.push(communes);
            let _ = write!(sql, " AND commune_code = ANY(${}::text[])", params.len());
        }
        let _ = write!(
            sql,
            " ORDER BY id {} LIMIT {}",
            if q.newest_first { "DESC" } else { "ASC" },
            limit_of(q.limit)
        );
        let client = self.client().await?;
        let rows = client.query(&sql, &params).await.map_err(pg("reading alert events"))?;
        rows.iter().map(event_of).collect()
    }

    async fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "INSERT INTO agrimap_alert_subscriptions
                       (name, scope, url, secret, owner_provinces, created_by, created_at)
                     VALUES ($1, $2::text::jsonb, $3, $4, $5, $6, $7::text::timestamptz) RETURNING {}",
                    subscription_columns()
                ),
                &[
                    &new.name,
                    &shared::scope_text(&new.scope),
                    &new.url,
                    &new.secret,
                    &new.owner_provinces.join(","),
                    &new.created_by,
                    &UtcTime::now().to_string(),
                ],
            )
            .await
            .map_err(pg("storing a subscription"))?;
        subscription_of(&row)
    }

    async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM agrimap_alert_subscriptions WHERE ended_at IS NULL ORDER BY id",
                    subscription_columns()
                ),
                &[],
            )
            .await
            .map_err(pg("reading subscriptions"))?;
        rows.iter().map(subscription_of).collect()
    }

    async fn end_subscription(&self, id: i64, at: UtcTime) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE agrimap_alert_subscriptions SET ended_at = $2::text::timestamptz
                 WHERE id = $1 AND ended_at IS NULL",
                &[&id, &at.to_string()],
            )
            .await
            .map_err(pg("ending a subscription"))?;
        Ok(n > 0)
    }

    async fn restore_alert_history(&self, events: &[AlertEvent], deliveries: &[Delivery]) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // Ingestion adds events in its own transactions: the copy takes the
        // table whole, so none slips in between the check and the copy.
        tx.batch_execute("LOCK TABLE agrimap_alert_events IN EXCLUSIVE MODE")
            .await
            .map_err(pg("locking the alert history"))?;
        let held = tx
            .query(
                &format!("SELECT {} FROM agrimap_alert_events ORDER BY id", event_columns()),
                &[],
            )
            .await
            .map_err(pg("reading alert events"))?;
        let held: Vec<AlertEvent> = held.iter().map(event_of).collect::<Result<_, _>>()?;
        if !shared::may_restore_events(&held, events)? {
            return Ok(false);
        }
        let insert = tx
            .prepare(
                "INSERT INTO agrimap_alert_events (id, station_id, station_kind, commune_code, from_state, to_state, cause, at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::timestamptz)",
            )
            .await
            .map_err(pg("copying an alert event"))?;
        for e in events {
            tx.execute(
                &insert,
                &[
                    &e.id,
                    &e.station_id,
                    &e.station_kind,
                    &e.commune_code,
                    &e.from.as_str(),
                    &e.to.as_str(),
                    &e.cause.as_ref().map(shared::cause_text),
                    &e.at.to_string(),
                ],
            )
            .await
            .map_err(pg("copying an alert event"))?;
        }
        let insert = tx
            .prepare(
                "INSERT INTO agrimap_alert_deliveries (id, event_id, subscription_id, status, attempts, last_error,
                   created_at, retry_from, next_attempt_at, delivered_at)
                 VALUES ($1, $2, $3, $4, $5::bigint::integer, $6, $7::text::timestamptz, $8::text::timestamptz,
                   $9::text::timestamptz, $10::text::timestamptz)",
            )
            .await
            .map_err(pg("copying an alert delivery"))?;
        for d in deliveries {
            tx.execute(
                &insert,
                &[
                    &d.id,
                    &d.event_id,
                    &d.subscription_id,
                    &d.status.as_str(),
                    &d.attempts,
                    &d.last_error,
                    &d.created_at.to_string(),
                    &d.retry_from.to_string(),
                    &d.next_attempt_at.to_string(),
                    &d.delivered_at.map(|t| t.to_string()),
                ],
            )
            .await
            .map_err(pg("copying an alert delivery"))?;
        }
        let last = shared::last_id(events.iter().map(|e| e.id));
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('agrimap_alert_events', 'id'), $1)",
            &[&last],
        )
        .await
        .map_err(pg("moving the alert events' sequence past the copy"))?;
        tx.execute(
            "SELECT setval(pg_get_serial_sequence('agrimap_alert_deliveries', 'id'),
               greatest($1, (SELECT last_value FROM agrimap_alert_deliveries_id_seq)))",
            &[&shared::last_id(deliveries.iter().map(|d| d.id))],
        )
        .await
        .map_err(pg("moving the deliveries' sequence past the copy"))?;
        tx.execute(
            "UPDATE agrimap_alert_dispatch SET last_event_id = greatest(last_event_id, $1) WHERE id = 1",
            &[&last],
        )
        .await
        .map_err(pg("moving the dispatch cursor"))?;
        tx.commit().await.map_err(pg("copying the alert history"))?;
        Ok(true)
    }

    async fn dispatch_cursor(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one("SELECT last_event_id FROM agrimap_alert_dispatch WHERE id = 1", &[])
            .await
            .map_err(pg("reading the dispatch cursor"))?;
        Ok(row.get(0))
    }

    async fn enqueue_deliveries(
        &self,
        through_event: i64,
        pairs: &[(i64, i64)],
        now: UtcTime,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let (events, subscriptions): (Vec<i64>, Vec<i64>) = pairs.iter().copied().unzip();
        tx.execute(
            "INSERT INTO agrimap_alert_deliveries
               (event_id, subscription_id, status, created_at, retry_from, next_attempt_at)
             SELECT e, s, 'pending', $3::text::timestamptz, $3::text::timestamptz, $3::text::timestamptz
             FROM unnest($1::bigint[], $2::bigint[]) AS p(e, s)
             ON CONFLICT DO NOTHING",
            &[&events, &subscriptions, &now.to_string()],
        )
        .await
        .map_err(pg("queueing deliveries"))?;
        tx.execute(
            "UPDATE agrimap_alert_dispatch SET last_event_id = greatest(last_event_id, $1) WHERE id = 1",
            &[&through_event],
        )
        .await
        .map_err(pg("moving the dispatch cursor"))?;
        tx.commit().await.map_err(pg("committing"))
    }

    async fn claim_deliveries(
        &self,
        now: UtcTime,
        lease_until: UtcTime,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "UPDATE agrimap_alert_deliveries SET lease_until = $2::text::timestamptz
                     WHERE id IN (SELECT id FROM agrimap_alert_deliveries
                                  WHERE status = 'pending' AND subscription_id IN (
                                    -- Receivers whose oldest pending delivery is due and not leased:
                                    -- a receiver's deliveries go in the order of their events.
                                    SELECT d.subscription_id FROM agrimap_alert_deliveries d
                                    JOIN (SELECT subscription_id, min(id) AS head FROM agrimap_alert_deliveries
                                          WHERE status = 'pending' GROUP BY subscription_id) h ON d.id = h.head
                                    WHERE d.next_attempt_at <= $1::text::timestamptz
                                      AND (d.lease_until IS NULL OR d.lease_until <= $1::text::timestamptz))
                                  ORDER BY id LIMIT $3
                                  FOR UPDATE SKIP LOCKED)
                     RETURNING {}",
                    delivery_columns()
                ),
                &[&now.to_string(), &lease_until.to_string(), &limit_of(limit)],
            )
            .await
            .map_err(pg("claiming deliveries"))?;
        let mut claimed: Vec<Delivery> = rows.iter().map(delivery_of).collect::<Result<_, _>>()?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    async fn finish_delivery(&self, id: i64, outcome: DeliveryOutcome) -> Result<(), StoreError> {
        let client = self.client().await?;
        match outcome {
            DeliveryOutcome::Delivered { at } => {
                client
                    .execute(
                        "UPDATE agrimap_alert_deliveries SET status = 'delivered', attempts = attempts + 1,
                           delivered_at = $2::text::timestamptz, lease_until = NULL WHERE id = $1",
                        &[&id, &at.to_string()],
                    )
                    .await
            }
            DeliveryOutcome::Retry { error, next_attempt_at } => {
                client
                    .execute(
                        "UPDATE agrimap_alert_deliveries SET attempts = attempts + 1, last_error = $2,
                           next_attempt_at = $3::text::timestamptz, lease_until = NULL WHERE id = $1",
                        &[&id, &error, &next_attempt_at.to_string()],
                    )
                    .await
            }
            DeliveryOutcome::Postponed { until } => {
                client
                    .execute(
                        "UPDATE agrimap_alert_deliveries SET next_attempt_at = $2::text::timestamptz,
                           lease_until = NULL WHERE id = $1",
                        &[&id, &until.to_string()],
                    )
                    .await
            }
            DeliveryOutcome::Dead { error } => {
                client
                    .execute(
                        "UPDATE agrimap_alert_deliveries SET status = 'dead', attempts = attempts + 1,
                           last_error = $2, lease_until = NULL WHERE id = $1",
                        &[&id, &error],
                    )
                    .await
            }
        }
        .map(drop)
        .map_err(pg("recording a delivery attempt"))
    }

    async fn deliveries(
        &self,
        event_ids: Option<&[i64]>,
        status: Option<DeliveryStatus>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let client = self.client().await?;
        let events: Option<Vec<i64>> = event_ids.map(<[i64]>::to_vec);
        let status = status.map(DeliveryStatus::as_str);
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM agrimap_alert_deliveries
                     WHERE ($1::bigint[] IS NULL OR event_id = ANY($1)) AND ($2::text IS NULL OR status = $2)
                     ORDER BY id LIMIT $3",
                    delivery_columns()
                ),
                &[&events, &status, &limit_of(limit)],
            )
            .await
            .map_err(pg("reading deliveries"))?;
        rows.iter().map(delivery_of).collect()
    }

    async fn replay_dead(&self, ids: Option<&[i64]>, now: UtcTime) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let ids: Option<Vec<i64>> = ids.map(<[i64]>::to_vec);
        client
            .execute(
                "UPDATE agrimap_alert_deliveries SET status = 'pending', retry_from = $2::text::timestamptz,
                   next_attempt_at = $2::text::timestamptz, lease_until = NULL
                 WHERE status = 'dead' AND ($1::bigint[] IS NULL OR id = ANY($1))",
                &[&ids, &now.to_string()],
            )
            .await
            .map_err(pg("replaying dead deliveries"))
    }
}
