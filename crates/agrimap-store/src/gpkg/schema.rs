//! DDL of a layer table, generated from the catalog: typed columns, CHECK
//! constraints for enumerated fields, the GeoPackage R-tree with its triggers,
//! and the agrimap change-counter triggers.

use agrimap_model::{FieldType, LayerDef};
use std::fmt::Write;

pub(crate) const CORE_SQL: &str = include_str!("core.sql");

pub(super) fn column_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Text => "TEXT",
        FieldType::Integer => "INTEGER",
        FieldType::Real => "REAL",
        FieldType::Boolean => "BOOLEAN",
        FieldType::Date => "DATE",
        FieldType::DateTime => "DATETIME",
    }
}

/// The SQL a table, index or trigger of the file was made with, if it exists.
pub(super) fn stored_sql(
    conn: &rusqlite::Connection,
    kind: &str,
    name: &str,
) -> Result<Option<String>, crate::StoreError> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = ?1 AND name = ?2",
        [kind, name],
        |r| r.get(0),
    )
    .optional()
    .map_err(|e| super::db("reading the schema", e))
}

/// The name of a layer's R-tree table.
pub(crate) fn rtree(layer: &LayerDef) -> String {
    format!("rtree_{}_geom", layer.id)
}

/// Every statement that creates one layer in a new GeoPackage.
pub(crate) fn layer_sql(layer: &LayerDef) -> String {
    let t = layer.id;
    let mut sql = format!(
        "CREATE TABLE \"{t}\" (\n  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,\n  geom {}",
        layer.geometry.ogc_name()
    );
    for f in layer.fields {
        let _ = write!(sql, ",\n  \"{}\" {}", f.name, column_type(f.ty));
        if f.required {
            sql.push_str(" NOT NULL");
        }
        if !f.values.is_empty() {
            let list: Vec<String> = f.values.iter().map(|v| format!("'{v}'")).collect();
            let _ = write!(sql, " CHECK (\"{}\" IN ({}))", f.name, list.join(", "));
        }
    }
    if layer.versioned() {
        sql.push_str(&super::history::valid_from_column());
    }
    sql.push_str("\n);\n");
    if layer.has_commune() {
        let _ = writeln!(sql, "CREATE INDEX \"{t}_commune_code\" ON \"{t}\" (commune_code);");
    }
    let _ = write!(
        sql,
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
           VALUES ('{t}', 'features', '{t}', '{desc}', 4326);
         INSERT INTO gpkg_geometry_columns VALUES ('{t}', 'geom', '{kind}', 4326, 0, 0);
         INSERT INTO gpkg_extensions VALUES ('{t}', 'geom', 'gpkg_rtree_index',
           'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
         INSERT INTO agrimap_layer_version (layer, version) VALUES ('{t}', 0);
         CREATE VIRTUAL TABLE \"{r}\" USING rtree(id, minx, maxx, miny, maxy);\n",
        desc = layer.description.replace('\'', "''"),
        kind = layer.geometry.ogc_name(),
        r = rtree(layer),
    );
    sql.push_str(&rtree_triggers(t, &rtree(layer)));
    for event in ["INSERT", "UPDATE", "DELETE"] {
        let _ = writeln!(
            sql,
            "CREATE TRIGGER \"agrimap_version_{t}_{e}\" AFTER {event} ON \"{t}\" BEGIN
               UPDATE agrimap_layer_version SET version = version + 1 WHERE layer = '{t}';
             END;",
            e = event.to_lowercase()
        );
    }
    sql
}

/// The R-tree triggers of the GeoPackage specification (Annex "R-tree Spatial Indexes").
fn rtree_triggers(t: &str, r: &str) -> String {
    let insert = format!(
        "INSERT OR REPLACE INTO \"{r}\" VALUES (NEW.fid, ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom));"
    );
    format!(
        "CREATE TRIGGER \"{r}_insert\" AFTER INSERT ON \"{t}\"
           WHEN (NEW.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
           BEGIN {insert} END;
         CREATE TRIGGER \"{r}_update1\" AFTER UPDATE OF geom ON \"{t}\"
           WHEN OLD.fid = NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
           BEGIN {insert} END;
         CREATE TRIGGER \"{r}_update2\" AFTER UPDATE OF geom ON \"{t}\"
           WHEN OLD.fid = NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
           BEGIN DELETE FROM \"{r}\" WHERE id = OLD.fid; END;
         CREATE TRIGGER \"{r}_update3\" AFTER UPDATE ON \"{t}\"
           WHEN OLD.fid != NEW.fid AND (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
           BEGIN DELETE FROM \"{r}\" WHERE id = OLD.fid; {insert} END;
         CREATE TRIGGER \"{r}_update4\" AFTER UPDATE ON \"{t}\"
           WHEN OLD.fid != NEW.fid AND (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
           BEGIN DELETE FROM \"{r}\" WHERE id IN (OLD.fid, NEW.fid); END;
         CREATE TRIGGER \"{r}_delete\" AFTER DELETE ON \"{t}\"
           WHEN OLD.geom NOT NULL
           BEGIN DELETE FROM \"{r}\" WHERE id = OLD.fid; END;\n"
    )
}
