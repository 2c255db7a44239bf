//! Light traps' catch by pest species. The species are the store's
//! `pest_species` value list ([`crate::codes`]: seeded with the species
//! plant-protection sub-departments (Chi cục Trồng trọt và Bảo vệ thực vật)
//! name in their bulletins, extended by a province with `agrimap codes add
//! pest_species …`, no release needed); this module says how a species'
//! count is kept and what the bulletin prints beside the list's labels.
//!
//! A species' count is a parameter of its own, `pest_count:{code}` (insects
//! per trap-night), so each species is its own series, has its own latest
//! reading and its own thresholds, and the stores keep it in the `parameter`
//! column under the same (station, parameter, time) key as everything else.
//! A plain `pest_count` is the trap's whole catch with no species told, as
//! older clients send it: it is kept and judged as before (the default rule
//! for `pest_count`), and is not in the bulletin's species rows.

use crate::codes::{CodeLists, nearest};

/// The parameter every species' count belongs to.
pub const PEST_COUNT: &str = "pest_count";
/// The value list species codes come from.
pub const PEST_LIST: &str = "pest_species";

/// Scientific names of the species of the national defaults, for bulletins
/// (a species a province adds is printed without one).
pub const SCIENTIFIC_NAMES: &[(&str, &str)] = &[
    ("brown_planthopper", "Nilaparvata lugens"),
    ("white_backed_planthopper", "Sogatella furcifera"),
    ("green_leafhopper", "Nephotettix virescens"),
    ("rice_leaf_folder", "Cnaphalocrocis medinalis"),
    ("yellow_stem_borer", "Scirpophaga incertulas"),
    ("rice_bug", "Leptocorisa spp."),
];

/// The scientific name of a species, if agrimap knows it.
#[must_use]
pub fn scientific_name(code: &str) -> Option<&'static str> {
    SCIENTIFIC_NAMES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Where a species comes in bulletins: the national defaults in the order
/// sub-departments list them (the planthoppers first), then the rest.
#[must_use]
pub fn bulletin_rank(code: &str) -> usize {
    SCIENTIFIC_NAMES
        .iter()
        .position(|(c, _)| *c == code)
        .unwrap_or(SCIENTIFIC_NAMES.len())
}

/// The parameter a species' count is kept under.
#[must_use]
pub fn species_parameter(code: &str) -> String {
    format!("{PEST_COUNT}:{code}")
}

/// The base parameter and species code of a parameter name:
/// `pest_count:rice_bug` is (`pest_count`, `Some("rice_bug")`), `ph` is
/// (`ph`, `None`). The species is not checked against the list.
#[must_use]
pub fn split_parameter(name: &str) -> (&str, Option<&str>) {
    match name.split_once(':') {
        Some((base, species)) => (base, Some(species)),
        None => (name, None),
    }
}

/// Whether `code` has the form of a code (as value lists hold them:
/// lowercase ASCII letters, digits and `_`, at most 64).
#[must_use]
pub fn code_like(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `code` is a species that takes new readings: an active code of
/// the store's `pest_species` list. The refusal names the list's species.
///
/// # Errors
/// `unknown species '…'; species: code (label), …` with the nearest codes.
pub fn check_species(lists: &CodeLists, code: &str) -> Result<(), String> {
    if lists.is_active(PEST_LIST, code) {
        return Ok(());
    }
    let known: Vec<String> = lists
        .active(PEST_LIST)
        .map(|c| match lists.label(PEST_LIST, c) {
            Some((vi, _)) => format!("{c} ({vi})"),
            None => c.to_owned(),
        })
        .collect();
    let close = nearest(code, lists.active(PEST_LIST));
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!("; nearest: {}", close.join(", "))
    };
    Err(format!(
        "unknown species '{}'{hint}; species: {}",
        crate::echo(code, 40),
        known.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::national_defaults;

    #[test]
    fn species_come_from_the_list_and_split_back() {
        let lists = CodeLists::new(&national_defaults());
        for (code, _) in SCIENTIFIC_NAMES {
            assert_eq!(check_species(&lists, code), Ok(()), "{code}");
            let p = species_parameter(code);
            assert_eq!(split_parameter(&p), (PEST_COUNT, Some(*code)));
        }
        assert_eq!(split_parameter("ph"), ("ph", None));
        let err = check_species(&lists, "rice_bugs").expect_err("unknown");
        assert!(err.contains("nearest: rice_bug"), "{err}");
        assert!(err.contains("brown_planthopper (Rầy nâu)"), "{err}");
        assert!(!code_like("Rầy") && !code_like("") && code_like("rice_bug"));
    }
}
