//! The code lists in the GeoPackage: table `agrimap_codes`.

use super::{GpkgStore, db};
use crate::StoreError;
use crate::codes::{CodeStore, in_use, known_list};
use agrimap_model::Code;
use agrimap_model::codes::{CodeError, fields_using, national_defaults};
use rusqlite::{Connection, OptionalExtension, params};

/// A store made while the lists were fixed has a CHECK constraint on each
/// listed field, which would refuse every code added since; and a field
/// whose fixed values grew (`alert_state` gained `silent`) has a CHECK with
/// the old values. SQLite keeps a table's constraints only in the `CREATE
/// TABLE` text of its schema, and documents editing that text (with
/// `writable_schema` and a new schema version) as the way to change a CHECK
/// constraint, which leaves the stored rows as they are; that is done here,
/// once, on open, so that every CHECK follows the catalog.
pub(super) fn checks_follow_catalog(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    let mut changed = false;
    for layer in agrimap_model::catalog() {
        let sql: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [layer.id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| db("reading a table's definition", e))?;
        let Some(sql) = sql else { continue };
        let freed = layer.fields.iter().fold(sql.clone(), |sql, f| {
            if f.code_list.is_some() {
                without_check(&sql, f.name)
            } else {
                with_values(&sql, f.name, f.values)
            }
        });
        if freed != sql {
            if !changed {
                tx.execute_batch("PRAGMA writable_schema = ON")
                    .map_err(|e| db("freeing the listed fields", e))?;
                changed = true;
            }
            tx.execute(
                "UPDATE sqlite_master SET sql = ?1 WHERE type = 'table' AND name = ?2",
                params![freed, layer.id],
            )
            .map_err(|e| db("freeing the listed fields", e))?;
        }
    }
    if changed {
        let version: i64 = tx
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .map_err(|e| db("freeing the listed fields", e))?;
        tx.execute_batch(&format!(
            "PRAGMA schema_version = {}; PRAGMA writable_schema = OFF;",
            version + 1
        ))
        .map_err(|e| db("freeing the listed fields", e))?;
    }
    tx.commit().map_err(|e| db("freeing the listed fields", e))
}

/// `sql` without the ` CHECK ("field" IN (...))` the catalog once wrote for `field`.
fn without_check(sql: &str, field: &str) -> String {
    let start_text = format!(" CHECK (\"{field}\" IN (");
    let Some(start) = sql.find(&start_text) else {
        return sql.to_owned();
    };
    match sql[start + start_text.len()..].find("))") {
        Some(end) => format!("{}{}", &sql[..start], &sql[start + start_text.len() + end + 2..]),
        None => sql.to_owned(),
    }
}

/// `sql` with the values of the ` CHECK ("field" IN (...))` it has for
/// `field` replaced by `values`; as it was when it has none.
fn with_values(sql: &str, field: &str, values: &[&str]) -> String {
    let start_text = format!(" CHECK (\"{field}\" IN (");
    let Some(start) = sql.find(&start_text).map(|s| s + start_text.len()) else {
        return sql.to_owned();
    };
    let Some(end) = sql[start..].find("))").map(|e| start + e) else {
        return sql.to_owned();
    };
    let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    format!("{}{}{}", &sql[..start], list.join(", "), &sql[end..])
}

/// Seeds the national defaults of every list the store has no code of: a
/// list that came with a later agrimap (an admin cannot empty a list, only
/// retire its codes, so an empty list is one the store never had).
fn seed_new_lists(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    {
        let mut insert = tx
            .prepare("INSERT OR IGNORE INTO agrimap_codes (list, code, label_vi, label_en) VALUES (?1, ?2, ?3, ?4)")
            .map_err(|e| db("seeding new code lists", e))?;
        let mut lists: std::collections::BTreeMap<String, Vec<agrimap_model::Code>> = std::collections::BTreeMap::new();
        for c in national_defaults() {
            lists.entry(c.list.clone()).or_default().push(c);
        }
        for (list, codes) in lists {
            // Decided for the whole list before any of its codes is added.
            let missing: bool = tx
                .query_row(
                    "SELECT NOT EXISTS (SELECT 1 FROM agrimap_codes WHERE list = ?1)",
                    [&list],
                    |r| r.get(0),
                )
                .map_err(|e| db("seeding new code lists", e))?;
            if missing {
                for c in codes {
                    insert
                        .execute(params![c.list, c.code, c.label_vi, c.label_en])
                        .map_err(|e| db("seeding new code lists", e))?;
                }
            }
        }
    }
    tx.commit().map_err(|e| db("seeding new code lists", e))
}

/// Made on open when missing, and seeded then.
pub(super) fn ensure_table(conn: &mut Connection) -> Result<(), StoreError> {
    let exists: bool = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agrimap_codes'",
            [],
            |_| Ok(true),
        )
        .optional()
        .map_err(|e| db("looking for the code lists", e))?
        .unwrap_or(false);
    if exists {
        return seed_new_lists(conn);
    }
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    tx.execute_batch(
        "CREATE TABLE agrimap_codes (
           list TEXT NOT NULL,
           code TEXT NOT NULL,
           label_vi TEXT NOT NULL,
           label_en TEXT NOT NULL,
           retired INTEGER NOT NULL DEFAULT 0,
           PRIMARY KEY (list, code)
         )",
    )
    .map_err(|e| db("creating the code lists", e))?;
    {
        let mut insert = tx
            .prepare("INSERT INTO agrimap_codes (list, code, label_vi, label_en) VALUES (?1, ?2, ?3, ?4)")
            .map_err(|e| db("seeding the code lists", e))?;
        for c in national_defaults() {
            insert
                .execute(params![c.list, c.code, c.label_vi, c.label_en])
                .map_err(|e| db("seeding the code lists", e))?;
        }
    }
    tx.commit().map_err(|e| db("seeding the code lists", e))
}

#[async_trait::async_trait]
impl CodeStore for GpkgStore {
    async fn codes(&self) -> Result<Vec<Code>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare_cached("SELECT list, code, label_vi, label_en, retired FROM agrimap_codes ORDER BY list, code")
                .map_err(|e| db("reading the code lists", e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Code {
                        list: r.get(0)?,
                        code: r.get(1)?,
                        label_vi: r.get(2)?,
                        label_en: r.get(3)?,
                        retired: r.get::<_, i64>(4)? != 0,
                    })
                })
                .map_err(|e| db("reading the code lists", e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| db("reading the code lists", e))
        })
        .await
    }

    async fn add_code(&self, code: &Code) -> Result<(), StoreError> {
        code.check()?;
        let code = code.clone();
        self.with_conn(move |c| {
            let added = c
                .execute(
                    "INSERT OR IGNORE INTO agrimap_codes (list, code, label_vi, label_en) VALUES (?1, ?2, ?3, ?4)",
                    params![code.list, code.code, code.label_vi.trim(), code.label_en.trim()],
                )
                .map_err(|e| db("adding a code", e))?;
            if added == 0 {
                return Err(CodeError::Exists {
                    list: code.list,
                    code: code.code,
                }
                .into());
            }
            Ok(())
        })
        .await
    }

    async fn retire_code(&self, list: &str, code: &str) -> Result<(), StoreError> {
        known_list(list)?;
        let (list, code) = (list.to_owned(), code.to_owned());
        self.with_conn(move |c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            let mut uses = Vec::new();
            for (layer, field) in fields_using(&list) {
                let n: i64 = tx
                    .query_row(
                        &format!("SELECT count(*) FROM \"{}\" WHERE \"{field}\" = ?1", layer.id),
                        [&code],
                        |r| r.get(0),
                    )
                    .map_err(|e| db("counting a code's uses", e))?;
                uses.push((layer.id, field, u64::try_from(n).unwrap_or(0)));
            }
            if let Some(refused) = in_use(&list, &code, &uses) {
                return Err(refused);
            }
            let retired = tx
                .execute(
                    "UPDATE agrimap_codes SET retired = 1 WHERE list = ?1 AND code = ?2",
                    params![list, code],
                )
                .map_err(|e| db("retiring a code", e))?;
            if retired == 0 {
                return Err(CodeError::NotFound { list, code }.into());
            }
            tx.commit().map_err(|e| db("retiring a code", e))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_check_of_the_old_lists_is_cut_out_whole() {
        let sql = "CREATE TABLE \"crop\" (\n  \"crop_type\" TEXT NOT NULL CHECK (\"crop_type\" IN ('rice', 'mango')),\n  \"x\" TEXT\n)";
        assert_eq!(
            super::without_check(sql, "crop_type"),
            "CREATE TABLE \"crop\" (\n  \"crop_type\" TEXT NOT NULL,\n  \"x\" TEXT\n)"
        );
        assert_eq!(super::without_check(sql, "season"), sql);
    }

    #[test]
    fn a_check_of_fixed_values_takes_the_catalogs_values() {
        let sql = "CREATE TABLE \"monitoring\" (\n  \"alert_state\" TEXT CHECK (\"alert_state\" IN ('ok', 'watch', 'alarm')),\n  \"x\" TEXT\n)";
        assert_eq!(
            super::with_values(sql, "alert_state", &["ok", "watch", "alarm", "silent"]),
            "CREATE TABLE \"monitoring\" (\n  \"alert_state\" TEXT CHECK (\"alert_state\" IN ('ok', 'watch', 'alarm', 'silent')),\n  \"x\" TEXT\n)"
        );
        assert_eq!(super::with_values(sql, "status", &["a"]), sql);
    }
}
