//! Which store a command works on: PostGIS when a database URL is given,
//! otherwise the embedded GeoPackage under the data directory (created from
//! the demo province on first use).

use agrimap_store::Store;
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
