//! The package managers behind `package`: how each one is asked what is
//! installed, what is outdated, what a transaction would do, and how it is
//! told to do it. Only command lines and the parsing of their output live
//! here; the query-then-apply logic is in the module.

use crate::connection::{ExecOutput, ExecRequest};
use crate::modules::{ModuleCtx, ModuleError};

use super::{PackageManager, PackageParams, Wanted, last_lines};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Apt,
    Dnf,
    Yum,
}

/// What a run has to do, and what the package manager said it would do.
#[derive(Debug, Default, Clone)]
pub(crate) struct Plan {
    pub install: Vec<String>,
    pub upgrade: Vec<String>,
    pub remove: Vec<String>,
    /// Every package the transaction would install or upgrade, dependencies included.
    pub would_install: Vec<String>,
    /// Every package it would remove, reverse dependencies included.
    pub would_remove: Vec<String>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.install.is_empty() && self.upgrade.is_empty() && self.remove.is_empty()
    }

    /// The packages the task names that will change.
    pub fn targets(&self) -> Vec<String> {
        self.install
            .iter()
            .chain(&self.upgrade)
            .chain(&self.remove)
            .cloned()
            .collect()
    }

    fn describe(&self, install: &str, upgrade: &str, remove: &str) -> String {
        let mut parts = Vec::new();
        for (verb, list) in [
            (install, &self.install),
            (upgrade, &self.upgrade),
            (remove, &self.remove),
        ] {
            if !list.is_empty() {
                parts.push(format!("{verb} {}", list.join(", ")));
            }
        }
        parts.join("; ")
    }

    pub fn summary(&self) -> String {
        self.describe("would install", "would upgrade", "would remove")
    }

    pub fn summary_done(&self) -> String {
        self.describe("installed", "upgraded", "removed")
    }
}

/// `name=version` (apt) split; `name:arch` keeps its architecture for the
/// query but matches on the bare name.
fn split_name(spec: &str) -> (&str, Option<&str>) {
    match spec.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (spec, None),
    }
}

fn bare(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Apt => "apt",
            Backend::Dnf => "dnf",
            Backend::Yum => "yum",
        }
    }

    /// The backend `use` asks for, else the one the facts name, else the
    /// first of apt-get, dnf and yum found on the host (one command).
    pub async fn detect(ctx: &ModuleCtx<'_>, use_: PackageManager) -> Result<Backend, ModuleError> {
        match use_ {
            PackageManager::Apt => return Ok(Backend::Apt),
            PackageManager::Dnf => return Ok(Backend::Dnf),
            PackageManager::Yum => return Ok(Backend::Yum),
            PackageManager::Auto => {}
        }
        let fact = ["pkg_mgr", "ansible_pkg_mgr"]
            .iter()
            .find_map(|k| ctx.facts.get(*k).and_then(|v| v.as_str()));
        match fact {
            Some("apt") => return Ok(Backend::Apt),
            Some("dnf" | "dnf5") => return Ok(Backend::Dnf),
            Some("yum") => return Ok(Backend::Yum),
            _ => {}
        }
        let probe = "for m in apt-get dnf yum; do if command -v $m >/dev/null 2>&1; then echo $m; exit 0; fi; done; exit 1";
        let out = ctx.exec(probe).await?;
        match out.stdout.trim() {
            "apt-get" => Ok(Backend::Apt),
            "dnf" => Ok(Backend::Dnf),
            "yum" => Ok(Backend::Yum),
            _ => Err(ModuleError::failed(
                "no supported package manager (apt-get, dnf, yum) found on the host\nhint: set `use` to choose one",
            )),
        }
    }

    /// A command with a C locale (the output is parsed) and, for apt, no
    /// questions asked.
    fn request(self, argv: &[String]) -> ExecRequest {
        let mut req = ExecRequest::argv(argv);
        req.env.push(("LC_ALL".into(), "C".into()));
        if self == Backend::Apt {
            req.env
                .push(("DEBIAN_FRONTEND".into(), "noninteractive".into()));
        }
        req
    }

    /// Refreshes the package lists unless they are younger than
    /// `cache_valid_time`. Returns whether they were refreshed.
    pub async fn update_cache(
        self,
        ctx: &ModuleCtx<'_>,
        p: &PackageParams,
    ) -> Result<bool, ModuleError> {
        let cmd = match self {
            Backend::Apt => {
                if let Some(valid) = p.cache_valid_time {
                    let age = ctx.exec(APT_CACHE_AGE).await?;
                    if cache_is_fresh(&age.stdout, valid) {
                        return Ok(false);
                    }
                }
                format!(
                    "apt-get update -q -o DPkg::Lock::Timeout={} && {APT_TOUCH}",
                    p.lock_timeout
                )
            }
            Backend::Dnf => "dnf -q -y makecache".to_string(),
            Backend::Yum => "yum -q -y makecache".to_string(),
        };
        let mut req = self.request(&[]);
        req.cmd = cmd;
        let out = ctx.exec_req(req).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(format!(
                "updating the package cache failed:\n{}",
                last_lines(&out.stdout, &out.stderr, 15)
            )));
        }
        Ok(true)
    }

    /// What has to change for the packages to be as wanted.
    pub async fn plan(
        self,
        ctx: &ModuleCtx<'_>,
        p: &PackageParams,
        wanted: Wanted,
    ) -> Result<Plan, ModuleError> {
        let installed = self.installed(ctx, &p.name).await?;
        let version_of = |spec: &str| {
            installed
                .iter()
                .find(|(n, _)| n == bare(split_name(spec).0))
                .map(|(_, v)| v)
        };
        let mut plan = Plan::default();
        for spec in &p.name {
            let (_, pinned) = split_name(spec);
            let have = version_of(spec);
            match (wanted, have, pinned) {
                (Wanted::Absent, Some(_), _) => plan.remove.push(split_name(spec).0.to_string()),
                (Wanted::Absent, None, _) => {}
                (_, None, _) => plan.install.push(spec.clone()),
                (_, Some(v), Some(pin)) if self == Backend::Apt && v != pin => {
                    plan.install.push(spec.clone())
                }
                _ => {}
            }
        }
        if wanted == Wanted::Latest {
            let candidates: Vec<String> = p
                .name
                .iter()
                .filter(|s| version_of(s).is_some() && split_name(s).1.is_none())
                .cloned()
                .collect();
            plan.upgrade = self.outdated(ctx, &candidates).await?;
        }
        if !plan.is_empty() {
            self.simulate(ctx, p, &mut plan).await?;
        }
        Ok(plan)
    }

    /// `(name, version)` of each named package that is installed: one
    /// `dpkg-query` or `rpm -q` for the whole list.
    async fn installed(
        self,
        ctx: &ModuleCtx<'_>,
        names: &[String],
    ) -> Result<Vec<(String, String)>, ModuleError> {
        let mut argv: Vec<String> = match self {
            Backend::Apt => vec![
                "dpkg-query".into(),
                "-W".into(),
                "-f=${Package}\t${Status}\t${Version}\n".into(),
            ],
            Backend::Dnf | Backend::Yum => vec![
                "rpm".into(),
                "-q".into(),
                "--qf".into(),
                "%{NAME}\t%{VERSION}-%{RELEASE}\n".into(),
            ],
        };
        argv.extend(names.iter().map(|n| split_name(n).0.to_string()));
        let out = ctx.exec_req(self.request(&argv)).await?;
        let found = match self {
            Backend::Apt => parse_dpkg_query(&out.stdout),
            Backend::Dnf | Backend::Yum => parse_rpm_query(&out.stdout),
        };
        // dpkg-query exits 1 and rpm exits with the number of missing
        // packages; anything unparsed beyond that is a real error.
        let failed = match self {
            Backend::Apt => out.rc > 1,
            Backend::Dnf | Backend::Yum => out.rc != 0 && !out.stdout.contains("is not installed"),
        };
        if failed {
            return Err(ModuleError::failed(format!(
                "cannot query the installed packages:\n{}",
                last_lines(&out.stdout, &out.stderr, 10)
            )));
        }
        Ok(found)
    }

    /// Which of these installed packages have a newer version available.
    async fn outdated(
        self,
        ctx: &ModuleCtx<'_>,
        names: &[String],
    ) -> Result<Vec<String>, ModuleError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let tool: &[&str] = match self {
            Backend::Apt => &["apt-cache", "policy"],
            Backend::Dnf => &["dnf", "-q", "check-update"],
            Backend::Yum => &["yum", "-q", "check-update"],
        };
        let mut argv: Vec<String> = tool.iter().map(|s| s.to_string()).collect();
        argv.extend(names.iter().cloned());
        let out = ctx.exec_req(self.request(&argv)).await?;
        // check-update exits 100 when updates are available.
        let ok = match self {
            Backend::Apt => out.rc == 0,
            Backend::Dnf | Backend::Yum => out.rc == 0 || out.rc == 100,
        };
        if !ok {
            return Err(ModuleError::failed(format!(
                "cannot learn which packages are outdated:\n{}",
                last_lines(&out.stdout, &out.stderr, 10)
            )));
        }
        let outdated = match self {
            Backend::Apt => parse_apt_policy(&out.stdout),
            Backend::Dnf | Backend::Yum => parse_check_update(&out.stdout),
        };
        Ok(names
            .iter()
            .filter(|n| outdated.iter().any(|o| o == bare(n)))
            .cloned()
            .collect())
    }

    /// Fills `would_install` and `would_remove`. apt simulates the
    /// transaction (and fails here when it cannot be done); dnf and yum
    /// report the named packages.
    async fn simulate(
        self,
        ctx: &ModuleCtx<'_>,
        p: &PackageParams,
        plan: &mut Plan,
    ) -> Result<(), ModuleError> {
        if self != Backend::Apt {
            plan.would_install = plan.install.iter().chain(&plan.upgrade).cloned().collect();
            plan.would_remove = plan.remove.clone();
            return Ok(());
        }
        for (verb, pkgs) in [
            ("install", [&plan.install[..], &plan.upgrade[..]].concat()),
            ("remove", plan.remove.clone()),
        ] {
            if pkgs.is_empty() {
                continue;
            }
            let mut argv = self.apt_argv(p, verb);
            argv.insert(1, "-s".into());
            argv.extend(pkgs.iter().cloned());
            let out = ctx.exec_req(self.request(&argv)).await?;
            if out.rc != 0 {
                return Err(ModuleError::failed(format!(
                    "apt-get cannot {verb} {}:\n{}",
                    pkgs.join(", "),
                    last_lines(&out.stdout, &out.stderr, 15)
                )));
            }
            let (inst, remv) = parse_apt_simulation(&out.stdout);
            plan.would_install.extend(inst);
            plan.would_remove.extend(remv);
        }
        Ok(())
    }

    /// `apt-get -y -q <options> VERB`, without the packages.
    fn apt_argv(self, p: &PackageParams, verb: &str) -> Vec<String> {
        let mut argv: Vec<String> = vec!["apt-get".into(), "-y".into(), "-q".into()];
        argv.push("-o".into());
        argv.push(format!("DPkg::Lock::Timeout={}", p.lock_timeout));
        for opt in p
            .dpkg_options
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            argv.push("-o".into());
            argv.push(format!("Dpkg::Options::=--{opt}"));
        }
        if verb == "install" {
            match p.install_recommends {
                Some(false) => argv.push("--no-install-recommends".into()),
                Some(true) => argv.push("--install-recommends".into()),
                None => {}
            }
            if p.allow_downgrade {
                argv.push("--allow-downgrades".into());
            }
        }
        argv.push(verb.into());
        argv
    }

    /// Runs the transaction. A non-zero exit is returned, not an error,
    /// so that the outcome carries the output.
    pub async fn run(
        self,
        ctx: &ModuleCtx<'_>,
        p: &PackageParams,
        plan: &Plan,
    ) -> Result<ExecOutput, ModuleError> {
        let mut steps: Vec<Vec<String>> = Vec::new();
        let mut step = |verb: &str, pkgs: &[String]| {
            if pkgs.is_empty() {
                return;
            }
            let mut argv = match self {
                Backend::Apt => self.apt_argv(p, verb),
                Backend::Dnf | Backend::Yum => {
                    let mut a = vec![self.name().to_string(), "-y".into()];
                    if p.install_recommends == Some(false) && verb != "remove" {
                        a.push("--setopt=install_weak_deps=False".into());
                    }
                    a.push(verb.into());
                    a
                }
            };
            argv.extend(pkgs.iter().cloned());
            steps.push(argv);
        };
        match self {
            // apt-get install upgrades a named package that is installed.
            Backend::Apt => step("install", &[&plan.install[..], &plan.upgrade[..]].concat()),
            Backend::Dnf | Backend::Yum => {
                step("install", &plan.install);
                step("upgrade", &plan.upgrade);
            }
        }
        step("remove", &plan.remove);
        let mut req = self.request(&[]);
        req.cmd = steps
            .iter()
            .map(|argv| ExecRequest::argv(argv).cmd)
            .collect::<Vec<_>>()
            .join(" && ");
        ctx.exec_req(req).await
    }
}

/// The age in seconds of apt's package lists, as Ansible's apt judges it:
/// the modification time of `periodic/update-success-stamp` when it
/// exists, else that of the lists directory (both found through
/// `apt-config`, so that `APT_CONFIG` is honoured). `none` when the lists
/// directory holds no `*_Packages` list at all: a fresh image whose
/// `apt-get update` never ran has a recent directory and nothing in it.
const APT_CACHE_AGE: &str = "L=/var/lib/apt/lists/ S=/var/lib/apt/; eval \"$(apt-config shell L Dir::State::lists/d S Dir::State/d 2>/dev/null)\"; \
     if ! ls -U \"$L\" 2>/dev/null | grep -q '_Packages'; then echo none; exit 0; fi; \
     f=\"${S%/}/periodic/update-success-stamp\"; [ -e \"$f\" ] || f=$L; \
     echo $(( $(date +%s) - $(stat -c %Y \"$f\") ))";

/// After a successful `apt-get update`: apt leaves the lists directory's
/// time alone when no list changed, and plain `apt-get update` does not
/// touch the stamp, so both are set to now (the stamp only if it exists).
const APT_TOUCH: &str = "L=/var/lib/apt/lists/ S=/var/lib/apt/; eval \"$(apt-config shell L Dir::State::lists/d S Dir::State/d 2>/dev/null)\"; \
     touch \"$L\"; f=\"${S%/}/periodic/update-success-stamp\"; if [ -e \"$f\" ]; then touch \"$f\"; fi";

/// Whether the answer of [`APT_CACHE_AGE`] is younger than `valid`
/// seconds. No lists, or an answer that is not a number, is stale.
pub(crate) fn cache_is_fresh(answer: &str, valid: i64) -> bool {
    answer
        .trim()
        .parse::<i64>()
        .is_ok_and(|age| age >= 0 && age < valid)
}

/// `name<TAB>want ok status<TAB>version` lines; installed when the status
/// word is `installed` (held packages too).
pub(crate) fn parse_dpkg_query(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (name, status, version) = (f.next()?, f.next()?, f.next()?);
            (status.split_whitespace().last() == Some("installed"))
                .then(|| (name.to_string(), version.to_string()))
        })
        .collect()
}

/// `name<TAB>version-release` lines; `package X is not installed` is skipped.
pub(crate) fn parse_rpm_query(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// Names whose `Installed:` version differs from an available `Candidate:`.
pub(crate) fn parse_apt_policy(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut name, mut installed) = (None::<&str>, None::<&str>);
    for line in stdout.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            name = Some(line.trim_end_matches(':'));
            installed = None;
        } else if let Some(v) = line.trim().strip_prefix("Installed:") {
            installed = Some(v.trim());
        } else if let Some(c) = line.trim().strip_prefix("Candidate:") {
            let c = c.trim();
            if let (Some(n), Some(i)) = (name, installed) {
                if i != "(none)" && c != "(none)" && c != i {
                    out.push(bare(n).to_string());
                }
            }
        }
    }
    out
}

/// `name.arch  version  repo` lines of `dnf check-update`.
pub(crate) fn parse_check_update(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.starts_with(' ') && l.split_whitespace().count() == 3)
        .filter_map(|l| {
            let first = l.split_whitespace().next()?;
            Some(first.rsplit_once('.').map_or(first, |(n, _)| n).to_string())
        })
        .collect()
}

/// The `Inst NAME ...` and `Remv NAME ...` lines of `apt-get -s`.
pub(crate) fn parse_apt_simulation(stdout: &str) -> (Vec<String>, Vec<String>) {
    let (mut inst, mut remv) = (Vec::new(), Vec::new());
    for line in stdout.lines() {
        let mut w = line.split_whitespace();
        match (w.next(), w.next()) {
            (Some("Inst"), Some(n)) => inst.push(n.to_string()),
            (Some("Remv"), Some(n)) => remv.push(n.to_string()),
            _ => {}
        }
    }
    (inst, remv)
}
