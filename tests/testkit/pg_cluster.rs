//! PostgreSQL clusters of a test's own, for tests that stop, kill or
//! replicate a database (which the shared test cluster must never be):
//! `initdb` on a free loopback port, and streaming replicas made with
//! `pg_basebackup -R`. Clusters run as the `postgres` user when the tests
//! run as root, and are stopped and removed when dropped.

pub use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::Command;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// One running cluster (a primary, or a streaming replica of one).
pub struct Cluster {
    dir: PathBuf,
    pub port: u16,
}

/// A PostgreSQL program, run as `postgres` when the tests run as root.
fn as_postgres(program: &str) -> Command {
    let program = format!("{PG_BIN}/{program}");
    if crate::is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &program]);
        c
    } else {
        Command::new(program)
    }
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("agrimap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    let _ = Command::new("chown").arg("postgres").arg(&dir).status();
    dir
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
}

impl Cluster {
    /// A new primary (`initdb -A trust`, which also lets 127.0.0.1 replicate), started.
    ///
    /// # Panics
    /// When PostgreSQL 15 is not installed or does not start.
    #[must_use]
    pub fn create(name: &str) -> Self {
        let dir = fresh_dir(name);
        let mut initdb = as_postgres("initdb");
        initdb
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-U", "postgres", "-A", "trust"]);
        run(initdb, "initdb (tests/run.sh installs PostgreSQL)");
        let cluster = Self { dir, port: free_port() };
        cluster.start();
        cluster
    }

    /// A streaming replica of `primary` (`pg_basebackup -R`), started. With
    /// `apply_delay`, it applies each transaction that long after the
    /// primary committed it (`recovery_min_apply_delay`): a replica that is
    /// always a little behind, as one under load or far away is.
    ///
    /// # Panics
    /// When the base backup fails or the replica does not start.
    #[must_use]
    pub fn replica_of(primary: &Self, name: &str, apply_delay: Option<std::time::Duration>) -> Self {
        let dir = fresh_dir(name);
        let mut backup = as_postgres("pg_basebackup");
        backup
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string(), "-U", "postgres"])
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-R", "-X", "stream", "-c", "fast"]);
        run(backup, "pg_basebackup");
        if let Some(delay) = apply_delay {
            use std::io::Write as _;
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(dir.join("data/postgresql.auto.conf"))
                .expect("postgresql.auto.conf");
            writeln!(conf, "recovery_min_apply_delay = '{}ms'", delay.as_millis()).expect("write");
        }
        let cluster = Self { dir, port: free_port() };
        cluster.start();
        cluster
    }

    fn pg_ctl(&self, args: &[&str]) {
        let mut command = as_postgres("pg_ctl");
        command.arg("-D").arg(self.dir.join("data")).args(args);
        run(command, &format!("pg_ctl {args:?}"));
    }

    /// Starts the cluster and waits until it accepts connections.
    ///
    /// # Panics
    /// When it does not start.
    pub fn start(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        self.pg_ctl(&["-w", "-l", path(&log), "-o", &opts, "start"]);
    }

    /// Stops the cluster cleanly.
    ///
    /// # Panics
    /// When `pg_ctl` fails.
    pub fn stop(&self) {
        self.pg_ctl(&["-w", "-m", "fast", "stop"]);
    }

    /// Stops the cluster as a crash would (`-m immediate`).
    ///
    /// # Panics
    /// When `pg_ctl` fails.
    pub fn kill(&self) {
        self.pg_ctl(&["-w", "-m", "immediate", "stop"]);
    }

    /// `postgres://postgres@127.0.0.1:{port}/postgres`
    #[must_use]
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
