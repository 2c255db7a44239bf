//! Parts of the HTTP service on their own: content negotiation, the origin
//! written into documents, connection and request quotas, the bundled
//! glyphs and the API definition of `/ogc`.

mod encoding {
    use agrimap_server::encoding::accepts_gzip;
    use axum::http::{HeaderMap, header};

    fn accepts(value: &str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, value.parse().expect("header"));
        accepts_gzip(&headers)
    }

    #[test]
    fn a_zero_weight_refuses_in_any_spelling() {
        for refused in [
            "gzip;q=0",
            "gzip;q=0.0",
            "gzip;q=0.000",
            "gzip; q=0.00, br",
            "GZIP;Q=0",
            "*;q=0.0",
            "*;q=0",
            "gzip;q=0, *",
            "br, deflate",
            "identity",
            "",
        ] {
            assert!(!accepts(refused), "{refused}");
        }
        for taken in [
            "gzip",
            "gzip, deflate, br",
            "gzip;q=0.001",
            "*",
            "*;q=0, gzip",
            "x-gzip;q=1.0",
            "br;q=0, *;q=0.5",
        ] {
            assert!(accepts(taken), "{taken}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn weights_that_are_no_weights_are_ignored() {
        for odd in [
            "gzip;q=0.0000",
            "gzip;q=2",
            "gzip;q=1.5",
            "gzip;q=",
            "gzip;q=-0",
            "gzip;level",
        ] {
            assert!(!accepts(odd), "{odd}");
        }
        assert!(accepts("gzip;q=abc, *"), "the * entry still counts");
    }

    #[test]
    fn gzip_negotiation_honours_q0() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::ACCEPT_ENCODING, v.parse().expect("header"));
            accepts_gzip(&m)
        };
        assert!(h("gzip, deflate, br"));
        assert!(!h("gzip;q=0, br"));
        assert!(!h("br"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}

mod origin {
    use agrimap_server::origin::request_origin;
    use axum::http::HeaderMap;

    #[test]
    fn uses_host_header_and_rejects_odd_hosts() {
        let mut h = HeaderMap::new();
        h.insert("host", "farm.example:9000".parse().expect("header"));
        assert_eq!(request_origin(None, &h), "http://farm.example:9000");
        h.insert("x-forwarded-proto", "https".parse().expect("header"));
        assert_eq!(request_origin(None, &h), "https://farm.example:9000");
        h.insert("host", "evil\"host".parse().expect("header"));
        assert_eq!(request_origin(None, &h), "https://127.0.0.1:8080");
        assert_eq!(request_origin(Some("https://map.example/"), &h), "https://map.example");
    }
}

mod connections {
    use agrimap_server::connections::{PerAddress, Slot};
    use std::net::IpAddr;

    #[test]
    fn an_address_gets_its_share_and_slots_come_back() {
        let limits = PerAddress::new(3);
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let held: Vec<Slot> = (0..3).map(|_| limits.admit(a).expect("within the share")).collect();
        assert!(limits.admit(a).is_none(), "a fourth is refused");
        assert!(limits.admit(b).is_some(), "another address is not affected");
        drop(held);
        assert_eq!(limits.open(a), 0);
        assert!(limits.admit(a).is_some(), "closed connections give their slots back");
        let unbounded = PerAddress::new(0);
        let many: Vec<Slot> = (0..1000).filter_map(|_| unbounded.admit(a)).collect();
        assert_eq!(many.len(), 1000);
    }
}

mod limits {
    use agrimap_server::limits::{MAX_BODY_BYTES, QuotaKey, Quotas};
    use std::net::IpAddr;
    use std::time::Duration;

    #[test]
    fn a_key_gets_its_burst_then_waits() {
        let quotas = Quotas::new(5, 0);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let allowed = (0..40).filter(|_| quotas.check(QuotaKey::Address(ip)).is_ok()).count();
        assert!((20..=21).contains(&allowed), "burst of 4 s at 5/s, got {allowed}");
        let wait = quotas.check(QuotaKey::Address(ip)).expect_err("limited");
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        // Another address, and tokens (no quota set), are not affected.
        assert!(quotas.check(QuotaKey::Address([10, 0, 0, 1].into())).is_ok());
        assert!((0..1000).all(|_| quotas.check(QuotaKey::Token("abc")).is_ok()));
    }

    // An MQTT message holds a batch the HTTP endpoint takes, its token and its
    // topic, with room to spare (checked when the tests are built).
    const _: () = assert!(agrimap_mqtt::MAX_MESSAGE_BYTES >= 2 * MAX_BODY_BYTES);
}

mod fonts {
    use agrimap_server::fonts::{font_names, glyph_range};
    use pbf_font_tools::prost::Message as _;

    /// The ranges holding the letters of Vietnamese (with the tone marks stacked on
    /// vowels, as precomposed code points) are bundled for every font, and hold them.
    #[test]
    fn every_vietnamese_letter_has_a_glyph() {
        let letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy\
                       àảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ";
        let text: String = letters.chars().chain(letters.to_uppercase().chars()).collect();
        for name in font_names() {
            for c in text.chars() {
                let start = u32::from(c) & !0xFF;
                let pbf = glyph_range(name, start)
                    .expect("known font")
                    .unwrap_or_else(|| panic!("{name}: no range {start} for {c}"));
                assert!(range_has_glyph(pbf, u32::from(c)), "{name}: no glyph for {c:?}");
            }
        }
    }

    /// Whether a glyphs PBF holds a glyph with this id.
    fn range_has_glyph(pbf: &[u8], id: u32) -> bool {
        let glyphs = pbf_font_tools::Glyphs::decode(pbf).expect("a glyphs PBF");
        glyphs
            .stacks
            .iter()
            .any(|s| s.glyphs.iter().any(|g| g.id == id && g.bitmap.is_some()))
    }
}

mod openapi {
    use agrimap_model::catalog;
    use agrimap_suite::TestServer;
    use serde_json::{Value as Json, json};

    /// Every `$ref` of the document points at something in it.
    fn refs<'a>(v: &'a Json, out: &mut Vec<&'a str>) {
        match v {
            Json::Object(m) => {
                if let Some(Json::String(s)) = m.get("$ref") {
                    out.push(s);
                }
                m.values().for_each(|x| refs(x, out));
            }
            Json::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }

    #[test]
    fn every_reference_resolves_and_every_collection_has_paths() {
        let server = TestServer::demo();
        let doc = server.get("/ogc/api?f=json", &[]).json();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let pointer = r.strip_prefix('#').expect("local ref");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
        for l in catalog() {
            for p in ["", "/items", "/items/{featureId}"] {
                assert!(
                    doc["paths"][format!("/collections/{}{p}", l.id)].is_object(),
                    "{} {p}",
                    l.id
                );
            }
        }
        let crop = doc["components"]["schemas"]["properties_crop"]["properties"]
            .as_object()
            .expect("crop properties");
        assert!(crop.contains_key("crop_type") && !crop.contains_key("owner_phone"));
        let roads = doc["paths"]["/collections/roads/items"]["get"]["parameters"].to_string();
        assert!(!roads.contains("datetime") && !roads.contains("commune"));
        let crop_items = doc["paths"]["/collections/crop/items"]["get"]["parameters"].to_string();
        assert!(crop_items.contains("datetime") && crop_items.contains("commune"));
        assert!(crop_items.contains("#/components/parameters/filter-lang"));
        assert!(doc["paths"]["/collections/crop/queryables"]["get"].is_object());
        assert_eq!(
            doc["components"]["parameters"]["filter-lang"]["schema"]["enum"],
            json!(["cql2-text", "cql-text"])
        );
    }
}
