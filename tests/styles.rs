//! The bundled map page and MapLibre styles (`web/`, `styles/`), checked
//! against the catalog: every layer a style draws exists and is public,
//! every value it compares with is one the field takes, every font is served,
//! and the page loads nothing from elsewhere.

use agrimap_core::styles::{STYLE_NAMES, style_template};
use agrimap_model::{Access, FieldType, LayerGroup, catalog, layer};
use agrimap_server::assets::{MAPLIBRE_VERSION, asset};
use agrimap_server::fonts;
use serde_json::{Value, json};
use std::collections::HashSet;

const ORIGIN: &str = "http://127.0.0.1:8080";

fn style(name: &str) -> Value {
    let template = style_template(name).unwrap_or_else(|| panic!("style {name}"));
    serde_json::from_str(&template.replace("{origin}", ORIGIN)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(path: &str) -> &'static str {
    std::str::from_utf8(asset(path).unwrap_or_else(|| panic!("asset {path}")).bytes).expect("utf-8")
}

/// Everything wrong with a style against the catalog, one message each.
fn style_problems(style: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if style["version"] != 8 {
        problems.push(format!("version is {}, not 8", style["version"]));
    }
    if style.get("sprite").is_some() {
        problems.push("'sprite' is set, but the server has no such endpoint yet".to_owned());
    }
    let glyphs = format!("{ORIGIN}/fonts/{{fontstack}}/{{range}}.pbf");
    if style["glyphs"] != json!(glyphs) {
        problems.push(format!("glyphs is {}, not {glyphs}", style["glyphs"]));
    }
    let sources = style["sources"].as_object().cloned().unwrap_or_default();
    if sources.keys().collect::<Vec<_>>() != ["agrimap"] {
        problems.push(format!(
            "sources are {:?}, expected only 'agrimap'",
            sources.keys().collect::<Vec<_>>()
        ));
    }
    let source = &style["sources"]["agrimap"];
    if source["type"] != "vector" {
        problems.push(format!("source type is {}", source["type"]));
    }
    let url = source["url"].as_str().unwrap_or_default();
    let served: Vec<&str> = url
        .strip_prefix(&format!("{ORIGIN}/tiles/"))
        .and_then(|rest| rest.strip_suffix(".json"))
        .map(|list| list.split(',').collect())
        .unwrap_or_default();
    let all: Vec<&str> = catalog().iter().map(|l| l.id).collect();
    if served != all {
        problems.push(format!(
            "source url {url:?} is not {ORIGIN}/tiles/<every catalog layer>.json"
        ));
    }

    let layers = style["layers"].as_array().cloned().unwrap_or_default();
    if layers.first().map(|l| &l["type"]) != Some(&json!("background")) {
        problems.push("the first layer is not the background".to_owned());
    }
    let mut ids = HashSet::new();
    for l in &layers {
        let id = l["id"].as_str().unwrap_or("<no id>");
        if !ids.insert(id) {
            problems.push(format!("{id}: duplicate layer id"));
        }
        let ty = l["type"].as_str().unwrap_or_default();
        if !["background", "fill", "line", "circle", "symbol"].contains(&ty) {
            problems.push(format!("{id}: layer type {ty:?}"));
        }
        // Labels only in fonts this server has glyphs for (no sprites: no icons).
        find_key(l, "text-font", &mut |fonts| {
            let served = fonts::font_names();
            let names = fonts.as_array().cloned().unwrap_or_default();
            if names.is_empty() || !names.iter().all(|n| n.as_str().is_some_and(|n| served.contains(&n))) {
                problems.push(format!(
                    "{id}: text-font {fonts} is not among the served fonts {served:?}"
                ));
            }
        });
        if ty == "symbol" && l["layout"].get("text-font").is_none() {
            problems.push(format!(
                "{id}: a symbol layer without text-font (MapLibre would ask for fonts agrimap has not)"
            ));
        }
        find_key(l, "icon-image", &mut |_| {
            problems.push(format!("{id}: icon-image without a sprite"));
        });
        let Some(source_layer) = l["source-layer"].as_str() else {
            if ty != "background" {
                problems.push(format!("{id}: a {ty} layer without source-layer"));
            }
            continue;
        };
        if l["source"] != "agrimap" {
            problems.push(format!("{id}: source {} is not 'agrimap'", l["source"]));
        }
        let Some(def) = layer(source_layer) else {
            problems.push(format!("{id}: source-layer {source_layer:?} is not a catalog layer"));
            continue;
        };
        let minzoom = l["minzoom"].as_f64().unwrap_or(0.0);
        if minzoom < f64::from(def.minzoom) {
            problems.push(format!("{id}: minzoom {minzoom} < {} of layer {}", def.minzoom, def.id));
        }
        for part in ["filter", "paint", "layout"] {
            check_expressions(&l[part], def, &format!("{id}.{part}"), &mut problems);
        }
    }
    problems
}

/// Calls `found` with the value of every `key` anywhere under `v`.
fn find_key(v: &Value, key: &str, found: &mut dyn FnMut(&Value)) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                if k == key {
                    found(child);
                }
                find_key(child, key, found);
            }
        }
        Value::Array(items) => items.iter().for_each(|child| find_key(child, key, found)),
        _ => {}
    }
}

/// Checks every `get`, `has`, `match` and comparison in `v` against the layer's public fields.
fn check_expressions(v: &Value, def: &agrimap_model::LayerDef, at: &str, problems: &mut Vec<String>) {
    let items = match v {
        Value::Object(map) => {
            for (k, child) in map {
                check_expressions(child, def, &format!("{at}.{k}"), problems);
            }
            return;
        }
        Value::Array(items) => items,
        _ => return,
    };
    // The field an expression reads directly, if it is `["get", "field"]`.
    let field_of = |e: &Value| match e.as_array().map(Vec::as_slice) {
        Some([op, Value::String(f)]) if op == "get" => Some(f.clone()),
        _ => None,
    };
    match items.first().and_then(Value::as_str) {
        Some(op @ ("get" | "has" | "!has")) => match items.as_slice() {
            [_, Value::String(name)] => match def.field(name) {
                None => problems.push(format!("{at}: {op} {name:?}: no such field in {}", def.id)),
                Some(f) if f.access != Access::Public => {
                    problems.push(format!("{at}: {op} {name:?}: restricted field of {}", def.id));
                }
                Some(_) => {}
            },
            _ => problems.push(format!("{at}: {op} must name one field of the feature: {v}")),
        },
        Some("match") => {
            if items.len() < 5 || items.len() % 2 == 0 {
                problems.push(format!(
                    "{at}: malformed match (input, label/output pairs, fallback): {v}"
                ));
            }
            if let Some(f) = field_of(&items[1]).and_then(|name| def.field(&name)) {
                let labels = items[2..items.len() - 1].iter().step_by(2);
                for label in labels.flat_map(|l| l.as_array().cloned().unwrap_or_else(|| vec![l.clone()])) {
                    check_value(f, &label, at, problems);
                }
            }
        }
        Some("==" | "!=") => {
            if let [_, a, b] = items.as_slice() {
                for (e, value) in [(a, b), (b, a)] {
                    if let Some(f) = field_of(e).and_then(|name| def.field(&name)) {
                        check_value(f, value, at, problems);
                    }
                }
            }
        }
        _ => {}
    }
    for (i, child) in items.iter().enumerate() {
        check_expressions(child, def, &format!("{at}[{i}]"), problems);
    }
}

/// Whether `s` may be a value of `f`: one of its fixed values, or a
/// national default of its code list (what the bundled styles colour).
fn is_value_of(f: &agrimap_model::FieldDef, s: &str) -> bool {
    match f.code_list {
        Some(list) => agrimap_model::codes::NATIONAL_DEFAULTS
            .iter()
            .any(|(l, c, ..)| *l == list && *c == s),
        None => f.values.is_empty() || f.values.contains(&s),
    }
}

/// A literal compared with a field must be one of its values (enumerated text) or a number (numeric field).
fn check_value(f: &agrimap_model::FieldDef, value: &Value, at: &str, problems: &mut Vec<String>) {
    match (f.ty, value) {
        (FieldType::Integer | FieldType::Real, v) if !v.is_number() => {
            problems.push(format!("{at}: {} is numeric, compared with {v}", f.name));
        }
        (FieldType::Text, Value::String(s)) if !is_value_of(f, s) => {
            let values = f
                .code_list
                .map_or_else(|| f.values.join(", "), |list| format!("codes of the list {list}"));
            problems.push(format!("{at}: {s:?} is not a value of {} ({values})", f.name));
        }
        (FieldType::Text, v) if !v.is_string() => {
            problems.push(format!("{at}: {} is text, compared with {v}", f.name));
        }
        _ => {}
    }
}

#[test]
fn bundled_styles_match_the_catalog() {
    for name in STYLE_NAMES {
        let style = style(name);
        assert_eq!(style_problems(&style), Vec::<String>::new(), "{name}");
        // The server opens the map on the data held: no style has a place of its own.
        assert!(style.get("center").is_none() && style.get("zoom").is_none(), "{name}");
        assert!(
            style["metadata"]["agrimap:title"].is_string(),
            "{name}: Vietnamese title"
        );
        let url = style["sources"]["agrimap"]["url"].as_str().expect("url");
        assert!(url.starts_with("http://127.0.0.1:8080/tiles/"), "{name}: {url}");
        assert!(
            !style_template(name).expect("template").contains("127.0.0.1"),
            "{name}: origin is a template"
        );
    }
    assert_eq!(style_template("satellite"), None);
    assert_eq!(style_template("farmer.json"), None);
}

#[test]
fn every_theme_is_drawn_in_every_style_and_toggled_by_the_page() {
    let app = text("/static/app.js");
    for theme in catalog().iter().filter(|l| l.group == LayerGroup::Theme) {
        for name in STYLE_NAMES {
            let drawn = style(name)["layers"]
                .as_array()
                .expect("layers")
                .iter()
                .any(|l| l["source-layer"] == theme.id);
            assert!(drawn, "{name} does not draw {}", theme.id);
        }
        assert!(
            app.contains(&format!("id: '{}'", theme.id)),
            "app.js has no toggle for {}",
            theme.id
        );
    }
    for name in STYLE_NAMES {
        assert!(app.contains(&format!("'{name}'")), "app.js does not offer style {name}");
    }
}

#[test]
fn the_style_check_catches_mistakes() {
    let mut bad = style("farmer");
    let layers = bad["layers"].as_array_mut().expect("layers");
    layers.push(json!({"id": "background", "type": "background"}));
    layers.push(
        json!({"id": "owners", "type": "circle", "source": "agrimap", "source-layer": "crop", "minzoom": 11,
        "paint": {"circle-color": ["match", ["get", "owner_phone"], "x", "#000", "#fff"]}}),
    );
    layers.push(
        json!({"id": "crops", "type": "fill", "source": "agrimap", "source-layer": "crop", "minzoom": 10,
        "filter": ["==", ["get", "crop_type"], "coffe"],
        "paint": {"fill-color": ["match", ["get", "season"], ["he_thu", "winter"], "#000", "#fff"]}}),
    );
    layers.push(
        json!({"id": "stars", "type": "circle", "source": "agrimap", "source-layer": "ocop", "minzoom": 8,
        "paint": {"circle-radius": ["match", ["get", "stars"], "five", 9, 4], "circle-color": ["get", "colour"]}}),
    );
    layers.push(
        json!({"id": "label", "type": "symbol", "source": "agrimap", "source-layer": "places",
        "minzoom": 6, "layout": {"text-field": ["get", "name"]}}),
    );
    layers.push(
        json!({"id": "arial", "type": "symbol", "source": "agrimap", "source-layer": "places",
        "minzoom": 6, "layout": {"text-field": ["get", "name"], "text-font": ["Arial Unicode MS Regular"]}}),
    );
    layers.push(json!({"id": "parks", "type": "fill", "source": "agrimap", "source-layer": "parks"}));
    bad["sources"]["agrimap"]["url"] = json!("/tiles/crop.json");
    bad["glyphs"] = json!("/fonts/{fontstack}/{range}.pbf");
    let problems = style_problems(&bad);
    for expected in [
        "duplicate layer id",
        "owners.paint.circle-color[1]: get \"owner_phone\": restricted field of crop",
        "crops: minzoom 10 < 11 of layer crop",
        "\"coffe\" is not a value of crop_type",
        "\"winter\" is not a value of season",
        "stars is numeric, compared with \"five\"",
        "get \"colour\": no such field in ocop",
        "label: a symbol layer without text-font",
        "arial: text-font [\"Arial Unicode MS Regular\"] is not among the served fonts",
        "source-layer \"parks\" is not a catalog layer",
        "source url \"/tiles/crop.json\"",
        "glyphs is \"/fonts/{fontstack}/{range}.pbf\", not http://127.0.0.1:8080/fonts/",
    ] {
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{expected:?} not in {problems:#?}"
        );
    }
    // Only the mistakes: allowed values and public fields pass.
    assert!(
        !problems.iter().any(|p| p.contains("\"he_thu\" is not")),
        "{problems:#?}"
    );
    assert_eq!(problems.len(), 12, "{problems:#?}");
}

#[test]
fn the_page_loads_only_bundled_files() {
    let page = asset("/").expect("index");
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    let html = text("/");
    assert!(html.contains("<html lang=\"vi\">"));
    assert!(html.contains("<title>agrimap — Bản đồ nông nghiệp</title>"));
    assert!(html.contains("/static/maplibre-gl.js"));
    // Every local file the page names is served.
    let mut named = 0;
    for attr in ["src=\"", "href=\""] {
        for (i, _) in html.match_indices(attr) {
            let value = &html[i + attr.len()..];
            let value = &value[..value.find('"').expect("closing quote")];
            if value.starts_with("data:") {
                continue;
            }
            // Preloads of what the first map asks for: the farmer style, its tile source, its glyphs.
            if value.starts_with("/styles/") || value.starts_with("/tiles/") || value.starts_with("/fonts/") {
                let farmer = style("farmer");
                let tilejson = farmer["sources"]["agrimap"]["url"]
                    .as_str()
                    .expect("url")
                    .replace(ORIGIN, "");
                let glyph = value.strip_prefix("/fonts/").and_then(|rest| rest.split_once('/'));
                let known = value == "/styles/farmer.json"
                    || value == tilejson
                    || glyph.is_some_and(|(stack, range)| {
                        let start = range.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(1);
                        fonts::glyph_range(&stack.replace("%20", " "), start).is_ok_and(|g| g.is_some())
                    });
                assert!(known, "the page preloads {value}, which the farmer style does not use");
                continue;
            }
            assert!(asset(value).is_some(), "the page names {value}, which is not served");
            named += 1;
        }
    }
    assert!(named >= 4, "{named}");
    for path in ["/", "/static/app.js", "/static/app.css"] {
        let body = text(path);
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "{path} names an internet URL"
        );
        assert!(
            !body.contains("//cdn") && !body.contains("@import"),
            "{path} loads something from elsewhere"
        );
    }
    for name in STYLE_NAMES {
        assert!(
            text("/static/app.js").contains(&format!("'/styles/{name}.json")),
            "app.js does not load style {name}"
        );
    }
}

#[test]
fn maplibre_is_bundled() {
    let js = asset("/static/maplibre-gl.js").expect("maplibre-gl.js");
    assert!(js.content_type.starts_with("text/javascript"));
    assert!(js.bytes.len() > 100_000, "{} bytes", js.bytes.len());
    let head = String::from_utf8_lossy(&js.bytes[..2000]);
    assert!(head.contains("MapLibre GL JS"), "{head}");
    assert!(
        head.contains(&format!("v{MAPLIBRE_VERSION}")),
        "not version {MAPLIBRE_VERSION}: {head}"
    );
    let css = text("/static/maplibre-gl.css");
    assert!(css.contains(".maplibregl-map"));
    assert!(text("/static/maplibre-LICENSE.txt").contains("MapLibre contributors"));
    assert_eq!(
        asset("/static/maplibre-LICENSE.txt").map(|a| a.content_type),
        Some("text/plain; charset=utf-8")
    );
    assert!(MAPLIBRE_VERSION.starts_with("5."), "{MAPLIBRE_VERSION}");
    let lock: Value = serde_json::from_str(include_str!("../web/maplibre.lock.json")).expect("lock json");
    assert_eq!(lock["version"], MAPLIBRE_VERSION);
}

#[test]
fn unknown_paths_are_not_assets() {
    for path in [
        "",
        "/index.html",
        "/static/",
        "/static/nope.js",
        "/static/../Cargo.toml",
        "static/app.js",
    ] {
        assert!(asset(path).is_none(), "{path}");
    }
}
