//! Key rotation for ID numbers at rest. The keys themselves are the backend's business
//! (given when it opens); callers only ask for values to be re-sealed.

use async_trait::async_trait;

use crate::StoreResult;

/// Re-sealing ID numbers under the keyring's current key.
#[async_trait]
pub trait IdKeyStore {
    /// Re-seals every ID number not sealed under the current key, in every district,
    /// `batch_size` residents per transaction (a crash leaves every value readable with the
    /// old keyring plus the new key). Returns how many values were re-sealed. Afterwards
    /// the database needs only the current key.
    async fn reseal_id_numbers(&self, batch_size: u32) -> StoreResult<u64>;

    /// The ids of the sealing keys the database may still hold values under.
    async fn id_keys_in_use(&self) -> StoreResult<Vec<String>>;
}
