//! Rivers, canals and roads, as polylines in the plane.

use crate::admin::{Admin, HEIGHT, WIDTH};
use crate::plane::distance;
use crate::rng::Rng;
use geo::{Coord, coord};

#[derive(Debug, Clone)]
pub struct Waterway {
    pub name: String,
    pub kind: &'static str,
    pub width_m: f64,
    pub line: Vec<Coord<f64>>,
}

#[derive(Debug, Clone)]
pub struct Road {
    pub name: String,
    pub reference: Option<String>,
    pub class: &'static str,
    pub surface: &'static str,
    pub line: Vec<Coord<f64>>,
}

const CANALS: &[&str] = &[
    "Kênh Xà No",
    "Kênh Quản Lộ",
    "Kênh Thốt Nốt",
    "Kênh Ba Rày",
    "Kênh Cái Sắn",
    "Kênh Tháp Mười",
    "Kênh Lấp Vò",
    "Kênh Mương Khai",
    "Kênh Phước Xuyên",
    "Kênh Hồng Ngự",
    "Kênh Tân Thành",
    "Kênh Ông Kho",
    "Kênh Nhà Thờ",
    "Kênh Thủy Lợi",
    "Kênh Cái Côn",
    "Kênh Út Tỏ",
    "Kênh Ranh",
];

fn wavy(rng: &mut Rng, from: Coord<f64>, to: Coord<f64>, amplitude: f64, steps: usize) -> Vec<Coord<f64>> {
    let phase = rng.range(0.0, std::f64::consts::TAU);
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let len = (dx * dx + dy * dy).sqrt();
    let (nx, ny) = (-dy / len, dx / len);
    (0..=steps)
        .map(|i| {
            let t = i as f64 / steps as f64;
            let w = amplitude * (t * 9.0 + phase).sin() + 0.4 * amplitude * (t * 23.0 + phase * 2.0).sin();
            coord! { x: from.x + t * dx + w * nx, y: from.y + t * dy + w * ny }
        })
        .collect()
}

/// The main rivers first (the generator keeps farmland off all of them).
#[must_use]
pub fn waterways(seed: u64) -> Vec<Waterway> {
    let mut rng = Rng::stream(seed, "water");
    let mut out = vec![
        Waterway {
            name: "Sông Hậu".into(),
            kind: "river",
            width_m: 1_100.0,
            line: wavy(
                &mut rng,
                coord! { x: -4_000.0, y: HEIGHT * 0.93 },
                coord! { x: WIDTH + 4_000.0, y: HEIGHT * 0.12 },
                2_500.0,
                120,
            ),
        },
        Waterway {
            name: "Sông Cái Lớn".into(),
            kind: "river",
            width_m: 420.0,
            line: wavy(
                &mut rng,
                coord! { x: -4_000.0, y: HEIGHT * 0.28 },
                coord! { x: WIDTH * 0.78, y: HEIGHT * 0.3 },
                1_800.0,
                90,
            ),
        },
    ];
    let mut k = 0;
    let mut x = 6_500.0;
    while x < WIDTH {
        let x0 = x + rng.range(-800.0, 800.0);
        out.push(Waterway {
            name: CANALS[k % CANALS.len()].into(),
            kind: "canal",
            width_m: (rng.range(15.0, 40.0)).round(),
            line: vec![coord! { x: x0, y: -2_000.0 }, coord! { x: x0, y: HEIGHT + 2_000.0 }],
        });
        k += 1;
        x += 7_200.0;
    }
    let mut y = 8_000.0;
    while y < HEIGHT {
        let y0 = y + rng.range(-700.0, 700.0);
        out.push(Waterway {
            name: CANALS[k % CANALS.len()].into(),
            kind: "canal",
            width_m: (rng.range(10.0, 25.0)).round(),
            line: vec![coord! { x: -2_000.0, y: y0 }, coord! { x: WIDTH + 2_000.0, y: y0 }],
        });
        k += 1;
        y += 9_000.0;
    }
    out
}

/// How far a point is from open water, less the water's half width
/// (negative: in the water).
#[must_use]
pub fn clearance(p: Coord<f64>, water: &[Waterway]) -> f64 {
    water
        .iter()
        .map(|w| {
            let d = if w.line.len() == 2 {
                // Straight canals: a segment.
                crate::plane::segment_distance(p, w.line[0], w.line[1])
            } else {
                crate::plane::polyline_distance(p, &w.line)
            };
            d - w.width_m / 2.0
        })
        .fold(f64::INFINITY, f64::min)
}

/// National road along the main river, provincial roads from the capital to
/// every district town, district roads from every commune centre to its
/// district town, and short commune roads out to hamlets.
#[must_use]
pub fn roads(seed: u64, admin: &Admin, water: &[Waterway]) -> (Vec<Road>, Vec<Coord<f64>>) {
    let mut rng = Rng::stream(seed, "roads");
    let mut roads = vec![Road {
        name: "Quốc lộ 91".into(),
        reference: Some("QL 91".into()),
        class: "national",
        surface: "asphalt",
        line: water[0]
            .line
            .iter()
            .map(|p| coord! { x: p.x, y: p.y + 2_200.0 })
            .collect(),
    }];
    let capital = admin.communes[admin.districts[0].seat].centre;
    for (d, district) in admin.districts.iter().enumerate().skip(1) {
        let to = admin.communes[district.seat].centre;
        roads.push(Road {
            name: format!("Đường tỉnh {}", 900 + d * 2),
            reference: Some(format!("ĐT {}", 900 + d * 2)),
            class: "provincial",
            surface: "asphalt",
            line: wavy(&mut rng, capital, to, 600.0, 12),
        });
    }
    let mut hamlets = Vec::new();
    for (i, c) in admin.communes.iter().enumerate() {
        let seat = admin.districts[c.district].seat;
        if seat != i {
            roads.push(Road {
                name: format!("Đường huyện {}", 10 + i),
                reference: Some(format!("ĐH {}", 10 + i)),
                class: "district",
                surface: if rng.f64() < 0.7 { "asphalt" } else { "concrete" },
                line: wavy(&mut rng, c.centre, admin.communes[seat].centre, 300.0, 8),
            });
        }
        for _ in 0..3 {
            let angle = rng.range(0.0, std::f64::consts::TAU);
            let len = rng.range(1_200.0, 2_600.0);
            let end = coord! { x: c.centre.x + len * angle.cos(), y: c.centre.y + len * angle.sin() };
            if admin.commune_at(end) != Some(i) || clearance(end, water) < 50.0 {
                continue;
            }
            roads.push(Road {
                name: format!("Đường liên ấp {}", hamlets.len() + 1),
                reference: None,
                class: "commune",
                surface: if rng.f64() < 0.6 { "concrete" } else { "gravel" },
                line: vec![c.centre, end],
            });
            hamlets.push(end);
        }
    }
    debug_assert!(hamlets.iter().all(|h| distance(*h, capital).is_finite()));
    (roads, hamlets)
}
