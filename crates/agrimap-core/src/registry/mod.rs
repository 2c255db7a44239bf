//! The traceability registries: producers, products and growing areas
//! (mã số vùng trồng), whatever the entry point.
//!
//! - [`sheet`]: spreadsheets (xlsx, ods, xls, CSV) read into tables of text.
//! - [`columns`]: which header means which field (Vietnamese too), rows into
//!   records and records into export rows.
//! - [`rules`]: what a record must keep to be stored.
//! - [`checks`]: the registry checked against the crop layer's parcels.
//! - [`export`]: a registry as xlsx or CSV.
//! - [`page`]: a product with its producer and growing areas, as the
//!   public page shows it; [`qr`]: its QR code.
//!
//! A write (an import, or records posted as JSON) lands whole or not at
//! all: every record is checked first, and any refusal (with its sheet,
//! row and reason) stops the write; then the store puts them in one
//! transaction, keeping a history row per changed record. Records link
//! by natural key; the growing-area registry uses the same codes as the
//! `growing_area` layer, a product names the `ocop` point that shows it,
//! and a growing area's parcels are the `crop` features that carry its code.

pub mod checks;
pub mod columns;
pub mod demo;
pub mod export;
pub mod page;
pub mod qr;
pub mod rules;
pub mod sheet;
pub mod state;

use crate::Core;
use crate::actor::Actor;
use crate::communes::CommuneIndex;
use crate::error::{CoreError, echo};
use agrimap_model::Audience;
use agrimap_model::registry::{GrowingArea, Producer, Product, RegistryKind};
use agrimap_store::{RegistryRecord, Store};
use columns::{Layout, Row};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sheet::{SheetFormat, Table};

/// A record that was refused: where it was read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The sheet (a CSV file's name; `body` for JSON).
    pub sheet: String,
    /// The row as the spreadsheet numbers it (the item's position from 1 for JSON).
    pub row: usize,
    pub reason: String,
}

/// What a registry write did, or would have done.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RegistryReport {
    pub kind: &'static str,
    /// Whether the records were stored (no refusal).
    pub written: bool,
    /// Rows (or JSON items) read.
    pub read: usize,
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub refused: Vec<Refusal>,
    /// Sheets without the registry's key column, left alone.
    pub skipped_sheets: Vec<String>,
    /// Header cells that name no field, by sheet.
    pub unknown_columns: Vec<String>,
}

/// Records of one registry, each with where it was read.
#[derive(Debug, Clone)]
pub enum Batch {
    Producers(Vec<(Refusal, Producer)>),
    Products(Vec<(Refusal, Product)>),
    GrowingAreas(Vec<(Refusal, GrowingArea)>),
}

impl Batch {
    fn len(&self) -> usize {
        match self {
            Self::Producers(v) => v.len(),
            Self::Products(v) => v.len(),
            Self::GrowingAreas(v) => v.len(),
        }
    }
}

/// Today in Vietnam, when codes and certificates lapse.
#[must_use]
pub fn today() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    agrimap_model::registry::vietnam_date(i64::try_from(now).unwrap_or(0))
}

fn parse_body<T: DeserializeOwned>(kind: RegistryKind, r: &RegistryRecord) -> Result<T, CoreError> {
    serde_json::from_str(&r.body).map_err(|e| {
        tracing::error!(kind = kind.as_str(), key = %r.key, cause = %e, "stored registry record does not read");
        CoreError::internal("bad_record", format!("stored record {} does not read", r.key))
    })
}

/// The records of one registry, typed.
///
/// # Errors
/// The store's, or a stored record that does not read.
pub async fn all<T: DeserializeOwned>(store: &dyn Store, kind: RegistryKind) -> Result<Vec<T>, CoreError> {
    store
        .records(kind, None)
        .await?
        .iter()
        .map(|r| parse_body(kind, r))
        .collect()
}

/// One record, typed.
///
/// # Errors
/// `not_found` when no record has that key; the store's.
pub async fn one<T: DeserializeOwned>(store: &dyn Store, kind: RegistryKind, key: &str) -> Result<T, CoreError> {
    match store.record(kind, key).await? {
        Some(r) => parse_body(kind, &r),
        None => Err(not_found(kind, key)),
    }
}

/// Typed records of the tables of a file; rows that do not read are refusals.
fn batch_of(kind: RegistryKind, tables: &[Table], default_set: &str, report: &mut RegistryReport) -> Batch {
    let mut producers = Vec::new();
    let mut products = Vec::new();
    let mut areas = Vec::new();
    for table in tables {
        if table.header.is_empty() {
            continue;
        }
        let layout = match Layout::of(kind, &table.header) {
            Ok(l) => l,
            Err(reason) => {
                // A sheet of notes or instructions beside the registry is common;
                // a single sheet without the columns is an error of the file.
                if tables.len() > 1 {
                    report.skipped_sheets.push(table.sheet.clone());
                } else {
                    report.refused.push(Refusal {
                        sheet: table.sheet.clone(),
                        row: 1,
                        reason,
                    });
                }
                continue;
            }
        };
        report
            .unknown_columns
            .extend(layout.unknown.iter().map(|c| format!("{}: {c}", table.sheet)));
        report.read += table.rows.len();
        for (number, cells) in &table.rows {
            let row = Row::new(&layout, cells);
            let at = |reason: String| Refusal {
                sheet: table.sheet.clone(),
                row: *number,
                reason,
            };
            let done = match kind {
                RegistryKind::Producers => {
                    columns::producer(&row, default_set).map(|p| producers.push((at(String::new()), p)))
                }
                RegistryKind::Products => {
                    columns::product(&row, default_set).map(|p| products.push((at(String::new()), p)))
                }
                RegistryKind::GrowingAreas => {
                    columns::growing_area(&row, default_set).map(|a| areas.push((at(String::new()), a)))
                }
            };
            if let Err(reason) = done {
                report.refused.push(at(reason));
            }
        }
    }
    match kind {
        RegistryKind::Producers => Batch::Producers(producers),
        RegistryKind::Products => Batch::Products(products),
        RegistryKind::GrowingAreas => Batch::GrowingAreas(areas),
    }
}

/// Records as the store keeps them, once each has passed its rules; the
/// refusals otherwise.
fn checked(batch: &Batch, index: &CommuneIndex, known: &rules::Known) -> (Vec<RegistryRecord>, Vec<Refusal>) {
    fn go<T: Serialize>(
        items: &[(Refusal, T)],
        key: impl Fn(&T) -> &str,
        rule: impl Fn(&T) -> Result<String, String>,
    ) -> (Vec<RegistryRecord>, Vec<Refusal>) {
        let mut records = Vec::with_capacity(items.len());
        let mut refused = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (at, item) in items {
            let refuse = |reason: String| Refusal { reason, ..at.clone() };
            if let Some(first) = seen.insert(key(item).to_owned(), at.row) {
                refused.push(refuse(format!("'{}' is given twice (row {first} too)", key(item))));
                continue;
            }
            match rule(item) {
                Ok(province_code) => records.push(RegistryRecord {
                    key: key(item).to_owned(),
                    province_code,
                    // Our own types always serialise.
                    body: serde_json::to_string(item).unwrap_or_default(),
                }),
                Err(reason) => refused.push(refuse(reason)),
            }
        }
        (records, refused)
    }
    match batch {
        Batch::Producers(v) => go(v, |p| &p.code, |p| rules::producer(p, index)),
        Batch::Products(v) => go(v, |p| &p.id, |p| rules::product(p, index, known)),
        Batch::GrowingAreas(v) => go(v, |a| &a.code, |a| rules::growing_area(a, index, known)),
    }
}

impl Core {
    /// Reads a spreadsheet and stores its records in one registry: all of
    /// them, or (any row refused) none.
    ///
    /// # Errors
    /// A file that cannot be read or is too large; the store's. Refused rows
    /// are in the report (`written` false), not an error.
    pub async fn registry_import(
        &self,
        kind: RegistryKind,
        bytes: &[u8],
        format: SheetFormat,
        name: &str,
        actor: &Actor,
    ) -> Result<RegistryReport, CoreError> {
        let owned = bytes.to_vec();
        let name_owned = name.to_owned();
        // calamine inflates and parses the workbook: CPU work off the runtime.
        let tables = tokio::task::spawn_blocking(move || sheet::read(&owned, format, &name_owned))
            .await
            .map_err(|e| CoreError::task_failed("import_failed", "reading the spreadsheet", &e))??;
        let index = self.commune_index().await?;
        let default_set = index
            .resolve_set(None)
            .map_or("2025", agrimap_model::BoundarySet::as_str);
        let mut report = RegistryReport {
            kind: kind.as_str(),
            ..RegistryReport::default()
        };
        let batch = batch_of(kind, &tables, default_set, &mut report);
        self.registry_put(batch, report, &index, actor).await
    }

    /// Stores records posted as JSON (one object, or an array of them).
    ///
    /// # Errors
    /// `bad_json` for a body that does not read as the registry's records; the store's.
    pub async fn registry_post(
        &self,
        kind: RegistryKind,
        body: &[u8],
        actor: &Actor,
    ) -> Result<RegistryReport, CoreError> {
        fn items<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<(Refusal, T)>, CoreError> {
            let value: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| CoreError::invalid("bad_json", format!("the body is not JSON: {e}")))?;
            let list = match value {
                serde_json::Value::Array(list) => list,
                one => vec![one],
            };
            list.into_iter()
                .enumerate()
                .map(|(i, v)| {
                    // A field the record does not have is refused, not
                    // dropped: `contact_phone` (a spreadsheet's column) would
                    // otherwise be lost without a word.
                    let mut unknown = Vec::new();
                    let item = serde_ignored::deserialize(v, |path| unknown.push(path.to_string()))
                        .map_err(|e| CoreError::invalid("bad_json", format!("item {}: {e}", i + 1)))?;
                    if !unknown.is_empty() {
                        return Err(CoreError::invalid(
                            "bad_json",
                            format!(
                                "item {}: no field {} in a record; the JSON form is the record as GET \
                                 returns it (a producer's contact as \"contact\": {{\"person\", \"phone\", \"email\"}}, \
                                 a product's rating as \"ocop\": {{\"stars\", \"certificate\", \"expires_on\"}}); \
                                 nothing was written",
                                i + 1,
                                unknown.iter().map(|u| echo(u, 40)).collect::<Vec<_>>().join(", ")
                            ),
                        ));
                    }
                    let at = Refusal {
                        sheet: "body".into(),
                        row: i + 1,
                        reason: String::new(),
                    };
                    Ok((at, item))
                })
                .collect()
        }
        let batch = match kind {
            RegistryKind::Producers => Batch::Producers(items(body)?),
            RegistryKind::Products => Batch::Products(items(body)?),
            RegistryKind::GrowingAreas => Batch::GrowingAreas(items(body)?),
        };
        let index = self.commune_index().await?;
        let report = RegistryReport {
            kind: kind.as_str(),
            ..RegistryReport::default()
        };
        self.registry_put(batch, report, &index, actor).await
    }

    pub(crate) async fn registry_put(
        &self,
        batch: Batch,
        mut report: RegistryReport,
        index: &CommuneIndex,
        actor: &Actor,
    ) -> Result<RegistryReport, CoreError> {
        if report.read == 0 {
            report.read = batch.len();
        }
        let mut known = rules::Known::default();
        if matches!(batch, Batch::Products(_) | Batch::GrowingAreas(_)) {
            known.merges = self.province_merges().await?;
        }
        if let Batch::Products(_) = batch {
            for r in self.store.records(RegistryKind::Producers, None).await? {
                known.producers.insert(r.key, r.province_code);
            }
            for r in self.store.records(RegistryKind::GrowingAreas, None).await? {
                known.growing_areas.insert(r.key, r.province_code);
            }
        }
        let (records, refused) = checked(&batch, index, &known);
        report.refused.extend(refused);
        report.refused.sort_by(|a, b| (&a.sheet, a.row).cmp(&(&b.sheet, b.row)));
        if !report.refused.is_empty() || records.is_empty() {
            return Ok(report);
        }
        let kind = RegistryKind::parse(report.kind).unwrap_or(RegistryKind::Products);
        if !actor.provinces.is_empty() {
            self.check_writable(kind, &records, &actor.provinces).await?;
        }
        let done = self.store.put_records(kind, records, &actor.id).await?;
        self.registry.changed();
        report.written = true;
        report.inserted = done.inserted;
        report.updated = done.updated;
        report.unchanged = done.unchanged;
        Ok(report)
    }

    /// Refuses records a token limited to `provinces` may not write: of a
    /// commune elsewhere, or updating a record stored elsewhere (which would
    /// move another province's producer into its own).
    ///
    /// # Errors
    /// `outside_provinces` naming the first of them; the store's.
    async fn check_writable(
        &self,
        kind: RegistryKind,
        records: &[RegistryRecord],
        provinces: &[String],
    ) -> Result<(), CoreError> {
        let stored: std::collections::HashMap<String, String> = self
            .store
            .records(kind, None)
            .await?
            .into_iter()
            .map(|r| (r.key, r.province_code))
            .collect();
        let elsewhere: Vec<String> = records
            .iter()
            .filter_map(|r| {
                if provinces.contains(&r.province_code) {
                    let held = stored.get(&r.key).filter(|p| !provinces.contains(p))?;
                    Some(format!("{} (registered in province {held})", r.key))
                } else {
                    Some(format!("{} (province {})", r.key, r.province_code))
                }
            })
            .collect();
        if elsewhere.is_empty() {
            return Ok(());
        }
        Err(CoreError::new(
            crate::ErrorKind::Forbidden,
            "outside_provinces",
            format!(
                "the token may write in provinces {} only; {} of the records are elsewhere: {}; nothing was written",
                provinces.join(", "),
                elsewhere.len(),
                elsewhere.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
            ),
        ))
    }

    /// A registry's records as JSON, without restricted fields for the
    /// public (nor, for a token limited to provinces, of records elsewhere).
    /// `province`: the records of that province, with those of the pre-2025
    /// provinces the official list merges into it.
    ///
    /// # Errors
    /// The store's.
    pub async fn registry_list(
        &self,
        kind: RegistryKind,
        province: Option<&str>,
        reader: Reader<'_>,
    ) -> Result<Vec<serde_json::Value>, CoreError> {
        let records = match province {
            None => self.store.records(kind, None).await?,
            Some(province) => {
                let scope = crate::features::scope::ProvinceScope::of(self, province).await?;
                let mut records = Vec::new();
                for code in scope.codes() {
                    records.extend(self.store.records(kind, Some(&code)).await?);
                }
                records.sort_by(|a, b| a.key.cmp(&b.key));
                records
            }
        };
        records.iter().map(|r| visible(kind, r, reader)).collect()
    }

    /// One record as JSON, as [`Self::registry_list`] shows it, with the
    /// effective status of a growing area.
    ///
    /// # Errors
    /// `not_found` when no record has that key; the store's.
    pub async fn registry_record(
        &self,
        kind: RegistryKind,
        key: &str,
        reader: Reader<'_>,
    ) -> Result<serde_json::Value, CoreError> {
        match self.store.record(kind, key).await? {
            Some(r) => visible(kind, &r, reader),
            None => Err(not_found(kind, key)),
        }
    }

    /// Every change of one record, oldest first, each with the record as it
    /// became. Restricted fields of a change only where the reader would
    /// read them of the record as it then stood: a producer that moved in
    /// from another province keeps the contacts it had there from the
    /// planners of its new one.
    ///
    /// # Errors
    /// The store's.
    pub async fn registry_history(
        &self,
        kind: RegistryKind,
        key: &str,
        reader: Reader<'_>,
    ) -> Result<Vec<serde_json::Value>, CoreError> {
        let index = self.commune_index().await?;
        let changes = self.store.record_history(kind, key).await?;
        Ok(changes
            .iter()
            .map(|c| {
                let mut record = serde_json::from_str::<serde_json::Value>(&c.body).unwrap_or_default();
                if kind == RegistryKind::Producers
                    && !province_then(&index, &record).is_some_and(|p| reader.reads_restricted_of(p))
                    && let Some(fields) = record.as_object_mut()
                {
                    fields.remove("contact");
                }
                serde_json::json!({
                    "action": c.action.as_str(),
                    "actor": c.actor,
                    "at": c.at,
                    "record": record,
                })
            })
            .collect())
    }
}

/// The province of a record's commune, as the record names it.
fn province_then<'a>(index: &'a CommuneIndex, record: &serde_json::Value) -> Option<&'a str> {
    let set = agrimap_model::BoundarySet::parse(record["boundary_set"].as_str()?)?;
    index
        .get(record["commune_code"].as_str()?, Some(set))
        .map(|c| c.province_code.as_str())
}

fn not_found(kind: RegistryKind, key: &str) -> CoreError {
    CoreError::not_found(
        "not_found",
        format!("no {} record '{}'", kind.as_str(), agrimap_model::echo(key, 40)),
    )
}

/// Who reads a registry: producers' contacts are for planners and up, and
/// for a token limited to provinces only of producers in those provinces.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub audience: Audience,
    /// The provinces the token is limited to; empty for every province.
    pub provinces: &'a [String],
}

impl Reader<'_> {
    /// A reader of every province (the CLI, a token not limited).
    #[must_use]
    pub fn everywhere(audience: Audience) -> Reader<'static> {
        Reader {
            audience,
            provinces: &[],
        }
    }

    /// Whether it reads restricted details at all: the export's columns.
    #[must_use]
    pub fn reads_restricted(&self) -> bool {
        self.audience == Audience::Full
    }

    /// Whether it reads the restricted details of a record of `province`.
    #[must_use]
    pub fn reads_restricted_of(&self, province: &str) -> bool {
        self.reads_restricted() && (self.provinces.is_empty() || self.provinces.iter().any(|p| p == province))
    }
}

/// A stored record as a reader may see it: producers lose their contact
/// details for those who may not read them; growing areas gain their
/// status today.
fn visible(kind: RegistryKind, r: &RegistryRecord, reader: Reader<'_>) -> Result<serde_json::Value, CoreError> {
    match kind {
        RegistryKind::Producers => {
            let p: Producer = parse_body(kind, r)?;
            let p = if reader.reads_restricted_of(&r.province_code) {
                p
            } else {
                p.public()
            };
            Ok(serde_json::to_value(p).unwrap_or_default())
        }
        RegistryKind::Products => {
            let p: Product = parse_body(kind, r)?;
            Ok(serde_json::to_value(p).unwrap_or_default())
        }
        RegistryKind::GrowingAreas => {
            let a: GrowingArea = parse_body(kind, r)?;
            let mut v = serde_json::to_value(&a).unwrap_or_default();
            v["status_today"] = a.status_on(&today()).as_str().into();
            Ok(v)
        }
    }
}

/// What the registry says of one commune today, for its summary and the
/// NTM 13.4 evidence: growing-area codes by their status today (an expired
/// or revoked code is not active from the day it lapses), and the
/// registered products (each with its public page and QR code).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommuneEvidence {
    pub growing_areas_by_status: std::collections::BTreeMap<&'static str, u64>,
    pub active_growing_area_codes: u64,
    pub products: u64,
    pub ocop_products: u64,
}

/// The registry's evidence for a commune; `None` when the store holds no
/// registry at all (the layers' figures stand alone then).
///
/// # Errors
/// The store's.
pub async fn commune_evidence(
    store: &dyn Store,
    commune: &str,
    boundary_set: &str,
) -> Result<Option<CommuneEvidence>, CoreError> {
    let areas: Vec<GrowingArea> = all(store, RegistryKind::GrowingAreas).await?;
    let products: Vec<Product> = all(store, RegistryKind::Products).await?;
    if areas.is_empty() && products.is_empty() {
        return Ok(None);
    }
    let today = today();
    let mut e = CommuneEvidence::default();
    for a in areas
        .iter()
        .filter(|a| a.commune_code == commune && a.boundary_set == boundary_set)
    {
        let status = a.status_on(&today);
        *e.growing_areas_by_status.entry(status.as_str()).or_default() += 1;
        if status == agrimap_model::registry::EffectiveStatus::Active {
            e.active_growing_area_codes += 1;
        }
    }
    for p in products
        .iter()
        .filter(|p| p.commune_code == commune && p.boundary_set == boundary_set)
    {
        e.products += 1;
        if p.ocop.is_some() {
            e.ocop_products += 1;
        }
    }
    Ok(Some(e))
}
