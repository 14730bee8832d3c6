//! The demo's service stations (seed 000): a 党群服务站 in every community, in one of its
//! buildings (where a room was free, not where planning would put it), and a 便民服务站 at
//! the far end of every other community, so the 15-minute service circle covers most homes
//! and leaves some fringes to find.

use mulin_domain::station::StationKind;
use mulin_domain::tree::NodeKind;
use mulin_storage::{LonLat, StationRecord};
use rand::Rng;

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
            if buildings.is_empty() {
                continue;
            }
            let party = buildings[self.rng.gen_range(0..buildings.len())];
            let gap = |a: &LonLat| (a.lon - party.lon).powi(2) + (a.lat - party.lat).powi(2);
            let mut places = vec![(StationKind::PartyService, party, "党群服务站")];
            let farthest = buildings.iter().max_by(|a, b| gap(a).total_cmp(&gap(b)));
            if let (0, Some(farthest)) = (idx % 2, farthest) {
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

#[cfg(test)]
mod tests {
    use mulin_domain::station::StationKind;
    use mulin_domain::tree::NodeKind;

    use crate::{generate, DemoParams};

    #[test]
    fn every_community_gets_a_party_station_in_one_of_its_buildings() {
        let demo = generate(&DemoParams {
            households: 800,
            seed: 7,
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default(),
            now: chrono::DateTime::from_timestamp_millis(1_795_000_000_000).unwrap_or_default(),
            password_hash: "hash".into(),
        })
        .unwrap_or_else(|err| panic!("{err}"));
        let communities: Vec<_> = demo
            .dataset
            .nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Community)
            .collect();
        for community in &communities {
            let mine: Vec<_> = demo
                .stations
                .iter()
                .filter(|s| s.community == community.path.id())
                .collect();
            assert_eq!(
                mine.iter()
                    .filter(|s| s.kind == StationKind::PartyService)
                    .count(),
                1
            );
            for station in mine {
                assert!(demo.dataset.nodes.iter().any(|n| {
                    n.path.at(NodeKind::Community) == Some(community.path.id())
                        && n.position == Some(station.position)
                }));
            }
        }
        let convenience = demo
            .stations
            .iter()
            .filter(|s| s.kind == StationKind::Convenience)
            .count();
        assert_eq!(convenience, communities.len().div_ceil(2));
    }
}
