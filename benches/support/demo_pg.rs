//! Shared by the statistics benches: an empty PostGIS database filled with
//! the demo province by the store's own writer, then vacuumed and analysed.

use agrimap_model::catalog;
use agrimap_store::{LayerStore as _, LayerWrite, Store, WriteBatch};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Empties the database at `url`, writes `province` into it in one batch,
/// and runs `VACUUM ANALYZE` on each of `analyse`. Returns the store, the
/// features written and how long the write took.
pub async fn load_demo(
    url: &str,
    province: agrimap_demo::DemoProvince,
    analyse: &[&str],
) -> Result<(Arc<dyn Store>, usize, Duration), BoxError> {
    let store = agrimap::postgres::connect_and_migrate(url).await?;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let tables: Vec<&str> = catalog().iter().map(|l| l.id).chain(["readings"]).collect();
    client.batch_execute(&format!("TRUNCATE {}", tables.join(", "))).await?;
    let agrimap_demo::DemoProvince { layers, readings, .. } = province;
    let started = Instant::now();
    let written = store
        .write(WriteBatch {
            layers: layers
                .into_iter()
                .map(|(layer, features)| LayerWrite {
                    layer,
                    replace: true,
                    features,
                })
                .collect(),
            readings,
            ..Default::default()
        })
        .await?;
    let took = started.elapsed();
    // One statement each: several in one string would run in one transaction, which VACUUM refuses.
    for table in analyse {
        client.batch_execute(&format!("VACUUM ANALYZE {table}")).await?;
    }
    Ok((Arc::new(store), written.features, took))
}
