//! Replays every saved fuzz input through the same checks as its cargo-fuzz target.
//!
//! * `fuzz/regressions/<target>/*`: inputs that once crashed, hung or ran out of memory (see
//!   `fuzz/regressions/README.md`). The directory must exist: a missing one fails the test.
//! * `fuzz/seeds/<target>/*`: the committed seed corpus.
//!
//! The checks are not copied: `fuzz/src/lib.rs` (the library every `fuzz/fuzz_targets/*.rs`
//! calls) is compiled into this test as a module, so a crash file replays exactly as
//! libFuzzer ran it. It uses bgp-wire (feature `arbitrary`), bgp-capture and arbitrary only.
//!
//! `cargo test -p conformance --test fuzz_regressions`

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../../fuzz/src/lib.rs"]
mod fuzz_checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use bgp_wire::{decode_message, Message};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// Every file of `dir/<target>/`, for every target, sorted. Unknown subdirectories fail.
fn inputs(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries {
        let p = e.unwrap().path();
        if !p.is_dir() {
            continue; // README.md
        }
        let target = p.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            fuzz_checks::TARGETS.contains(&target.as_str()),
            "{}: no fuzz target named {target}",
            p.display()
        );
        for f in std::fs::read_dir(&p).unwrap() {
            let f = f.unwrap().path();
            if f.is_file() {
                out.push((target.clone(), f));
            }
        }
    }
    out.sort();
    out
}

/// Runs every input; reports all failures at once.
fn replay(inputs: &[(String, PathBuf)]) {
    let mut failures = Vec::new();
    for (target, path) in inputs {
        let data = std::fs::read(path).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| fuzz_checks::run(target, &data)));
        match r {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{}: unknown target {target}", path.display())),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{} ({target}): {msg}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} inputs fail:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
}

#[test]
fn regressions_replay() {
    let dir = fuzz_dir().join("regressions");
    assert!(
        dir.is_dir(),
        "{} is missing: it holds the fuzz regression inputs",
        dir.display()
    );
    let inputs = inputs(&dir);
    eprintln!("replaying {} regression inputs", inputs.len());
    replay(&inputs);
}

#[test]
fn seeds_replay() {
    let dir = fuzz_dir().join("seeds");
    let inputs = inputs(&dir);
    // Every target has seeds.
    for t in fuzz_checks::TARGETS {
        assert!(
            inputs.iter().any(|(target, _)| target == t),
            "no seeds for fuzz target {t}"
        );
    }
    eprintln!("replaying {} seeds", inputs.len());
    replay(&inputs);
}

/// The message seeds are what they claim to be: whole messages that decode cleanly under the
/// context in front of them. (A seed that silently fails to decode seeds nothing useful.)
#[test]
fn message_seeds_decode_cleanly() {
    let mut n = 0;
    for target in ["message", "roundtrip"] {
        let dir = fuzz_dir().join("seeds").join(target);
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            let (ctx, bytes) = fuzz_checks::ctx_and_rest(&data).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name == "keepalive-stream" {
                continue; // several messages and a tail
            }
            let r =
                decode_message(bytes, &ctx).unwrap_or_else(|e| panic!("{}: {e:?}", p.display()));
            assert!(r.verdict.is_clean(), "{}: {:?}", p.display(), r.verdict);
            if let Message::Update(u) = &r.message {
                if name.starts_with("eor-") {
                    assert!(u.end_of_rib_family().is_some(), "{}", p.display());
                } else if !name.contains("withdraw") {
                    assert!(u.end_of_rib_family().is_none(), "{}", p.display());
                }
            }
            n += 1;
        }
    }
    assert!(n >= 10, "only {n} message seeds");
}
