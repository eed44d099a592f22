//! `cargo xtask <command>`: lintel's developer commands.
//!
//! - `demo`: lintel's main job: a C work-queue program built with lintel-cc (musl on lintel)
//!   and with musl-gcc (musl on Linux), both run, outputs compared, lintel's counters shown.
//! - `test`: everything CI runs: the workspace's tests, the loom models, the C tests (`ctest`),
//!   then the Open POSIX Test Suite's quick subset (`posix --quick`).
//! - `bench`: the criterion benchmarks, then `docs/benchmarks.md` regenerated from their results.
//! - `sysroot`: musl 1.2.3 built as the lintel64 arch, `liblintel.a`, and `lintel-cc`, installed
//!   in `target/lintel-sysroot/` (see `musl/README.md`).
//! - `ctest`: the C tests in `tests-c/`, built with Debian's `musl-gcc` and with `lintel-cc`,
//!   outputs compared.
//! - `posix`: the Open POSIX Test Suite built with both, compared (`--quick` for CI's subset).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs `cmd`, echoing it; `Err` with a message if it fails.
fn run(mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

fn test() -> Result<(), String> {
    let mut c = cargo();
    c.args(["test", "--workspace"]);
    run(c)?;
    let mut c = Command::new("bash");
    c.current_dir(root()).arg("loom-tests/run.sh");
    run(c)?;
    // The C tests: musl built for lintel (the sysroot is built or reused first), each program
    // run under lintel-cc and musl-gcc, outputs compared.
    let c = sysroot::ctest(&[]);
    // The Open POSIX Test Suite's CI-sized subset, side by side with native musl (about two
    // minutes; `cargo xtask posix` runs all of it). Run even if a C test failed, so that one
    // CI run shows both.
    let p = posix::posix(&["--quick".to_owned()]);
    c.and(p)
}

mod bench;
mod demo;
mod posix;
mod stats_check;
mod sysroot;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::demo(),
        Some("test") => test(),
        Some("bench") => bench::bench(&args[1..]),
        Some("sysroot") => sysroot::sysroot().map(|_| ()),
        Some("ctest") => sysroot::ctest(&args[1..]),
        Some("posix") => posix::posix(&args[1..]),
        _ => Err(
            "usage: cargo xtask demo | test | bench [criterion filter] | sysroot | ctest [filter] | posix [filter]"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
