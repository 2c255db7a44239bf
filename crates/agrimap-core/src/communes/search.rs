//! Finding communes by what people type: folded names ([`agrimap_model::search`])
//! ranked exact code; exact name (a name spelled exactly as typed, marks
//! included, before one that only folds alike: `Phước Thạnh` finds Phước Thạnh
//! before Phước Thành); same folded name; folded name starting with the query
//! (or code starting with a query of digits); every query word starting a word
//! of the name, in order; the query inside the name.

use super::Commune;
use agrimap_model::search::{fold, normalize, strip_kind_prefix};

/// How well a commune matches a query; lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rank {
    Code,
    /// Same name, marks included.
    ExactName,
    /// Same folded name.
    Name,
    Prefix,
    WordPrefix,
    Substring,
}

/// A search query, folded.
pub(super) struct Search {
    /// Digits only, trimmed: compared with codes.
    code: Option<String>,
    /// The folded query and, when it starts with a kind of unit, the rest.
    forms: Vec<(String, Vec<String>)>,
    /// The query normalized, with marks, and without a leading kind of unit.
    exact: Vec<String>,
}

impl Search {
    pub(super) fn new(q: &str) -> Self {
        let trimmed = q.trim();
        let code = (!trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit())).then(|| trimmed.to_owned());
        let folded = fold(q);
        let normalized = normalize(q);
        let mut exact: Vec<String> = strip_kind_prefix(&normalized).map(str::to_owned).into_iter().collect();
        exact.push(normalized);
        let mut forms = Vec::new();
        if let Some(bare) = strip_kind_prefix(&folded) {
            forms.push(bare.to_owned());
        }
        if !folded.is_empty() {
            forms.push(folded);
        }
        Self {
            code,
            exact,
            forms: forms
                .into_iter()
                .map(|f| {
                    let words = f.split(' ').map(str::to_owned).collect();
                    (f, words)
                })
                .collect(),
        }
    }

    pub(super) fn rank(&self, c: &Commune) -> Option<Rank> {
        let by_code = self.code.as_deref().and_then(|q| {
            if c.code == q {
                Some(Rank::Code)
            } else {
                c.code.starts_with(q).then_some(Rank::Prefix)
            }
        });
        by_code.into_iter().chain(self.rank_name(&Name::of(c))).min()
    }

    /// How well a name alone matches the query.
    pub(super) fn rank_name(&self, name: &Name<'_>) -> Option<Rank> {
        self.forms
            .iter()
            .filter_map(|(q, words)| name_rank(name, q, words))
            .min()
            .map(|rank| {
                // Among names that fold alike, the one spelled as typed goes first.
                if rank == Rank::Name && self.exact.iter().any(|e| e == name.normalized) {
                    Rank::ExactName
                } else {
                    rank
                }
            })
    }
}

/// A name as search compares it: normalized (marks kept), folded, and the
/// folded name's words.
pub(super) struct Name<'a> {
    pub normalized: &'a str,
    pub folded: &'a str,
    pub words: &'a [String],
}

impl<'a> Name<'a> {
    fn of(c: &'a Commune) -> Self {
        Self {
            normalized: &c.normalized,
            folded: &c.folded,
            words: &c.words,
        }
    }
}

fn name_rank(name: &Name<'_>, q: &str, q_words: &[String]) -> Option<Rank> {
    if name.folded == q {
        Some(Rank::Name)
    } else if name.folded.starts_with(q) {
        Some(Rank::Prefix)
    } else if words_start_in_order(name.words, q_words) {
        Some(Rank::WordPrefix)
    } else if name.folded.contains(q) {
        Some(Rank::Substring)
    } else {
        None
    }
}

/// Each query word starts a word of the name, later than the previous one's.
fn words_start_in_order(name: &[String], query: &[String]) -> bool {
    let mut name = name.iter();
    query.iter().all(|q| name.any(|w| w.starts_with(q.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commune(code: &str, name: &str) -> Commune {
        let folded = fold(name);
        Commune {
            normalized: normalize(name),
            code: code.into(),
            name: name.into(),
            kind: Some("xa".into()),
            boundary_set: "pre-2025".into(),
            district_code: None,
            district_name: None,
            province_code: "99".into(),
            province_name: None,
            area_ha: None,
            ntm_status: None,
            ntm_year: None,
            population: None,
            bbox: None,
            center: None,
            boundary: geo::Geometry::Point(geo::Point::new(0.0, 0.0)),
            words: folded.split(' ').map(str::to_owned).collect(),
            folded,
        }
    }

    #[test]
    fn ranks_code_name_prefix_words_substring() {
        let my_xuong = commune("33030", "Mỹ Xương");
        let my_xuong_tay = commune("33031", "Mỹ Xương Tây");
        let tan_thuan_tay = commune("33071", "Tân Thuận Tây");
        let xa_phien = commune("33090", "Xà Phiên");
        let s = Search::new("my xuong");
        assert_eq!(s.rank(&my_xuong), Some(Rank::Name));
        assert_eq!(s.rank(&my_xuong_tay), Some(Rank::Prefix));
        assert_eq!(s.rank(&tan_thuan_tay), None);
        assert_eq!(Search::new("XÃ MỸ XƯƠNG").rank(&my_xuong), Some(Rank::ExactName));
        assert_eq!(Search::new("xa my xuong").rank(&my_xuong), Some(Rank::Name));
        assert_eq!(Search::new("33030").rank(&my_xuong), Some(Rank::Code));
        assert_eq!(Search::new("3303").rank(&my_xuong), Some(Rank::Prefix));
        assert_eq!(Search::new("t t t").rank(&tan_thuan_tay), Some(Rank::WordPrefix));
        assert_eq!(Search::new("thuan tay").rank(&tan_thuan_tay), Some(Rank::WordPrefix));
        assert_eq!(Search::new("tay thuan").rank(&tan_thuan_tay), None);
        assert_eq!(Search::new("uan ta").rank(&tan_thuan_tay), Some(Rank::Substring));
        // A name that starts like a kind of unit is still found whole.
        assert_eq!(Search::new("xa phien").rank(&xa_phien), Some(Rank::Name));
        assert_eq!(Search::new("!!!").rank(&my_xuong), None);
        // Marks typed pick the name spelled so among those that fold alike.
        let thanh_dot = commune("33001", "Phước Thạnh");
        let thanh_grave = commune("33053", "Phước Thành");
        let s = Search::new("phước thạnh");
        assert_eq!(s.rank(&thanh_dot), Some(Rank::ExactName));
        assert_eq!(s.rank(&thanh_grave), Some(Rank::Name));
        assert_eq!(Search::new("Xã Phước Thành").rank(&thanh_grave), Some(Rank::ExactName));
        assert_eq!(
            Search::new("thị trấn Phước Thành").rank(&thanh_grave),
            Some(Rank::ExactName)
        );
        assert_eq!(Search::new("phuoc thanh").rank(&thanh_dot), Some(Rank::Name));
    }
}
