//! NTM records in PostgreSQL (migration 0009). Writes that check a
//! dossier's state take a transaction-scoped advisory lock on the dossier
//! first, so the check and the write see the same history.

use super::{PgStore, pg, read_versions};
use crate::StoreError;
use crate::ntm::{
    DossierKey, Entry, EvidenceFile, Move, NewEntry, NewMove, NtmError, NtmHistory, NtmStore, StoredSet, columns_of,
    evidence_of, evidence_text, may_restore, state_of, value_of,
};
use agrimap_model::Role;
use agrimap_model::ntm::{CriteriaSet, DossierState};
use tokio_postgres::Row;

/// Adds the shipped criteria sets not yet kept; run with the migrations.
pub(super) async fn add_shipped_sets(tx: &deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
    for (_, text) in agrimap_model::ntm::SHIPPED {
        // Parsed by a unit test of the model; one that does not parse is left out.
        let Ok(set) = CriteriaSet::parse(text.as_bytes()) else {
            continue;
        };
        let version = i32::try_from(set.version).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO agrimap_ntm_sets (id, version, document) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&set.id, &version, text],
        )
        .await
        .map_err(pg("adding the shipped criteria sets"))?;
    }
    Ok(())
}

const AT: &str = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')";

fn entry_columns() -> String {
    format!(
        "seq, commune_code, boundary_set, year, set_id, indicator_id, value_number, value_pass, comment, evidence, author, {AT}"
    )
}

fn move_columns() -> String {
    format!("seq, commune_code, boundary_set, year, from_state, to_state, author, role, details, {AT}")
}

fn entry_of(r: &Row) -> Result<Entry, StoreError> {
    let evidence: String = r.get(9);
    Ok(Entry {
        seq: r.get(0),
        entry: NewEntry {
            dossier: DossierKey {
                commune_code: r.get(1),
                boundary_set: r.get(2),
                year: r.get(3),
            },
            set_id: r.get(4),
            indicator_id: r.get(5),
            value: value_of(r.get(6), r.get(7)),
            comment: r.get(8),
            evidence: evidence_of(&evidence),
            author: r.get(10),
        },
        at: crate::stored_time(r.get(11))?,
    })
}

fn move_of(r: &Row) -> Result<Move, StoreError> {
    Ok(Move {
        seq: r.get(0),
        dossier: DossierKey {
            commune_code: r.get(1),
            boundary_set: r.get(2),
            year: r.get(3),
        },
        from: state_of(r.get(4)),
        to: state_of(r.get(5)),
        author: r.get(6),
        role: Role::from_name(r.get(7)).unwrap_or(Role::Anonymous),
        details: r.get(8),
        at: crate::stored_time(r.get(9))?,
    })
}

/// Locks the dossier for the rest of the transaction and reads its state.
async fn lock_state(tx: &deadpool_postgres::Transaction<'_>, k: &DossierKey) -> Result<DossierState, StoreError> {
    let lock_key = format!("agrimap-ntm/{}/{}/{}", k.commune_code, k.boundary_set, k.year);
    tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[&lock_key])
        .await
        .map_err(pg("locking a dossier"))?;
    let last = tx
        .query_opt(
            "SELECT to_state FROM agrimap_ntm_moves WHERE commune_code = $1 AND boundary_set = $2 AND year = $3
             ORDER BY seq DESC LIMIT 1",
            &[&k.commune_code, &k.boundary_set, &k.year],
        )
        .await
        .map_err(pg("reading a dossier's state"))?;
    Ok(last.map_or(DossierState::Draft, |r| state_of(r.get(0))))
}

/// The whole history as `tx` sees it (one snapshot).
async fn read_history(tx: &deadpool_postgres::Transaction<'_>) -> Result<NtmHistory, StoreError> {
    let entries = tx
        .query(
            &format!("SELECT {} FROM agrimap_ntm_entries ORDER BY seq", entry_columns()),
            &[],
        )
        .await
        .map_err(pg("reading NTM entries"))?;
    let moves = tx
        .query(
            &format!("SELECT {} FROM agrimap_ntm_moves ORDER BY seq", move_columns()),
            &[],
        )
        .await
        .map_err(pg("reading dossier moves"))?;
    let evidence = tx
        .query("SELECT sha256 FROM agrimap_ntm_evidence ORDER BY sha256", &[])
        .await
        .map_err(pg("reading evidence files"))?;
    Ok(NtmHistory {
        entries: entries.iter().map(entry_of).collect::<Result<_, _>>()?,
        moves: moves.iter().map(move_of).collect::<Result<_, _>>()?,
        evidence: evidence.iter().map(|r| r.get(0)).collect(),
    })
}

/// Inserts `history`'s rows with their own sequence numbers and times, and
/// moves the shared sequence past them.
async fn insert_history(tx: &deadpool_postgres::Transaction<'_>, history: &NtmHistory) -> Result<(), StoreError> {
    let entry = tx
        .prepare(
            "INSERT INTO agrimap_ntm_entries (seq, commune_code, boundary_set, year, set_id, indicator_id,
               value_number, value_pass, comment, evidence, author, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::text::timestamptz)",
        )
        .await
        .map_err(pg("copying an NTM entry"))?;
    for e in &history.entries {
        let (number, pass) = columns_of(e.entry.value);
        let k = &e.entry.dossier;
        tx.execute(
            &entry,
            &[
                &e.seq,
                &k.commune_code,
                &k.boundary_set,
                &k.year,
                &e.entry.set_id,
                &e.entry.indicator_id,
                &number,
                &pass,
                &e.entry.comment,
                &evidence_text(&e.entry.evidence),
                &e.entry.author,
                &e.at.to_string(),
            ],
        )
        .await
        .map_err(pg("copying an NTM entry"))?;
    }
    let mv = tx
        .prepare(
            "INSERT INTO agrimap_ntm_moves (seq, commune_code, boundary_set, year, from_state, to_state, author, role, details, at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::timestamptz)",
        )
        .await
        .map_err(pg("copying a dossier move"))?;
    for m in &history.moves {
        let k = &m.dossier;
        tx.execute(
            &mv,
            &[
                &m.seq,
                &k.commune_code,
                &k.boundary_set,
                &k.year,
                &m.from.as_str(),
                &m.to.as_str(),
                &m.author,
                &m.role.name(),
                &m.details,
                &m.at.to_string(),
            ],
        )
        .await
        .map_err(pg("copying a dossier move"))?;
    }
    tx.execute(
        "SELECT setval('agrimap_ntm_seq', greatest($1, (SELECT last_value FROM agrimap_ntm_seq)))",
        &[&history.last_seq()],
    )
    .await
    .map_err(pg("moving the NTM sequence past the copy"))?;
    Ok(())
}

#[async_trait::async_trait]
impl NtmStore for PgStore {
    async fn add_criteria_set(&self, set: &StoredSet) -> Result<bool, StoreError> {
        let version = i32::try_from(set.version).unwrap_or(i32::MAX);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let added = tx
            .execute(
                "INSERT INTO agrimap_ntm_sets (id, version, document) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[&set.id, &version, &set.document],
            )
            .await
            .map_err(pg("storing a criteria set"))?;
        if added == 0 {
            let held = tx
                .query_one(
                    "SELECT document FROM agrimap_ntm_sets WHERE id = $1 AND version = $2",
                    &[&set.id, &version],
                )
                .await
                .map_err(pg("reading a criteria set"))?;
            let document: String = held.get(0);
            return if document == set.document {
                Ok(false)
            } else {
                Err(NtmError::VersionTaken {
                    id: set.id.clone(),
                    version: set.version,
                }
                .into())
            };
        }
        tx.commit().await.map_err(pg("storing a criteria set"))?;
        Ok(true)
    }

    async fn criteria_sets(&self) -> Result<Vec<StoredSet>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT id, version, document FROM agrimap_ntm_sets ORDER BY id, version",
                &[],
            )
            .await
            .map_err(pg("reading the criteria sets"))?;
        Ok(rows
            .iter()
            .map(|r| StoredSet {
                id: r.get(0),
                version: u32::try_from(r.get::<_, i32>(1)).unwrap_or(0),
                document: r.get(2),
            })
            .collect())
    }

    async fn add_entry(&self, entry: &NewEntry) -> Result<Entry, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let k = &entry.dossier;
        let state = lock_state(&tx, k).await?;
        if !state.editable() {
            return Err(NtmError::NotEditable(state.as_str()).into());
        }
        if !entry.evidence.is_empty() {
            let known = tx
                .query(
                    "SELECT sha256 FROM agrimap_ntm_evidence WHERE sha256 = ANY($1)",
                    &[&entry.evidence],
                )
                .await
                .map_err(pg("looking up evidence"))?;
            let known: Vec<String> = known.iter().map(|r| r.get(0)).collect();
            if let Some(missing) = entry.evidence.iter().find(|s| !known.contains(s)) {
                return Err(NtmError::UnknownEvidence(agrimap_model::echo(missing, 64)).into());
            }
        }
        let (number, pass) = columns_of(entry.value);
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO agrimap_ntm_entries (commune_code, boundary_set, year, set_id, indicator_id,
                       value_number, value_pass, comment, evidence, author)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {}",
                    entry_columns()
                ),
                &[
                    &k.commune_code,
                    &k.boundary_set,
                    &k.year,
                    &entry.set_id,
                    &entry.indicator_id,
                    &number,
                    &pass,
                    &entry.comment,
                    &evidence_text(&entry.evidence),
                    &entry.author,
                ],
            )
            .await
            .map_err(pg("storing an NTM entry"))?;
        tx.commit().await.map_err(pg("storing an NTM entry"))?;
        entry_of(&row)
    }

    async fn entries(&self, dossier: &DossierKey) -> Result<Vec<Entry>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM agrimap_ntm_entries
                     WHERE commune_code = $1 AND boundary_set = $2 AND year = $3 ORDER BY seq",
                    entry_columns()
                ),
                &[&dossier.commune_code, &dossier.boundary_set, &dossier.year],
            )
            .await
            .map_err(pg("reading NTM entries"))?;
        rows.iter().map(entry_of).collect()
    }

    async fn add_evidence(&self, file: &EvidenceFile) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let size = i64::try_from(file.size).unwrap_or(i64::MAX);
        let added = client
            .execute(
                "INSERT INTO agrimap_ntm_evidence (sha256, name, media_type, size, bytes, author)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                &[
                    &file.sha256,
                    &file.name,
                    &file.media_type,
                    &size,
                    &file.bytes,
                    &file.author,
                ],
            )
            .await
            .map_err(pg("storing an evidence file"))?;
        Ok(added > 0)
    }

    async fn evidence(&self, sha256: &str, bytes: bool) -> Result<Option<EvidenceFile>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT sha256, name, media_type, size, {}, author FROM agrimap_ntm_evidence WHERE sha256 = $1",
                    if bytes { "bytes" } else { "''::bytea" }
                ),
                &[&sha256],
            )
            .await
            .map_err(pg("reading an evidence file"))?;
        Ok(row.map(|r| EvidenceFile {
            sha256: r.get(0),
            name: r.get(1),
            media_type: r.get(2),
            size: u64::try_from(r.get::<_, i64>(3)).unwrap_or(0),
            bytes: r.get(4),
            author: r.get(5),
        }))
    }

    async fn evidence_citations(&self, sha256: &str) -> Result<Vec<DossierKey>, StoreError> {
        let client = self.client().await?;
        // `evidence` is a comma-joined list of 64-digit hashes: a hash found
        // in it is one of them.
        let rows = client
            .query(
                "SELECT DISTINCT commune_code, boundary_set, year FROM agrimap_ntm_entries
                 WHERE strpos(evidence, $1) > 0 ORDER BY 1, 2, 3",
                &[&sha256],
            )
            .await
            .map_err(pg("reading where evidence is cited"))?;
        Ok(rows
            .iter()
            .map(|r| DossierKey {
                commune_code: r.get(0),
                boundary_set: r.get(1),
                year: r.get(2),
            })
            .collect())
    }

    async fn add_move(&self, new: &NewMove) -> Result<Move, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        let k = &new.dossier;
        let state = lock_state(&tx, k).await?;
        if state != new.from {
            return Err(NtmError::StateChanged {
                expected: new.from.as_str(),
                found: state.as_str(),
            }
            .into());
        }
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO agrimap_ntm_moves (commune_code, boundary_set, year, from_state, to_state, author, role, details)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                    move_columns()
                ),
                &[
                    &k.commune_code,
                    &k.boundary_set,
                    &k.year,
                    &new.from.as_str(),
                    &new.to.as_str(),
                    &new.author,
                    &new.role.name(),
                    &new.details,
                ],
            )
            .await
            .map_err(pg("recording a dossier move"))?;
        if let Some(status) = &new.commune_status {
            let updated = tx
                .execute(
                    "UPDATE admin_commune SET ntm_status = $1, ntm_year = $2 WHERE code = $3 AND boundary_set = $4",
                    &[&status.status, &status.year, &k.commune_code, &k.boundary_set],
                )
                .await
                .map_err(pg("recording a commune's NTM status"))?;
            if updated == 0 {
                return Err(NtmError::UnknownCommune {
                    code: k.commune_code.clone(),
                    boundary_set: k.boundary_set.clone(),
                }
                .into());
            }
        }
        tx.commit().await.map_err(pg("recording a dossier move"))?;
        if new.commune_status.is_some()
            && let Some(watch) = self.watch.get()
        {
            // This instance's next request must see the commune's new status at once.
            let read = read_versions(&client).await.map_err(pg("reading layer versions"))?;
            watch.observe(&read);
        }
        move_of(&row)
    }

    async fn moves(&self, commune_code: &str, boundary_set: &str, year: Option<i32>) -> Result<Vec<Move>, StoreError> {
        let client = self.client().await?;
        let rows = client
            .query(
                &format!(
                    "SELECT {} FROM agrimap_ntm_moves
                     WHERE commune_code = $1 AND boundary_set = $2 AND ($3::integer IS NULL OR year = $3::integer)
                     ORDER BY seq",
                    move_columns()
                ),
                &[&commune_code, &boundary_set, &year],
            )
            .await
            .map_err(pg("reading dossier moves"))?;
        rows.iter().map(move_of).collect()
    }

    async fn ntm_history(&self) -> Result<NtmHistory, StoreError> {
        let mut client = self.client().await?;
        let tx = super::snapshot(&mut client).await?;
        read_history(&tx).await
    }

    async fn restore_ntm_history(&self, history: &NtmHistory) -> Result<bool, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(pg("starting a transaction"))?;
        // Entries and moves are added under a dossier's advisory lock; a
        // copy takes the tables whole instead, so no write slips in
        // between the check and the copy.
        tx.batch_execute("LOCK TABLE agrimap_ntm_entries, agrimap_ntm_moves IN EXCLUSIVE MODE")
            .await
            .map_err(pg("locking the NTM history"))?;
        if !may_restore(&read_history(&tx).await?, history)? {
            return Ok(false);
        }
        insert_history(&tx, history).await?;
        tx.commit().await.map_err(pg("copying the NTM history"))?;
        Ok(true)
    }

    async fn ntm_changes(&self) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(&format!("SELECT ({})::bigint", crate::ntm::CHANGES_SQL), &[])
            .await
            .map_err(pg("reading the NTM records' version"))?;
        Ok(row.get(0))
    }
}
