//! Native OpenStack modules: Keystone objects (domains, projects, users,
//! roles and their assignments, services, endpoints, regions) and Glance
//! images. They talk REST through the run's shared Keystone session
//! (`crate::openstack`), never through a CLI, so a whole playbook uses one
//! token per set of credentials.

pub mod common;
pub mod image_upload;
pub mod keystone_domain;
pub mod keystone_endpoint;
pub mod keystone_project;
pub mod keystone_region;
pub mod keystone_role;
pub mod keystone_role_assignment;
pub mod keystone_service;
pub mod keystone_user;
mod resource;

use std::sync::Arc;

use super::Module;

/// Every OpenStack module.
pub fn modules() -> Vec<Arc<dyn Module>> {
    vec![
        keystone_domain::module(),
        keystone_project::module(),
        keystone_user::module(),
        keystone_role::module(),
        keystone_role_assignment::module(),
        keystone_service::module(),
        keystone_endpoint::module(),
        keystone_region::module(),
        image_upload::module(),
    ]
}
