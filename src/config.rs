//! The optional configuration file: `oplay.toml` beside the (first)
//! playbook, or the file named by `OPLAY_CONFIG`. It holds defaults that
//! the command line overrides.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read config {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// Defaults for a run. Every field is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub forks: Option<usize>,
    #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
    pub host_key_checking: Option<bool>,
    pub remote_user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub known_hosts_file: Option<PathBuf>,
    #[serde(default)]
    pub module_path: Vec<PathBuf>,
    #[serde(default)]
    pub roles_path: Vec<PathBuf>,
    #[serde(default)]
    pub inventory: Vec<String>,
    pub timeout: Option<u64>,
}

impl Config {
    /// Finds and reads the config; no file is no error.
    pub fn discover(playbook: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match std::env::var_os("OPLAY_CONFIG") {
            Some(p) => PathBuf::from(p),
            None => match playbook.and_then(Path::parent) {
                Some(dir) => dir.join("oplay.toml"),
                None => PathBuf::from("oplay.toml"),
            },
        };
        if !path.exists() {
            return Ok(Config::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Io {
            path: path.clone(),
            source,
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        for p in cfg.module_path.iter_mut().chain(cfg.roles_path.iter_mut()) {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }

    /// Host key checking, with the environment's word last: `OPLAY_HOST_KEY_CHECKING`
    /// or Ansible's `ANSIBLE_HOST_KEY_CHECKING`.
    pub fn host_key_checking(&self) -> bool {
        for var in ["OPLAY_HOST_KEY_CHECKING", "ANSIBLE_HOST_KEY_CHECKING"] {
            if let Some(v) = std::env::var_os(var) {
                if let Some(b) = crate::value::parse_bool(&serde_json::Value::String(
                    v.to_string_lossy().into_owned(),
                )) {
                    return b;
                }
            }
        }
        self.host_key_checking.unwrap_or(true)
    }
}
