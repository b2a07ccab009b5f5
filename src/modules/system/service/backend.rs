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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Status {
    pub exists: bool,
    pub running: bool,
    pub enabled: bool,
    /// The service's processes, when the check found them (sysvinit and
    /// OpenRC; empty when only the script's `status` answered).
    pub pids: Vec<u32>,
    /// What decided `running`: `pattern`, `pidfile PATH`, `process name`,
    /// `status`, or the init system's name.
    pub by: String,
    /// The PID file that was read (sysvinit), alive or not.
    pub pidfile: Option<String>,
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
    /// passed on stdin (with the process-name expression) so that the
    /// check never finds its own command line. For sysvinit the processes
    /// decide before the script's `status` does: see [`SYSV_RUNNING`].
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
                 if [ -n \"$P\" ]; then {FALLBACK}; fi"
            ),
            InitSystem::Sysvinit => format!(
                "s=/etc/init.d/{n}; [ -x \"$s\" ] || {{ echo missing; exit 0; }}; \
                 if ls /etc/rc[2345].d/S??{n} >/dev/null 2>&1; then echo enabled; fi; {SYSV_RUNNING}"
            ),
            InitSystem::Openrc => format!(
                "[ -e /etc/init.d/{n} ] || {{ echo missing; exit 0; }}; \
                 rc-update show default 2>/dev/null | grep -qw {n} && echo enabled; \
                 if [ -z \"$P\" ]; then if rc-service {n} status >/dev/null 2>&1; then {NOT_ZOMBIE}; else echo stopped; fi; echo by status; exit 0; fi; {FALLBACK}"
            ),
        };
        let script = format!("IFS= read -r P; IFS= read -r R; N={n}; {HELPERS} {script}");
        let req = ExecRequest {
            cmd: script,
            stdin: Some(
                format!("{}\n{}\n", pattern.unwrap_or_default(), name_regex(name)).into_bytes(),
            ),
            ..Default::default()
        };
        let out = ctx.exec_req(req).await?;
        if out.rc != 0 {
            return Err(ModuleError::failed(format!(
                "cannot learn the state of service {name}: {}",
                out.stderr.trim()
            )));
        }
        let mut st = match self {
            InitSystem::Systemd => parse_systemd_show(&out.stdout),
            _ => parse_words(&out.stdout),
        };
        if st.by.is_empty() {
            st.by = self.name().to_string();
        }
        Ok(st)
    }

    /// Removes a PID file whose process is dead or a zombie, so that
    /// `start-stop-daemon --start` does not take the zombie for the
    /// daemon and do nothing (containers whose PID 1 does not reap).
    pub async fn clear_stale_pidfile(
        self,
        ctx: &ModuleCtx<'_>,
        path: &str,
    ) -> Result<(), ModuleError> {
        let f = shell_quote(path);
        ctx.exec(format!(
            "{HELPERS} p=; read -r p < {f} 2>/dev/null; case $p in ''|*[!0-9]*) exit 0;; esac; alive $p || rm -f {f}"
        ))
        .await?;
        Ok(())
    }

    /// Which of these processes are still alive (not zombies).
    pub async fn alive(self, ctx: &ModuleCtx<'_>, pids: &[u32]) -> Result<Vec<u32>, ModuleError> {
        if pids.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let out = ctx
            .exec(format!(
                "{HELPERS} for p in {}; do alive $p && echo \"pid $p\"; done; exit 0",
                list.join(" ")
            ))
            .await?;
        Ok(parse_words(&out.stdout).pids)
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
/// stays a zombie and still answers `kill -0`). `pg`: pgrep limited to
/// this PID namespace, so that the same daemon running in a container on
/// this machine is not taken for ours. A process whose namespace cannot be
/// read counts as ours: in a container without CAP_SYS_PTRACE, root cannot
/// read another user's /proc/PID/ns (`pgrep --ns` then drops keystone's
/// uwsgi), and a container sees no other PID namespace anyway. `pidfile`: the first PID file of the service `$N` found in
/// the usual places, PROJECT being the part of the name before the first
/// dash (/run/nova/nova-compute.pid). `spidfile SCRIPT`: the PID file the
/// init script names (its top-level `PIDFILE=` or `PID_FILE=`, expanded
/// with the script's other top-level assignments; lines with a command
/// substitution are left out).
const HELPERS: &str = "alive() { kill -0 \"$1\" 2>/dev/null && ! grep -q '^State:[[:space:]]*Z' /proc/\"$1\"/status 2>/dev/null; }; \
     pg() { me=$(readlink /proc/$$/ns/pid 2>/dev/null); for p in $(pgrep \"$@\"); do \
       ns=$(readlink /proc/$p/ns/pid 2>/dev/null) || ns=$me; [ \"$ns\" = \"$me\" ] && echo $p; done; }; \
     pidfile() { for f in /run/$N.pid /run/$N/$N.pid /run/${N%%-*}/$N.pid /var/run/$N.pid; do \
       if [ -r \"$f\" ]; then echo \"$f\"; return 0; fi; done; return 1; }; \
     spidfile() { ( eval \"$(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' \"$1\" | grep -v -e '[$][(]' -e '`')\" >/dev/null 2>&1; \
       printf '%s' \"${PIDFILE:-${PID_FILE:-}}\" ) 2>/dev/null; };";

/// Whether a sysvinit service runs, from the strongest evidence found:
///
/// 1. a `pattern` (`$P`): a live process matching it;
/// 2. else the PID file the script names, else one in the usual places:
///    when it exists, its process must be alive;
/// 3. else (or when that process is dead) a live process whose program
///    or script is named like the service (`$R`: `/usr/sbin/libvirtd`,
///    `python3 /usr/bin/glance-api`);
/// 4. only when no PID file is known at all and no process matched: the
///    script's `status` (exit 0 running, 1 to 3 stopped).
///
/// Debian's OpenStack scripts answer `status` with `pidof` on the
/// interpreter, so it says "running" for keystone while only placement's
/// uwsgi runs, and "not running" for a python daemon that runs; the PID
/// file they write is right in both cases. Prints `pid N` lines, `by ...`
/// and `running` or `stopped`.
const SYSV_RUNNING: &str = "pids=; by=; f=; st=; \
     if [ -n \"$P\" ]; then by=pattern; pids=$(pg -f -- \"$P\"); else \
       f=$(spidfile \"$s\"); [ -n \"$f\" ] || f=$(pidfile) || f=; \
       if [ -n \"$f\" ] && [ -r \"$f\" ]; then p=; read -r p < \"$f\"; echo \"pidfile $f\"; \
         case $p in ''|*[!0-9]*) ;; *) by=\"pidfile $f\"; pids=$p;; esac; fi; \
       if [ -z \"$pids\" ] || ! alive \"$pids\"; then \
         m=$(pg -f -- \"$R\"); if [ -n \"$m\" ]; then by='process name'; pids=$m; fi; fi; \
       if [ -z \"$by\" ] && [ -z \"$f\" ] && grep -Eq \"(^|[[:space:]|(])'?status'?[[:space:]]*[|)]\" \"$s\"; then by=status; \
         if command -v service >/dev/null 2>&1; then service \"$N\" status >/dev/null 2>&1; else \"$s\" status >/dev/null 2>&1; fi; st=$?; fi; \
     fi; \
     r=; for p in $pids; do if alive $p; then echo \"pid $p\"; r=1; fi; done; \
     echo \"by ${by:-process name}\"; \
     if [ -n \"$r\" ] || [ \"$st\" = 0 ]; then echo running; else echo stopped; fi";

/// After OpenRC said "running": unless the service's PID file names a
/// dead or zombie process.
const NOT_ZOMBIE: &str = "if f=$(pidfile) && ! alive \"$(cat \"$f\")\"; then echo stopped; else echo \"pid $(cat \"$f\" 2>/dev/null)\"; echo running; fi";

/// OpenRC or systemd with a pattern (`$P`): a live process matching it.
const FALLBACK: &str = "r=; for p in $(pg -f -- \"$P\"); do if alive $p; then echo \"pid $p\"; r=1; fi; done; \
     echo by pattern; [ -n \"$r\" ] && echo running || echo stopped";

/// The `pgrep -f` expression of a process named like the service: the
/// program's file name, or the script's after an interpreter and its
/// options (`/usr/bin/python3 /usr/bin/nova-compute --config-file ...`).
pub(crate) fn name_regex(name: &str) -> String {
    let mut n = String::new();
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() && c != '_' && c != '-' {
            n.push('\\');
        }
        n.push(c);
    }
    format!(
        "^([^ ]*/)?{n}( |$)|^([^ ]*/)?(python[0-9.]*|sh|bash|dash|perl|ruby)( -[^ ]+)* ([^ ]*/)?{n}( |$)"
    )
}

/// The words `missing`, `enabled`, `running` of the sysvinit and OpenRC
/// status scripts.
pub(crate) fn parse_words(stdout: &str) -> Status {
    let has = |w: &str| stdout.lines().any(|l| l.trim() == w);
    Status {
        exists: !has("missing"),
        running: has("running"),
        enabled: has("enabled"),
        pids: stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix("pid ")?.trim().parse().ok())
            .collect(),
        by: stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("by "))
            .unwrap_or_default()
            .to_string(),
        pidfile: stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix("pidfile "))
            .map(str::to_string),
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
        pids: words.pids,
        by: words.by,
        pidfile: None,
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
