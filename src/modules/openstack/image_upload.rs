//! placeholder
use std::sync::Arc;
pub fn module() -> Arc<dyn crate::modules::Module> {
    todo!()
}
