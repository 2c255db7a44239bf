//! The statistics cache against a store that counts its reads.

use super::*;
use agrimap_model::{Audience, Feature, LayerDef, Reading};
use agrimap_store::{
    ApiToken, CredentialStore, FeatureStream, Ingested, Judge, LayerStore, LayerVersions, NewApiToken, ReadingQuery,
    ReadingStore, StoreError, WriteBatch, WriteSummary,
};

/// A store with empty layers that counts how often each is read, and
/// reads slowly, so that concurrent requests overlap.
#[derive(Default)]
struct CountingStore {
    reads: std::sync::Mutex<HashMap<&'static str, usize>>,
}

const NOT_USED: &str = "not used by the statistics";

#[async_trait::async_trait]
impl LayerStore for CountingStore {
    fn kind(&self) -> &'static str {
        "counting"
    }
    async fn health(&self) -> Result<(), StoreError> {
        Ok(())
    }
    async fn features(&self, layer: &'static LayerDef, _: &FeatureQuery) -> Result<Vec<Feature>, StoreError> {
        *self
            .reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(layer.id)
            .or_default() += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Ok(Vec::new())
    }
    async fn count(&self, _: &'static LayerDef, _: &FeatureQuery) -> Result<u64, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn timeline(&self, _: &'static LayerDef) -> Result<agrimap_store::LayerTimeline, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn feature(&self, _: &'static LayerDef, _: i64, _: Audience) -> Result<Option<Feature>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    fn stream(&self, _: &'static LayerDef, _: FeatureQuery) -> FeatureStream {
        unimplemented!("{NOT_USED}")
    }
    async fn extent(&self, _: &'static LayerDef) -> Result<Option<geo::Rect<f64>>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn write(&self, _: WriteBatch) -> Result<WriteSummary, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn upsert_all(&self, _: Vec<agrimap_store::Upsert>) -> Result<Vec<agrimap_store::UpsertSummary>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn restamp_communes(
        &self,
        _: &'static LayerDef,
        _: agrimap_model::BoundarySet,
        _: Vec<agrimap_store::Restamp>,
    ) -> Result<usize, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn versions(&self) -> Result<LayerVersions, StoreError> {
        Ok(LayerVersions::new())
    }
}

/// Tables from stored splits are reads of the layer too, counted and slow alike.
#[async_trait::async_trait]
impl agrimap_store::SplitStore for CountingStore {
    async fn split_table(&self, query: &agrimap_store::SplitQuery) -> Result<Vec<agrimap_store::SplitRow>, StoreError> {
        *self
            .reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(query.layer.id)
            .or_default() += 1;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Ok(Vec::new())
    }
    async fn feature_splits(
        &self,
        _: &'static LayerDef,
        _: i64,
    ) -> Result<Vec<agrimap_store::StoredSplit>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn recompute_splits(&self) -> Result<usize, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl ReadingStore for CountingStore {
    async fn readings(&self, _: &str) -> Result<Vec<Reading>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn ingest(&self, _: Vec<Reading>, _: Judge) -> Result<Ingested, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn readings_between(&self, _: &ReadingQuery) -> Result<Vec<Reading>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn latest_readings(&self, _: Option<&str>) -> Result<Vec<Reading>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl agrimap_store::OverviewStore for CountingStore {
    async fn overview(&self, _: &agrimap_store::OverviewKey) -> Result<Option<Vec<u8>>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn keep_overview(
        &self,
        _: &agrimap_store::OverviewKey,
        _: geo::Rect<f64>,
        _: u64,
        _: &[u8],
    ) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn overview_edges(
        &self,
        _: &agrimap_store::OverviewKey,
    ) -> Result<Option<agrimap_store::KeptEdges>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn keep_overview_edges(
        &self,
        _: &agrimap_store::OverviewKey,
        _: geo::Rect<f64>,
        _: u64,
        _: &[u8],
    ) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn fold_overview_edges(
        &self,
        _: &agrimap_store::OverviewKey,
        _: i64,
        _: &[u8],
        _: &[i64],
    ) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn overviews_to_redraw(&self, _: &str, _: usize) -> Result<Vec<agrimap_store::OverviewKey>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn overview_count(&self) -> Result<u64, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn forget_overviews(&self) -> Result<u64, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn take_lease(
        &self,
        _: &str,
        _: &str,
        _: agrimap_model::UtcTime,
        _: agrimap_model::UtcTime,
    ) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn end_lease(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl agrimap_store::CodeStore for CountingStore {
    async fn codes(&self) -> Result<Vec<agrimap_model::Code>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_code(&self, _: &agrimap_model::Code) -> Result<(), StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn retire_code(&self, _: &str, _: &str) -> Result<(), StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl CredentialStore for CountingStore {
    async fn station_token_hash(&self, _: &str) -> Result<Option<String>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn api_token_hash(&self, _: &str) -> Result<Option<String>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn set_station_token_hash(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_api_token(&self, _: &NewApiToken) -> Result<ApiToken, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn revoke_api_token(&self, _: &str) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn api_token_by_hash(&self, _: &str) -> Result<Option<ApiToken>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl agrimap_store::CrosswalkStore for CountingStore {
    async fn replace_crosswalk(&self, _: Vec<agrimap_store::CrosswalkPair>) -> Result<usize, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn crosswalk(
        &self,
        _: &agrimap_store::CrosswalkQuery,
    ) -> Result<Vec<agrimap_store::CrosswalkPair>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl agrimap_store::RegistryStore for CountingStore {
    async fn put_records(
        &self,
        _: agrimap_model::registry::RegistryKind,
        _: Vec<agrimap_store::RegistryRecord>,
        _: &str,
    ) -> Result<agrimap_store::RegistryWrite, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn record(
        &self,
        _: agrimap_model::registry::RegistryKind,
        _: &str,
    ) -> Result<Option<agrimap_store::RegistryRecord>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn records(
        &self,
        _: agrimap_model::registry::RegistryKind,
        _: Option<&str>,
    ) -> Result<Vec<agrimap_store::RegistryRecord>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn record_history(
        &self,
        _: agrimap_model::registry::RegistryKind,
        _: &str,
    ) -> Result<Vec<agrimap_store::RegistryChange>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_scans(&self, _: &str, _: &str, _: u64) -> Result<(), StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn scans(&self, _: &str) -> Result<Vec<(String, u64)>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn registry_history(&self) -> Result<agrimap_store::RegistryHistory, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn restore_registry_history(&self, _: &agrimap_store::RegistryHistory) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl agrimap_store::AlertStore for CountingStore {
    async fn silence(&self, _: agrimap_model::UtcTime) -> Result<Vec<agrimap_model::alerts::AlertEvent>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn alert_events(
        &self,
        _: &agrimap_store::EventQuery,
    ) -> Result<Vec<agrimap_model::alerts::AlertEvent>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_subscription(
        &self,
        _: &agrimap_model::alerts::NewSubscription,
    ) -> Result<agrimap_model::alerts::Subscription, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn subscriptions(&self) -> Result<Vec<agrimap_model::alerts::Subscription>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn end_subscription(&self, _: i64, _: agrimap_model::UtcTime) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn dispatch_cursor(&self) -> Result<i64, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn enqueue_deliveries(&self, _: i64, _: &[(i64, i64)], _: agrimap_model::UtcTime) -> Result<(), StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn claim_deliveries(
        &self,
        _: agrimap_model::UtcTime,
        _: agrimap_model::UtcTime,
        _: usize,
    ) -> Result<Vec<agrimap_model::alerts::Delivery>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn finish_delivery(&self, _: i64, _: agrimap_store::DeliveryOutcome) -> Result<(), StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn deliveries(
        &self,
        _: Option<&[i64]>,
        _: Option<agrimap_model::alerts::DeliveryStatus>,
        _: usize,
    ) -> Result<Vec<agrimap_model::alerts::Delivery>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn replay_dead(&self, _: Option<&[i64]>, _: agrimap_model::UtcTime) -> Result<u64, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn restore_alert_history(
        &self,
        _: &[agrimap_model::alerts::AlertEvent],
        _: &[agrimap_model::alerts::Delivery],
    ) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

#[async_trait::async_trait]
impl agrimap_store::NtmStore for CountingStore {
    async fn add_criteria_set(&self, _: &agrimap_store::ntm::StoredSet) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn criteria_sets(&self) -> Result<Vec<agrimap_store::ntm::StoredSet>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_entry(&self, _: &agrimap_store::ntm::NewEntry) -> Result<agrimap_store::ntm::Entry, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn entries(&self, _: &agrimap_store::ntm::DossierKey) -> Result<Vec<agrimap_store::ntm::Entry>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_evidence(&self, _: &agrimap_store::ntm::EvidenceFile) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn evidence(&self, _: &str, _: bool) -> Result<Option<agrimap_store::ntm::EvidenceFile>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn evidence_citations(&self, _: &str) -> Result<Vec<agrimap_store::ntm::DossierKey>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn add_move(&self, _: &agrimap_store::ntm::NewMove) -> Result<agrimap_store::ntm::Move, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn moves(&self, _: &str, _: &str, _: Option<i32>) -> Result<Vec<agrimap_store::ntm::Move>, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn ntm_history(&self) -> Result<agrimap_store::ntm::NtmHistory, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn restore_ntm_history(&self, _: &agrimap_store::ntm::NtmHistory) -> Result<bool, StoreError> {
        unimplemented!("{NOT_USED}")
    }
    async fn ntm_changes(&self) -> Result<i64, StoreError> {
        unimplemented!("{NOT_USED}")
    }
}

/// Many requests at once for a table not computed yet (a cold start
/// under load, or the first requests after a write) read the layer once,
/// not once each: each read holds a whole layer in memory and a pooled
/// database connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_compute_a_table_once() {
    let store = Arc::new(CountingStore::default());
    let cache = Arc::new(StatsCache::new(
        Arc::new(CommuneCache::default()),
        StatsCache::DEFAULT_BYTES,
    ));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, cache) = (store.clone(), cache.clone());
            tokio::spawn(async move {
                let request = StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area"))
                    .map_err(|e| e.message)?;
                cache
                    .table(store.as_ref(), request)
                    .await
                    .map(drop)
                    .map_err(|e| e.message)
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("table");
    }
    let reads = store.reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(reads.get("crop"), Some(&1), "reads per layer: {reads:?}");
    // The commune index was built once too.
    assert_eq!(reads.get("admin_commune"), Some(&1), "reads per layer: {reads:?}");

    // Another table of the same layer is computed on its own; a cached one is not read again.
    let request = StatsRequest::parse("crop", Some("district"), Some("crop_type"), Some("area")).expect("request");
    cache.table(store.as_ref(), request).await.expect("table");
    let request = StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area")).expect("request");
    cache.table(store.as_ref(), request).await.expect("table");
    let reads = store.reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(reads.get("crop"), Some(&2), "reads per layer: {reads:?}");
}

/// The cache holds tables by their size: with a budget smaller than one
/// table, nothing is kept and every request computes again.
#[tokio::test]
async fn tables_are_kept_within_a_byte_budget() {
    let table = StatsTable {
        layer: "crop",
        boundary_set: "pre-2025",
        province: None,
        by: "commune",
        class: Some("parcel_id"),
        classes: vec!["parcel_id"],
        metric: "area".into(),
        unit: "ha",
        metrics: vec![MetricColumn {
            name: "area".into(),
            unit: "ha",
        }],
        filter: None,
        datetime: None,
        per: None,
        as_of: None,
        group: None,
        periods: Vec::new(),
        rows: (0..1_000)
            .map(|i| StatsRow {
                code: format!("{i:05}"),
                name: "Mỹ Xương".into(),
                class: Some(format!("P-{i:07}")),
                classes: vec![format!("P-{i:07}")],
                value: 1.0,
                values: vec![1.0],
                features: 1,
                denominator: None,
                ratios: None,
                period: None,
            })
            .collect(),
        total: Some(1_000.0),
        totals: vec![1_000.0],
    };
    // A row per feature costs its text and its fixed part, not one entry.
    assert!(
        table.approximate_bytes() > 1_000 * (5 + 9 + 9),
        "{}",
        table.approximate_bytes()
    );

    let request = || StatsRequest::parse("crop", Some("commune"), Some("crop_type"), Some("area")).expect("request");
    let store = Arc::new(CountingStore::default());
    let tiny = StatsCache::new(Arc::new(CommuneCache::default()), 16);
    tiny.table(store.as_ref(), request()).await.expect("table");
    tiny.table(store.as_ref(), request()).await.expect("table");
    let reads = store.reads.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(reads.get("crop"), Some(&2), "nothing fits in 16 bytes: {reads:?}");
}
