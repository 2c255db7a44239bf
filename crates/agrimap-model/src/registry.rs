//! The traceability registries: producers, their products and the growing
//! areas (mã số vùng trồng) the products come from, as plain values.
//!
//! Each record has a natural key (a producer's business or tax code, a
//! product's id, a growing area's official code) by which imports update
//! it. Links go by those keys: product → producer, product → growing areas;
//! a growing area's parcels are the `crop` features whose
//! `growing_area_code` is the area's code (one field, so a parcel is in at
//! most one area). Dates are `YYYY-MM-DD`.

use crate::calendar;
use serde::{Deserialize, Serialize};

/// Which registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RegistryKind {
    Producers,
    Products,
    GrowingAreas,
}

impl RegistryKind {
    pub const ALL: [Self; 3] = [Self::Producers, Self::Products, Self::GrowingAreas];

    /// The name in URLs, files and the stores: `producers`, `products`, `growing-areas`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Producers => "producers",
            Self::Products => "products",
            Self::GrowingAreas => "growing-areas",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What kind of business a producer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProducerKind {
    Cooperative,
    Enterprise,
    Household,
}

impl ProducerKind {
    /// Reads the English word or the Vietnamese one a department writes.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = crate::search::fold(s);
        match s.as_str() {
            "cooperative" | "htx" | "hop tac xa" => Some(Self::Cooperative),
            "enterprise" | "company" | "doanh nghiep" | "cong ty" => Some(Self::Enterprise),
            "household" | "ho" | "ho gia dinh" | "ho kinh doanh" | "co so" => Some(Self::Household),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cooperative => "cooperative",
            Self::Enterprise => "enterprise",
            Self::Household => "household",
        }
    }
}

/// How to reach a producer: restricted, never shown to anonymous callers
/// nor on the public product page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub person: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// A cooperative, enterprise or farming household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Producer {
    /// Business registration or tax code (natural key).
    pub code: String,
    pub name: String,
    pub kind: ProducerKind,
    pub address: Option<String>,
    pub commune_code: String,
    pub boundary_set: String,
    /// Restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

impl Producer {
    /// The producer as anyone may see it: without its contact details.
    #[must_use]
    pub fn public(mut self) -> Self {
        self.contact = None;
        self
    }
}

/// A certificate of a farming practice (VietGAP, GlobalGAP, organic).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// `vietgap`, `globalgap` or `organic`.
    pub scheme: String,
    pub number: String,
    pub expires_on: String,
}

/// The certificate schemes a product may hold, with their printed names.
pub const CERTIFICATE_SCHEMES: &[(&str, &str)] = &[
    ("vietgap", "VietGAP"),
    ("globalgap", "GlobalGAP"),
    ("organic", "Organic"),
];

/// An OCOP rating: stars with the certificate that grants them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcopRating {
    /// 3 to 5.
    pub stars: u8,
    pub certificate: String,
    pub expires_on: String,
}

/// A key product of a commune (OCOP or not).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// Natural key, also the public id in `/t/{id}`: letters, digits and `-`.
    pub id: String,
    pub name: String,
    pub category: String,
    /// The producer's code.
    pub producer: String,
    pub commune_code: String,
    pub boundary_set: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocop: Option<OcopRating>,
    /// The point of the `ocop` layer that shows this product, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocop_product_id: Option<String>,
    #[serde(default)]
    pub certificates: Vec<Certificate>,
    /// Codes of the growing areas it comes from.
    #[serde(default)]
    pub growing_areas: Vec<String>,
}

/// What the plant-protection authority decided about a growing-area code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantStatus {
    Granted,
    Suspended,
    Revoked,
}

impl GrantStatus {
    /// Reads the registry's word (English or Vietnamese); `active` is the
    /// growing-area layer's word for granted.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match crate::search::fold(s).as_str() {
            "granted" | "active" | "da cap" | "cap" | "hieu luc" | "con hieu luc" => Some(Self::Granted),
            "suspended" | "tam dung" | "dinh chi" => Some(Self::Suspended),
            "revoked" | "thu hoi" | "huy" => Some(Self::Revoked),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }
}

/// A code's status on a given day: granted codes expire the day after `expires_on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectiveStatus {
    Active,
    Suspended,
    Revoked,
    Expired,
}

impl EffectiveStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }
}

/// An importing country's approval of a growing area.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketApproval {
    /// ISO 3166 code of the importing country (`CN`, `US`), or `EU`.
    pub market: String,
    /// The approving authority (`GACC`, `APHIS`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_on: Option<String>,
}

/// A registered growing area (mã số vùng trồng).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowingArea {
    /// The official code (natural key), checked against [`GROWING_AREA_CODE`].
    pub code: String,
    pub commune_code: String,
    pub boundary_set: String,
    pub crop_type: String,
    /// Registered hectares.
    pub area_ha: f64,
    pub households: Option<u32>,
    pub status: GrantStatus,
    pub issued_on: String,
    pub expires_on: String,
    #[serde(default)]
    pub markets: Vec<MarketApproval>,
    /// Codes of the packing facilities its produce goes through.
    #[serde(default)]
    pub packing_facilities: Vec<String>,
}

impl GrowingArea {
    /// Its status on `today` (`YYYY-MM-DD`): a granted code whose `expires_on`
    /// is before today is expired; suspended and revoked stay so.
    #[must_use]
    pub fn status_on(&self, today: &str) -> EffectiveStatus {
        match self.status {
            GrantStatus::Suspended => EffectiveStatus::Suspended,
            GrantStatus::Revoked => EffectiveStatus::Revoked,
            GrantStatus::Granted if self.expires_on.as_str() < today => EffectiveStatus::Expired,
            GrantStatus::Granted => EffectiveStatus::Active,
        }
    }
}

/// Whether a certificate (or rating) that ends on `expires_on` is still valid on `today`.
#[must_use]
pub fn valid_on(expires_on: &str, today: &str) -> bool {
    expires_on >= today
}

/// Today in Vietnam (UTC+7), where codes lapse at local midnight, of
/// seconds since 1970 (UTC).
#[must_use]
pub fn vietnam_date(unix_seconds: i64) -> String {
    calendar::format_date(unix_seconds + 7 * 3600)
}

/// The form of a growing-area code, as the plant-protection authority's
/// guidance sets it: `VN-` then the province's two letters, two letters of
/// the kind of area, `-` and a four-digit serial (`VN-DTOR-0012`). Kept as
/// data so that a change of the rules (or a province's letters) is an edit
/// here, not of the code that checks it.
#[derive(Debug, Clone, Copy)]
pub struct CodeFormat {
    pub country: &'static str,
    /// Province codes with their letters in the code.
    pub provinces: &'static [(&'static str, &'static str)],
    /// The kinds of area with their letters: `OR` (orchard) and, as some
    /// provinces issue them, letters of the crop.
    pub kinds: &'static [(&'static str, &'static str)],
    pub serial_digits: usize,
}

/// The growing-area code format in force.
pub const GROWING_AREA_CODE: CodeFormat = CodeFormat {
    country: "VN",
    provinces: &[
        ("99", "PS"), // the demo province (synthetic)
        ("92", "CT"),
        ("94", "ST"),
        ("87", "DT"),
        ("82", "TG"),
        ("83", "BT"),
        ("86", "VL"),
        ("84", "TV"),
        ("89", "AG"),
        ("91", "KG"),
        ("93", "HG"),
        ("95", "BL"),
        ("96", "CM"),
        ("80", "LA"),
        ("36", "ND"),
        ("33", "HY"),
        ("66", "DL"),
        ("64", "GL"),
        ("68", "LD"),
    ],
    kinds: &[
        ("OR", "orchard"),
        ("RI", "rice"),
        ("MA", "mango"),
        ("LO", "longan"),
        ("DU", "durian"),
        ("PO", "pomelo"),
        ("VE", "vegetables"),
        ("CO", "coffee"),
    ],
    serial_digits: 4,
};

/// What a well-formed code says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeParts {
    pub province_code: &'static str,
    pub kind: &'static str,
    pub serial: u32,
}

impl CodeFormat {
    /// Reads a code.
    ///
    /// # Errors
    /// What is wrong with it, in words for the person who typed it.
    pub fn check(&self, code: &str) -> Result<CodeParts, String> {
        let example = format!("{}-DTOR-0012", self.country);
        let mut parts = code.split('-');
        let (Some(country), Some(letters), Some(serial), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("'{}' is not of the form {example}", crate::echo(code, 40)));
        };
        if country != self.country {
            return Err(format!("'{}' must start with {}-", crate::echo(code, 40), self.country));
        }
        if letters.len() != 4 || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "'{}': four capital letters (province, then kind of area) must follow {}-, as in {example}",
                crate::echo(code, 40),
                self.country
            ));
        }
        let (province, kind) = letters.split_at(2);
        let Some(&(province_code, _)) = self.provinces.iter().find(|(_, l)| *l == province) else {
            return Err(format!("'{code}': no province has the letters {province}"));
        };
        let Some(&(kind_letters, _)) = self.kinds.iter().find(|(l, _)| *l == kind) else {
            let known: Vec<&str> = self.kinds.iter().map(|(l, _)| *l).collect();
            return Err(format!(
                "'{code}': {kind} is no kind of area (one of {})",
                known.join(", ")
            ));
        };
        if serial.len() != self.serial_digits || !serial.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "'{code}': the serial must be {} digits, as in {example}",
                self.serial_digits
            ));
        }
        Ok(CodeParts {
            province_code,
            kind: kind_letters,
            serial: serial.parse().unwrap_or(0),
        })
    }
}

/// Whether `s` is a `YYYY-MM-DD` date of the calendar.
#[must_use]
pub fn is_date(s: &str) -> bool {
    calendar::parse_date(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_read_by_the_format_kept_as_data() {
        let parts = GROWING_AREA_CODE.check("VN-DTOR-0012").expect("valid");
        assert_eq!(parts.province_code, "87");
        assert_eq!(parts.kind, "OR");
        assert_eq!(parts.serial, 12);
        assert_eq!(
            GROWING_AREA_CODE.check("VN-PSRI-0001").expect("demo").province_code,
            "99"
        );
        for bad in [
            "VN-DTOR-12",
            "VN-XXOR-0012",
            "VN-DTZZ-0012",
            "US-DTOR-0012",
            "VNDTOR0012",
            "VN-dtor-0012",
        ] {
            assert!(GROWING_AREA_CODE.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_granted_code_expires_the_day_after_its_last_day() {
        let area = GrowingArea {
            code: "VN-PSDU-0001".into(),
            commune_code: "33044".into(),
            boundary_set: "pre-2025".into(),
            crop_type: "durian".into(),
            area_ha: 9.0,
            households: Some(12),
            status: GrantStatus::Granted,
            issued_on: "2021-01-01".into(),
            expires_on: "2026-06-30".into(),
            markets: Vec::new(),
            packing_facilities: Vec::new(),
        };
        assert_eq!(area.status_on("2026-06-30"), EffectiveStatus::Active);
        assert_eq!(area.status_on("2026-07-01"), EffectiveStatus::Expired);
        let revoked = GrowingArea {
            status: GrantStatus::Revoked,
            ..area
        };
        assert_eq!(revoked.status_on("2026-01-01"), EffectiveStatus::Revoked);
        // 2026-06-30T17:00:00Z is midnight of 1 July in Vietnam.
        assert_eq!(vietnam_date(1_782_838_800), "2026-07-01");
    }

    #[test]
    fn statuses_and_kinds_are_read_in_vietnamese_too() {
        assert_eq!(GrantStatus::parse("Thu hồi"), Some(GrantStatus::Revoked));
        assert_eq!(GrantStatus::parse("active"), Some(GrantStatus::Granted));
        assert_eq!(ProducerKind::parse("Hợp tác xã"), Some(ProducerKind::Cooperative));
    }
}
