//! Rhai script modules: custom modules written as `NAME.rhai` files that
//! run on the control node through the same host API as native modules.
