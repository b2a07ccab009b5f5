//! The optional configuration file: `oplay.toml` beside the (first)
//! playbook, or the file named by `OPLAY_CONFIG`. It holds defaults that
//! the command line overrides.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A config file that exists but cannot be used; the run stops before
/// loading anything else.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("could not read config {}: {source}", path.display())]
    Io {
        /// The config file.
        path: PathBuf,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or a key that is not a field of [`Config`].
    #[error("invalid config {}: {message}", path.display())]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The TOML parser's message, with its line and column.
        message: String,
    },
}

/// Defaults for a run. Every field is optional.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Hosts that run a task at once, unless `--forks` says (else 50).
    pub forks: Option<usize>,
    /// Read through [`Config::host_key_checking`], where the environment
    /// has the last word.
    #[serde(default, deserialize_with = "crate::value::de_opt_bool")]
    pub host_key_checking: Option<bool>,
    /// The SSH login when `--user`, `ansible_user` and `remote_user:` say
    /// nothing.
    pub remote_user: Option<String>,
    /// The SSH key when `--private-key` and `ansible_ssh_private_key_file`
    /// give none.
    pub private_key_file: Option<PathBuf>,
    /// Instead of `~/.ssh/known_hosts` (a host's
    /// `ansible_ssh_known_hosts_file` still wins).
    pub known_hosts_file: Option<PathBuf>,
    /// Script module folders, searched before `OPLAY_MODULE_PATH` and
    /// `--module-path`. Relative to the config file.
    #[serde(default)]
    pub module_path: Vec<PathBuf>,
    /// Where roles are looked for after the playbook's `roles/`. Relative
    /// to the config file.
    #[serde(default)]
    pub roles_path: Vec<PathBuf>,
    /// Inventory sources used when no `-i` is given, as `-i` takes them
    /// (relative to the current directory, not the config file).
    #[serde(default)]
    pub inventory: Vec<String>,
    /// SSH connect timeout in seconds, unless `--timeout` says (else 10).
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
