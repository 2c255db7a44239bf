//! Subscriptions: made, listed and ended by editors within their provinces;
//! the dead-letter list and its replay, by admins.

use super::webhook::check_target;
use crate::actor::Actor;
use crate::communes::CommuneIndex;
use crate::error::{CoreError, ErrorKind, echo};
use agrimap_model::alerts::{Delivery, DeliveryStatus, NewSubscription, Subscription, SubscriptionScope};
use agrimap_model::readings::{AlertState, PARAMETERS};
use agrimap_model::{Role, UtcTime};
use agrimap_store::Store;
use serde::{Deserialize, Serialize};

/// A subscription as a client asks for it: a name, the webhook, and the
/// scope's lists (see [`SubscriptionScope`]; each may be left out). The
/// lists are spelled out rather than flattened because serde cannot refuse
/// unknown fields around a flattened struct, and a misspelt list must not
/// silently widen a subscription to everything.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    pub name: String,
    /// The webhook.
    pub url: String,
    #[serde(default)]
    pub provinces: Vec<String>,
    #[serde(default)]
    pub communes: Vec<String>,
    #[serde(default)]
    pub station_kinds: Vec<String>,
    #[serde(default)]
    pub parameters: Vec<String>,
    #[serde(default = "SubscriptionScope::default_states")]
    pub states: Vec<AlertState>,
}

/// A subscription just made, with the secret that signs its deliveries
/// (shown this once).
#[derive(Debug, Clone, Serialize)]
pub struct Made {
    #[serde(flatten)]
    pub subscription: Subscription,
    pub secret: String,
}

/// Checks a request and stores it.
///
/// # Errors
/// `bad_subscription` naming the field at fault, `bad_webhook` for the URL,
/// `outside_provinces` for provinces beyond the actor's token.
pub async fn create(
    store: &dyn Store,
    index: &CommuneIndex,
    actor: &Actor,
    request: SubscriptionRequest,
    allow_private: bool,
) -> Result<Made, CoreError> {
    let bad = |m: String| CoreError::invalid("bad_subscription", m);
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(bad("name: give the subscription a name of 1 to 200 characters".into()));
    }
    let mut scope = SubscriptionScope {
        provinces: request.provinces,
        communes: request.communes,
        station_kinds: request.station_kinds,
        parameters: request.parameters,
        states: request.states,
    };
    if scope.states.is_empty() {
        return Err(bad("states: name at least one of ok, watch, alarm, silent".into()));
    }
    scope.states.sort();
    scope.states.dedup();
    for p in &scope.provinces {
        index.known_province(p, None)?;
    }
    if !actor.provinces.is_empty() {
        if let Some(outside) = scope.provinces.iter().find(|p| !actor.provinces.contains(p)) {
            return Err(CoreError::new(
                ErrorKind::Forbidden,
                "outside_provinces",
                format!(
                    "province {outside} is outside this token's provinces ({})",
                    actor.provinces.join(", ")
                ),
            ));
        }
        if scope.provinces.is_empty() {
            scope.provinces.clone_from(&actor.provinces);
        }
    }
    for c in &scope.communes {
        let commune = index
            .get(c, None)
            .ok_or_else(|| bad(format!("communes: no commune has the code '{}'", echo(c, 20))))?;
        actor.may_act_in(commune)?;
    }
    if !scope.station_kinds.is_empty() {
        // The store's list, so that a kind a province added is heard too.
        let kinds: Vec<String> = store
            .codes()
            .await?
            .into_iter()
            .filter(|c| c.list == "station_kind" && !c.retired)
            .map(|c| c.code)
            .collect();
        if let Some(k) = scope.station_kinds.iter().find(|k| !kinds.contains(k)) {
            return Err(bad(format!(
                "station_kinds: unknown kind '{}'; kinds: {}",
                echo(k, 40),
                kinds.join(", ")
            )));
        }
    }
    if let Some(p) = scope
        .parameters
        .iter()
        .find(|p| !PARAMETERS.iter().any(|known| known.name == p.as_str()))
    {
        let known: Vec<&str> = PARAMETERS.iter().map(|p| p.name).collect();
        return Err(bad(format!(
            "parameters: unknown parameter '{}'; parameters: {}",
            echo(p, 40),
            known.join(", ")
        )));
    }
    let url = request.url.trim().to_owned();
    let host_check = {
        let url = url.clone();
        tokio::task::spawn_blocking(move || check_target(&url, allow_private))
            .await
            .map_err(|e| CoreError::internal("task", e.to_string()))?
    };
    host_check?;
    let secret = crate::tokens::new_token().map_err(|e| CoreError::internal("randomness", e.to_string()))?;
    let subscription = store
        .add_subscription(&NewSubscription {
            name: name.to_owned(),
            scope,
            url,
            secret: secret.clone(),
            owner_provinces: actor.provinces.clone(),
            created_by: actor.id.clone(),
        })
        .await?;
    Ok(Made { subscription, secret })
}

/// Whether `actor` may see and end `subscription`: an admin, or an editor
/// whose provinces include all of the subscription's.
fn may_manage(actor: &Actor, subscription: &Subscription) -> bool {
    actor.role >= Role::Admin
        || actor.provinces.is_empty()
        || (!subscription.owner_provinces.is_empty()
            && subscription.owner_provinces.iter().all(|p| actor.provinces.contains(p)))
}

/// The subscriptions in force that `actor` may see.
///
/// # Errors
/// The store's.
pub async fn list(store: &dyn Store, actor: &Actor) -> Result<Vec<Subscription>, CoreError> {
    Ok(store
        .subscriptions()
        .await?
        .into_iter()
        .filter(|s| may_manage(actor, s))
        .collect())
}

/// Ends subscription `id`.
///
/// # Errors
/// `unknown_subscription` (also for one the actor may not see).
pub async fn end(store: &dyn Store, actor: &Actor, id: i64) -> Result<(), CoreError> {
    let unknown = || CoreError::not_found("unknown_subscription", format!("no subscription {id} is in force"));
    let found = store
        .subscriptions()
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(unknown)?;
    if !may_manage(actor, &found) {
        return Err(unknown());
    }
    if store.end_subscription(id, UtcTime::now()).await? {
        Ok(())
    } else {
        Err(unknown())
    }
}

/// Deliveries given up on, oldest first.
///
/// # Errors
/// The store's.
pub async fn dead_letters(store: &dyn Store) -> Result<Vec<Delivery>, CoreError> {
    Ok(store.deliveries(None, Some(DeliveryStatus::Dead), 10_000).await?)
}

/// Puts dead deliveries (these, or all) back in the queue; how many.
///
/// # Errors
/// The store's.
pub async fn replay(store: &dyn Store, ids: Option<&[i64]>) -> Result<u64, CoreError> {
    Ok(store.replay_dead(ids, UtcTime::now()).await?)
}
