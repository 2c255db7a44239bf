//! Versioned migrations of the PostGIS schema, embedded in the binary.
//!
//! `0001_layers.sql` is the catalog as of schema version 1: one table per
//! layer with typed columns and CHECK constraints, geometry in EPSG:4326 with
//! a GiST index, the commune code indexed, the readings table, and the change
//! counters (bumped by statement-level triggers, which also NOTIFY other
//! instances). A test pins it to the catalog; a catalog change needs a new
//! migration, never an edit of an applied one.

use agrimap_model::FieldType;

/// Migrations in order: (version, name, SQL).
pub(crate) const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "layers", include_str!("migrations/0001_layers.sql")),
    (2, "station_tokens", include_str!("migrations/0002_station_tokens.sql")),
    (3, "api_tokens", include_str!("migrations/0003_api_tokens.sql")),
    (4, "natural_keys", include_str!("migrations/0004_natural_keys.sql")),
    (5, "crosswalk", include_str!("migrations/0005_crosswalk.sql")),
    (6, "codes", include_str!("migrations/0006_codes.sql")),
    (
        7,
        "token_provinces",
        include_str!("migrations/0007_token_provinces.sql"),
    ),
    (8, "registry", include_str!("migrations/0008_registry.sql")),
    (9, "ntm", include_str!("migrations/0009_ntm.sql")),
    (10, "alerts", include_str!("migrations/0010_alerts.sql")),
    (
        11,
        "irrigation_forestry_livestock",
        include_str!("migrations/0011_irrigation_forestry_livestock.sql"),
    ),
    (12, "history", include_str!("migrations/0012_history.sql")),
    (
        14,
        "province_partitions",
        include_str!("migrations/0014_province_partitions.sql"),
    ),
    (15, "tile_overviews", include_str!("migrations/0015_tile_overviews.sql")),
    // After 0014: its triggers go on the partitioned tables that 0014 made.
    (16, "feature_splits", include_str!("migrations/0016_feature_splits.sql")),
    (17, "split_totals", include_str!("migrations/0017_split_totals.sql")),
    (
        18,
        "tile_overviews_redraw",
        include_str!("migrations/0018_tile_overviews_redraw.sql"),
    ),
    (
        19,
        "tile_overview_edges",
        include_str!("migrations/0019_tile_overview_edges.sql"),
    ),
    (
        20,
        "legible_overviews",
        include_str!("migrations/0020_legible_overviews.sql"),
    ),
    (21, "leases", include_str!("migrations/0021_leases.sql")),
    (22, "special_zones", include_str!("migrations/0022_special_zones.sql")),
    (
        23,
        "split_classes_without_boundary_set",
        include_str!("migrations/0023_split_classes_without_boundary_set.sql"),
    ),
    (
        24,
        "split_classes_by_coded_columns",
        include_str!("migrations/0024_split_classes_by_coded_columns.sql"),
    ),
];

/// Whether a layer's table is partitioned by province (migration 0014): the
/// thematic layers, which hold most rows and are read province by province.
/// The base layers (boundaries, water, roads, places) are small or national
/// and stay whole.
#[must_use]
pub(crate) fn partitioned(layer: &agrimap_model::LayerDef) -> bool {
    layer.group == agrimap_model::LayerGroup::Theme
}

/// The migration that makes the code lists, which the store then seeds.
pub(crate) const CODES_MIGRATION: i32 = 6;

/// Migrations that bring new code lists, whose defaults the store seeds
/// (the seed adds only codes a store lacks).
pub(crate) const NEW_LISTS_MIGRATIONS: &[i32] = &[11];

/// The PostgreSQL type of a field.
#[must_use]
pub(crate) fn column_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "text",
        FieldType::Integer => "bigint",
        FieldType::Real => "double precision",
        FieldType::Boolean => "boolean",
        FieldType::Date => "date",
        FieldType::DateTime => "timestamptz",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agrimap_model::LayerDef;
    use std::fmt::Write;

    /// The values schema version 1 fixed for a field that now takes a code
    /// list (migration 0006 drops those constraints).
    fn values_in_v1(list: &str) -> &'static [&'static str] {
        match list {
            "crop_type" => &["rice", "mango", "longan", "durian", "pomelo", "lotus", "vegetables"],
            "season" => &["dong_xuan", "he_thu", "thu_dong", "perennial"],
            "practice" => &["conventional", "vietgap", "globalgap", "organic"],
            "species" => &[
                "black_tiger_shrimp",
                "whiteleg_shrimp",
                "tra_catfish",
                "giant_freshwater_prawn",
                "snakehead",
            ],
            "farming_mode" => &["intensive", "semi_intensive", "extensive", "rice_shrimp"],
            "station_kind" => &["water_quality", "insect_trap", "weather"],
            other => panic!("no list {other} in schema version 1"),
        }
    }

    /// Migration 0024 gives every layer with splits a trigger whose
    /// arguments are the coded fields its splits carry.
    #[test]
    fn migration_0024_names_each_layers_coded_fields() {
        let sql = include_str!("migrations/0024_split_classes_by_coded_columns.sql");
        for layer in crate::splits::split_layers() {
            let mut coded: Vec<String> = crate::splits::totals_fields(layer)
                .map(|(_, f)| format!("'{}'", f.name))
                .collect();
            let head = format!("CREATE TRIGGER agrimap_splits_updated AFTER UPDATE ON {}\n", layer.id);
            let at = sql.find(&head).unwrap_or_else(|| panic!("no trigger on {}", layer.id));
            let call = &sql[at..];
            let args = call
                .split_once("agrimap_splits_updated(")
                .and_then(|(_, rest)| rest.split_once(");"))
                .map(|(args, _)| args)
                .expect("arguments");
            let mut given: Vec<String> = args.split(", ").filter(|a| !a.is_empty()).map(str::to_owned).collect();
            coded.sort();
            given.sort();
            assert_eq!(given, coded, "{}", layer.id);
        }
    }

    /// Every CHECK of schema version 1 on a listed field is dropped by 0006.
    #[test]
    fn migration_0006_frees_every_listed_field() {
        for layer in agrimap_model::catalog()
            .iter()
            .filter(|l| !LAYERS_OF_0011.contains(&l.id))
        {
            for f in layer.fields.iter().filter(|f| f.code_list.is_some()) {
                let drop = format!(
                    "ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {t}_{f}_check;",
                    t = layer.id,
                    f = f.name
                );
                assert!(
                    MIGRATIONS.iter().any(|m| m.0 == CODES_MIGRATION && m.2.contains(&drop)),
                    "0006 lacks: {drop}"
                );
            }
        }
    }

    /// Layers the catalog gained after schema version 1, made by migration 0011.
    const LAYERS_OF_0011: &[&str] = &["irrigation_works", "irrigated_areas", "forest_plots", "livestock_farms"];

    /// The DDL of one layer, as migration 0001 holds it (`v1`), or as a
    /// later migration that adds a layer does: every field, listed fields
    /// without a CHECK (the store's code lists hold them), the natural key
    /// indexed.
    #[must_use]
    fn layer_ddl(layer: &LayerDef, v1: bool) -> String {
        let t = layer.id;
        let geometry = match layer.geometry {
            agrimap_model::GeometryKind::Point => "Point",
            agrimap_model::GeometryKind::LineString => "MultiLineString",
            agrimap_model::GeometryKind::Polygon => "MultiPolygon",
            agrimap_model::GeometryKind::PointOrLine => "Geometry",
        };
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {t} (\n  fid bigserial PRIMARY KEY,\n  geom geometry({geometry}, 4326) NOT NULL"
        );
        if layer.geometry == agrimap_model::GeometryKind::PointOrLine {
            sql.push_str("\n    CHECK (GeometryType(geom) IN ('POINT', 'MULTILINESTRING'))");
        }
        for f in layer.fields.iter().filter(|f| !v1 || !ADDED_LATER.contains(&f.name)) {
            let _ = write!(sql, ",\n  {} {}", f.name, column_type(f.ty));
            if f.required {
                sql.push_str(" NOT NULL");
            }
            let values = match (f.code_list, f.name) {
                (Some(list), _) if v1 => values_in_v1(list),
                (Some(_), _) => &[],
                // `silent` came with migration 0010, `dac_khu` with 0022.
                (None, "alert_state") => &["ok", "watch", "alarm"],
                (None, "kind") if t == "admin_commune" => &["xa", "phuong", "thi_tran"],
                (None, _) => f.values,
            };
            if !values.is_empty() {
                let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
                let _ = write!(sql, " CHECK ({} IN ({}))", f.name, list.join(", "));
            }
        }
        let _ = write!(
            sql,
            "\n);\nCREATE INDEX IF NOT EXISTS {t}_geom ON {t} USING gist (geom);\n\
             INSERT INTO agrimap_layer_version (layer) VALUES ('{t}') ON CONFLICT DO NOTHING;\n\
             CREATE OR REPLACE TRIGGER {t}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t}\n  \
             FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('{t}');\n"
        );
        if layer.has_commune() {
            let _ = writeln!(
                sql,
                "CREATE INDEX IF NOT EXISTS {t}_commune_code ON {t} (commune_code);"
            );
        }
        if !v1 && !layer.natural_key().is_empty() {
            let _ = writeln!(
                sql,
                "CREATE INDEX IF NOT EXISTS {t}_natural_key ON {t} ({});",
                layer.natural_key().join(", ")
            );
        }
        sql
    }

    /// Fields added to the catalog after schema version 1, each by a later migration.
    const ADDED_LATER: &[&str] = &["former_commune_code", "report_interval_min"];

    #[test]
    fn migration_0005_adds_the_pre2025_code_to_every_layer_that_has_it() {
        for layer in agrimap_model::catalog()
            .iter()
            .filter(|l| l.field("former_commune_code").is_some() && !LAYERS_OF_0011.contains(&l.id))
        {
            let want = format!(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS former_commune_code text;",
                layer.id
            );
            assert!(MIGRATIONS[4].2.contains(&want), "0005 lacks: {want}");
        }
    }

    #[test]
    fn migration_0004_indexes_every_natural_key() {
        for layer in agrimap_model::catalog()
            .iter()
            .filter(|l| !l.natural_key().is_empty() && !LAYERS_OF_0011.contains(&l.id))
        {
            let want = format!(
                "CREATE INDEX IF NOT EXISTS {t}_natural_key ON {t} ({});",
                layer.natural_key().join(", "),
                t = layer.id
            );
            assert!(MIGRATIONS[3].2.contains(&want), "0004 lacks: {want}");
        }
    }

    const HEADER: &str = include_str!("migrations/0001_header.sql");

    #[test]
    fn migration_0001_is_the_catalog() {
        let mut want = String::from(HEADER);
        for layer in agrimap_model::catalog()
            .iter()
            .filter(|l| !LAYERS_OF_0011.contains(&l.id))
        {
            want.push('\n');
            want.push_str(&layer_ddl(layer, true));
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/postgis/migrations/0001_layers.sql");
        if std::env::var_os("AGRIMAP_UPDATE_MIGRATION").is_some() {
            std::fs::write(path, &want).expect("write");
        }
        assert!(MIGRATIONS[0].2 == want, "0001_layers.sql differs from the catalog");
    }

    /// The header of 0012: the write clock.
    const HISTORY_HEADER: &str = "-- Versions of the thematic layers (issue 20): each versioned layer's\n\
-- features carry the instant they took their present form (valid_from;\n\
-- -infinity for those stored before, known since ever), and the version an\n\
-- update or delete replaces goes to {layer}_history with valid_to, by a\n\
-- trigger, in the write's own transaction. The instant is the transaction's\n\
-- agrimap.valid_time setting, or its start to the second.\n\
\n\
CREATE OR REPLACE FUNCTION agrimap_valid_time() RETURNS timestamptz LANGUAGE sql STABLE AS $$\n  \
SELECT coalesce(nullif(current_setting('agrimap.valid_time', true), '')::timestamptz, date_trunc('second', now()))\n\
$$;\n";

    /// What 0012 makes for one versioned layer.
    fn history_ddl(layer: &LayerDef) -> String {
        let t = layer.id;
        let geometry = match layer.geometry {
            agrimap_model::GeometryKind::Point => "Point",
            agrimap_model::GeometryKind::LineString => "MultiLineString",
            agrimap_model::GeometryKind::Polygon => "MultiPolygon",
            agrimap_model::GeometryKind::PointOrLine => "Geometry",
        };
        let mut sql = format!(
            "ALTER TABLE {t} ADD COLUMN IF NOT EXISTS valid_from timestamptz NOT NULL DEFAULT '-infinity';\n\
             ALTER TABLE {t} ALTER COLUMN valid_from SET DEFAULT agrimap_valid_time();\n\
             CREATE TABLE IF NOT EXISTS {t}_history (\n  hid bigserial PRIMARY KEY,\n  fid bigint NOT NULL,\n  \
             geom geometry({geometry}, 4326) NOT NULL"
        );
        let mut columns = String::from("fid, geom");
        let mut old = String::from("OLD.fid, OLD.geom");
        for f in layer.fields {
            let _ = write!(sql, ",\n  {} {}", f.name, column_type(f.ty));
            let _ = write!(columns, ", {}", f.name);
            let _ = write!(old, ", OLD.{}", f.name);
        }
        let _ = write!(
            sql,
            ",\n  valid_from timestamptz NOT NULL,\n  valid_to timestamptz NOT NULL\n);\n\
             CREATE INDEX IF NOT EXISTS {t}_history_fid ON {t}_history (fid);\n\
             CREATE INDEX IF NOT EXISTS {t}_history_geom ON {t}_history USING gist (geom);\n\
             CREATE OR REPLACE FUNCTION agrimap_keep_{t}() RETURNS trigger LANGUAGE plpgsql AS $$\n\
             BEGIN\n  \
             INSERT INTO {t}_history ({columns}, valid_from, valid_to)\n    \
             VALUES ({old}, OLD.valid_from, agrimap_valid_time());\n  \
             IF TG_OP = 'UPDATE' THEN\n    NEW.valid_from := agrimap_valid_time();\n    RETURN NEW;\n  END IF;\n  \
             RETURN OLD;\n\
             END\n$$;\n\
             CREATE OR REPLACE TRIGGER {t}_history_update BEFORE UPDATE ON {t}\n  \
             FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_{t}();\n\
             CREATE OR REPLACE TRIGGER {t}_history_delete BEFORE DELETE ON {t}\n  \
             FOR EACH ROW EXECUTE FUNCTION agrimap_keep_{t}();\n"
        );
        sql
    }

    #[test]
    fn migration_0012_versions_every_versioned_layer() {
        let mut want = String::from(HISTORY_HEADER);
        for layer in agrimap_model::catalog().iter().filter(|l| l.versioned()) {
            want.push('\n');
            want.push_str(&history_ddl(layer));
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/postgis/migrations/0012_history.sql");
        if std::env::var_os("AGRIMAP_UPDATE_MIGRATION").is_some() {
            std::fs::write(path, &want).expect("write");
        }
        let applied = MIGRATIONS.iter().find(|m| m.0 == 12).expect("0012");
        assert!(applied.2 == want, "0012 differs from the catalog's versioned layers");
    }

    /// The header of 0014: the functions that place a feature in its
    /// province and make the partitions of a province.
    const PARTITIONS_HEADER: &str = include_str!("migrations/0014_header.sql");

    /// The trigger function of a versioned layer, as 0014 remakes it: as
    /// 0012's, except that the second call of a feature that moves to
    /// another province keeps nothing (PostgreSQL moves a row across
    /// partitions as a delete and an insert, and fires the BEFORE DELETE
    /// trigger after the BEFORE UPDATE one, both with the same OLD row).
    fn keep_function(layer: &LayerDef) -> String {
        let t = layer.id;
        let mut columns = String::from("fid, geom");
        let mut old = String::from("OLD.fid, OLD.geom");
        for f in layer.fields {
            let _ = write!(columns, ", {}", f.name);
            let _ = write!(old, ", OLD.{}", f.name);
        }
        format!(
            "CREATE OR REPLACE FUNCTION agrimap_keep_{t}() RETURNS trigger LANGUAGE plpgsql AS $$\n\
             BEGIN\n  \
             IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM {t}_history WHERE fid = OLD.fid\n      \
             AND valid_from = OLD.valid_from AND valid_to = agrimap_valid_time()) THEN\n    \
             RETURN OLD;\n  END IF;\n  \
             INSERT INTO {t}_history ({columns}, valid_from, valid_to)\n    \
             VALUES ({old}, OLD.valid_from, agrimap_valid_time());\n  \
             IF TG_OP = 'UPDATE' THEN\n    NEW.valid_from := agrimap_valid_time();\n    RETURN NEW;\n  END IF;\n  \
             RETURN OLD;\n\
             END\n$$;\n"
        )
    }

    /// What 0014 does to one thematic layer, in two parts: the partitioned
    /// table made beside the old one, then (once every province has its
    /// partitions) the rows moved over and the old table dropped.
    fn partition_ddl(layer: &LayerDef) -> (String, String) {
        let t = layer.id;
        let make = format!(
            "ALTER TABLE {t} RENAME TO {t}_unpartitioned;\n\
             ALTER SEQUENCE {t}_fid_seq OWNED BY NONE;\n\
             CREATE TABLE {t} (LIKE {t}_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,\n  \
             province_code text NOT NULL DEFAULT '') PARTITION BY LIST (province_code);\n"
        );
        let mut fill = format!(
            "INSERT INTO {t} SELECT o.*, agrimap_province_of(o.commune_code, o.boundary_set) FROM {t}_unpartitioned o;\n\
             DROP TABLE {t}_unpartitioned;\n\
             ALTER SEQUENCE {t}_fid_seq OWNED BY {t}.fid;\n\
             ALTER TABLE {t} ADD PRIMARY KEY (fid, province_code);\n\
             CREATE INDEX {t}_geom ON {t} USING gist (geom);\n\
             CREATE INDEX {t}_commune_code ON {t} (commune_code);\n"
        );
        if !layer.natural_key().is_empty() {
            let _ = writeln!(
                fill,
                "CREATE INDEX {t}_natural_key ON {t} ({});",
                layer.natural_key().join(", ")
            );
        }
        let _ = write!(
            fill,
            "CREATE TRIGGER {t}_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {t}\n  \
             FOR EACH STATEMENT EXECUTE FUNCTION agrimap_bump_version('{t}');\n"
        );
        if layer.versioned() {
            fill.push_str(&keep_function(layer));
            let _ = write!(
                fill,
                "CREATE TRIGGER {t}_history_update BEFORE UPDATE ON {t}\n  \
                 FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION agrimap_keep_{t}();\n\
                 CREATE TRIGGER {t}_history_delete BEFORE DELETE ON {t}\n  \
                 FOR EACH ROW EXECUTE FUNCTION agrimap_keep_{t}();\n"
            );
        }
        (make, fill)
    }

    #[test]
    fn migration_0014_partitions_every_thematic_layer() {
        let layers: Vec<&LayerDef> = agrimap_model::catalog().iter().filter(|l| partitioned(l)).collect();
        // Every partitioned layer has the commune code its province comes from.
        assert!(
            layers
                .iter()
                .all(|l| l.has_commune() && l.field("boundary_set").is_some())
        );
        let mut want = String::from(PARTITIONS_HEADER);
        let parts: Vec<(String, String)> = layers.iter().map(|l| partition_ddl(l)).collect();
        for (layer, (make, _)) in layers.iter().zip(&parts) {
            let _ = write!(want, "\n-- {}\n{make}", layer.id);
        }
        want.push_str(
            "\n-- A partition for every province whose boundaries the store holds, and\n\
             -- one for the features of no known province.\n\
             SELECT agrimap_add_province(p) FROM (SELECT '' AS p UNION SELECT DISTINCT province_code FROM admin_commune) s;\n",
        );
        for (layer, (_, fill)) in layers.iter().zip(&parts) {
            let _ = write!(want, "\n-- {}\n{fill}", layer.id);
        }
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/postgis/migrations/0014_province_partitions.sql"
        );
        if std::env::var_os("AGRIMAP_UPDATE_MIGRATION").is_some() {
            std::fs::write(path, &want).expect("write");
        }
        let applied = MIGRATIONS.iter().find(|m| m.0 == 14).expect("0014");
        assert!(applied.2 == want, "0014 differs from the catalog's thematic layers");
    }

    #[test]
    fn migration_0011_is_the_layers_it_adds() {
        let mut want = String::from(
            "-- The irrigation, forestry and livestock layers (issue 18), as the catalog\n\
             -- defines them; their listed fields take the code lists, which the store\n\
             -- seeds when it applies this migration.\n",
        );
        for id in LAYERS_OF_0011 {
            let layer = agrimap_model::layer(id).expect("a catalog layer");
            want.push('\n');
            want.push_str(&layer_ddl(layer, false));
        }
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/postgis/migrations/0011_irrigation_forestry_livestock.sql"
        );
        if std::env::var_os("AGRIMAP_UPDATE_MIGRATION").is_some() {
            std::fs::write(path, &want).expect("write");
        }
        let applied = MIGRATIONS.iter().find(|m| m.0 == 11).expect("0011");
        assert!(applied.2 == want, "0011 differs from the catalog's new layers");
        // Every layer of the catalog is made by 0001 or 0011.
        for layer in agrimap_model::catalog() {
            assert!(
                MIGRATIONS[0]
                    .2
                    .contains(&format!("CREATE TABLE IF NOT EXISTS {} (", layer.id))
                    || LAYERS_OF_0011.contains(&layer.id),
                "{}",
                layer.id
            );
        }
    }
}
