//! The simulated clusters: one, or many behind one listener, each addressed by a `/c{i}` path
//! prefix and created on first use (for benchmarks that need thousands of clusters).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use crate::profile::Profile;
use crate::settings::NodeSettings;
use crate::sim::Sim;

/// What each simulated cluster starts from.
pub struct Template {
    pub profile: Profile,
    pub data_dir: PathBuf,
    pub path_repo: Vec<PathBuf>,
    pub settings: NodeSettings,
    pub rate_bytes_per_sec: u64,
    pub cluster_name: String,
}

pub enum Fleet {
    Single(Arc<Mutex<Sim>>),
    Many { count: usize, template: Box<Template>, sims: RwLock<HashMap<usize, Arc<Mutex<Sim>>>> },
}

impl Fleet {
    /// One cluster, or `count` clusters under `/c0` … `/c{count-1}`.
    pub fn new(template: Template, count: usize) -> anyhow::Result<Self> {
        if count <= 1 {
            let sim = Sim::open(
                template.profile,
                &template.data_dir,
                template.path_repo,
                template.settings,
                template.rate_bytes_per_sec,
                template.cluster_name,
            )?;
            return Ok(Self::Single(Arc::new(Mutex::new(sim))));
        }
        Ok(Self::Many { count, template: Box::new(template), sims: RwLock::new(HashMap::new()) })
    }

    /// The cluster `path` addresses, and the path within that cluster.
    pub fn route<'p>(&self, path: &'p str) -> Option<(Arc<Mutex<Sim>>, &'p str)> {
        let (count, template, sims) = match self {
            Self::Single(sim) => return Some((sim.clone(), path)),
            Self::Many { count, template, sims } => (count, template, sims),
        };
        let rest = path.strip_prefix("/c")?;
        let (digits, inner) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let index: usize = digits.parse().ok().filter(|i| i < count)?;
        if let Some(sim) = sims.read().expect("fleet lock").get(&index) {
            return Some((sim.clone(), inner));
        }
        let mut sims = sims.write().expect("fleet lock");
        let sim = match sims.get(&index) {
            Some(sim) => sim.clone(),
            None => {
                let sim = Sim::open(
                    template.profile.clone(),
                    &template.data_dir.join(format!("c{index}")),
                    template.path_repo.clone(),
                    template.settings.clone(),
                    template.rate_bytes_per_sec,
                    format!("{}-{index}", template.cluster_name),
                )
                .ok()?;
                let sim = Arc::new(Mutex::new(sim));
                sims.insert(index, sim.clone());
                sim
            }
        };
        Some((sim, inner))
    }

    /// Every cluster created so far.
    pub fn all(&self) -> Vec<Arc<Mutex<Sim>>> {
        match self {
            Self::Single(sim) => vec![sim.clone()],
            Self::Many { sims, .. } => sims.read().expect("fleet lock").values().cloned().collect(),
        }
    }
}
