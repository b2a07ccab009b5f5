//! Fuzzes a host pattern (`hosts:`, `--limit`) on a fixed inventory (`oplay::fuzz::host_pattern`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oplay::fuzz::host_pattern(data));
