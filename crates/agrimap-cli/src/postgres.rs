//! `agrimap migrate`: the PostGIS store's schema, and the connection every
//! command that names a database opens.

use agrimap_store::PgStore;
use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// PostgreSQL/PostGIS URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: String,
}

/// Connects and brings the schema up to date.
///
/// # Errors
/// When the database cannot be reached or refuses a migration.
pub async fn connect_and_migrate(url: &str) -> anyhow::Result<PgStore> {
    let store = PgStore::connect(url).context("connecting to PostgreSQL")?;
    let applied = store.migrate().await.context("migrating the PostGIS schema")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "PostGIS schema migrated");
    }
    Ok(store)
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Runtime::new().context("starting the async runtime")
}

/// `agrimap migrate`: brings the PostGIS schema up to date.
///
/// # Errors
/// When the runtime cannot start, or the database cannot be reached or migrated.
pub fn migrate(args: &MigrateArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        let store = PgStore::connect(&args.database).context("connecting to PostgreSQL")?;
        let applied = store.migrate().await.context("migrating the PostGIS schema")?;
        if applied.is_empty() {
            println!("schema is up to date");
        } else {
            println!("applied migrations {applied:?}");
        }
        Ok(())
    })
}
