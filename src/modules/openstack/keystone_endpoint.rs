//! `keystone_endpoint`: endpoints of a service in the Keystone catalog
//! (Ansible's `openstack.cloud.endpoint`, plus a compact form for the
//! usual public/internal/admin triple).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::common::{Api, Interface, State, cloud_request, connect, diff, id_of, os_params};
use crate::modules::{
    Action, ApplyPlan, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned, Query,
    parse_params,
};

os_params! {
    /// Creates, updates or deletes endpoints of a service in the catalog.
    ///
    /// Like `openstack.cloud.endpoint`: one endpoint per (service,
    /// interface, region); an existing one gets its `url` and `enabled`
    /// updated. Differences from Ansible: `interface` is accepted for
    /// `endpoint_interface` (so Keystone itself is always reached through
    /// its public endpoint), and the compact form `interfaces: {public: URL,
    /// internal: URL, admin: URL}` manages several interfaces in one task.
    /// Keystone accepts duplicate endpoints (`openstack endpoint create`
    /// run twice); duplicates are reported as a warning and deleted with
    /// `remove_duplicates: yes`. `region` unset means endpoints without a
    /// region. A nonexistent `service` fails: create it first.
    pub struct EndpointParams {
        /// The service, by id, name or type.
        service: String,
        /// `public`, `internal` or `admin` (with `url`).
        #[serde(default)]
        #[schemars(extend("x-aliases" = ["interface"]))]
        endpoint_interface: Option<Interface>,
        /// The endpoint's URL (with `endpoint_interface`).
        #[serde(default)]
        url: Option<String>,
        /// Several endpoints at once: a URL per interface.
        #[serde(default)]
        interfaces: Option<BTreeMap<Interface, String>>,
        /// The region's id, e.g. `RegionOne`.
        #[serde(default)]
        region: Option<String>,
        /// Whether the endpoint is enabled (default yes on creation).
        #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
        #[schemars(extend("x-aliases" = ["is_enabled"]))]
        enabled: Option<bool>,
        /// Delete the extra endpoints found for the same service, interface and region.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        remove_duplicates: bool,
        /// `present` or `absent`.
        #[serde(default)]
        state: State,
    }
}

/// The `keystone_endpoint` module.
pub struct EndpointModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn module() -> Arc<dyn Module> {
    let mut spec = ModuleSpec::native::<EndpointParams>("keystone_endpoint").with_examples(
        "- keystone_endpoint:\n    cloud: mycloud\n    service: glance\n    region: RegionOne\n    interfaces:\n      public: http://controller:9292\n      internal: http://controller:9292\n      admin: http://controller:9292\n\n- keystone_endpoint:\n    cloud: mycloud\n    service: placement\n    endpoint_interface: public\n    url: http://controller:8778\n    region: RegionOne",
    );
    spec.exclusive = vec![
        vec!["interfaces".into(), "endpoint_interface".into()],
        vec!["interfaces".into(), "url".into()],
    ];
    Arc::new(EndpointModule { spec })
}

impl Module for EndpointModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: EndpointParams = parse_params(args)?;
        let wanted: Vec<(Interface, Option<String>)> = match (&p.interfaces, p.endpoint_interface) {
            (Some(_), Some(_)) => {
                return Err(ModuleError::Params(
                    "give `interfaces` or `endpoint_interface`, not both".into(),
                ));
            }
            (Some(map), None) => map.iter().map(|(i, u)| (*i, Some(u.clone()))).collect(),
            (None, Some(i)) => vec![(i, p.url.clone())],
            (None, None) => {
                return Err(ModuleError::Params(
                    "give `endpoint_interface` and `url`, or `interfaces`".into(),
                ));
            }
        };
        if p.state == State::Present && wanted.iter().any(|(_, u)| u.is_none()) {
            return Err(ModuleError::Params(
                "`url` is required with state=present".into(),
            ));
        }
        Ok(Box::new(EndpointAction {
            p,
            wanted,
            ops: Vec::new(),
            kept: Vec::new(),
            warnings: Vec::new(),
        }))
    }
}

/// One change to the catalog.
#[derive(Debug)]
enum Op {
    Create(Value),
    Update {
        id: String,
        before: Value,
        patch: Map<String, Value>,
    },
    Delete(Value),
}

struct EndpointAction {
    p: EndpointParams,
    wanted: Vec<(Interface, Option<String>)>,
    /// The changes the query planned, run by the apply in order.
    ops: Vec<Op>,
    /// Endpoints already right, for the result.
    kept: Vec<Value>,
    warnings: Vec<String>,
}

/// The service named by id, name or type.
async fn find_service(api: &Api, s: &str) -> Result<Option<Value>, ModuleError> {
    let path = format!("/v3/services/{}", crate::openstack::rest::encode(s));
    if let Some(v) = api.get_opt("identity", &path).await? {
        if let Some(svc) = v.get("service") {
            return Ok(Some(svc.clone()));
        }
    }
    for filter in ["name", "type"] {
        let found = api.identity_list("services", &[(filter, s)]).await?;
        if let Some(first) = found.first() {
            if found.len() > 1 && filter == "type" {
                return Err(ModuleError::failed(format!(
                    "{} services have type `{s}`; name the service instead",
                    found.len()
                )));
            }
            return Ok(Some(first.clone()));
        }
    }
    Ok(None)
}

impl EndpointAction {
    /// Plans the changes for one interface.
    fn plan(&mut self, svc: &Value, iface: Interface, url: Option<&str>, existing: Vec<Value>) {
        let region = self.p.region.clone();
        let label = format!(
            "{} {} endpoint{}",
            svc.get("name").and_then(Value::as_str).unwrap_or_default(),
            iface.as_str(),
            region
                .as_ref()
                .map(|r| format!(" in {r}"))
                .unwrap_or_default()
        );
        if self.p.state == State::Absent {
            self.ops.extend(existing.into_iter().map(Op::Delete));
            return;
        }
        let keep_at = existing
            .iter()
            .position(|e| url.is_some_and(|u| e.get("url").and_then(Value::as_str) == Some(u)))
            .unwrap_or(0);
        let mut existing = existing;
        if existing.is_empty() {
            let mut body = json!({
                "service_id": id_of(svc),
                "interface": iface.as_str(),
                "url": url,
                "enabled": self.p.enabled.unwrap_or(true),
            });
            if let (Some(r), Some(obj)) = (&region, body.as_object_mut()) {
                obj.insert("region_id".into(), r.clone().into());
            }
            self.ops.push(Op::Create(body));
            return;
        }
        let keeper = existing.remove(keep_at);
        let mut patch = Map::new();
        if let Some(u) = url.filter(|u| keeper.get("url").and_then(Value::as_str) != Some(*u)) {
            patch.insert("url".into(), u.into());
        }
        if let Some(en) = self
            .p
            .enabled
            .filter(|en| keeper.get("enabled") != Some(&Value::Bool(*en)))
        {
            patch.insert("enabled".into(), en.into());
        }
        if patch.is_empty() {
            self.kept.push(keeper.clone());
        } else {
            self.ops.push(Op::Update {
                id: id_of(&keeper),
                before: keeper.clone(),
                patch,
            });
        }
        self.duplicates(&label, existing);
    }

    /// Reports the extra endpoints of one (service, interface, region) and
    /// plans their removal when asked to.
    fn duplicates(&mut self, label: &str, extra: Vec<Value>) {
        if extra.is_empty() {
            return;
        }
        let ids: Vec<String> = extra.iter().map(id_of).collect();
        let what_next = if self.p.remove_duplicates {
            "removing them"
        } else {
            "set remove_duplicates: yes to remove them"
        };
        self.warnings.push(format!(
            "{} duplicate {label}(s) found: {}; {what_next}",
            extra.len(),
            ids.join(", ")
        ));
        if self.p.remove_duplicates {
            self.ops.extend(extra.into_iter().map(Op::Delete));
        }
    }

    fn change(&self) -> Change {
        let mut change = Change::new().with_msg(format!("{} endpoint change(s)", self.ops.len()));
        for op in &self.ops {
            change = change.with_diff(match op {
                Op::Create(b) => diff("endpoint (new)".into(), None, Some(b)),
                Op::Update { id, before, patch } => {
                    let before = super::common::pick(before, patch);
                    diff(
                        format!("endpoint {id}"),
                        Some(&before),
                        Some(&Value::Object(patch.clone())),
                    )
                }
                Op::Delete(e) => diff(format!("endpoint {}", id_of(e)), Some(e), None),
            });
        }
        change
    }
}

#[async_trait]
impl Action for EndpointAction {
    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let p = &self.p;
        let api = connect(ctx, cloud_request(&p.auth, &p.cloud, &p.region_name, None)).await?;
        let svc = match (find_service(&api, &self.p.service).await?, self.p.state) {
            (Some(svc), _) => svc,
            (None, State::Absent) => {
                return Ok(Query::Unchanged(Outcome::ok().with_msg(format!(
                    "service `{}` does not exist, so has no endpoints",
                    self.p.service
                ))));
            }
            (None, State::Present) => {
                return Err(ModuleError::failed(format!(
                    "service `{}` not found: no service has that id, name or type (create it first with keystone_service)",
                    self.p.service
                )));
            }
        };
        let sid = id_of(&svc);
        for (iface, url) in self.wanted.clone() {
            let all = api
                .identity_list(
                    "endpoints",
                    &[("service_id", &sid), ("interface", iface.as_str())],
                )
                .await?;
            let same_region: Vec<Value> = all
                .into_iter()
                .filter(|e| {
                    let r = e.get("region_id").and_then(Value::as_str);
                    r == self.p.region.as_deref()
                })
                .collect();
            self.plan(&svc, iface, url.as_deref(), same_region);
        }
        if self.ops.is_empty() {
            // Check mode has always shown these twice here (at once, and
            // with the result); kept so that its output does not change.
            if ctx.check {
                for w in &self.warnings {
                    ctx.services.notes.warn(ctx.host, w);
                }
            }
            let mut out = Outcome::ok().with("endpoints", self.kept.clone());
            out.warnings = self.warnings.clone();
            return Ok(Query::Unchanged(out));
        }
        let mut change = self.change();
        change.warnings = self.warnings.clone();
        Ok(Query::Change(change, Planned::boxed(*self, api)))
    }
}

#[async_trait]
impl ApplyPlan for EndpointAction {
    /// The session the query looked through; the plan itself is `ops`.
    type Plan = Api;

    async fn apply_plan(self, api: Api, _ctx: &ModuleCtx<'_>) -> Result<Outcome, ModuleError> {
        let mut endpoints = self.kept.clone();
        for op in &self.ops {
            match op {
                Op::Create(body) => {
                    let r = api
                        .send(
                            "identity",
                            Method::POST,
                            "/v3/endpoints",
                            Some(&json!({"endpoint": body})),
                        )
                        .await?;
                    endpoints.push(r["endpoint"].clone());
                }
                Op::Update { id, patch, .. } => {
                    let path = format!("/v3/endpoints/{id}");
                    let r = api
                        .send(
                            "identity",
                            Method::PATCH,
                            &path,
                            Some(&json!({"endpoint": patch})),
                        )
                        .await?;
                    endpoints.push(r["endpoint"].clone());
                }
                Op::Delete(e) => {
                    let path = format!("/v3/endpoints/{}", id_of(e));
                    api.send("identity", Method::DELETE, &path, None).await?;
                }
            }
        }
        let mut out = Outcome::changed().with("endpoints", endpoints);
        if let [one] = out.data["endpoints"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .as_slice()
        {
            out.data.insert("endpoint".into(), one.clone());
        }
        out.warnings = self.warnings.clone();
        Ok(out)
    }
}
