//! `agrimap init`: an empty store for a department's own data. Without it,
//! the first command on a new data directory seeds the demo province; a
//! store made here is never seeded, so `serve` shows what was imported.

use crate::store_args::StoreArgs;
use agrimap_store::GpkgStore;
use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn init(args: &InitArgs) -> anyhow::Result<()> {
    if let Some(url) = &args.store.database {
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        runtime.block_on(crate::postgres::connect_and_migrate(url))?;
        eprintln!("PostGIS store ready: schema up to date (an empty database stays empty)");
        return Ok(());
    }
    let path = args.store.data_dir.join("agrimap.gpkg");
    if path.exists() {
        GpkgStore::open(&path).with_context(|| format!("opening the store {}", path.display()))?;
        eprintln!("{} already holds a store: left as it is", path.display());
        return Ok(());
    }
    std::fs::create_dir_all(&args.store.data_dir)
        .with_context(|| format!("creating the data directory {}", args.store.data_dir.display()))?;
    GpkgStore::create(&path).with_context(|| format!("creating the store {}", path.display()))?;
    eprintln!(
        "empty store created at {}; next: agrimap boundaries import FILE --set 2025 --data-dir {}",
        path.display(),
        args.store.data_dir.display()
    );
    Ok(())
}
