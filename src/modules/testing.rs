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
    /// The local connection.
    pub conn: Arc<dyn crate::connection::Connection>,
    /// The templar, with the default options.
    pub templar: Templar,
    /// What templates see.
    pub vars: minijinja::Value,
    /// Run-wide services that go nowhere.
    pub services: Services,
    /// Where `src:` files are looked up.
    pub search_paths: Vec<PathBuf>,
    /// The host's facts.
    pub facts: Map<String, Value>,
    /// Check mode.
    pub check: bool,
    /// Diff mode (on by default).
    pub diff: bool,
}

impl TestHost {
    /// A local host with no variables.
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

    /// The context a module sees, borrowing from this host.
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
