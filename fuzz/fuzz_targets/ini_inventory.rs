//! Fuzzes an INI inventory, then host patterns on it (`oplay::fuzz::ini_inventory`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oplay::fuzz::ini_inventory(data));
