//! Stopping SQLite work nobody waits for any more.
//!
//! Queries run on tokio's blocking pool, where dropping the request's future
//! (its deadline passed, or the client went away) does not stop them: a
//! costly filter kept a core and a pooled connection busy for seconds after
//! its request had been answered 503. The async side holds an
//! [`InterruptOnDrop`]; if it is dropped before the work is done, SQLite is
//! told to stop (`sqlite3_interrupt`), and work not yet started never starts.

use rusqlite::{Connection, InterruptHandle};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Default)]
struct Slot {
    /// The connection running the work, while it runs.
    running: Option<InterruptHandle>,
    /// The waiter went away.
    abandoned: bool,
}

/// Held by the future waiting for the work: interrupts it when dropped early.
pub(super) struct InterruptOnDrop {
    slot: Arc<Mutex<Slot>>,
    done: bool,
}

/// Held by the blocking task while it uses `conn`; unregisters the
/// connection when dropped, before it goes back to the pool, so that an
/// interrupt can never reach the next user of the connection.
pub(super) struct Running {
    slot: Arc<Mutex<Slot>>,
}

impl InterruptOnDrop {
    pub(super) fn new() -> Self {
        Self {
            slot: Arc::default(),
            done: false,
        }
    }

    /// Registers `conn` as running the work; `None` when the waiter is gone already.
    pub(super) fn start(&self, conn: &Connection) -> Option<Running> {
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.abandoned {
            return None;
        }
        slot.running = Some(conn.get_interrupt_handle());
        Some(Running {
            slot: self.slot.clone(),
        })
    }

    /// A handle for the blocking task.
    pub(super) fn handle(&self) -> Self {
        Self {
            slot: self.slot.clone(),
            done: true,
        }
    }

    /// The work finished: nothing to interrupt.
    pub(super) fn disarm(mut self) {
        self.done = true;
    }
}

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut slot = self.slot.lock().unwrap_or_else(PoisonError::into_inner);
        slot.abandoned = true;
        if let Some(handle) = slot.running.take() {
            handle.interrupt();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner).running = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_waiter_interrupts_a_running_query() {
        let conn = Connection::open_in_memory().expect("memory");
        let waiter = InterruptOnDrop::new();
        let running = waiter.start(&conn).expect("not abandoned");
        let worker = std::thread::spawn(move || {
            // Counts for ever unless interrupted.
            let r = conn.query_row(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
                [],
                |r| r.get::<_, i64>(0),
            );
            drop(running);
            r
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        drop(waiter);
        let e = worker.join().expect("thread").expect_err("interrupted");
        assert_eq!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::OperationInterrupted));
    }

    #[test]
    fn work_abandoned_before_it_starts_never_starts() {
        let conn = Connection::open_in_memory().expect("memory");
        let waiter = InterruptOnDrop::new();
        let handle = waiter.handle();
        drop(waiter);
        assert!(handle.start(&conn).is_none());
    }

    #[test]
    fn finished_work_is_not_interrupted() {
        let conn = Connection::open_in_memory().expect("memory");
        let waiter = InterruptOnDrop::new();
        drop(waiter.start(&conn));
        waiter.disarm();
        assert_eq!(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)).ok(), Some(1));
    }
}
