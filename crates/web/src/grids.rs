//! Point → grid routing for request intake: one [`GridIndex`] per district, built from the
//! stored grid boundaries when first asked and rebuilt after boundaries change.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use mulin_domain::ids::{DistrictId, NodeId};
use mulin_domain::tree::{NodeKind, NodePath};
use mulin_geo::GridIndex;
use mulin_storage::{Storage, StoreError};

/// Indexes by district. A build started before boundaries changed is not kept.
pub struct GridRouter {
    store: Arc<dyn Storage>,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    indexes: HashMap<DistrictId, Arc<GridIndex<NodeId>>>,
    /// Bumped on every change, so a slower build of older boundaries is thrown away.
    generation: HashMap<DistrictId, u64>,
}

impl GridRouter {
    /// An empty router over `store`.
    pub fn new(store: Arc<dyn Storage>) -> GridRouter {
        GridRouter {
            store,
            inner: RwLock::new(Inner::default()),
        }
    }

    /// The grid holding the point (WGS-84 longitude, latitude), if any. A point on a shared
    /// edge goes to the grid east (or north) of it; see [`mulin_geo::index`].
    pub async fn locate(
        &self,
        district: DistrictId,
        lon: f64,
        lat: f64,
    ) -> Result<Option<NodeId>, StoreError> {
        Ok(self.index(district).await?.locate(lon, lat))
    }

    /// The district's index, built from storage when missing.
    pub async fn index(&self, district: DistrictId) -> Result<Arc<GridIndex<NodeId>>, StoreError> {
        let generation = {
            let inner = self.inner.read().map_err(|_| poisoned())?;
            if let Some(index) = inner.indexes.get(&district) {
                return Ok(index.clone());
            }
            inner.generation.get(&district).copied().unwrap_or(0)
        };
        let index = Arc::new(self.build(district).await?);
        let mut inner = self.inner.write().map_err(|_| poisoned())?;
        if inner.generation.get(&district).copied().unwrap_or(0) == generation {
            inner.indexes.insert(district, index.clone());
        }
        Ok(index)
    }

    /// Forgets the district's index after its boundaries changed, and builds it anew.
    pub async fn refresh(&self, district: DistrictId) -> Result<(), StoreError> {
        {
            let mut inner = self.inner.write().map_err(|_| poisoned())?;
            inner.indexes.remove(&district);
            *inner.generation.entry(district).or_insert(0) += 1;
        }
        self.index(district).await.map(|_| ())
    }

    async fn build(&self, district: DistrictId) -> Result<GridIndex<NodeId>, StoreError> {
        let root = NodePath::root(district.into());
        let nodes = self.store.subtree(district, &root, NodeKind::Grid).await?;
        let grids: Vec<(NodeId, _)> = nodes
            .iter()
            .filter(|n| n.path.kind() == NodeKind::Grid)
            .filter_map(|n| {
                let shape = mulin_geo::parse_geometry(n.geometry.as_deref()?).ok()?;
                Some((n.path.id(), shape))
            })
            .collect();
        Ok(GridIndex::new(&grids))
    }
}

fn poisoned() -> StoreError {
    StoreError::Corrupt("grid index lock poisoned".into())
}
