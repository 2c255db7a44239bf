//! Which store a command works on: PostGIS when a database URL is given,
//! otherwise the embedded GeoPackage under the data directory (created from
//! the demo province on first use).

use agrimap_store::Store;
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// PostgreSQL/PostGIS URL (`postgres://user@host/db`); without it the embedded store is used.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database: Option<String>,
    /// Directory holding the embedded store (agrimap.gpkg); created on first start.
    #[arg(long, env = "AGRIMAP_DATA_DIR", default_value = "agrimap-data", global = true)]
    pub data_dir: PathBuf,
    /// Demo province to seed a new store from.
    #[arg(long, env = "AGRIMAP_SEED_DIR", default_value = "data/demo", global = true)]
    pub seed_dir: PathBuf,
}

impl StoreArgs {
    /// Opens the store, and says which one it is (for logs).
    ///
    /// # Errors
    /// When the database cannot be reached or migrated, or the embedded store
    /// cannot be opened or seeded.
    pub async fn open(&self) -> anyhow::Result<(Arc<dyn Store>, String)> {
        self.open_with_replicas(&ReplicaArgs::default()).await
    }

    /// Opens the store with its read replicas (PostGIS only).
    ///
    /// # Errors
    /// As [`StoreArgs::open`]; and when replicas are given without a
    /// database, or one of them cannot serve (unreachable, a primary, a
    /// replica of another cluster).
    pub async fn open_with_replicas(&self, replicas: &ReplicaArgs) -> anyhow::Result<(Arc<dyn Store>, String)> {
        if !replicas.database_replica.is_empty() {
            let Some(url) = &self.database else {
                anyhow::bail!("--database-replica needs --database: read replicas are replicas of a PostGIS primary");
            };
            let max_lag = replicas.max_lag()?;
            let store = crate::postgres::connect_and_migrate(url).await?;
            let store = store
                .with_replicas(&replicas.database_replica, max_lag)
                .await
                .context("--database-replica")?;
            let n = replicas.database_replica.len();
            return Ok((Arc::new(store), format!("postgis with {n} read replica(s)")));
        }
        Ok(if let Some(url) = &self.database {
            (
                Arc::new(crate::postgres::connect_and_migrate(url).await?),
                "postgis".to_owned(),
            )
        } else {
            let path = self.data_dir.join("agrimap.gpkg");
            let store = crate::seed::open_or_seed(&path, &self.seed_dir)?;
            (Arc::new(store), path.display().to_string())
        })
    }
}

/// Streaming replicas of the PostGIS primary that take reads (`serve` only).
#[derive(Debug, Default, clap::Args)]
pub struct ReplicaArgs {
    /// A PostgreSQL streaming replica of the `--database` primary to send reads of layers to
    /// (repeatable; comma-separated in the environment). Writes go to the primary; each must
    /// answer at start and be in recovery.
    #[arg(
        long,
        env = "AGRIMAP_DATABASE_REPLICAS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub database_replica: Vec<String>,
    /// Seconds a replica may be behind the primary before reads leave it, until it catches up.
    #[arg(long, env = "AGRIMAP_REPLICA_MAX_LAG", default_value_t = 5.0)]
    pub replica_max_lag: f64,
}

impl ReplicaArgs {
    fn max_lag(&self) -> anyhow::Result<std::time::Duration> {
        std::time::Duration::try_from_secs_f64(self.replica_max_lag)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| anyhow::anyhow!("--replica-max-lag must be a number of seconds above 0"))
    }
}
