//! The key file that seals ID numbers at rest: generated on first start, rotated by
//! `mulin keys rotate`.
//!
//! It is a small TOML file beside the database (or wherever `--id-keys` / `MULIN_ID_KEYS`
//! / `id_keys` points), written with owner-only permissions. It must be backed up with the
//! database: without it the ID numbers cannot be read or found.

use std::path::Path;

use anyhow::{bail, Context};
use mulin_storage_sql::{IdKey, IdKeys};
use serde::{Deserialize, Serialize};

const HEADER: &str = "# Mulin ID-number keys. Secret: back this file up with the database, \
                      never beside it in the same place.\n\
                      # `sealing`: oldest first; the last seals new values, older ones only read \
                      until `mulin keys rotate` has re-sealed everything.\n\
                      # `lookup`: finds ID numbers by keyed hash; never rotated.\n";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    lookup: String,
    sealing: Vec<String>,
}

impl KeyFile {
    fn keyring(&self) -> anyhow::Result<IdKeys> {
        let sealing = self
            .sealing
            .iter()
            .map(|text| IdKey::from_hex(text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(IdKeys::new(&sealing, &IdKey::from_hex(&self.lookup)?)?)
    }
}

/// The keyring in `path`, generating the file if it does not exist.
pub fn load_or_create(path: &Path) -> anyhow::Result<IdKeys> {
    if !path.exists() {
        let fresh = KeyFile {
            lookup: IdKey::generate().to_hex(),
            sealing: vec![IdKey::generate().to_hex()],
        };
        write(path, &fresh)?;
        tracing::info!(path = %path.display(), "generated the ID-number key file");
    }
    read(path)?.keyring()
}

/// Adds a new sealing key (it seals from now on) and returns the keyring with it.
pub fn add_sealing_key(path: &Path) -> anyhow::Result<IdKeys> {
    let mut file = read(path)?;
    file.sealing.push(IdKey::generate().to_hex());
    write(path, &file)?;
    file.keyring()
}

/// Drops every sealing key but the current one (after a rotation has re-sealed everything).
pub fn retire_older_keys(path: &Path) -> anyhow::Result<usize> {
    let mut file = read(path)?;
    let n_old = file.sealing.len().saturating_sub(1);
    file.sealing.drain(..n_old);
    write(path, &file)?;
    Ok(n_old)
}

fn read(path: &Path) -> anyhow::Result<KeyFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the ID-number key file {}", path.display()))?;
    let file: KeyFile = toml::from_str(&text)
        .with_context(|| format!("invalid ID-number key file {}", path.display()))?;
    if file.sealing.is_empty() {
        bail!(
            "the ID-number key file {} holds no sealing key",
            path.display()
        );
    }
    Ok(file)
}

/// Writes the file whole to a temporary name, then renames it over the old one, so a crash
/// never leaves a half-written keyring.
fn write(path: &Path, file: &KeyFile) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create folder {}", dir.display()))?;
    }
    let text = format!("{HEADER}{}", toml::to_string(file)?);
    let temporary = path.with_extension("toml.new");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(&temporary)
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::io::Write::write_all(&mut out, text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&temporary, path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_generated_once_then_rotated_and_retired() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id-keys.toml");
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.sealing_key_id(), again.sealing_key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the key file is readable by others");
        }

        let rotated = add_sealing_key(&path).unwrap();
        assert_ne!(rotated.sealing_key_id(), first.sealing_key_id());
        assert_eq!(retire_older_keys(&path).unwrap(), 1);
        let after = load_or_create(&path).unwrap();
        assert_eq!(after.sealing_key_id(), rotated.sealing_key_id());
    }
}
