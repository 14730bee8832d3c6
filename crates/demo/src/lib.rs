//! A deterministic demo district modelled on 新荣区 (seeds 000 and 002): one street, five
//! communities, 27 grids of 300–500 households whose polygons tile each community, about
//! 11,000 households and 28,000 residents, compounds and buildings, the party tree, units,
//! grid workers (27 full-time, 12 part-time), building captains, representatives and
//! department liaisons, and the demo accounts.
//!
//! Generation is pure: the same parameters give the same district, ids included (ids are
//! UUIDv7 built from a seeded generator, not the clock). `today` fixes the ages.
//! The size scales: `households` can grow the district to a million residents for
//! benchmarks, adding grids of ~400 households and communities of ~5 grids.
#![deny(missing_docs)]

mod names;
mod stations;

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use mulin_domain::code::DivisionCode;
use mulin_domain::ids::{DistrictId, NodeId, PartyOrgId, PostId, ResidentId, UnitId, UserId};
use mulin_domain::org::{Department, Employment, Origin, PartyOrgKind, PostKind, UnitKind};
use mulin_domain::person::{
    id_check_char, Gender, IdNumber, PersonName, Phone, Relation, ResidenceStatus, SpecialGroup,
    SpecialGroups,
};
use mulin_domain::policy::Role;
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{
    Dataset, LonLat, NodeRecord, PartyOrgRecord, PostRecord, ResidentRecord, UnitRecord, UserRecord,
};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::names::*;

/// What to generate.
#[derive(Clone, Debug)]
pub struct DemoParams {
    /// Households in the whole district (default 11,000: about 28,000 residents).
    pub households: usize,
    /// Seed of the generator.
    pub seed: u64,
    /// The day ages are computed on.
    pub today: NaiveDate,
    /// The instant stamped on accounts.
    pub now: DateTime<Utc>,
    /// The Argon2id hash every demo account gets (one password for all of them).
    pub password_hash: String,
}

/// Households in the default demo district.
pub const DEFAULT_HOUSEHOLDS: usize = 11_000;

/// One demo login, for the start-up banner.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DemoAccount {
    /// Login name.
    pub username: String,
    /// Its role.
    pub role: Role,
    /// The name of the node the role is granted at.
    pub scope_name: String,
}

/// A generated district, ready for `Storage::load`.
#[derive(Clone, Debug)]
pub struct Demo {
    /// Everything to write.
    pub dataset: Dataset,
    /// The logins, in banner order.
    pub accounts: Vec<DemoAccount>,
    /// Service stations, written after the dataset (`MapStore::insert_station`).
    pub stations: Vec<mulin_storage::StationRecord>,
}

/// Why a demo cannot be generated.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DemoError {
    /// Too few households to give every grid one.
    #[error("a demo district needs at least {min} households, not {given}")]
    TooSmall {
        /// The minimum.
        min: usize,
        /// What was asked.
        given: usize,
    },
}

/// Grids in the default district (seed 002: 5 communities, 31 grids re-divided into 27).
const BASE_GRIDS: usize = 27;
/// Grids per community in the default district.
const BASE_LAYOUT: [usize; 5] = [6, 5, 6, 5, 5];
/// Average households per grid when the district grows past the default.
const HOUSEHOLDS_PER_GRID: usize = 407;
/// Households per floor of an entrance, and floors per building.
const DOORS_PER_FLOOR: usize = 2;
const FLOORS: usize = 6;
/// The district's bounding box (around 新荣区, 大同, in WGS-84).
const WEST: f64 = 113.08;
const SOUTH: f64 = 40.22;
const COMMUNITY_WIDTH: f64 = 0.012;
const COMMUNITY_HEIGHT: f64 = 0.010;

/// Generates the demo district.
pub fn generate(params: &DemoParams) -> Result<Demo, DemoError> {
    if params.households < BASE_GRIDS {
        return Err(DemoError::TooSmall {
            min: BASE_GRIDS,
            given: params.households,
        });
    }
    let mut gen = Generator::new(params);
    gen.build();
    let stations = gen.stations();
    Ok(Demo {
        dataset: gen.dataset,
        accounts: gen.accounts,
        stations,
    })
}

/// The grids of each community, given the district's size.
fn layout(households: usize) -> Vec<usize> {
    let n_grids = BASE_GRIDS.max((households + HOUSEHOLDS_PER_GRID / 2) / HOUSEHOLDS_PER_GRID);
    if n_grids == BASE_GRIDS {
        return BASE_LAYOUT.to_vec();
    }
    let n_communities = (n_grids * 10 / 54).max(5);
    (0..n_communities)
        .map(|idx| n_grids / n_communities + usize::from(idx < n_grids % n_communities))
        .collect()
}

/// Splits `total` into `n` parts proportional to `weights`, summing exactly to `total`.
fn apportion(total: usize, weights: &[f64]) -> Vec<usize> {
    let sum: f64 = weights.iter().sum();
    let mut parts: Vec<usize> = weights
        .iter()
        .map(|w| ((w / sum) * total as f64).floor() as usize)
        .collect();
    let mut short = total - parts.iter().sum::<usize>();
    let n_parts = parts.len();
    let mut idx = 0;
    while short > 0 {
        parts[idx % n_parts] += 1;
        short -= 1;
        idx += 1;
    }
    parts
}

struct Generator<'p> {
    params: &'p DemoParams,
    rng: ChaCha8Rng,
    id_counter: u64,
    id_numbers: HashSet<String>,
    district: NodePath,
    resident_account_made: bool,
    dataset: Dataset,
    accounts: Vec<DemoAccount>,
}

/// A rectangle in degrees: west, south, east, north.
#[derive(Clone, Copy)]
struct Rect(f64, f64, f64, f64);

impl Rect {
    fn geojson(self) -> String {
        let Rect(w, s, e, n) = self;
        format!(
            r#"{{"type":"Polygon","coordinates":[[[{w:.6},{s:.6}],[{e:.6},{s:.6}],[{e:.6},{n:.6}],[{w:.6},{n:.6}],[{w:.6},{s:.6}]]]}}"#
        )
    }

    /// Splits into `n` cells in rows; each row's cells share the row's full width, so the
    /// cells tile the rectangle with no gap and no overlap.
    fn split(self, n: usize) -> Vec<Rect> {
        let Rect(w, s, e, north) = self;
        let cols = (n as f64).sqrt().ceil() as usize;
        let rows = n.div_ceil(cols);
        let mut cells = Vec::with_capacity(n);
        for row in 0..rows {
            let in_row = if row + 1 == rows {
                n - cols * (rows - 1)
            } else {
                cols
            };
            let row_s = s + (north - s) * row as f64 / rows as f64;
            let row_n = s + (north - s) * (row + 1) as f64 / rows as f64;
            for col in 0..in_row {
                let cell_w = w + (e - w) * col as f64 / in_row as f64;
                let cell_e = w + (e - w) * (col + 1) as f64 / in_row as f64;
                cells.push(Rect(cell_w, row_s, cell_e, row_n));
            }
        }
        cells
    }
}

impl<'p> Generator<'p> {
    fn new(params: &'p DemoParams) -> Self {
        let mut gen = Generator {
            params,
            rng: ChaCha8Rng::seed_from_u64(params.seed),
            id_counter: 0,
            id_numbers: HashSet::new(),
            // Replaced at once by the first generated id, so every id comes from the seed.
            district: NodePath::root(NodeId::from_uuid(uuid::Uuid::nil())),
            resident_account_made: false,
            dataset: Dataset::default(),
            accounts: Vec::new(),
        };
        gen.district = NodePath::root(gen.node_id());
        gen
    }

    /// A UUIDv7 from the seeded generator: time-ordered like a real one, but repeatable.
    fn uuid(&mut self) -> uuid::Uuid {
        // 2026-01-01T00:00:00Z plus one millisecond per id keeps creation order.
        const BASE_MS: u64 = 1_767_225_600_000;
        self.id_counter += 1;
        let random: [u8; 10] = self.rng.gen();
        uuid::Builder::from_unix_timestamp_millis(BASE_MS + self.id_counter, &random).into_uuid()
    }

    fn node_id(&mut self) -> NodeId {
        NodeId::from_uuid(self.uuid())
    }

    fn district_id(&self) -> DistrictId {
        self.district.id().into()
    }

    #[allow(clippy::too_many_arguments)]
    fn push_node(
        &mut self,
        path: NodePath,
        name: String,
        code: Option<String>,
        sort_key: usize,
        position: Option<LonLat>,
        geometry: Option<String>,
        address: Option<String>,
    ) {
        self.dataset.nodes.push(NodeRecord {
            path,
            name,
            code,
            sort_key: sort_key as i64,
            position,
            geometry,
            address,
            extra: Vec::new(),
        });
    }

    fn build(&mut self) {
        let district = self.district;
        let district_id = district.id();
        let Ok(district_code) = DivisionCode::parse(NodeKind::District, "140212000000", None)
        else {
            return;
        };
        let layout = layout(self.params.households);
        let n_communities = layout.len();
        let n_streets = n_communities.div_ceil(8);
        let cols = (n_communities as f64).sqrt().ceil() as usize;
        let rows = n_communities.div_ceil(cols);
        let district_rect = Rect(
            WEST,
            SOUTH,
            WEST + COMMUNITY_WIDTH * cols as f64,
            SOUTH + COMMUNITY_HEIGHT * rows as f64,
        );
        self.push_node(
            district,
            "新荣区".into(),
            Some(district_code.to_string()),
            0,
            None,
            Some(district_rect.geojson()),
            None,
        );
        self.user("admin", "区管理员", Role::Admin, district, "新荣区");
        let working_committee = self.party_org(
            None,
            district_id,
            PartyOrgKind::Committee,
            "中共新荣区委城市工作委员会",
        );

        // Households per grid: equal shares with ±15% variation, so grids differ as they do
        // on the ground (seed 002 adds part-time workers to the big ones).
        let n_grids: usize = layout.iter().sum();
        let weights: Vec<f64> = (0..n_grids)
            .map(|_| self.rng.gen_range(0.85..1.15))
            .collect();
        let grid_households = apportion(self.params.households, &weights);
        let mut big_grids: Vec<usize> = (0..n_grids).collect();
        big_grids.sort_by_key(|idx| std::cmp::Reverse(grid_households[*idx]));
        let n_part_time = (n_grids * 12).div_ceil(BASE_GRIDS);
        let part_time: HashSet<usize> = big_grids.into_iter().take(n_part_time).collect();

        let community_rects = district_rect.split(n_communities);
        let mut grid_idx = 0;
        let mut streets = Vec::new();
        for street_idx in 0..n_streets {
            let street_id = self.node_id();
            let Ok(street) = district.child(NodeKind::Street, street_id) else {
                return;
            };
            let name = if n_streets == 1 {
                "新荣街道".to_owned()
            } else {
                format!("新荣第{}街道", street_idx + 1)
            };
            let code = district_code.child(NodeKind::Street, street_idx as u32 + 1);
            self.push_node(
                street,
                name.clone(),
                code.as_ref().map(ToString::to_string),
                street_idx,
                None,
                None,
                None,
            );
            let login = if street_idx == 0 {
                "jiedao".to_owned()
            } else {
                format!("jiedao{}", street_idx + 1)
            };
            self.user(
                &login,
                &format!("{name}管理员"),
                Role::StreetAdmin,
                street,
                &name,
            );
            let org = self.party_org(
                Some(working_committee),
                street_id,
                PartyOrgKind::WorkingCommittee,
                &format!("中共{name}工作委员会"),
            );
            streets.push((street, code, org));
        }

        for (community_idx, n_community_grids) in layout.iter().enumerate() {
            let (street, street_code, street_org) = streets[community_idx / 8].clone();
            let community_id = self.node_id();
            let Ok(community) = street.child(NodeKind::Community, community_id) else {
                return;
            };
            let base = COMMUNITY_NAMES[community_idx % COMMUNITY_NAMES.len()];
            let name = if community_idx < COMMUNITY_NAMES.len() {
                format!("{base}社区")
            } else {
                format!("{base}{}社区", community_idx / COMMUNITY_NAMES.len() + 1)
            };
            let code = street_code
                .as_ref()
                .and_then(|c| c.child(NodeKind::Community, (community_idx % 8) as u32 + 1));
            let rect = community_rects[community_idx];
            self.push_node(
                community,
                name.clone(),
                code.as_ref().map(ToString::to_string),
                community_idx,
                None,
                Some(rect.geojson()),
                None,
            );
            self.user(
                &format!("shequ{}", community_idx + 1),
                &format!("{name}工作人员"),
                Role::CommunityStaff,
                community,
                &name,
            );
            let community_org = self.party_org(
                Some(street_org),
                community_id,
                PartyOrgKind::Committee,
                &format!("中共{name}委员会"),
            );
            self.community_units(community_id, &name);
            self.liaisons(community_id);

            for (cell_idx, cell) in rect.split(*n_community_grids).into_iter().enumerate() {
                let households = grid_households[grid_idx];
                let grid_code = code
                    .as_ref()
                    .and_then(|c| c.child(NodeKind::Grid, cell_idx as u32 + 1));
                self.grid(GridPlan {
                    community,
                    community_org,
                    community_name: &name,
                    number: grid_idx + 1,
                    seq_in_community: cell_idx,
                    code: grid_code,
                    rect: cell,
                    households,
                    part_time: part_time.contains(&grid_idx),
                });
                grid_idx += 1;
            }
        }
        self.liaison_accounts();
    }

    /// Accounts for the first community's department liaisons (`bumen1`…`bumen7`, in
    /// department order), so whistles have someone to answer them. Made last, so the rest
    /// of the district is generated exactly as before.
    fn liaison_accounts(&mut self) {
        let first_community = self
            .dataset
            .nodes
            .iter()
            .find(|node| node.path.kind() == NodeKind::Community)
            .map(|node| (node.path, node.name.clone()));
        let Some((community, community_name)) = first_community else {
            return;
        };
        let liaisons: Vec<(usize, String, Department)> = self
            .dataset
            .posts
            .iter()
            .enumerate()
            .filter(|(_, post)| {
                post.kind == PostKind::DepartmentLiaison && post.node == community.id()
            })
            .filter_map(|(idx, post)| {
                post.department
                    .map(|d| (idx, post.holder_name.as_ref().to_owned(), d))
            })
            .collect();
        for (n, (idx, holder, _)) in liaisons.into_iter().enumerate() {
            let user = self.user(
                &format!("bumen{}", n + 1),
                &holder,
                Role::DepartmentLiaison,
                community,
                &community_name,
            );
            if let Some(post) = self.dataset.posts.get_mut(idx) {
                post.user = Some(user);
            }
        }
    }

    fn grid(&mut self, plan: GridPlan<'_>) {
        let grid_id = self.node_id();
        let Ok(grid) = plan.community.child(NodeKind::Grid, grid_id) else {
            return;
        };
        let name = format!("第{}网格", plan.seq_in_community + 1);
        let full_name = format!("{}{}", plan.community_name, name);
        self.push_node(
            grid,
            name,
            plan.code.map(|c| c.to_string()),
            plan.seq_in_community,
            None,
            Some(plan.rect.geojson()),
            None,
        );
        let grid_org = self.party_org(
            Some(plan.community_org),
            grid_id,
            PartyOrgKind::Group,
            &format!("{full_name}党小组"),
        );
        let worker_login = if plan.number < 100 {
            format!("wangge{:02}", plan.number)
        } else {
            format!("wangge{}", plan.number)
        };
        let worker_user = self.user(
            &worker_login,
            &format!("{full_name}网格员"),
            Role::GridWorker,
            grid,
            &full_name,
        );
        let worker = self.person_name(Gender::Female);
        self.post(PostKind::GridWorker, grid_id, &worker, |post| {
            post.user = Some(worker_user);
            post.employment = Some(Employment::FullTime);
            post.origin = Some(Origin::CommunityWorker);
        });
        if plan.part_time {
            let helper = self.person_name(Gender::Male);
            self.post(PostKind::GridWorker, grid_id, &helper, |post| {
                post.employment = Some(Employment::PartTime);
                post.origin = Some(Origin::Resident);
            });
        }
        self.post(PostKind::BranchSecretary, grid_id, &worker, |post| {
            post.party_org = Some(grid_org)
        });
        for _ in 0..2 {
            let business = BUSINESS_KINDS[self.rng.gen_range(0..BUSINESS_KINDS.len())];
            let owner = self.person_name(Gender::Male);
            let unit_name = format!(
                "{}{}",
                owner.as_ref().chars().next().unwrap_or('王'),
                business
            );
            self.unit(grid_id, UnitKind::Business, unit_name);
        }

        // Buildings of 2–4 entrances × 6 floors × 2 doors, grouped into 1–3 compounds.
        let entrances_needed = plan.households.div_ceil(FLOORS * DOORS_PER_FLOOR);
        let mut building_sizes = Vec::new();
        let mut left = entrances_needed;
        while left > 0 {
            let size = self.rng.gen_range(2..=4).min(left);
            building_sizes.push(size);
            left -= size;
        }
        let n_compounds = building_sizes.len().clamp(1, 3);
        let per_compound = apportion(building_sizes.len(), &vec![1.0; n_compounds]);
        let mut households_left = plan.households;
        let mut building_iter = building_sizes.into_iter();
        let first_household = self.dataset.nodes.len();
        for (compound_idx, n_buildings) in per_compound.into_iter().enumerate() {
            let compound_id = self.node_id();
            let Ok(compound) = grid.child(NodeKind::Compound, compound_id) else {
                return;
            };
            let compound_name = format!(
                "{}{}",
                COMPOUND_HEADS[self.rng.gen_range(0..COMPOUND_HEADS.len())],
                COMPOUND_TAILS[self.rng.gen_range(0..COMPOUND_TAILS.len())]
            );
            self.push_node(
                compound,
                compound_name.clone(),
                None,
                compound_idx,
                None,
                None,
                None,
            );
            let branch = self.party_org(
                Some(grid_org),
                compound_id,
                PartyOrgKind::Branch,
                &format!("{compound_name}党支部"),
            );
            let property = self.unit(
                compound_id,
                UnitKind::PropertyCompany,
                format!("{compound_name}物业服务有限公司"),
            );
            let committee = self.unit(
                compound_id,
                UnitKind::OwnersCommittee,
                format!("{compound_name}业主委员会"),
            );
            // 双向进入、交叉任职: the branch secretary also sits on the owners' committee,
            // and the property manager joins the branch committee.
            let secretary = self.person_name(Gender::Male);
            self.post(PostKind::BranchSecretary, compound_id, &secretary, |post| {
                post.party_org = Some(branch);
                post.origin = Some(Origin::RetiredCadre);
            });
            self.post(
                PostKind::OwnersCommitteeMember,
                compound_id,
                &secretary,
                |post| post.unit = Some(committee),
            );
            let manager = self.person_name(Gender::Female);
            self.post(PostKind::PropertyManager, compound_id, &manager, |post| {
                post.unit = Some(property)
            });
            self.post(PostKind::BranchMember, compound_id, &manager, |post| {
                post.party_org = Some(branch);
                post.origin = Some(Origin::PropertyStaff);
            });

            for building_seq in 0..n_buildings {
                let Some(n_entrances) = building_iter.next() else {
                    break;
                };
                let building_id = self.node_id();
                let Ok(building) = compound.child(NodeKind::Building, building_id) else {
                    return;
                };
                let Rect(w, s, e, n) = plan.rect;
                let position = LonLat {
                    lon: self.rng.gen_range(w + (e - w) * 0.05..e - (e - w) * 0.05),
                    lat: self.rng.gen_range(s + (n - s) * 0.05..n - (n - s) * 0.05),
                };
                let building_name = format!("{}号楼", building_seq + 1);
                self.push_node(
                    building,
                    building_name.clone(),
                    None,
                    building_seq,
                    Some(position),
                    None,
                    None,
                );
                let captain = self.person_name(Gender::Male);
                self.post(PostKind::BuildingCaptain, building_id, &captain, |post| {
                    post.origin = Some(Origin::Resident)
                });
                for entrance_seq in 0..n_entrances {
                    let entrance_id = self.node_id();
                    let Ok(entrance) = building.child(NodeKind::Entrance, entrance_id) else {
                        return;
                    };
                    self.push_node(
                        entrance,
                        format!("{}单元", entrance_seq + 1),
                        None,
                        entrance_seq,
                        None,
                        None,
                        None,
                    );
                    let here = households_left.min(FLOORS * DOORS_PER_FLOOR);
                    households_left -= here;
                    for door_idx in 0..here {
                        let room = format!(
                            "{}{:02}室",
                            door_idx / DOORS_PER_FLOOR + 1,
                            door_idx % DOORS_PER_FLOOR + 1
                        );
                        let address = format!(
                            "{compound_name}{building_name}{}单元{room}",
                            entrance_seq + 1
                        );
                        self.household(entrance, room, door_idx, address, position);
                    }
                }
            }
        }
        self.representatives(grid_id, first_household);
    }

    fn household(
        &mut self,
        entrance: NodePath,
        room: String,
        sort_key: usize,
        address: String,
        position: LonLat,
    ) {
        let household_id = self.node_id();
        let Ok(household) = entrance.child(NodeKind::Household, household_id) else {
            return;
        };
        self.push_node(
            household,
            room,
            None,
            sort_key,
            Some(position),
            None,
            Some(address.clone()),
        );
        // The demo resident account belongs to the head of the first household generated.
        let is_first_household = !self.resident_account_made;
        self.resident_account_made = true;

        // Household sizes average about 2.55 (11,000 households, 28,000 residents).
        let size = match self.rng.gen_range(0..100) {
            0..=19 => 1,
            20..=51 => 2,
            52..=78 => 3,
            79..=91 => 4,
            _ => 5,
        };
        let today = self.params.today;
        let head_age: i64 = match size {
            1 => self.rng.gen_range(22..92),
            _ => self.rng.gen_range(26..80),
        };
        let head_gender = if self.rng.gen_bool(0.6) {
            Gender::Male
        } else {
            Gender::Female
        };
        let surname = self.surname();
        let status = match self.rng.gen_range(0..100) {
            0..=74 => ResidenceStatus::Registered,
            75..=86 => ResidenceStatus::Permanent,
            87..=96 => ResidenceStatus::Floating,
            _ => ResidenceStatus::RegisteredAbsent,
        };
        let dibao = self.rng.gen_bool(0.03);
        let mut members: Vec<(Relation, Gender, i64, String)> =
            vec![(Relation::Head, head_gender, head_age, surname.clone())];
        if size >= 2 {
            if self.rng.gen_bool(0.85) {
                let spouse_surname = self.surname();
                let other = if head_gender == Gender::Male {
                    Gender::Female
                } else {
                    Gender::Male
                };
                members.push((
                    Relation::Spouse,
                    other,
                    (head_age + self.rng.gen_range(-4..=4)).max(20),
                    spouse_surname,
                ));
            } else {
                let parent_surname = self.surname();
                members.push((
                    Relation::Parent,
                    Gender::Female,
                    (head_age + 26).min(100),
                    parent_surname,
                ));
            }
        }
        while members.len() < size {
            let gender = if self.rng.gen_bool(0.5) {
                Gender::Male
            } else {
                Gender::Female
            };
            let child_age = head_age - self.rng.gen_range(22..36);
            let (relation, age) = if child_age >= 0 {
                (Relation::Child, child_age)
            } else {
                (
                    Relation::Sibling,
                    (head_age + self.rng.gen_range(-6..6)).max(1),
                )
            };
            if relation == Relation::Child && age > 40 && members.len() + 1 < size {
                let grandchild_age = (age - self.rng.gen_range(24..32)).max(0);
                members.push((relation, gender, age, surname.clone()));
                members.push((
                    Relation::Grandchild,
                    gender,
                    grandchild_age,
                    surname.clone(),
                ));
            } else {
                members.push((relation, gender, age, surname.clone()));
            }
        }
        members.truncate(size);
        let all_elderly = members.iter().all(|m| m.2 >= 65);
        let has_parent_age = members.iter().any(|m| (20..60).contains(&m.2));
        for (idx, (relation, gender, age, member_surname)) in members.into_iter().enumerate() {
            let birth_date = self.birth_date(age, today);
            let name = self.given_name(&member_surname, gender);
            let id_number = self.id_number(birth_date, gender);
            let phone = if age >= 14 { self.phone() } else { None };
            let mut tags = Vec::new();
            if dibao {
                tags.push(SpecialGroup::Dibao);
            }
            if age >= 60 && all_elderly {
                tags.push(if size == 1 {
                    SpecialGroup::LivingAlone
                } else {
                    SpecialGroup::EmptyNest
                });
            }
            if self.rng.gen_bool(0.02) {
                tags.push(SpecialGroup::Disabled);
            }
            if age < 16 && !has_parent_age {
                tags.push(SpecialGroup::LeftBehindChild);
            }
            if idx == 0 && size <= 2 && age >= 55 && self.rng.gen_bool(0.01) {
                tags.push(SpecialGroup::Shidu);
            }
            let ethnicity = match self.rng.gen_range(0..1000) {
                0..=969 => "汉族",
                970..=984 => "回族",
                985..=994 => "蒙古族",
                _ => "满族",
            };
            let resident_id = ResidentId::from_uuid(self.uuid());
            if idx == 0 && is_first_household {
                self.user("jumin", &name, Role::Resident, household, &address);
            }
            let Ok(name) = PersonName::parse(&name) else {
                continue;
            };
            self.dataset.residents.push(ResidentRecord {
                id: resident_id,
                household,
                address: address.clone(),
                name,
                gender,
                birth_date: Some(birth_date),
                ethnicity: Some(ethnicity.to_owned()),
                id_number: Some(id_number),
                phone,
                relation,
                status,
                groups: SpecialGroups::from_tags(tags),
                extra: Vec::new(),
            });
        }
    }

    /// Representatives, each linking about ten neighbouring households (seed 003: 5–15).
    fn representatives(&mut self, grid_id: NodeId, first_node: usize) {
        let households: Vec<NodeId> = self.dataset.nodes[first_node..]
            .iter()
            .filter(|node| node.path.kind() == NodeKind::Household)
            .map(|node| node.path.id())
            .collect();
        for chunk in households.chunks(10) {
            if chunk.len() < 5 {
                // Too few left for their own representative: the previous one takes them.
                if let Some(last) = self
                    .dataset
                    .posts
                    .iter_mut()
                    .rev()
                    .find(|p| p.kind == PostKind::ResidentRepresentative && p.node == grid_id)
                {
                    last.households.extend_from_slice(chunk);
                    continue;
                }
            }
            let name = self.person_name(Gender::Female);
            let linked = chunk.to_vec();
            self.post(PostKind::ResidentRepresentative, grid_id, &name, |post| {
                post.households = linked;
                post.origin = Some(Origin::Resident);
            });
        }
    }

    fn community_units(&mut self, community_id: NodeId, community_name: &str) {
        for unit in RESIDENT_UNITS.iter().take(2) {
            self.unit(
                community_id,
                UnitKind::ResidentUnit,
                format!("{community_name}{unit}"),
            );
        }
        for org in SOCIAL_ORGS.iter().take(2) {
            self.unit(
                community_id,
                UnitKind::SocialOrganisation,
                format!("{community_name}{org}"),
            );
        }
    }

    /// One liaison per department for each community (seed 002: 7 departments, 50+ staff).
    fn liaisons(&mut self, community_id: NodeId) {
        for department in Department::ALL {
            let name = self.person_name(Gender::Male);
            let categories: Vec<String> = match department {
                Department::UrbanManagement => {
                    vec!["私搭乱建".into(), "占道经营".into(), "停车".into()]
                }
                Department::FireService => vec!["消防隐患".into(), "安全隐患".into()],
                Department::Power => vec!["停电".into(), "线路老化".into()],
                Department::Water => vec!["停水".into(), "排水".into(), "管道漏水".into()],
                Department::Sanitation => vec!["环境卫生".into(), "垃圾清运".into()],
                Department::Police => vec!["治安".into(), "邻里纠纷".into(), "噪音".into()],
                Department::MarketRegulation => vec!["食品安全".into(), "价格投诉".into()],
            };
            let phone = self.phone();
            self.post(PostKind::DepartmentLiaison, community_id, &name, |post| {
                post.department = Some(*department);
                post.categories = categories;
                post.phone = phone;
                post.origin = Some(Origin::SentDownCadre);
            });
        }
    }

    fn user(
        &mut self,
        username: &str,
        display_name: &str,
        role: Role,
        at: NodePath,
        scope_name: &str,
    ) -> UserId {
        let id = UserId::from_uuid(self.uuid());
        self.dataset.users.push((
            UserRecord {
                id,
                district: self.district_id(),
                username: username.to_owned(),
                display_name: display_name.to_owned(),
                password_hash: self.params.password_hash.clone(),
                is_demo: true,
                created_at: self.params.now,
            },
            vec![(role, at.id())],
        ));
        self.accounts.push(DemoAccount {
            username: username.to_owned(),
            role,
            scope_name: scope_name.to_owned(),
        });
        id
    }

    fn party_org(
        &mut self,
        parent: Option<PartyOrgId>,
        node: NodeId,
        kind: PartyOrgKind,
        name: &str,
    ) -> PartyOrgId {
        let id = PartyOrgId::from_uuid(self.uuid());
        self.dataset.party_orgs.push(PartyOrgRecord {
            id,
            district: self.district_id(),
            parent,
            node,
            kind,
            name: name.to_owned(),
        });
        id
    }

    fn unit(&mut self, node: NodeId, kind: UnitKind, name: String) -> UnitId {
        let id = UnitId::from_uuid(self.uuid());
        let phone = self.phone();
        let contact = self.person_name(Gender::Male);
        self.dataset.units.push(UnitRecord {
            id,
            district: self.district_id(),
            node,
            kind,
            name,
            credit_code: None,
            contact: Some(contact.as_ref().to_owned()),
            phone,
            extra: Vec::new(),
        });
        id
    }

    fn post(
        &mut self,
        kind: PostKind,
        node: NodeId,
        holder: &PersonName,
        fill: impl FnOnce(&mut PostRecord),
    ) {
        let mut post = PostRecord {
            id: PostId::from_uuid(self.uuid()),
            district: self.district_id(),
            kind,
            node,
            party_org: None,
            unit: None,
            holder_name: holder.clone(),
            resident: None,
            user: None,
            phone: None,
            employment: None,
            origin: None,
            department: None,
            categories: Vec::new(),
            households: Vec::new(),
        };
        fill(&mut post);
        self.dataset.posts.push(post);
    }

    fn surname(&mut self) -> String {
        let total: u32 = SURNAMES.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.gen_range(0..total);
        for (surname, weight) in SURNAMES {
            if pick < *weight {
                return (*surname).to_owned();
            }
            pick -= weight;
        }
        "王".to_owned()
    }

    fn given_name(&mut self, surname: &str, gender: Gender) -> String {
        let pool = match gender {
            Gender::Male => MALE_CHARS,
            Gender::Female => FEMALE_CHARS,
        };
        let mut name = surname.to_owned();
        let n_chars = if self.rng.gen_bool(0.35) { 1 } else { 2 };
        for _ in 0..n_chars {
            if let Some(ch) = pool.choose(&mut self.rng) {
                name.push_str(ch);
            }
        }
        name
    }

    fn person_name(&mut self, gender: Gender) -> PersonName {
        // Generated names are 2–4 CJK characters, so the first try always parses.
        loop {
            let surname = self.surname();
            if let Ok(name) = PersonName::parse(&self.given_name(&surname, gender)) {
                return name;
            }
        }
    }

    fn birth_date(&mut self, age: i64, today: NaiveDate) -> NaiveDate {
        let days_back = age.max(0) as u64 * 365 + self.rng.gen_range(0..365);
        today
            .checked_sub_days(Days::new(days_back))
            .unwrap_or(today)
    }

    /// A unique, valid ID number born on `birth_date` in 新荣区 (140212).
    fn id_number(&mut self, birth_date: NaiveDate, gender: Gender) -> IdNumber {
        loop {
            let seq = self.rng.gen_range(0..500) * 2 + u32::from(gender == Gender::Male);
            let first17 = format!(
                "140212{:04}{:02}{:02}{seq:03}",
                birth_date.year(),
                birth_date.month(),
                birth_date.day()
            );
            let Some(check) = id_check_char(&first17) else {
                continue;
            };
            let text = format!("{first17}{check}");
            if self.id_numbers.insert(text.clone()) {
                if let Ok(id_number) = IdNumber::parse(&text) {
                    return id_number;
                }
            }
        }
    }

    fn phone(&mut self) -> Option<Phone> {
        let prefix = [
            "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "186", "187",
            "188", "189", "155", "156", "133", "153", "180", "181",
        ]
        .choose(&mut self.rng)
        .copied()
        .unwrap_or("138");
        let digits: u32 = self.rng.gen_range(0..100_000_000);
        Phone::parse(&format!("{prefix}{digits:08}")).ok()
    }
}

struct GridPlan<'a> {
    community: NodePath,
    community_org: PartyOrgId,
    community_name: &'a str,
    number: usize,
    seq_in_community: usize,
    code: Option<DivisionCode>,
    rect: Rect,
    households: usize,
    part_time: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(households: usize) -> DemoParams {
        DemoParams {
            households,
            seed: 7,
            today: NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            now: DateTime::from_timestamp_millis(1_795_000_000_000).unwrap(),
            password_hash: "hash".into(),
        }
    }

    fn count(demo: &Demo, kind: NodeKind) -> usize {
        demo.dataset
            .nodes
            .iter()
            .filter(|n| n.path.kind() == kind)
            .count()
    }

    #[test]
    fn the_default_district_matches_the_seeds() {
        let demo = generate(&params(DEFAULT_HOUSEHOLDS)).unwrap();
        assert_eq!(count(&demo, NodeKind::Street), 1);
        assert_eq!(count(&demo, NodeKind::Community), 5);
        assert_eq!(count(&demo, NodeKind::Grid), 27);
        assert_eq!(count(&demo, NodeKind::Household), DEFAULT_HOUSEHOLDS);
        let n_residents = demo.dataset.residents.len();
        assert!(
            (26_000..30_000).contains(&n_residents),
            "{n_residents} residents"
        );
        // Every grid holds 300–500 households.
        let grids: Vec<NodeId> = demo
            .dataset
            .nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Grid)
            .map(|n| n.path.id())
            .collect();
        for grid in grids {
            let n = demo
                .dataset
                .nodes
                .iter()
                .filter(|n| {
                    n.path.kind() == NodeKind::Household && n.path.at(NodeKind::Grid) == Some(grid)
                })
                .count();
            assert!((300..=500).contains(&n), "grid with {n} households");
        }
        let workers = |employment| {
            demo.dataset
                .posts
                .iter()
                .filter(|p| p.kind == PostKind::GridWorker && p.employment == Some(employment))
                .count()
        };
        assert_eq!(workers(Employment::FullTime), 27);
        assert_eq!(workers(Employment::PartTime), 12);
        for rep in demo
            .dataset
            .posts
            .iter()
            .filter(|p| p.kind == PostKind::ResidentRepresentative)
        {
            assert!(
                (5..=15).contains(&rep.households.len()),
                "{}",
                rep.households.len()
            );
        }
        let usernames: Vec<&str> = demo.accounts.iter().map(|a| a.username.as_str()).collect();
        for name in [
            "admin", "jiedao", "shequ1", "shequ5", "wangge01", "wangge27", "jumin",
        ] {
            assert!(usernames.contains(&name), "{name} missing");
        }
        assert_eq!(usernames.len(), 1 + 1 + 5 + 27 + 1 + 7);
        let liaison = demo
            .dataset
            .posts
            .iter()
            .find(|post| post.user.is_some() && post.kind == PostKind::DepartmentLiaison);
        assert!(liaison.is_some(), "bumen accounts hold liaison posts");
    }

    #[test]
    fn generation_is_deterministic() {
        let a = generate(&params(500)).unwrap();
        let b = generate(&params(500)).unwrap();
        assert_eq!(a.dataset.nodes, b.dataset.nodes);
        assert_eq!(a.dataset.residents, b.dataset.residents);
    }

    #[test]
    fn codes_and_paths_are_consistent() {
        let demo = generate(&params(300)).unwrap();
        let mut ids = HashSet::new();
        for node in &demo.dataset.nodes {
            assert!(ids.insert(node.path.id()), "duplicate id");
            if let Some(parent) = node.path.parent() {
                assert!(ids.contains(&parent), "parent written after child");
            }
            if node.path.kind() == NodeKind::Grid {
                assert_eq!(node.code.as_ref().map(String::len), Some(15));
            }
        }
        let mut id_numbers = HashSet::new();
        for resident in &demo.dataset.residents {
            let id_number = resident.id_number.as_ref().unwrap();
            assert!(id_numbers.insert(id_number.expose().to_owned()));
            assert_eq!(id_number.birth_date(), resident.birth_date);
            assert_eq!(id_number.gender(), resident.gender);
        }
    }

    #[test]
    fn larger_districts_add_grids_not_crowding() {
        let demo = generate(&params(40_000)).unwrap();
        let n_grids = count(&demo, NodeKind::Grid);
        assert_eq!(n_grids, 98);
        assert!(count(&demo, NodeKind::Community) > 5);
    }

    #[test]
    fn too_small_is_refused() {
        assert_eq!(
            generate(&params(10)).unwrap_err(),
            DemoError::TooSmall { min: 27, given: 10 }
        );
    }

    #[test]
    fn grid_cells_tile_their_community() {
        let rect = Rect(0.0, 0.0, 1.0, 1.0);
        for n in 1..12 {
            let cells = rect.split(n);
            assert_eq!(cells.len(), n);
            let area: f64 = cells
                .iter()
                .map(|Rect(w, s, e, north)| (e - w) * (north - s))
                .sum();
            assert!((area - 1.0).abs() < 1e-9);
        }
    }
}
