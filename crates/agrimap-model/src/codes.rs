//! Value lists as data: the crop types, seasons, practices, species, farming
//! modes, station kinds and pest species a province records, each a code
//! with Vietnamese and English labels.
//!
//! The lists live in the store, seeded with [`NATIONAL_DEFAULTS`] (the
//! Mekong and Red River deltas), and change with `agrimap codes` or the admin
//! endpoint, with no migration: a province adds sugarcane or cá thát lát
//! when it needs them. A field of a layer that takes its values from a list
//! names it ([`crate::FieldDef::code_list`]); [`CodeLists::check`] holds a
//! feature to the lists as the store has them, and an unknown value is
//! answered with the list's name and the nearest codes.

use crate::search::fold;
use crate::{Feature, LayerDef, Value, catalog};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One value of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Code {
    pub list: String,
    pub code: String,
    pub label_vi: String,
    pub label_en: String,
    /// A retired code stays readable on old features but takes no new ones.
    pub retired: bool,
}

/// The lists there are, with what each is for.
pub const CODE_LISTS: &[(&str, &str, &str)] = &[
    ("crop_type", "Cây trồng", "Crops"),
    ("season", "Mùa vụ", "Growing seasons"),
    (
        "practice",
        "Phương thức canh tác",
        "Farming practices and certifications",
    ),
    ("species", "Đối tượng nuôi thủy sản", "Aquaculture species"),
    ("farming_mode", "Hình thức nuôi", "Aquaculture farming modes"),
    ("station_kind", "Loại trạm quan trắc", "Monitoring station kinds"),
    ("pest_species", "Sinh vật gây hại", "Pest species caught in light traps"),
    ("irrigation_work_kind", "Loại công trình thủy lợi", "Irrigation works"),
    ("irrigation_source", "Nguồn nước tưới", "Irrigation water supply"),
    ("forest_type", "Loại rừng", "Forest types by use"),
    ("tree_species", "Loài cây rừng", "Forest tree species"),
    ("livestock_species", "Vật nuôi", "Livestock species"),
];

/// Whether `list` is one of [`CODE_LISTS`].
#[must_use]
pub fn is_code_list(list: &str) -> bool {
    CODE_LISTS.iter().any(|(id, ..)| *id == list)
}

/// The (layer, field) pairs whose values come from `list`.
#[must_use]
pub fn fields_using(list: &str) -> Vec<(&'static LayerDef, &'static str)> {
    catalog()
        .iter()
        .flat_map(|l| l.fields.iter().map(move |f| (l, f)))
        .filter(|(_, f)| f.code_list == Some(list))
        .map(|(l, f)| (l, f.name))
        .collect()
}

/// The national defaults every new store is seeded with: (list, code,
/// Vietnamese label, English label). Codes are ASCII snake case; labels
/// are as the Ministry of Agriculture's statistics and the provinces'
/// plant-protection and fisheries sub-departments write them.
pub const NATIONAL_DEFAULTS: &[(&str, &str, &str, &str)] = &[
    // Crops: food, industrial and fruit crops of both deltas.
    ("crop_type", "rice", "Lúa", "Rice"),
    ("crop_type", "glutinous_rice", "Lúa nếp", "Glutinous rice"),
    ("crop_type", "maize", "Ngô (bắp)", "Maize"),
    ("crop_type", "sweet_potato", "Khoai lang", "Sweet potato"),
    ("crop_type", "cassava", "Sắn (khoai mì)", "Cassava"),
    ("crop_type", "taro", "Khoai môn", "Taro"),
    ("crop_type", "soybean", "Đậu tương (đậu nành)", "Soybean"),
    ("crop_type", "mung_bean", "Đậu xanh", "Mung bean"),
    ("crop_type", "peanut", "Lạc (đậu phộng)", "Peanut"),
    ("crop_type", "sesame", "Vừng (mè)", "Sesame"),
    ("crop_type", "sugarcane", "Mía", "Sugarcane"),
    ("crop_type", "coconut", "Dừa", "Coconut"),
    ("crop_type", "mango", "Xoài", "Mango"),
    ("crop_type", "longan", "Nhãn", "Longan"),
    ("crop_type", "lychee", "Vải", "Lychee"),
    ("crop_type", "durian", "Sầu riêng", "Durian"),
    ("crop_type", "pomelo", "Bưởi", "Pomelo"),
    ("crop_type", "orange", "Cam", "Orange"),
    ("crop_type", "king_mandarin", "Cam sành", "King mandarin"),
    ("crop_type", "mandarin", "Quýt", "Mandarin"),
    ("crop_type", "lime", "Chanh", "Lime"),
    ("crop_type", "kumquat", "Quất (tắc)", "Kumquat"),
    ("crop_type", "banana", "Chuối", "Banana"),
    ("crop_type", "pineapple", "Dứa (khóm)", "Pineapple"),
    ("crop_type", "jackfruit", "Mít", "Jackfruit"),
    ("crop_type", "rambutan", "Chôm chôm", "Rambutan"),
    ("crop_type", "mangosteen", "Măng cụt", "Mangosteen"),
    ("crop_type", "dragon_fruit", "Thanh long", "Dragon fruit"),
    ("crop_type", "guava", "Ổi", "Guava"),
    ("crop_type", "papaya", "Đu đủ", "Papaya"),
    ("crop_type", "star_apple", "Vú sữa", "Star apple"),
    ("crop_type", "sapodilla", "Hồng xiêm (sa-pô-chê)", "Sapodilla"),
    ("crop_type", "water_apple", "Mận (roi)", "Water apple"),
    ("crop_type", "watermelon", "Dưa hấu", "Watermelon"),
    ("crop_type", "vegetables", "Rau màu", "Vegetables"),
    ("crop_type", "chili", "Ớt", "Chili"),
    ("crop_type", "shallot", "Hành tím", "Shallot"),
    ("crop_type", "garlic", "Tỏi", "Garlic"),
    ("crop_type", "lotus", "Sen", "Lotus"),
    ("crop_type", "cacao", "Ca cao", "Cacao"),
    ("crop_type", "coffee", "Cà phê", "Coffee"),
    ("crop_type", "pepper", "Hồ tiêu", "Black pepper"),
    ("crop_type", "cashew", "Điều", "Cashew"),
    ("crop_type", "tea", "Chè", "Tea"),
    ("crop_type", "flowers", "Hoa, cây cảnh", "Flowers and ornamentals"),
    ("crop_type", "mushroom", "Nấm", "Mushrooms"),
    // Seasons: the three rice seasons of the south, the two of the north.
    ("season", "dong_xuan", "Đông Xuân", "Winter–spring"),
    ("season", "he_thu", "Hè Thu", "Summer–autumn"),
    ("season", "thu_dong", "Thu Đông", "Autumn–winter"),
    ("season", "vu_mua", "Vụ mùa", "Main (wet) season"),
    ("season", "vu_chiem", "Vụ chiêm", "Spring (chiêm) season"),
    ("season", "vu_dong", "Vụ đông", "Winter crop"),
    ("season", "perennial", "Lâu năm", "Perennial"),
    // Practices and certifications.
    ("practice", "conventional", "Thông thường", "Conventional"),
    ("practice", "vietgap", "VietGAP", "VietGAP"),
    ("practice", "globalgap", "GlobalGAP", "GlobalGAP"),
    ("practice", "organic", "Hữu cơ", "Organic"),
    ("practice", "basic_gap", "BasicGAP", "BasicGAP"),
    // Aquaculture species.
    ("species", "black_tiger_shrimp", "Tôm sú", "Black tiger shrimp"),
    ("species", "whiteleg_shrimp", "Tôm thẻ chân trắng", "Whiteleg shrimp"),
    (
        "species",
        "giant_freshwater_prawn",
        "Tôm càng xanh",
        "Giant freshwater prawn",
    ),
    ("species", "tra_catfish", "Cá tra", "Tra catfish"),
    ("species", "basa_catfish", "Cá basa", "Basa catfish"),
    ("species", "snakehead", "Cá lóc", "Snakehead"),
    ("species", "climbing_perch", "Cá rô đồng", "Climbing perch"),
    ("species", "snakeskin_gourami", "Cá sặc rằn", "Snakeskin gourami"),
    ("species", "giant_gourami", "Cá tai tượng", "Giant gourami"),
    ("species", "clown_knifefish", "Cá thát lát", "Clown knifefish"),
    ("species", "marble_goby", "Cá bống tượng", "Marble goby"),
    ("species", "tilapia", "Cá rô phi", "Tilapia"),
    ("species", "red_tilapia", "Cá điêu hồng", "Red tilapia"),
    ("species", "common_carp", "Cá chép", "Common carp"),
    ("species", "grass_carp", "Cá trắm cỏ", "Grass carp"),
    ("species", "silver_carp", "Cá mè", "Silver carp"),
    ("species", "mud_crab", "Cua biển", "Mud crab"),
    ("species", "blood_cockle", "Sò huyết", "Blood cockle"),
    ("species", "hard_clam", "Nghêu", "Hard clam"),
    ("species", "swamp_eel", "Lươn", "Swamp eel"),
    ("species", "frog", "Ếch", "Frog"),
    // Farming modes.
    ("farming_mode", "intensive", "Thâm canh", "Intensive"),
    ("farming_mode", "super_intensive", "Siêu thâm canh", "Super-intensive"),
    ("farming_mode", "semi_intensive", "Bán thâm canh", "Semi-intensive"),
    (
        "farming_mode",
        "improved_extensive",
        "Quảng canh cải tiến",
        "Improved extensive",
    ),
    ("farming_mode", "extensive", "Quảng canh", "Extensive"),
    ("farming_mode", "rice_shrimp", "Lúa – tôm", "Rice–shrimp"),
    ("farming_mode", "shrimp_mangrove", "Tôm – rừng", "Shrimp–mangrove"),
    // Station kinds.
    ("station_kind", "water_quality", "Chất lượng nước", "Water quality"),
    ("station_kind", "insect_trap", "Bẫy đèn", "Light trap"),
    ("station_kind", "weather", "Khí tượng", "Weather"),
    // Pest species, as plant-protection sub-departments name them.
    ("pest_species", "brown_planthopper", "Rầy nâu", "Brown planthopper"),
    (
        "pest_species",
        "white_backed_planthopper",
        "Rầy lưng trắng",
        "White-backed planthopper",
    ),
    (
        "pest_species",
        "green_leafhopper",
        "Rầy xanh đuôi đen",
        "Green leafhopper",
    ),
    (
        "pest_species",
        "rice_leaf_folder",
        "Sâu cuốn lá nhỏ",
        "Rice leaf folder",
    ),
    ("pest_species", "yellow_stem_borer", "Sâu đục thân", "Yellow stem borer"),
    ("pest_species", "rice_bug", "Bọ xít dài", "Rice bug"),
    // Irrigation works: points (gates, pumping stations) and lines (dykes, embankments).
    ("irrigation_work_kind", "sluice_gate", "Cống", "Sluice gate"),
    ("irrigation_work_kind", "pumping_station", "Trạm bơm", "Pumping station"),
    ("irrigation_work_kind", "dyke", "Đê bao", "Dyke"),
    ("irrigation_work_kind", "embankment", "Bờ bao, kè", "Embankment"),
    ("irrigation_work_kind", "culvert", "Cống hộp, cống tròn", "Culvert"),
    ("irrigation_work_kind", "weir", "Đập dâng", "Weir"),
    // How irrigated areas get their water.
    ("irrigation_source", "pumping", "Tưới bằng động lực (bơm)", "Pumped"),
    ("irrigation_source", "gravity", "Tưới tự chảy", "Gravity"),
    ("irrigation_source", "tidal", "Tưới theo triều", "Tidal"),
    // Forest types by use (Luật Lâm nghiệp 2017).
    ("forest_type", "production", "Rừng sản xuất", "Production forest"),
    ("forest_type", "protection", "Rừng phòng hộ", "Protection forest"),
    ("forest_type", "special_use", "Rừng đặc dụng", "Special-use forest"),
    // Tree species of the delta's forests.
    ("tree_species", "rhizophora", "Đước", "Mangrove (Rhizophora)"),
    ("tree_species", "avicennia", "Mắm", "Grey mangrove (Avicennia)"),
    ("tree_species", "sonneratia", "Bần", "Mangrove apple (Sonneratia)"),
    ("tree_species", "nipa_palm", "Dừa nước", "Nipa palm"),
    ("tree_species", "melaleuca", "Tràm", "Melaleuca"),
    ("tree_species", "acacia", "Keo lai", "Hybrid acacia"),
    ("tree_species", "eucalyptus", "Bạch đàn", "Eucalyptus"),
    ("tree_species", "casuarina", "Phi lao", "Casuarina"),
    ("tree_species", "mixed", "Rừng hỗn giao", "Mixed stand"),
    // Livestock.
    ("livestock_species", "pig", "Lợn (heo)", "Pigs"),
    ("livestock_species", "chicken", "Gà", "Chickens"),
    ("livestock_species", "duck", "Vịt", "Ducks"),
    ("livestock_species", "cattle", "Bò", "Cattle"),
    ("livestock_species", "buffalo", "Trâu", "Buffalo"),
    ("livestock_species", "goat", "Dê", "Goats"),
    ("livestock_species", "quail", "Chim cút", "Quail"),
    ("livestock_species", "swiftlet", "Chim yến", "Swiftlets"),
];

/// The national defaults as codes.
#[must_use]
pub fn national_defaults() -> Vec<Code> {
    NATIONAL_DEFAULTS
        .iter()
        .map(|(list, code, vi, en)| Code {
            list: (*list).to_owned(),
            code: (*code).to_owned(),
            label_vi: (*vi).to_owned(),
            label_en: (*en).to_owned(),
            retired: false,
        })
        .collect()
}

/// What a code list change or check refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("unknown code list '{0}'; lists: {lists}", lists = list_names())]
    UnknownList(String),
    #[error("'{0}' is not a code: use lowercase ASCII letters, digits and '_' (e.g. clown_knifefish), at most 48")]
    BadCode(String),
    #[error("code '{code}' of list {list} needs a Vietnamese and an English label")]
    MissingLabel { list: String, code: String },
    #[error("code '{code}' is already in list {list}")]
    Exists { list: String, code: String },
    #[error("no code '{code}' in list {list}")]
    NotFound { list: String, code: String },
    #[error("code '{code}' of list {list} is used by {features} features ({fields}): it cannot be retired")]
    InUse {
        list: String,
        code: String,
        features: u64,
        fields: String,
    },
}

fn list_names() -> String {
    CODE_LISTS.iter().map(|(id, ..)| *id).collect::<Vec<_>>().join(", ")
}

impl Code {
    /// Checks a code to be added.
    ///
    /// # Errors
    /// An unknown list, a code that is not lowercase snake case, a missing label.
    pub fn check(&self) -> Result<(), CodeError> {
        if !is_code_list(&self.list) {
            return Err(CodeError::UnknownList(self.list.clone()));
        }
        let well_formed = !self.code.is_empty()
            && self.code.len() <= 48
            && self
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(CodeError::BadCode(crate::echo(&self.code, 60)));
        }
        if self.label_vi.trim().is_empty() || self.label_en.trim().is_empty() {
            return Err(CodeError::MissingLabel {
                list: self.list.clone(),
                code: self.code.clone(),
            });
        }
        Ok(())
    }
}

/// The lists of a store as one snapshot, to check features against.
#[derive(Debug, Clone, Default)]
pub struct CodeLists {
    /// list → codes that take new values.
    active: BTreeMap<String, BTreeSet<String>>,
    /// list → code → labels, retired ones included.
    labels: BTreeMap<String, BTreeMap<String, (String, String)>>,
}

impl CodeLists {
    #[must_use]
    pub fn new(codes: &[Code]) -> Self {
        let mut lists = Self::default();
        for c in codes {
            if !c.retired {
                lists.active.entry(c.list.clone()).or_default().insert(c.code.clone());
            }
            lists
                .labels
                .entry(c.list.clone())
                .or_default()
                .insert(c.code.clone(), (c.label_vi.clone(), c.label_en.clone()));
        }
        lists
    }

    /// Whether `code` is an active code of `list`.
    #[must_use]
    pub fn is_active(&self, list: &str, code: &str) -> bool {
        self.active.get(list).is_some_and(|c| c.contains(code))
    }

    /// The active codes of `list`, in code order.
    pub fn active(&self, list: &str) -> impl Iterator<Item = &str> {
        self.active.get(list).into_iter().flatten().map(String::as_str)
    }

    /// The (Vietnamese, English) labels of a code, retired or not.
    #[must_use]
    pub fn label(&self, list: &str, code: &str) -> Option<(&str, &str)> {
        self.labels
            .get(list)
            .and_then(|l| l.get(code))
            .map(|(vi, en)| (vi.as_str(), en.as_str()))
    }

    /// Whether every value of `feature` in a listed field of `layer` is an
    /// active code of its list; otherwise which field, which list, and the
    /// nearest codes.
    ///
    /// # Errors
    /// A message for the import report or the HTTP answer.
    pub fn check(&self, layer: &LayerDef, feature: &Feature) -> Result<(), String> {
        for (field, value) in layer.fields.iter().zip(&feature.properties) {
            let (Some(list), Value::Text(code)) = (field.code_list, value) else {
                continue;
            };
            let codes = self.active.get(list);
            if codes.is_some_and(|c| c.contains(code)) {
                continue;
            }
            let nearest = codes
                .map(|c| nearest(code, c.iter().map(String::as_str)))
                .unwrap_or_default();
            let hint = if nearest.is_empty() {
                format!("; `agrimap codes add {list} CODE` adds one")
            } else {
                format!("; nearest: {}", nearest.join(", "))
            };
            return Err(format!(
                "field '{}' takes a code of the list {list}, and '{}' is not one{hint}",
                field.name,
                crate::echo(code, 60)
            ));
        }
        Ok(())
    }
}

/// Up to three codes closest to `text` (by edit distance over the folded
/// text, ignoring `_` and spaces), closest first.
#[must_use]
pub fn nearest<'a>(text: &str, codes: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let key = |s: &str| fold(s).replace([' ', '_', '-'], "");
    let wanted = key(text);
    let mut scored: Vec<(usize, &str)> = codes.map(|c| (distance(&wanted, &key(c)), c)).collect();
    scored.sort_unstable();
    let limit = wanted.chars().count().div_ceil(3).max(2);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= limit)
        .take(3)
        .map(|(_, c)| c)
        .collect()
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_cover_both_deltas() {
        let count = |list: &str| NATIONAL_DEFAULTS.iter().filter(|(l, ..)| *l == list).count();
        assert!(count("crop_type") >= 40);
        assert!(count("species") >= 15);
        for season in ["dong_xuan", "he_thu", "thu_dong", "vu_chiem", "vu_mua"] {
            assert!(
                NATIONAL_DEFAULTS
                    .iter()
                    .any(|(l, c, ..)| *l == "season" && *c == season)
            );
        }
        for c in national_defaults() {
            assert_eq!(c.check(), Ok(()), "{c:?}");
        }
        let mut seen = BTreeSet::new();
        for (list, code, ..) in NATIONAL_DEFAULTS {
            assert!(seen.insert((list, code)), "{list} {code} twice");
        }
    }

    #[test]
    fn a_misspelt_value_gets_the_nearest_codes() {
        let lists = CodeLists::new(&national_defaults());
        assert_eq!(
            nearest("sugar cane", ["sugarcane", "cassava", "rice"].into_iter()),
            ["sugarcane"]
        );
        assert_eq!(nearest("Durain", ["durian", "rice", "lime"].into_iter()), ["durian"]);
        assert_eq!(
            nearest(
                "white leg shrimp",
                ["whiteleg_shrimp", "black_tiger_shrimp"].into_iter()
            ),
            ["whiteleg_shrimp"]
        );
        assert_eq!(
            nearest("ca thac lac", ["clown_knifefish", "snakehead"].into_iter()),
            Vec::<&str>::new()
        );
        assert_eq!(
            lists.label("species", "clown_knifefish"),
            Some(("Cá thát lát", "Clown knifefish"))
        );
        let bad = Code {
            list: "crop_type".into(),
            code: "Sugar Cane".into(),
            label_vi: "Mía".into(),
            label_en: "Sugarcane".into(),
            retired: false,
        };
        assert_eq!(bad.check(), Err(CodeError::BadCode("Sugar Cane".into())));
    }
}
