//! `keystone_role_assignment`: grants or revokes a role (Ansible's
//! `openstack.cloud.role_assignment`).

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value};

use super::common::{Api, Interface, State, cloud_request, connect, id_of, os_params};
use crate::modules::{
    Action, ApplyPlan, Change, Diff, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned,
    Query, parse_params,
};

os_params! {
    /// Grants or revokes a role of a user or group on a project, a domain
    /// or the system.
    ///
    /// Like `openstack.cloud.role_assignment`. Give `user` or `group`, and
    /// `project`, `domain` or `system: all`. Names are looked up in
    /// `user_domain` / `group_domain` / `project_domain`; when those are not
    /// given, `domain` is used to find them if a project is also given (as
    /// in Ansible), else any domain (a name found in several domains is an
    /// error). The assignment is checked with `HEAD` before it is `PUT`, so
    /// a re-run changes nothing. Inherited assignments are not supported.
    pub struct RoleAssignmentParams {
        /// The role, by name or id.
        role: String,
        /// The user, by name or id.
        #[serde(default)]
        user: Option<String>,
        /// The group, by name or id.
        #[serde(default)]
        group: Option<String>,
        /// The project, by name or id.
        #[serde(default)]
        project: Option<String>,
        /// The domain scope (without `project`), or where names are looked up (with it).
        #[serde(default)]
        domain: Option<String>,
        /// `all` for a system-scoped assignment.
        #[serde(default)]
        system: Option<String>,
        /// The user's domain (name or id).
        #[serde(default)]
        user_domain: Option<String>,
        /// The group's domain (name or id).
        #[serde(default)]
        group_domain: Option<String>,
        /// The project's domain (name or id).
        #[serde(default)]
        project_domain: Option<String>,
        /// `present` or `absent`.
        #[serde(default)]
        state: State,
        /// The catalog interface to reach Keystone through (default `public`).
        #[serde(default)]
        interface: Option<Interface>,
    }
}

/// The `keystone_role_assignment` module.
pub struct RoleAssignmentModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn module() -> Arc<dyn Module> {
    let mut spec = ModuleSpec::native::<RoleAssignmentParams>("keystone_role_assignment")
        .with_examples(
            "- keystone_role_assignment:\n    cloud: mycloud\n    user: glance\n    role: admin\n    project: service",
        );
    spec.exclusive = vec![
        vec!["user".into(), "group".into()],
        vec!["project".into(), "system".into()],
    ];
    Arc::new(RoleAssignmentModule { spec })
}

impl Module for RoleAssignmentModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: RoleAssignmentParams = parse_params(args)?;
        if p.user.is_some() == p.group.is_some() {
            return Err(ModuleError::Params(
                "give exactly one of `user` and `group`".into(),
            ));
        }
        if p.project.is_none() && p.domain.is_none() && p.system.is_none() {
            return Err(ModuleError::Params(
                "give one of `project`, `domain` and `system`".into(),
            ));
        }
        if p.system.as_deref().is_some_and(|s| s != "all") {
            return Err(ModuleError::Params("`system` must be `all`".into()));
        }
        Ok(Box::new(AssignmentAction { p }))
    }
}

/// What the query found: the assignment's path and description, and the
/// session to change it through.
struct Found {
    api: Api,
    path: String,
    label: String,
}

struct AssignmentAction {
    p: RoleAssignmentParams,
}

/// An id, or the reason it could not be found.
type Lookup = Result<String, String>;

impl AssignmentAction {
    /// Finds an object by name or id (in a domain, if given).
    async fn lookup(
        api: &Api,
        collection: &str,
        singular: &str,
        name: &str,
        domain: Option<&String>,
    ) -> Result<Lookup, ModuleError> {
        let domain_id = match domain {
            Some(d) => match api.domain_id_opt(d).await? {
                Some(id) => Some(id),
                None => return Ok(Err(format!("domain `{d}` not found"))),
            },
            None => None,
        };
        let filters: Vec<(&str, &str)> = domain_id
            .iter()
            .map(|d| ("domain_id", d.as_str()))
            .collect();
        Ok(api
            .find(collection, singular, name, &filters)
            .await?
            .map(|v| id_of(&v))
            .ok_or_else(|| format!("{singular} `{name}` not found")))
    }

    /// Resolves every name to an id and builds
    /// `/v3/{scope}/{scope_id}/{users|groups}/{actor_id}/roles/{role_id}`
    /// and a description; or says what does not exist.
    async fn resolve(&self, api: &Api) -> Result<Result<(String, String), String>, ModuleError> {
        let p = &self.p;
        // With a project, `domain` only says where names live.
        let lookup_domain = if p.project.is_some() {
            p.domain.as_ref()
        } else {
            None
        };
        let role = match Self::lookup(api, "roles", "role", &p.role, None).await? {
            Ok(id) => id,
            Err(e) => return Ok(Err(e)),
        };
        let (actors, singular, actor_name, actor_domain) = match (&p.user, &p.group) {
            (Some(u), _) => ("users", "user", u, p.user_domain.as_ref().or(lookup_domain)),
            (None, Some(g)) => (
                "groups",
                "group",
                g,
                p.group_domain.as_ref().or(lookup_domain),
            ),
            (None, None) => return Err(ModuleError::Params("no `user` or `group`".into())),
        };
        let actor = match Self::lookup(api, actors, singular, actor_name, actor_domain).await? {
            Ok(id) => id,
            Err(e) => return Ok(Err(e)),
        };
        let (scope_path, scope_label) = if let Some(project) = &p.project {
            let d = p.project_domain.as_ref().or(lookup_domain);
            match Self::lookup(api, "projects", "project", project, d).await? {
                Ok(id) => (format!("/v3/projects/{id}"), format!("project {project}")),
                Err(e) => return Ok(Err(e)),
            }
        } else if let Some(domain) = &p.domain {
            match api.domain_id_opt(domain).await? {
                Some(id) => (format!("/v3/domains/{id}"), format!("domain {domain}")),
                None => return Ok(Err(format!("domain `{domain}` not found"))),
            }
        } else {
            ("/v3/system".to_string(), "the system".to_string())
        };
        let path = format!("{scope_path}/{actors}/{actor}/roles/{role}");
        let label = format!(
            "role {} for {singular} {actor_name} on {scope_label}",
            p.role
        );
        Ok(Ok((path, label)))
    }
}

#[async_trait]
impl Action for AssignmentAction {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let p = &self.p;
        let api = connect(
            ctx,
            cloud_request(&p.auth, &p.cloud, &p.region_name, p.interface),
        )
        .await?;
        let (path, label) = match (self.resolve(&api).await?, self.p.state) {
            (Ok(found), _) => found,
            // What does not exist holds no assignment.
            (Err(why), State::Absent) => {
                return Ok(Query::Unchanged(
                    Outcome::ok().with_msg(format!("not assigned: {why}")),
                ));
            }
            (Err(why), State::Present) => return Err(ModuleError::Failed(why)),
        };
        let reply = api.call("identity", Method::HEAD, &path, None).await?;
        let exists = match reply.status {
            204 | 200 => true,
            404 => false,
            _ => {
                reply.ok()?;
                false
            }
        };
        let want = self.p.state == State::Present;
        if exists == want {
            return Ok(Query::Unchanged(Outcome::ok().with_msg(format!(
                "{label} is {}",
                if exists { "assigned" } else { "not assigned" }
            ))));
        }
        let verb = if want { "granted" } else { "revoked" };
        let (before, after) = if want {
            (String::new(), format!("{label}\n"))
        } else {
            (format!("{label}\n"), String::new())
        };
        let change = Change::new()
            .with_msg(format!("{label} would be {verb}"))
            .with_diff(Diff {
                header: "role assignment".into(),
                before,
                after,
            });
        let found = Found { api, path, label };
        Ok(Query::Change(change, Planned::boxed(*self, found)))
    }
}

#[async_trait]
impl ApplyPlan for AssignmentAction {
    type Plan = Found;

    async fn apply_plan(self, f: Found, _ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let (method, verb) = match self.p.state {
            State::Present => (Method::PUT, "granted"),
            State::Absent => (Method::DELETE, "revoked"),
        };
        f.api.send("identity", method, &f.path, None).await?;
        Ok(Outcome::changed().with_msg(format!("{} {verb}", f.label)))
    }
}
