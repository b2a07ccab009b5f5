//! Turning `-i` arguments into the graph: an inventory file (INI or YAML),
//! a directory of them (recursively, skipping what Ansible skips), or a
//! comma-separated host list (`-i 'web1,web2:2222,'`).
//!
//! A file's format is chosen like Ansible's plugin order: `.yml`, `.yaml`
//! and `.json` are YAML; `.ini` is INI; anything else is YAML when it
//! parses as a YAML mapping, INI otherwise.

use std::fs;
use std::path::{Path, PathBuf};

use super::expand::parse_address;
use super::graph::{Graph, Origin, UNGROUPED};
use super::{InventoryError, ini, yaml};
use crate::source::SourceFile;
use crate::source::yaml as yaml_tree;

/// Names skipped in inventory directories (Ansible's `IGNORED_ALWAYS`).
const SKIPPED_NAMES: [&str; 3] = ["host_vars", "group_vars", "vars_plugins"];
/// Ansible's default `INVENTORY_IGNORE_EXTS`.
const SKIPPED_SUFFIXES: [&str; 12] = [
    "~", ".orig", ".cfg", ".retry", ".pyc", ".pyo", ".swp", ".bak", ".rpm", ".md", ".txt", ".rst",
];
const YAML_EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// What one `-i` argument was.
pub(crate) enum Source {
    /// A file or directory; its `group_vars/`/`host_vars/` live in `vars_root`.
    Path {
        vars_root: PathBuf,
    },
    HostList,
}

/// Loads one `-i` argument into the graph; non-fatal findings go to `warnings`.
pub(crate) fn load(
    arg: &Path,
    graph: &mut Graph,
    warnings: &mut Vec<String>,
) -> Result<Source, InventoryError> {
    let text = arg.to_string_lossy();
    if !arg.exists() && text.contains(',') {
        load_host_list(&text, graph);
        return Ok(Source::HostList);
    }
    let meta = fs::metadata(arg).map_err(|source| InventoryError::Io {
        path: arg.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        load_dir(arg, graph, warnings)?;
        return Ok(Source::Path {
            vars_root: arg.to_path_buf(),
        });
    }
    load_file(arg, graph, warnings)?;
    let vars_root = match arg.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Source::Path { vars_root })
}

/// `-i 'a,b:2222,'`: each name goes to `ungrouped`; no ranges.
fn load_host_list(text: &str, graph: &mut Graph) {
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, port) = parse_address(entry)
            .filter(|(h, _)| !h.contains('['))
            .unwrap_or_else(|| (entry.to_string(), None));
        graph.add_host(&name, UNGROUPED, port, &Origin::HostList(text));
    }
}

fn load_dir(
    dir: &Path,
    graph: &mut Graph,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
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
        if name.starts_with('.')
            || SKIPPED_NAMES.contains(&name.as_str())
            || SKIPPED_SUFFIXES.iter().any(|s| name.ends_with(s))
        {
            continue;
        }
        let path = dir.join(&name);
        if path.is_dir() {
            load_dir(&path, graph, warnings)?;
        } else if is_script(&path) {
            warnings.push(format!(
                "skipping {}: executable inventory scripts are not supported",
                path.display()
            ));
        } else {
            load_dir_file(&path, graph, warnings)?;
        }
    }
    Ok(())
}

/// A file found in an inventory directory. Like Ansible, a file that is
/// no inventory (a known_hosts, a key) is skipped with a warning; one
/// named as an inventory (`.ini`, `.yml`) must parse. Unlike Ansible, a
/// file of bare words only is skipped too (its content is not shown): a
/// password or token file would make its secret a host.
fn load_dir_file(
    path: &Path,
    graph: &mut Graph,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let named =
        extension(path).is_some_and(|x| x == "ini" || YAML_EXTENSIONS.contains(&x.as_str()));
    if !named && fs::read_to_string(path).is_ok_and(|t| only_bare_words(&t)) {
        warnings.push(format!(
            "skipping {}: it holds only bare words (no groups, no variables), as a password \
             file does; name it *.ini to read it as a list of hosts",
            path.display()
        ));
        return Ok(());
    }
    let before = graph.clone();
    if let Err(e) = load_file(path, graph, warnings) {
        if named {
            return Err(e);
        }
        *graph = before;
        warnings.push(format!(
            "skipping {}: not an inventory ({e})",
            path.display()
        ));
    }
    Ok(())
}

/// Whether an INI text is nothing but lines of one word (each a host of
/// `ungrouped`), comments and blank lines aside.
fn only_bare_words(text: &str) -> bool {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'))
        .peekable();
    lines.peek().is_some() && lines.all(|l| !l.starts_with('[') && !l.contains(char::is_whitespace))
}

/// An executable file that is not a static inventory: Ansible would run it.
fn is_script(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let static_ext =
        extension(path).is_some_and(|e| e == "ini" || YAML_EXTENSIONS.contains(&e.as_str()));
    !static_ext && fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

fn extension(path: &Path) -> Option<String> {
    path.extension().map(|e| e.to_string_lossy().into_owned())
}

fn load_file(
    path: &Path,
    graph: &mut Graph,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let text = fs::read_to_string(path).map_err(|source| InventoryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = SourceFile::new(path, text);
    let ext = extension(path);
    if ext.as_deref().is_some_and(|e| YAML_EXTENSIONS.contains(&e)) {
        let root = yaml_tree::parse(&file).map_err(InventoryError::Parse)?;
        if root.is_null() {
            warnings.push(format!("{}: the YAML inventory is empty", path.display()));
        }
        return yaml::parse(&file, &root, graph);
    }
    if ext.as_deref() != Some("ini") {
        if let Ok(root) = yaml_tree::parse(&file) {
            if root.as_map().is_some() {
                return yaml::parse(&file, &root, graph);
            }
        }
    }
    ini::parse(&file, graph)
}
