//! A selection read for a consumer that may stall: exports.
//!
//! [`Store::stream`] keeps its pooled connection (and, on PostgreSQL, a
//! running statement) for as long as its consumer takes. When the consumer
//! is an HTTP client that stops reading, that is for ever: eight such
//! clients held every connection of the GeoPackage store and the whole
//! service answered 503. [`resumable`] reads with a live stream while the
//! consumer keeps up (one query, as fast as before), but when the consumer
//! has not taken a chunk for `hold`, it drops the stream, which gives the
//! connection back and stops the query, and once the consumer asks again it
//! opens a new one after the last feature handed over (keyset on the id, so
//! a resumed query starts where the last one stopped, not from the start).
//!
//! Consistency: one stream is one statement, so one snapshot. Across a
//! resume, the layer's change counter must not have moved since the first
//! stream opened: it is read before the first stream and again after each
//! stream that had to stop, and if it differs the read ends with
//! [`StoreError::Changed`] rather than hand over a file that mixes two
//! states of the layer (old parcels, then those a `replace` import wrote in
//! between). A read that never stalls never checks, and never fails so.

use crate::{Store, StoreError};
use agrimap_model::{Feature, FeatureQuery, LayerDef};
use futures::StreamExt;
use futures::stream::BoxStream;
use std::sync::Arc;
use std::time::Duration;

/// Features per chunk handed over.
pub const CHUNK_FEATURES: usize = 256;

/// How long a consumer may leave a chunk untaken before the stream behind
/// it lets its connection go.
pub const HOLD: Duration = Duration::from_secs(2);

/// Chunks of features, in id order.
pub type ChunkStream = BoxStream<'static, Result<Vec<Feature>, StoreError>>;

/// The features matching `query` (offset and limit aside), in chunks, read
/// as described above. Dropping the stream stops the work.
pub fn resumable(store: Arc<dyn Store>, layer: &'static LayerDef, query: FeatureQuery, hold: Duration) -> ChunkStream {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::spawn(async move {
        if let Err(e) = read(&*store, layer, &query, hold, &tx).await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}

type Sender = tokio::sync::mpsc::Sender<Result<Vec<Feature>, StoreError>>;

async fn version(store: &dyn Store, layer: &LayerDef) -> Result<u64, StoreError> {
    Ok(store.versions().await?.get(layer.id).copied().unwrap_or(0))
}

/// Hands every chunk to `tx`; returns when done or when the consumer is gone.
async fn read(
    store: &dyn Store,
    layer: &'static LayerDef,
    query: &FeatureQuery,
    hold: Duration,
    tx: &Sender,
) -> Result<(), StoreError> {
    let started_at = version(store, layer).await?;
    let mut after = None;
    let mut resumed = false;
    loop {
        let mut chunks = store
            .stream_after(layer, query.clone(), after)
            .ready_chunks(CHUNK_FEATURES);
        let stalled = loop {
            let Some(chunk) = chunks.next().await else {
                break None;
            };
            let chunk = chunk.into_iter().collect::<Result<Vec<_>, _>>()?;
            after = chunk.last().map(|f| f.id).or(after);
            match tokio::time::timeout(hold, tx.reserve()).await {
                Ok(Ok(slot)) => slot.send(Ok(chunk)),
                Ok(Err(_)) => return Ok(()),
                Err(_) => break Some(chunk),
            }
        };
        // Stopped (the consumer stalled) or finished: the connection goes back.
        drop(chunks);
        if resumed || stalled.is_some() {
            resumed = true;
            if version(store, layer).await? != started_at {
                return Err(StoreError::Changed(layer.id.to_owned()));
            }
        }
        let Some(chunk) = stalled else {
            return Ok(());
        };
        // Wait, holding nothing of the store, until the consumer takes it.
        match tx.reserve().await {
            Ok(slot) => slot.send(Ok(chunk)),
            Err(_) => return Ok(()),
        }
    }
}
