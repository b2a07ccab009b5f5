//! The file attributes every file module takes (`mode`, `owner`, `group`,
//! and `backup` where the module replaces a file), declared once.
//!
//! serde's `flatten` does not mix with `deny_unknown_fields`, so the
//! group is added to each module's `Params` struct by [`file_params!`]
//! rather than as a struct of its own; the parsing helpers live here too.
//! Not for what a module does with the attributes: that is `common.rs`.

use serde_json::Value;

/// Declares a file module's `Params` struct: its own fields, then `mode`,
/// `owner` and `group`; `with backup` adds `backup`, and `with backup,
/// force` also `force` as the modules that write whole files (`copy`,
/// `template`) mean it. Derives what a `Params` struct needs, and
/// `file_attrs()`, the attributes as the connection takes them.
///
/// `file` and `get_url` declare their own `force`: what it forces there
/// differs (replacing a file by a link, downloading again).
macro_rules! file_params {
    ($(#[$m:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $crate::modules::files::params::file_params!(@emit [$(#[$m])*] $name [$($fields)*] []);
    };
    ($(#[$m:meta])* pub struct $name:ident with backup { $($fields:tt)* }) => {
        $crate::modules::files::params::file_params!(@emit [$(#[$m])*] $name [$($fields)*] [
            /// Keep a timestamped copy of the old file (`PATH.PID.DATE@TIME~`)
            /// before changing it.
            #[serde(default, deserialize_with = "crate::value::de_bool")]
            pub backup: bool,
        ]);
    };
    ($(#[$m:meta])* pub struct $name:ident with backup, force { $($fields:tt)* }) => {
        $crate::modules::files::params::file_params!(@emit [$(#[$m])*] $name [$($fields)*] [
            /// Keep a timestamped copy of the old file (`PATH.PID.DATE@TIME~`)
            /// before changing it.
            #[serde(default, deserialize_with = "crate::value::de_bool")]
            pub backup: bool,
            /// Replace a file whose content differs (default yes); `no` only
            /// creates a missing file.
            #[serde(
                default = "crate::modules::files::params::yes",
                deserialize_with = "crate::value::de_bool"
            )]
            pub force: bool,
        ]);
    };
    (@emit [$($m:tt)*] $name:ident [$($fields:tt)*] [$($extra:tt)*]) => {
        $($m)*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($fields)*
            /// Permissions, as octal (`'0644'`). Without it an existing file
            /// keeps its mode.
            #[serde(default, deserialize_with = "crate::value::de_opt_mode")]
            #[schemars(with = "Option<String>")]
            pub mode: Option<u32>,
            /// Owner (name or uid). Without it an existing file keeps its owner.
            #[serde(default, deserialize_with = "crate::modules::files::params::de_opt_name")]
            pub owner: Option<String>,
            /// Group (name or gid). Without it an existing file keeps its group.
            #[serde(default, deserialize_with = "crate::modules::files::params::de_opt_name")]
            pub group: Option<String>,
            $($extra)*
        }

        impl $name {
            /// `mode`, `owner` and `group` as the connection takes them.
            pub fn file_attrs(&self) -> $crate::connection::FileAttrs {
                $crate::connection::FileAttrs {
                    mode: self.mode,
                    owner: self.owner.clone(),
                    group: self.group.clone(),
                }
            }
        }
    };
}
pub(crate) use file_params;

/// serde default for a yes/no parameter that defaults to yes.
pub fn yes() -> bool {
    true
}

/// serde helper: an owner or group given as a name or a number (`owner: 0`).
pub fn de_opt_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    let v = Value::deserialize(d)?;
    match &v {
        Value::Null => Ok(None),
        Value::String(_) | Value::Number(_) => Ok(crate::value::scalar_to_string(&v)),
        other => Err(serde::de::Error::custom(format!(
            "expected a user or group name or id, found {}",
            crate::value::describe(other)
        ))),
    }
}
