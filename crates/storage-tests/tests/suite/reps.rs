//! Post ↔ household links: a post's place, and replacing its households with their audit
//! record in one transaction.

use mulin_domain::ids::{NodeId, PostId};
use mulin_domain::org::PostKind;
use mulin_domain::tree::NodeKind;
use mulin_storage::{AuditEntry, Place, StoreError};
use mulin_storage_tests::audit_page;

use crate::loaded;
use mulin_storage_tests::test_now;

fn audit(district: mulin_domain::ids::DistrictId) -> AuditEntry {
    AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: test_now(),
        user_id: None,
        username: "test".into(),
        action: "post.households".into(),
        target_kind: "post".into(),
        target_id: String::new(),
        ip: None,
        detail: String::new(),
    }
}

#[tokio::test]
async fn a_posts_households_are_replaced_with_their_audit() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let root = demo.dataset.nodes[0].path;
    let district = root.id().into();
    let rep = demo
        .dataset
        .posts
        .iter()
        .find(|p| p.kind == PostKind::ResidentRepresentative)
        .unwrap();
    assert_eq!(
        store.post_place(district, rep.id).await.unwrap(),
        (PostKind::ResidentRepresentative, rep.node)
    );
    assert!(matches!(
        store.post_place(district, PostId::new_v7()).await,
        Err(StoreError::NotFound)
    ));

    let households: Vec<NodeId> = demo
        .dataset
        .nodes
        .iter()
        .filter(|n| n.path.kind() == NodeKind::Household)
        .take(2)
        .map(|n| n.path.id())
        .collect();
    store
        .set_post_households(district, rep.id, &households, &audit(district))
        .await
        .unwrap();
    let linked = |posts: Vec<mulin_storage::PostRecord>| {
        let mut h = posts
            .into_iter()
            .find(|p| p.id == rep.id)
            .unwrap()
            .households;
        h.sort();
        h
    };
    let posts = store.posts(district, Place::Within(&root)).await.unwrap();
    assert_eq!(linked(posts), households);

    store
        .set_post_households(district, rep.id, &[], &audit(district))
        .await
        .unwrap();
    let posts = store.posts(district, Place::Within(&root)).await.unwrap();
    assert!(linked(posts).is_empty());
    let log = audit_page(&*store, district, 1, 200).await.unwrap().items;
    assert_eq!(
        log.iter().filter(|e| e.action == "post.households").count(),
        2
    );
}
