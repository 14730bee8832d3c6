//! Turning checked rows into what an import writes: each address resolved to a household
//! under the chosen node, each resident matched by ID number.
//!
//! Tree rule for missing places: the compound must already exist under the chosen node
//! (compounds belong to grids, which only an administrator draws); a missing building,
//! entrance or household is created inside it, but only when the compound's name points to
//! exactly one compound node (a compound split across grids cannot say which grid a new
//! building belongs to). Everything else that does not resolve is a problem of the row.

use std::collections::HashMap;

use mulin_domain::ids::{DistrictId, NodeId, ResidentId};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_storage::{NodeRecord, ResidentRecord, Storage, StoreResult};

use crate::parse::{Address, LedgerRow, Parsed};
use crate::vocab::{address_key, address_name, Field};
use crate::{Problem, ProblemKind};

/// What an import would write, and every problem that stops it.
#[derive(Clone, Debug, Default)]
pub struct ImportPlan {
    /// Data rows read from the file.
    pub n_rows: usize,
    /// Every problem, in row order. A plan with problems must not be written.
    pub problems: Vec<Problem>,
    /// Buildings, entrances and households to create, parents first.
    pub nodes: Vec<NodeRecord>,
    /// Residents to insert or update (unchanged ones are left out).
    pub residents: Vec<ResidentRecord>,
    /// Residents new to the district.
    pub created: usize,
    /// Residents already registered whose record changes.
    pub updated: usize,
    /// Residents already registered exactly as the file says.
    pub unchanged: usize,
}

/// The tree under the import's node, with the nodes the plan adds.
struct Places {
    records: HashMap<NodeId, NodeRecord>,
    /// (parent, key of the name) → children with that name.
    by_name: HashMap<(NodeId, String), Vec<NodeId>>,
    /// Compounds by the key of their name.
    compounds: HashMap<String, Vec<NodeId>>,
    next_sort_key: HashMap<NodeId, i64>,
    created: Vec<NodeId>,
}

fn field_of(kind: NodeKind) -> Field {
    match kind {
        NodeKind::Building => Field::Building,
        NodeKind::Entrance => Field::Entrance,
        NodeKind::Household => Field::House,
        _ => Field::Compound,
    }
}

impl Places {
    fn new(nodes: Vec<NodeRecord>) -> Places {
        let mut places = Places {
            records: HashMap::new(),
            by_name: HashMap::new(),
            compounds: HashMap::new(),
            next_sort_key: HashMap::new(),
            created: Vec::new(),
        };
        for node in nodes {
            places.add(node);
        }
        places
    }

    fn add(&mut self, node: NodeRecord) {
        let id = node.path.id();
        let kind = node.path.kind();
        let key = address_key(field_of(kind), &node.name);
        if kind == NodeKind::Compound {
            self.compounds.entry(key.clone()).or_default().push(id);
        }
        if let Some(parent) = node.path.parent() {
            self.by_name.entry((parent, key)).or_default().push(id);
            let next = self.next_sort_key.entry(parent).or_insert(0);
            *next = (*next).max(node.sort_key + 1);
        }
        self.records.insert(id, node);
    }

    fn children_named(&self, parents: &[NodeId], kind: NodeKind, text: &str) -> Vec<NodeId> {
        let key = address_key(field_of(kind), text);
        parents
            .iter()
            .filter_map(|parent| self.by_name.get(&(*parent, key.clone())))
            .flatten()
            .copied()
            .collect()
    }

    /// Creates a child of `parent`; `None` if the tree forbids it (never for the kinds used).
    fn create(&mut self, parent: NodeId, kind: NodeKind, text: &str) -> Option<NodeId> {
        let parent_record = self.records.get(&parent)?;
        let path = parent_record.path.child(kind, NodeId::new_v7()).ok()?;
        let name = address_name(field_of(kind), text);
        let address = (kind == NodeKind::Household).then(|| self.address_of(&path, &name));
        let sort_key = self.next_sort_key.get(&parent).copied().unwrap_or(0);
        let id = path.id();
        self.add(NodeRecord {
            path,
            name,
            code: None,
            sort_key,
            position: None,
            geometry: None,
            address,
            extra: Vec::new(),
        });
        self.created.push(id);
        Some(id)
    }

    /// "阳光小区3号楼2单元401室": the names from the compound down.
    fn address_of(&self, path: &NodePath, own_name: &str) -> String {
        let mut address = String::new();
        for kind in [NodeKind::Compound, NodeKind::Building, NodeKind::Entrance] {
            if let Some(record) = path.at(kind).and_then(|id| self.records.get(&id)) {
                address.push_str(&record.name);
            }
        }
        address.push_str(own_name);
        address
    }
}

/// Plans an import under `under` (a district, street, community, grid or compound).
/// `allowed` says whether the caller may import into a place; rows outside it are problems.
pub async fn plan_import(
    store: &dyn Storage,
    under: &NodeRecord,
    parsed: Parsed,
    allowed: &(dyn Fn(&NodePath) -> bool + Send + Sync),
) -> StoreResult<ImportPlan> {
    plan_merged(store, under, parsed, allowed, &mut |_, _, _| {}).await
}

/// Adjusts the record a row would write (Excel row, the stored record if any, the record
/// from the file), before it is compared with the stored one.
pub(crate) type Merge<'a> =
    dyn FnMut(u32, Option<&ResidentRecord>, &mut ResidentRecord) + Send + 'a;

/// [`plan_import`], with `merge` seeing every resident row that resolved to a household.
pub(crate) async fn plan_merged(
    store: &dyn Storage,
    under: &NodeRecord,
    parsed: Parsed,
    allowed: &(dyn Fn(&NodePath) -> bool + Send + Sync),
    merge: &mut Merge<'_>,
) -> StoreResult<ImportPlan> {
    let headers = Headers(parsed.headers.clone());
    let mut plan = ImportPlan {
        n_rows: parsed.n_rows,
        problems: parsed.problems,
        ..ImportPlan::default()
    };
    if under.path.kind() > NodeKind::Compound {
        plan.problems.push(Problem {
            row: 0,
            column: String::new(),
            kind: ProblemKind::BadTarget,
        });
        return Ok(plan);
    }
    let district: DistrictId = under.path.district().into();
    let mut places = Places::new(
        store
            .subtree(district, &under.path, NodeKind::Household)
            .await?,
    );
    let mut resolved: Vec<(LedgerRow, NodePath)> = Vec::with_capacity(parsed.rows.len());
    for (row, address) in &parsed.unchecked_addresses {
        let mut problems = Vec::new();
        resolve(
            &mut places,
            under,
            *row,
            address,
            allowed,
            &headers,
            &mut problems,
        );
        // The parse already named what is missing (a blank 房号); add only what is new.
        problems.retain(|new| {
            !plan
                .problems
                .iter()
                .any(|old| old.row == new.row && old.column == new.column)
        });
        plan.problems.append(&mut problems);
    }
    for row in parsed.rows {
        let mut problems = Vec::new();
        match resolve(
            &mut places,
            under,
            row.row,
            &row.address,
            allowed,
            &headers,
            &mut problems,
        ) {
            Some(household) => resolved.push((row, household)),
            // Never silently drop a row: an import with a missing row is not all-or-nothing.
            None if problems.is_empty() => problem(
                &headers,
                &mut problems,
                row.row,
                Field::House,
                ProblemKind::NoAddress,
            ),
            None => {}
        }
        plan.problems.append(&mut problems);
    }

    let id_numbers: Vec<_> = resolved
        .iter()
        .map(|(row, _)| row.id_number.clone())
        .collect();
    let existing: HashMap<String, ResidentRecord> = store
        .residents_by_id_numbers(district, &id_numbers)
        .await?
        .into_iter()
        .filter_map(|r| r.id_number.clone().map(|n| (n.expose().to_owned(), r)))
        .collect();
    for (row, household) in resolved {
        let before = existing.get(row.id_number.expose());
        if let Some(before) = before {
            if !allowed(&before.household) {
                plan.problems.push(Problem {
                    row: row.row,
                    column: headers.get(Field::IdNumber),
                    kind: ProblemKind::IdNumberOutsideScope,
                });
                continue;
            }
        }
        let address = places
            .records
            .get(&household.id())
            .and_then(|node| node.address.clone())
            .unwrap_or_default();
        let mut record = ResidentRecord {
            id: before.map_or_else(ResidentId::new_v7, |b| b.id),
            household,
            address,
            name: row.name,
            gender: row.gender,
            birth_date: Some(row.birth_date),
            ethnicity: row.ethnicity,
            id_number: Some(row.id_number),
            phone: row.phone,
            relation: row.relation,
            status: row.status,
            groups: row.groups,
            extra: before.map(|b| b.extra.clone()).unwrap_or_default(),
        };
        merge(row.row, before, &mut record);
        match before {
            Some(before) if *before == record => plan.unchanged += 1,
            Some(_) => {
                plan.updated += 1;
                plan.residents.push(record);
            }
            None => {
                plan.created += 1;
                plan.residents.push(record);
            }
        }
    }
    plan.nodes = places
        .created
        .iter()
        .filter_map(|id| places.records.get(id).cloned())
        .collect();
    plan.problems.sort_by_key(|problem| problem.row);
    Ok(plan)
}

/// The file's own headers, for reporting problems in its words.
struct Headers(HashMap<Field, String>);

impl Headers {
    fn get(&self, field: Field) -> String {
        self.0
            .get(&field)
            .cloned()
            .unwrap_or_else(|| field.header().to_owned())
    }
}

fn problem(
    headers: &Headers,
    problems: &mut Vec<Problem>,
    row: u32,
    field: Field,
    kind: ProblemKind,
) {
    problems.push(Problem {
        row,
        column: headers.get(field),
        kind,
    });
}

/// The household the address of Excel row `row` names, creating missing places inside a
/// compound.
fn resolve(
    places: &mut Places,
    under: &NodeRecord,
    row: u32,
    address: &Address,
    allowed: &(dyn Fn(&NodePath) -> bool + Send + Sync),
    headers: &Headers,
    problems: &mut Vec<Problem>,
) -> Option<NodePath> {
    let compounds: Vec<NodeId> = if under.path.kind() == NodeKind::Compound {
        if let Some(text) = &address.compound {
            if address_key(Field::Compound, text) != address_key(Field::Compound, &under.name) {
                problem(
                    headers,
                    problems,
                    row,
                    Field::Compound,
                    ProblemKind::CompoundNotTarget {
                        name: text.clone(),
                        target: under.name.clone(),
                    },
                );
                return None;
            }
        }
        vec![under.path.id()]
    } else {
        let Some(text) = &address.compound else {
            problem(headers, problems, row, Field::Compound, ProblemKind::Blank);
            return None;
        };
        match places.compounds.get(&address_key(Field::Compound, text)) {
            Some(ids) => ids.clone(),
            None => {
                problem(
                    headers,
                    problems,
                    row,
                    Field::Compound,
                    ProblemKind::UnknownCompound {
                        name: text.clone(),
                        under: under.name.clone(),
                    },
                );
                return None;
            }
        }
    };
    let compound_name = places
        .records
        .get(&compounds[0])
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let steps = [
        (NodeKind::Building, Field::Building, &address.building),
        (NodeKind::Entrance, Field::Entrance, &address.entrance),
        (NodeKind::Household, Field::House, &address.house),
    ];
    let mut parents = compounds;
    for (kind, field, text) in steps {
        let Some(text) = text else {
            problem(headers, problems, row, field, ProblemKind::Blank);
            return None;
        };
        let found = places.children_named(&parents, kind, text);
        let id = match found.as_slice() {
            [one] => *one,
            [] if parents.len() == 1 => {
                let parent = parents[0];
                let parent_path = places.records.get(&parent)?.path;
                if !allowed(&parent_path) {
                    problem(headers, problems, row, field, ProblemKind::OutsideScope);
                    return None;
                }
                places.create(parent, kind, text)?
            }
            [] => {
                problem(
                    headers,
                    problems,
                    row,
                    field,
                    ProblemKind::SplitCompound {
                        compound: compound_name,
                        kind,
                        name: text.clone(),
                    },
                );
                return None;
            }
            _ => {
                problem(
                    headers,
                    problems,
                    row,
                    field,
                    ProblemKind::AmbiguousPlace {
                        compound: compound_name,
                        kind,
                        name: text.clone(),
                    },
                );
                return None;
            }
        };
        parents = vec![id];
    }
    let household = places.records.get(&parents[0])?.path;
    if !allowed(&household) {
        problem(
            headers,
            problems,
            row,
            Field::House,
            ProblemKind::OutsideScope,
        );
        return None;
    }
    Some(household)
}
