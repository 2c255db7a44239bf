//! Creating the embedded store from a demo directory.
//!
//! The store is built under a temporary name and renamed into place only when
//! complete, so an interrupted first start never leaves a half-seeded store
//! that later starts would take for a good one.

use agrimap_model::{Audience, FeatureQuery, Value, catalog};
use agrimap_store::{Change, GpkgStore, LayerWrite, Store, StoreError, WriteBatch, WriteSummary};
use anyhow::Context;
use std::path::Path;
use std::sync::Arc;

/// Opens the GeoPackage at `path`, creating and seeding it from `seed_dir` when it does not exist.
///
/// # Errors
/// When the seed directory is missing or invalid, or the store cannot be written.
pub fn open_or_seed(path: &Path, seed_dir: &Path) -> anyhow::Result<GpkgStore> {
    if path.exists() {
        return GpkgStore::open(path).with_context(|| format!("opening the store {}", path.display()));
    }
    let started = std::time::Instant::now();
    // Unique per process: two processes seeding at once must not share a file.
    let partial = path.with_extension(format!("gpkg.partial-{}", std::process::id()));
    for stale in [partial.clone(), wal(&partial, "-wal"), wal(&partial, "-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let summary = seed(&partial, seed_dir)?;
    std::fs::rename(&partial, path).with_context(|| format!("moving the new store into {}", path.display()))?;
    for stale in [wal(&partial, "-wal"), wal(&partial, "-shm")] {
        let _ = std::fs::remove_file(stale);
    }
    tracing::info!(
        path = %path.display(),
        features = summary.features,
        readings = summary.readings,
        elapsed_ms = started.elapsed().as_millis(),
        "store created from the demo province"
    );
    GpkgStore::open(path).with_context(|| format!("opening the store {}", path.display()))
}

fn wal(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Everything in a demo directory as one write batch (every layer replaced,
/// with its history when the directory has one).
///
/// # Errors
/// When the directory is missing or a file in it is invalid.
pub fn demo_batch(seed_dir: &Path) -> anyhow::Result<WriteBatch> {
    agrimap_demo::read_manifest(seed_dir).with_context(|| {
        format!(
            "no demo province in '{}': run from the repository root, pass --seed-dir, or generate one with `agrimap demo-data --out DIR`",
            seed_dir.display()
        )
    })?;
    let mut layers = Vec::new();
    for layer in catalog() {
        let features = agrimap_demo::read_layer(seed_dir, layer)
            .with_context(|| format!("reading layer '{}' from {}", layer.id, seed_dir.display()))?;
        layers.push((layer, features));
    }
    let mut batch = WriteBatch::default();
    let history = agrimap_demo::read_history(seed_dir)
        .with_context(|| format!("reading the history from {}", seed_dir.display()))?;
    if !history.is_empty() {
        // The layers as they stood when the history starts, then each day's
        // changes at that day: the store keeps the versions as it would
        // have, had it been there.
        let steps = agrimap_demo::replay(&mut layers, &history);
        batch.valid_from = Some(start_of(agrimap_demo::HISTORY_FROM)?);
        for step in steps {
            batch.changes.push(Change {
                at: start_of(&step.date)?,
                layer: step.layer,
                put: step.put,
                remove: step.remove.into_iter().map(|k| vec![Value::Text(k)]).collect(),
            });
        }
    }
    for (layer, features) in layers {
        batch.layers.push(LayerWrite {
            layer,
            replace: true,
            features,
        });
    }
    batch.readings = agrimap_demo::read_readings(seed_dir)
        .with_context(|| format!("reading readings from {}", seed_dir.display()))?;
    Ok(batch)
}

/// The first second of a day, UTC.
fn start_of(date: &str) -> anyhow::Result<agrimap_model::UtcTime> {
    agrimap_model::UtcTime::parse(&format!("{date}T00:00:00Z")).map_err(|e| anyhow::anyhow!(e))
}

/// Everything in another store as one write batch (every layer replaced,
/// restricted fields included, every station's readings, and the versioned
/// layers' timelines: their features keep their ids, and their past
/// versions come with them).
///
/// # Errors
/// When the store cannot be read.
pub async fn store_batch(store: &dyn Store) -> Result<WriteBatch, StoreError> {
    let everything = FeatureQuery {
        audience: Audience::Full,
        ..FeatureQuery::default()
    };
    let mut batch = WriteBatch::default();
    for layer in catalog() {
        let features = store.features(layer, &everything).await?;
        if layer.id == "monitoring"
            && let Some(station_field) = layer.field_index("station_id")
        {
            for station in &features {
                if let Value::Text(id) = &station.properties[station_field] {
                    batch.readings.extend(store.readings(id).await?);
                }
            }
        }
        batch.layers.push(LayerWrite {
            layer,
            replace: true,
            features,
        });
        if layer.versioned() {
            batch.timelines.push(store.timeline(layer).await?);
        }
    }
    Ok(batch)
}

/// Creates a store at `path` holding everything in `seed_dir`, in one transaction.
///
/// # Errors
/// When the seed directory is missing or invalid, or the store cannot be written.
pub fn seed(path: &Path, seed_dir: &Path) -> anyhow::Result<WriteSummary> {
    let batch = demo_batch(seed_dir)?;
    let store = GpkgStore::create(path).with_context(|| format!("creating {}", path.display()))?;
    let summary = store
        .write_blocking(&batch)
        .context("loading the demo province into the store")?;
    seed_registry(Arc::new(store.clone())).context("registering the demo province's producers and products")?;
    // Closing the last connection folds the WAL into the file, so the store
    // that gets renamed into place is one self-contained .gpkg.
    drop(store);
    Ok(summary)
}

/// Registers the demo province's producers, growing areas and products
/// (`agrimap_core::registry::demo`), made from the layers just written.
/// On a thread of its own: the caller may be inside an async runtime.
///
/// # Errors
/// The store's.
pub fn seed_registry(store: Arc<dyn Store>) -> anyhow::Result<()> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(register_demo(store))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the registry seeding thread failed"))?
}

/// [`seed_registry`] from inside a runtime.
///
/// # Errors
/// The store's.
pub async fn register_demo(store: Arc<dyn Store>) -> anyhow::Result<()> {
    let core = agrimap_core::Core::new(store, agrimap_core::CoreConfig::default());
    agrimap_core::registry::demo::seed(&core).await?;
    Ok(())
}
