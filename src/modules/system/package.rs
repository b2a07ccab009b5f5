//! `package`: install, upgrade or remove OS packages with apt, dnf or yum.
//!
//! One query command learns the state of every named package; the package
//! manager runs only when something is missing, outdated or to be removed.
//! The backends' command lines live in [`backend`].

mod backend;

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::modules::{
    Action, ApplyPlan, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned, Query,
    parse_params,
};
use backend::{Backend, Plan};

/// Installs, upgrades or removes packages (apt, dnf or yum).
///
/// Like ansible.builtin.package with the parameters of ansible.builtin.apt
/// and dnf. The package manager comes from the host's facts (`pkg_mgr`)
/// or, without facts, from which of apt-get, dnf and yum the host has;
/// `use` forces one. Package names are passed as they are: playbooks
/// choose the names of each OS family. With apt, `name=version` asks for
/// that version.
///
/// One command learns the state of all the packages (`dpkg-query` or
/// `rpm -q`); nothing runs when they are all as wanted. When something
/// would change, apt simulates the transaction first (`apt-get -s`): check
/// mode reports what would be installed and removed, dependencies
/// included (`would_install`, `would_remove`), and a missing package fails
/// even in check mode. apt runs non-interactively
/// (`DEBIAN_FRONTEND=noninteractive`), keeps changed configuration files
/// (`dpkg_options`), and waits up to `lock_timeout` seconds for the dpkg
/// lock held by another apt.
///
/// A failure names the packages and shows the package manager's own last
/// lines of output.
///
/// `cache_valid_time` (which, as in Ansible, implies `update_cache`)
/// skips the refresh when the lists are younger than that many seconds.
/// Their age is Ansible's: the modification time of
/// /var/lib/apt/periodic/update-success-stamp when it exists, else that of
/// /var/lib/apt/lists (as `apt-config` places them). Unlike Ansible, lists
/// that hold no `*_Packages` file count as stale whatever their time: a
/// fresh image where `apt-get update` never ran has an empty, recent
/// /var/lib/apt/lists, and trusting it made every install "Unable to
/// locate package".
///
/// Differences from Ansible: an `update_cache` that runs reports
/// `cache_updated: true` but does not by itself make the task changed, and
/// is skipped in check mode; after a successful `apt-get update` the
/// modification times of /var/lib/apt/lists and of the stamp (when it
/// exists) are set to now so that `cache_valid_time` sees the update (apt
/// leaves the directory alone when no list changed, and only apt's daily
/// job touches the stamp); `lock_timeout` defaults to 300 seconds;
/// `allow_downgrade` and `dpkg_options` are apt only; `purge`,
/// `autoremove`, `deb`, `upgrade` and globs in names are not supported.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackageParams {
    /// The package name or a list of them (`name=version` with apt).
    #[serde(deserialize_with = "crate::value::de_string_list")]
    #[schemars(extend("x-aliases" = ["pkg"]))]
    pub name: Vec<String>,
    /// present (or installed), absent (or removed), or latest.
    #[serde(default)]
    pub state: PackageState,
    /// Refresh the package lists first (`apt-get update`, `dnf makecache`).
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    pub update_cache: bool,
    /// Refresh the lists only when they are older than this many seconds,
    /// or when there are none (apt; implies `update_cache`).
    #[serde(default, deserialize_with = "crate::value::de_opt_int")]
    pub cache_valid_time: Option<i64>,
    /// The package manager: auto (from facts, else probed), apt, dnf or yum.
    #[serde(default, rename = "use")]
    pub use_: PackageManager,
    /// apt: install recommended packages too (default: apt's own setting).
    #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
    pub install_recommends: Option<bool>,
    /// apt: allow installing an older version than the installed one.
    #[serde(default, deserialize_with = "crate::value::de_bool")]
    pub allow_downgrade: bool,
    /// apt: options passed to dpkg, comma separated, without the `--`.
    #[serde(default = "default_dpkg_options")]
    pub dpkg_options: String,
    /// apt: seconds to wait for the dpkg lock held by another process.
    #[serde(
        default = "default_lock_timeout",
        deserialize_with = "crate::value::de_int"
    )]
    pub lock_timeout: i64,
}

fn default_dpkg_options() -> String {
    "force-confdef,force-confold".into()
}

fn default_lock_timeout() -> i64 {
    300
}

/// The wanted state. `installed` and `removed` are Ansible's other names.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackageState {
    /// Installed (any version).
    #[default]
    Present,
    /// As `present`.
    Installed,
    /// Not installed.
    Absent,
    /// As `absent`.
    Removed,
    /// Installed, at the newest version available.
    Latest,
}

/// `use:` of package: the package manager to drive.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    /// Detected on the host.
    #[default]
    Auto,
    /// apt (Debian, Ubuntu).
    Apt,
    /// dnf.
    Dnf,
    /// yum.
    Yum,
}

/// The state with Ansible's synonyms folded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wanted {
    Present,
    Absent,
    Latest,
}

/// The `package` module.
pub struct PackageModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let spec = ModuleSpec::native::<PackageParams>("package").with_examples(
        "- package:\n    name: [keystone, apache2, libapache2-mod-wsgi-py3]\n    update_cache: true\n    cache_valid_time: 3600\n\n\
         - package:\n    name: nova-compute\n    state: latest\n    install_recommends: false",
    );
    vec![Arc::new(PackageModule { spec })]
}

impl Module for PackageModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: PackageParams = parse_params(args)?;
        if p.name.is_empty() {
            return Err(ModuleError::Params("`name` lists no package".into()));
        }
        if let Some(bad) = p
            .name
            .iter()
            .find(|n| n.starts_with('-') || n.contains(char::is_whitespace))
        {
            return Err(ModuleError::Params(format!("invalid package name '{bad}'")));
        }
        if p.lock_timeout < 0 || p.cache_valid_time.is_some_and(|t| t < 0) {
            return Err(ModuleError::Params(
                "`lock_timeout` and `cache_valid_time` cannot be negative".into(),
            ));
        }
        if p.dpkg_options
            .split(',')
            .any(|o| o.trim().starts_with('-') || o.contains(char::is_whitespace))
        {
            return Err(ModuleError::Params(format!(
                "invalid dpkg_options '{}': give option names without `--`, comma separated",
                p.dpkg_options
            )));
        }
        let wanted = match p.state {
            PackageState::Present | PackageState::Installed => Wanted::Present,
            PackageState::Absent | PackageState::Removed => Wanted::Absent,
            PackageState::Latest => Wanted::Latest,
        };
        Ok(Box::new(PackageAction {
            p,
            wanted,
            backend: None,
            cache_updated: false,
        }))
    }
}

struct PackageAction {
    p: PackageParams,
    wanted: Wanted,
    /// The package manager, once detected.
    backend: Option<Backend>,
    /// Whether `prepare` refreshed the package cache.
    cache_updated: bool,
}

#[async_trait]
impl Action for PackageAction {
    /// Detects the package manager and refreshes its cache when asked:
    /// what is installable can only be known after that. The refresh is a
    /// change to the host, so check mode skips it.
    async fn prepare(&mut self, ctx: &ModuleCtx<'_>) -> Result<(), ModuleError> {
        let backend = Backend::detect(ctx, self.p.use_).await?;
        self.backend = Some(backend);
        if (self.p.update_cache || self.p.cache_valid_time.is_some()) && !ctx.check {
            self.cache_updated = backend.update_cache(ctx, &self.p).await?;
        }
        Ok(())
    }

    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let backend = match self.backend {
            Some(b) => b,
            None => Backend::detect(ctx, self.p.use_).await?,
        };
        self.backend = Some(backend);
        let plan = backend.plan(ctx, &self.p, self.wanted).await?;
        if plan.is_empty() {
            let msg = match self.wanted {
                Wanted::Absent => "all packages are absent",
                Wanted::Present => "all packages are installed",
                Wanted::Latest => "all packages are installed and up to date",
            };
            return Ok(Query::Unchanged(self.base(Outcome::ok()).with_msg(msg)));
        }
        let mut change = Change::new()
            .with_msg(plan.summary())
            .with("would_install", plan.would_install.clone())
            .with("would_remove", plan.would_remove.clone())
            .with("cache_updated", self.cache_updated);
        change.data.insert("backend".into(), backend.name().into());
        Ok(Query::Change(
            change,
            Planned::boxed(*self, PackagePlan { backend, plan }),
        ))
    }
}

/// The package manager and what the query decided it must do.
struct PackagePlan {
    backend: Backend,
    plan: Plan,
}

#[async_trait]
impl ApplyPlan for PackageAction {
    type Plan = PackagePlan;

    async fn apply_plan(
        self,
        PackagePlan { backend, plan }: PackagePlan,
        ctx: &ModuleCtx<'_>,
    ) -> Result<Outcome, ModuleError> {
        let out = backend.run(ctx, &self.p, &plan).await?;
        let mut outcome = self
            .base(Outcome::changed())
            .with("installed", plan.install.clone())
            .with("upgraded", plan.upgrade.clone())
            .with("removed", plan.remove.clone())
            .with("rc", out.rc)
            .with("stdout", out.stdout.clone())
            .with("stderr", out.stderr.clone());
        if out.rc != 0 {
            outcome.failed = true;
            outcome.msg = Some(format!(
                "{} failed for {}:\n{}",
                backend.name(),
                plan.targets().join(", "),
                last_lines(&out.stdout, &out.stderr, 15)
            ));
        } else {
            outcome.msg = Some(plan.summary_done());
        }
        Ok(outcome)
    }
}

impl PackageAction {
    fn base(&self, outcome: Outcome) -> Outcome {
        let outcome = outcome.with("cache_updated", self.cache_updated);
        match self.backend {
            Some(b) => outcome.with("backend", b.name()),
            None => outcome,
        }
    }
}

/// The last `n` non-empty lines of a command's output, stderr last (that
/// is where apt and dnf put the reason).
pub(crate) fn last_lines(stdout: &str, stderr: &str, n: usize) -> String {
    let lines: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
#[path = "package_tests.rs"]
mod tests;
