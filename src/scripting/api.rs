//! The host API a script sees: everything it can touch goes through here.
//!
//! A script runs on a blocking thread (so a slow command blocks neither
//! other hosts nor the runtime); each call into the host bridges back to
//! the async world with the runtime handle. The API owns what it needs of
//! the module context, so it can move to that thread.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use rhai::{Dynamic, Map as RMap};
use serde_json::{Map, Value};

use crate::connection::{Become, Connection, ExecRequest, FileAttrs};
use crate::modules::{ModuleCtx, ModuleError, Outcome, Services, invoke};
use crate::openstack::{CloudRequest, Credentials};
use crate::template::Templar;

/// How long an `http.*` call may take unless `timeout` says otherwise.
const HTTP_TIMEOUT_SECS: i64 = 30;

/// A script's top-level constants by name.
pub type Constants = std::collections::HashMap<String, Dynamic>;

/// One script call's view of its host.
pub struct HostApi {
    pub host: String,
    pub conn: Arc<dyn Connection>,
    pub become_: Option<Become>,
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub env: Vec<(String, String)>,
    pub vars: minijinja::Value,
    pub templar: Templar,
    pub search_paths: Vec<PathBuf>,
    pub services: Services,
    pub facts: Map<String, Value>,
    pub handle: tokio::runtime::Handle,
    /// Warnings to attach to the task's result.
    pub warnings: Mutex<Vec<String>>,
    /// The script's top-level constants, visible in all its functions.
    pub constants: Arc<Constants>,
    /// `facts` as a Rhai map, made on first use.
    facts_map: OnceLock<Dynamic>,
    /// The task's `timeout:`.
    pub timeout: Option<std::time::Duration>,
}

/// A cheap handle to the API, stored as the call's tag and in `host`.
#[derive(Clone)]
pub struct Api(pub Arc<HostApi>);

impl HostApi {
    pub fn from_ctx(ctx: &ModuleCtx<'_>, constants: Arc<Constants>) -> Self {
        HostApi {
            host: ctx.host.to_string(),
            conn: ctx.conn.clone(),
            become_: ctx.become_.clone(),
            check: ctx.check,
            diff: ctx.diff,
            verbosity: ctx.verbosity,
            env: ctx.env.to_vec(),
            vars: ctx.vars.clone(),
            templar: ctx.templar.clone(),
            search_paths: ctx.search_paths.to_vec(),
            services: ctx.services.clone(),
            facts: ctx.facts.clone(),
            handle: tokio::runtime::Handle::current(),
            warnings: Mutex::new(Vec::new()),
            constants,
            facts_map: OnceLock::new(),
            timeout: ctx.timeout,
        }
    }

    /// A module context borrowing from this API, for calling modules.
    fn ctx(&self) -> ModuleCtx<'_> {
        ModuleCtx {
            host: &self.host,
            conn: &self.conn,
            become_: self.become_.clone(),
            check: self.check,
            diff: self.diff,
            verbosity: self.verbosity,
            env: &self.env,
            vars: &self.vars,
            templar: &self.templar,
            search_paths: &self.search_paths,
            services: &self.services,
            facts: &self.facts,
            timeout: self.timeout,
        }
    }

    /// The host's facts as a (read-only copy of a) Rhai map.
    pub fn facts(&self) -> Dynamic {
        self.facts_map
            .get_or_init(|| rhai::serde::to_dynamic(&self.facts).unwrap_or(Dynamic::UNIT))
            .clone()
    }

    pub fn exec(&self, req: ExecRequest) -> Result<RMap, String> {
        let mut req = req;
        if req.become_.is_none() {
            req.become_ = self.become_.clone();
        }
        let mut env = self.env.clone();
        env.append(&mut req.env);
        req.env = env;
        let out = self
            .handle
            .block_on(self.conn.exec(&req))
            .map_err(|e| e.to_string())?;
        let mut m = RMap::new();
        m.insert("rc".into(), Dynamic::from(out.rc as i64));
        m.insert("stdout".into(), out.stdout.into());
        m.insert("stderr".into(), out.stderr.into());
        Ok(m)
    }

    pub fn read_file(&self, path: &str) -> Result<Dynamic, String> {
        let data = self
            .handle
            .block_on(self.conn.read_file(path, self.become_.as_ref()))
            .map_err(|e| e.to_string())?;
        Ok(match data {
            Some(bytes) => String::from_utf8_lossy(&bytes).into_owned().into(),
            None => Dynamic::UNIT,
        })
    }

    pub fn write_file(&self, path: &str, content: &str, attrs: FileAttrs) -> Result<(), String> {
        self.handle
            .block_on(
                self.conn
                    .write_file(path, content.as_bytes(), &attrs, self.become_.as_ref()),
            )
            .map_err(|e| e.to_string())
    }

    pub fn stat(&self, path: &str) -> Result<Dynamic, String> {
        let st = self
            .handle
            .block_on(self.conn.stat(path, self.become_.as_ref()))
            .map_err(|e| e.to_string())?;
        let Some(st) = st else {
            return Ok(Dynamic::UNIT);
        };
        let mut m = RMap::new();
        let kind = match st.kind {
            crate::connection::FileKind::File => "file",
            crate::connection::FileKind::Directory => "directory",
            crate::connection::FileKind::Symlink => "link",
            crate::connection::FileKind::Other => "other",
        };
        m.insert("kind".into(), kind.into());
        m.insert("mode".into(), format!("{:04o}", st.mode).into());
        m.insert("uid".into(), Dynamic::from(st.uid as i64));
        m.insert("gid".into(), Dynamic::from(st.gid as i64));
        m.insert("size".into(), Dynamic::from(st.size as i64));
        Ok(m.into())
    }

    pub fn template(&self, text: &str) -> Result<String, String> {
        self.templar
            .render_str(text, &self.vars)
            .map_err(|e| e.to_string())
    }

    /// Calls a module by name (`native` picks the native one even when a
    /// script overrides it). Check and diff modes pass through.
    pub fn call_module(&self, name: &str, params: Value, native: bool) -> Result<Outcome, String> {
        let registry = &self.services.registry;
        let module = if native {
            registry.native(name)
        } else {
            registry.get(name)
        };
        let module = module
            .cloned()
            .ok_or_else(|| format!("no module named `{name}`"))?;
        let Value::Object(args) = params else {
            return Err(format!("parameters for `{name}` must be a map"));
        };
        // What the executor does for a task's arguments: values of secret
        // parameters are redacted from every output from now on.
        for (k, v) in &args {
            let declared = module.spec().param(k).is_some_and(|p| p.secret);
            if declared || crate::secret::is_secret_name(k) {
                self.services
                    .redactor
                    .add_secrets_in(&serde_json::json!({ "password": v }));
            }
        }
        let ctx = self.ctx();
        let result: Result<Outcome, ModuleError> =
            self.handle.block_on(invoke(module.as_ref(), &args, &ctx));
        result.map_err(|e| e.to_string())
    }

    pub fn http(&self, method: &str, url: &str, opts: &RMap) -> Result<RMap, String> {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|e| e.to_string())?;
        let mut req = self.services.http.request(method.clone(), url);
        if let Some(json) = opts.get("json") {
            let body: Value = rhai::serde::from_dynamic(json).map_err(|e| e.to_string())?;
            req = req.json(&body);
        }
        if let Some(body) = opts.get("body") {
            req = req.body(body.to_string());
        }
        if let Some(headers) = opts
            .get("headers")
            .and_then(|h| h.clone().try_cast::<RMap>())
        {
            for (k, v) in headers {
                req = req.header(k.as_str(), v.to_string());
            }
        }
        let timeout = opts
            .get("timeout")
            .and_then(|t| t.as_int().ok())
            .unwrap_or(HTTP_TIMEOUT_SECS);
        req = req.timeout(std::time::Duration::from_secs(timeout.max(1) as u64));
        let fut = async move {
            let resp = req
                .send()
                .await
                .map_err(|e| format!("{method} {url}: {e}"))?;
            let status = resp.status().as_u16();
            let headers: RMap = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().into(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
                    )
                })
                .collect();
            let text = resp.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, headers, text))
        };
        let (status, headers, text) = self.handle.block_on(fut)?;
        let mut m = RMap::new();
        m.insert("status".into(), Dynamic::from(status as i64));
        m.insert("headers".into(), headers.into());
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            m.insert(
                "json".into(),
                rhai::serde::to_dynamic(&v).unwrap_or(Dynamic::UNIT),
            );
        }
        m.insert("body".into(), text.into());
        Ok(m)
    }

    /// One request to an OpenStack service through the run's shared
    /// Keystone session. Credentials come from `opts` (`auth`, `cloud`,
    /// `region_name`, `interface`) or else, as for the OpenStack modules,
    /// from `OS_CLOUD`/`OS_*` in the task's environment or oplay's.
    pub fn openstack(
        &self,
        service: &str,
        method: &str,
        path: &str,
        body: &Dynamic,
        opts: &RMap,
    ) -> Result<RMap, String> {
        let text = |k: &str| opts.get(k).filter(|v| !v.is_unit()).map(|v| v.to_string());
        let auth = match opts.get("auth").filter(|v| !v.is_unit()) {
            Some(a) => {
                let v: Value = rhai::serde::from_dynamic(a).map_err(|e| e.to_string())?;
                Some(serde_json::from_value(v).map_err(|e| format!("openstack auth: {e}"))?)
            }
            None => None,
        };
        let req = CloudRequest {
            auth,
            cloud: text("cloud"),
            region_name: text("region_name"),
            interface: text("interface"),
        };
        let env = |k: &str| {
            self.env
                .iter()
                .rev()
                .find(|(ek, _)| ek == k)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(k).ok())
        };
        let creds = Credentials::resolve(&req, &env).map_err(|e| e.to_string())?;
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| format!("invalid HTTP method `{method}`"))?;
        let body: Option<Value> = if body.is_unit() {
            None
        } else {
            Some(rhai::serde::from_dynamic(body).map_err(|e| e.to_string())?)
        };
        let services = &self.services;
        let (status, json) = self
            .handle
            .block_on(services.openstack.request(
                &services.http,
                &services.redactor,
                &creds,
                service,
                req.interface.as_deref(),
                req.region_name.as_deref(),
                method,
                path,
                body.as_ref(),
            ))
            .map_err(|e| e.to_string())?;
        let mut m = RMap::new();
        m.insert("status".into(), Dynamic::from(status as i64));
        m.insert(
            "json".into(),
            rhai::serde::to_dynamic(&json).unwrap_or(Dynamic::UNIT),
        );
        Ok(m)
    }

    pub fn log(&self, msg: &str) {
        self.services.notes.log(&self.host, msg);
    }

    /// A warning, shown after the task's result (as Ansible shows a
    /// module's warnings) and kept in the registered result.
    pub fn warn(&self, msg: &str) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(msg.to_string());
        }
    }

    pub fn take_warnings(&self) -> Vec<String> {
        self.warnings
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
}

/// Reads an options map of `host.exec(argv, #{chdir, env, stdin})`.
pub fn exec_request(cmd: ExecRequest, opts: &RMap) -> ExecRequest {
    let mut req = cmd;
    if let Some(dir) = opts.get("chdir") {
        req.chdir = Some(dir.to_string());
    }
    if let Some(stdin) = opts.get("stdin") {
        req.stdin = Some(stdin.to_string().into_bytes());
    }
    if let Some(env) = opts.get("env").and_then(|e| e.clone().try_cast::<RMap>()) {
        req.env = env
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    req
}

/// File attributes from `#{mode, owner, group}`.
pub fn file_attrs(opts: &RMap) -> Result<FileAttrs, String> {
    let mode = match opts.get("mode") {
        None => None,
        Some(m) if m.is_int() => Some(m.as_int().unwrap_or(0) as u32),
        Some(m) => Some(
            u32::from_str_radix(m.to_string().trim_start_matches("0o"), 8)
                .map_err(|_| format!("invalid mode '{m}'"))?,
        ),
    };
    Ok(FileAttrs {
        mode,
        owner: opts.get("owner").map(|o| o.to_string()),
        group: opts.get("group").map(|g| g.to_string()),
    })
}
