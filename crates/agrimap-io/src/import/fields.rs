//! Which field of the file fills which field of the layer, and turning the
//! file's values into the layer's types.
//!
//! A layer field takes the file's field of the same name (any case), or one
//! of exactly ten characters that begins it (a Shapefile's `.dbf` cuts names
//! to ten: `growing_ar` is `growing_area_code`), unless `--map` says
//! otherwise. A mapping that names a field the file or the layer does not
//! have is refused, never ignored: a typo would otherwise import empty
//! columns. Messages about values never quote restricted fields.

use super::error::ImportError;
use super::source::SourceValue;
use agrimap_model::calendar::{days_from_civil, days_in_month, format_timestamp};
use agrimap_model::{Access, FieldDef, FieldType, LayerDef, Value};
use unicode_normalization::UnicodeNormalization;

/// Length a `.dbf` field name is cut to.
const DBF_NAME_LEN: usize = 10;
/// Offset of times that do not carry one: Vietnam's (UTC+7), where the files come from.
const LOCAL_OFFSET_SECONDS: i64 = 7 * 3600;

/// For each field of the layer, the file's field that fills it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// `sources[i]`: index in the file's fields of the value of `layer.fields[i]`.
    pub sources: Vec<Option<usize>>,
    /// Fields of the file that fill nothing (reported, not imported).
    pub unused: Vec<String>,
}

/// The index of the file's field `name`, matched exactly or in any case.
pub(super) fn source_field(fields: &[String], name: &str) -> Option<usize> {
    fields.iter().position(|f| f == name).or_else(|| {
        let lower = name.to_lowercase();
        fields.iter().position(|f| f.to_lowercase() == lower)
    })
}

/// The index of the file's field that holds `name`: the field of that name
/// (any case), or the one field whose name is `name` cut as a `.dbf` cuts
/// it (`district_n` for `district_name`).
pub(super) fn file_field(fields: &[String], name: &str) -> Option<usize> {
    source_field(fields, name).or_else(|| {
        let mut cut = dbf_cuts_of(fields, name);
        let first = cut.next();
        cut.next().is_none().then_some(first).flatten()
    })
}

/// The file's fields whose names are `name` cut to a `.dbf`'s ten characters.
fn dbf_cuts_of<'a>(fields: &'a [String], name: &'a str) -> impl Iterator<Item = usize> + 'a {
    let name = name.to_lowercase();
    fields
        .iter()
        .enumerate()
        .filter(move |(_, f)| f.chars().count() == DBF_NAME_LEN && name.starts_with(&f.to_lowercase()))
        .map(|(i, _)| i)
}

/// The index of the layer's field `name`; an error naming `what` asked for it
/// and the layer's fields otherwise.
fn layer_field(layer: &LayerDef, name: &str, what: &str) -> Result<usize, ImportError> {
    layer.field_index(name).ok_or_else(|| {
        ImportError::Mapping(format!(
            "{what}: layer '{}' has no field '{name}'; its fields are: {}",
            layer.id,
            layer.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// Works out the mapping of the file's `fields` onto `layer`.
///
/// # Errors
/// [`ImportError::Mapping`] when an explicit mapping names a field the file
/// or the layer does not have, or two file fields fill one layer field.
pub fn resolve(
    layer: &LayerDef,
    fields: &[String],
    explicit: &[(String, String)],
    commune_field: Option<&str>,
) -> Result<Mapping, ImportError> {
    let mut sources: Vec<Option<usize>> = vec![None; layer.fields.len()];
    let mut pairs: Vec<(String, String)> = explicit.to_vec();
    if let Some(c) = commune_field {
        if !layer.has_commune() {
            return Err(ImportError::Mapping(format!(
                "--commune-field: layer '{}' has no commune_code field",
                layer.id
            )));
        }
        pairs.push((c.to_owned(), "commune_code".to_owned()));
    }
    let file_fields = || {
        if fields.is_empty() {
            "(none)".to_owned()
        } else {
            fields.join(", ")
        }
    };
    for (source, target) in &pairs {
        let s = source_field(fields, source).ok_or_else(|| {
            ImportError::Mapping(format!(
                "field mapping {source}={target}: the file has no field '{source}'; its fields are: {}",
                file_fields()
            ))
        })?;
        let t = layer_field(layer, target, &format!("field mapping {source}={target}"))?;
        if sources[t].is_some_and(|prev| prev != s) {
            return Err(ImportError::Mapping(format!(
                "field mapping: two fields of the file are mapped to '{target}'"
            )));
        }
        sources[t] = Some(s);
    }
    let taken = |sources: &[Option<usize>], i: usize| sources.contains(&Some(i));
    for (t, field) in layer.fields.iter().enumerate() {
        if sources[t].is_some() {
            continue;
        }
        let by_name = source_field(fields, field.name).filter(|&i| !taken(&sources, i));
        let by_prefix = || {
            let matches: Vec<usize> = dbf_cuts_of(fields, field.name)
                .filter(|&i| !taken(&sources, i))
                .collect();
            (matches.len() == 1).then(|| matches[0])
        };
        sources[t] = by_name.or_else(by_prefix);
    }
    let unused = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| !taken(&sources, *i))
        .map(|(_, f)| f.clone())
        .collect();
    Ok(Mapping { sources, unused })
}

/// The value each layer field takes from `--set field=value` (in layer field
/// order; `None` where nothing is set): for what a file cannot carry, such as
/// the road class of a DGN drawing. Only fields the file does not fill.
///
/// # Errors
/// A setting naming a field the layer lacks, or one the file already fills.
pub fn constants(
    layer: &LayerDef,
    fields: &[String],
    mapping: &Mapping,
    set: &[(String, String)],
) -> Result<Vec<Option<SourceValue>>, ImportError> {
    let mut values = vec![None; layer.fields.len()];
    for (name, value) in set {
        let t = layer_field(layer, name, &format!("--set {name}={value}"))?;
        if let Some(source) = mapping.sources[t] {
            return Err(ImportError::Mapping(format!(
                "--set {name}=…: the file's field '{}' already fills '{name}'; --set is for fields the file lacks",
                fields[source]
            )));
        }
        values[t] = Some(SourceValue::Text(value.clone()));
    }
    Ok(values)
}

/// The value as `field` keeps it.
///
/// # Errors
/// A message naming the field and, for public fields, the value.
pub fn convert(field: &FieldDef, value: &SourceValue) -> Result<Value, String> {
    let shown = |v: &dyn std::fmt::Display| -> String {
        if field.access == Access::Restricted {
            String::new()
        } else {
            let v = v.to_string();
            format!(", got '{}'", agrimap_model::echo(&v, 60))
        }
    };
    let fail = |what: &str, v: &dyn std::fmt::Display| format!("field '{}' expects {what}{}", field.name, shown(v));
    let text = match value {
        SourceValue::Null => return Ok(Value::Null),
        SourceValue::Text(s) if s.trim().is_empty() => return Ok(Value::Null),
        SourceValue::Text(s) | SourceValue::Date(s) | SourceValue::DateTime(s) => s.trim().to_owned(),
        SourceValue::Int(i) => i.to_string(),
        SourceValue::Real(r) => real_text(*r),
    };
    match field.ty {
        // Vietnamese comes composed (NFC) or decomposed (NFD, as macOS and
        // some GIS exports write it); stored as NFC so equal names are equal.
        FieldType::Text => Ok(Value::Text(text.nfc().collect())),
        FieldType::Integer => match value {
            SourceValue::Int(i) => Ok(Value::Int(*i)),
            _ => whole_number(&text)
                .map(Value::Int)
                .ok_or_else(|| fail("a whole number", &text)),
        },
        FieldType::Real => number(&text).map(Value::Real).ok_or_else(|| fail("a number", &text)),
        FieldType::Boolean => match text.to_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "có" => Ok(Value::Bool(true)),
            "false" | "f" | "no" | "n" | "0" | "không" => Ok(Value::Bool(false)),
            _ => Err(fail("true or false", &text)),
        },
        FieldType::Date => date(&text)
            .map(Value::Text)
            .ok_or_else(|| fail("a date (YYYY-MM-DD or DD/MM/YYYY)", &text)),
        FieldType::DateTime => date_time(&text)
            .map(Value::Text)
            .ok_or_else(|| fail("a date and time (ISO 8601)", &text)),
    }
}

/// A real as text, without a trailing `.0` for whole values (codes read
/// from a `.dbf` number column: 33001, not 33001.0).
fn real_text(r: f64) -> String {
    if r.fract() == 0.0 && r.abs() < 1e15 {
        format!("{r:.0}")
    } else {
        r.to_string()
    }
}

fn whole_number(s: &str) -> Option<i64> {
    s.parse::<i64>().ok().or_else(|| {
        let r = number(s)?;
        #[expect(clippy::cast_possible_truncation, reason = "checked to be whole and in range")]
        (r.fract() == 0.0 && r.abs() < 9e15).then_some(r as i64)
    })
}

/// A number, with a decimal point or, as spreadsheets in Vietnamese write it, a comma.
fn number(s: &str) -> Option<f64> {
    let parsed = s.parse::<f64>().ok().or_else(|| {
        (!s.contains('.') && s.matches(',').count() == 1)
            .then(|| s.replace(',', ".").parse::<f64>().ok())
            .flatten()
    })?;
    parsed.is_finite().then_some(parsed)
}

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn ymd(y: i64, m: i64, d: i64) -> Option<(i64, i64, i64)> {
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m) && (1000..=9999).contains(&y)).then_some((y, m, d))
}

/// `YYYY-MM-DD`, `YYYY/MM/DD` or `DD/MM/YYYY` (the order Vietnamese dates are written in).
fn parse_date(s: &str) -> Option<(i64, i64, i64)> {
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    let [a, b, c] = parts.as_slice() else { return None };
    if a.len() == 4 {
        ymd(digits(a)?, digits(b)?, digits(c)?)
    } else if c.len() == 4 && s.contains('/') {
        ymd(digits(c)?, digits(b)?, digits(a)?)
    } else {
        None
    }
}

fn date(s: &str) -> Option<String> {
    // A date and time where a date is wanted: its date, as written.
    let day = s.split(['T', ' ']).next()?;
    let (y, m, d) = parse_date(day)?;
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// A date and time in UTC (`2026-03-01T00:00:00Z`); times without an offset
/// are Vietnam's, a date alone is its midnight.
// y, m, d, h, i: the parts of a date and time, as a calendar writes them.
#[allow(clippy::many_single_char_names)]
fn date_time(s: &str) -> Option<String> {
    let (day, rest) = match s.find(['T', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim()),
        None => (s, ""),
    };
    let (y, m, d) = parse_date(day)?;
    let (clock, offset) = if rest.is_empty() {
        ("00:00:00", LOCAL_OFFSET_SECONDS)
    } else if let Some(c) = rest.strip_suffix('Z') {
        (c, 0)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let sign = if rest.as_bytes()[i] == b'-' { -1 } else { 1 };
        let off: Vec<&str> = rest[i + 1..].split(':').collect();
        let (oh, om) = match off.as_slice() {
            [h, m] => (digits(h)?, digits(m)?),
            [hm] if hm.len() == 4 => (digits(&hm[..2])?, digits(&hm[2..])?),
            [h] => (digits(h)?, 0),
            _ => return None,
        };
        (&rest[..i], sign * (oh * 3600 + om * 60))
    } else {
        (rest, LOCAL_OFFSET_SECONDS)
    };
    let hms: Vec<&str> = clock.split(':').collect();
    let (h, mi, sec) = match hms.as_slice() {
        [h, mi] => (digits(h)?, digits(mi)?, 0),
        [h, mi, sec] => (digits(h)?, digits(mi)?, digits(sec.split('.').next()?)?),
        _ => return None,
    };
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let seconds = days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset;
    Some(format_timestamp(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agrimap_model::layer;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn fields_match_by_name_any_case_and_by_dbf_prefix() {
        let crop = layer("crop").expect("crop");
        let m = resolve(
            crop,
            &names(&["PARCEL_ID", "crop_type", "growing_ar", "note"]),
            &[],
            None,
        )
        .expect("map");
        assert_eq!(m.sources[crop.field_index("parcel_id").expect("f")], Some(0));
        assert_eq!(m.sources[crop.field_index("growing_area_code").expect("f")], Some(2));
        assert_eq!(m.unused, vec!["note".to_owned()]);
    }

    #[test]
    fn a_mapping_naming_a_missing_field_is_refused() {
        let crop = layer("crop").expect("crop");
        let file = names(&["ma_thua", "loai"]);
        let e = resolve(crop, &file, &[("ma_thua".into(), "parcel".into())], None).expect_err("no such target");
        assert!(e.to_string().contains("has no field 'parcel'"), "{e}");
        let e = resolve(crop, &file, &[("ma".into(), "parcel_id".into())], None).expect_err("no such source");
        assert!(e.to_string().contains("the file has no field 'ma'"), "{e}");
        let e = resolve(layer("water").expect("water"), &file, &[], Some("loai")).expect_err("no commune");
        assert!(e.to_string().contains("no commune_code"), "{e}");
    }

    #[test]
    fn values_take_the_layer_types() {
        let ocop = layer("ocop").expect("ocop");
        let stars = ocop.field("stars").expect("stars");
        assert_eq!(convert(stars, &SourceValue::Real(4.0)), Ok(Value::Int(4)));
        assert_eq!(convert(stars, &SourceValue::Text(" 5 ".into())), Ok(Value::Int(5)));
        assert!(convert(stars, &SourceValue::Real(4.5)).is_err());
        let code = ocop.field("commune_code").expect("code");
        assert_eq!(
            convert(code, &SourceValue::Real(33001.0)),
            Ok(Value::Text("33001".into()))
        );
        let crop = layer("crop").expect("crop");
        let area = crop.field("area_ha").expect("area");
        assert_eq!(convert(area, &SourceValue::Text("1,25".into())), Ok(Value::Real(1.25)));
        let planted = crop.field("planting_date").expect("date");
        assert_eq!(
            convert(planted, &SourceValue::Text("05/03/2026".into())),
            Ok(Value::Text("2026-03-05".into()))
        );
        assert!(convert(planted, &SourceValue::Text("31/02/2026".into())).is_err());
        let mon = layer("monitoring").expect("monitoring");
        let at = mon.field("last_reading_at").expect("at");
        assert_eq!(
            convert(at, &SourceValue::DateTime("2026-03-01T07:00:00+07:00".into())),
            Ok(Value::Text("2026-03-01T00:00:00Z".into()))
        );
        assert_eq!(
            convert(at, &SourceValue::Text("2026-03-01 07:00".into())),
            Ok(Value::Text("2026-03-01T00:00:00Z".into()))
        );
    }

    #[test]
    fn errors_never_quote_restricted_values() {
        let crop = layer("crop").expect("crop");
        let area = crop.field("area_ha").expect("area");
        let e = convert(area, &SourceValue::Text("lots".into())).expect_err("not a number");
        assert!(e.contains("'lots'"), "{e}");
        let restricted = agrimap_model::FieldDef {
            ty: FieldType::Integer,
            ..*crop.field("owner_phone").expect("phone")
        };
        let e = convert(&restricted, &SourceValue::Text("0912 345 678".into())).expect_err("not a number");
        assert!(!e.contains("0912"), "{e}");
    }
}
