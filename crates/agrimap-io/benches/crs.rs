//! Throughput of `agrimap_io::crs`: 1,000,000 positions of the demo province
//! from WGS 84 into VN-2000 / UTM zone 48N and back. `cs2cs` on the same
//! positions is timed by `benches/crs_vs_cs2cs.sh` (BENCHMARKS.md).

use agrimap_io::crs::{Crs, Transform};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::{Coord, coord};
use std::hint::black_box;

const POINTS: u32 = 1_000_000;

/// A 1000 × 1000 grid over the demo province's bounds.
fn grid() -> Vec<Coord> {
    (0..1000)
        .flat_map(|i| {
            (0..1000).map(move |j| coord! { x: 105.45 + 0.000_72 * f64::from(i), y: 9.61 + 0.000_65 * f64::from(j) })
        })
        .collect()
}

fn transform(c: &mut Criterion) {
    let positions = grid();
    let t = Transform::new(Crs::epsg(3405).expect("offered"));
    let projected: Vec<Coord> = positions.iter().map(|&p| t.from_wgs84(p).expect("projects")).collect();
    let mut group = c.benchmark_group("crs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(u64::from(POINTS)));
    group.bench_function("wgs84_to_epsg3405_1m", |b| {
        b.iter(|| {
            let n = positions
                .iter()
                .filter(|&&p| t.from_wgs84(black_box(p)).is_ok())
                .count();
            assert_eq!(n, positions.len());
        });
    });
    group.bench_function("epsg3405_to_wgs84_1m", |b| {
        b.iter(|| {
            let n = projected.iter().filter(|&&p| t.to_wgs84(black_box(p)).is_ok()).count();
            assert_eq!(n, projected.len());
        });
    });
    group.finish();
}

criterion_group!(benches, transform);
criterion_main!(benches);
