//! oplay: an Ansible-like playbook runner that deploys OpenStack.
//!
//! | folder | what it holds |
//! |---|---|
//! | `cli` | command-line arguments, turned into a validated configuration |
//! | `source` | loaded files, spans, the located YAML tree, diagnostics |
//! | `ini` | the INI editor that keeps every byte it does not own (ini_set, scripts) |
//! | `inventory` | hosts, groups, INI and YAML loaders, group_vars/host_vars, patterns |
//! | `playbook` | plays, tasks, blocks, handlers, roles; the loader and validation |
//! | `template` | minijinja environment, filters, tests, lookups, variable scopes |
//! | `executor` | the scheduler (forks, linear/free, serial), task runner, handlers, facts |
//! | `connection` | the `Connection` trait; local and SSH (one per host, reused) |
//! | `modules` | the `Module` trait, the registry and one file per module |
//! | `openstack` | the Keystone session and REST helpers |
//! | `scripting` | Rhai script modules |
//! | `output` | the `Reporter` trait; human and JSON output |
//! | `vault` | the Ansible Vault format, read and written |
//! | `commands`, `error` | the subcommands; the one error type at the top, its exit codes and how it is printed |
//!
//! Each layer depends only on the layers below it: modules never see the
//! executor, and the executor never knows a module's name.
//! `tests/import_cycles.rs` checks that no two files depend on each other.
//!
//! Unit tests live in a `#[cfg(test)] mod tests` at the end of the file
//! they test. When they would push the file past about 800 lines they move
//! to a sibling, `NAME_tests.rs`, included as `#[cfg(test)] #[path =
//! "NAME_tests.rs"] mod tests;`; a folder's own tests (its `mod.rs`) are
//! its `tests.rs`. Tests that run the binary or need a service are under
//! `tests/`.

#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod connection;
pub mod error;
pub mod executor;
#[doc(hidden)]
pub mod fuzz;
pub mod ini;
pub mod inventory;
pub mod modules;
pub mod openstack;
pub mod output;
pub mod playbook;
pub mod scripting;
pub mod secret;
pub mod source;
pub mod template;
pub mod value;
pub mod vault;

/// The unit tests count memory per thread as the binary does (the memory
/// limit of script modules reads the count).
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: scripting::limits::CountingAllocator = scripting::limits::CountingAllocator;
