use super::parser::{RESERVED, is_keyword};
use super::*;
use crate::catalog::{catalog, layer};
use crate::feature::Value;
use crate::filter::CompareOp;
use geo::Geometry;

fn ocop() -> &'static LayerDef {
    layer("ocop").expect("ocop")
}

fn ok(text: &str) -> Filter {
    parse(text, ocop(), Audience::Public).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn bad(layer_id: &str, text: &str) -> Cql2Error {
    match parse(text, layer(layer_id).expect("layer"), Audience::Public) {
        Ok(f) => panic!("{text} was accepted as {f:?}"),
        Err(e) => e,
    }
}

fn cmp(field: &str, op: CompareOp, value: impl Into<Value>) -> Filter {
    Filter::Compare {
        field: field.into(),
        op,
        value: value.into(),
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    assert_eq!(
        ok("stars = 5 OR stars = 3 AND NOT category = 'food'"),
        Filter::Or(vec![
            cmp("stars", CompareOp::Eq, 5),
            Filter::And(vec![
                cmp("stars", CompareOp::Eq, 3),
                Filter::Not(Box::new(cmp("category", CompareOp::Eq, "food"))),
            ]),
        ])
    );
    assert_eq!(
        ok("(stars = 5 or stars = 3) and not (category = 'food')"),
        Filter::And(vec![
            Filter::Or(vec![cmp("stars", CompareOp::Eq, 5), cmp("stars", CompareOp::Eq, 3)]),
            Filter::Not(Box::new(cmp("category", CompareOp::Eq, "food"))),
        ])
    );
    assert_eq!(
        ok("NOT NOT TRUE"),
        Filter::Not(Box::new(Filter::Not(Box::new(Filter::And(vec![])))))
    );
    assert_eq!(ok("false"), Filter::Or(vec![]));
}

#[test]
fn literals_take_the_type_of_their_property() {
    assert_eq!(ok("4 <= stars"), cmp("stars", CompareOp::Ge, 4));
    assert_eq!(ok("\"stars\" <> -3"), cmp("stars", CompareOp::Ne, -3));
    assert_eq!(
        ok("name = 'Nước mắm ''Phù Sa'''"),
        cmp("name", CompareOp::Eq, "Nước mắm 'Phù Sa'")
    );
    assert_eq!(ok("stars > 3.5"), cmp("stars", CompareOp::Ge, 4));
    assert_eq!(ok("stars <= 3.5"), cmp("stars", CompareOp::Le, 3));
    assert_eq!(ok("stars = 4.0"), cmp("stars", CompareOp::Eq, 4));
    assert_eq!(
        ok("stars = 4.5"),
        Filter::And(vec![cmp("stars", CompareOp::Gt, 4), cmp("stars", CompareOp::Lt, 5)])
    );
    assert_eq!(ok("stars < 1e300"), cmp("stars", CompareOp::Ge, i64::MIN));
    assert_eq!(
        ok("stars IN (3, 4.5)"),
        Filter::In {
            field: "stars".into(),
            values: vec![Value::Int(3)]
        }
    );
    assert_eq!(
        ok("stars BETWEEN 3.5 AND 5"),
        Filter::And(vec![cmp("stars", CompareOp::Ge, 4), cmp("stars", CompareOp::Le, 5)])
    );
    let crop = layer("crop").expect("crop");
    assert_eq!(
        parse(
            "planting_date >= DATE('2026-10-01') AND area_ha < 1",
            crop,
            Audience::Public
        ),
        Ok(Filter::And(vec![
            cmp("planting_date", CompareOp::Ge, "2026-10-01"),
            cmp("area_ha", CompareOp::Lt, 1.0),
        ]))
    );
    let monitoring = layer("monitoring").expect("monitoring");
    assert_eq!(
        parse(
            "last_reading_at < TIMESTAMP('2026-11-01T07:00:00.250Z')",
            monitoring,
            Audience::Public
        ),
        Ok(cmp("last_reading_at", CompareOp::Le, "2026-11-01T07:00:00Z"))
    );
    assert_eq!(
        parse("last_reading_at = '2026-12-31T23:59:59Z'", monitoring, Audience::Public),
        Ok(cmp("last_reading_at", CompareOp::Eq, "2026-12-31T23:59:59Z"))
    );
    assert_eq!(
        parse(
            "last_reading_at > TIMESTAMP('2026-12-31T23:59:59.5Z')",
            monitoring,
            Audience::Public
        ),
        Ok(cmp("last_reading_at", CompareOp::Ge, "2027-01-01T00:00:00Z"))
    );
}

#[test]
fn like_in_between_and_null() {
    assert_eq!(
        ok("name NOT LIKE 'Nước%'"),
        Filter::Not(Box::new(Filter::Like {
            field: "name".into(),
            pattern: "Nước%".into()
        }))
    );
    assert_eq!(
        ok("category in ('food','beverage')"),
        Filter::In {
            field: "category".into(),
            values: vec!["food".into(), "beverage".into()]
        }
    );
    assert_eq!(
        ok("stars NOT BETWEEN 3 AND 4"),
        Filter::Not(Box::new(Filter::Between {
            field: "stars".into(),
            low: Value::Int(3),
            high: Value::Int(4)
        }))
    );
    assert_eq!(
        ok("producer IS NOT NULL"),
        Filter::Not(Box::new(Filter::IsNull {
            field: "producer".into()
        }))
    );
}

#[test]
fn spatial_literals() {
    let Filter::IntersectsGeometry(Geometry::Polygon(p)) =
        ok("S_INTERSECTS(geometry, POLYGON((105 9, 106 9, 106 10, 105 9)))")
    else {
        panic!("polygon");
    };
    assert_eq!(p.exterior().0.len(), 4);
    assert!(matches!(
        ok("s_intersects(BBOX(105,9,106,10), geometry)"),
        Filter::IntersectsGeometry(Geometry::Polygon(_))
    ));
    assert!(matches!(
        ok("S_INTERSECTS(geometry, BBOX(170, -10, -170, 10))"),
        Filter::IntersectsGeometry(Geometry::MultiPolygon(m)) if m.0.len() == 2
    ));
    for wkt in [
        "POINT(105.5 9.8)",
        "POINT Z (105.5 9.8 3)",
        "LINESTRING(105 9, 106 10)",
        "MULTIPOINT((105 9), (106 10))",
        "MULTIPOINT(105 9, 106 10)",
        "MULTILINESTRING((105 9, 106 10), (105 10, 106 9))",
        "MULTIPOLYGON(((105 9, 106 9, 106 10, 105 9)), ((107 9, 108 9, 108 10, 107 9)))",
        "POLYGON((105 9, 107 9, 107 11, 105 11, 105 9), (105.5 9.5, 106 9.5, 106 10, 105.5 9.5))",
        "GEOMETRYCOLLECTION(POINT(105 9), LINESTRING(105 9, 106 10))",
    ] {
        assert!(
            matches!(
                ok(&format!("S_INTERSECTS(geometry, {wkt})")),
                Filter::IntersectsGeometry(_)
            ),
            "{wkt}"
        );
    }
}

#[test]
fn errors_say_where_and_what() {
    let e = bad("ocop", "stars = ");
    assert_eq!(e.position, 9);
    assert!(
        e.message
            .contains("expected a property or a value, found the end of the filter"),
        "{e}"
    );
    let e = bad("ocop", "stars == 5");
    assert_eq!(
        (
            e.position,
            e.message.contains("expected a property or a value, found '='")
        ),
        (8, true),
        "{e}"
    );
    let e = bad("ocop", "(stars = 5");
    assert!(
        e.to_string()
            .starts_with("at character 11: expected ')' to close the '(' at character 1"),
        "{e}"
    );
    let e = bad("ocop", "stars = 5)");
    assert_eq!(e.position, 10);
    let e = bad("ocop", "name = 'abc");
    assert_eq!(e.position, 8);
    let e = bad("ocop", "stars = 'five'");
    assert!(
        e.message
            .contains("'stars' is a whole-number property: compare it with a number"),
        "{e}"
    );
    let e = bad("ocop", "name LIKE 5");
    assert!(e.message.contains("expected a pattern"), "{e}");
    let e = bad("ocop", "stars LIKE '5%'");
    assert!(e.message.contains("LIKE applies to text properties"), "{e}");
    let e = bad("ocop", "name LIKE 'a\\'");
    assert!(e.message.contains("escape character"), "{e}");
    let e = bad("ocop", "stars BETWEEN 3");
    assert!(e.message.contains("expected AND between"), "{e}");
    let e = bad("ocop", "stars IS 5");
    assert!(e.message.contains("expected NULL after IS"), "{e}");
    let e = bad("ocop", "stars + 1 > 3");
    assert!(e.message.contains("arithmetic"), "{e}");
    let e = bad("ocop", "S_CONTAINS(geometry, POINT(1 2))");
    assert!(e.message.contains("S_INTERSECTS is"), "{e}");
    let e = bad("ocop", "S_INTERSECTS(geometry, POINT(200 2))");
    assert_eq!(e.position, 30);
    let e = bad("ocop", "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))");
    assert!(e.message.contains("not a valid geometry"), "{e}");
    let e = bad("ocop", "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 1 0)))");
    assert!(e.message.contains("at least 4 positions"), "{e}");
    let e = bad("ocop", "S_INTERSECTS(stars, POINT(1 2))");
    assert!(e.message.contains("not a geometry"), "{e}");
    let e = bad("ocop", "stars != 5");
    assert!(e.message.contains("<>"), "{e}");
    let e = bad("ocop", "");
    assert_eq!(e.message, "the filter is empty");
    let e = bad("crop", "planting_date > '2026'");
    assert!(e.message.contains("DATE('YYYY-MM-DD')"), "{e}");
    let e = bad("crop", "planting_date > DATE('2026-02-30')");
    assert!(e.message.contains("calendar date"), "{e}");
    let e = bad("monitoring", "last_reading_at > TIMESTAMP('2026-02-03T07:00:00+07:00')");
    assert!(e.message.contains("ends with Z"), "{e}");
    let deep = format!("{}stars = 5{}", "(".repeat(100), ")".repeat(100));
    assert!(bad("ocop", &deep).message.contains("levels deep"));
    let many = vec!["stars = 5"; 1200].join(" OR ");
    assert!(bad("ocop", &many).message.contains("more than 1000"));
}

#[test]
fn restricted_properties_are_refused_like_missing_ones() {
    let restricted = bad("crop", "owner_phone = '0900'");
    let missing = bad("crop", "owner_phoni = '0900'");
    assert_eq!(restricted.position, missing.position);
    assert_eq!(
        restricted.message.replace("owner_phone", "X"),
        missing.message.replace("owner_phoni", "X")
    );
    assert!(!restricted.message.contains("owner_name"), "{restricted}");
    let crop = layer("crop").expect("crop");
    assert!(parse("owner_phone = '0900'", crop, Audience::Full).is_ok());
}

#[test]
fn no_field_is_called_geometry_or_a_keyword() {
    for l in catalog() {
        for f in l.fields {
            assert_ne!(f.name, GEOMETRY, "{}", l.id);
            assert!(
                !RESERVED
                    .iter()
                    .chain(["TRUE", "FALSE"].iter())
                    .any(|k| is_keyword(f.name, k)),
                "{}",
                l.id
            );
        }
    }
}

#[test]
fn decomposed_text_is_read_as_the_stored_composed_text() {
    // "Xoài Cát Chu" typed with combining marks (NFD), as macOS and some GIS exports write it.
    let decomposed = "Xoa\u{300}i Ca\u{301}t Chu";
    assert_eq!(
        ok(&format!("name = '{decomposed}'")),
        cmp("name", CompareOp::Eq, "Xoài Cát Chu")
    );
    assert_eq!(
        ok(&format!("name LIKE '{decomposed}%'")),
        Filter::Like {
            field: "name".into(),
            pattern: "Xoài Cát Chu%".into()
        }
    );
}
