//! Helpers shared by the conformance tests: where the corpus is.

use std::path::PathBuf;

/// The conformance corpus directory: `$PEROUTER_CORPUS`, or `../shared/conformance` next to
/// the workspace. Panics with instructions when it is missing (tests only).
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("PEROUTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
        });
    assert!(
        dir.join("pcaps").is_dir(),
        "conformance corpus not found at {}: set PEROUTER_CORPUS to the shared/conformance directory",
        dir.display()
    );
    dir
}
