//! The demo's service stations (seed 000): a 党群服务站 in every community, in the building
//! nearest its middle, and a 便民服务站 at the far end of every other community, so the
//! 15-minute service circle covers most homes and leaves some fringes to find.

use mulin_domain::station::StationKind;
use mulin_domain::tree::NodeKind;
use mulin_storage::{LonLat, StationRecord};

use crate::Generator;

impl Generator<'_> {
    pub(crate) fn stations(&mut self) -> Vec<StationRecord> {
        let communities: Vec<(mulin_domain::ids::NodeId, String)> = self
            .dataset
            .nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Community)
            .map(|n| (n.path.id(), n.name.clone()))
            .collect();
        let mut out = Vec::new();
        for (idx, (community, name)) in communities.into_iter().enumerate() {
            let buildings: Vec<LonLat> = self
                .dataset
                .nodes
                .iter()
                .filter(|n| {
                    n.path.kind() == NodeKind::Building
                        && n.path.at(NodeKind::Community) == Some(community)
                })
                .filter_map(|n| n.position)
                .collect();
            let Some(first) = buildings.first() else {
                continue;
            };
            let n = buildings.len() as f64;
            let middle = LonLat {
                lon: buildings.iter().map(|b| b.lon).sum::<f64>() / n,
                lat: buildings.iter().map(|b| b.lat).sum::<f64>() / n,
            };
            let gap = |a: &LonLat, b: &LonLat| (a.lon - b.lon).powi(2) + (a.lat - b.lat).powi(2);
            let nearest = buildings
                .iter()
                .min_by(|a, b| gap(a, &middle).total_cmp(&gap(b, &middle)))
                .unwrap_or(first);
            let farthest = buildings
                .iter()
                .max_by(|a, b| gap(a, nearest).total_cmp(&gap(b, nearest)))
                .unwrap_or(first);
            let mut places = vec![(StationKind::PartyService, *nearest, "党群服务站")];
            if idx % 2 == 0 {
                places.push((StationKind::Convenience, *farthest, "便民服务站"));
            }
            for (kind, position, suffix) in places {
                out.push(StationRecord {
                    district: self.district_id(),
                    id: self.uuid(),
                    community,
                    kind,
                    name: format!("{name}{suffix}"),
                    position,
                    created_at: self.params.now,
                });
            }
        }
        out
    }
}
