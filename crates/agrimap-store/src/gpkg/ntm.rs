//! NTM records in the GeoPackage: plain tables (no geometry), made on open
//! when missing, with triggers that keep the history append-only. Writes
//! that check a dossier's state run in an IMMEDIATE transaction, so the
//! check and the write see the same history.

use super::{GpkgStore, db};
use crate::StoreError;
use crate::ntm::{
    DossierKey, Entry, EvidenceFile, Move, NewEntry, NewMove, NtmError, NtmHistory, NtmStore, StoredSet, columns_of,
    evidence_of, evidence_text, may_restore, state_of, value_of,
};
use agrimap_model::ntm::{CriteriaSet, DossierState};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

/// Created on open when missing (stores made before NTM have none).
pub(super) const NTM_SQL: &str = "
CREATE TABLE IF NOT EXISTS agrimap_ntm_sets (
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  document TEXT NOT NULL,
  loaded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (id, version)
);
CREATE TABLE IF NOT EXISTS agrimap_ntm_entries (
  seq INTEGER PRIMARY KEY,
  commune_code TEXT NOT NULL,
  boundary_set TEXT NOT NULL,
  year INTEGER NOT NULL,
  set_id TEXT NOT NULL,
  indicator_id TEXT NOT NULL,
  value_number REAL,
  value_pass INTEGER,
  comment TEXT NOT NULL DEFAULT '',
  evidence TEXT NOT NULL DEFAULT '',
  author TEXT NOT NULL,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS agrimap_ntm_entries_dossier ON agrimap_ntm_entries (commune_code, boundary_set, year);
CREATE TABLE IF NOT EXISTS agrimap_ntm_evidence (
  sha256 TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  author TEXT NOT NULL,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS agrimap_ntm_moves (
  seq INTEGER PRIMARY KEY,
  commune_code TEXT NOT NULL,
  boundary_set TEXT NOT NULL,
  year INTEGER NOT NULL,
  from_state TEXT NOT NULL CHECK (from_state IN ('draft', 'submitted', 'appraised', 'recognised', 'returned', 'revoked')),
  to_state TEXT NOT NULL CHECK (to_state IN ('draft', 'submitted', 'appraised', 'recognised', 'returned', 'revoked')),
  author TEXT NOT NULL,
  role TEXT NOT NULL,
  details TEXT NOT NULL,
  at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS agrimap_ntm_moves_dossier ON agrimap_ntm_moves (commune_code, boundary_set, year);
CREATE TRIGGER IF NOT EXISTS agrimap_ntm_entries_kept BEFORE UPDATE ON agrimap_ntm_entries
  BEGIN SELECT RAISE(ABORT, 'the NTM history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS agrimap_ntm_entries_not_deleted BEFORE DELETE ON agrimap_ntm_entries
  BEGIN SELECT RAISE(ABORT, 'the NTM history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS agrimap_ntm_moves_kept BEFORE UPDATE ON agrimap_ntm_moves
  BEGIN SELECT RAISE(ABORT, 'the NTM history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS agrimap_ntm_moves_not_deleted BEFORE DELETE ON agrimap_ntm_moves
  BEGIN SELECT RAISE(ABORT, 'the NTM history is append-only'); END;
";

/// Makes the tables when missing and adds the shipped criteria sets not yet
/// kept (writing only when one is missing, so that opening a store that has
/// them takes no write lock).
pub(super) fn ensure_tables(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(NTM_SQL)
        .map_err(|e| db("creating the NTM tables", e))?;
    // The shipped files are parsed by a unit test of the model; one that
    // does not parse is left out rather than stop the store opening.
    let shipped: Vec<(CriteriaSet, &str)> = agrimap_model::ntm::SHIPPED
        .iter()
        .filter_map(|(_, text)| CriteriaSet::parse(text.as_bytes()).ok().map(|set| (set, *text)))
        .collect();
    let mut missing = Vec::new();
    for (set, text) in &shipped {
        let held = conn
            .query_row(
                "SELECT 1 FROM agrimap_ntm_sets WHERE id = ?1 AND version = ?2",
                params![set.id, set.version],
                |_| Ok(()),
            )
            .optional()
            .map_err(|e| db("reading the criteria sets", e))?;
        if held.is_none() {
            missing.push((set, *text));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction().map_err(|e| db("starting a transaction", e))?;
    for (set, text) in missing {
        tx.execute(
            "INSERT OR IGNORE INTO agrimap_ntm_sets (id, version, document) VALUES (?1, ?2, ?3)",
            params![set.id, set.version, text],
        )
        .map_err(|e| db("adding the shipped criteria sets", e))?;
    }
    tx.commit().map_err(|e| db("adding the shipped criteria sets", e))
}

/// The next number of the one sequence entries and moves share, so that a
/// dossier's history has one order; read inside the IMMEDIATE transaction
/// that inserts, so no other writer takes it meanwhile.
const NEXT_SEQ: &str = "(SELECT coalesce(max(s), 0) + 1 FROM (
   SELECT max(seq) AS s FROM agrimap_ntm_entries UNION ALL SELECT max(seq) FROM agrimap_ntm_moves))";

const ENTRY_COLUMNS: &str = "seq, commune_code, boundary_set, year, set_id, indicator_id, value_number, value_pass, \
                             comment, evidence, author, at";
const MOVE_COLUMNS: &str = "seq, commune_code, boundary_set, year, from_state, to_state, author, role, details, at";

fn entry_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    let evidence: String = r.get(9)?;
    Ok(Entry {
        seq: r.get(0)?,
        entry: NewEntry {
            dossier: DossierKey {
                commune_code: r.get(1)?,
                boundary_set: r.get(2)?,
                year: r.get(3)?,
            },
            set_id: r.get(4)?,
            indicator_id: r.get(5)?,
            value: value_of(r.get(6)?, r.get::<_, Option<i64>>(7)?.map(|p| p != 0)),
            comment: r.get(8)?,
            evidence: evidence_of(&evidence),
            author: r.get(10)?,
        },
        at: super::time_at(r, 11)?,
    })
}

fn move_row(r: &Row<'_>) -> rusqlite::Result<Move> {
    Ok(Move {
        seq: r.get(0)?,
        dossier: DossierKey {
            commune_code: r.get(1)?,
            boundary_set: r.get(2)?,
            year: r.get(3)?,
        },
        from: state_of(&r.get::<_, String>(4)?),
        to: state_of(&r.get::<_, String>(5)?),
        author: r.get(6)?,
        role: super::role_at(r, 7)?,
        details: r.get(8)?,
        at: super::time_at(r, 9)?,
    })
}

/// The dossier's state as its last move left it.
fn current_state(tx: &Transaction<'_>, key: &DossierKey) -> Result<DossierState, StoreError> {
    let last: Option<String> = tx
        .query_row(
            "SELECT to_state FROM agrimap_ntm_moves WHERE commune_code = ?1 AND boundary_set = ?2 AND year = ?3
             ORDER BY seq DESC LIMIT 1",
            params![key.commune_code, key.boundary_set, key.year],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| db("reading a dossier's state", e))?;
    Ok(last.as_deref().map_or(DossierState::Draft, state_of))
}

/// The whole history as `conn` sees it (inside a transaction, one snapshot).
fn read_history(conn: &Connection) -> Result<NtmHistory, StoreError> {
    let read = |what: &'static str, e| db(what, e);
    let entries = conn
        .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM agrimap_ntm_entries ORDER BY seq"))
        .and_then(|mut stmt| stmt.query_map([], entry_row)?.collect())
        .map_err(|e| read("reading NTM entries", e))?;
    let moves = conn
        .prepare_cached(&format!("SELECT {MOVE_COLUMNS} FROM agrimap_ntm_moves ORDER BY seq"))
        .and_then(|mut stmt| stmt.query_map([], move_row)?.collect())
        .map_err(|e| read("reading dossier moves", e))?;
    let evidence = conn
        .prepare_cached("SELECT sha256 FROM agrimap_ntm_evidence ORDER BY sha256")
        .and_then(|mut stmt| stmt.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| read("reading evidence files", e))?;
    Ok(NtmHistory {
        entries,
        moves,
        evidence,
    })
}

/// Inserts `history`'s rows with their own sequence numbers and times.
fn insert_history(tx: &Transaction<'_>, history: &NtmHistory) -> Result<(), StoreError> {
    for e in &history.entries {
        let (number, pass) = columns_of(e.entry.value);
        let k = &e.entry.dossier;
        tx.execute(
            &format!("INSERT INTO agrimap_ntm_entries ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
            params![
                e.seq,
                k.commune_code,
                k.boundary_set,
                k.year,
                e.entry.set_id,
                e.entry.indicator_id,
                number,
                pass,
                e.entry.comment,
                evidence_text(&e.entry.evidence),
                e.entry.author,
                e.at.to_string()
            ],
        )
        .map_err(|e| db("copying an NTM entry", e))?;
    }
    for m in &history.moves {
        let k = &m.dossier;
        tx.execute(
            &format!("INSERT INTO agrimap_ntm_moves ({MOVE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                m.seq,
                k.commune_code,
                k.boundary_set,
                k.year,
                m.from.as_str(),
                m.to.as_str(),
                m.author,
                m.role.name(),
                m.details,
                m.at.to_string()
            ],
        )
        .map_err(|e| db("copying a dossier move", e))?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl NtmStore for GpkgStore {
    async fn add_criteria_set(&self, set: &StoredSet) -> Result<bool, StoreError> {
        let set = set.clone();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            let held: Option<String> = tx
                .query_row(
                    "SELECT document FROM agrimap_ntm_sets WHERE id = ?1 AND version = ?2",
                    params![set.id, set.version],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| db("reading a criteria set", e))?;
            match held {
                Some(doc) if doc == set.document => Ok(false),
                Some(_) => Err(NtmError::VersionTaken {
                    id: set.id,
                    version: set.version,
                }
                .into()),
                None => {
                    tx.execute(
                        "INSERT INTO agrimap_ntm_sets (id, version, document) VALUES (?1, ?2, ?3)",
                        params![set.id, set.version, set.document],
                    )
                    .map_err(|e| db("storing a criteria set", e))?;
                    tx.commit().map_err(|e| db("storing a criteria set", e))?;
                    Ok(true)
                }
            }
        })
        .await
    }

    async fn criteria_sets(&self) -> Result<Vec<StoredSet>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare_cached("SELECT id, version, document FROM agrimap_ntm_sets ORDER BY id, version")
                .map_err(|e| db("reading the criteria sets", e))?;
            stmt.query_map([], |r| {
                Ok(StoredSet {
                    id: r.get(0)?,
                    version: r.get(1)?,
                    document: r.get(2)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| db("reading the criteria sets", e))
        })
        .await
    }

    async fn add_entry(&self, entry: &NewEntry) -> Result<Entry, StoreError> {
        let entry = entry.clone();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            let state = current_state(&tx, &entry.dossier)?;
            if !state.editable() {
                return Err(NtmError::NotEditable(state.as_str()).into());
            }
            for sha in &entry.evidence {
                let known = tx
                    .query_row(
                        "SELECT 1 FROM agrimap_ntm_evidence WHERE sha256 = ?1",
                        [sha],
                        |_| Ok(()),
                    )
                    .optional()
                    .map_err(|e| db("looking up evidence", e))?;
                if known.is_none() {
                    return Err(NtmError::UnknownEvidence(agrimap_model::echo(sha, 64)).into());
                }
            }
            let (number, pass) = columns_of(entry.value);
            let k = &entry.dossier;
            tx.execute(
                &format!(
                    "INSERT INTO agrimap_ntm_entries (seq, commune_code, boundary_set, year, set_id, indicator_id,
                       value_number, value_pass, comment, evidence, author)
                     VALUES ({NEXT_SEQ}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    k.commune_code,
                    k.boundary_set,
                    k.year,
                    entry.set_id,
                    entry.indicator_id,
                    number,
                    pass,
                    entry.comment,
                    evidence_text(&entry.evidence),
                    entry.author
                ],
            )
            .map_err(|e| db("storing an NTM entry", e))?;
            let seq = tx.last_insert_rowid();
            let kept = tx
                .query_row(
                    &format!("SELECT {ENTRY_COLUMNS} FROM agrimap_ntm_entries WHERE seq = ?1"),
                    [seq],
                    entry_row,
                )
                .map_err(|e| db("reading an NTM entry back", e))?;
            tx.commit().map_err(|e| db("storing an NTM entry", e))?;
            Ok(kept)
        })
        .await
    }

    async fn entries(&self, dossier: &DossierKey) -> Result<Vec<Entry>, StoreError> {
        let k = dossier.clone();
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS} FROM agrimap_ntm_entries
                     WHERE commune_code = ?1 AND boundary_set = ?2 AND year = ?3 ORDER BY seq"
                ))
                .map_err(|e| db("reading NTM entries", e))?;
            stmt.query_map(params![k.commune_code, k.boundary_set, k.year], entry_row)
                .and_then(Iterator::collect)
                .map_err(|e| db("reading NTM entries", e))
        })
        .await
    }

    async fn add_evidence(&self, file: &EvidenceFile) -> Result<bool, StoreError> {
        let f = file.clone();
        self.with_conn(move |c| {
            let added = c
                .execute(
                    "INSERT OR IGNORE INTO agrimap_ntm_evidence (sha256, name, media_type, size, bytes, author)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        f.sha256,
                        f.name,
                        f.media_type,
                        i64::try_from(f.size).unwrap_or(i64::MAX),
                        f.bytes,
                        f.author
                    ],
                )
                .map_err(|e| db("storing an evidence file", e))?;
            Ok(added > 0)
        })
        .await
    }

    async fn evidence(&self, sha256: &str, bytes: bool) -> Result<Option<EvidenceFile>, StoreError> {
        let sha = sha256.to_owned();
        self.with_conn(move |c| {
            c.query_row(
                &format!(
                    "SELECT sha256, name, media_type, size, {}, author FROM agrimap_ntm_evidence WHERE sha256 = ?1",
                    if bytes { "bytes" } else { "x''" }
                ),
                [sha],
                |r| {
                    Ok(EvidenceFile {
                        sha256: r.get(0)?,
                        name: r.get(1)?,
                        media_type: r.get(2)?,
                        size: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        bytes: r.get(4)?,
                        author: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(|e| db("reading an evidence file", e))
        })
        .await
    }

    async fn evidence_citations(&self, sha256: &str) -> Result<Vec<DossierKey>, StoreError> {
        let sha = sha256.to_owned();
        self.with_conn(move |c| {
            // `evidence` is a comma-joined list of 64-digit hashes: a hash
            // found in it is one of them.
            let mut stmt = c
                .prepare_cached(
                    "SELECT DISTINCT commune_code, boundary_set, year FROM agrimap_ntm_entries
                     WHERE instr(evidence, ?1) > 0 ORDER BY 1, 2, 3",
                )
                .map_err(|e| db("reading where evidence is cited", e))?;
            stmt.query_map([sha], |r| {
                Ok(DossierKey {
                    commune_code: r.get(0)?,
                    boundary_set: r.get(1)?,
                    year: r.get(2)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(|e| db("reading where evidence is cited", e))
        })
        .await
    }

    async fn add_move(&self, new: &NewMove) -> Result<Move, StoreError> {
        let new = new.clone();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            let k = &new.dossier;
            let state = current_state(&tx, k)?;
            if state != new.from {
                return Err(NtmError::StateChanged {
                    expected: new.from.as_str(),
                    found: state.as_str(),
                }
                .into());
            }
            tx.execute(
                &format!(
                    "INSERT INTO agrimap_ntm_moves (seq, commune_code, boundary_set, year, from_state, to_state, author, role, details)
                     VALUES ({NEXT_SEQ}, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                ),
                params![
                    k.commune_code,
                    k.boundary_set,
                    k.year,
                    new.from.as_str(),
                    new.to.as_str(),
                    new.author,
                    new.role.name(),
                    new.details
                ],
            )
            .map_err(|e| db("recording a dossier move", e))?;
            let seq = tx.last_insert_rowid();
            if let Some(status) = &new.commune_status {
                let updated = tx
                    .execute(
                        "UPDATE \"admin_commune\" SET \"ntm_status\" = ?1, \"ntm_year\" = ?2
                         WHERE \"code\" = ?3 AND \"boundary_set\" = ?4",
                        params![status.status, status.year, k.commune_code, k.boundary_set],
                    )
                    .map_err(|e| db("recording a commune's NTM status", e))?;
                if updated == 0 {
                    return Err(NtmError::UnknownCommune {
                        code: k.commune_code.clone(),
                        boundary_set: k.boundary_set.clone(),
                    }
                    .into());
                }
            }
            let kept = tx
                .query_row(
                    &format!("SELECT {MOVE_COLUMNS} FROM agrimap_ntm_moves WHERE seq = ?1"),
                    [seq],
                    move_row,
                )
                .map_err(|e| db("reading a dossier move back", e))?;
            tx.commit().map_err(|e| db("recording a dossier move", e))?;
            Ok(kept)
        })
        .await
    }

    async fn moves(&self, commune_code: &str, boundary_set: &str, year: Option<i32>) -> Result<Vec<Move>, StoreError> {
        let (code, set) = (commune_code.to_owned(), boundary_set.to_owned());
        self.with_conn(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {MOVE_COLUMNS} FROM agrimap_ntm_moves
                     WHERE commune_code = ?1 AND boundary_set = ?2 AND (?3 IS NULL OR year = ?3) ORDER BY seq"
                ))
                .map_err(|e| db("reading dossier moves", e))?;
            stmt.query_map(params![code, set, year], move_row)
                .and_then(Iterator::collect)
                .map_err(|e| db("reading dossier moves", e))
        })
        .await
    }

    async fn ntm_history(&self) -> Result<NtmHistory, StoreError> {
        self.with_conn(|c| {
            let tx = c.transaction().map_err(|e| db("starting a transaction", e))?;
            read_history(&tx)
        })
        .await
    }

    async fn restore_ntm_history(&self, history: &NtmHistory) -> Result<bool, StoreError> {
        let history = history.clone();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(|e| db("starting a transaction", e))?;
            if !may_restore(&read_history(&tx)?, &history)? {
                return Ok(false);
            }
            insert_history(&tx, &history)?;
            tx.commit().map_err(|e| db("copying the NTM history", e))?;
            Ok(true)
        })
        .await
    }

    async fn ntm_changes(&self) -> Result<i64, StoreError> {
        self.with_conn(|c| {
            c.query_row(crate::ntm::CHANGES_SQL, [], |r| r.get(0))
                .map_err(|e| db("reading the NTM records' version", e))
        })
        .await
    }
}
