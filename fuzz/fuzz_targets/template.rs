//! Fuzzes a template string rendered and evaluated (`oplay::fuzz::template`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oplay::fuzz::template(data));
