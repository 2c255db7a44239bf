//! Where agrimap keeps its layers.
//!
//! One object-safe async trait, [`Store`], shaped around what callers need
//! (features in a bounding box for tiles, features by commune / filter / page
//! for queries, a stream of a whole layer for export and aggregation, one
//! transactional writer, and a change counter per layer for cache keys), and
//! its implementations:
//!
//! - [`GpkgStore`]: the embedded default, one GeoPackage file (SQLite with the
//!   GeoPackage R-tree), readable by QGIS and GDAL.
//! - [`PgStore`]: PostgreSQL with PostGIS, for production.
//!
//! Geometry crosses the database boundary as WKB ([`wkb`]).

pub mod alerts;
pub mod codes;
pub mod crosswalk;
mod error;
pub mod filter_shape;
pub mod gpkg;
pub mod gpkg_geom;
mod history;
mod layer_geometry;
pub mod ntm;
pub mod overviews;
pub mod postgis;
pub mod registry;
pub mod resumable;
pub mod splits;
mod sql;
mod station_sql;
pub mod wkb;

pub use alerts::{AlertStore, DeliveryOutcome, EventQuery};
pub use codes::CodeStore;
pub use crosswalk::{CrosswalkPair, CrosswalkQuery, CrosswalkStore, PairKind};
pub use error::StoreError;
pub use gpkg::GpkgStore;
pub use history::{LayerTimeline, PastVersion};
pub(crate) use history::{Rows, rows_sql};
pub use ntm::NtmStore;
pub use overviews::{EdgeChange, KeptEdges, OverviewKey, OverviewStore};
pub use postgis::PgStore;
pub use registry::{RegistryAction, RegistryChange, RegistryHistory, RegistryRecord, RegistryStore, RegistryWrite};
pub use splits::{SplitQuery, SplitRow, SplitStore, StoredSplit};

use agrimap_model::readings::{AlertCause, AlertState};
use agrimap_model::{Audience, Feature, FeatureQuery, LayerDef, Reading, Role};
use futures::stream::BoxStream;
use geo::Rect;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Change counters of every layer: a write to a layer increases its counter.
pub type LayerVersions = BTreeMap<&'static str, u64>;

/// What one transactional write does to one layer.
#[derive(Debug, Clone)]
pub struct LayerWrite {
    pub layer: &'static LayerDef,
    /// Remove every existing feature of the layer first.
    pub replace: bool,
    /// Features to add; their `id` is ignored and assigned by the store.
    pub features: Vec<Feature>,
}

/// One transaction: all of it lands, or none of it.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    pub layers: Vec<LayerWrite>,
    pub readings: Vec<Reading>,
    /// When the layer writes take effect, for the versions of the versioned
    /// layers ([`LayerDef::versioned`]); `None`: now. A `replace` with a
    /// time given loads a layer's timeline afresh: its past versions are
    /// cleared with its features (without one, the features replaced become
    /// past versions, valid until now).
    pub valid_from: Option<agrimap_model::UtcTime>,
    /// Dated changes, applied after `layers` in this order, in the same
    /// transaction: how a layer's past is brought in (the demo province's
    /// history) and how a feature is deleted.
    pub changes: Vec<Change>,
    /// Versioned layers copied whole from another store with the timeline
    /// it kept (`agrimap load`): each goes with a `replace` of its layer in
    /// `layers`, whose features then keep their ids and the times they took
    /// their present form, and whose past versions become these.
    pub timelines: Vec<LayerTimeline>,
}

/// Changes to one layer that take effect at one instant: features put by
/// their natural key (an update replaces every value and the geometry, or
/// the feature is added) and features removed by their natural key. On a
/// versioned layer each update and removal closes the version it replaces
/// at `at`. Removing a key that is not stored does nothing.
#[derive(Debug, Clone)]
pub struct Change {
    pub at: agrimap_model::UtcTime,
    pub layer: &'static LayerDef,
    pub put: Vec<Feature>,
    /// The natural-key values of each feature to remove, in the order of
    /// [`LayerDef::natural_key`].
    pub remove: Vec<Vec<agrimap_model::Value>>,
}

/// A station's alert state and what put it there.
pub type Judgement = (AlertState, Option<AlertCause>);

/// Judges a station (its id) from its latest reading of each parameter.
/// The store calls it inside the ingestion's transaction, with the latest
/// readings as they stand once the batch is in, so that concurrent batches
/// of one station cannot leave a state judged from a stale snapshot.
pub type Judge = Arc<dyn Fn(&str, &[Reading]) -> Judgement + Send + Sync>;

/// What an ingestion did.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// Readings added (repeats of stored ones are skipped).
    pub stored: usize,
    /// The judgement of each station of the batch, as stored.
    pub judged: BTreeMap<String, Judgement>,
    /// The changes of state the batch caused, as stored in the alert history.
    pub events: Vec<agrimap_model::alerts::AlertEvent>,
}

/// Readings of one station in a time range, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadingQuery {
    pub station_id: String,
    pub parameter: Option<String>,
    /// Inclusive bounds.
    pub from: Option<agrimap_model::UtcTime>,
    pub to: Option<agrimap_model::UtcTime>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteSummary {
    pub features: usize,
    pub readings: usize,
}

/// Features to add to a layer, or to update by their natural key ([`Store::upsert`]).
#[derive(Debug, Clone)]
pub struct Upsert {
    pub layer: &'static LayerDef,
    pub features: Vec<Feature>,
    /// The fields an update replaces, besides the geometry; the others keep
    /// their stored values (a file without owners' phones does not erase
    /// them). New features get every value.
    pub update: Vec<&'static str>,
    /// Whether a feature whose key is not stored is added (an import), or
    /// left out: a write that changes features it has read (features
    /// moved to the commune that now holds them) must not bring back one
    /// that someone deleted meanwhile.
    pub insert_new: bool,
}

/// One feature re-stamped with a commune of another set
/// ([`LayerStore::restamp_communes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restamp {
    /// The feature's id.
    pub id: i64,
    /// Its `commune_code` as the recode read it: a feature whose code was
    /// edited since is left alone, so the edit is not overwritten.
    pub read: Option<String>,
    /// The commune it is given.
    pub code: String,
}

/// A connection pool's state at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections the pool may open.
    pub max_size: usize,
    /// Connections it holds open.
    pub size: usize,
    /// Open connections no one is using.
    pub available: usize,
    /// Callers waiting for a connection.
    pub waiting: usize,
}

/// The reads of layers sent to the primary and to read replicas, and each
/// replica's health, for operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaStatus {
    /// Reads of layers the primary answered (no replica could).
    pub reads_primary: u64,
    /// Reads of layers a replica answered.
    pub reads_replica: u64,
    pub replicas: Vec<ReplicaHealth>,
}

/// One read replica at its last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaHealth {
    /// `host:port/database`, without credentials.
    pub name: String,
    /// Reachable, still a replica, and not further behind than the bound.
    pub healthy: bool,
    /// How far behind the primary it is at most; `None` when unknown.
    pub lag: Option<std::time::Duration>,
    /// WAL bytes it had still to replay; `None` when unknown.
    pub lag_bytes: Option<u64>,
}

/// What an [`Store::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UpsertSummary {
    /// Features that were new.
    pub inserted: usize,
    /// Features that replaced a stored feature with the same natural key.
    pub updated: usize,
}

/// Checks the removals of a change: each names a whole natural key.
fn check_removals(change: &Change) -> Result<&'static [&'static str], StoreError> {
    let key = natural_key(change.layer)?;
    for (index, values) in change.remove.iter().enumerate() {
        if values.len() != key.len() || values.iter().any(|v| matches!(v, agrimap_model::Value::Null)) {
            return Err(StoreError::InvalidFeature {
                layer: change.layer.id.to_owned(),
                index,
                message: format!(
                    "a removal names the feature by its key ({}), every value given",
                    key.join(", ")
                ),
            });
        }
    }
    Ok(key)
}

/// The natural key of a layer that has one, for [`Store::upsert`].
fn natural_key(layer: &LayerDef) -> Result<&'static [&'static str], StoreError> {
    match layer.natural_key() {
        [] => Err(StoreError::NoNaturalKey(layer.id.to_owned())),
        key => Ok(key),
    }
}

/// A stream of features, for exports and aggregation over whole layers.
pub type FeatureStream = BoxStream<'static, Result<Feature, StoreError>>;

/// A store of agrimap: its layers, the stations' readings and the
/// credentials, each a trait of its own, so that a backend (or a registry
/// the next issues add) is written and tested piece by piece; the store
/// contract suite (`tests/contract.rs`) runs against `&dyn Store`.
pub trait Store:
    LayerStore
    + ReadingStore
    + CredentialStore
    + CodeStore
    + CrosswalkStore
    + RegistryStore
    + NtmStore
    + AlertStore
    + OverviewStore
    + SplitStore
{
}

impl<
    T: LayerStore
        + ReadingStore
        + CredentialStore
        + CodeStore
        + CrosswalkStore
        + RegistryStore
        + NtmStore
        + AlertStore
        + OverviewStore
        + SplitStore,
> Store for T
{
}

/// The layers: features by box, commune, filter and page, whole-layer
/// streams, transactional writes, and a change counter per layer.
#[async_trait::async_trait]
pub trait LayerStore: Send + Sync + 'static {
    /// Short name of the backend (`geopackage`, `postgis`).
    fn kind(&self) -> &'static str;

    /// The state of the store's connection pool, for operators; `None` for
    /// a store without one.
    fn pool_status(&self) -> Option<PoolStatus> {
        None
    }

    /// Where reads of layers went and how the read replicas are; `None` for
    /// a store without replicas.
    fn replica_status(&self) -> Option<ReplicaStatus> {
        None
    }

    /// Checks that the store answers.
    async fn health(&self) -> Result<(), StoreError>;

    /// Features of a layer matching the query, in id order; restricted fields
    /// are `Null` unless the query's audience may read them.
    async fn features(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<Vec<Feature>, StoreError>;

    /// A versioned layer's timeline as kept, with every field: to write it
    /// into another store with its layer ([`WriteBatch::timelines`]).
    async fn timeline(&self, layer: &'static LayerDef) -> Result<LayerTimeline, StoreError>;

    /// Number of features matching the query (ignoring offset and limit).
    async fn count(&self, layer: &'static LayerDef, query: &FeatureQuery) -> Result<u64, StoreError>;

    /// One feature by id, with the fields `audience` may read.
    async fn feature(
        &self,
        layer: &'static LayerDef,
        id: i64,
        audience: Audience,
    ) -> Result<Option<Feature>, StoreError>;

    /// One feature by id as it stood at `as_of` (the current feature when
    /// `None`), with the fields `audience` may read.
    async fn feature_as_of(
        &self,
        layer: &'static LayerDef,
        id: i64,
        audience: Audience,
        as_of: Option<agrimap_model::UtcTime>,
    ) -> Result<Option<Feature>, StoreError> {
        // Correct but slow (it reads the whole layer as it stood): both
        // stores override it; this serves wrappers and test doubles.
        if as_of.is_none() {
            return self.feature(layer, id, audience).await;
        }
        let all = FeatureQuery {
            audience,
            as_of,
            ..FeatureQuery::default()
        };
        Ok(self.features(layer, &all).await?.into_iter().find(|f| f.id == id))
    }

    /// Streams the features matching the query; dropping the stream stops the work.
    fn stream(&self, layer: &'static LayerDef, query: FeatureQuery) -> FeatureStream;

    /// Streams the features matching the query (its `offset`, `limit` and
    /// `any_order` aside) whose ids are above `after`, in id order: a read
    /// that can stop and resume where it stopped ([`resumable`]). Dropping
    /// the stream stops the work.
    fn stream_after(&self, layer: &'static LayerDef, query: FeatureQuery, after: Option<i64>) -> FeatureStream {
        // Correct but slow (it reads from the first feature): both stores
        // override it; this serves wrappers and test doubles.
        use futures::TryStreamExt;
        let all = FeatureQuery {
            offset: 0,
            limit: None,
            any_order: false,
            ..query
        };
        Box::pin(
            self.stream(layer, all)
                .try_filter(move |f| std::future::ready(after.is_none_or(|a| f.id > a))),
        )
    }

    /// Bounding box of a layer, `None` when it is empty.
    async fn extent(&self, layer: &'static LayerDef) -> Result<Option<Rect<f64>>, StoreError>;

    /// Applies a batch in one transaction and bumps the version of each layer it touches.
    async fn write(&self, batch: WriteBatch) -> Result<WriteSummary, StoreError>;

    /// Adds features to a layer in one transaction, except that a feature
    /// whose natural key ([`LayerDef::natural_key`]) matches a stored
    /// feature replaces that feature's geometry and the values of
    /// [`Upsert::update`], keeping its id and its other values:
    /// bringing the same records in twice leaves one copy. Every feature is
    /// checked first; on any error nothing is written. Layers without a
    /// natural key are refused ([`StoreError::NoNaturalKey`]).
    async fn upsert(&self, write: Upsert) -> Result<UpsertSummary, StoreError> {
        let mut done = self.upsert_all(vec![write]).await?;
        Ok(done.pop().unwrap_or_default())
    }

    /// [`LayerStore::upsert`] of several layers in one transaction (communes
    /// with the districts and provinces made from them): all or nothing.
    async fn upsert_all(&self, writes: Vec<Upsert>) -> Result<Vec<UpsertSummary>, StoreError>;

    /// Re-stamps features with the communes of `set`, in one transaction:
    /// for each [`Restamp`], `former_commune_code` takes the code the
    /// feature had, `commune_code` becomes `code` and `boundary_set`
    /// becomes `set` (the recode of a layer to the 2025 communes, sent as
    /// ids and codes so that a million parcels need not be held). Ids not
    /// stored, features whose `commune_code` is no longer the one read and
    /// features already in `set` are skipped: the recode read them before
    /// someone else wrote them. Returns how many features changed.
    async fn restamp_communes(
        &self,
        layer: &'static LayerDef,
        set: agrimap_model::BoundarySet,
        changes: Vec<Restamp>,
    ) -> Result<usize, StoreError>;

    /// The change counter of every layer.
    async fn versions(&self) -> Result<LayerVersions, StoreError>;
}

/// Stations' readings, and the latest values and alert state they give.
#[async_trait::async_trait]
pub trait ReadingStore: Send + Sync + 'static {
    /// Readings of one station, oldest first.
    async fn readings(&self, station_id: &str) -> Result<Vec<Reading>, StoreError>;

    /// Stores station readings in one transaction: readings already stored
    /// (same station, parameter and time) are skipped; each station that got
    /// readings has its `latest_*` values and `last_reading_at` in the
    /// `monitoring` layer brought up to date, and its `alert_state` set by
    /// `judge` from its latest readings, read in the same transaction.
    async fn ingest(&self, readings: Vec<Reading>, judge: Judge) -> Result<Ingested, StoreError>;

    /// Readings matching the query, oldest first (then by parameter).
    async fn readings_between(&self, query: &ReadingQuery) -> Result<Vec<Reading>, StoreError>;

    /// The latest reading of each parameter of one station, or of every
    /// station, ordered by station and parameter.
    async fn latest_readings(&self, station_id: Option<&str>) -> Result<Vec<Reading>, StoreError>;
}

/// Station tokens and API tokens, kept as hashes only.
#[async_trait::async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// The hash of a station's ingestion token, if it has one.
    async fn station_token_hash(&self, station_id: &str) -> Result<Option<String>, StoreError>;

    /// Sets (or replaces) a station's token hash; `false` when no station has that id.
    async fn set_station_token_hash(&self, station_id: &str, hash: &str) -> Result<bool, StoreError>;

    /// Keeps a new API token: its id, name, role and the hash of its secret.
    async fn add_api_token(&self, token: &NewApiToken) -> Result<ApiToken, StoreError>;

    /// Every API token, revoked ones included, oldest first.
    async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError>;

    /// Revokes a token; `false` when no token that is still valid has that id.
    async fn revoke_api_token(&self, id: &str) -> Result<bool, StoreError>;

    /// The valid (unrevoked) token whose secret hashes to `hash`.
    async fn api_token_by_hash(&self, hash: &str) -> Result<Option<ApiToken>, StoreError>;

    /// The hash of an API token's secret, revoked or not: for copying a
    /// store to another (`agrimap load`), never for answering a request.
    async fn api_token_hash(&self, id: &str) -> Result<Option<String>, StoreError>;
}

/// An API token to keep. The store never sees the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiToken {
    /// Short public identifier, shown in listings and used to revoke.
    pub id: String,
    /// Who or what the token is for.
    pub name: String,
    /// `Planner`, `Editor` or `Admin`.
    pub role: Role,
    pub hash: String,
    /// The province codes the token is limited to; empty for every province.
    pub provinces: Vec<String>,
}

/// An API token as listed: everything but the secret and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    /// `Anonymous` when the stored role is none agrimap knows.
    pub role: Role,
    pub created_at: agrimap_model::UtcTime,
    /// When revoked.
    pub revoked_at: Option<agrimap_model::UtcTime>,
    /// The province codes the token is limited to; empty for every province.
    pub provinces: Vec<String>,
}

/// Province codes as both stores keep them: joined by commas.
pub(crate) fn provinces_text(provinces: &[String]) -> String {
    provinces.join(",")
}

/// A time the store wrote (`YYYY-MM-DDTHH:MM:SSZ`), read back: a stored
/// time that does not read is a damaged store.
pub(crate) fn stored_time(text: &str) -> Result<agrimap_model::UtcTime, StoreError> {
    agrimap_model::UtcTime::parse(text).map_err(|e| StoreError::Corrupt(format!("a stored time: {e}")))
}

pub(crate) fn provinces_of(text: &str) -> Vec<String> {
    text.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect()
}
