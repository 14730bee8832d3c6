//! The outbox on both backends: subscriptions named once; messages written with the request
//! change that causes them (and not when it is refused), once per receiver, never twice;
//! hotline callbacks queue the timeline; claims are exclusive; attempts are recorded;
//! delivered messages are deleted after their retention, the others kept.

use chrono::Duration;
use mulin_domain::ids::{NotificationId, UserId};
use mulin_domain::request::{EventKind, RequestStatus};
use mulin_domain::tree::NodeKind;
use mulin_storage::{
    DeliveryOutcome, DeliveryState, HotlineCallbackRecord, Intake, NotificationRecord,
    RequestEvent, StoreError, WebhookRecord,
};
use mulin_storage_tests::test_now;

use crate::loaded;
use crate::requests::{received, request};

fn webhook(district: mulin_domain::ids::DistrictId, name: &str) -> WebhookRecord {
    WebhookRecord {
        district,
        id: uuid::Uuid::now_v7(),
        name: name.into(),
        url: format!("http://127.0.0.1:9/{name}"),
        secret: format!("secret-of-{name}"),
        created_at: test_now(),
    }
}

fn note(request: &mulin_storage::RequestRecord, kind: &str) -> NotificationRecord {
    NotificationRecord {
        id: NotificationId::new_v7(),
        district: request.district,
        user: UserId::new_v7(),
        at: request.received_at,
        kind: kind.into(),
        request: request.id,
        text: request.title.clone(),
        read: false,
    }
}

#[tokio::test]
async fn notifications_reach_the_outbox_with_their_change_once_per_subscription() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .unwrap()
        .path;
    let district = grid.district().into();
    let first = webhook(district, "first");
    store.insert_webhook(&first).await.unwrap();
    store
        .insert_webhook(&webhook(district, "second"))
        .await
        .unwrap();
    assert!(matches!(
        store.insert_webhook(&webhook(district, "first")).await,
        Err(StoreError::Conflict(_))
    ));
    let names: Vec<String> = store
        .webhooks(district)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, ["first", "second"]);

    let now = test_now();
    let record = request(grid, now);
    let dispatched = note(&record, "dispatched");
    store
        .insert_request(&record, &[received(now)], std::slice::from_ref(&dispatched))
        .await
        .unwrap();
    let queued = store.deliveries(district, record.id).await.unwrap();
    assert_eq!(queued.len(), 2, "one message per subscription");
    let mine = queued
        .iter()
        .find(|m| m.subscription == Some(first.id))
        .unwrap();
    assert_eq!(mine.id, format!("{}:{}", first.id, dispatched.id));
    assert_eq!(mine.url, first.url);
    assert_eq!(mine.secret.as_deref(), Some(first.secret.as_str()));
    assert_eq!(
        (mine.kind.as_str(), mine.status.as_str()),
        ("dispatched", "dispatched")
    );
    assert_eq!(mine.user, Some(dispatched.user));
    assert_eq!(mine.state, DeliveryState::Pending);

    // A refused change (stale seq) queues nothing.
    let mut next = record.clone();
    next.seq = 2;
    let mut stale = record.clone();
    stale.seq = 7;
    let refused = store
        .update_request(&stale, &next, &[], &[note(&next, "escalated")])
        .await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))));
    assert_eq!(
        store.deliveries(district, record.id).await.unwrap().len(),
        2
    );

    // Claims are exclusive until the lease runs out.
    let lease = now + Duration::minutes(5);
    let claimed = store.claim_deliveries(now, lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert!(store
        .claim_deliveries(now, lease, 10)
        .await
        .unwrap()
        .is_empty());
    let retry_at = now + Duration::seconds(10);
    store
        .record_delivery(
            district,
            &mine.id,
            &DeliveryOutcome::Retry(retry_at, "HTTP 500".into()),
        )
        .await
        .unwrap();
    let other = claimed.iter().find(|m| m.id != mine.id).unwrap();
    store
        .record_delivery(district, &other.id, &DeliveryOutcome::Delivered(now))
        .await
        .unwrap();
    let again = store.claim_deliveries(retry_at, lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, mine.id);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("HTTP 500"));
    store
        .record_delivery(district, &mine.id, &DeliveryOutcome::Failed("gone".into()))
        .await
        .unwrap();
    let states: Vec<DeliveryState> = store
        .deliveries(district, record.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.state)
        .collect();
    assert!(states.contains(&DeliveryState::Delivered) && states.contains(&DeliveryState::Failed));

    // Delivered messages go once their retention has passed, lease included; a failed one
    // stays as the record of what never arrived.
    assert_eq!(store.delete_delivered(now, 100).await.unwrap(), 0);
    assert_eq!(store.delete_delivered(lease, 100).await.unwrap(), 0);
    let after = lease + Duration::seconds(1);
    assert_eq!(store.delete_delivered(after, 100).await.unwrap(), 1);
    assert_eq!(store.delete_delivered(after, 100).await.unwrap(), 0);
    let left = store.deliveries(district, record.id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, DeliveryState::Failed);
    assert!(matches!(
        store
            .record_delivery(district, "nothing", &DeliveryOutcome::Delivered(now))
            .await,
        Err(StoreError::NotFound)
    ));

    // Removing a subscription drops its undelivered messages; new notifications go to the rest.
    store.delete_webhook(district, "first").await.unwrap();
    assert!(matches!(
        store.delete_webhook(district, "first").await,
        Err(StoreError::NotFound)
    ));
    let later = request(grid, now);
    store
        .insert_request(&later, &[received(now)], &[note(&later, "dispatched")])
        .await
        .unwrap();
    assert_eq!(store.deliveries(district, later.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_hotline_callback_queues_the_timeline_so_far_and_every_change_after() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let grid = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Grid)
        .unwrap()
        .path;
    let district = grid.district().into();
    let now = test_now();
    let mut record = request(grid, now);
    record.external_ref = Some("12345-0001".into());
    record.seq = 2;
    let dispatched = RequestEvent {
        seq: 2,
        kind: EventKind::Dispatched,
        data: vec![],
        ..received(now)
    };
    let events = [received(now), dispatched];
    let callback = HotlineCallbackRecord {
        district,
        request: record.id,
        url: "http://127.0.0.1:9/hotline".into(),
        secret: Some("hotline-secret-0123".into()),
    };
    // A callback of another request is refused, and the intake with it: nothing lands.
    let stray = HotlineCallbackRecord {
        request: mulin_domain::ids::RequestId::new_v7(),
        ..callback.clone()
    };
    let intake = Intake {
        request: &record,
        events: &events,
        notifications: &[],
        audit: None,
        callback: Some(&stray),
    };
    assert!(matches!(
        store.insert_intake(&intake).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store.request(district, record.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .insert_intake(&Intake {
            callback: Some(&callback),
            ..intake
        })
        .await
        .unwrap();
    let queued = store.deliveries(district, record.id).await.unwrap();
    assert_eq!(queued.len(), 1, "the intake itself is not pushed back");
    assert_eq!(queued[0].id, format!("hotline:{}:0000000002", record.id));
    assert_eq!(queued[0].kind, "dispatched");
    assert_eq!(queued[0].external_ref.as_deref(), Some("12345-0001"));
    assert_eq!(queued[0].secret.as_deref(), Some("hotline-secret-0123"));
    assert_eq!(queued[0].subscription, None);

    let mut solved = record.clone();
    solved.state.status = RequestStatus::Solved;
    solved.seq = 3;
    let event = RequestEvent {
        seq: 3,
        kind: EventKind::Solved,
        note: "已清理完毕".into(),
        data: vec![("status".into(), "solved".into())],
        ..received(now + Duration::minutes(20))
    };
    let stored = store.request(record.district, record.id).await.unwrap();
    assert_eq!(stored.seq, 2);
    store
        .update_request(&stored, &solved, std::slice::from_ref(&event), &[])
        .await
        .unwrap();
    let queued = store.deliveries(district, record.id).await.unwrap();
    assert_eq!(queued.len(), 2);
    assert_eq!(
        (
            queued[1].kind.as_str(),
            queued[1].status.as_str(),
            queued[1].body.as_str()
        ),
        ("solved", "solved", "已清理完毕")
    );
}
