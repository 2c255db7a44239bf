//! Administrative identity.
//!
//! Vietnam reorganised its administrative units on 1 July 2025: districts were
//! abolished and many communes merged. A commune code alone is therefore
//! ambiguous across time; a commune is identified by its code *and* the boundary
//! set it belongs to. Every thematic feature stores both, so a crosswalk between
//! sets can be added later without changing any layer schema.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The set of administrative boundaries a code refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BoundarySet {
    /// Province / district / commune, valid until 30 June 2025.
    #[serde(rename = "pre-2025")]
    Pre2025,
    /// Province / commune, valid from 1 July 2025.
    #[serde(rename = "2025")]
    Y2025,
}

impl BoundarySet {
    /// The value stored in the `boundary_set` field of every layer.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pre2025 => "pre-2025",
            Self::Y2025 => "2025",
        }
    }

    /// Parses the stored value.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pre-2025" => Some(Self::Pre2025),
            "2025" => Some(Self::Y2025),
            _ => None,
        }
    }
}

impl fmt::Display for BoundarySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The full identity of a commune: official code plus boundary set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CommuneKey {
    pub code: String,
    pub boundary_set: BoundarySet,
}
/// The 34 provinces of the two-level system in force since 1 July 2025
/// (Resolution 202/2025/QH15 of the National Assembly on arranging
/// provincial-level units): official code and name. Every 2025 commune code
/// lies in one of them.
pub const PROVINCES_2025: [(&str, &str); 34] = [
    ("01", "Thành phố Hà Nội"),
    ("04", "Tỉnh Cao Bằng"),
    ("08", "Tỉnh Tuyên Quang"),
    ("11", "Tỉnh Điện Biên"),
    ("12", "Tỉnh Lai Châu"),
    ("14", "Tỉnh Sơn La"),
    ("15", "Tỉnh Lào Cai"),
    ("19", "Tỉnh Thái Nguyên"),
    ("20", "Tỉnh Lạng Sơn"),
    ("22", "Tỉnh Quảng Ninh"),
    ("24", "Tỉnh Bắc Ninh"),
    ("25", "Tỉnh Phú Thọ"),
    ("31", "Thành phố Hải Phòng"),
    ("33", "Tỉnh Hưng Yên"),
    ("37", "Tỉnh Ninh Bình"),
    ("38", "Tỉnh Thanh Hóa"),
    ("40", "Tỉnh Nghệ An"),
    ("42", "Tỉnh Hà Tĩnh"),
    ("44", "Tỉnh Quảng Trị"),
    ("46", "Thành phố Huế"),
    ("48", "Thành phố Đà Nẵng"),
    ("51", "Tỉnh Quảng Ngãi"),
    ("52", "Tỉnh Gia Lai"),
    ("56", "Tỉnh Khánh Hòa"),
    ("66", "Tỉnh Đắk Lắk"),
    ("68", "Tỉnh Lâm Đồng"),
    ("75", "Tỉnh Đồng Nai"),
    ("79", "Thành phố Hồ Chí Minh"),
    ("80", "Tỉnh Tây Ninh"),
    ("82", "Tỉnh Đồng Tháp"),
    ("86", "Tỉnh Vĩnh Long"),
    ("91", "Tỉnh An Giang"),
    ("92", "Thành phố Cần Thơ"),
    ("96", "Tỉnh Cà Mau"),
];

/// The official name of a 2025 province by its code.
#[must_use]
pub fn province_2025(code: &str) -> Option<&'static str> {
    PROVINCES_2025.iter().find(|(c, _)| *c == code).map(|(_, name)| *name)
}
