//! The SSH connection (async-ssh2-tokio / russh): one session per host,
//! exec channels for commands, one SFTP channel for files.
