//! Fuzzes a YAML inventory, then host patterns on it (`oplay::fuzz::yaml_inventory`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oplay::fuzz::yaml_inventory(data));
