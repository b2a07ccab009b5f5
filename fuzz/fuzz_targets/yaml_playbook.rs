//! Fuzzes a playbook file: YAML, plays, tasks, module arguments (`oplay::fuzz::yaml_playbook`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| oplay::fuzz::yaml_playbook(data));
