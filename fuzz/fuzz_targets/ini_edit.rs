//! Fuzzes an INI file edited as `ini_set` does (`oplay::fuzz::ini_edit`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oplay::fuzz::ini_edit(data));
