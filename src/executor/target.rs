//! Where and as whom a task runs on a host: the connection settings from
//! the host's `ansible_*` variables, `become` from the task and those
//! variables, and `delegate_to` (the delegate's own settings).

use std::sync::Arc;

use serde_json::Value;

use super::logged::Logged;
use super::{Executor, KeywordError};
use crate::connection::settings::{ConnectionKind, ConnectionSettings, SshAuth};
use crate::connection::{Become, Connection};
use crate::playbook::keywords::{connection_kind, unsupported_connection};
use crate::playbook::{Inherited, Task};
use crate::secret::Secret;
use crate::value::parse_bool;

/// The `connection` and `remote_user` keywords in force for a task.
#[derive(Debug, Clone, Default)]
pub(super) struct ConnKeywords {
    pub kind: Option<ConnectionKind>,
    pub user: Option<String>,
}

impl Executor {
    pub(super) fn var(&self, scope: &minijinja::Value, name: &str) -> Option<Value> {
        self.templar.eval(name, scope).ok().filter(|v| !v.is_null())
    }

    pub(super) fn become_for(
        &self,
        task: &Task,
        scope: &minijinja::Value,
    ) -> Result<Option<Become>, KeywordError> {
        let on = task
            .attrs
            .become_
            .or_else(|| {
                self.var(scope, "ansible_become")
                    .and_then(|v| parse_bool(&v))
            })
            .unwrap_or(false);
        if !on {
            return Ok(None);
        }
        if let Some(m) = self
            .var(scope, "ansible_become_method")
            .and_then(|v| crate::value::scalar_to_string(&v))
            .filter(|m| m != "sudo")
        {
            return Err(KeywordError::BecomeMethod(m));
        }
        let user = task
            .attrs
            .become_user
            .clone()
            .or_else(|| {
                self.var(scope, "ansible_become_user")
                    .and_then(|v| crate::value::scalar_to_string(&v))
            })
            .unwrap_or_else(|| "root".into());
        let login = self
            .var(scope, "ansible_user")
            .and_then(|v| crate::value::scalar_to_string(&v));
        let keyword = self.conn_keywords(&task.attrs, scope)?.user;
        let me = login
            .or(keyword)
            .or_else(|| self.opts.remote_user.clone())
            .or_else(|| std::env::var("USER").ok());
        if me.as_deref() == Some(user.as_str()) {
            return Ok(None);
        }
        let password = self
            .var(scope, "ansible_become_password")
            .or_else(|| self.var(scope, "ansible_become_pass"));
        Ok(Some(Become {
            user,
            password: password
                .and_then(|p| crate::value::scalar_to_string(&p))
                .map(Secret::new),
        }))
    }

    /// The task's (or play's) `connection` and `remote_user`, rendered.
    pub(super) fn conn_keywords(
        &self,
        attrs: &Inherited,
        scope: &minijinja::Value,
    ) -> Result<ConnKeywords, KeywordError> {
        let render = |v: &Option<String>| {
            v.as_ref()
                .map(|t| self.templar.render_str(t, scope))
                .transpose()
        };
        let kind = match render(&attrs.connection)? {
            None => None,
            Some(name) => match connection_kind(name.trim()) {
                Some("local") => Some(ConnectionKind::Local),
                Some(_) => Some(ConnectionKind::Ssh),
                None => {
                    return Err(KeywordError::Connection(unsupported_connection(
                        name.trim(),
                    )));
                }
            },
        };
        Ok(ConnKeywords {
            kind,
            user: render(&attrs.remote_user)?,
        })
    }

    /// The connection a task uses on a host (its own, or the delegate's),
    /// and the name of the host it reaches.
    pub(super) async fn task_connection(
        &self,
        task: &Task,
        host: &str,
        scope: &minijinja::Value,
    ) -> Result<(Arc<dyn Connection>, String), KeywordError> {
        let kw = self.conn_keywords(&task.attrs, scope)?;
        let (target, settings) = match &task.attrs.delegate_to {
            None => (host.to_string(), self.settings(host, scope, &kw)),
            Some(d) => {
                let name = self.templar.render_str(d, scope)?;
                let s = if self.run.states.get(&name).is_some() {
                    let pv_scope = self.run.host_vars.get(&name).cloned().unwrap_or_default();
                    let sc = crate::template::VarScope::new(vec![crate::template::Layer::shared(
                        "inventory",
                        pv_scope,
                    )])
                    .into_value();
                    self.settings(&name, &sc, &kw)
                } else {
                    self.settings(&name, &minijinja::Value::from(()), &kw)
                };
                (name, s)
            }
        };
        let conn = self.conns.get(&target, &settings).await?;
        let quiet = task.attrs.no_log == Some(true);
        if self.opts.verbosity < 3 {
            return Ok((conn, target));
        }
        let logged = Arc::new(Logged {
            inner: conn,
            host: host.to_string(),
            reporter: self.reporter.clone(),
            quiet,
        });
        Ok((logged, target))
    }

    /// Connection settings from a host's `ansible_*` variables and the
    /// task's keywords. As in ansible-core, the variables win over the
    /// keywords (`ansible_connection` over `connection:`, `ansible_user`
    /// over `remote_user:`), and the keywords over `-u`.
    pub(super) fn settings(
        &self,
        host: &str,
        scope: &minijinja::Value,
        kw: &ConnKeywords,
    ) -> ConnectionSettings {
        let s = |name: &str| {
            self.var(scope, name)
                .and_then(|v| crate::value::scalar_to_string(&v))
        };
        let local_name = ["localhost", "127.0.0.1", "::1"].contains(&host);
        let declared = self.run.inventory.host(host).is_some();
        let kind = match (s("ansible_connection").as_deref(), kw.kind) {
            (Some("local"), _) => ConnectionKind::Local,
            (Some(_), _) => ConnectionKind::Ssh,
            // ansible-core gives the implicit localhost `ansible_connection: local`.
            (None, _) if local_name && !declared => ConnectionKind::Local,
            (None, Some(k)) => k,
            (None, None)
                if local_name
                    && self
                        .run
                        .inventory
                        .host_vars(host)
                        .get("ansible_host")
                        .is_none() =>
            {
                ConnectionKind::Local
            }
            (None, None) => ConnectionKind::Ssh,
        };
        let hkc = self
            .var(scope, "ansible_host_key_checking")
            .and_then(|v| parse_bool(&v))
            .unwrap_or(self.opts.host_key_checking);
        let password = s("ansible_password")
            .or_else(|| s("ansible_ssh_pass"))
            .map(Secret::new);
        let key = s("ansible_ssh_private_key_file")
            .or_else(|| s("ansible_private_key_file"))
            .map(std::path::PathBuf::from)
            .or_else(|| self.opts.private_key.clone());
        let auth = match (key, password) {
            (Some(k), _) => SshAuth::KeyFile(k),
            (None, Some(p)) => SshAuth::Password(p),
            (None, None) => SshAuth::Default,
        };
        ConnectionSettings {
            kind,
            address: s("ansible_host").unwrap_or_else(|| host.to_string()),
            port: s("ansible_port").and_then(|p| p.parse().ok()).unwrap_or(22),
            user: s("ansible_user")
                .or_else(|| kw.user.clone())
                .or_else(|| self.opts.remote_user.clone()),
            auth,
            known_hosts: s("ansible_ssh_known_hosts_file")
                .map(Into::into)
                .or_else(|| self.opts.known_hosts.clone()),
            host_key_checking: hkc,
            connect_timeout: self.opts.connect_timeout,
            retries: 2,
            agent_socket: None,
        }
    }
}
