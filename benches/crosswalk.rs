//! The crosswalk's overlay: Sóc Trăng's 108 pre-2025 communes split over
//! the 103 communes of the merged Thành phố Cần Thơ (2025), with exact
//! intersections and ellipsoidal areas
//! (`agrimap_core::crosswalk::overlay`), on a rayon pool of 1 thread and
//! one of 2 threads; indexing the new communes is timed apart.
//!
//! The boundaries are the real files of `../shared/data` (SOURCES.md: test
//! fixtures, never in the repository); without them the bench does nothing.
//!
//! Run: `cargo bench --bench crosswalk`.

use agrimap_core::crosswalk::overlay::{Boundary, Overlay, index_new, overlay};
use criterion::{Criterion, criterion_group, criterion_main};
use geo::Geometry;
use std::path::Path;

fn boundaries(path: &Path) -> Vec<Boundary> {
    let text = std::fs::read_to_string(path).expect("boundary file");
    let collection: geojson::FeatureCollection = text.parse().expect("GeoJSON");
    collection
        .features
        .into_iter()
        .filter_map(|f| {
            let props = f.properties.as_ref()?;
            let code = props.get("code")?.as_str()?.to_owned();
            let province = props.get("province_code")?.as_str()?.to_owned();
            let geometry: Geometry<f64> = f.geometry?.try_into().ok()?;
            Boundary::new(&code, &province, &geometry)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let (Some(old), Some(new)) = (
        agrimap_suite::shared_data("soc-trang-communes-pre2025.geojson"),
        agrimap_suite::shared_data("can-tho-communes-2025.geojson"),
    ) else {
        return;
    };
    let (old, new) = (boundaries(&old), boundaries(&new));
    assert_eq!((old.len(), new.len()), (108, 103));
    let mut group = c.benchmark_group("crosswalk");
    group.sample_size(20);
    group.bench_function("index 103 new communes", |b| b.iter(|| index_new(&new)));
    let zones = index_new(&new);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        group.bench_function(format!("overlay 108 x 103, {threads} thread(s)"), |b| {
            b.iter(|| {
                let o: Overlay = pool.install(|| overlay(&old, &zones));
                // Every old commune lies in the new city.
                assert!(o.shares.len() >= 108);
                o
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
