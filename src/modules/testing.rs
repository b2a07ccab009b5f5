//! Helpers for the modules' unit tests: a module context on the local
//! connection, and a way to run a module through the real protocol.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ModuleCtx, ModuleError, Outcome, Registry, Services, invoke};
use crate::connection::local::LocalConnection;
use crate::template::{Layer, Templar, TemplarOptions, VarScope};

/// Everything a [`ModuleCtx`] borrows, owned in one place.
pub struct TestHost {
    pub conn: Arc<dyn crate::connection::Connection>,
    pub templar: Templar,
    pub vars: minijinja::Value,
    pub services: Services,
    pub search_paths: Vec<PathBuf>,
    pub facts: Map<String, Value>,
    pub check: bool,
    pub diff: bool,
}

impl TestHost {
    pub fn new() -> Self {
        TestHost::with_vars(Value::Object(Map::new()))
    }

    /// A host whose templates see `vars` (a JSON object).
    pub fn with_vars(vars: Value) -> Self {
        let Value::Object(map) = vars else {
            panic!("vars must be an object")
        };
        TestHost {
            conn: Arc::new(LocalConnection::new()),
            templar: Templar::new(TemplarOptions::default()),
            vars: VarScope::new(vec![Layer::new("vars", map)]).into_value(),
            services: Services {
                http: reqwest::Client::new(),
                redactor: Default::default(),
                registry: Arc::new(Registry::builtin()),
                openstack: Default::default(),
                notes: Arc::new(super::NoNotes),
                ids: Default::default(),
            },
            search_paths: Vec::new(),
            facts: Map::new(),
            check: false,
            diff: true,
        }
    }

    pub fn ctx(&self) -> ModuleCtx<'_> {
        ModuleCtx {
            host: "testhost",
            conn: &self.conn,
            become_: None,
            check: self.check,
            diff: self.diff,
            verbosity: 0,
            env: &[],
            vars: &self.vars,
            templar: &self.templar,
            search_paths: &self.search_paths,
            services: &self.services,
            facts: &self.facts,
            timeout: None,
        }
    }

    /// Runs a registered module with `args` (a JSON object) through the
    /// query-then-apply protocol, as the executor does.
    pub async fn run(&self, module: &str, args: Value) -> Result<Outcome, ModuleError> {
        let Value::Object(args) = args else {
            panic!("args must be an object")
        };
        let m = self
            .services
            .registry
            .get(module)
            .unwrap_or_else(|| panic!("no module {module}"))
            .clone();
        invoke(m.as_ref(), &args, &self.ctx()).await
    }
}

impl Default for TestHost {
    fn default() -> Self {
        TestHost::new()
    }
}
