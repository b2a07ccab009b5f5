//! The create / update / delete plan that the simple Keystone modules
//! (domain, project, role, region, service, user) share: compare what
//! exists with what the task wants, describe the difference for check
//! mode, and carry it out in apply.

use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};

use super::common::{Api, State, connect, diff, differences, id_of, pick};
use serde::de::DeserializeOwned;

use crate::modules::{
    Action, ApplyPlan, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned, Query,
    parse_params,
};

/// A Keystone collection, e.g. `projects` / `project`.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    pub collection: &'static str,
    pub singular: &'static str,
    /// Keystone refuses to delete an enabled domain: disable it first.
    pub disable_before_delete: bool,
}

/// What the apply will do, decided by the query.
#[derive(Debug)]
pub enum Plan {
    Create(Map<String, Value>),
    Update {
        current: Value,
        patch: Map<String, Value>,
    },
    Delete(Value),
}

impl Plan {
    /// The plan for `state: present`: create with `create`, or patch the
    /// fields of `compare` that differ. `None`: nothing to do.
    pub fn present(
        current: Option<&Value>,
        create: Map<String, Value>,
        compare: &Map<String, Value>,
    ) -> Option<Plan> {
        match current {
            None => Some(Plan::Create(create)),
            Some(cur) => {
                let patch = differences(cur, compare);
                (!patch.is_empty()).then(|| Plan::Update {
                    current: cur.clone(),
                    patch,
                })
            }
        }
    }

    /// The plan for `state: absent`.
    pub fn absent(current: Option<&Value>) -> Option<Plan> {
        current.map(|c| Plan::Delete(c.clone()))
    }

    /// What check mode reports, with a diff of the fields concerned.
    /// `hidden` fields (passwords) are left out of the diff.
    pub fn change(&self, kind: Kind, label: &str, hidden: &[&str]) -> Change {
        let header = format!("{} {label}", kind.singular);
        let strip = |m: &Map<String, Value>| -> Value {
            Value::Object(
                m.iter()
                    .filter(|(k, _)| !hidden.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        };
        match self {
            Plan::Create(body) => Change::new()
                .with_msg(format!("{header} would be created"))
                .with_diff(diff(header.clone(), None, Some(&strip(body))))
                .with(kind.singular, strip(body)),
            Plan::Update { current, patch } => {
                let before = pick(current, patch);
                let before = before.as_object().map(strip).unwrap_or_default();
                Change::new()
                    .with_msg(format!(
                        "{header} would be updated: {}",
                        patch.keys().cloned().collect::<Vec<_>>().join(", ")
                    ))
                    .with_diff(diff(header, Some(&before), Some(&strip(patch))))
                    .with("id", id_of(current))
            }
            Plan::Delete(current) => Change::new()
                .with_msg(format!("{header} would be deleted"))
                .with_diff(diff(header, Some(current), None))
                .with("id", id_of(current)),
        }
    }

    /// Carries the plan out. The result holds the object under its
    /// singular name (as the Ansible modules return it) and its `id`.
    pub async fn apply(&self, api: &Api, kind: Kind) -> Result<Outcome, ModuleError> {
        let Kind {
            collection,
            singular,
            ..
        } = kind;
        let obj = match self {
            Plan::Create(body) => {
                let reply = api
                    .send(
                        "identity",
                        Method::POST,
                        &format!("/v3/{collection}"),
                        Some(&json!({ singular: body })),
                    )
                    .await?;
                reply.get(singular).cloned().unwrap_or(Value::Null)
            }
            Plan::Update { current, patch } => {
                let path = format!("/v3/{collection}/{}", id_of(current));
                let reply = api
                    .send(
                        "identity",
                        Method::PATCH,
                        &path,
                        Some(&json!({ singular: patch })),
                    )
                    .await?;
                reply.get(singular).cloned().unwrap_or(Value::Null)
            }
            Plan::Delete(current) => {
                let path = format!("/v3/{collection}/{}", id_of(current));
                if kind.disable_before_delete && current.get("enabled") != Some(&Value::Bool(false))
                {
                    let off = json!({ singular: {"enabled": false} });
                    api.send("identity", Method::PATCH, &path, Some(&off))
                        .await?;
                }
                api.send("identity", Method::DELETE, &path, None).await?;
                return Ok(Outcome::changed()
                    .with_msg(format!("{singular} deleted"))
                    .with("id", id_of(current)));
            }
        };
        Ok(Outcome::changed()
            .with("id", id_of(&obj))
            .with(singular, obj))
    }
}

/// The result when nothing changes.
pub fn unchanged(kind: Kind, current: Option<&Value>) -> Outcome {
    match current {
        Some(c) => Outcome::ok()
            .with("id", id_of(c))
            .with(kind.singular, c.clone()),
        None => Outcome::ok().with_msg(format!("{} is absent", kind.singular)),
    }
}

/// What a simple Keystone module wants, once its names are resolved.
pub struct Wanted {
    /// The object as it exists, if it does.
    pub current: Option<Value>,
    /// The body to create it with.
    pub create: Map<String, Value>,
    /// The fields to keep equal on an existing object.
    pub compare: Map<String, Value>,
}

impl Wanted {
    /// Nothing exists and nothing is wanted.
    pub fn absent() -> Self {
        Wanted {
            current: None,
            create: Map::new(),
            compare: Map::new(),
        }
    }
}

/// A simple Keystone module's side: its parameters, resolved against the
/// cloud. [`ResourceAction`] does the rest.
#[async_trait]
pub trait Resource: super::common::Basics + Send + Sync {
    /// Checks combinations of parameters that types alone cannot express.
    fn validate(&self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn kind(&self) -> Kind;
    /// How the object is named in messages.
    fn label(&self) -> String;
    /// Looks the object up and says what is wanted.
    async fn resolve(&self, api: &Api) -> Result<Wanted, ModuleError>;
    /// Fields never shown in a diff.
    fn hidden(&self) -> &'static [&'static str] {
        &[]
    }
}

/// A simple Keystone module: its parameters are the [`Resource`].
pub struct ResourceModule<R> {
    spec: ModuleSpec,
    params: std::marker::PhantomData<fn() -> R>,
}

impl<R> ResourceModule<R> {
    pub fn new(spec: ModuleSpec) -> Self {
        ResourceModule {
            spec,
            params: std::marker::PhantomData,
        }
    }
}

impl<R: Resource + DeserializeOwned + schemars::JsonSchema + 'static> Module for ResourceModule<R> {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let res: R = parse_params(args)?;
        res.validate()?;
        Ok(Box::new(ResourceAction::new(res)))
    }
}

/// The query-then-apply of a simple Keystone module.
pub struct ResourceAction<R: Resource> {
    res: R,
}

impl<R: Resource> ResourceAction<R> {
    /// The action for one task's parameters.
    pub fn new(res: R) -> Self {
        ResourceAction { res }
    }
}

#[async_trait]
impl<R: Resource + 'static> Action for ResourceAction<R> {
    async fn query(self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let api = connect(ctx, self.res.cloud()).await?;
        let wanted = self.res.resolve(&api).await?;
        let kind = self.res.kind();
        let plan = match self.res.state() {
            State::Present => {
                Plan::present(wanted.current.as_ref(), wanted.create, &wanted.compare)
            }
            State::Absent => Plan::absent(wanted.current.as_ref()),
        };
        let Some(plan) = plan else {
            return Ok(Query::Unchanged(unchanged(kind, wanted.current.as_ref())));
        };
        let change = plan.change(kind, &self.res.label(), self.res.hidden());
        Ok(Query::Change(change, Planned::boxed(*self, (api, plan))))
    }
}

#[async_trait]
impl<R: Resource + 'static> ApplyPlan for ResourceAction<R> {
    /// The session the query looked through, and what it decided.
    type Plan = (Api, Plan);

    async fn apply_plan(
        self,
        (api, plan): (Api, Plan),
        _ctx: &ModuleCtx<'_>,
    ) -> Result<Outcome, ModuleError> {
        plan.apply(&api, self.res.kind()).await
    }
}
