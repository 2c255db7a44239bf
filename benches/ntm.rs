//! NTM scorecards and the province's roll-up on a large province: every
//! commune's scorecard computed cold (a new core each time, so the
//! statistics tables behind it are computed too), and the dashboard
//! answered once computed (from its cache, after the store is asked
//! whether anything it reads changed).
//!
//! Needs an embedded store of a large demo province, named by
//! `AGRIMAP_NTM_BENCH_STORE` (made with `agrimap demo-data --parcels 1000000
//! --out /tmp/demo1m` and `agrimap init`/first start of `agrimap serve
//! --seed-dir /tmp/demo1m --data-dir /tmp/ntm1m`); without it the bench
//! does nothing.
//!
//! Run: `AGRIMAP_NTM_BENCH_STORE=/tmp/ntm1m/agrimap.gpkg cargo bench --bench ntm`.

use agrimap_core::ntm::dashboard::{DashboardRequest, dashboard};
use agrimap_core::{Core, CoreConfig};
use agrimap_store::{GpkgStore, Store};
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::Arc;
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let Some(path) = std::env::var_os("AGRIMAP_NTM_BENCH_STORE") else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(GpkgStore::open(std::path::Path::new(&path)).expect("store"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let req = DashboardRequest {
        province: Some("99".into()),
        boundary_set: None,
        year: 2025,
    };
    let communes = runtime
        .block_on(Core::new(store.clone(), CoreConfig::default()).commune_index())
        .expect("communes")
        .communes()
        .len();
    let mut group = c.benchmark_group("ntm");
    group.sample_size(10).measurement_time(Duration::from_mins(1));
    group.bench_function(format!("scorecards of all {communes} communes, cold"), |b| {
        b.iter(|| {
            let core = Core::new(store.clone(), CoreConfig::default());
            let d = runtime.block_on(dashboard(&core, &req)).expect("dashboard");
            assert_eq!(d.communes, communes);
            d
        });
    });
    let core = Core::new(store.clone(), CoreConfig::default());
    runtime.block_on(dashboard(&core, &req)).expect("dashboard");
    group.sample_size(50).measurement_time(Duration::from_secs(10));
    group.bench_function("dashboard once computed", |b| {
        b.iter(|| runtime.block_on(dashboard(&core, &req)).expect("dashboard"));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
