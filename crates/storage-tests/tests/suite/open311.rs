//! The Open311 store on both backends: keys by hash, unique names, revocation; the public
//! request query's filters, order and limit; the latest public status note.

use chrono::Duration;
use mulin_domain::ids::RequestId;
use mulin_domain::request::{EventKind, RequestStatus};
use mulin_domain::tree::NodeKind;
use mulin_storage::{Open311KeyRecord, Open311Query, RequestEvent, StoreError};
use mulin_storage_tests::test_now;

use crate::loaded;
use crate::requests::{received, request};

fn key(district: mulin_domain::ids::DistrictId, name: &str, hash: &str) -> Open311KeyRecord {
    Open311KeyRecord {
        district,
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        key_hash: hash.into(),
        created_at: test_now(),
        revoked_at: None,
    }
}

#[tokio::test]
async fn keys_are_found_by_hash_named_once_and_revoked() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district = demo.dataset.nodes[0].path.id().into();
    let app = key(district, "city-app", &"a".repeat(64));
    store.insert_open311_key(&app).await.unwrap();
    store
        .insert_open311_key(&key(district, "wechat", &"b".repeat(64)))
        .await
        .unwrap();
    assert_eq!(
        store.open311_key_by_hash(&"a".repeat(64)).await.unwrap(),
        app
    );
    assert!(matches!(
        store.open311_key_by_hash(&"c".repeat(64)).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .insert_open311_key(&key(district, "city-app", &"d".repeat(64)))
            .await,
        Err(StoreError::Conflict(_))
    ));
    let names: Vec<String> = store
        .open311_keys(district)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert_eq!(names, ["city-app", "wechat"]);

    let at = test_now() + Duration::hours(1);
    store
        .revoke_open311_key(district, "city-app", at)
        .await
        .unwrap();
    // Revoking again keeps the first time.
    store
        .revoke_open311_key(district, "city-app", at + Duration::hours(1))
        .await
        .unwrap();
    let revoked = store.open311_key_by_hash(&"a".repeat(64)).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(at));
    assert!(matches!(
        store.revoke_open311_key(district, "nobody", at).await,
        Err(StoreError::NotFound)
    ));
}

#[tokio::test]
async fn the_public_query_filters_orders_and_limits() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let building = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Building)
        .unwrap()
        .path;
    let district = building.district().into();
    let mut ids: Vec<RequestId> = Vec::new();
    for (n, (code, status)) in [
        ("sanitation", RequestStatus::Dispatched),
        ("noise", RequestStatus::Solved),
        ("noise", RequestStatus::OnSite),
        ("sanitation", RequestStatus::Closed),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = request(building, test_now() + Duration::hours(n as i64));
        r.service_code = code.into();
        r.state.status = status;
        let mut events = vec![received(r.received_at)];
        if !status.is_open() {
            r.seq = 3;
            for (seq, note) in [(2, "已清运"), (3, "已复核")] {
                events.push(RequestEvent {
                    seq,
                    at: r.received_at,
                    kind: EventKind::Solved,
                    actor: None,
                    actor_name: "王网格员".into(),
                    note: note.into(),
                    data: Vec::new(),
                });
            }
        }
        store.insert_request(&r, &events, &[]).await.unwrap();
        ids.push(r.id);
    }
    let found = |query: Open311Query| {
        let store = store.clone();
        async move {
            store
                .open311_requests(district, &query)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let all = Open311Query {
        limit: 1000,
        ..Open311Query::default()
    };
    // Newest first.
    assert_eq!(found(all.clone()).await, [ids[3], ids[2], ids[1], ids[0]]);
    assert_eq!(
        found(Open311Query {
            service_codes: vec!["noise".into()],
            ..all.clone()
        })
        .await,
        [ids[2], ids[1]]
    );
    assert_eq!(
        found(Open311Query {
            open: Some(true),
            ..all.clone()
        })
        .await,
        [ids[2], ids[0]]
    );
    assert_eq!(
        found(Open311Query {
            open: Some(false),
            service_codes: vec!["sanitation".into()],
            ..all.clone()
        })
        .await,
        [ids[3]]
    );
    assert_eq!(
        found(Open311Query {
            from: Some(test_now() + Duration::hours(1)),
            to: Some(test_now() + Duration::hours(2)),
            ..all.clone()
        })
        .await,
        [ids[2], ids[1]]
    );
    // Ids override the other filters.
    assert_eq!(
        found(Open311Query {
            ids: vec![ids[0], ids[3]],
            open: Some(true),
            ..all.clone()
        })
        .await,
        [ids[3], ids[0]]
    );
    assert_eq!(
        found(Open311Query {
            limit: 2,
            ..all.clone()
        })
        .await,
        [ids[3], ids[2]]
    );
    // Another district sees none of them.
    let other = mulin_domain::ids::DistrictId::new_v7();
    assert!(store
        .open311_requests(other, &all)
        .await
        .unwrap()
        .is_empty());

    // The latest public note of each request that has one.
    let mut notes = store.open311_status_notes(district, &ids).await.unwrap();
    notes.sort();
    let mut expected = vec![(ids[1], "已复核".to_owned()), (ids[3], "已复核".to_owned())];
    expected.sort();
    assert_eq!(notes, expected);
    assert!(store
        .open311_status_notes(district, &[])
        .await
        .unwrap()
        .is_empty());
}
