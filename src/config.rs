//! The optional oplay.toml configuration.
