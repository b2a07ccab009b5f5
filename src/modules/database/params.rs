//! The login parameters every MySQL module takes (`login_host`,
//! `login_port`, `login_user`, `login_password`, `login_unix_socket`,
//! `connect_timeout`), declared once by [`mysql_params!`].
//!
//! serde's `flatten` does not mix with `deny_unknown_fields`, hence a
//! macro, as for the OpenStack and file parameters. What the values mean
//! (defaults, validation, connecting) is `conn.rs`.

/// Declares a MySQL module's `Params` struct: its own fields, then the
/// login parameters. Derives what a `Params` struct needs, and
/// `login_args()`, the login as [`super::conn::LoginArgs`].
macro_rules! mysql_params {
    ($(#[$m:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$m])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($fields)*
            /// Server host name or address, as seen from the host. Setting it
            /// (or `login_port`) means TCP.
            #[serde(default)]
            pub login_host: Option<String>,
            /// Server TCP port (default 3306).
            #[serde(default, deserialize_with = "crate::value::de_opt_int")]
            pub login_port: Option<i64>,
            /// Account to log in as (default `root`).
            #[serde(default)]
            pub login_user: Option<String>,
            /// Password of `login_user`.
            #[serde(default)]
            pub login_password: Option<$crate::secret::Secret>,
            /// Server unix socket on the host.
            #[serde(default)]
            pub login_unix_socket: Option<String>,
            /// Seconds to wait for the login (default 30).
            #[serde(default, deserialize_with = "crate::value::de_opt_int")]
            pub connect_timeout: Option<i64>,
        }

        impl $name {
            /// The login parameters as given, to be validated.
            pub fn login_args(&self) -> $crate::modules::database::conn::LoginArgs {
                $crate::modules::database::conn::LoginArgs {
                    host: self.login_host.clone(),
                    port: self.login_port,
                    user: self.login_user.clone(),
                    password: self.login_password.clone(),
                    unix_socket: self.login_unix_socket.clone(),
                    connect_timeout: self.connect_timeout,
                }
            }
        }
    };
}
pub(crate) use mysql_params;
