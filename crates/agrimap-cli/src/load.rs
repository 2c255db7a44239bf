//! `agrimap load`: a demo province, or a province's embedded store with
//! every history it keeps, copied into PostGIS.

use crate::postgres::{connect_and_migrate, runtime};
use agrimap_store::LayerStore as _;
use agrimap_store::{GpkgStore, PgStore};
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// PostgreSQL/PostGIS URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database: String,
    /// What to copy: a demo province directory, or an embedded store (`.gpkg`
    /// file: its layers with their past versions, readings, registries with
    /// their history, value lists, tokens, NTM criteria sets and dossiers,
    /// the alert history and subscriptions).
    #[arg(long, default_value = "data/demo")]
    pub from: PathBuf,
}

/// `agrimap load`: writes the embedded store or the demo files in `args.from`
/// into PostGIS in one batch.
///
/// # Errors
/// When the source cannot be opened or read, or the database cannot be
/// reached, migrated or written (nothing is changed then).
pub fn load(args: &LoadArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let runtime = runtime()?;
    let mut batch = if args.from.is_file() {
        let path = args.from.display();
        let gpkg = GpkgStore::open(&args.from).with_context(|| format!("opening the embedded store {path}"))?;
        runtime
            .block_on(crate::seed::store_batch(&gpkg))
            .with_context(|| format!("reading the embedded store {path}"))?
    } else {
        crate::seed::demo_batch(&args.from)?
    };
    runtime.block_on(async {
        let store = connect_and_migrate(&args.database).await?;
        keep_own_timelines(&store, &mut batch).await?;
        let past_versions: usize = batch.timelines.iter().map(|t| t.versions.len()).sum();
        let summary = store
            .write(batch)
            .await
            .context("loading into PostGIS (nothing was changed)")?;
        if args.from.is_file() {
            let gpkg = GpkgStore::open(&args.from).context("opening the embedded store")?;
            copy_registries(&gpkg, &store).await?;
            let (added, retired) = copy_codes(&gpkg, &store).await?;
            println!("value lists: {added} codes added, {retired} retired as in the embedded store");
            let (api, stations) = copy_tokens(&gpkg, &store).await?;
            println!("tokens: {api} API tokens and {stations} stations' tokens copied (as hashes)");
            let (sets, subscriptions) = copy_sets_and_subscriptions(&gpkg, &store).await?;
            println!("{sets} NTM criteria set versions and {subscriptions} alert subscriptions copied");
            let (files, entries, moves) = copy_ntm_history(&gpkg, &store).await?;
            println!("NTM dossiers: {entries} entries, {moves} moves and {files} evidence files copied");
            let (events, deliveries, ended) = copy_alert_history(&gpkg, &store).await?;
            println!(
                "alert history: {events} changes of stations' states copied (not sent again), \
                 with {deliveries} deliveries to its subscribers ({ended} to subscriptions ended stay behind)"
            );
        } else {
            crate::seed::register_demo(std::sync::Arc::new(store.clone())).await?;
        }
        println!(
            "loaded {} features ({past_versions} past versions with them) and {} readings from {} in {:.1?}",
            summary.features,
            summary.readings,
            args.from.display(),
            started.elapsed()
        );
        Ok(())
    })
}

/// Leaves out of `batch` the timeline of each layer whose past versions in
/// PostGIS are its own (edits made there since an earlier load): such a
/// layer is replaced as any write replaces it, its features closed at now,
/// so PostGIS's past is kept and the embedded store's stays with it, as
/// stderr says. Histories are not interleaved. PostGIS's past is counted
/// first and read whole only when it may be the very history being copied
/// (a load run again): years of versions are not read to find them unlike.
///
/// # Errors
/// When PostGIS cannot be read.
async fn keep_own_timelines(to: &PgStore, batch: &mut agrimap_store::WriteBatch) -> anyhow::Result<()> {
    let mut kept = Vec::with_capacity(batch.timelines.len());
    for timeline in std::mem::take(&mut batch.timelines) {
        let held = to.past_versions(timeline.layer).await?;
        let same_count = usize::try_from(held).is_ok_and(|n| n == timeline.versions.len());
        if held == 0 || (same_count && to.timeline(timeline.layer).await?.versions == timeline.versions) {
            kept.push(timeline);
        } else {
            eprintln!(
                "layer {}: PostGIS keeps {held} past versions of its own; the layer is replaced with its features \
                 closed at now, and the embedded store's {} past versions stay with it",
                timeline.layer.id,
                timeline.versions.len()
            );
        }
    }
    batch.timelines = kept;
    Ok(())
}

/// Copies the registries with their history and the product pages' scans.
/// Into a database that keeps registries of its own, the records are put by
/// key instead (a change by `load` in their history), and the embedded
/// store's history and scans stay with it, as stderr says.
///
/// # Errors
/// When a store fails.
async fn copy_registries(from: &GpkgStore, to: &PgStore) -> anyhow::Result<()> {
    use agrimap_store::RegistryStore as _;
    let registries = from.registry_history().await?;
    match to.restore_registry_history(&registries).await {
        Ok(copied) => {
            let count = |n: usize| if copied { n } else { 0 };
            println!(
                "registries: {} records copied with {} changes and {} days of scans",
                count(registries.records.len()),
                count(registries.changes.len()),
                count(registries.scans.len()),
            );
            return Ok(());
        }
        Err(e @ agrimap_store::StoreError::HistoryHeld { .. }) => {
            eprintln!(
                "the registries' history and scans not copied, they stay with the embedded store: {e}; \
                 the records are put by key"
            );
        }
        Err(e) => return Err(anyhow::Error::new(e).context("copying the registries (none were copied)")),
    }
    let mut put = agrimap_store::RegistryWrite::default();
    for kind in agrimap_model::registry::RegistryKind::ALL {
        let records: Vec<_> = registries
            .records
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| r.clone())
            .collect();
        if !records.is_empty() {
            let written = to.put_records(kind, records, "load").await?;
            put.inserted += written.inserted;
            put.updated += written.updated;
        }
    }
    println!(
        "registries: {} records added and {} updated by key",
        put.inserted, put.updated
    );
    Ok(())
}

/// Gives PostGIS the codes the embedded store's value lists have and it
/// lacks (a province's own species, say), and retires what the embedded
/// store retired: so the copied features keep their labels, and new data
/// is checked against the same lists. Returns how many were added and retired.
///
/// # Errors
/// When a store fails, or a code cannot be retired because PostGIS holds
/// features using it that the embedded store does not.
async fn copy_codes(from: &GpkgStore, to: &PgStore) -> anyhow::Result<(usize, usize)> {
    use agrimap_store::CodeStore as _;
    let known: std::collections::BTreeMap<(String, String), bool> = to
        .codes()
        .await?
        .into_iter()
        .map(|c| ((c.list, c.code), c.retired))
        .collect();
    let (mut added, mut retired) = (0, 0);
    for code in from.codes().await? {
        let key = (code.list.clone(), code.code.clone());
        if !known.contains_key(&key) {
            to.add_code(&agrimap_model::Code {
                retired: false,
                ..code.clone()
            })
            .await
            .with_context(|| format!("adding code {} of list {}", code.code, code.list))?;
            added += 1;
        }
        if code.retired && known.get(&key) != Some(&true) {
            to.retire_code(&code.list, &code.code)
                .await
                .with_context(|| format!("retiring code {} of list {}", code.code, code.list))?;
            retired += 1;
        }
    }
    Ok((added, retired))
}

/// Copies the API tokens PostGIS does not have (by id; a revoked one stays
/// revoked) and every station's token, as the hashes the embedded store
/// keeps: the people and stations holding them go on without new ones.
/// Returns how many API tokens and station tokens were copied.
///
/// # Errors
/// When a store fails.
async fn copy_tokens(from: &GpkgStore, to: &PgStore) -> anyhow::Result<(usize, usize)> {
    use agrimap_store::CredentialStore as _;
    let known: std::collections::BTreeSet<String> = to.api_tokens().await?.into_iter().map(|t| t.id).collect();
    let mut api = 0;
    for token in from.api_tokens().await? {
        if known.contains(&token.id) {
            continue;
        }
        let Some(hash) = from.api_token_hash(&token.id).await? else {
            continue;
        };
        to.add_api_token(&agrimap_store::NewApiToken {
            id: token.id.clone(),
            name: token.name.clone(),
            role: token.role,
            hash,
            provinces: token.provinces.clone(),
        })
        .await
        .with_context(|| format!("copying API token {}", token.id))?;
        if token.revoked_at.is_some() {
            to.revoke_api_token(&token.id).await?;
        }
        api += 1;
    }
    let monitoring = agrimap_model::layer("monitoring").context("the monitoring layer")?;
    let query = agrimap_model::FeatureQuery {
        fields: Some(&["station_id"]),
        ..agrimap_model::FeatureQuery::default()
    };
    let mut stations = 0;
    for station in from.features(monitoring, &query).await? {
        let Some(id) = monitoring.text_of(&station, "station_id") else {
            continue;
        };
        if let Some(hash) = from.station_token_hash(id).await?
            && to.set_station_token_hash(id, &hash).await?
        {
            stations += 1;
        }
    }
    Ok((api, stations))
}

/// Copies the NTM criteria set versions PostGIS does not keep (a province's
/// own targets, say) and the alert subscriptions in force that it does not
/// have (by name and webhook), with their secrets, so the receivers go on
/// verifying what they are sent. Returns how many of each were copied.
///
/// # Errors
/// When a store fails, or a set version is kept in PostGIS with other content.
async fn copy_sets_and_subscriptions(from: &GpkgStore, to: &PgStore) -> anyhow::Result<(usize, usize)> {
    use agrimap_store::{AlertStore as _, NtmStore as _};
    let mut sets = 0;
    for set in from.criteria_sets().await? {
        if to
            .add_criteria_set(&set)
            .await
            .with_context(|| format!("copying NTM criteria set {} version {}", set.id, set.version))?
        {
            sets += 1;
        }
    }
    let known: std::collections::BTreeSet<(String, String)> =
        to.subscriptions().await?.into_iter().map(|s| (s.name, s.url)).collect();
    let mut subscriptions = 0;
    for s in from.subscriptions().await? {
        if known.contains(&(s.name.clone(), s.url.clone())) {
            continue;
        }
        to.add_subscription(&agrimap_model::alerts::NewSubscription {
            name: s.name,
            scope: s.scope,
            url: s.url,
            secret: s.secret,
            owner_provinces: s.owner_provinces,
            created_by: s.created_by,
        })
        .await?;
        subscriptions += 1;
    }
    Ok((sets, subscriptions))
}

/// Copies the NTM dossiers: the evidence files (one at a time, with their
/// bytes), then every entry and move with its sequence number and time, so
/// a dossier's history reads in PostGIS as it did in the embedded store.
/// Returns how many evidence files, entries and moves were copied (none of
/// the entries and moves when PostGIS holds this history already).
///
/// # Errors
/// When a store fails, or PostGIS keeps an NTM history of its own.
async fn copy_ntm_history(from: &GpkgStore, to: &PgStore) -> anyhow::Result<(usize, usize, usize)> {
    use agrimap_store::NtmStore as _;
    let history = from.ntm_history().await?;
    let mut files = 0;
    for sha in &history.evidence {
        let file = from
            .evidence(sha, true)
            .await?
            .with_context(|| format!("evidence file {sha} went missing from the embedded store"))?;
        if to.add_evidence(&file).await? {
            files += 1;
        }
    }
    let copied = kept_apart(
        "NTM dossiers",
        to.restore_ntm_history(&history)
            .await
            .context("copying the NTM dossiers' entries and moves (none were copied)"),
    )?;
    Ok(if copied {
        (files, history.entries.len(), history.moves.len())
    } else {
        (files, 0, 0)
    })
}

/// Copies the alert history (every change of a station's state) with its
/// ids and times, and its deliveries to the subscriptions in force (copied
/// before, matched by name and address), and moves PostGIS's dispatch
/// cursor past the events: the subscribers are not sent last season's
/// alarms again, and what was still to be sent is sent from PostGIS.
/// Returns how many events and deliveries were copied (none when PostGIS
/// holds this history already), and how many deliveries stay behind (of
/// subscriptions ended).
///
/// # Errors
/// When a store fails.
async fn copy_alert_history(from: &GpkgStore, to: &PgStore) -> anyhow::Result<(usize, usize, usize)> {
    use agrimap_store::AlertStore as _;
    const PAGE: usize = 10_000;
    let mut events = Vec::new();
    loop {
        let page = from
            .alert_events(&agrimap_store::EventQuery {
                after_id: events.last().map(|e: &agrimap_model::alerts::AlertEvent| e.id),
                limit: PAGE,
                ..Default::default()
            })
            .await?;
        let last_page = page.len() < PAGE;
        events.extend(page);
        if last_page {
            break;
        }
    }
    let here: std::collections::BTreeMap<(String, String), i64> = to
        .subscriptions()
        .await?
        .into_iter()
        .map(|s| ((s.name, s.url), s.id))
        .collect();
    let there: std::collections::BTreeMap<i64, i64> = from
        .subscriptions()
        .await?
        .into_iter()
        .filter_map(|s| Some((s.id, *here.get(&(s.name, s.url))?)))
        .collect();
    let all = from.deliveries(None, None, usize::MAX).await?;
    let kept = all.len();
    let deliveries: Vec<_> = all
        .into_iter()
        .filter_map(|d| {
            let subscription_id = *there.get(&d.subscription_id)?;
            Some(agrimap_model::alerts::Delivery { subscription_id, ..d })
        })
        .collect();
    let copied = kept_apart(
        "the alert history",
        to.restore_alert_history(&events, &deliveries)
            .await
            .context("copying the alert history (none of it was copied)"),
    )?;
    Ok(if copied {
        (events.len(), deliveries.len(), kept - deliveries.len())
    } else {
        (0, 0, 0)
    })
}

/// A history PostGIS already keeps one of its own is not merged into it:
/// the load goes on (its layers are in), saying on stderr what stayed with
/// the embedded store and why. Other errors stop the load.
fn kept_apart(what: &str, copied: anyhow::Result<bool>) -> anyhow::Result<bool> {
    match copied {
        Err(e) if matches!(e.downcast_ref(), Some(agrimap_store::StoreError::HistoryHeld { .. })) => {
            eprintln!("{what} not copied, it stays with the embedded store: {e:#}");
            Ok(false)
        }
        other => other,
    }
}
