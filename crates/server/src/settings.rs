//! Settings in layers: defaults, then the optional TOML file, then flags and `MULIN_*`
//! environment variables (clap reads both; they win).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The commented example configuration, printed by `mulin config`.
pub const EXAMPLE: &str = include_str!("../mulin.example.toml");

/// The optional configuration file.
#[derive(Deserialize, Default, Debug)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub secure_cookies: Option<bool>,
    pub login_per_minute_per_ip: Option<u32>,
    pub login_per_minute_per_user: Option<u32>,
    pub id_keys: Option<PathBuf>,
    pub outbox_retention_days: Option<u32>,
    #[serde(default)]
    pub map: mulin_web::map::MapSettings,
}

impl FileSettings {
    /// Reads `path` if given, else `<data dir>/mulin.toml` if it exists.
    pub fn load(explicit: Option<&Path>, data_dir: &Path) -> anyhow::Result<FileSettings> {
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => {
                let default = data_dir.join("mulin.toml");
                if !default.exists() {
                    return Ok(FileSettings::default());
                }
                default
            }
        };
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read configuration {}", path.display()))?;
        let file: FileSettings = toml::from_str(&text)
            .with_context(|| format!("invalid configuration {}", path.display()))?;
        file.map
            .validate()
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("invalid configuration {}", path.display()))?;
        Ok(file)
    }
}

/// Where the data lives, resolved.
pub struct Database {
    pub url: String,
    /// The key file sealing ID numbers.
    pub id_keys: PathBuf,
}

impl fmt::Debug for Database {
    /// A database URL may hold a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Database({})", redact(&self.url))
    }
}

/// The URL with any password replaced by `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The database URL: flag/env, then file, then the SQLite file in the data folder; the
/// ID-number key file likewise, defaulting to `id-keys.toml` in the data folder.
pub fn database(
    flag: Option<String>,
    id_keys_flag: Option<PathBuf>,
    file: &FileSettings,
    data_dir: &Path,
) -> anyhow::Result<Database> {
    let url = match flag.or_else(|| file.database_url.clone()) {
        Some(url) => url,
        None => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("cannot create data folder {}", data_dir.display()))?;
            let path: PathBuf = data_dir.join("mulin.db");
            mulin_storage_sqlite::url_for_path(&path)
        }
    };
    let id_keys = id_keys_flag
        .or_else(|| file.id_keys.clone())
        .unwrap_or_else(|| data_dir.join("id-keys.toml"));
    Ok(Database { url, id_keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://./x.db"), "sqlite://./x.db");
    }

    #[test]
    fn the_example_parses() {
        let file: FileSettings = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(file.listen.as_deref(), Some("127.0.0.1:8080"));
        assert_eq!(file.map.crs, mulin_web::map::MapCrs::Wgs84);
        assert_eq!(file.map.tile_url, None);
    }
}
