//! `FloatingImportStore`: many residents' histories and records at once, and a
//! floating-ledger import (residents and their moves) written all or nothing.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use mulin_domain::ids::{ResidentId, UserId};
use mulin_domain::movement::Direction;
use mulin_domain::person::{id_check_char, IdNumber, PersonName, ResidenceStatus};
use mulin_storage::{AuditEntry, ImportBatch, MovementRecord, ResidentRecord, StoreError};
use mulin_storage_tests::test_now;

use super::loaded;

fn day(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, m, d).unwrap()
}

fn move_of(
    resident: &ResidentRecord,
    seq: i64,
    direction: Direction,
    on: NaiveDate,
) -> MovementRecord {
    MovementRecord {
        id: uuid::Uuid::now_v7(),
        district: resident.household.district().into(),
        resident: resident.id,
        resident_name: resident.name.as_ref().to_owned(),
        seq,
        household: resident.household,
        direction,
        on,
        reason: "务工".into(),
        recorded_by: UserId::new_v7(),
        recorded_at: test_now(),
    }
}

fn batch(resident: &ResidentRecord) -> ImportBatch {
    let district = resident.household.district().into();
    ImportBatch {
        district,
        nodes: Vec::new(),
        residents: vec![resident.clone()],
        audit: AuditEntry {
            id: uuid::Uuid::now_v7(),
            district,
            at: test_now(),
            user_id: None,
            username: "importer".into(),
            action: "floating.import".into(),
            target_kind: "node".into(),
            target_id: String::new(),
            ip: None,
            detail: String::new(),
        },
    }
}

/// A resident new to the district, living where `beside` lives.
fn newcomer(beside: &ResidentRecord, first17: &str, name: &str) -> ResidentRecord {
    let number = format!("{first17}{}", id_check_char(first17).unwrap());
    ResidentRecord {
        id: ResidentId::new_v7(),
        name: PersonName::parse(name).unwrap(),
        id_number: Some(IdNumber::parse(&number).unwrap()),
        status: ResidenceStatus::Floating,
        extra: vec![("居住证号".into(), "JZ1".into())],
        ..beside.clone()
    }
}

#[tokio::test]
async fn a_floating_import_writes_residents_and_moves_together_or_not_at_all() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let existing = demo.dataset.residents[0].clone();
    let district = existing.household.district().into();
    let first = newcomer(&existing, "41052219950612301", "刘来");
    let moves = [
        move_of(&first, 1, Direction::In, day(3, 1)),
        move_of(&first, 2, Direction::Out, day(6, 30)),
        move_of(&existing, 1, Direction::In, day(1, 5)),
    ];
    let written = AtomicUsize::new(0);
    store
        .apply_floating_import(&batch(&first), &moves, &|n| {
            written.store(n, Ordering::SeqCst)
        })
        .await
        .unwrap();
    assert_eq!(written.load(Ordering::SeqCst), 1, "residents written");
    let found = store
        .movements_of(district, &[existing.id, first.id, ResidentId::new_v7()])
        .await
        .unwrap();
    let mut expected: Vec<(ResidentId, i64)> = vec![(first.id, 1), (first.id, 2), (existing.id, 1)];
    expected.sort();
    assert_eq!(
        found
            .iter()
            .map(|m| (m.resident, m.seq))
            .collect::<Vec<_>>(),
        expected,
        "by resident, then oldest first"
    );
    assert_eq!(
        store.resident(district, first.id).await.unwrap().extra,
        first.extra
    );

    // A move whose place in the history is taken: nothing of the import lands.
    let second = newcomer(&existing, "41052219880203402", "陈走");
    let clash = [
        move_of(&second, 1, Direction::In, day(4, 1)),
        move_of(&existing, 1, Direction::Out, day(5, 1)),
    ];
    let err = store
        .apply_floating_import(&batch(&second), &clash, &|_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(matches!(
        store.resident(district, second.id).await,
        Err(StoreError::NotFound)
    ));
    assert!(store
        .movements_of(district, &[second.id])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn residents_are_read_by_ids_in_chunks_and_unknown_ids_are_absent() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let residents = &demo.dataset.residents;
    // More ids than one statement asks for, so the chunks join up.
    assert!(residents.len() > 900, "{}", residents.len());
    let district = residents[0].household.district().into();
    let mut ids: Vec<ResidentId> = residents.iter().take(900).map(|r| r.id).collect();
    ids.push(ResidentId::new_v7());
    let found = store.residents_by_ids(district, &ids).await.unwrap();
    assert_eq!(found.len(), 900);
    let found_ids: HashSet<ResidentId> = found.iter().map(|r| r.id).collect();
    assert_eq!(found_ids, ids[..900].iter().copied().collect());
    let one = found.iter().find(|r| r.id == residents[0].id).unwrap();
    assert_eq!(
        one,
        &store.resident(district, residents[0].id).await.unwrap()
    );
    assert!(store
        .residents_by_ids(district, &[])
        .await
        .unwrap()
        .is_empty());
}
