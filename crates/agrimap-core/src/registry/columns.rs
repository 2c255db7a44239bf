//! The registries' columns: which header names (English, and the
//! Vietnamese a department writes, compared without marks and case) fill
//! which field, how a row becomes a record, and how a record becomes a row
//! of an export (with the first, English, names, so an export imports back).

use agrimap_model::registry::{
    CERTIFICATE_SCHEMES, Certificate, Contact, GrantStatus, GrowingArea, MarketApproval, OcopRating, Producer,
    ProducerKind, Product, RegistryKind,
};
use agrimap_model::search::fold;
use std::collections::HashMap;

/// A column: its field, the header names that mean it, whether a sheet must have it.
pub struct Column {
    pub field: &'static str,
    pub names: &'static [&'static str],
    pub required: bool,
    /// Restricted: left out of exports for callers who may not read it.
    pub restricted: bool,
}

const fn col(field: &'static str, names: &'static [&'static str], required: bool) -> Column {
    Column {
        field,
        names,
        required,
        restricted: false,
    }
}

const fn restricted(field: &'static str, names: &'static [&'static str]) -> Column {
    Column {
        field,
        names,
        required: false,
        restricted: true,
    }
}

const COMMUNE: Column = col("commune_code", &["commune_code", "ma xa", "ma don vi hanh chinh"], true);
const SET: Column = col("boundary_set", &["boundary_set", "bo ranh gioi"], false);

pub const PRODUCERS: &[Column] = &[
    col(
        "code",
        &[
            "code",
            "business_code",
            "tax_code",
            "ma so thue",
            "ma so doanh nghiep",
            "ma chu the",
        ],
        true,
    ),
    col(
        "name",
        &["name", "ten", "ten chu the", "ten co so", "ten doanh nghiep"],
        true,
    ),
    col("kind", &["kind", "type", "loai hinh", "loai"], true),
    col("address", &["address", "dia chi"], false),
    COMMUNE,
    SET,
    restricted("contact_person", &["contact_person", "nguoi lien he", "nguoi dai dien"]),
    restricted(
        "contact_phone",
        &["contact_phone", "phone", "so dien thoai", "dien thoai"],
    ),
    restricted("contact_email", &["contact_email", "email", "thu dien tu"]),
];

pub const PRODUCTS: &[Column] = &[
    col("id", &["id", "product_id", "ma san pham"], true),
    col("name", &["name", "ten san pham", "ten"], true),
    col("category", &["category", "nhom san pham", "phan loai", "nhom"], true),
    col(
        "producer",
        &["producer", "producer_code", "ma chu the", "ma so thue chu the"],
        true,
    ),
    COMMUNE,
    SET,
    col("ocop_stars", &["ocop_stars", "hang sao", "so sao", "sao ocop"], false),
    col(
        "ocop_certificate",
        &["ocop_certificate", "so chung nhan ocop", "so giay chung nhan ocop"],
        false,
    ),
    col(
        "ocop_expires_on",
        &["ocop_expires_on", "han chung nhan ocop", "ngay het han ocop"],
        false,
    ),
    col("ocop_product_id", &["ocop_product_id", "ma diem ocop"], false),
    col("vietgap_number", &["vietgap_number", "so chung nhan vietgap"], false),
    col("vietgap_expires_on", &["vietgap_expires_on", "han vietgap"], false),
    col(
        "globalgap_number",
        &["globalgap_number", "so chung nhan globalgap"],
        false,
    ),
    col(
        "globalgap_expires_on",
        &["globalgap_expires_on", "han globalgap"],
        false,
    ),
    col("organic_number", &["organic_number", "so chung nhan huu co"], false),
    col("organic_expires_on", &["organic_expires_on", "han huu co"], false),
    col(
        "growing_areas",
        &["growing_areas", "ma so vung trong", "vung trong"],
        false,
    ),
];

pub const GROWING_AREAS: &[Column] = &[
    col("code", &["code", "ma so vung trong", "ma vung trong"], true),
    COMMUNE,
    SET,
    col("crop_type", &["crop_type", "cay trong", "loai cay trong"], true),
    col("area_ha", &["area_ha", "dien tich ha", "dien tich"], true),
    col("households", &["households", "so ho"], false),
    col("status", &["status", "trang thai", "tinh trang"], true),
    col("issued_on", &["issued_on", "ngay cap"], true),
    col("expires_on", &["expires_on", "ngay het han", "han su dung"], true),
    col("markets", &["markets", "thi truong", "thi truong xuat khau"], false),
    col(
        "packing_facilities",
        &["packing_facilities", "ma so co so dong goi", "co so dong goi"],
        false,
    ),
];

/// The columns of a registry.
#[must_use]
pub fn columns(kind: RegistryKind) -> &'static [Column] {
    match kind {
        RegistryKind::Producers => PRODUCERS,
        RegistryKind::Products => PRODUCTS,
        RegistryKind::GrowingAreas => GROWING_AREAS,
    }
}

/// Where each field's column is in a sheet.
#[derive(Debug, Clone)]
pub struct Layout {
    at: HashMap<&'static str, usize>,
    /// Header cells that name no field (reported, not fatal).
    pub unknown: Vec<String>,
}

impl Layout {
    /// Finds the columns in a header row.
    ///
    /// # Errors
    /// The required columns that are missing, named.
    pub fn of(kind: RegistryKind, header: &[String]) -> Result<Self, String> {
        let cols = columns(kind);
        let mut at = HashMap::new();
        let mut unknown = Vec::new();
        for (i, cell) in header.iter().enumerate() {
            let folded = fold(cell).replace(' ', "_");
            let spaced = fold(cell);
            match cols
                .iter()
                .find(|c| c.names.iter().any(|n| *n == folded || *n == spaced))
            {
                Some(c) => {
                    at.entry(c.field).or_insert(i);
                }
                None if cell.is_empty() => {}
                None => unknown.push(cell.clone()),
            }
        }
        let missing: Vec<&str> = cols
            .iter()
            .filter(|c| c.required && !at.contains_key(c.field))
            .map(|c| c.field)
            .collect();
        if missing.is_empty() {
            Ok(Self { at, unknown })
        } else {
            Err(format!(
                "no column for {} (a header such as {})",
                missing.join(", "),
                missing
                    .iter()
                    .filter_map(|m| cols.iter().find(|c| c.field == *m))
                    .map(|c| format!("'{}'", c.names[0]))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
}

/// One row read through a layout.
pub struct Row<'a> {
    layout: &'a Layout,
    cells: &'a [String],
}

impl<'a> Row<'a> {
    #[must_use]
    pub fn new(layout: &'a Layout, cells: &'a [String]) -> Self {
        Self { layout, cells }
    }

    /// The field's cell, `None` when empty.
    fn get(&self, field: &str) -> Option<&'a str> {
        let cell = self.cells.get(*self.layout.at.get(field)?)?.trim();
        (!cell.is_empty()).then_some(cell)
    }

    fn required(&self, field: &str) -> Result<&'a str, String> {
        self.get(field).ok_or_else(|| format!("{field} is empty"))
    }

    fn text(&self, field: &str) -> Option<String> {
        self.get(field).map(str::to_owned)
    }

    fn date(&self, field: &str) -> Result<Option<String>, String> {
        self.get(field)
            .map(|d| {
                let d = normalise_date(d);
                if agrimap_model::registry::is_date(&d) {
                    Ok(d)
                } else {
                    Err(format!(
                        "{field} '{}' is no date (YYYY-MM-DD or DD/MM/YYYY)",
                        agrimap_model::echo(&d, 20)
                    ))
                }
            })
            .transpose()
    }

    fn required_date(&self, field: &str) -> Result<String, String> {
        self.date(field)?.ok_or_else(|| format!("{field} is empty"))
    }
}

/// `DD/MM/YYYY` (as Vietnamese sheets write dates typed as text) as `YYYY-MM-DD`.
fn normalise_date(d: &str) -> String {
    let parts: Vec<&str> = d.split(['/', '.']).collect();
    match parts.as_slice() {
        [day, month, year] if year.len() == 4 => format!("{year}-{month:0>2}-{day:0>2}"),
        _ => d.to_owned(),
    }
}

/// A list cell: values separated by `,` or `;`.
fn list(cell: Option<&str>) -> Vec<String> {
    cell.map(|c| {
        c.split([',', ';'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

/// The boundary set of a row, `default` when the sheet has none.
fn set(row: &Row<'_>, default: &str) -> String {
    row.text("boundary_set").unwrap_or_else(|| default.to_owned())
}

/// A producer of a row.
///
/// # Errors
/// What is wrong with the row.
pub fn producer(row: &Row<'_>, default_set: &str) -> Result<Producer, String> {
    let kind = row.required("kind")?;
    let contact = Contact {
        person: row.text("contact_person"),
        phone: row.text("contact_phone"),
        email: row.text("contact_email"),
    };
    Ok(Producer {
        code: row.required("code")?.to_owned(),
        name: row.required("name")?.to_owned(),
        kind: ProducerKind::parse(kind).ok_or_else(|| {
            format!(
                "kind '{}' is none of cooperative, enterprise, household",
                agrimap_model::echo(kind, 30)
            )
        })?,
        address: row.text("address"),
        commune_code: row.required("commune_code")?.to_owned(),
        boundary_set: set(row, default_set),
        contact: (contact != Contact::default()).then_some(contact),
    })
}

/// A product of a row.
///
/// # Errors
/// What is wrong with the row.
pub fn product(row: &Row<'_>, default_set: &str) -> Result<Product, String> {
    let ocop = match row.get("ocop_stars") {
        None => None,
        Some(stars) => Some(OcopRating {
            stars: stars.parse().map_err(|_| {
                format!(
                    "ocop_stars '{}' is not a number of stars",
                    agrimap_model::echo(stars, 20)
                )
            })?,
            certificate: row.required("ocop_certificate")?.to_owned(),
            expires_on: row.required_date("ocop_expires_on")?,
        }),
    };
    let mut certificates = Vec::new();
    for (scheme, _) in CERTIFICATE_SCHEMES {
        if let Some(number) = row.get(&format!("{scheme}_number")) {
            certificates.push(Certificate {
                scheme: (*scheme).to_owned(),
                number: number.to_owned(),
                expires_on: row.required_date(&format!("{scheme}_expires_on"))?,
            });
        }
    }
    Ok(Product {
        id: row.required("id")?.to_owned(),
        name: row.required("name")?.to_owned(),
        category: row.required("category")?.to_owned(),
        producer: row.required("producer")?.to_owned(),
        commune_code: row.required("commune_code")?.to_owned(),
        boundary_set: set(row, default_set),
        ocop,
        ocop_product_id: row.text("ocop_product_id"),
        certificates,
        growing_areas: list(row.get("growing_areas")),
    })
}

/// `CN:GACC:2024-03-01` (market, then optionally the authority and the date of approval).
fn market(text: &str) -> Result<MarketApproval, String> {
    let mut parts = text.split(':').map(str::trim);
    let market = parts.next().unwrap_or_default().to_owned();
    let authority = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    let approved_on = parts.next().filter(|s| !s.is_empty()).map(normalise_date);
    if let Some(d) = &approved_on
        && !agrimap_model::registry::is_date(d)
    {
        return Err(format!("market '{}': '{d}' is no date", agrimap_model::echo(text, 40)));
    }
    Ok(MarketApproval {
        market,
        authority,
        approved_on,
    })
}

/// A growing area of a row.
///
/// # Errors
/// What is wrong with the row.
pub fn growing_area(row: &Row<'_>, default_set: &str) -> Result<GrowingArea, String> {
    let area = row.required("area_ha")?;
    let status = row.required("status")?;
    Ok(GrowingArea {
        code: row.required("code")?.trim().to_uppercase(),
        commune_code: row.required("commune_code")?.to_owned(),
        boundary_set: set(row, default_set),
        crop_type: row.required("crop_type")?.to_owned(),
        area_ha: area
            .replace(',', ".")
            .parse()
            .map_err(|_| format!("area_ha '{}' is not a number", agrimap_model::echo(area, 20)))?,
        households: row
            .get("households")
            .map(|h| {
                h.parse()
                    .map_err(|_| format!("households '{}' is not a whole number", agrimap_model::echo(h, 20)))
            })
            .transpose()?,
        status: GrantStatus::parse(status).ok_or_else(|| {
            format!(
                "status '{}' is none of granted, suspended, revoked",
                agrimap_model::echo(status, 30)
            )
        })?,
        issued_on: row.required_date("issued_on")?,
        expires_on: row.required_date("expires_on")?,
        markets: list(row.get("markets"))
            .iter()
            .map(|m| market(m))
            .collect::<Result<_, _>>()?,
        packing_facilities: list(row.get("packing_facilities")),
    })
}

/// The header of an export: the first name of each column, restricted ones
/// only when `restricted`.
#[must_use]
pub fn export_header(kind: RegistryKind, restricted: bool) -> Vec<&'static str> {
    columns(kind)
        .iter()
        .filter(|c| restricted || !c.restricted)
        .map(|c| c.names[0])
        .collect()
}

fn opt(s: Option<&String>) -> String {
    s.cloned().unwrap_or_default()
}

/// A producer as export cells, in [`export_header`]'s order.
#[must_use]
pub fn producer_cells(p: &Producer, restricted: bool) -> Vec<String> {
    let mut cells = vec![
        p.code.clone(),
        p.name.clone(),
        p.kind.as_str().to_owned(),
        opt(p.address.as_ref()),
        p.commune_code.clone(),
        p.boundary_set.clone(),
    ];
    if restricted {
        let c = p.contact.clone().unwrap_or_default();
        cells.extend([opt(c.person.as_ref()), opt(c.phone.as_ref()), opt(c.email.as_ref())]);
    }
    cells
}

/// A product as export cells.
#[must_use]
pub fn product_cells(p: &Product) -> Vec<String> {
    let cert = |scheme: &str| p.certificates.iter().find(|c| c.scheme == scheme);
    let mut cells = vec![
        p.id.clone(),
        p.name.clone(),
        p.category.clone(),
        p.producer.clone(),
        p.commune_code.clone(),
        p.boundary_set.clone(),
        p.ocop.as_ref().map(|o| o.stars.to_string()).unwrap_or_default(),
        p.ocop.as_ref().map(|o| o.certificate.clone()).unwrap_or_default(),
        p.ocop.as_ref().map(|o| o.expires_on.clone()).unwrap_or_default(),
        opt(p.ocop_product_id.as_ref()),
    ];
    for (scheme, _) in CERTIFICATE_SCHEMES {
        cells.push(cert(scheme).map(|c| c.number.clone()).unwrap_or_default());
        cells.push(cert(scheme).map(|c| c.expires_on.clone()).unwrap_or_default());
    }
    cells.push(p.growing_areas.join(", "));
    cells
}

/// A growing area as export cells.
#[must_use]
pub fn growing_area_cells(a: &GrowingArea) -> Vec<String> {
    let markets: Vec<String> = a
        .markets
        .iter()
        .map(|m| {
            let mut s = m.market.clone();
            if m.authority.is_some() || m.approved_on.is_some() {
                s.push(':');
                s.push_str(m.authority.as_deref().unwrap_or_default());
            }
            if let Some(d) = &m.approved_on {
                s.push(':');
                s.push_str(d);
            }
            s
        })
        .collect();
    vec![
        a.code.clone(),
        a.commune_code.clone(),
        a.boundary_set.clone(),
        a.crop_type.clone(),
        format!("{}", a.area_ha),
        a.households.map(|h| h.to_string()).unwrap_or_default(),
        a.status.as_str().to_owned(),
        a.issued_on.clone(),
        a.expires_on.clone(),
        markets.join("; "),
        a.packing_facilities.join(", "),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
    }

    #[test]
    fn vietnamese_headers_find_their_fields() {
        let header = strings(&[
            "Mã số vùng trồng",
            "Mã xã",
            "Cây trồng",
            "Diện tích (ha)",
            "Trạng thái",
            "Ngày cấp",
            "Ngày hết hạn",
            "Thị trường",
            "Ghi chú",
        ]);
        let layout = Layout::of(RegistryKind::GrowingAreas, &header).expect("layout");
        assert_eq!(layout.unknown, ["Ghi chú"]);
        let cells = strings(&[
            "vn-psdu-0001",
            "33044",
            "durian",
            "12,5",
            "Đã cấp",
            "01/03/2024",
            "2029-02-28",
            "CN:GACC:2024-06-01; US",
            "",
        ]);
        let area = growing_area(&Row::new(&layout, &cells), "pre-2025").expect("row");
        assert_eq!(area.code, "VN-PSDU-0001");
        assert!((area.area_ha - 12.5).abs() < 1e-9);
        assert_eq!(area.status, GrantStatus::Granted);
        assert_eq!(area.issued_on, "2024-03-01");
        assert_eq!(area.markets.len(), 2);
        assert_eq!(area.markets[0].authority.as_deref(), Some("GACC"));
        assert_eq!(growing_area_cells(&area)[9], "CN:GACC:2024-06-01; US");
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let e = Layout::of(RegistryKind::Producers, &strings(&["Tên", "Loại hình"])).expect_err("missing");
        assert!(e.contains("code") && e.contains("commune_code"), "{e}");
    }
}
