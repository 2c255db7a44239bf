//! The demo province's registry, made from its layers so that the two agree:
//! every growing area of the `growing_area` layer is registered under its
//! code (with its markets approved by the importing country's authority),
//! every point of the `ocop` layer is a product (linked by
//! `ocop_product_id`), each growing area gives a fresh-produce product of
//! its cooperative, and the producers are the layer's cooperatives,
//! companies and households. Deterministic: the same layers give the same registry.

use super::{Batch, Refusal, RegistryReport};
use crate::Core;
use crate::error::CoreError;
use agrimap_model::registry::{
    Certificate, Contact, GrantStatus, GrowingArea, MarketApproval, OcopRating, Producer, ProducerKind, Product,
};
use agrimap_model::{Audience, Feature, FeatureQuery, layer};
use std::collections::BTreeMap;

/// The authority that approves growing areas for a market.
fn authority(market: &str) -> Option<&'static str> {
    match market {
        "CN" => Some("GACC"),
        "US" => Some("USDA APHIS"),
        "AU" => Some("DAFF"),
        "JP" => Some("MAFF"),
        "KR" => Some("APQA"),
        "EU" => Some("DG SANTE"),
        _ => None,
    }
}

fn text(l: &agrimap_model::LayerDef, f: &Feature, field: &str) -> String {
    l.value_of(f, field).as_str().unwrap_or_default().to_owned()
}

fn number(l: &agrimap_model::LayerDef, f: &Feature, field: &str) -> Option<f64> {
    l.value_of(f, field).as_f64()
}

fn at(n: usize) -> Refusal {
    Refusal {
        sheet: "demo".into(),
        row: n + 1,
        reason: String::new(),
    }
}

/// Fresh produce of a crop, as a product's name.
fn produce(crop: &str) -> (&'static str, &'static str) {
    match crop {
        "durian" => ("Sầu riêng Ri6", "fruit"),
        "mango" => ("Xoài cát Hòa Lộc", "fruit"),
        "longan" => ("Nhãn Ido", "fruit"),
        "pomelo" => ("Bưởi da xanh", "fruit"),
        "rice" => ("Gạo ST25", "food"),
        _ => ("Nông sản", "food"),
    }
}

/// The registry of the demo layers: producers, growing areas, products.
///
/// # Errors
/// The store's.
#[expect(
    clippy::too_many_lines,
    reason = "one pass over each layer, each record built where it is read"
)]
pub async fn registry(core: &Core) -> Result<(Vec<Producer>, Vec<GrowingArea>, Vec<Product>), CoreError> {
    let full = FeatureQuery {
        audience: Audience::Full,
        ..FeatureQuery::default()
    };
    let (Some(ga), Some(oc)) = (layer("growing_area"), layer("ocop")) else {
        return Ok(Default::default());
    };
    let area_features = core.store.features(ga, &full).await?;
    let ocop_features = core.store.features(oc, &full).await?;
    let mut producers: BTreeMap<String, Producer> = BTreeMap::new();
    let mut register = |name: &str, kind: ProducerKind, commune: &str, set: &str, phone: Option<String>| -> String {
        if let Some(p) = producers.values().find(|p| p.name == name) {
            return p.code.clone();
        }
        // Ten digits, as a tax code; 18 is the demo's range.
        let tax_code = format!("18{:08}", 10_001 + producers.len() * 37);
        producers.insert(
            tax_code.clone(),
            Producer {
                code: tax_code.clone(),
                name: name.to_owned(),
                kind,
                address: Some(format!("Ấp {}, xã {commune}", 1 + producers.len() % 9)),
                commune_code: commune.to_owned(),
                boundary_set: set.to_owned(),
                contact: Some(Contact {
                    person: None,
                    phone: Some(phone.unwrap_or_else(|| format!("09{:08}", 31_000_000 + producers.len() * 7_919))),
                    email: None,
                }),
            },
        );
        tax_code
    };
    let mut areas = Vec::new();
    let mut products = Vec::new();
    for f in &area_features {
        let (commune, set) = (text(ga, f, "commune_code"), text(ga, f, "boundary_set"));
        let area_code = text(ga, f, "code");
        let issued = text(ga, f, "issued_on");
        let status = GrantStatus::parse(&text(ga, f, "status")).unwrap_or(GrantStatus::Granted);
        let crop = text(ga, f, "crop_type");
        let cooperative = text(ga, f, "cooperative");
        let producer = register(
            &cooperative,
            ProducerKind::Cooperative,
            &commune,
            &set,
            ga.value_of(f, "contact_phone").as_str().map(str::to_owned),
        );
        let serial = areas.len() + 1;
        areas.push(GrowingArea {
            code: area_code.clone(),
            commune_code: commune.clone(),
            boundary_set: set.clone(),
            crop_type: crop.clone(),
            area_ha: number(ga, f, "area_ha").unwrap_or(0.0),
            households: number(ga, f, "households").map(|h| h as u32),
            status,
            issued_on: issued.clone(),
            expires_on: text(ga, f, "expires_on"),
            markets: text(ga, f, "markets")
                .split(',')
                .filter(|m| !m.is_empty())
                .map(|m| MarketApproval {
                    market: m.to_owned(),
                    authority: authority(m).map(str::to_owned),
                    approved_on: Some(issued.clone()),
                })
                .collect(),
            packing_facilities: vec![format!("VN-PS-PH-{:03}", 1 + serial % 12)],
        });
        let (name, category) = produce(&crop);
        products.push(Product {
            id: format!("SP-99-{serial:04}"),
            name: format!("{name} – {cooperative}"),
            category: category.to_owned(),
            producer,
            commune_code: commune,
            boundary_set: set,
            ocop: None,
            ocop_product_id: None,
            certificates: vec![Certificate {
                scheme: "vietgap".into(),
                number: format!("VietGAP-TT-{:02}-99-{serial:04}", 21 + serial % 5),
                expires_on: text(ga, f, "expires_on"),
            }],
            growing_areas: vec![area_code],
        });
    }
    for f in &ocop_features {
        let (commune, set) = (text(oc, f, "commune_code"), text(oc, f, "boundary_set"));
        let name = text(oc, f, "producer");
        let kind = if name.starts_with("HTX") {
            ProducerKind::Cooperative
        } else if name.starts_with("Công ty") {
            ProducerKind::Enterprise
        } else {
            ProducerKind::Household
        };
        let producer = register(&name, kind, &commune, &set, None);
        let id = text(oc, f, "product_id");
        let year = number(oc, f, "certified_year").unwrap_or(2024.0) as i64;
        products.push(Product {
            id: id.clone(),
            name: text(oc, f, "name"),
            category: text(oc, f, "category"),
            producer,
            commune_code: commune,
            boundary_set: set,
            ocop: number(oc, f, "stars").map(|s| OcopRating {
                stars: s as u8,
                certificate: format!("{id}/QĐ-UBND-{year}"),
                // An OCOP certificate holds for 36 months.
                expires_on: format!("{}-12-31", year + 3),
            }),
            ocop_product_id: Some(id),
            certificates: Vec::new(),
            growing_areas: Vec::new(),
        });
    }
    Ok((producers.into_values().collect(), areas, products))
}

/// Stores the demo registry (producers, then growing areas, then products).
///
/// # Errors
/// The store's, or a record the rules refuse (a fault of the generator).
pub async fn seed(core: &Core) -> Result<Vec<RegistryReport>, CoreError> {
    let (producers, areas, products) = registry(core).await?;
    let index = core.commune_index().await?;
    let mut reports = Vec::new();
    for (kind, batch) in [
        (
            agrimap_model::registry::RegistryKind::Producers,
            Batch::Producers(producers.into_iter().enumerate().map(|(i, p)| (at(i), p)).collect()),
        ),
        (
            agrimap_model::registry::RegistryKind::GrowingAreas,
            Batch::GrowingAreas(areas.into_iter().enumerate().map(|(i, a)| (at(i), a)).collect()),
        ),
        (
            agrimap_model::registry::RegistryKind::Products,
            Batch::Products(products.into_iter().enumerate().map(|(i, p)| (at(i), p)).collect()),
        ),
    ] {
        let report = RegistryReport {
            kind: kind.as_str(),
            ..RegistryReport::default()
        };
        let report = core
            .registry_put(
                batch,
                report,
                &index,
                &crate::actor::Actor {
                    id: "demo".into(),
                    ..crate::actor::Actor::cli()
                },
            )
            .await?;
        if let Some(r) = report.refused.first() {
            return Err(CoreError::internal(
                "bad_demo",
                format!(
                    "the demo registry breaks a rule: {} {}: {}",
                    kind.as_str(),
                    r.row,
                    r.reason
                ),
            ));
        }
        reports.push(report);
    }
    Ok(reports)
}
