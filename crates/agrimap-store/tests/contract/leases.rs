//! Contract case of the leases ([`agrimap_store::OverviewStore::take_lease`]):
//! one holder at a time, until the lease runs out or its holder ends it.

use agrimap_model::UtcTime;
use agrimap_store::Store;

pub async fn a_lease_is_held_by_one_holder_until_it_runs_out_or_ends(store: &dyn Store) {
    let t0 = UtcTime::parse("2026-12-07T06:00:00Z").expect("time");
    let at = |seconds: i64| UtcTime::from_unix(t0.unix() + seconds).expect("time");
    let take = |holder: &'static str, now: i64, until: i64| store.take_lease("keep_ahead", holder, at(now), at(until));

    assert!(take("a", 0, 60).await.expect("lease"), "a free lease is taken");
    assert!(!take("b", 10, 70).await.expect("lease"), "held by a");
    assert!(take("a", 30, 90).await.expect("lease"), "its holder renews it");
    assert!(!take("b", 89, 149).await.expect("lease"), "renewed until 90");
    assert!(
        store
            .take_lease("other_job", "b", at(89), at(149))
            .await
            .expect("lease"),
        "leases of other names are their own"
    );
    assert!(take("b", 90, 150).await.expect("lease"), "run out: b takes it up");

    store.end_lease("keep_ahead", "a").await.expect("end");
    assert!(
        !take("a", 100, 160).await.expect("lease"),
        "only its holder ends a lease"
    );
    store.end_lease("keep_ahead", "b").await.expect("end");
    assert!(take("a", 100, 160).await.expect("lease"), "ended: free again");
}
