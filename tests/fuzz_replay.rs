//! Replays the kept fuzz corpora (`fuzz/corpus/<target>/`, the inputs the
//! fuzzers found interesting, and every input that once crashed a target)
//! through the same entry points the fuzz targets call, on the stable
//! toolchain, in seconds. `tests/fuzz.sh` runs this, or fuzzes for longer.
//!
//! The inputs run on a thread with the main thread's stack size, as the
//! loaders do in the binary.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn corpus(name: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every input of every target; returns the ones that panicked or were
/// slow, with what happened.
fn replay() -> Vec<String> {
    let mut bad = Vec::new();
    for (name, target) in oplay::fuzz::TARGETS {
        let files = corpus(name);
        assert!(!files.is_empty(), "no corpus for {name}");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let started = Instant::now();
            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                bad.push(format!("{name}: {} panicked", file.display()));
            }
            let took = started.elapsed();
            if took > Duration::from_secs(10) {
                bad.push(format!("{name}: {} took {took:?}", file.display()));
            }
        }
    }
    bad
}

#[test]
fn corpora_replay_without_panics() {
    let worker = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(replay)
        .unwrap();
    let bad = worker.join().unwrap();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
