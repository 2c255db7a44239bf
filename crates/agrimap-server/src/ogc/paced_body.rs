//! A response body that gives up on a client that stops reading.
//!
//! hyper asks a body for its next chunk only when the socket can take it, so
//! a body cannot notice by itself that its client has stopped reading. The
//! chunks are made by a task of their own and handed over through a small
//! channel; when the client has taken nothing for [`SEND_IDLE`], the task
//! stops: it drops the store's page stream and the export's slot (or
//! whatever else it holds), and the body ends in an error, so that the
//! client sees a cut transfer rather than a short file that looks complete.
//! The stalled connection itself costs a socket until the client or the
//! connection's own timeouts close it.

use axum::body::{Body, Bytes};
use futures::{Stream, StreamExt};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a client may take nothing before its export is stopped.
pub const SEND_IDLE: Duration = Duration::from_secs(30);

/// Chunks handed over ahead of the socket: the page being sent and the next.
const AHEAD: usize = 2;

/// A body sending `chunks`, stopped (with `keep` dropped) after `idle`
/// without the client taking a chunk.
pub fn paced_body<S, E, K>(chunks: S, keep: K, idle: Duration) -> Body
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
    K: Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(AHEAD);
    let cut = Arc::new(AtomicBool::new(false));
    let cut_by_task = cut.clone();
    tokio::spawn(async move {
        let _keep = keep;
        let mut chunks = std::pin::pin!(chunks);
        while let Some(chunk) = chunks.next().await {
            let failed = chunk.is_err();
            let chunk = chunk.map_err(|e| {
                // The response has started: all that can be done is to cut it.
                tracing::error!(cause = %e, "export failed mid-stream");
                std::io::Error::other("the export failed while it was being written")
            });
            match tokio::time::timeout(idle, tx.send(chunk)).await {
                Ok(Ok(())) if !failed => {}
                // Failed, or the client went away.
                Ok(_) => return,
                Err(_) => {
                    tracing::warn!(seconds = idle.as_secs(), "export stopped: the client read nothing");
                    cut_by_task.store(true, Ordering::Release);
                    return;
                }
            }
        }
    });
    let received = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    // After the last chunk: an error if the task gave up, so the transfer is cut.
    let end = futures::stream::once(async move { cut.load(Ordering::Acquire) }).filter_map(|cut| async move {
        cut.then(|| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))
        })
    });
    Body::from_stream(received.chain(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reader_that_stops_gets_a_cut_body_and_the_task_lets_go() {
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Release);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let endless = futures::stream::repeat_with(|| Ok::<_, std::io::Error>(Bytes::from_static(b"chunk")));
        let body = paced_body(endless, Flag(dropped.clone()), Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(dropped.load(Ordering::Acquire), "the producer let go of what it held");
        let mut frames = 0;
        let mut data = body.into_data_stream();
        let end = loop {
            match data.next().await {
                Some(Ok(_)) => frames += 1,
                Some(Err(e)) => break Some(e),
                None => break None,
            }
        };
        assert_eq!(frames, AHEAD);
        assert!(end.is_some(), "the body ends in an error, not as if complete");
    }

    #[tokio::test]
    async fn a_reader_that_reads_gets_everything() {
        let three = futures::stream::iter((0..3).map(|i| Ok::<_, std::io::Error>(Bytes::from(vec![b'a' + i]))));
        let body = paced_body(three, (), Duration::from_millis(50));
        let bytes = axum::body::to_bytes(body, 1024).await.expect("complete");
        assert_eq!(&bytes[..], b"abc");
    }
}
