//! `AuditStore`: the audit log filtered and scoped.

use chrono::Duration;
use mulin_domain::policy::Role;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{AuditEntry, AuditQuery, UserRecord};
use mulin_storage_tests::test_now;

use super::loaded;

fn entry(user: &UserRecord, action: &str, minutes: i64) -> AuditEntry {
    AuditEntry {
        id: uuid::Uuid::now_v7(),
        district: user.district,
        at: test_now() + Duration::minutes(minutes),
        user_id: Some(user.id),
        username: user.username.clone(),
        action: action.into(),
        target_kind: "resident".into(),
        target_id: format!("{action}-{minutes}"),
        ip: None,
        detail: String::new(),
    }
}

#[tokio::test]
async fn audit_entries_are_filtered_and_narrowed_to_the_accounts_of_a_scope() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let account = |role: Role| {
        demo.dataset
            .users
            .iter()
            .find(|(_, grants)| grants.iter().any(|(r, _)| *r == role))
            .map(|(user, _)| user.clone())
            .unwrap()
    };
    let (admin, worker) = (account(Role::Admin), account(Role::GridWorker));
    let district = admin.district;
    for e in [
        entry(&admin, "user.create", 1),
        entry(&worker, "resident.reveal", 2),
        entry(&worker, "resident.export.reveal", 3),
        entry(&worker, "resident.import", 4),
    ] {
        store.append_audit(&e).await.unwrap();
    }
    let root = NodePath::root(district.into());
    let street = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Street)
        .unwrap()
        .path;
    let other_street = root
        .child(NodeKind::Street, mulin_domain::ids::NodeId::new_v7())
        .unwrap();
    let search = |scopes: Vec<NodePath>, query: AuditQuery| {
        let store = store.clone();
        async move {
            let query = AuditQuery {
                per_page: 50,
                ..query
            };
            store
                .search_audit(district, &scopes, &query)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|e| e.target_id)
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(
        search(vec![root], AuditQuery::default()).await,
        [
            "resident.import-4",
            "resident.export.reveal-3",
            "resident.reveal-2",
            "user.create-1"
        ]
    );
    assert_eq!(
        search(vec![street], AuditQuery::default()).await,
        [
            "resident.import-4",
            "resident.export.reveal-3",
            "resident.reveal-2"
        ]
    );
    assert!(search(vec![other_street], AuditQuery::default())
        .await
        .is_empty());
    assert!(search(Vec::new(), AuditQuery::default()).await.is_empty());

    let personal = AuditQuery {
        personal_data_reads: true,
        ..AuditQuery::default()
    };
    assert_eq!(
        search(vec![root], personal).await,
        ["resident.export.reveal-3", "resident.reveal-2"]
    );
    let narrow = AuditQuery {
        actor: Some(worker.username.clone()),
        action: Some("resident.reveal".into()),
        from: Some(test_now() + Duration::minutes(2)),
        until: Some(test_now() + Duration::minutes(3)),
        ..AuditQuery::default()
    };
    assert_eq!(search(vec![root], narrow).await, ["resident.reveal-2"]);
    let target = AuditQuery {
        target: Some("user.create-1".into()),
        ..AuditQuery::default()
    };
    assert_eq!(search(vec![root], target).await, ["user.create-1"]);
}
