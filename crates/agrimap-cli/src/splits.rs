//! `agrimap splits recompute`: every thematic feature split across the
//! communes again, in one transaction. The store keeps the splits itself on
//! every write it makes; this is for data written by another program in
//! bulk (a `COPY` or an `INSERT ... SELECT` in psql, whose features wait for
//! their splits until the next read), or for a store made before splits.

use crate::store_args::StoreArgs;
use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct SplitsArgs {
    #[command(subcommand)]
    pub command: SplitsCommand,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum SplitsCommand {
    /// Split every feature of every thematic layer again (one transaction).
    Recompute,
}

pub fn splits(args: &SplitsArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let store: std::sync::Arc<dyn agrimap_store::Store> = match &args.store.database {
            // Not `open`, which would first split what a bulk load left
            // pending: the recomputation splits it with everything else.
            Some(url) => {
                let store = agrimap_store::PgStore::connect(url).context("connecting to PostgreSQL")?;
                store.migrate_schema().await.context("migrating the PostGIS schema")?;
                std::sync::Arc::new(store)
            }
            None => args.store.open().await?.0,
        };
        match args.command {
            SplitsCommand::Recompute => {
                let started = std::time::Instant::now();
                let features = store.recompute_splits().await.context("recomputing the splits")?;
                println!(
                    "split {features} features across the communes in {:.1} s",
                    started.elapsed().as_secs_f64()
                );
            }
        }
        anyhow::Ok(())
    })
}
