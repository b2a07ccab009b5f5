//! `image_upload`: a Glance image and its data (Ansible's
//! `openstack.cloud.image`), streamed from a control-node file, a file on
//! the target host or a URL, never held in memory.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::common::{Api, Interface, State, cloud_request, connect, diff, id_of, os_params};
use crate::modules::{
    Action, ApplyPlan, Change, Module, ModuleCtx, ModuleError, ModuleSpec, Outcome, Planned, Query,
    parse_params,
};
use crate::openstack::rest::encode;
use crate::openstack::stream::{Checksum, Digests};

/// `visibility`.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Every project sees it.
    Public,
    /// Only the owner's project sees it.
    Private,
    /// The owner's project and the projects it is shared with.
    Shared,
    /// Every project sees it, without it being listed by default.
    Community,
}

impl Visibility {
    fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Private => "private",
            Visibility::Shared => "shared",
            Visibility::Community => "community",
        }
    }
}

os_params! {
    /// Creates, updates or deletes a Glance image and uploads its data.
    ///
    /// Like `openstack.cloud.image`, with these differences. The data comes
    /// from `file` (on the control node; Ansible's `filename`), `remote_file`
    /// (on the target host, streamed through the connection) or `url`
    /// (downloaded to a temporary file on the control node while it is
    /// hashed). `checksum` (`sha256:HEX`, `sha512:HEX` or `md5:HEX`) is
    /// verified before anything is uploaded, not used to find the image.
    /// The image is found by name among the images of the authenticated
    /// project. It is left alone when Glance's `os_hash_value` (sha512)
    /// equals the data's; different data fails unless `replace: yes`
    /// (which deletes the old image and uploads a new one). An image stuck
    /// in `queued` (an upload that died) gets its data uploaded. Metadata
    /// (`visibility`, `min_disk`, `min_ram`, `protected`, `tags`,
    /// `properties`) is updated with a JSON patch. The upload is streamed,
    /// its sha512 computed on the way and compared with Glance's once the
    /// image is `active`. A progress bar is shown when stderr is a terminal.
    pub struct ImageParams {
        /// The image's name.
        name: String,
        /// The data: a file on the control node.
        #[serde(default)]
        #[schemars(extend("x-aliases" = ["filename"]))]
        file: Option<String>,
        /// The data: a file on the target host.
        #[serde(default)]
        remote_file: Option<String>,
        /// The data: an http(s) URL, downloaded by the control node.
        #[serde(default)]
        url: Option<String>,
        /// The data's expected digest, `ALGO:HEX` (md5, sha256 or sha512).
        #[serde(default)]
        checksum: Option<String>,
        /// `qcow2`, `raw`, `vmdk`, `iso` ... (default `qcow2`).
        #[serde(default = "default_disk_format")]
        disk_format: String,
        /// `bare`, `ovf`, `ova`, `docker` ... (default `bare`).
        #[serde(default = "default_container_format")]
        container_format: String,
        /// Who can see the image (Glance's default: `shared`).
        #[serde(default)]
        visibility: Option<Visibility>,
        /// `yes` means `visibility: public`, `no` means `private`.
        #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
        is_public: Option<bool>,
        /// Minimum disk size in GB.
        #[serde(default, deserialize_with = "crate::value::de_opt_int")]
        min_disk: Option<i64>,
        /// Minimum RAM in MB.
        #[serde(default, deserialize_with = "crate::value::de_opt_int")]
        min_ram: Option<i64>,
        /// Extra properties (values are stored as strings).
        #[serde(default)]
        properties: Option<Map<String, Value>>,
        /// Tags (the image gets exactly these).
        #[serde(default)]
        tags: Option<Vec<String>>,
        /// Whether the image is protected from deletion.
        #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
        #[schemars(extend("x-aliases" = ["is_protected"]))]
        protected: Option<bool>,
        /// Replace an image of that name whose data differs.
        #[serde(default, deserialize_with = "crate::value::de_bool")]
        replace: bool,
        /// Seconds to wait for the image to become `active` after the upload.
        #[serde(default = "default_wait", deserialize_with = "crate::value::de_int")]
        #[schemars(extend("x-aliases" = ["timeout"]))]
        wait_timeout: i64,
        /// `present` or `absent`.
        #[serde(default)]
        state: State,
        /// The catalog interface to reach Glance through (default `public`).
        #[serde(default)]
        interface: Option<Interface>,
    }
}

fn default_disk_format() -> String {
    "qcow2".into()
}

fn default_container_format() -> String {
    "bare".into()
}

fn default_wait() -> i64 {
    180
}

/// The `image_upload` module.
pub struct ImageModule {
    spec: ModuleSpec,
}

/// The module, for the registry.
pub fn module() -> Arc<dyn Module> {
    let mut spec = ModuleSpec::native::<ImageParams>("image_upload").with_examples(
        "- image_upload:\n    cloud: mycloud\n    name: cirros\n    url: http://mirror/cirros-0.6.2-x86_64-disk.img\n    checksum: sha256:...\n    visibility: public\n\n- image_upload:\n    cloud: mycloud\n    name: debian-12\n    remote_file: /srv/images/debian-12.qcow2\n    properties:\n      hw_disk_bus: scsi",
    );
    spec.exclusive = vec![
        vec!["file".into(), "remote_file".into(), "url".into()],
        vec!["visibility".into(), "is_public".into()],
    ];
    Arc::new(ImageModule { spec })
}

impl Module for ImageModule {
    fn spec(&self) -> &ModuleSpec {
        &self.spec
    }

    fn action(&self, args: &Map<String, Value>) -> Result<Box<dyn Action>, ModuleError> {
        let p: ImageParams = parse_params(args)?;
        let source = match (&p.file, &p.remote_file, &p.url) {
            (Some(f), None, None) => Some(Source::File(f.clone())),
            (None, Some(r), None) => Some(Source::Remote(r.clone())),
            (None, None, Some(u)) => Some(Source::Url(u.clone())),
            (None, None, None) => None,
            _ => {
                return Err(ModuleError::Params(
                    "give only one of `file`, `remote_file` and `url`".into(),
                ));
            }
        };
        let checksum = p
            .checksum
            .as_deref()
            .map(str::parse::<Checksum>)
            .transpose()
            .map_err(ModuleError::Params)?;
        Ok(Box::new(ImageAction {
            p,
            source,
            checksum,
            known: None,
            temp: None,
        }))
    }
}

/// Where the data comes from.
#[derive(Debug, Clone)]
enum Source {
    File(String),
    Remote(String),
    Url(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "file {p}"),
            Source::Remote(p) => write!(f, "remote file {p}"),
            Source::Url(u) => write!(f, "{u}"),
        }
    }
}

/// What the apply will do, decided by the query.
#[derive(Debug)]
enum Plan {
    /// Create the record and upload the data.
    Create,
    /// A queued image: patch its metadata and upload its data.
    Upload {
        image: Value,
        patch: Vec<Value>,
    },
    Patch {
        image: Value,
        patch: Vec<Value>,
    },
    /// Delete the image of different data, then create.
    Replace {
        old: Value,
    },
    Delete {
        image: Value,
    },
}

/// A temporary file on the control node, removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct ImageAction {
    p: ImageParams,
    source: Option<Source>,
    checksum: Option<Checksum>,
    /// The data's digests, once computed.
    known: Option<Digests>,
    /// A downloaded URL.
    temp: Option<TempFile>,
}

const JSON_PATCH: &str = "application/openstack-images-v2.1-json-patch";

#[async_trait]
impl Action for ImageAction {
    async fn query(mut self: Box<Self>, ctx: &ModuleCtx<'_>) -> Result<Query, ModuleError> {
        let p = &self.p;
        let api = connect(
            ctx,
            cloud_request(&p.auth, &p.cloud, &p.region_name, p.interface),
        )
        .await?;
        let image = self.find(&api).await?;
        let name = self.p.name.clone();
        let (plan, msg) = match (self.p.state, image) {
            (State::Absent, None) => {
                return Ok(Query::Unchanged(
                    Outcome::ok().with_msg(format!("image `{name}` is absent")),
                ));
            }
            (State::Absent, Some(image)) => (
                Plan::Delete { image },
                format!("image `{name}` would be deleted"),
            ),
            (State::Present, None) => {
                let src = self.require_source()?;
                (
                    Plan::Create,
                    format!("image `{name}` would be created from {src}"),
                )
            }
            (State::Present, Some(image)) => match self.plan_existing(ctx, image).await? {
                Some(pm) => pm,
                None => return Ok(Query::Unchanged(self.unchanged_outcome())),
            },
        };
        let change = self.describe(&plan).with_msg(msg);
        Ok(Query::Change(change, Planned::boxed(*self, (api, plan))))
    }
}

#[async_trait]
impl ApplyPlan for ImageAction {
    /// The session the query looked through, and what it decided.
    type Plan = (Api, Plan);

    async fn apply_plan(
        mut self,
        (api, plan): (Api, Plan),
        ctx: &ModuleCtx<'_>,
    ) -> Result<Outcome, ModuleError> {
        match plan {
            Plan::Delete { image } => {
                delete(&api, &image, false).await?;
                Ok(Outcome::changed()
                    .with_msg(format!("image `{}` deleted", self.p.name))
                    .with("id", id_of(&image)))
            }
            Plan::Patch { image, patch } => {
                let image = self.patch(&api, &image, &patch).await?;
                Ok(self.result(image, false, None))
            }
            Plan::Upload { image, patch } => {
                self.prepare_data(ctx).await?;
                let image = self.patch(&api, &image, &patch).await?;
                self.upload_and_wait(ctx, &api, &image, false).await
            }
            Plan::Create => {
                self.prepare_data(ctx).await?;
                let image = self.create(&api).await?;
                self.upload_and_wait(ctx, &api, &image, true).await
            }
            Plan::Replace { old } => {
                self.prepare_data(ctx).await?;
                delete(&api, &old, true).await?;
                let image = self.create(&api).await?;
                self.upload_and_wait(ctx, &api, &image, true).await
            }
        }
    }
}

impl ImageAction {
    fn require_source(&self) -> Result<&Source, ModuleError> {
        self.source.as_ref().ok_or_else(|| {
            ModuleError::failed(format!(
                "image `{}` needs data: give `file`, `remote_file` or `url`",
                self.p.name
            ))
        })
    }

    /// The image of that name in the authenticated project.
    async fn find(&self, api: &Api) -> Result<Option<Value>, ModuleError> {
        let token = api.session.token().await?;
        let mut path = format!("/v2/images?name={}", encode(&self.p.name));
        if let Some(project) = &token.project_id {
            path.push_str(&format!("&owner={}", encode(project)));
        }
        let found = api.send("image", Method::GET, &path, None).await?;
        let images = found
            .get("images")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if images.len() > 1 {
            let ids: Vec<String> = images.iter().map(id_of).collect();
            return Err(ModuleError::failed(format!(
                "{} images are named `{}` in this project ({}); delete the extra ones",
                images.len(),
                self.p.name,
                ids.join(", ")
            )));
        }
        Ok(images.into_iter().next())
    }

    /// The plan for an image that exists, or `None` when it is as wanted.
    async fn plan_existing(
        &mut self,
        ctx: &ModuleCtx<'_>,
        image: Value,
    ) -> Result<Option<(Plan, String)>, ModuleError> {
        let name = self.p.name.clone();
        let status = image
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let patch = self.patch_ops(&image);
        match status.as_str() {
            "active" => {}
            "queued" => {
                let src = self.require_source()?.to_string();
                let msg = format!("image `{name}` is queued (no data); {src} would be uploaded");
                return Ok(Some((Plan::Upload { image, patch }, msg)));
            }
            _ if self.p.replace && status != "saving" && status != "importing" => {
                let msg = format!("image `{name}` is {status}; it would be replaced");
                return Ok(Some((Plan::Replace { old: image }, msg)));
            }
            _ => {
                return Err(ModuleError::failed(format!(
                    "image `{name}` ({}) is {status}; wait for it, or set replace: yes",
                    id_of(&image)
                )));
            }
        }
        let Some(src) = self.source.clone() else {
            return Ok(self.metadata_plan(image, patch));
        };
        self.compare_data(ctx, image, patch, &src).await
    }

    /// An active image against the task's data: equal (maybe with new
    /// metadata), replaced on request, or an error saying what differs.
    async fn compare_data(
        &mut self,
        ctx: &ModuleCtx<'_>,
        image: Value,
        patch: Vec<Value>,
        src: &Source,
    ) -> Result<Option<(Plan, String)>, ModuleError> {
        let name = self.p.name.clone();
        let local = self.local_digests(ctx, src).await?;
        let glance = image
            .get("os_hash_value")
            .and_then(Value::as_str)
            .unwrap_or("");
        let formats_differ = ["disk_format", "container_format"].iter().any(|k| {
            image.get(*k).and_then(Value::as_str)
                != Some(if *k == "disk_format" {
                    &self.p.disk_format
                } else {
                    &self.p.container_format
                })
        });
        if glance == local.sha512 && !formats_differ {
            return Ok(self.metadata_plan(image, patch));
        }
        if self.p.replace {
            let msg =
                format!("image `{name}` has other data or formats; it would be replaced by {src}");
            return Ok(Some((Plan::Replace { old: image }, msg)));
        }
        let why = if glance != local.sha512 {
            format!(
                "Glance has sha512 {}…, {src} has {}…",
                glance.get(..16).unwrap_or(glance),
                local.sha512.get(..16).unwrap_or(&local.sha512)
            )
        } else {
            "its disk_format or container_format differs".to_string()
        };
        Err(ModuleError::failed(format!(
            "image `{name}` ({}) already exists with different data: {why}; set replace: yes to replace it",
            id_of(&image)
        )))
    }

    fn metadata_plan(&self, image: Value, patch: Vec<Value>) -> Option<(Plan, String)> {
        if patch.is_empty() {
            return None;
        }
        let msg = format!("image `{}` metadata would be updated", self.p.name);
        Some((Plan::Patch { image, patch }, msg))
    }

    fn unchanged_outcome(&self) -> Outcome {
        Outcome::ok().with_msg(format!("image `{}` is up to date", self.p.name))
    }

    /// The JSON-patch operations that bring the image's metadata in line.
    fn patch_ops(&self, image: &Value) -> Vec<Value> {
        let mut ops = Vec::new();
        let mut want = |field: &str, v: Value| {
            if image.get(field) != Some(&v) {
                let op = if image.get(field).is_some() {
                    "replace"
                } else {
                    "add"
                };
                ops.push(
                    json!({"op": op, "path": format!("/{}", pointer_escape(field)), "value": v}),
                );
            }
        };
        if let Some(v) = self.visibility() {
            want("visibility", v.as_str().into());
        }
        if let Some(v) = self.p.min_disk {
            want("min_disk", v.into());
        }
        if let Some(v) = self.p.min_ram {
            want("min_ram", v.into());
        }
        if let Some(v) = self.p.protected {
            want("protected", v.into());
        }
        for (k, v) in self.p.properties.iter().flatten() {
            want(k, property_string(v).into());
        }
        if let Some(tags) = &self.p.tags {
            let mut have: Vec<String> = image
                .get("tags")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let mut wanted = tags.clone();
            have.sort();
            wanted.sort();
            wanted.dedup();
            if have != wanted {
                ops.push(json!({"op": "replace", "path": "/tags", "value": wanted}));
            }
        }
        ops
    }

    fn visibility(&self) -> Option<Visibility> {
        self.p.visibility.or(self.p.is_public.map(|p| {
            if p {
                Visibility::Public
            } else {
                Visibility::Private
            }
        }))
    }

    /// What check mode shows.
    fn describe(&self, plan: &Plan) -> Change {
        let header = format!("image {}", self.p.name);
        match plan {
            Plan::Create | Plan::Replace { .. } => {
                let body = self.create_body();
                Change::new()
                    .with_diff(diff(header, None, Some(&body)))
                    .with("image", body)
            }
            Plan::Upload { patch, image } | Plan::Patch { patch, image } => {
                let (before, after) = patch_sides(image, patch);
                Change::new()
                    .with_diff(diff(header, Some(&before), Some(&after)))
                    .with("patch", patch.clone())
            }
            Plan::Delete { image } => Change::new()
                .with_diff(diff(header, Some(image), None))
                .with("id", id_of(image)),
        }
    }

    fn create_body(&self) -> Value {
        let mut body = Map::new();
        body.insert("name".into(), self.p.name.clone().into());
        body.insert("disk_format".into(), self.p.disk_format.clone().into());
        body.insert(
            "container_format".into(),
            self.p.container_format.clone().into(),
        );
        if let Some(v) = self.visibility() {
            body.insert("visibility".into(), v.as_str().into());
        }
        super::common::put(&mut body, "min_disk", self.p.min_disk);
        super::common::put(&mut body, "min_ram", self.p.min_ram);
        super::common::put(&mut body, "protected", self.p.protected);
        super::common::put(&mut body, "tags", self.p.tags.clone());
        for (k, v) in self.p.properties.iter().flatten() {
            body.insert(k.clone(), property_string(v).into());
        }
        Value::Object(body)
    }

    async fn create(&self, api: &Api) -> Result<Value, ModuleError> {
        api.send(
            "image",
            Method::POST,
            "/v2/images",
            Some(&self.create_body()),
        )
        .await
    }

    async fn patch(&self, api: &Api, image: &Value, ops: &[Value]) -> Result<Value, ModuleError> {
        if ops.is_empty() {
            return Ok(image.clone());
        }
        let path = format!("/v2/images/{}", id_of(image));
        let body = Value::Array(ops.to_vec());
        let reply = api
            .call_with(
                "image",
                Method::PATCH,
                &path,
                Some(&body),
                &[("Content-Type", JSON_PATCH)],
            )
            .await?;
        Ok(reply.ok()?.json)
    }

    fn result(&self, image: Value, uploaded: bool, seconds: Option<f64>) -> Outcome {
        let mut out = Outcome::changed()
            .with("id", id_of(&image))
            .with("uploaded", uploaded)
            .with("image", image);
        if let Some(s) = seconds {
            out = out.with("upload_seconds", (s * 1000.0).round() / 1000.0);
        }
        out
    }
}

/// Deletes an image; with `force`, a protected one is unprotected first.
async fn delete(api: &Api, image: &Value, force: bool) -> Result<(), ModuleError> {
    let path = format!("/v2/images/{}", id_of(image));
    if force && image.get("protected") == Some(&Value::Bool(true)) {
        let ops = json!([{"op": "replace", "path": "/protected", "value": false}]);
        api.call_with(
            "image",
            Method::PATCH,
            &path,
            Some(&ops),
            &[("Content-Type", JSON_PATCH)],
        )
        .await?
        .ok()?;
    }
    api.send("image", Method::DELETE, &path, None).await?;
    Ok(())
}

/// The fields a JSON patch touches, before and after, for a diff.
fn patch_sides(image: &Value, ops: &[Value]) -> (Value, Value) {
    let (mut before, mut after) = (Map::new(), Map::new());
    for op in ops {
        let path = op.get("path").and_then(Value::as_str).unwrap_or("/");
        let key = path
            .strip_prefix('/')
            .unwrap_or(path)
            .replace("~1", "/")
            .replace("~0", "~");
        if let Some(v) = image.get(&key) {
            before.insert(key.clone(), v.clone());
        }
        after.insert(key, op.get("value").cloned().unwrap_or(Value::Null));
    }
    (Value::Object(before), Value::Object(after))
}

/// Glance stores extra properties as strings.
fn property_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Escapes a key for a JSON pointer (`/` and `~`).
fn pointer_escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

mod data;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_only_what_differs() {
        let args = json!({"name": "x", "min_ram": 64, "visibility": "public",
            "properties": {"hw_disk_bus": "scsi", "a/b": 1}, "tags": ["b", "a"]});
        let p: ImageParams = parse_params(args.as_object().unwrap()).unwrap();
        let action = ImageAction {
            p,
            source: None,
            checksum: None,
            known: None,
            temp: None,
        };
        let image = json!({"min_ram": 64, "visibility": "shared", "hw_disk_bus": "ide", "tags": ["a", "b"]});
        let ops = action.patch_ops(&image);
        assert_eq!(
            ops,
            vec![
                json!({"op": "replace", "path": "/visibility", "value": "public"}),
                json!({"op": "replace", "path": "/hw_disk_bus", "value": "scsi"}),
                json!({"op": "add", "path": "/a~1b", "value": "1"}),
            ]
        );
    }
}
