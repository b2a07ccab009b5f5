//! Tests of the inventory as a whole: real files in temp dirs.
