//! Accepting connections and serving HTTP/1.1 on them.
//!
//! `axum::serve` cannot bound how long a client takes to send a request head,
//! so a socket that sends nothing, or a header line now and then, stays open
//! for good. agrimap serves each connection with hyper's HTTP/1.1 builder
//! instead: the head of every request (the first, and each one after on a
//! kept-alive connection) must arrive within [`ServerConfig::header_timeout`],
//! or the connection is closed; each address holds at most
//! [`ServerConfig::max_connections_per_address`] connections at once (see
//! [`crate::connections`]); and hyper's own answers to unreadable heads carry
//! the JSON error ([`crate::parse_errors`]).
//!
//! [`ServerConfig::header_timeout`]: crate::ServerConfig::header_timeout
//! [`ServerConfig::max_connections_per_address`]: crate::ServerConfig::max_connections_per_address

use crate::AppState;
use crate::connections::PerAddress;
use crate::error::ApiError;
use crate::parse_errors::JsonParseErrors;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// Serves the app on `listener` until `shutdown` completes, then lets
/// in-flight requests finish.
///
/// # Errors
/// None today: a failed accept is logged and retried, so that running out of
/// file descriptors for a moment does not stop the service.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.config.header_timeout);
    let per_address = PerAddress::new(state.config.max_connections_per_address);
    let streams = state.clone();
    let app = crate::app(state);
    // Every connection task holds a sender; all are gone once the last ends.
    let (stop, stopping) = tokio::sync::watch::channel(());
    let (alive, mut all_ended) = tokio::sync::mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    wait_after_accept_error(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(slot) = per_address.admit(peer.ip()) else {
            refuse(&stream, peer);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app.clone().map_request(move |mut req: Request<Incoming>| {
            // For the per-address quotas, as `into_make_service_with_connect_info` did.
            req.extensions_mut().insert(ConnectInfo(peer));
            req
        });
        let connection = http.serve_connection(
            TokioIo::new(JsonParseErrors::new(stream)),
            TowerToHyperService::new(service),
        );
        let (mut stopping, alive) = (stopping.clone(), alive.clone());
        tokio::spawn(async move {
            tokio::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => ended,
                _ = stopping.changed() => {
                    // The request in flight finishes; no other is read.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = ended {
                // Clients hanging up, stalling past the header timeout or
                // sending garbage are everyday events, not server faults.
                tracing::debug!(cause = %e, "connection ended");
            }
            drop(slot);
            drop(alive);
        });
    }
    drop(listener);
    streams.stop_streams();
    let _ = stop.send(());
    drop(alive);
    let _ = all_ended.recv().await;
    Ok(())
}

/// Answers a connection over its address's share with a 429 it may read,
/// without waiting for anything, and closes it.
fn refuse(stream: &TcpStream, peer: SocketAddr) {
    // At debug level: a flood of refused connections must not flood the log too.
    tracing::debug!(address = %peer.ip(), "too many connections from one address; refused");
    let error = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_connections",
        "this address holds too many open connections; close some and try again",
    );
    let body = error.body().to_string();
    let answer = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // A fresh socket's send buffer takes this at once; if not, the close says enough.
    let _ = stream.try_write(answer.as_bytes());
}

/// After a failed accept: at once for errors of that one connection, a
/// little later for errors of the process (out of file descriptors), so the
/// loop does not spin while connections close.
async fn wait_after_accept_error(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::warn!(cause = %e, "accepting a connection failed; retrying shortly");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
