//! Sets `BABYSHIELD_COMMIT` for the `build_info` metric: the variable of
//! that name when the build sets it (container builds have no `.git`),
//! otherwise the checkout's commit, otherwise `unknown`.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BABYSHIELD_COMMIT");
    // Rebuild when the checked-out commit changes; a path that does not
    // exist would make every build rerun this script, so only existing ones
    // are named.
    for path in ["../../.git/HEAD", "../../.git/refs/heads"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }

    let commit = std::env::var("BABYSHIELD_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=BABYSHIELD_COMMIT={commit}");
}

fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (output.status.success() && !commit.is_empty()).then_some(commit)
}
