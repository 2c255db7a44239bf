//! The official crosswalk file (`communes-2025-merges.csv`): one row per
//! (pre-2025 commune, 2025 commune) pair with the columns `old_code,
//! old_name, new_province_code, new_province_name, new_code, new_name, type`
//! (`full` or `partial`). The whole file is checked before anything is
//! stored: an empty code, an unknown type or a pair given twice is an error
//! naming its lines.

use super::columns::{RowErrors, positions};
use crate::csv_lines::Lines;
use crate::error::{CoreError, echo};
use agrimap_store::{CrosswalkPair, PairKind};
use std::collections::BTreeMap;

/// The columns of the official file (and of `/api/crosswalk?f=csv`, before `share`).
pub const COLUMNS: [&str; 7] = [
    "old_code",
    "old_name",
    "new_province_code",
    "new_province_name",
    "new_code",
    "new_name",
    "type",
];

/// Error code of a file that cannot be used.
pub const BAD_CROSSWALK: &str = "bad_crosswalk";

/// Reads and checks a crosswalk file.
///
/// # Errors
/// `bad_crosswalk` when the header lacks a column, a row cannot be read,
/// has an empty or malformed code, a province that is none of the 34 of
/// 2025, a type other than `full`/`partial`,
/// or repeats a pair; the message names the lines.
pub fn parse_pairs(bytes: &[u8]) -> Result<Vec<CrosswalkPair>, CoreError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| CoreError::invalid(BAD_CROSSWALK, format!("the header cannot be read: {e}")))?
        .clone();
    let at = positions(&header, COLUMNS, BAD_CROSSWALK)?;
    let mut errors = RowErrors::default();
    let mut pairs = Vec::new();
    // (old, new) -> first line, to name both lines of a repeated pair.
    let mut seen: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut lines = Lines::new(bytes);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(lines.of(e.position()), format!("cannot be read: {e}"));
                continue;
            }
        };
        let line = lines.of(record.position());
        let cell = |i: usize| record.get(at[i]).unwrap_or("").trim().to_owned();
        let [
            old_code,
            old_name,
            new_province_code,
            new_province_name,
            new_code,
            new_name,
            kind,
        ] = [0, 1, 2, 3, 4, 5, 6].map(cell);
        let mut bad = Vec::new();
        // Commune codes have 5 digits; the island districts that had no
        // communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo) keep
        // their 3-digit district code as the old code.
        for (name, value, lengths) in [
            ("old_code", &old_code, &[5, 3][..]),
            ("new_code", &new_code, &[5][..]),
            ("new_province_code", &new_province_code, &[2][..]),
        ] {
            if value.is_empty() {
                bad.push(format!("{name} is empty"));
            } else if !value.chars().all(|c| c.is_ascii_digit()) || !lengths.contains(&value.len()) {
                let digits: Vec<String> = lengths.iter().map(ToString::to_string).collect();
                bad.push(format!(
                    "{name} '{}' is not a code ({} digits)",
                    echo(value, 20),
                    digits.join(" or ")
                ));
            }
        }
        if new_province_code.len() == 2 && agrimap_model::admin::province_2025(&new_province_code).is_none() {
            bad.push(format!(
                "new_province_code '{new_province_code}' is none of the 34 provinces of 2025"
            ));
        }
        let kind = PairKind::parse(&kind)
            .ok_or_else(|| format!("type must be 'full' or 'partial', got '{}'", echo(&kind, 20)));
        if let Err(e) = &kind {
            bad.push(e.clone());
        }
        if bad.is_empty() {
            if let Some(first) = seen.get(&(old_code.clone(), new_code.clone())) {
                bad.push(format!(
                    "the pair {old_code} → {new_code} is given already on line {first}"
                ));
            } else {
                seen.insert((old_code.clone(), new_code.clone()), line);
            }
        }
        match kind {
            Ok(kind) if bad.is_empty() => pairs.push(CrosswalkPair {
                old_code,
                old_name,
                new_province_code,
                new_province_name,
                new_code,
                new_name,
                kind,
            }),
            _ => errors.push(line, bad.join(", ")),
        }
    }
    errors.into_result(BAD_CROSSWALK, "the crosswalk")?;
    if pairs.is_empty() {
        return Err(CoreError::invalid(BAD_CROSSWALK, "the crosswalk has no rows"));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "old_code,old_name,new_province_code,new_province_name,new_code,new_name,type\n";

    #[test]
    fn reads_pairs_in_any_column_order() {
        let text = "type,new_code,old_code,old_name,new_name,new_province_code,new_province_name\n\
                    full,31510,31507,Xã A,Phường B,92,Thành phố Cần Thơ\n";
        let pairs = parse_pairs(text.as_bytes()).expect("pairs");
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].old_code, "31507");
        assert_eq!(pairs[0].new_code, "31510");
        assert_eq!(pairs[0].new_province_name, "Thành phố Cần Thơ");
        assert_eq!(pairs[0].kind, PairKind::Full);
    }

    #[test]
    fn names_the_lines_of_bad_rows() {
        let text = format!(
            "{HEADER}31507,A,92,Thành phố Cần Thơ,31510,B,full\n,A,92,Thành phố Cần Thơ,31510,B,full\n31508,A,92,Thành phố Cần Thơ,31510,B,merged\n31507,A,92,Thành phố Cần Thơ,31510,B,partial\n"
        );
        // The official list ends its lines with \r\n.
        for text in [text.clone(), text.replace('\n', "\r\n")] {
            let e = parse_pairs(text.as_bytes()).expect_err("bad rows");
            assert_eq!(e.code, BAD_CROSSWALK);
            assert!(e.message.contains("3 bad row(s)"), "{}", e.message);
            assert!(e.message.contains("line 3: old_code is empty"), "{}", e.message);
            assert!(
                e.message
                    .contains("line 4: type must be 'full' or 'partial', got 'merged'"),
                "{}",
                e.message
            );
            assert!(
                e.message
                    .contains("line 5: the pair 31507 → 31510 is given already on line 2"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn codes_of_the_wrong_shape_or_province_are_named() {
        let text = format!(
            "{HEADER}3150,A,92,Thành phố Cần Thơ,31510,B,full\n\
             31507,A,93,Tỉnh Hậu Giang,31510,B,full\n\
             755,Huyện Côn Đảo,79,Thành phố Hồ Chí Minh,26732,Đặc khu Côn Đảo,full\n"
        );
        let message = parse_pairs(text.as_bytes()).expect_err("bad rows").to_string();
        for expected in [
            "line 2: old_code '3150' is not a code (5 or 3 digits)",
            "line 3: new_province_code '93' is none of the 34 provinces of 2025",
        ] {
            assert!(message.contains(expected), "{message}");
        }
        assert!(
            !message.contains("line 5"),
            "an island district's code is one: {message}"
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = parse_pairs(b"old_code,new_code\n1,2\n").expect_err("missing");
        assert!(
            e.message.contains("no column old_name, new_province_code"),
            "{}",
            e.message
        );
    }
}
