//! ID numbers at rest: sealed with AES-256-GCM under a rotatable key, found again through
//! keyed hashes, so the database never holds a number in the clear.
//!
//! Each value records the id of the key that sealed it. A key's id is a fingerprint of the
//! key itself, so a keyring that was lost and regenerated is noticed when the store opens
//! instead of failing row by row. The associated data is the tenant and the resident's id: a
//! ciphertext copied onto another row does not open. Lookups never decrypt: HMAC-SHA256
//! under a second, separate key of the full number and of its last 4 and last 6 characters
//! (the tails search offers), each in its own indexed column. Rotation replaces the sealing
//! key only; the lookup key stays, because re-hashing needs every plaintext at once and the
//! hashes reveal nothing without it.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::Aes256Gcm;
use hmac::{Hmac, Mac};
use mulin_storage::StoreError;
use sha2::{Digest, Sha256};

/// Bytes of an AES-GCM nonce, stored in front of the ciphertext.
const NONCE_LEN: usize = 12;

/// One 256-bit key. Its `Debug` shows the fingerprint only.
#[derive(Clone)]
pub struct IdKey([u8; 32]);

impl IdKey {
    /// A fresh random key from the operating system.
    pub fn generate() -> IdKey {
        IdKey(Aes256Gcm::generate_key(&mut OsRng).into())
    }

    /// A key from its 64 hex digits.
    pub fn from_hex(text: &str) -> Result<IdKey, IdKeyError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| IdKeyError::BadKey)?;
        Ok(IdKey(bytes))
    }

    /// The key as 64 hex digits (for the key file).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The key's id: the first 8 hex digits of a hash of the key, domain-separated so it
    /// says nothing usable about the key.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"mulin id key v1")
            .chain_update(self.0)
            .finalize();
        hex::encode(&digest[..4])
    }
}

impl std::fmt::Debug for IdKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdKey({})", self.fingerprint())
    }
}

/// A keyring that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IdKeyError {
    /// A key is not 64 hex digits.
    #[error("an ID-number key must be 64 hex digits (32 bytes)")]
    BadKey,
    /// No sealing key was given.
    #[error("the keyring holds no sealing key")]
    NoSealingKey,
    /// The lookup key doubles as a sealing key.
    #[error("the lookup key must differ from every sealing key")]
    SharedKey,
}

/// The keys a store seals and finds ID numbers with.
#[derive(Clone)]
pub struct IdKeys {
    /// Every key that may open a stored value, by id; the last one seals.
    /// Invariant: non-empty, and ids are unique.
    sealing: Vec<(String, Aes256Gcm)>,
    lookup: Hmac<Sha256>,
    lookup_id: String,
}

impl std::fmt::Debug for IdKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.sealing.iter().map(|(id, _)| id.as_str()).collect();
        write!(f, "IdKeys(sealing {ids:?}, lookup {})", self.lookup_id)
    }
}

/// The columns that stand for one ID number.
pub(crate) struct SealedId {
    pub(crate) key_id: String,
    pub(crate) sealed: String,
    pub(crate) hash: String,
    pub(crate) tail4: String,
    pub(crate) tail6: String,
}

impl IdKeys {
    /// A keyring: `sealing` oldest first (the last one seals new values, the older ones only
    /// open what they sealed until a rotation has re-sealed it), and the lookup key.
    pub fn new(sealing: &[IdKey], lookup: &IdKey) -> Result<IdKeys, IdKeyError> {
        if sealing.is_empty() {
            return Err(IdKeyError::NoSealingKey);
        }
        if sealing.iter().any(|key| key.0 == lookup.0) {
            return Err(IdKeyError::SharedKey);
        }
        let mut ring: Vec<(String, Aes256Gcm)> = Vec::with_capacity(sealing.len());
        for key in sealing {
            let id = key.fingerprint();
            ring.retain(|(known, _)| *known != id);
            ring.push((id, Aes256Gcm::new(&key.0.into())));
        }
        let lookup_mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&lookup.0).map_err(|_| IdKeyError::BadKey)?;
        Ok(IdKeys {
            sealing: ring,
            lookup: lookup_mac,
            lookup_id: lookup.fingerprint(),
        })
    }

    /// The id of the key new values are sealed with.
    pub fn sealing_key_id(&self) -> &str {
        self.sealing.last().map_or("", |(id, _)| id.as_str())
    }

    /// The fingerprint of the lookup key (kept in the database to notice a replaced key).
    pub(crate) fn lookup_key_id(&self) -> &str {
        &self.lookup_id
    }

    /// Whether a key with this id is in the ring.
    pub(crate) fn knows(&self, key_id: &str) -> bool {
        self.sealing.iter().any(|(id, _)| id == key_id)
    }

    /// Seals `number` for the resident `row` (tenant and resident id) and computes its
    /// lookup hashes.
    pub(crate) fn seal(&self, row: &str, number: &str) -> Result<SealedId, StoreError> {
        let (key_id, cipher) = self
            .sealing
            .last()
            .ok_or_else(|| StoreError::Corrupt("empty keyring".into()))?;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: number.as_bytes(),
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt("ID number could not be sealed".into()))?;
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(SealedId {
            key_id: key_id.clone(),
            sealed: hex::encode(sealed),
            hash: self.full_hash(number),
            tail4: self.tail_hash(number, 4),
            tail6: self.tail_hash(number, 6),
        })
    }

    /// Opens a value sealed for the resident `row`.
    pub(crate) fn open(&self, key_id: &str, sealed: &str, row: &str) -> Result<String, StoreError> {
        let (_, cipher) = self
            .sealing
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or_else(|| StoreError::Corrupt(format!("ID-number key {key_id} is not loaded")))?;
        let bytes = hex::decode(sealed).map_err(|_| StoreError::Corrupt("sealed ID".into()))?;
        if bytes.len() <= NONCE_LEN {
            return Err(StoreError::Corrupt("sealed ID too short".into()));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: row.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Corrupt("sealed ID does not open".into()))?;
        String::from_utf8(plain).map_err(|_| StoreError::Corrupt("sealed ID is not text".into()))
    }

    /// The lookup hash of a whole ID number.
    pub(crate) fn full_hash(&self, number: &str) -> String {
        self.hash("full", number)
    }

    /// The lookup hash of the last `n` characters of `text` (which may be only the tail).
    pub(crate) fn tail_hash(&self, text: &str, n: usize) -> String {
        let tail = text.get(text.len().saturating_sub(n)..).unwrap_or(text);
        self.hash(if n == 4 { "tail4" } else { "tail6" }, tail)
    }

    fn hash(&self, kind: &str, text: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(text.to_ascii_uppercase().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(sealing: &[&IdKey]) -> IdKeys {
        let sealing: Vec<IdKey> = sealing.iter().map(|k| (*k).clone()).collect();
        IdKeys::new(&sealing, &IdKey([7; 32])).unwrap()
    }

    const NUMBER: &str = "11010519491231002X";

    #[test]
    fn a_sealed_number_opens_for_its_row_only() {
        let ring = keys(&[&IdKey([1; 32])]);
        let sealed = ring.seal("d:r1", NUMBER).unwrap();
        assert!(!sealed.sealed.contains("002X") && !sealed.sealed.contains(NUMBER));
        assert_eq!(
            ring.open(&sealed.key_id, &sealed.sealed, "d:r1").unwrap(),
            NUMBER
        );
        assert!(ring.open(&sealed.key_id, &sealed.sealed, "d:r2").is_err());
        // The same number seals differently each time (random nonce), hashes the same.
        let again = ring.seal("d:r1", NUMBER).unwrap();
        assert_ne!(again.sealed, sealed.sealed);
        assert_eq!(again.hash, sealed.hash);
    }

    #[test]
    fn older_keys_open_newer_seal() {
        let (old, new) = (IdKey([1; 32]), IdKey([2; 32]));
        let sealed = keys(&[&old]).seal("r", NUMBER).unwrap();
        let rotated = keys(&[&old, &new]);
        assert_eq!(rotated.sealing_key_id(), new.fingerprint());
        assert_eq!(
            rotated.open(&sealed.key_id, &sealed.sealed, "r").unwrap(),
            NUMBER
        );
        assert_eq!(rotated.seal("r", NUMBER).unwrap().key_id, new.fingerprint());
        assert!(keys(&[&new])
            .open(&sealed.key_id, &sealed.sealed, "r")
            .is_err());
    }

    #[test]
    fn tails_hash_like_the_whole_numbers_tail_in_any_case() {
        let ring = keys(&[&IdKey([1; 32])]);
        let sealed = ring.seal("r", NUMBER).unwrap();
        assert_eq!(ring.tail_hash("002x", 4), sealed.tail4);
        assert_eq!(ring.tail_hash("31002X", 6), sealed.tail6);
        assert_eq!(ring.full_hash(&NUMBER.to_lowercase()), sealed.hash);
        assert_ne!(ring.tail_hash("1002", 4), sealed.tail4);
    }

    #[test]
    fn a_keyring_needs_a_sealing_key_apart_from_the_lookup_key() {
        let lookup = IdKey([7; 32]);
        assert!(matches!(
            IdKeys::new(&[], &lookup),
            Err(IdKeyError::NoSealingKey)
        ));
        assert!(matches!(
            IdKeys::new(std::slice::from_ref(&lookup), &lookup),
            Err(IdKeyError::SharedKey)
        ));
        assert!(IdKey::from_hex("abc").is_err());
        let key = IdKey::generate();
        assert_eq!(IdKey::from_hex(&key.to_hex()).unwrap().0, key.0);
    }
}
