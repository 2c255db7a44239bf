//! Importing a GIS file into one layer of a store.
//!
//! 1. Read: through GDAL in builds with the `gdal` feature (every vector
//!    format it reads, reprojected to WGS 84 through PROJ with the official
//!    VN-2000 shift, invalid geometries repaired with MakeValid), otherwise
//!    GeoJSON and CSV in pure Rust ([`geojson_file`], [`csv_file`]), in
//!    WGS 84 or a VN-2000 CRS that [`crate::crs`] brings to WGS 84.
//! 2. Refuse the whole file when its text was decoded with the wrong code
//!    page ([`encoding`]), or a field mapping names a field that is not there.
//! 3. Turn each record into a feature of the layer: its kind of geometry
//!    only ([`geometry`]), the file's fields mapped and converted to the
//!    layer's types ([`fields`]), the commune found from the location when
//!    the file has no commune code ([`commune`]), checked against the layer.
//! 4. Write every feature in one transaction, each updating the stored
//!    feature with the same natural key ([`agrimap_store::Store::upsert`]):
//!    importing a file twice leaves one copy. A record that cannot be used
//!    is listed in the report; unless `skip_invalid` is asked for, one such
//!    record means nothing is written. With `replace`, the file's features
//!    take the place of every stored feature of the layer instead, in the same
//!    one transaction: the way into layers without a natural key (rivers,
//!    roads, places), whose departments' files are the whole set each time.
//! 5. Communes bring their own work ([`admin`]): the districts and provinces
//!    made from them, and the features of other layers that a corrected
//!    boundary now holds, moved to its commune ([`follow`]); all written in
//!    the same transaction as the communes.

mod admin;
mod changes;
pub mod commune;
#[cfg(feature = "gdal")]
pub mod cp1258;
pub mod csv_file;
pub mod encoding;
mod error;
pub mod fields;
mod follow;
#[cfg(feature = "gdal")]
pub mod gdal_file;
pub mod geojson_file;
pub mod geometry;
mod outlines;
mod report;
pub mod source;
mod writable;

pub use error::ImportError;
pub use report::{ImportReport, Moved, Rejected, Repaired, UnknownCode};

use agrimap_model::{BoundarySet, Feature, LayerDef, Value};
use agrimap_store::{LayerWrite, Store, StoreError, Upsert, WriteBatch};
use source::{SourceData, SourceValue};
use std::path::Path;

/// Whether this build reads files through GDAL.
pub const GDAL: bool = cfg!(feature = "gdal");

/// How to import a file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The CRS of the file when it does not say, or says wrongly (`EPSG:3405`).
    pub srs: Option<String>,
    /// The layer of the file to read, when it holds several with features.
    pub source_layer: Option<String>,
    /// `(file field, layer field)` pairs, before matching by name.
    pub mappings: Vec<(String, String)>,
    /// The file's field holding the commune code.
    pub commune_field: Option<String>,
    /// Write the usable records even when others are refused.
    pub skip_invalid: bool,
    /// Code page of a Shapefile without a `.cpg` (`CP1258`, `UTF-8`, ...).
    pub encoding: Option<String>,
    /// Replace every stored feature of the layer with the file's.
    pub replace: bool,
    /// `(layer field, value)` pairs for fields the file does not have.
    pub set: Vec<(String, String)>,
    /// The boundary set every feature must be of (filled in where the file
    /// gives none): `agrimap boundaries import --set`.
    pub boundary_set: Option<BoundarySet>,
    /// The province every feature must lie in (filled in where the file gives
    /// none): `agrimap boundaries import --province`.
    pub province: Option<String>,
    /// The provinces the importer may write in (an API token limited to
    /// provinces); empty for every province. A feature elsewhere refuses
    /// the whole file.
    pub writable_provinces: Vec<String>,
}

/// Reads `field=value` (`--set`) as a pair; the value may be empty.
///
/// # Errors
/// When there is no `=` or the field is empty.
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((f, v)) if !f.trim().is_empty() => Ok((f.trim().to_owned(), v.trim().to_owned())),
        _ => Err(format!("'{s}' is not a setting: write layer_field=value")),
    }
}

/// Reads `source=field` as a pair.
///
/// # Errors
/// When there is no `=` or a side is empty.
pub fn parse_mapping(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => Ok((a.trim().to_owned(), b.trim().to_owned())),
        _ => Err(format!("'{s}' is not a field mapping: write source_field=layer_field")),
    }
}

/// The lower-case extension of a file name, `shp.zip` counted as `zip`.
#[cfg(not(feature = "gdal"))]
fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

/// Reads the file with what this build has.
#[cfg(feature = "gdal")]
fn read_file(path: &Path, opts: &ImportOptions) -> Result<SourceData, ImportError> {
    gdal_file::read(
        path,
        &gdal_file::GdalRead {
            srs: opts.srs.as_deref(),
            encoding: opts.encoding.as_deref(),
            layer: opts.source_layer.as_deref(),
        },
    )
}

/// Reads the file with what this build has.
#[cfg(not(feature = "gdal"))]
fn read_file(path: &Path, opts: &ImportOptions) -> Result<SourceData, ImportError> {
    let file = file_name(path);
    let ext = extension(path);
    let reader: fn(&[u8], &str) -> Result<SourceData, ImportError> = match ext.as_str() {
        "geojson" | "json" => geojson_file::read,
        "csv" => csv_file::read,
        "" => {
            return Err(ImportError::Unreadable {
                file,
                format: "a GIS file".into(),
                reason: "the name has no extension to tell its format by".into(),
            });
        }
        other => {
            return Err(ImportError::NeedsGdal {
                what: format!("reading .{other} files"),
            });
        }
    };
    if let Some(enc) = opts.encoding.as_deref()
        && !matches!(enc.to_uppercase().replace('-', "").as_str(), "UTF8")
    {
        return Err(ImportError::NeedsGdal {
            what: format!("reading text in {enc}"),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ImportError::Unreadable {
        file: file.clone(),
        format: ext.clone(),
        reason: e.to_string(),
    })?;
    let mut data = reader(&bytes, &file)?;
    if let Some(srs) = opts.srs.as_deref() {
        srs.clone_into(&mut data.crs);
    }
    to_wgs84(&mut data)?;
    for r in &mut data.records {
        if let Ok(g) = &r.geometry
            && let Err(e) = geometry::check_valid(g)
        {
            r.geometry = Err(e);
        }
    }
    Ok(data)
}

/// Brings the records of a file in a VN-2000 CRS (given by `--srs` or by
/// a GeoJSON's `crs` member) to WGS 84, in pure Rust with the official
/// shift, as GDAL's build does through PROJ; a record that cannot be
/// transformed is refused. WGS 84 files are left as they are.
///
/// # Errors
/// [`ImportError::NeedsGdal`] for any CRS `crate::crs` does not know.
#[cfg(not(feature = "gdal"))]
fn to_wgs84(data: &mut SourceData) -> Result<(), ImportError> {
    let needs_gdal = || ImportError::NeedsGdal {
        what: format!("reprojecting from {}", data.crs),
    };
    let crs = crate::crs::Crs::parse(&data.crs).map_err(|_| needs_gdal())?;
    if crs.is_wgs84() {
        return Ok(());
    }
    let transform = crate::crs::Transform::new(crs);
    for r in &mut data.records {
        if let Ok(g) = &r.geometry {
            r.geometry = transform
                .geometry_to_wgs84(g)
                .map_err(|e| format!("cannot be brought from {} to WGS 84: {e}", data.crs));
        }
    }
    if let Some(code) = crs.epsg_code() {
        data.crs = format!("EPSG:{code}");
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned())
}

/// Refuses a file whose text was decoded with the wrong code page. The
/// value is not quoted: it may be a restricted one, and it is garbled anyway.
fn check_encoding(data: &SourceData, file: &str) -> Result<(), ImportError> {
    for r in &data.records {
        for (name, v) in data.fields.iter().zip(&r.values) {
            if let SourceValue::Text(s) = v
                && encoding::looks_misdecoded(s)
            {
                return Err(ImportError::Encoding(format!(
                    "'{file}' is read in the wrong character encoding: field '{name}' of feature {} holds \
                     characters Vietnamese text never has. Say the file's code page: add a .cpg file next to \
                     the Shapefile (one line, e.g. 1258 or UTF-8), or pass --encoding (CP1258 for \
                     Windows-1258, UTF-8, ...)",
                    r.fid
                )));
            }
        }
    }
    Ok(())
}

/// A record made into a feature, with its identifier in the file.
struct Candidate {
    fid: String,
    feature: Feature,
    /// The district and province names of an administrative unit's record.
    names: admin::UnitNames,
}

/// Imports the file at `path` into `layer`.
///
/// # Errors
/// When the file as a whole cannot be imported (see [`ImportError`]); then
/// nothing is written. Records that cannot be used are not errors: they are
/// in the report, and unless `skip_invalid` is set nothing is written then.
// One pass from file to transaction; its steps are named in comments.
#[allow(clippy::too_many_lines)]
pub async fn import(
    store: &dyn Store,
    layer: &'static LayerDef,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    if layer.natural_key().is_empty() && !opts.replace {
        return Err(ImportError::Layer(format!(
            "layer '{}' has no natural key (an identifier of its features in the departments' records), \
             so importing a file twice could not update the first import; import the whole layer with \
             --replace (replace=true over HTTP), which puts the file's features in place of the stored ones",
            layer.id
        )));
    }
    let file = file_name(path);
    let data = {
        let path = path.to_owned();
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || read_file(&path, &opts))
            .await
            .map_err(|e| ImportError::Task(e.to_string()))??
    };
    if data.records.is_empty() {
        return Err(ImportError::Empty { file });
    }
    check_encoding(&data, &file)?;
    let mapping = fields::resolve(layer, &data.fields, &opts.mappings, opts.commune_field.as_deref())?;
    let constants = fields::constants(layer, &data.fields, &mapping, &opts.set)?;

    let mut report = ImportReport {
        layer: layer.id.to_owned(),
        source: file,
        format: data.format.clone(),
        crs: data.crs.clone(),
        read: data.records.len(),
        unused_fields: mapping.unused.clone(),
        ..ImportReport::default()
    };
    let name_columns = admin::NameColumns::find(&data.fields);
    let mut candidates = Vec::new();
    for r in data.records {
        let reject = |reason: String| Rejected {
            feature: r.fid.clone(),
            reason,
        };
        let g = match r.geometry.and_then(|g| geometry::fit(g, layer.geometry)) {
            Ok((g, note)) => {
                if let Some(repair) = r.repaired.into_iter().chain(note).reduce(|a, b| format!("{a}; {b}")) {
                    report.repaired.push(Repaired {
                        feature: r.fid.clone(),
                        repair,
                    });
                }
                g
            }
            Err(reason) => {
                report.rejected.push(reject(reason));
                continue;
            }
        };
        let mut properties = Vec::with_capacity(layer.fields.len());
        let mut problems = Vec::new();
        for ((field, source), constant) in layer.fields.iter().zip(&mapping.sources).zip(&constants) {
            let v = match (source, constant) {
                (Some(s), _) => fields::convert(field, r.values.get(*s).unwrap_or(&SourceValue::Null)),
                (None, Some(c)) => fields::convert(field, c),
                (None, None) => Ok(Value::Null),
            };
            properties.push(v.unwrap_or_else(|e| {
                problems.push(e);
                Value::Null
            }));
        }
        if !problems.is_empty() {
            report.rejected.push(reject(problems.join("; ")));
            continue;
        }
        let mut feature = Feature {
            id: 0,
            geometry: g,
            properties,
        };
        if let Err(reason) = admin::check_scope(layer, &mut feature, opts.boundary_set, opts.province.as_deref()) {
            report.rejected.push(reject(reason));
            continue;
        }
        if layer.id == "admin_commune" && layer.text_of(&feature, "code").is_none() {
            // Real files have communes nobody could match to an official
            // code; they are left out and named, and the others go in.
            let name = layer.text_of(&feature, "name").unwrap_or("without a name");
            report.skipped.push(reject(format!("commune '{name}' has no code")));
            continue;
        }
        admin::complete(layer, &mut feature);
        candidates.push(Candidate {
            fid: r.fid,
            names: name_columns.read(&r.values),
            feature,
        });
    }

    assign_communes(store, layer, &mut candidates, &mut report).await?;
    let writable = if opts.writable_provinces.is_empty() {
        None
    } else {
        let writable = writable::Writable::new(store, layer, &opts.writable_provinces).await?;
        writable.check_file(&candidates.iter().map(|c| &c.feature).collect::<Vec<_>>())?;
        Some(writable)
    };

    // Values of listed fields are checked against the lists as the store has them.
    let lists = if layer.fields.iter().any(|f| f.code_list.is_some()) {
        agrimap_model::CodeLists::new(&store.codes().await?)
    } else {
        agrimap_model::CodeLists::default()
    };
    let key = layer.natural_key();
    let mut seen: std::collections::HashMap<Vec<String>, String> = std::collections::HashMap::new();
    let mut features = Vec::with_capacity(candidates.len());
    let mut fids = Vec::with_capacity(candidates.len());
    let mut names = Vec::with_capacity(candidates.len());
    for c in candidates {
        if let Err(reason) = layer
            .check_feature(&c.feature)
            .and_then(|()| lists.check(layer, &c.feature))
        {
            report.rejected.push(Rejected { feature: c.fid, reason });
            continue;
        }
        // Layers without a natural key (imported with `replace`) have no duplicates to find.
        if !key.is_empty() {
            let k: Vec<String> = key
                .iter()
                .map(|name| layer.text_of(&c.feature, name).unwrap_or_default().to_owned())
                .collect();
            if let Some(first) = seen.get(&k) {
                report.rejected.push(Rejected {
                    feature: c.fid,
                    reason: format!("same {} as feature {first} of the file", key.join(" and ")),
                });
                continue;
            }
            seen.insert(k, c.fid.clone());
        }
        fids.push(c.fid);
        features.push(c.feature);
        names.push(c.names);
    }
    report.unknown_codes = commune::unknown_codes(store, layer, &features, &fids).await?;
    if (!report.rejected.is_empty() && !opts.skip_invalid) || features.is_empty() {
        return Ok(report);
    }
    if let Some(writable) = &writable {
        writable.check_stored(store, &features, opts.replace).await?;
    }
    // An update replaces what the file gives (and what is worked out from
    // it: the commune from the geometry, a unit's area and kind); fields the
    // file does not have keep their stored values.
    let given = |name: &str| {
        layer
            .field_index(name)
            .is_some_and(|i| mapping.sources[i].is_some() || constants[i].is_some())
    };
    let update = layer
        .fields
        .iter()
        .zip(mapping.sources.iter().zip(&constants))
        .filter(|(f, (source, constant))| {
            source.is_some()
                || constant.is_some()
                || matches!(f.name, "commune_code" | "boundary_set")
                || admin::worked_out(layer, f.name, &given)
        })
        .map(|(f, _)| f.name)
        .collect();
    let written = if opts.replace {
        // Communes replaced wholesale take their districts and provinces
        // with them: the units are made anew from the file's communes.
        let units = if layer.id == "admin_commune" {
            let arrived: Vec<admin::Arrived<'_>> = features
                .iter()
                .zip(&names)
                .map(|(feature, names)| admin::Arrived { feature, names })
                .collect();
            let (units, made) = admin::units_made_anew(&arrived).await?;
            report.derived = made;
            units
        } else {
            Vec::new()
        };
        let batch = WriteBatch {
            layers: std::iter::once(LayerWrite {
                layer,
                replace: true,
                features,
            })
            .chain(units)
            .collect(),
            readings: Vec::new(),
            ..Default::default()
        };
        // The summary counts the units too; the layer's own count is the file's.
        let count = batch.layers[0].features.len();
        store.write(batch).await.map(|_| (count, 0))
    } else {
        if admin::worked_out(layer, "kind", &given) {
            admin::keep_stored_kinds(store, layer, &mut features).await?;
        }
        let units = if layer.id == "admin_commune" {
            what_communes_bring(store, layer, &features, &names, opts, &mut report).await?
        } else {
            Vec::new()
        };
        let write = Upsert {
            layer,
            features,
            update,
            insert_new: true,
        };
        store
            .upsert_all(std::iter::once(write).chain(units).collect())
            .await
            .map(|summaries| summaries.first().map(|s| (s.inserted, s.updated)).unwrap_or_default())
    };
    let (inserted, updated) = written.map_err(|e| match e {
        StoreError::InvalidFeature { index, message, .. } => ImportError::Store(StoreError::InvalidFeature {
            layer: layer.id.to_owned(),
            index,
            message: format!(
                "feature {} of the file: {message}",
                fids.get(index).map_or("?", String::as_str)
            ),
        }),
        e => ImportError::Store(e),
    })?;
    report.written = true;
    report.replaced_layer = opts.replace;
    report.inserted = inserted;
    report.updated = updated;
    Ok(report)
}

/// What arriving communes bring with them, as upserts to write in their
/// transaction, each said in the report: the districts and provinces made
/// from them ([`admin`]), those made again because their communes changed
/// ([`outlines`]), and the features of other layers a corrected boundary
/// now holds ([`follow`]).
async fn what_communes_bring(
    store: &dyn Store,
    layer: &'static LayerDef,
    communes: &[Feature],
    names: &[admin::UnitNames],
    opts: &ImportOptions,
    report: &mut ImportReport,
) -> Result<Vec<Upsert>, ImportError> {
    // The stored communes, read once for the three steps.
    let stored = store.features(layer, &agrimap_model::FeatureQuery::default()).await?;
    let arrived: Vec<admin::Arrived<'_>> = communes
        .iter()
        .zip(names)
        .map(|(feature, names)| admin::Arrived { feature, names })
        .collect();
    let (mut units, derived) = admin::derived_units(store, &stored, &arrived).await?;
    report.derived = derived;
    let changes = changes::Changes::new(layer, &stored, communes);
    let outlines = outlines::outlines_following(store, &changes).await?;
    units.extend(outlines.upserts);
    report.derived.extend(outlines.remade);
    report.kept_units = outlines.kept;
    let (following, moved) = follow::features_following(store, &changes, &opts.writable_provinces).await?;
    units.extend(following);
    report.moved = moved;
    Ok(units)
}

/// Fills in the commune (and boundary set) of features that have none, from
/// their location; a feature in no commune of the store is refused.
///
/// A code given without its set is a code of the set whose commune holding
/// the feature has it; failing that, of the set the official crosswalk puts
/// it in (a department's file still coded by the communes of before the
/// reform, in a store that holds only the new ones); failing both, of the
/// set of the commune it lies in.
async fn assign_communes(
    store: &dyn Store,
    layer: &'static LayerDef,
    candidates: &mut Vec<Candidate>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let (Some(code_at), Some(set_at)) = (layer.field_index("commune_code"), layer.field_index("boundary_set")) else {
        return Ok(());
    };
    let missing = |c: &Candidate| commune::text_value(&c.feature.properties[code_at]).is_none();
    let unset = |c: &Candidate| commune::text_value(&c.feature.properties[set_at]).is_none();
    let needing: Vec<&Candidate> = candidates.iter().filter(|c| missing(c) || unset(c)).collect();
    let Some(extent) = commune::extent(needing.iter().map(|c| &c.feature.geometry)) else {
        return Ok(());
    };
    let communes = commune::Communes::load(store, extent).await?;
    // The list is asked once per code, and only for codes no commune
    // holding their feature settles.
    let mut by_crosswalk: std::collections::HashMap<String, Option<&'static str>> = std::collections::HashMap::new();
    let mut kept = Vec::with_capacity(candidates.len());
    for mut c in candidates.drain(..) {
        if !missing(&c) && !unset(&c) {
            kept.push(c);
            continue;
        }
        if let Some(code) = commune::text_value(&c.feature.properties[code_at]).map(str::to_owned) {
            let mut set = communes.set_holding(&c.feature.geometry, &code);
            if set.is_none() {
                if !by_crosswalk.contains_key(&code) {
                    let listed = commune::set_by_crosswalk(store, &code).await?;
                    by_crosswalk.insert(code.clone(), listed);
                }
                set = by_crosswalk[&code].map(str::to_owned);
            }
            if let Some(set) = set {
                c.feature.properties[set_at] = Value::Text(set);
                kept.push(c);
                continue;
            }
        }
        let set = commune::text_value(&c.feature.properties[set_at]).map(str::to_owned);
        match communes.locate(&c.feature.geometry, set.as_deref()) {
            Some((code, found_set)) => {
                if missing(&c) {
                    c.feature.properties[code_at] = Value::Text(code);
                    report.communes_assigned += 1;
                }
                if unset(&c) {
                    c.feature.properties[set_at] = Value::Text(found_set);
                }
                kept.push(c);
            }
            None => report.rejected.push(Rejected {
                feature: c.fid,
                reason: match commune::text_value(&c.feature.properties[code_at]) {
                    Some(code) => format!(
                        "the file gives commune code '{}' without its boundary set, and neither a commune of the store \
                         nor the crosswalk tells which set it belongs to",
                        agrimap_model::echo(code, 16)
                    ),
                    None => format!(
                        "the file gives no commune code and the feature lies in no commune of the store{}",
                        set.map(|s| format!(" (boundary set {s})")).unwrap_or_default()
                    ),
                },
            }),
        }
    }
    *candidates = kept;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappings_are_source_equals_field() {
        assert_eq!(
            parse_mapping(" ma_thua = parcel_id"),
            Ok(("ma_thua".into(), "parcel_id".into()))
        );
        assert!(parse_mapping("ma_thua").is_err());
        assert!(parse_mapping("=parcel_id").is_err());
    }

    /// Without GDAL, what needs it says how to get it, and GeoJSON still reads.
    #[cfg(not(feature = "gdal"))]
    #[test]
    fn without_gdal_other_formats_say_how_to_get_them() {
        let dir = std::env::temp_dir().join(format!("agrimap-io-nogdal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let shp = dir.join("thua.shp");
        std::fs::write(&shp, b"").expect("shp");
        let e = read_file(&shp, &ImportOptions::default()).expect_err("needs gdal");
        assert!(e.to_string().contains("--features gdal"), "{e}");
        let json = dir.join("a.geojson");
        std::fs::write(&json, br#"{"type":"FeatureCollection","features":[]}"#).expect("json");
        let opts = ImportOptions {
            srs: Some("EPSG:32648".into()),
            ..ImportOptions::default()
        };
        let e = read_file(&json, &opts).expect_err("needs gdal to reproject");
        assert!(e.to_string().contains("--features gdal"), "{e}");
        assert!(read_file(&json, &ImportOptions::default()).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Without GDAL, a GeoJSON whose `crs` names a VN-2000 CRS, and a CSV
    /// given one with `--srs`, come in as WGS 84 through the official
    /// shift. The point is (105.97° E, 9.60° N) as PROJ's `cs2cs` puts it
    /// in VN-2000 / TM-3 105-45 (EPSG:9210) with GDAL's definition.
    #[cfg(not(feature = "gdal"))]
    #[test]
    fn without_gdal_vn2000_files_are_reprojected() {
        let dir = std::env::temp_dir().join(format!("agrimap-io-vn2000-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let json = dir.join("diem.geojson");
        std::fs::write(
            &json,
            br#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::9210"}},
                "features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[523951.6106,1061625.9723]}}]}"#,
        )
        .expect("json");
        let csv = dir.join("diem.csv");
        std::fs::write(&csv, "ma,x,y\nA,523951.6106,1061625.9723\n").expect("csv");
        let in_vn2000 = ImportOptions {
            srs: Some("EPSG:9210".into()),
            ..ImportOptions::default()
        };
        for (file, opts) in [(&json, ImportOptions::default()), (&csv, in_vn2000)] {
            let data = read_file(file, &opts).expect("read");
            assert_eq!(data.crs, "EPSG:9210");
            let Ok(geo::Geometry::Point(p)) = &data.records[0].geometry else {
                panic!("{:?}", data.records[0].geometry);
            };
            assert!((p.x() - 105.97).abs() < 1e-8 && (p.y() - 9.60).abs() < 1e-8, "{p:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
