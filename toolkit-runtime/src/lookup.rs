//! The other tools of a catalog, as a connector sees them when one tool uses another's
//! connection (a kubectl tool and its kubernetes tool).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, Weak};

use toolkit_core::connector::{ToolInstance, ToolLookup};
use toolkit_core::{Catalog, Error, Result, Tool, ToolRef};

use crate::PreparedTool;

/// The valid tools of a catalog and, once prepared, their instances. Instances are held weakly:
/// the runtime owns them, and a tool that uses another does not keep it alive.
pub(crate) struct CatalogTools {
    tools: BTreeMap<ToolRef, Arc<Tool>>,
    instances: OnceLock<Prepared>,
}

struct Prepared {
    instances: BTreeMap<ToolRef, Weak<dyn ToolInstance>>,
    unserved: BTreeMap<ToolRef, String>,
}

impl CatalogTools {
    pub(crate) fn new(catalog: &Catalog) -> Self {
        let tools = catalog
            .tools
            .iter()
            .filter(|(_, l)| l.is_valid())
            .filter_map(|(r, l)| Some((r.clone(), l.tool.clone()?)))
            .collect();
        Self { tools, instances: OnceLock::new() }
    }

    /// Records the prepared instances, once every tool is built.
    pub(crate) fn prepared(
        &self,
        prepared: &BTreeMap<ToolRef, Arc<PreparedTool>>,
        unserved: &BTreeMap<ToolRef, String>,
    ) {
        let instances = prepared.iter().map(|(r, p)| (r.clone(), Arc::downgrade(p.instance()))).collect();
        let _ = self.instances.set(Prepared { instances, unserved: unserved.clone() });
    }
}

impl ToolLookup for CatalogTools {
    fn tool(&self, reference: &ToolRef) -> Option<Arc<Tool>> {
        self.tools.get(reference).cloned()
    }

    fn instance(&self, reference: &ToolRef) -> Result<Arc<dyn ToolInstance>> {
        let Some(p) = self.instances.get() else {
            return Err(Error::internal(format!("use tool {reference}: the catalog is not prepared yet")));
        };
        if let Some(instance) = p.instances.get(reference).and_then(Weak::upgrade) {
            return Ok(instance);
        }
        Err(match p.unserved.get(reference) {
            Some(why) => Error::config(format!("tool {reference} is not usable: {why}")),
            None => Error::not_found(format!("tool {reference} is not declared")),
        })
    }
}
