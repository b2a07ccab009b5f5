//! `group_vars/` and `host_vars/` beside an inventory source or a playbook,
//! read the way Ansible's `host_group_vars` plugin reads them: for a group
//! or host NAME, the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`
//! that exists; when that is a directory, every file in it (recursively,
//! in lexical order, skipping hidden files and `*~`) with no extension or
//! one of those extensions, later files overriding earlier ones.
//!
//! Each directory is read once; the maps are shared (`Arc`).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::InventoryError;
use crate::source::{Diagnostic, SourceFile, yaml};

/// One file's variables, shared by every host that reads them.
pub(crate) type Vars = Arc<Map<String, Value>>;

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The variables found in one directory's `group_vars/` and `host_vars/`.
#[derive(Debug, Clone)]
pub(crate) struct VarsDir {
    /// The folder holding `group_vars/` and `host_vars/`.
    pub root: PathBuf,
    groups: HashMap<String, Vars>,
    hosts: HashMap<String, Vars>,
}

impl VarsDir {
    /// Reads the vars of the named groups and hosts under `root`.
    pub fn load<'a>(
        root: &Path,
        groups: impl IntoIterator<Item = &'a str>,
        hosts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, InventoryError> {
        Ok(VarsDir {
            root: root.to_path_buf(),
            groups: load_entities(&root.join("group_vars"), groups)?,
            hosts: load_entities(&root.join("host_vars"), hosts)?,
        })
    }

    /// A group's variables, if `group_vars/` has any for it.
    pub fn group(&self, name: &str) -> Option<&Vars> {
        self.groups.get(name)
    }

    /// A host's variables, if `host_vars/` has any for it.
    pub fn host(&self, name: &str) -> Option<&Vars> {
        self.hosts.get(name)
    }
}

fn load_entities<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, Vars>, InventoryError> {
    let mut out = HashMap::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for name in names {
        // A host named like a path (`/srv/chroot`) has no vars file.
        if name.is_empty() || name.starts_with('/') {
            continue;
        }
        let files = find_vars_files(dir, name)?;
        if files.is_empty() {
            continue;
        }
        let mut vars = Map::new();
        for file in files {
            vars.extend(load_vars_file(&file)?);
        }
        out.insert(name.to_string(), Arc::new(vars));
    }
    Ok(out)
}

fn find_vars_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>, InventoryError> {
    let candidates = std::iter::once(dir.join(name))
        .chain(EXTENSIONS.iter().map(|e| dir.join(format!("{name}.{e}"))));
    for path in candidates {
        if path.is_dir() {
            let mut found = Vec::new();
            list_dir_files(&path, &mut found)?;
            return Ok(found);
        }
        if path.exists() {
            return Ok(vec![path]);
        }
    }
    Ok(Vec::new())
}

fn list_dir_files(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let io = |source| InventoryError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut names: Vec<String> = fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    names.sort();
    for name in names {
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let path = dir.join(&name);
        let ext = Path::new(&name)
            .extension()
            .map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() && ext.is_none() {
            list_dir_files(&path, found)?;
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            found.push(path);
        }
    }
    Ok(())
}

/// A vars file: a YAML (or JSON) mapping. An empty file sets nothing.
pub(crate) fn load_vars_file(path: &Path) -> Result<Map<String, Value>, InventoryError> {
    let text = fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = SourceFile::new(path, text);
    let root = yaml::parse(&file).map_err(InventoryError::Parse)?;
    match root.to_value() {
        Value::Null => Ok(Map::new()),
        Value::Object(map) => Ok(map),
        other => {
            let mut diag = Diagnostic::new(
                format!(
                    "a vars file must hold a mapping of variables, found {}",
                    crate::value::type_name(&other)
                ),
                Some(root.span.clone()),
            );
            if file.text.starts_with("$ANSIBLE_VAULT") {
                diag = diag.with_hint("vault-encrypted files are not supported");
            }
            Err(InventoryError::Parse(diag))
        }
    }
}
