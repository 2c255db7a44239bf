//! Layer change counters held in memory, kept current by
//! `LISTEN agrimap_layer_changed`.
//!
//! Every tile request needs the counters (they are part of the cache key), so
//! reading them from the database each time would cost a round trip per tile.
//! Instead one dedicated connection listens for the notification that the
//! version trigger sends on every write statement, from any instance or any
//! other client (QGIS, psql), and re-reads the small counter table. While that
//! connection is down the copy is marked unknown and callers fall back to
//! asking the database. When the database cannot be asked either, the last
//! counters known are still at hand: nothing can be written to a database
//! that is down, so what was cached under them (tiles, statistics) is still
//! what the database holds, and it can be served through the outage.

use super::read_versions;
use crate::LayerVersions;
use futures::StreamExt;
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

const CHANNEL: &str = "agrimap_layer_changed";
/// Pause between attempts to re-establish the listening connection.
const RETRY: Duration = Duration::from_millis(250);

/// The counters while the listener is up (`current`), and the last ones
/// known from any source, kept through outages (`last`).
#[derive(Default)]
struct Counters {
    current: Option<LayerVersions>,
    last: Option<LayerVersions>,
}

type Shared = RwLock<Counters>;

/// The in-memory copy and the task that keeps it current; the task stops
/// when the watch is dropped.
pub(super) struct VersionWatch {
    current: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for VersionWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl VersionWatch {
    /// Starts listening on a connection of its own (not from the pool: a
    /// pooled connection is recycled, and LISTEN belongs to one session).
    pub(super) fn start(config: tokio_postgres::Config) -> Self {
        let current = Arc::new(RwLock::new(Counters::default()));
        let task = tokio::spawn(keep_current(config, Arc::downgrade(&current)));
        Self { current, task }
    }

    /// The counters, when the listening connection is up.
    pub(super) fn get(&self) -> Option<LayerVersions> {
        self.current.read().ok()?.current.clone()
    }

    /// The last counters known, also while the database is unreachable.
    pub(super) fn last_known(&self) -> Option<LayerVersions> {
        self.current.read().ok()?.last.clone()
    }

    /// Records counters read from the database by a caller while the
    /// listener is down.
    pub(super) fn remember(&self, read: &LayerVersions) {
        if let Ok(mut guard) = self.current.write() {
            guard.last = Some(read.clone());
        }
    }

    /// Records counters read after a write of this instance, so that its own
    /// next request sees the write without waiting for the notification.
    pub(super) fn observe(&self, read: &LayerVersions) {
        merge(&self.current, read);
    }
}

/// Counters only grow while a connection lasts, and a notification's re-read
/// may finish after a newer one: keep the larger value of each.
fn merge(shared: &Shared, read: &LayerVersions) {
    if let Ok(mut guard) = shared.write()
        && let Some(current) = guard.current.as_mut()
    {
        for (layer, v) in read {
            let entry = current.entry(layer).or_insert(0);
            *entry = (*entry).max(*v);
        }
        let guard = &mut *guard;
        guard.last.clone_from(&guard.current);
    }
}

fn set(shared: &Weak<Shared>, value: Option<LayerVersions>) -> bool {
    let Some(shared) = shared.upgrade() else {
        return false;
    };
    if let Ok(mut guard) = shared.write() {
        if value.is_some() {
            guard.last.clone_from(&value);
        }
        guard.current = value;
    }
    true
}

async fn keep_current(config: tokio_postgres::Config, shared: Weak<Shared>) {
    loop {
        if let Err(e) = listen(&config, &shared).await {
            tracing::debug!(error = %e, "layer change listener lost its connection");
        }
        if !set(&shared, None) {
            return;
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// One listening session: returns when its connection ends.
async fn listen(config: &tokio_postgres::Config, shared: &Weak<Shared>) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (notify, mut notified) = mpsc::unbounded_channel();
    // The connection object delivers notifications; when it ends (the server
    // went away) the sender drops and the loop below ends with it.
    let driver = tokio::spawn(async move {
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(message)) = messages.next().await {
            if matches!(message, AsyncMessage::Notification(_)) && notify.send(()).is_err() {
                break;
            }
        }
    });
    let session = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        // Read after LISTEN, so that no change between the two is missed.
        if !set(shared, Some(read_versions(&client).await?)) {
            return Ok(());
        }
        while notified.recv().await.is_some() {
            // One re-read covers every notification queued so far.
            while notified.try_recv().is_ok() {}
            let read = read_versions(&client).await?;
            let Some(shared) = shared.upgrade() else {
                return Ok(());
            };
            merge(&shared, &read);
        }
        Ok(())
    };
    let result = session.await;
    driver.abort();
    result
}
