//! `LedgerStore`: residents by ID number, and an import written all or nothing, keyed by
//! (district, ID number).

use mulin_domain::ids::{NodeId, ResidentId};
use mulin_domain::person::{id_check_char, IdNumber, Phone};
use mulin_domain::tree::NodeKind;
use mulin_storage::{AuditEntry, ImportBatch, NodeRecord, ResidentRecord};
use mulin_storage_tests::audit_page;
use mulin_storage_tests::test_now;

use super::loaded;

fn audit(district: mulin_domain::ids::DistrictId) -> AuditEntry {
    AuditEntry {
        id: uuid::Uuid::now_v7(),
        district,
        at: test_now(),
        user_id: None,
        username: "importer".into(),
        action: "resident.import".into(),
        target_kind: "node".into(),
        target_id: String::new(),
        ip: None,
        detail: String::new(),
    }
}

#[tokio::test]
async fn imports_upsert_by_id_number_and_fail_whole() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let district_node = demo.dataset.nodes[0].path;
    let district = district_node.id().into();
    let existing = demo.dataset.residents[0].clone();
    let number = existing.id_number.clone().unwrap();

    // Found by number; unknown numbers are skipped.
    let first17 = "14021219560314231";
    let fresh = IdNumber::parse(&format!("{first17}{}", id_check_char(first17).unwrap())).unwrap();
    let found = store
        .residents_by_id_numbers(district, &[number.clone(), fresh.clone()])
        .await
        .unwrap();
    assert_eq!(found, vec![existing.clone()]);

    // A new household in an existing entrance, a new resident in it, and an update of the
    // existing resident under a new id: the stored id is kept.
    let entrance = demo
        .dataset
        .nodes
        .iter()
        .find(|n| n.path.kind() == NodeKind::Entrance)
        .unwrap();
    let household = NodeRecord {
        path: entrance
            .path
            .child(NodeKind::Household, NodeId::new_v7())
            .unwrap(),
        name: "9901室".into(),
        code: None,
        sort_key: 9901,
        position: None,
        geometry: None,
        address: Some("新地址9901室".into()),
        extra: Vec::new(),
    };
    let newcomer = ResidentRecord {
        id: ResidentId::new_v7(),
        household: household.path,
        address: "新地址9901室".into(),
        id_number: Some(fresh.clone()),
        ..existing.clone()
    };
    let mut changed = existing.clone();
    changed.id = ResidentId::new_v7();
    changed.phone = Some(Phone::parse("13900001111").unwrap());
    let batch = ImportBatch {
        district,
        nodes: vec![household.clone()],
        residents: vec![newcomer.clone(), changed.clone()],
        audit: audit(district),
    };
    let reported = std::sync::Mutex::new(Vec::new());
    store
        .apply_import(&batch, &|n_written| {
            reported.lock().unwrap().push(n_written)
        })
        .await
        .unwrap();
    assert_eq!(
        reported.into_inner().unwrap().last(),
        Some(&2),
        "progress ends at every resident written"
    );
    let after = store.resident(district, existing.id).await.unwrap();
    assert_eq!(after.phone, changed.phone, "updated in place, id kept");
    assert_eq!(
        store.resident(district, newcomer.id).await.unwrap(),
        newcomer
    );
    assert_eq!(
        store.node(district, household.path.id()).await.unwrap(),
        household
    );
    let n_audit = |entries: Vec<AuditEntry>| {
        entries
            .iter()
            .filter(|e| e.action == "resident.import")
            .count()
    };
    assert_eq!(
        n_audit(audit_page(&*store, district, 1, 50).await.unwrap().items),
        1
    );

    // A batch that fails half-way (a resident in a household that does not exist) leaves
    // nothing behind: not its node, not its first resident, not its audit record.
    let second17 = "14021219800101123";
    let other =
        IdNumber::parse(&format!("{second17}{}", id_check_char(second17).unwrap())).unwrap();
    let orphan_home = entrance
        .path
        .child(NodeKind::Household, NodeId::new_v7())
        .unwrap();
    let another_home = NodeRecord {
        path: entrance
            .path
            .child(NodeKind::Household, NodeId::new_v7())
            .unwrap(),
        ..household.clone()
    };
    let good = ResidentRecord {
        id: ResidentId::new_v7(),
        household: another_home.path,
        id_number: Some(other.clone()),
        ..newcomer.clone()
    };
    let third17 = "14021219800101131";
    let orphan = ResidentRecord {
        id: ResidentId::new_v7(),
        household: orphan_home,
        id_number: Some(
            IdNumber::parse(&format!("{third17}{}", id_check_char(third17).unwrap())).unwrap(),
        ),
        ..newcomer.clone()
    };
    let failing = ImportBatch {
        district,
        nodes: vec![another_home.clone()],
        residents: vec![good.clone(), orphan],
        audit: audit(district),
    };
    assert!(store.apply_import(&failing, &|_| {}).await.is_err());
    assert!(store
        .residents_by_id_numbers(district, &[other])
        .await
        .unwrap()
        .is_empty());
    assert!(store.node(district, another_home.path.id()).await.is_err());
    assert_eq!(
        n_audit(audit_page(&*store, district, 1, 50).await.unwrap().items),
        1
    );
}
