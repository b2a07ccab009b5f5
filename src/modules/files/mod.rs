//! File modules: copy, template, file, lineinfile, get_url, ini_set.

pub mod common;
pub mod copy;
pub mod file;
pub mod get_url;
pub mod ids;
pub mod ini_set;
pub mod lineinfile;
pub mod params;
pub mod template;
pub mod write;

use std::sync::Arc;

use super::Module;

/// Every file module, for the registry.
pub fn modules() -> Vec<Arc<dyn Module>> {
    let mut all = Vec::new();
    all.extend(copy::modules());
    all.extend(template::modules());
    all.extend(file::modules());
    all.extend(lineinfile::modules());
    all.extend(get_url::modules());
    all.extend(ini_set::modules());
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_document_choices_aliases_and_secrets() {
        let all = modules();
        let spec = |name: &str| {
            all.iter()
                .find(|m| m.spec().name == name)
                .unwrap()
                .spec()
                .clone()
        };
        let file = spec("file");
        assert!(
            file.summary.starts_with("Manages a path"),
            "{}",
            file.summary
        );
        let state = file.param("state").unwrap();
        assert_eq!(
            state.choices,
            ["file", "directory", "absent", "touch", "link", "hard"]
        );
        assert_eq!(file.param("path").unwrap().aliases, ["dest", "name"]);
        assert!(file.param("path").unwrap().required);
        let get_url = spec("get_url");
        assert!(get_url.param("url_password").unwrap().secret);
        assert_eq!(
            spec("lineinfile").param("regexp").unwrap().aliases,
            ["regex"]
        );
        for m in &all {
            for p in &m.spec().params {
                assert!(
                    !p.doc.is_empty(),
                    "{}: {} is undocumented",
                    m.spec().name,
                    p.name
                );
            }
        }
    }
}
