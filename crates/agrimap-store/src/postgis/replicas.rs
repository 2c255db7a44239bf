//! Reads of layers sent to PostgreSQL streaming replicas.
//!
//! Writes, reads inside a write's transaction, and everything that is not a
//! read of a layer (tokens, readings, registries, code lists, NTM records,
//! the change counters themselves) stay on the primary. A read of a layer
//! goes to a replica only when that replica is healthy and has caught up
//! with the layer:
//!
//! - **Caught up, per layer.** Every write statement bumps the layer's row
//!   of `agrimap_layer_version` in its own transaction, and that table is
//!   replicated like any other. The store knows the counters the primary
//!   has reached (the [`super::versions::VersionWatch`], updated by this
//!   instance right after each of its writes and by `NOTIFY` for everyone
//!   else's); the health check reads each replica's copy of the table. A
//!   replica whose counter for the layer is at least the primary's holds
//!   every write of that layer this instance knows of, so a client that has
//!   written reads its own write wherever its next read goes. The replica's
//!   counters are at most a check old, so right after a write its layer is
//!   read from the primary until the next check sees the replica caught up:
//!   never stale, at the price of up to a second of reads on the primary.
//!   Comparing WAL positions would do as well, but needs a round trip to the
//!   primary after each write and to a replica before each read; the
//!   counters are already at hand.
//! - **Healthy.** Every second each replica is asked whether it is still in
//!   recovery, how far it has replayed, and its counters. Its lag is the
//!   smaller of two upper bounds: the age of the newest primary WAL position
//!   (sampled each check) it has replayed past, and the age of the last
//!   transaction it replayed; nothing to replay is no lag, so an idle
//!   primary does not make its replicas look late. A replica further behind
//!   than the bound, unreachable, or promoted is left out until a check
//!   finds it caught up again.
//! - **No error reaches a client.** A read that fails on a replica because
//!   its connection failed (or because recovery cancelled it) is run again
//!   on the primary, and the replica is left out until the next check.

use super::{TIMEOUT, pg, read_versions};
use crate::{LayerVersions, ReplicaStatus, StoreError};
use deadpool_postgres::Pool;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// How often replicas are checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The replicas, their health and the reads sent to each side.
pub(super) struct Replicas {
    members: Vec<Replica>,
    max_lag: Duration,
    next: AtomicUsize,
    reads_primary: AtomicU64,
    reads_replica: AtomicU64,
}

/// One replica: its pool and what the last check found.
pub(super) struct Replica {
    /// `host:port/database`, never the password.
    pub(super) name: String,
    pub(super) pool: Pool,
    state: RwLock<State>,
}

#[derive(Default, Clone)]
struct State {
    /// Reachable and still a replica at the last check, and no read failed since.
    up: bool,
    lag: Option<Duration>,
    lag_bytes: Option<u64>,
    versions: LayerVersions,
}

/// Where a read went.
#[derive(Clone, Copy)]
pub(super) enum Target<'a> {
    Primary,
    Replica(&'a Replica),
}

impl Replicas {
    pub(super) fn new(members: Vec<(String, Pool)>, max_lag: Duration) -> Self {
        Self {
            members: members
                .into_iter()
                .map(|(name, pool)| Replica {
                    name,
                    pool,
                    state: RwLock::new(State::default()),
                })
                .collect(),
            max_lag,
            next: AtomicUsize::new(0),
            reads_primary: AtomicU64::new(0),
            reads_replica: AtomicU64::new(0),
        }
    }

    /// A healthy replica that holds `layer` at counter `needed` or later,
    /// taken in turn; `None` (the primary) when there is none, or when the
    /// primary's counter is not known.
    pub(super) fn pick(&self, layer: &str, needed: Option<u64>) -> Target<'_> {
        let Some(needed) = needed else {
            return Target::Primary;
        };
        let n = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| &self.members[(start + k) % n])
            .find(|r| r.serves(layer, needed, self.max_lag))
            .map_or(Target::Primary, Target::Replica)
    }

    /// Counts a read answered by `target`.
    pub(super) fn answered(&self, target: Target<'_>) {
        match target {
            Target::Primary => &self.reads_primary,
            Target::Replica(_) => &self.reads_replica,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn status(&self) -> ReplicaStatus {
        ReplicaStatus {
            reads_primary: self.reads_primary.load(Ordering::Relaxed),
            reads_replica: self.reads_replica.load(Ordering::Relaxed),
            replicas: self
                .members
                .iter()
                .map(|r| {
                    let s = r.state();
                    crate::ReplicaHealth {
                        name: r.name.clone(),
                        healthy: s.up && s.lag.is_some_and(|l| l <= self.max_lag),
                        lag: s.lag,
                        lag_bytes: s.lag_bytes,
                    }
                })
                .collect(),
        }
    }
}

impl Replica {
    fn state(&self) -> State {
        self.state.read().map(|s| s.clone()).unwrap_or_default()
    }

    fn serves(&self, layer: &str, needed: u64, max_lag: Duration) -> bool {
        self.state.read().is_ok_and(|s| {
            s.up && s.lag.is_some_and(|l| l <= max_lag) && s.versions.get(layer).is_some_and(|v| *v >= needed)
        })
    }

    /// Leaves the replica out until the next check finds it reachable.
    pub(super) fn failed(&self, cause: &StoreError) {
        if let Ok(mut s) = self.state.write()
            && s.up
        {
            s.up = false;
            tracing::warn!(replica = %self.name, %cause, "a read failed on a replica; reads go elsewhere until it answers");
        }
    }
}

/// Whether a read that failed on a replica should be run on the primary: the
/// connection failed, or recovery cancelled it (a hot standby cancels a query
/// that holds back the replay of a conflicting change).
pub(super) fn worth_retrying(e: &StoreError) -> bool {
    match e {
        StoreError::Unavailable(_) => true,
        StoreError::Postgres { source, .. } => {
            source.code() == Some(&tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE)
        }
        _ => false,
    }
}

/// The WAL positions of the primary at recent checks, newest last.
#[derive(Default)]
struct Samples(VecDeque<(Instant, u64)>);

impl Samples {
    fn push(&mut self, at: Instant, lsn: u64, keep: Duration) {
        self.0.push_back((at, lsn));
        while self.0.front().is_some_and(|(t, _)| at.duration_since(*t) > keep) {
            self.0.pop_front();
        }
    }

    /// An upper bound on how old the primary's state a replica that replayed
    /// up to `replayed` shows: nothing if it is past the newest sample, else
    /// the age of the newest sample it is past (or of the oldest one kept,
    /// at least, if it is past none).
    fn lag(&self, replayed: u64, now: Instant) -> Option<Duration> {
        let (_, newest) = self.0.back()?;
        if replayed >= *newest {
            return Some(Duration::ZERO);
        }
        let since = self
            .0
            .iter()
            .rev()
            .find(|(_, lsn)| *lsn <= replayed)
            .or(self.0.front())
            .map(|(t, _)| *t)?;
        Some(now.duration_since(since))
    }
}

/// Checks the replicas every [`CHECK_EVERY`] until the store is dropped.
pub(super) async fn keep_checking(primary: Pool, replicas: std::sync::Weak<Replicas>) {
    let mut samples = Samples::default();
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(replicas) = replicas.upgrade() else {
            return;
        };
        // The primary first: a replica past this position holds all of it.
        if let Ok(Ok(lsn)) = tokio::time::timeout(TIMEOUT, primary_lsn(&primary)).await {
            samples.push(Instant::now(), lsn, replicas.max_lag * 2 + CHECK_EVERY * 2);
        }
        let checks = replicas.members.iter().map(|r| check(r, &samples));
        futures::future::join_all(checks).await;
    }
}

async fn primary_lsn(primary: &Pool) -> Result<u64, StoreError> {
    let client = primary
        .get()
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let row = client
        .query_one("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::int8", &[])
        .await
        .map_err(pg("reading the primary's WAL position"))?;
    Ok(u64::try_from(row.get::<_, i64>(0)).unwrap_or(0))
}

/// What one replica says of itself.
struct Replay {
    in_recovery: bool,
    replayed: u64,
    /// Seconds since the last transaction it replayed committed.
    since_last_xact: Option<f64>,
    versions: LayerVersions,
}

async fn replay_of(pool: &Pool) -> Result<Replay, StoreError> {
    let client = pool.get().await.map_err(|e| StoreError::Unavailable(e.to_string()))?;
    let row = client
        .query_one(
            "SELECT pg_is_in_recovery(),
                    coalesce(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), 0)::int8,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8",
            &[],
        )
        .await
        .map_err(pg("checking a replica"))?;
    let versions = read_versions(&client)
        .await
        .map_err(pg("reading a replica's layer versions"))?;
    Ok(Replay {
        in_recovery: row.get(0),
        replayed: u64::try_from(row.get::<_, i64>(1)).unwrap_or(0),
        since_last_xact: row.get(2),
        versions,
    })
}

async fn check(replica: &Replica, samples: &Samples) {
    let found = tokio::time::timeout(TIMEOUT, replay_of(&replica.pool)).await;
    let now = Instant::now();
    let Ok(mut state) = replica.state.write() else {
        return;
    };
    let was = state.up;
    match found {
        Ok(Ok(replay)) if replay.in_recovery => {
            let by_wal = samples.lag(replay.replayed, now);
            let by_xact = replay
                .since_last_xact
                .filter(|s| s.is_finite() && *s >= 0.0)
                .map(Duration::from_secs_f64);
            state.lag = match (by_wal, by_xact) {
                (Some(Duration::ZERO), _) => Some(Duration::ZERO),
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            state.lag_bytes = samples.0.back().map(|(_, lsn)| lsn.saturating_sub(replay.replayed));
            state.versions = replay.versions;
            state.up = true;
            if !was {
                tracing::info!(replica = %replica.name, lag = ?state.lag, "replica answers");
            }
        }
        Ok(Ok(_)) => {
            state.up = false;
            if was {
                tracing::warn!(replica = %replica.name, "replica is no longer in recovery (promoted?); reads stay off it");
            }
        }
        Ok(Err(e)) => {
            state.up = false;
            if was {
                tracing::warn!(replica = %replica.name, cause = %e, "replica does not answer; reads go elsewhere");
            }
        }
        Err(_) => {
            state.up = false;
            if was {
                tracing::warn!(replica = %replica.name, "replica did not answer in time; reads go elsewhere");
            }
        }
    }
}

/// `host:port/database` of a connection configuration: how a replica is
/// named in logs, errors and metrics, without its password.
pub(super) fn name_of(config: &tokio_postgres::Config) -> String {
    let host = config.get_hosts().first().map_or_else(
        || "localhost".to_owned(),
        |h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        },
    );
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// Checks at start that `pool` reaches a streaming replica of the primary
/// whose cluster identifier is `primary_id`.
pub(super) async fn check_at_start(name: &str, pool: &Pool, primary_id: &str) -> Result<(), StoreError> {
    let ask = async {
        let client = pool
            .get()
            .await
            .map_err(|e| StoreError::Replica(format!("the replica {name} cannot be reached: {e}")))?;
        client
            .query_one(
                "SELECT pg_is_in_recovery(), (SELECT system_identifier FROM pg_control_system())::text",
                &[],
            )
            .await
            .map_err(|e| StoreError::Replica(format!("the replica {name} did not answer: {e}")))
    };
    let row = tokio::time::timeout(TIMEOUT * 2, ask)
        .await
        .map_err(|_| StoreError::Replica(format!("the replica {name} did not answer in time")))??;
    let (in_recovery, id): (bool, String) = (row.get(0), row.get(1));
    if !in_recovery {
        return Err(StoreError::Replica(format!(
            "{name} is not a replica: it is not in recovery, so it is a primary; \
             only streaming replicas of the primary may take reads"
        )));
    }
    if id != primary_id {
        return Err(StoreError::Replica(format!(
            "{name} is a replica of another cluster (system identifier {id}, the primary's is {primary_id})"
        )));
    }
    Ok(())
}

/// The primary's cluster identifier, which its replicas share.
pub(super) async fn system_identifier(primary: &Pool) -> Result<String, StoreError> {
    let client = primary
        .get()
        .await
        .map_err(|e| StoreError::Unavailable(format!("no database connection: {e}")))?;
    let row = client
        .query_one("SELECT system_identifier::text FROM pg_control_system()", &[])
        .await
        .map_err(pg("reading the primary's identifier"))?;
    Ok(row.get(0))
}

/// Starts the health checks; they stop when the last clone of the store goes.
pub(super) fn start(primary: Pool, replicas: &Arc<Replicas>) {
    tokio::spawn(keep_checking(primary, Arc::downgrade(replicas)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_newest_position_replayed() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        let keep = Duration::from_mins(1);
        s.push(t0, 100, keep);
        s.push(t0 + Duration::from_secs(1), 200, keep);
        s.push(t0 + Duration::from_secs(2), 300, keep);
        let now = t0 + Duration::from_secs(3);
        assert_eq!(s.lag(300, now), Some(Duration::ZERO), "caught up");
        assert_eq!(s.lag(400, now), Some(Duration::ZERO), "past the last sample");
        assert_eq!(
            s.lag(250, now),
            Some(Duration::from_secs(2)),
            "holds what the primary had at 1 s"
        );
        assert_eq!(
            s.lag(50, now),
            Some(Duration::from_secs(3)),
            "behind every sample: at least the oldest"
        );
        assert_eq!(Samples::default().lag(50, now), None, "no sample: unknown");
    }

    #[test]
    fn a_replica_is_named_without_its_password() {
        let config: tokio_postgres::Config = "postgres://reader:s3cret@db2.example:5433/agrimap"
            .parse()
            .expect("url");
        assert_eq!(name_of(&config), "db2.example:5433/agrimap");
        let bare: tokio_postgres::Config = "host=10.0.0.7 user=agrimap password=s3cret".parse().expect("conninfo");
        assert_eq!(
            name_of(&bare),
            "10.0.0.7:5432/agrimap",
            "the database defaults to the user's name"
        );
    }

    #[test]
    fn only_broken_connections_and_recovery_conflicts_are_retried() {
        assert!(worth_retrying(&StoreError::Unavailable("gone".into())));
        assert!(!worth_retrying(&StoreError::Timeout("reading")));
        assert!(!worth_retrying(&StoreError::NoNaturalKey("crop".into())));
    }

    #[test]
    fn old_samples_are_dropped() {
        let t0 = Instant::now();
        let mut s = Samples::default();
        let keep = Duration::from_secs(5);
        for k in 0..10 {
            s.push(t0 + Duration::from_secs(k), k * 10, keep);
        }
        assert_eq!(s.0.len(), 6, "{:?}", s.0.iter().map(|(_, l)| l).collect::<Vec<_>>());
    }
}
