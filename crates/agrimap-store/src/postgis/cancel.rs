//! Cancelling PostgreSQL statements nobody waits for any more.
//!
//! Dropping a tokio-postgres future does not stop the statement on the
//! server: it runs on until it ends or meets `statement_timeout` (a minute),
//! holding a backend and, worse, the pooled connection, which the next
//! request would find busy. A [`Guarded`] client, dropped before
//! [`Guarded::finish`], sends a cancel request and takes its connection out
//! of the pool, so that the cancel can never reach another request's
//! statement on a reused connection.

use deadpool_postgres::Object;
use tokio_postgres::{CancelToken, NoTls};

/// A pooled client whose running statement is cancelled if it is dropped early.
pub(super) struct Guarded {
    client: Option<Object>,
    token: CancelToken,
}

impl Guarded {
    pub(super) fn new(client: Object) -> Self {
        let token = client.cancel_token();
        Self {
            client: Some(client),
            token,
        }
    }

    pub(super) fn client(&self) -> &Object {
        // Only `finish` and `drop` take the client out.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("a guarded client is present until finished"))
    }

    /// The statements are done: the connection goes back to the pool.
    pub(super) fn finish(mut self) {
        drop(self.client.take());
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        // Out of the pool: the connection closes once the cancel is sent.
        let connection = Object::take(client);
        let token = self.token.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = token.cancel_query(NoTls).await {
                    tracing::warn!(cause = %e, "could not cancel an abandoned statement");
                }
                drop(connection);
            });
        }
    }
}
