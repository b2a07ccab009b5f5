//! The Keystone session (authentication, token cache, service catalog) and
//! the REST plumbing that the OpenStack modules share.

/// Keystone sessions of the run, one per set of credentials.
#[derive(Clone, Default)]
pub struct Sessions {}
