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

/// Running a guest script in the VM harness (`vm/run.sh`) from a test.
pub mod vm {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Instant;

    /// The repository root.
    pub fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".."))
    }

    fn on_path(program: &str) -> bool {
        std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| dir.join(program).is_file())
        })
    }

    /// Fails the test, saying to run `vm/install.sh`, unless qemu, a Debian kernel and jq
    /// are there (the harness never skips).
    pub fn require_installed() {
        let hint = "run vm/install.sh (as root) to install the VM harness's packages";
        assert!(
            on_path("qemu-system-x86_64"),
            "qemu-system-x86_64 is not installed: {hint}"
        );
        let has_kernel = std::fs::read_dir("/boot")
            .map(|dir| {
                dir.flatten()
                    .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"))
            })
            .unwrap_or(false);
        assert!(has_kernel, "no /boot/vmlinuz-* (linux-image-amd64): {hint}");
        assert!(on_path("jq"), "jq is not installed: {hint}");
    }

    /// Runs `vm/run.sh SCRIPT ARGS…` (relative to the repository root), prints its output,
    /// asserts exit status 0, and returns its standard output. `VM_TIMEOUT` defaults to 600 s,
    /// below nextest's 720 s kill for the VM tests (`.config/nextest.toml`), so a hung VM reports
    /// a timeout instead of being killed; the fabric labs take 2–3 minutes on an idle host.
    pub fn run(script: &str, args: &[&Path]) -> String {
        require_installed();
        let root = repo_root();
        let started = Instant::now();
        let mut cmd = Command::new(root.join("vm/run.sh"));
        cmd.arg(root.join(script)).args(args).current_dir(&root);
        if std::env::var_os("VM_TIMEOUT").is_none() {
            cmd.env("VM_TIMEOUT", "600");
        }
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => panic!("cannot run vm/run.sh: {e}"),
        };
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        println!("{stdout}");
        eprintln!("{stderr}");
        eprintln!("vm/run.sh took {:.1} s", started.elapsed().as_secs_f64());
        let hint = if stderr.contains("vm/install.sh") {
            " (the VM harness is not installed: run vm/install.sh as root)"
        } else {
            ""
        };
        assert_eq!(
            out.status.code(),
            Some(0),
            "vm/run.sh {script} failed{hint}; output above"
        );
        stdout
    }

    /// Whether `stdout` has the line `marker`.
    pub fn printed(stdout: &str, marker: &str) -> bool {
        stdout.lines().any(|l| l.trim_end() == marker)
    }
}
