//! What the public page of a product shows: the product, its producer
//! (never the contact details), its certificates and growing areas with
//! their status today, the commune, and a small map of the growing areas
//! drawn as inline SVG (no script, no tiles: a few kB on a slow phone).

use super::{one, today};
use crate::Core;
use crate::error::CoreError;
use agrimap_model::filter::Filter;
use agrimap_model::registry::{EffectiveStatus, GrowingArea, Producer, Product, RegistryKind};
use agrimap_model::{FeatureQuery, Value, layer};
use geo::{BoundingRect, Geometry};
use std::fmt::Write as _;
use std::sync::Arc;

/// A product as its public page shows it.
#[derive(Debug, Clone)]
pub struct ProductView {
    pub product: Product,
    /// Without contact details.
    pub producer: Option<Producer>,
    /// Where it is made, as people name it; `None` for a commune the
    /// store does not hold.
    pub place: Option<Place>,
    pub areas: Vec<(GrowingArea, EffectiveStatus)>,
    /// An SVG image of the growing areas' outlines, when the layer has them.
    pub map_svg: Option<String>,
    pub today: String,
}

/// The commune a product is made in, named with the units above it
/// (`Phường 5, Thành phố Sóc Trăng, Tỉnh Sóc Trăng`), and for a commune of
/// before the reform the 2025 communes it went into, so that a buyer reads
/// the place by today's names too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub named: String,
    /// `Phường Sóc Trăng, Thành phố Cần Thơ`, one per 2025 commune the
    /// official list sends it into (several when it was split); empty for
    /// a 2025 commune or without the list.
    pub now: Vec<String>,
}

/// A commune with the units above it, commas between.
fn named(c: &crate::communes::Commune) -> String {
    std::iter::once(c.name.as_str())
        .chain(c.district_name.as_deref())
        .chain(c.province_name.as_deref())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Width and height of the map in CSS pixels.
const MAP: (f64, f64) = (320.0, 180.0);

/// The outlines of `shapes` as one SVG image, longitudes scaled by the
/// cosine of the latitude so that shapes keep their proportions.
#[must_use]
pub fn outline_svg(shapes: &[Geometry<f64>]) -> Option<String> {
    let mut bbox: Option<geo::Rect<f64>> = None;
    for s in shapes {
        let r = s.bounding_rect()?;
        bbox = Some(match bbox {
            None => r,
            Some(b) => geo::Rect::new(
                geo::coord! { x: b.min().x.min(r.min().x), y: b.min().y.min(r.min().y) },
                geo::coord! { x: b.max().x.max(r.max().x), y: b.max().y.max(r.max().y) },
            ),
        });
    }
    let bounds = bbox?;
    let shrink = bounds.center().y.to_radians().cos();
    let (span_x, span_y) = ((bounds.width() * shrink).max(1e-9), bounds.height().max(1e-9));
    let pad = 8.0;
    let scale = ((MAP.0 - 2.0 * pad) / span_x).min((MAP.1 - 2.0 * pad) / span_y);
    let (ox, oy) = ((MAP.0 - span_x * scale) / 2.0, (MAP.1 - span_y * scale) / 2.0);
    let mut d = String::new();
    for s in shapes {
        let polygons: Vec<&geo::Polygon<f64>> = match s {
            Geometry::Polygon(p) => vec![p],
            Geometry::MultiPolygon(m) => m.0.iter().collect(),
            _ => continue,
        };
        for p in polygons {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for (i, c) in ring.coords().enumerate() {
                    let x = ox + (c.x - bounds.min().x) * shrink * scale;
                    let y = oy + (bounds.max().y - c.y) * scale;
                    let _ = write!(d, "{}{x:.1} {y:.1}", if i == 0 { "M" } else { "L" });
                }
                d.push('z');
            }
        }
    }
    Some(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img"><rect width="100%" height="100%" fill="#eef3e8"/><path d="{d}" fill="#6a9f3a" fill-opacity=".5" stroke="#2f5d1a" stroke-width="1.5"/></svg>"##,
        MAP.0, MAP.1
    ))
}

impl Core {
    /// A product with what its public page shows.
    ///
    /// # Errors
    /// `not_found`; the store's.
    pub async fn product_view(&self, id: &str) -> Result<Arc<ProductView>, CoreError> {
        let today = today();
        if let Some(view) = self.registry.view(id, &today) {
            return Ok(view);
        }
        let generation = self.registry.generation();
        let view = Arc::new(self.read_product_view(id, today).await?);
        self.registry.keep(view.clone(), generation);
        Ok(view)
    }

    /// Counts one view of a product's page today (written within seconds).
    pub fn count_scan(&self, product: &str, day: &str) {
        self.registry.count(product, day);
        self.registry.start_flusher(&self.store);
    }

    /// A product's scans by day, those counted in memory included.
    ///
    /// # Errors
    /// The store's.
    pub async fn product_scans(&self, product: &str) -> Result<Vec<(String, u64)>, CoreError> {
        self.registry.flush(self.store.as_ref()).await?;
        Ok(self.store.scans(product).await?)
    }

    async fn read_product_view(&self, id: &str, today: String) -> Result<ProductView, CoreError> {
        let store = self.store.as_ref();
        let product: Product = one(store, RegistryKind::Products, id).await?;
        let producer = match one::<Producer>(store, RegistryKind::Producers, &product.producer).await {
            Ok(p) => Some(p.public()),
            Err(e) if e.code == "not_found" => None,
            Err(e) => return Err(e),
        };
        let mut areas = Vec::new();
        for code in &product.growing_areas {
            if let Some(r) = store.record(RegistryKind::GrowingAreas, code).await? {
                let a: GrowingArea = super::parse_body(RegistryKind::GrowingAreas, &r)?;
                let status = a.status_on(&today);
                areas.push((a, status));
            }
        }
        let map_svg = match (layer("growing_area"), product.growing_areas.is_empty()) {
            (Some(l), false) => {
                let query = FeatureQuery {
                    filter: Some(Filter::In {
                        field: "code".into(),
                        values: product.growing_areas.iter().map(|c| Value::Text(c.clone())).collect(),
                    }),
                    ..FeatureQuery::default()
                };
                let shapes: Vec<Geometry<f64>> = store
                    .features(l, &query)
                    .await?
                    .into_iter()
                    .map(|f| f.geometry)
                    .collect();
                outline_svg(&shapes)
            }
            _ => None,
        };
        let index = self.commune_index().await?;
        let former = self.communes.former.get(store).await?;
        let place = agrimap_model::BoundarySet::parse(&product.boundary_set)
            .and_then(|set| index.get(&product.commune_code, Some(set)))
            .map(|c| Place {
                named: named(c),
                now: if c.boundary_set == agrimap_model::BoundarySet::Pre2025.as_str() {
                    former
                        .successors(&c.code)
                        .into_iter()
                        .filter_map(|code| index.get(code, Some(agrimap_model::BoundarySet::Y2025)))
                        .map(named)
                        .collect()
                } else {
                    Vec::new()
                },
            });
        Ok(ProductView {
            product,
            producer,
            place,
            areas,
            map_svg,
            today,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn outlines_fit_the_frame() {
        let p: Geometry<f64> =
            polygon![(x: 105.0, y: 10.0), (x: 105.01, y: 10.0), (x: 105.01, y: 10.01), (x: 105.0, y: 10.01)].into();
        let svg = outline_svg(&[p]).expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains('M'), "{svg}");
        assert!(outline_svg(&[]).is_none());
    }
}
