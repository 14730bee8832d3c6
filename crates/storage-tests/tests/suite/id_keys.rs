//! ID numbers at rest: sealed in the raw rows, found by keyed hash, plaintext from before
//! migration 0012 sealed on open, and key rotation (`IdKeyStore`).

use mulin_storage::{ResidentRecord, StoreError};
use mulin_storage_tests::{test_id_keys, TestDb};
use sqlx::{AnyPool, Row};

use super::{loaded, query};

async fn raw_pool(db: &TestDb) -> AnyPool {
    mulin_storage_sql::install_drivers();
    AnyPool::connect(db.url()).await.unwrap()
}

/// Every text column of a resident's raw row that could carry the number.
async fn raw_columns(pool: &AnyPool, resident: &ResidentRecord) -> Vec<Option<String>> {
    let row = sqlx::query(
        "SELECT id_number, id_rev, id_key, id_sealed, id_hash, id_tail4, id_tail6, search_text, \
         extra FROM residents WHERE district_id = $1 AND id = $2",
    )
    .bind(resident.household.district().to_string())
    .bind(resident.id.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    (0..9)
        .map(|idx| row.get::<Option<String>, _>(idx))
        .collect()
}

fn number(resident: &ResidentRecord) -> &str {
    resident.id_number.as_ref().unwrap().expose()
}

#[tokio::test]
async fn raw_rows_hold_no_id_number_yet_search_finds_it_by_number_and_tails() {
    let (db, demo) = loaded().await;
    let store = db.store();
    let pool = raw_pool(&db).await;
    let district = demo.dataset.nodes[0].path;
    for sample in demo.dataset.residents.iter().step_by(97) {
        let columns = raw_columns(&pool, sample).await;
        assert!(columns[0].is_none() && columns[1].is_none());
        assert!(columns[3].is_some(), "no sealed value");
        for column in columns.iter().flatten() {
            assert!(!column.contains(number(sample)), "plaintext in {column}");
        }
        let full = number(sample);
        for q in [full, &full[14..], &full[12..], &full.to_lowercase()] {
            let found = store
                .search_residents(district.id().into(), &[district], &query(q))
                .await
                .unwrap();
            assert!(found.items.iter().any(|r| r.id == sample.id), "{q}");
            assert!(found
                .items
                .iter()
                .all(|r| number(r).ends_with(&q.to_uppercase())));
        }
    }
}

#[tokio::test]
async fn plaintext_from_an_older_version_is_sealed_when_the_store_opens() {
    let (db, demo) = loaded().await;
    let pool = raw_pool(&db).await;
    let sample = &demo.dataset.residents[3];
    // What a database migrated from before 0012 holds: the number in the clear.
    sqlx::query(
        "UPDATE residents SET id_number = $1, id_rev = $2, id_key = NULL, id_sealed = NULL, \
         id_hash = NULL, id_tail4 = NULL, id_tail6 = NULL WHERE id = $3",
    )
    .bind(number(sample))
    .bind(number(sample).chars().rev().collect::<String>())
    .bind(sample.id.to_string())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM meta WHERE key = 'id_plaintext_sealed'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = db.reopen(test_id_keys(&[1])).await.unwrap();
    let pool = raw_pool(&db).await;
    let columns = raw_columns(&pool, sample).await;
    assert!(columns[0].is_none() && columns[1].is_none());
    assert!(columns
        .iter()
        .flatten()
        .all(|c| !c.contains(number(sample))));
    let district = sample.household.district();
    assert_eq!(
        &store.resident(district.into(), sample.id).await.unwrap(),
        sample
    );
    let root = demo.dataset.nodes[0].path;
    let found = store
        .search_residents(district.into(), &[root], &query(number(sample)))
        .await
        .unwrap();
    assert_eq!(found.items.len(), 1);
}

#[tokio::test]
async fn rotation_reseals_everything_so_only_the_new_key_is_needed() {
    let (db, demo) = loaded().await;
    let sample = &demo.dataset.residents[11];
    let district = sample.household.district().into();

    let rotating = db.reopen(test_id_keys(&[1, 2])).await.unwrap();
    assert_eq!(rotating.id_keys_in_use().await.unwrap().len(), 2);
    let n_sealed = demo
        .dataset
        .residents
        .iter()
        .filter(|r| r.id_number.is_some())
        .count();
    assert_eq!(
        rotating.reseal_id_numbers(50).await.unwrap(),
        n_sealed as u64
    );
    assert_eq!(
        rotating.id_keys_in_use().await.unwrap(),
        [test_id_keys(&[2]).sealing_key_id()]
    );
    // A second pass finds nothing left to do.
    assert_eq!(rotating.reseal_id_numbers(50).await.unwrap(), 0);

    let rotated = db.reopen(test_id_keys(&[2])).await.unwrap();
    assert_eq!(
        &rotated.resident(district, sample.id).await.unwrap(),
        sample
    );
    let root = demo.dataset.nodes[0].path;
    let tail = &number(sample)[12..];
    let found = rotated
        .search_residents(district, &[root], &query(tail))
        .await
        .unwrap();
    assert!(found.items.iter().any(|r| r.id == sample.id));

    // The retired key alone can no longer open the database.
    assert!(matches!(
        db.reopen(test_id_keys(&[1])).await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_keyring_with_another_lookup_key_is_refused() {
    let (db, _demo) = loaded().await;
    let other_lookup = mulin_storage_sql::IdKeys::new(
        &[mulin_storage_sql::IdKey::from_hex(&"01".repeat(32)).unwrap()],
        &mulin_storage_sql::IdKey::from_hex(&"dd".repeat(32)).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        db.reopen(other_lookup).await,
        Err(StoreError::Unavailable(_))
    ));
}
