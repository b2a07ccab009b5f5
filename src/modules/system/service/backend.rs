//! The init systems behind `service`: systemd, sysvinit (Debian's
//! /etc/init.d scripts) and OpenRC. Each is asked for a service's state in
//! one command, and told to start, stop, restart, reload, enable or
//! disable it. The decisions (what to do, when to fail) are the module's.

use crate::connection::{ExecOutput, ExecRequest, shell_quote};
use crate::modules::{ModuleCtx, ModuleError};

use super::ServiceManager;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InitSystem {
    Systemd,
    Sysvinit,
    Openrc,
}

/// What one status command learned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status {
    pub exists: bool,
    pub running: bool,
    pub enabled: bool,
}

/// A change to make, as the init system names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Start,
    Stop,
    Restart,
    Reload,
    Enable,
    Disable,
}

impl Verb {
    pub fn word(self) -> &'static str {
        match self {
            Verb::Start => "start",
            Verb::Stop => "stop",
            Verb::Restart => "restart",
            Verb::Reload => "reload",
            Verb::Enable => "enable",
            Verb::Disable => "disable",
        }
    }
}

impl InitSystem {
    pub fn name(self) -> &'static str {
        match self {
            InitSystem::Systemd => "systemd",
            InitSystem::Sysvinit => "sysvinit",
            InitSystem::Openrc => "openrc",
        }
    }

    /// `use`, else the `service_mgr` fact, else a probe: systemd only when
    /// it runs as PID 1 (`/run/systemd/system` exists).
    pub async fn detect(
        ctx: &ModuleCtx<'_>,
        use_: ServiceManager,
    ) -> Result<InitSystem, ModuleError> {
        match use_ {
            ServiceManager::Systemd => return Ok(InitSystem::Systemd),
            ServiceManager::Sysvinit => return Ok(InitSystem::Sysvinit),
            ServiceManager::Openrc => return Ok(InitSystem::Openrc),
            ServiceManager::Auto => {}
        }
        let fact = ["service_mgr", "ansible_service_mgr"]
            .iter()
            .find_map(|k| ctx.facts.get(*k).and_then(|v| v.as_str()));
        match fact {
            Some("systemd") => return Ok(InitSystem::Systemd),
            Some("openrc") => return Ok(InitSystem::Openrc),
            Some("sysvinit" | "service" | "upstart") => return Ok(InitSystem::Sysvinit),
            _ => {}
        }
        let probe = "if [ -d /run/systemd/system ]; then echo systemd; \
                     elif [ -d /run/openrc ] && command -v rc-service >/dev/null 2>&1; then echo openrc; \
                     else echo sysvinit; fi";
        let out = ctx.exec(probe).await?;
        Ok(match out.stdout.trim() {
            "systemd" => InitSystem::Systemd,
            "openrc" => InitSystem::Openrc,
            _ => InitSystem::Sysvinit,
        })
    }

    /// Whether the service exists, runs, and starts at boot: one command.
    /// A `pattern` replaces the init system's status, as in Ansible; it is
    /// passed on stdin so that the check never finds its own command line.
    pub async fn status(
        self,
        ctx: &ModuleCtx<'_>,
        name: &str,
        pattern: Option<&str>,
    ) -> Result<Status, ModuleError> {
        let n = shell_quote(name);
        let script = match self {
            InitSystem::Systemd => format!(
                "systemctl show -p LoadState -p ActiveState -p UnitFileState {n} | sed 's/^/ /'; \
                 if [ -n \"$P\" ]; then pgrep -f -- \"$P\" >/dev/null && echo running || echo stopped; fi"
            ),
            InitSystem::Sysvinit => format!(
                "s=/etc/init.d/{n}; [ -x \"$s\" ] || {{ echo missing; exit 0; }}; \
                 if ls /etc/rc[2345].d/S??{n} >/dev/null 2>&1; then echo enabled; fi; \
                 if [ -z \"$P\" ] && grep -Eq \"(^|[[:space:]|(])'?status'?[[:space:]]*[|)]\" \"$s\"; then \
                   if command -v service >/dev/null 2>&1; then service {n} status >/dev/null 2>&1; else \"$s\" status >/dev/null 2>&1; fi; \
                   case $? in 0) {NOT_ZOMBIE}; exit 0;; 1|2|3) echo stopped; exit 0;; esac; fi; {FALLBACK}"
            ),
            InitSystem::Openrc => format!(
                "[ -e /etc/init.d/{n} ] || {{ echo missing; exit 0; }}; \
                 rc-update show default 2>/dev/null | grep -qw {n} && echo enabled; \
                 if [ -z \"$P\" ]; then if rc-service {n} status >/dev/null 2>&1; then {NOT_ZOMBIE}; else echo stopped; fi; exit 0; fi; {FALLBACK}"
            ),
        };
        let script = format!("IFS= read -r P; N={n}; {ALIVE} {script}");
        let req = ExecRequest {
            cmd: script,
            stdin: Some(format!("{}\n", pattern.unwrap_or_default()).into_bytes()),
            ..Default::default()
        };
        let out = ctx.exec_req(req).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(format!(
                "cannot learn the state of service {name}: {}",
                out.stderr.trim()
            )));
        }
        Ok(match self {
            InitSystem::Systemd => parse_systemd_show(&out.stdout),
            _ => parse_words(&out.stdout),
        })
    }

    /// Runs one change. The output is returned whatever the exit code.
    pub async fn run(
        self,
        ctx: &ModuleCtx<'_>,
        name: &str,
        verb: Verb,
    ) -> Result<ExecOutput, ModuleError> {
        let n = shell_quote(name);
        let w = verb.word();
        let cmd = match (self, verb) {
            (InitSystem::Systemd, _) => format!("systemctl {w} {n}"),
            (InitSystem::Sysvinit, Verb::Enable) => format!(
                "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {n} defaults && update-rc.d {n} enable; \
                 else chkconfig {n} on; fi"
            ),
            (InitSystem::Sysvinit, Verb::Disable) => format!(
                "if command -v update-rc.d >/dev/null 2>&1; then update-rc.d {n} defaults >/dev/null 2>&1; update-rc.d {n} disable; \
                 else chkconfig {n} off; fi"
            ),
            (InitSystem::Sysvinit, _) => {
                format!(
                    "if command -v service >/dev/null 2>&1; then service {n} {w}; else /etc/init.d/{n} {w}; fi"
                )
            }
            (InitSystem::Openrc, Verb::Enable) => format!("rc-update add {n} default"),
            (InitSystem::Openrc, Verb::Disable) => format!("rc-update del {n} default"),
            (InitSystem::Openrc, _) => format!("rc-service {n} {w}"),
        };
        ctx.exec(cmd).await
    }

    /// The last lines of the service's log, for a failure message: its own
    /// log file in the places Debian's packages use, else the journal.
    pub async fn log_tail(
        self,
        ctx: &ModuleCtx<'_>,
        name: &str,
        lines: usize,
    ) -> Result<String, ModuleError> {
        let n = shell_quote(name);
        let journal = if self == InitSystem::Systemd {
            format!("journalctl -u {n} -n {lines} --no-pager 2>/dev/null")
        } else {
            String::new()
        };
        let script = format!(
            "n={n}; p=${{n%%-*}}; \
             for f in /var/log/$n.log /var/log/$p/$n.log /var/log/$n/$n.log \"$(ls -t /var/log/$n/*.log 2>/dev/null | head -n 1)\"; do \
               if [ -n \"$f\" ] && [ -f \"$f\" ]; then echo \"==> $f <==\"; tail -n {lines} \"$f\"; exit 0; fi; done; {journal}"
        );
        let out = ctx.exec(script).await?;
        Ok(out.stdout.trim_end().to_string())
    }
}

/// Shell helpers. `alive PID`: the process exists and is not a zombie (a
/// daemon that died under an init that does not reap, as in containers,
/// stays a zombie and still answers `kill -0`). `pidfile`: the first PID
/// file of the service `$N` found in the usual places, PROJECT being the
/// part of the name before the first dash (/run/nova/nova-compute.pid).
const ALIVE: &str = "alive() { kill -0 \"$1\" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/\"$1\"/status 2>/dev/null; }; \
     pidfile() { for f in /run/$N.pid /run/$N/$N.pid /run/${N%%-*}/$N.pid /var/run/$N.pid; do \
       if [ -r \"$f\" ]; then echo \"$f\"; return 0; fi; done; return 1; };";

/// After the init system said "running": unless the service's PID file
/// names a dead or zombie process.
const NOT_ZOMBIE: &str =
    "if f=$(pidfile) && ! alive \"$(cat \"$f\")\"; then echo stopped; else echo running; fi";

/// Without a status answer: the pattern (from stdin, in `$P`), else a PID
/// file, else a process named like the service (`$N`).
const FALLBACK: &str = "if [ -n \"$P\" ]; then pgrep -f -- \"$P\" >/dev/null && echo running || echo stopped; exit 0; fi; \
     if f=$(pidfile); then alive \"$(cat \"$f\")\" && echo running || echo stopped; exit 0; fi; \
     pgrep -x \"$(printf %.15s \"$N\")\" >/dev/null && echo running || echo stopped";

/// The words `missing`, `enabled`, `running` of the sysvinit and OpenRC
/// status scripts.
pub(crate) fn parse_words(stdout: &str) -> Status {
    let has = |w: &str| stdout.lines().any(|l| l.trim() == w);
    Status {
        exists: !has("missing"),
        running: has("running"),
        enabled: has("enabled"),
    }
}

/// `systemctl show` properties (indented by the script), then the
/// fallback's word when a pattern was given.
pub(crate) fn parse_systemd_show(stdout: &str) -> Status {
    let prop = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(key).and_then(|r| r.strip_prefix('=')))
            .unwrap_or("")
    };
    let words = parse_words(stdout);
    let pattern_said = stdout.lines().any(|l| l == "running" || l == "stopped");
    Status {
        exists: prop("LoadState") != "not-found",
        running: if pattern_said {
            words.running
        } else {
            prop("ActiveState") == "active"
        },
        enabled: matches!(
            prop("UnitFileState"),
            "enabled" | "enabled-runtime" | "static" | "alias"
        ),
    }
}
