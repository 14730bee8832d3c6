//! What the map page and the map API share: the tile settings, a district's grid rules,
//! and the scopes a map request may cover.

use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::policy::Action;
use mulin_domain::tree::NodePath;
use mulin_geo::GridRules;
use serde::Deserialize;
use serde_json::Value;

use crate::auth::AuthUser;
use crate::error::WebError;
use crate::AppState;

/// The coordinate system of the tiles, and so of every coordinate the map is sent.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, Default, Deserialize, serde::Serialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MapCrs {
    /// WGS-84, as stored (OpenStreetMap and most tiles outside mainland China).
    #[default]
    Wgs84,
    /// GCJ-02, the datum of mainland Chinese tiles (高德, 腾讯 …).
    Gcj02,
}

impl MapCrs {
    /// The setting's text.
    pub fn as_str(self) -> &'static str {
        match self {
            MapCrs::Wgs84 => "wgs84",
            MapCrs::Gcj02 => "gcj02",
        }
    }

    /// Converts a WGS-84 GeoJSON geometry in place.
    pub fn convert_geometry(self, geometry: &mut Value) {
        if self == MapCrs::Gcj02 {
            mulin_geo::gcj02::geojson_to_gcj02(geometry);
        }
    }

    /// A WGS-84 `[longitude, latitude]` in this system.
    pub fn convert(self, p: [f64; 2]) -> [f64; 2] {
        match self {
            MapCrs::Wgs84 => p,
            MapCrs::Gcj02 => mulin_geo::gcj02::wgs84_to_gcj02(p),
        }
    }
}

/// The `[map]` settings: no tiles by default (grids on a plain background, which needs no
/// internet); a tile URL with its attribution and coordinate system when configured.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapSettings {
    /// A Leaflet tile URL template, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`.
    pub tile_url: Option<String>,
    /// The attribution the tile provider requires.
    #[serde(default)]
    pub attribution: String,
    /// The tiles' coordinate system.
    #[serde(default)]
    pub crs: MapCrs,
}

impl MapSettings {
    /// The tile server's origin (`https://host[:port]`), which the map page's
    /// Content-Security-Policy lets images come from; `None` without tiles.
    pub fn tile_origin(&self) -> Option<&str> {
        let url = self.tile_url.as_deref()?;
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        let host_end = rest.find('/').unwrap_or(rest.len());
        Some(&url[..url.len() - rest.len() + host_end])
    }

    /// Refuses a tile URL that is not http(s) with `{z}`, `{x}` and `{y}`, or that holds
    /// characters which could break out of the security policy header.
    pub fn validate(&self) -> Result<(), String> {
        let Some(url) = self.tile_url.as_deref() else {
            return Ok(());
        };
        let safe = url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, ';' | ',' | '"' | '\'' | '<' | '>'));
        let placeholders = ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p));
        let host = self
            .tile_origin()
            .is_some_and(|origin| !origin.ends_with("://") && !origin.contains(['{', '}']));
        if safe && placeholders && host {
            Ok(())
        } else {
            Err(format!(
                "map.tile_url must be an http(s) URL with {{z}}, {{x}} and {{y}} and no quotes, commas or semicolons: {url}"
            ))
        }
    }
}

/// The district's grid rules: as set by its administrator, else the defaults.
pub async fn grid_rules(state: &AppState, district: DistrictId) -> Result<GridRules, WebError> {
    Ok(state.store.grid_rules(district).await?.unwrap_or_default())
}

/// The subtrees a map request for `action` under `under` covers (everything the caller
/// may see without `under`); 404 when it covers nothing, so a node outside the caller's
/// scope looks the same as one that does not exist.
pub async fn scopes(
    state: &AppState,
    auth: &AuthUser,
    action: Action,
    under: Option<&str>,
) -> Result<Vec<NodePath>, WebError> {
    let scopes = match under {
        Some(text) => {
            let id: NodeId = text.parse().map_err(|_| WebError::NotFound)?;
            let node = state.store.node(auth.user.district, id).await?;
            auth.principal.scopes_under(action, &node.path)
        }
        None => auth.principal.roots(action),
    };
    if scopes.is_empty() {
        return Err(if auth.principal.allows_anywhere(action) {
            WebError::NotFound
        } else {
            WebError::Forbidden
        });
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(url: &str) -> MapSettings {
        MapSettings {
            tile_url: Some(url.into()),
            ..MapSettings::default()
        }
    }

    #[test]
    fn tile_urls_are_checked_and_their_origin_found() {
        let osm = with("https://tile.openstreetmap.org/{z}/{x}/{y}.png");
        assert_eq!(osm.validate(), Ok(()));
        assert_eq!(osm.tile_origin(), Some("https://tile.openstreetmap.org"));
        let port = with("http://10.0.0.5:8088/tiles/{z}/{x}/{y}.png");
        assert_eq!(port.tile_origin(), Some("http://10.0.0.5:8088"));
        assert!(port.validate().is_ok());
        assert!(with("https://a.example/{z}/{x}.png").validate().is_err());
        assert!(with("https://a.example/{z}/{x}/{y}.png; script-src *")
            .validate()
            .is_err());
        assert!(with("ftp://a.example/{z}/{x}/{y}.png").validate().is_err());
        assert!(with("https://{s}.tile.example/{z}/{x}/{y}.png")
            .validate()
            .is_err());
        assert_eq!(MapSettings::default().validate(), Ok(()));
        assert_eq!(MapSettings::default().tile_origin(), None);
    }
}
