//! Vietnamese names for the synthetic province: communes, districts, people,
//! products. Combinations of common Mekong-delta name parts, so they read
//! naturally without describing any real place or person.

use crate::rng::Rng;

const COMMUNE_FIRST: &[&str] = &[
    "Mỹ",
    "Tân",
    "Long",
    "Phú",
    "An",
    "Bình",
    "Hòa",
    "Thạnh",
    "Vĩnh",
    "Nhơn",
    "Hưng",
    "Định",
    "Phước",
    "Thới",
    "Trường",
];
const COMMUNE_SECOND: &[&str] = &[
    "Xương", "Thuận", "Hòa", "An", "Phước", "Lợi", "Thạnh", "Hưng", "Bình", "Hiệp", "Khánh", "Lộc", "Thành", "Điền",
    "Quới",
];
const DIRECTIONS: &[&str] = &["Đông", "Tây", "Nam", "Bắc", "A", "B"];

/// The two communes every demo province has (the planner examples use them).
pub const FIXED_COMMUNES: [&str; 2] = ["Mỹ Xương", "Tân Thuận Tây"];

/// `n` distinct commune names, the fixed ones first.
#[must_use]
pub fn communes(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut pool: Vec<String> = Vec::new();
    for a in COMMUNE_FIRST {
        for b in COMMUNE_SECOND {
            if a != b {
                pool.push(format!("{a} {b}"));
            }
        }
    }
    rng.shuffle(&mut pool);
    let mut names: Vec<String> = FIXED_COMMUNES.iter().map(|s| (*s).to_owned()).collect();
    let mut i = 0;
    while names.len() < n {
        let base = &pool[i % pool.len()];
        let name = if i < pool.len() {
            base.clone()
        } else {
            format!("{base} {}", DIRECTIONS[(i / pool.len() - 1) % DIRECTIONS.len()])
        };
        if !names.contains(&name) {
            names.push(name);
        }
        i += 1;
    }
    names.truncate(n);
    names
}

pub const DISTRICTS: &[&str] = &[
    "Phù Sa",
    "Châu Thành",
    "Cao Lãnh",
    "Lấp Vò",
    "Tháp Mười",
    "Tam Nông",
    "Thanh Bình",
    "Lai Vung",
    "Hồng Ngự",
    "Mỹ Tú",
    "Long Phú",
    "Cù Lao Dung",
];

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Võ", "Phan", "Trương", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý",
];
const MIDDLE: &[&str] = &["Văn", "Thị", "Minh", "Thanh", "Hoàng", "Ngọc", "Hữu", "Kim"];
const GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hạnh", "Hiếu", "Hoa", "Hùng", "Lan", "Long", "Mai", "Nam", "Phúc", "Sơn", "Tâm",
    "Thảo", "Trí", "Tuấn", "Út", "Vy",
];

/// A person's full name.
pub fn person(rng: &mut Rng) -> String {
    format!("{} {} {}", rng.pick(FAMILY), rng.pick(MIDDLE), rng.pick(GIVEN))
}

/// A Vietnamese mobile number.
pub fn phone(rng: &mut Rng) -> String {
    let prefix = rng.pick(&["090", "091", "093", "094", "097", "098", "086", "088"]);
    format!("{prefix}{:07}", rng.below(10_000_000))
}

/// Varieties by crop type.
#[must_use]
pub fn varieties(crop: &str) -> &'static [&'static str] {
    match crop {
        "rice" => &["ST25", "OM 5451", "Đài Thơm 8", "OM 18", "Jasmine 85"],
        "mango" => &["Cát Hòa Lộc", "Cát Chu", "Keo"],
        "longan" => &["Ido", "Tiêu da bò", "Xuồng cơm vàng"],
        "durian" => &["Ri6", "Monthong"],
        "pomelo" => &["Năm Roi", "Da xanh"],
        "lotus" => &["Sen hồng", "Sen trắng"],
        _ => &["Cải xanh", "Hành lá", "Dưa leo", "Khổ qua", "Ớt"],
    }
}

/// OCOP products: (name stem, category).
pub const OCOP_PRODUCTS: &[(&str, &str)] = &[
    ("Gạo ST25", "food"),
    ("Gạo hữu cơ", "food"),
    ("Mắm cá linh", "food"),
    ("Bánh pía", "food"),
    ("Sen sấy", "food"),
    ("Trà tim sen", "beverage"),
    ("Xoài cát Hòa Lộc", "food"),
    ("Bưởi Năm Roi", "food"),
    ("Nhãn sấy", "food"),
    ("Khô cá lóc", "food"),
    ("Tôm khô", "food"),
    ("Rượu nếp", "beverage"),
    ("Nước mắm", "food"),
    ("Mật ong hoa tràm", "herbal"),
    ("Chiếu cói", "textile_handicraft"),
    ("Giỏ lục bình", "textile_handicraft"),
    ("Hoa kiểng", "ornamental"),
    ("Du lịch sinh thái vườn", "tourism_service"),
];
