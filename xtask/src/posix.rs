//! `cargo xtask posix [--quick] [filter]`: the Open POSIX Test Suite built with Debian's
//! `musl-gcc` (musl on Linux) and with `lintel-cc` (musl on lintel), run both ways, compared.
//!
//! 1. The suite: the directory `LINTEL_POSIX_SRC`, else Debian's source package
//!    `posixtestsuite` (1.5.2) through `apt-get source` into `target/posix/src/` (with the same
//!    derived `deb-src` entry as the musl source, see `sysroot.rs`). Never committed.
//! 2. The tests: in `conformance/interfaces/<area>/` for the areas `pthread_*`, `sem_*`, `sig*`,
//!    `raise`, `kill`, `killpg`, `nanosleep`, `clock_nanosleep`, `sched_yield` and `timer_*`,
//!    the suite's own conventions (its `locate-test` and `Makefile`):
//!    - `N-M.c` (also under `speculative/`, which tests behaviour POSIX leaves open): built and
//!      run; the exit status is the verdict (`posixtest.h`: 0 PASS, 1 FAIL, 2 UNRESOLVED,
//!      4 UNSUPPORTED, 5 UNTESTED). One without a `main` is only compiled (see [`Built`]);
//!    - `*-buildonly.c`: built only (a build that succeeds is a PASS); they are helpers for
//!    - `N-M.sh` scripts that run a `*-buildonly.test` with an argument: those run that
//!      binary with that argument. The other scripts only say "tested implicitly by ..." and
//!      are skipped.
//! 3. Building: the suite's flags (`-g -O2 -Wall -D_POSIX_C_SOURCE=200112L -std=gnu99
//!    -Iinclude` and its `LDFLAGS` file, `-D_GNU_SOURCE -lpthread -lrt`) plus `-static`, but
//!    without `-Werror`: gcc 12 warns about 11 of these 2003-era tests (unused variables,
//!    a `%ld` for a `pthread_t`) that build and run fine. Two compiles at a time, into
//!    `target/posix/build/<musl-gcc|lintel-cc>/conformance/interfaces/<test>.test` (the suite's
//!    own layout: `sigaltstack/9-1` execs its helper by that relative path). A binary (or a
//!    recorded build failure) newer than its source, the suite's headers and the compiler
//!    (for lintel-cc: its libc.a, liblintel.a and specs) is reused; `lintel-cc` comes from
//!    `cargo xtask sysroot` (run first, as `ctest` does) unless `LINTEL_CC` names one.
//! 4. Running: each binary in its own session and process group (`setsid`), stdin from
//!    /dev/null, stdout and stderr to `target/posix/log/<side>/<test>.log`, with the build
//!    directory as working directory, without CAP_SYS_TIME (see [`may_set_clock`]), under a
//!    timeout (HANG; [`TIMEOUT_SECS`], [`LONG_TESTS`]). Whatever is left in the session when
//!    the test exits or times out (children, grandchildren in other process groups) is killed,
//!    found by session id, so the killpg tests and stray children reach nothing else. Two
//!    tests at a time; each test runs on musl-gcc then on lintel-cc. A test whose results
//!    differ is run again, both ways, one at a time, up to twice more; if the results then
//!    agree, or musl-gcc's own result changes, it is recorded as flaky, not as a regression.
//! 5. The report: a side-by-side table, totals per side and per area, the regressions (PASS
//!    natively but not on lintel, or HANG/CRASH on lintel only), the flaky tests;
//!    `target/posix/report.json` and `target/posix/summary.md`. The command fails if there is a
//!    regression.
//!
//! `--quick` (or `LINTEL_POSIX_QUICK=1`) runs a CI-sized deterministic subset, see
//! [`quick_set`]. `docs/posix.md` has the results and explains every failure on musl-gcc.
//! `LINTEL_POSIX_TIMEOUT` overrides the per-test timeout in seconds; `LINTEL_CC` names a
//! `lintel-cc` to use instead of building the sysroot (e.g. one built from another revision).

use crate::sysroot::{ensure_deb_src, sysroot, target};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The suite's version (Debian's `posixtestsuite` 1.5.2-8 in bookworm).
const SUITE_VERSION: &str = "1.5.2";
/// Compiles and test runs at a time (a 2-core machine).
const JOBS: usize = 2;
/// How many more times a test whose results differ is run, both ways.
const RETRIES: usize = 2;
/// Per-test timeout, seconds. The suite's Makefile allows 240 s, Debian's `execute.sh` 120 s;
/// the slowest test that finishes natively takes 30 s here (`timer_settime/2-1`; see
/// docs/posix.md), so 120 s leaves a margin of four for a loaded machine.
const TIMEOUT_SECS: u64 = 120;
/// Tests whose result is a matter of chance or of undefined behaviour in the test itself: they
/// run and are reported, but a difference is never a regression (docs/posix.md).
const UNDEFINED: &[(&str, &str)] = &[
    (
        "sem_unlink/4-1",
        "unlinks an uninitialised `char semname[20]`: the result depends on what startup code \
         left on the stack",
    ),
    (
        "pthread_mutex_init/5-3",
        "the worker thread installs the SIGUSR1/SIGUSR2 handlers while the sender threads may \
         already signal it (default action: the process dies)",
    ),
    (
        "pthread_mutex_lock/3-1",
        "the worker thread installs the SIGUSR1/SIGUSR2 handlers while the sender threads may \
         already signal it (default action: the process dies)",
    ),
    (
        "sigpause/3-1",
        "the main thread stores `sem = INTHREAD` after `pthread_kill`: a thread that handles \
         the signal and stores `INMAIN` first leaves it sleeping forever",
    ),
    (
        "pthread_cond_init/4-2",
        "the worker thread installs the SIGUSR1/SIGUSR2 handlers while the sender threads may \
         already signal it (default action: the process dies)",
    ),
];
/// Tests that take longer than [`TIMEOUT_SECS`] by design, with their own timeout:
/// `timer_settime/5-3` sleeps 10 s thirty times (its timer, set to a past absolute time, fires
/// before each sleep starts, so no sleep is cut short): 300 s.
const LONG_TESTS: &[(&str, u64)] = &[("timer_settime/5-3", 330)];
/// The same in quick mode, whose tests all take under a second natively.
const QUICK_TIMEOUT_SECS: u64 = 20;
/// Compiler flags: the suite's `CFLAGS` (`-std=c99` then `-std=gnu99`: the last wins) without
/// `-Werror`, and `-static`.
const CFLAGS: &[&str] = &[
    "-static",
    "-g",
    "-O2",
    "-Wall",
    "-D_POSIX_C_SOURCE=200112L",
    "-std=gnu99",
];
/// Bump when the way units are built changes (the build cache is then dropped).
const BUILD_RECIPE: &str = "posix build 2";
/// Bytes of a test's output kept in the report.
const OUTPUT_CAP: usize = 4000;

/// The areas this harness covers (directories of `conformance/interfaces`): those starting
/// with one of the prefixes, and the exact names.
fn in_scope(area: &str) -> bool {
    const PREFIXES: &[&str] = &["pthread_", "sem_", "sig", "timer_"];
    const EXACT: &[&str] = &[
        "raise",
        "kill",
        "killpg",
        "nanosleep",
        "clock_nanosleep",
        "sched_yield",
    ];
    PREFIXES.iter().any(|p| area.starts_with(p)) || EXACT.contains(&area)
}

// ---------------------------------------------------------------------------------------------
// the two sides

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Native,
    Lintel,
}

impl Side {
    const BOTH: [Side; 2] = [Side::Native, Side::Lintel];
    fn name(self) -> &'static str {
        match self {
            Side::Native => "musl-gcc",
            Side::Lintel => "lintel-cc",
        }
    }
    fn index(self) -> usize {
        self as usize
    }
}

/// A compiler and what its output depends on besides the source.
#[derive(Debug)]
struct Compiler {
    side: Side,
    cc: PathBuf,
    /// The newest of the compiler's files (wrapper, specs, libraries).
    newest: SystemTime,
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn newest_of(paths: &[PathBuf]) -> SystemTime {
    paths
        .iter()
        .filter_map(|p| mtime(p))
        .max()
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(cmd))
        .find(|f| f.is_file())
}

/// Debian's `musl-gcc`: the wrapper script, the specs file it names, and the libraries next to
/// the specs file.
fn native_compiler() -> Result<Compiler, String> {
    let cc = which("musl-gcc").ok_or(
        "musl-gcc is not installed (apt-get install musl-tools; `cargo xtask ctest` does)",
    )?;
    let mut deps = vec![cc.clone()];
    if let Ok(script) = fs::read_to_string(&cc)
        && let Some((_, rest)) = script.split_once("-specs \"")
        && let Some((specs, _)) = rest.split_once('"')
    {
        let specs = PathBuf::from(specs);
        if let Some(dir) = specs.parent() {
            for lib in ["libc.a", "crt1.o", "crti.o", "crtn.o"] {
                deps.push(dir.join(lib));
            }
        }
        deps.push(specs);
    }
    Ok(Compiler {
        side: Side::Native,
        newest: newest_of(&deps),
        cc,
    })
}

/// `lintel-cc`: from `cargo xtask sysroot`, or the one `LINTEL_CC` names (a sysroot made
/// elsewhere, e.g. from another revision; then the sysroot is not rebuilt).
fn lintel_compiler() -> Result<Compiler, String> {
    if let Some(cc) = std::env::var_os("LINTEL_CC") {
        let cc = PathBuf::from(cc);
        if !cc.is_file() {
            return Err(format!("LINTEL_CC={}: no such file", cc.display()));
        }
        // its sysroot's libraries: <sysroot>/bin/lintel-cc -> <sysroot>/lib/*
        let lib = cc
            .parent()
            .and_then(Path::parent)
            .map(|d| d.join("lib"))
            .unwrap_or_default();
        let deps: Vec<PathBuf> = sorted_entries(&lib)
            .into_iter()
            .chain([cc.clone()])
            .collect();
        eprintln!("xtask: using LINTEL_CC={}", cc.display());
        return Ok(Compiler {
            side: Side::Lintel,
            newest: newest_of(&deps),
            cc,
        });
    }
    let sys = sysroot()?;
    let lib = sys.dir.join("lib");
    let deps: Vec<PathBuf> = [
        "libc.a",
        "liblintel.a",
        "lintel-cc.specs",
        "crt1.o",
        "Scrt1.o",
    ]
    .iter()
    .map(|f| lib.join(f))
    .chain([sys.lintel_cc.clone()])
    .collect();
    Ok(Compiler {
        side: Side::Lintel,
        newest: newest_of(&deps),
        cc: sys.lintel_cc,
    })
}

// ---------------------------------------------------------------------------------------------
// the suite's source

/// Checks that `dir` is the suite and returns its version as far as it can tell.
fn check_suite(dir: &Path) -> Result<String, String> {
    for f in ["include/posixtest.h", "LDFLAGS", "conformance/interfaces"] {
        if !dir.join(f).exists() {
            return Err(format!(
                "{} is not the Open POSIX Test Suite: no {f}",
                dir.display()
            ));
        }
    }
    // Debian's changelog ("posixtestsuite (1.5.2-8) unstable; ..."), else the directory name
    let version = fs::read_to_string(dir.join("debian/changelog"))
        .ok()
        .and_then(|c| {
            let first = c.lines().next()?.to_owned();
            let (_, rest) = first.split_once('(')?;
            Some(rest.split_once(')')?.0.to_owned())
        })
        .unwrap_or_else(|| {
            dir.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        });
    if !version.contains(SUITE_VERSION) {
        eprintln!(
            "xtask: warning: {} looks like version {version}, not {SUITE_VERSION}",
            dir.display()
        );
    }
    Ok(version)
}

/// The suite: `LINTEL_POSIX_SRC`, or Debian's source package in `target/posix/src/`.
fn suite_source() -> Result<(PathBuf, String), String> {
    if let Some(dir) = std::env::var_os("LINTEL_POSIX_SRC") {
        let dir = PathBuf::from(dir);
        let v = check_suite(&dir)?;
        return Ok((dir, v));
    }
    let base = target().join("posix/src");
    let done = base.join(".lintel-fetched");
    if let Ok(name) = fs::read_to_string(&done) {
        let dir = base.join(name.trim());
        if let Ok(v) = check_suite(&dir) {
            return Ok((dir, v));
        }
    }
    if which("dpkg-source").is_none() {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "--no-install-recommends", "dpkg-dev"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        crate::run(c).map_err(|e| format!("`apt-get source` needs dpkg-dev: {e}"))?;
    }
    ensure_deb_src()?;
    match fs::remove_dir_all(&base) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", base.display())),
    }
    fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    eprintln!("xtask: fetching the Open POSIX Test Suite (apt-get source posixtestsuite)");
    let source = || {
        let mut c = Command::new("apt-get");
        c.args(["source", "posixtestsuite"]).current_dir(&base);
        crate::run(c)
    };
    if source().is_err() {
        eprintln!("xtask: retrying after apt-get update");
        let mut c = Command::new("apt-get");
        c.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
        let _ = crate::run(c);
        source().map_err(|e| format!("{e}\n(or set LINTEL_POSIX_SRC to an unpacked suite)"))?;
    }
    let dir = fs::read_dir(&base)
        .map_err(|e| format!("{}: {e}", base.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("posixtestsuite-"))
        })
        .ok_or("apt-get source posixtestsuite unpacked no posixtestsuite-* directory")?;
    let v = check_suite(&dir)?;
    let name = dir
        .file_name()
        .expect("a dir name")
        .to_string_lossy()
        .into_owned();
    fs::write(&done, name).map_err(|e| format!("{}: {e}", done.display()))?;
    Ok((dir, v))
}

/// The link flags from the suite's `LDFLAGS` file (comments skipped), as its Makefile reads them.
fn suite_ldflags(src: &Path) -> Result<Vec<String>, String> {
    let p = src.join("LDFLAGS");
    let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .map(str::to_owned)
        .collect())
}

// ---------------------------------------------------------------------------------------------
// the tests

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// `N-M.c`: build and run (or, if it has no `main`, only compile: see [`Built`]).
    Run,
    /// `*-buildonly.c`: build only.
    BuildOnly,
    /// `N-M.sh`: run the build unit `unit` with `args`.
    Script { unit: String, args: Vec<String> },
}

#[derive(Debug, Clone)]
struct Test {
    /// Relative to `conformance/interfaces`, without extension: `pthread_create/1-1`,
    /// `timer_create/speculative/2-1`, `sigaddset/1-1` (a script).
    id: String,
    area: String,
    kind: Kind,
    speculative: bool,
}

impl Test {
    /// The binary it runs (relative to `conformance/interfaces`, without `.test`).
    fn unit(&self) -> &str {
        match &self.kind {
            Kind::Script { unit, .. } => unit,
            _ => &self.id,
        }
    }
    fn path(&self) -> String {
        let ext = if matches!(self.kind, Kind::Script { .. }) {
            "sh"
        } else {
            "c"
        };
        format!("conformance/interfaces/{}.{ext}", self.id)
    }
    fn args(&self) -> &[String] {
        match &self.kind {
            Kind::Script { args, .. } => args,
            _ => &[],
        }
    }
}

/// `N-M` (the suite's runnable test name; `N-M.c` or `N-M.sh`).
fn is_numbered(stem: &str) -> bool {
    let mut parts = stem.split('-');
    let ok =
        |s: Option<&str>| s.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

/// A script's test: its only command is `conformance/interfaces/<unit>.test <args>`.
fn script_command(text: &str) -> Option<(String, Vec<String>)> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let [line] = lines.as_slice() else {
        return None;
    };
    let mut words = line.split_whitespace();
    let unit = words
        .next()?
        .strip_prefix("conformance/interfaces/")?
        .strip_suffix(".test")?;
    Some((unit.to_owned(), words.map(str::to_owned).collect()))
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// Orders `N-M` names numerically (`2-1` before `10-1`).
fn natural_key(id: &str) -> Vec<(String, u64)> {
    let mut key = Vec::new();
    let mut text = String::new();
    let mut num: Option<u64> = None;
    for c in id.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0) * 10 + u64::from(d));
        } else {
            if let Some(n) = num.take() {
                key.push((std::mem::take(&mut text), n));
            }
            text.push(c);
        }
    }
    key.push((text, num.unwrap_or(0)));
    key
}

/// Every test of the areas in scope, in natural order.
fn discover(src: &Path) -> Result<Vec<Test>, String> {
    let base = src.join("conformance/interfaces");
    let mut tests = Vec::new();
    let areas: Vec<PathBuf> = sorted_entries(&base)
        .into_iter()
        .filter(|p| p.is_dir())
        .collect();
    for area_dir in areas {
        let area = area_dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !in_scope(&area) {
            continue;
        }
        for (dir, prefix, speculative) in [
            (area_dir.clone(), area.clone(), false),
            (
                area_dir.join("speculative"),
                format!("{area}/speculative"),
                true,
            ),
        ] {
            for p in sorted_entries(&dir) {
                let Some(name) = p.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                    continue;
                };
                let (stem, ext) = match name.rsplit_once('.') {
                    Some(x) => x,
                    None => continue,
                };
                let id = format!("{prefix}/{stem}");
                let kind = match ext {
                    "c" if stem.contains("-buildonly") => Kind::BuildOnly,
                    "c" if is_numbered(stem) => Kind::Run,
                    "sh" if is_numbered(stem) => {
                        let text =
                            fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                        match script_command(&text) {
                            Some((unit, args)) => Kind::Script { unit, args },
                            None => continue, // "tested implicitly by ..."
                        }
                    }
                    _ => continue,
                };
                tests.push(Test {
                    id,
                    area: area.clone(),
                    kind,
                    speculative,
                });
            }
        }
    }
    tests.sort_by_key(|t| natural_key(&t.id));
    // a script's binary must be one of the build units
    for t in &tests {
        if let Kind::Script { unit, .. } = &t.kind
            && !tests
                .iter()
                .any(|u| u.id == *unit && u.kind == Kind::BuildOnly)
        {
            return Err(format!(
                "{} runs {unit}, which is not a buildonly test",
                t.id
            ));
        }
    }
    Ok(tests)
}

/// The quick subset (CI-sized), deterministic:
/// - every test that took less than 0.9 s natively in the full run: [`QUICK_SKIP`] lists the
///   others (most wait for `sleep(1)` or longer, six hang natively);
/// - of `sigaction`'s generated tests (its `gentests.pl` makes one test per assertion template
///   and signal, 26 signals), those for six signals: [`QUICK_SIGACTION_SIGNALS`].
///
/// Returns the ids of the tests in `all` that the quick mode runs.
fn quick_set(all: &[Test]) -> BTreeSet<String> {
    let mut skip = BTreeSet::new();
    let mut area = "";
    for line in QUICK_SKIP.lines().filter(|l| !l.trim().is_empty()) {
        let rest = match line.split_once(':') {
            Some((a, rest)) if !line.starts_with(' ') => {
                area = a.trim();
                rest
            }
            _ => line,
        };
        for t in rest.split_whitespace() {
            skip.insert(format!("{area}/{t}"));
        }
    }
    let ids: BTreeSet<&str> = all.iter().map(|t| t.id.as_str()).collect();
    all.iter()
        .filter(|t| !skip.contains(&t.id))
        .filter(|t| {
            // sigaction/N-M with a sigaction/N-26: generated, M-1 = 26 * template + signal
            let Some((n, m)) =
                t.id.strip_prefix("sigaction/")
                    .and_then(|r| r.split_once('-'))
            else {
                return true;
            };
            let Ok(m) = m.parse::<u32>() else {
                return true;
            };
            if m == 0 || !ids.contains(format!("sigaction/{n}-26").as_str()) {
                return true;
            }
            QUICK_SIGACTION_SIGNALS.contains(&((m - 1) % 26 + 1))
        })
        .map(|t| t.id.clone())
        .collect()
}

/// The signals of `sigaction`'s generated tests the quick mode keeps, as indices into
/// `gentests.pl`'s list (1 SIGABRT ... 26 SIGXFSZ): SIGALRM, SIGCHLD, SIGCONT, SIGSEGV,
/// SIGTSTP, SIGUSR1.
const QUICK_SIGACTION_SIGNALS: &[u32] = &[2, 4, 5, 12, 14, 17];

/// The tests the quick mode leaves out, per area: 0.9 s or more natively in the full run of
/// docs/posix.md (or a native HANG).
const QUICK_SKIP: &str = "
clock_nanosleep: 1-3 1-4 1-5 2-1 2-2 2-3 9-1 10-1
kill: 1-2
killpg: 1-2
nanosleep: 1-2 1-3 2-1 3-1 3-2 5-2 7-1 7-2 10000-1
pthread_atfork: 3-3
pthread_attr_init: 2-1
pthread_barrier_destroy: 2-1
pthread_barrier_init: 4-1
pthread_barrier_wait: 1-1 3-1 3-2
pthread_cancel: 1-1 1-2 1-3 2-1 2-2 2-3 3-1 4-1
pthread_cleanup_pop: 1-1 1-2
pthread_cleanup_push: 1-2
pthread_cond_broadcast: 1-1 1-2 2-1 2-2 4-1 4-2
pthread_cond_destroy/speculative: 4-1
pthread_cond_init: 4-2
pthread_cond_signal: 1-1 2-1 2-2 4-2
pthread_cond_timedwait: 1-1 2-1 2-2 3-1 4-1 4-3
pthread_cond_wait: 1-1 2-1 3-1 4-1
pthread_create: 3-1 10-1
pthread_equal: 2-1
pthread_exit: 1-1
pthread_getschedparam: 4-1
pthread_join: 1-1 2-1
pthread_kill: 1-1 8-1
pthread_mutex_destroy: 5-1
pthread_mutex_init: 1-2 2-1 3-2 5-3
pthread_mutex_lock: 1-1 3-1
pthread_mutex_timedlock: 1-1 2-1
pthread_mutex_trylock: 1-1 4-3
pthread_mutex_unlock: 2-1
pthread_mutexattr_settype: 2-1
pthread_once: 2-1 6-1
pthread_rwlock_init: 1-1 2-1
pthread_rwlock_rdlock: 1-1 2-1 2-2 2-3 4-1
pthread_rwlock_timedrdlock: 1-1 2-1 3-1 5-1 6-1 6-2
pthread_rwlock_timedwrlock: 1-1 2-1 3-1 5-1 6-1 6-2
pthread_rwlock_tryrdlock: 1-1
pthread_rwlock_trywrlock: 1-1
pthread_rwlock_unlock: 1-1 2-1 3-1 4-2
pthread_rwlock_wrlock: 1-1 2-1 3-1
pthread_rwlockattr_getpshared: 2-1
pthread_setcancelstate: 1-1 1-2 2-1
pthread_setcanceltype: 1-1 1-2 2-1
pthread_setschedparam: 5-1
pthread_sigmask: 18-1
pthread_spin_init: 2-1 2-2
pthread_spin_lock: 1-1 1-2 3-1 3-2
pthread_spin_unlock: 1-2 3-1
pthread_testcancel: 1-1 2-1
raise: 2-1
sem_getvalue: 2-2
sem_post: 5-1 6-1
sem_timedwait: 2-1 3-1 9-1
sem_unlink: 2-2 7-1 9-1
sem_wait: 7-1 13-1
sigaction: 9-1 10-1 11-1 17-1 17-2 17-3 17-4 17-5 17-6 17-7 17-8 17-9 17-10 17-11 17-12
           17-13 17-14 17-15 17-16 17-17 17-18 17-19 17-20 17-21 17-22 17-23 17-24 17-25
           17-26
sighold: 1-1
sigpause: 1-1 1-2 2-1 3-1 4-1
sigqueue: 1-1
sigrelse: 1-1
sigsuspend: 1-1 3-1 4-1 6-1
sigtimedwait: 1-1 6-1
sigwait: 4-1 6-1 6-2
sigwaitinfo: 3-1
timer_create: 1-1 3-1 7-1 8-1 9-1 10-1 11-1
timer_create/speculative: 5-1
timer_delete: 1-1
timer_delete/speculative: 5-2
timer_getoverrun: 1-1 2-1 2-3
timer_gettime: 1-2 1-4 2-2
timer_settime: 1-1 1-2 2-1 3-1 3-2 3-3 5-1 5-3 6-1 8-2 8-3 9-1 9-2
";

// ---------------------------------------------------------------------------------------------
// verdicts

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Pass,
    Fail,
    Unresolved,
    Unsupported,
    Untested,
    /// An exit status `posixtest.h` does not define (the suite's Makefile says INTERRUPTED).
    Exit(i32),
    Hang,
    /// Killed by this signal.
    Crash(i32),
    /// Did not compile or link.
    Build,
}

fn signal_name(sig: i32) -> String {
    match sig {
        0 => "0".to_owned(),
        _ => lintel_signals::sigset::signal_name(sig)
            .map_or_else(|| format!("signal {sig}"), str::to_owned),
    }
}

impl Verdict {
    fn from_status(st: ExitStatus) -> Verdict {
        match (st.code(), st.signal()) {
            (Some(0), _) => Verdict::Pass,
            (Some(1), _) => Verdict::Fail,
            (Some(2), _) => Verdict::Unresolved,
            (Some(4), _) => Verdict::Unsupported,
            (Some(5), _) => Verdict::Untested,
            (Some(c), _) => Verdict::Exit(c),
            (None, Some(s)) => Verdict::Crash(s),
            (None, None) => Verdict::Exit(-1),
        }
    }
    /// The category, for counting.
    fn class(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Unresolved => "UNRESOLVED",
            Verdict::Unsupported => "UNSUPPORTED",
            Verdict::Untested => "UNTESTED",
            Verdict::Exit(_) => "EXIT",
            Verdict::Hang => "HANG",
            Verdict::Crash(_) => "CRASH",
            Verdict::Build => "BUILD",
        }
    }
    const CLASSES: [&'static str; 9] = [
        "PASS",
        "FAIL",
        "UNRESOLVED",
        "UNSUPPORTED",
        "UNTESTED",
        "EXIT",
        "HANG",
        "CRASH",
        "BUILD",
    ];
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Exit(c) => write!(f, "EXIT {c}"),
            Verdict::Crash(s) => write!(f, "CRASH {}", signal_name(*s)),
            v => f.write_str(v.class()),
        }
    }
}

/// Lintel did worse than Linux: the test passes natively but not on lintel, or it hangs or
/// crashes on lintel but not natively.
fn is_regression(native: Verdict, lintel: Verdict) -> bool {
    (native == Verdict::Pass && lintel != Verdict::Pass)
        || (lintel == Verdict::Hang && native != Verdict::Hang)
        || (matches!(lintel, Verdict::Crash(_)) && !matches!(native, Verdict::Crash(_)))
}

// ---------------------------------------------------------------------------------------------
// building

/// Everything a build depends on besides the source and the compiler: the suite's headers
/// (`include/`, and those next to the tests).
fn headers_newest(src: &Path, area: &str) -> SystemTime {
    let mut paths = Vec::new();
    for dir in [
        src.join("include"),
        src.join("conformance/interfaces").join(area),
    ] {
        paths.extend(
            sorted_entries(&dir)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "h")),
        );
    }
    newest_of(&paths)
}

fn binary(side: Side, unit: &str) -> PathBuf {
    build_root(side).join(format!("conformance/interfaces/{unit}.test"))
}

fn build_root(side: Side) -> PathBuf {
    target().join("posix/build").join(side.name())
}

/// What a build made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Built {
    /// `<unit>.test`, a program.
    Linked,
    /// `<unit>.o`: the source has no `main` (`pthread_once/4-1` only checks that
    /// `PTHREAD_ONCE_INIT` compiles), so, as the suite's Makefile does ("link: SKIP"), it is
    /// only compiled, and its test is that it compiles.
    NoMain,
}

/// Builds one unit; `Err(log)` if it does not build. Cached: a binary, object, or recorded
/// failure newer than everything it depends on is kept.
fn build_unit(
    src: &Path,
    cc: &Compiler,
    flags: &[String],
    unit: &str,
    deps_newest: SystemTime,
) -> Result<Built, String> {
    let source = src.join(format!("conformance/interfaces/{unit}.c"));
    let out = binary(cc.side, unit);
    let obj = out.with_extension("o");
    let fail = out.with_extension("test.buildlog");
    let newest = [
        mtime(&source).unwrap_or(SystemTime::now()),
        cc.newest,
        deps_newest,
    ]
    .into_iter()
    .max()
    .expect("three");
    let fresh = |p: &Path| mtime(p).is_some_and(|t| t > newest);
    if fresh(&out) {
        return Ok(Built::Linked);
    }
    if fresh(&obj) {
        return Ok(Built::NoMain);
    }
    if fresh(&fail) {
        return Err(fs::read_to_string(&fail).unwrap_or_default());
    }
    if let Some(dir) = out.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    for p in [&out, &obj, &fail] {
        let _ = fs::remove_file(p);
    }
    let compile = |link: bool| -> Result<(), String> {
        let o = Command::new(&cc.cc)
            .args(CFLAGS)
            .args((!link).then_some("-c"))
            .arg(format!("-I{}", src.join("include").display()))
            .arg(&source)
            .arg("-o")
            .arg(if link { &out } else { &obj })
            .args(flags)
            .current_dir(src)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", cc.cc.display()))?;
        if o.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ))
        }
    };
    let result = match compile(true) {
        Ok(()) => Ok(Built::Linked),
        Err(log) if log.contains("undefined reference to `main'") => {
            compile(false).map(|()| Built::NoMain)
        }
        Err(log) => Err(log),
    };
    if let Err(log) = &result {
        let _ = fs::write(&fail, log);
    }
    result
}

// ---------------------------------------------------------------------------------------------
// running

/// One run of one binary.
#[derive(Debug, Clone)]
struct Run {
    verdict: Verdict,
    secs: f64,
    output: String,
}

/// `(pid, state)` of every process in session `sid`, from `/proc`.
fn session_members(sid: u32) -> Vec<(u32, char)> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.filter_map(Result::ok) {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid pgrp session ..."; comm may hold anything but ends at the
        // last ')'
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 3 && f[3].parse::<u32>() == Ok(sid) {
            out.push((pid, f[0].chars().next().unwrap_or('?')));
        }
    }
    out
}

/// Our own session id, which must never be the one swept.
fn own_session() -> Option<u32> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(3)?.parse().ok()
}

/// Do we hold CAP_SYS_TIME (as root)? Then the tests run without it: two of them
/// (`pthread_cond_init/1-2`, `2-2`) would set the machine's realtime clock a week ahead for a
/// moment (and leave it there if they died), under every other process on the machine. Without
/// the capability they report UNTESTED, as the suite intends for unprivileged runs.
fn may_set_clock() -> bool {
    static ANSWER: OnceLock<bool> = OnceLock::new();
    *ANSWER.get_or_init(|| {
        const CAP_SYS_TIME: u32 = 25;
        let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
        let eff = status.lines().find_map(|l| l.strip_prefix("CapEff:"));
        eff.and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .is_some_and(|caps| caps & (1 << CAP_SYS_TIME) != 0)
    })
}

/// Kills every live process of the session `sid` that a test created (`sid` is the pid of the
/// `setsid` child we spawned: a session, unlike a process group, cannot be left, so this
/// finds every descendant). Session ids stay allocated while any member lives, so `sid`
/// cannot be reused meanwhile.
fn sweep_session(sid: u32) {
    if sid <= 1 || Some(sid) == own_session() {
        return;
    }
    for round in 0..200 {
        let live: Vec<u32> = session_members(sid)
            .into_iter()
            .filter(|&(pid, state)| state != 'Z' && pid > 1 && pid != std::process::id())
            .map(|(pid, _)| pid)
            .collect();
        if live.is_empty() {
            return;
        }
        let mut c = Command::new("kill");
        c.arg("-KILL")
            .arg("--")
            .args(live.iter().map(u32::to_string))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let _ = c.status();
        std::thread::sleep(Duration::from_millis(if round < 10 { 2 } else { 20 }));
    }
    eprintln!("xtask: warning: session {sid} still has live processes");
}

fn read_capped(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = File::open(path) {
        let _ = f.take(256 * 1024).read_to_end(&mut buf);
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    cap(&text)
}

/// The first and last `OUTPUT_CAP / 2` bytes of a long output.
fn cap(text: &str) -> String {
    if text.len() <= OUTPUT_CAP {
        return text.to_owned();
    }
    let half = OUTPUT_CAP / 2;
    let mut a = half;
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = text.len() - half;
    while !text.is_char_boundary(b) {
        b += 1;
    }
    format!(
        "{}\n[... {} bytes left out ...]\n{}",
        &text[..a],
        b - a,
        &text[b..]
    )
}

/// Runs `unit` built for `side` with `args`, in its own session, under `timeout`; `attempt`
/// 0 is the first run (its output goes to `<test>.log`, a rerun's to `<test>.rerun<n>.log`).
fn execute(side: Side, test: &Test, timeout: Duration, attempt: usize) -> Run {
    let exe = binary(side, test.unit());
    let name = if attempt == 0 {
        format!("{}.log", test.id)
    } else {
        format!("{}.rerun{attempt}.log", test.id)
    };
    let log = target().join("posix/log").join(side.name()).join(name);
    let start = Instant::now();
    let fail = |msg: String| Run {
        verdict: Verdict::Exit(-1),
        secs: start.elapsed().as_secs_f64(),
        output: msg,
    };
    if let Some(dir) = log.parent()
        && let Err(e) = fs::create_dir_all(dir)
    {
        return fail(format!("harness: {}: {e}", dir.display()));
    }
    let (out, err) = match File::create(&log).and_then(|f| Ok((f.try_clone()?, f))) {
        Ok(x) => x,
        Err(e) => return fail(format!("harness: {}: {e}", log.display())),
    };
    // Our children are never process group leaders, so setsid(1) calls setsid() itself and
    // execs the test: the child's pid is the new session's (and group's) id.
    let mut cmd = if may_set_clock() {
        let mut c = Command::new("setpriv");
        c.args([
            "--inh-caps",
            "-sys_time",
            "--bounding-set",
            "-sys_time",
            "--",
        ])
        .arg("setsid");
        c
    } else {
        Command::new("setsid")
    };
    let spawned = cmd
        .arg("--wait")
        .arg(&exe)
        .args(test.args())
        .current_dir(build_root(side))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return fail(format!("harness: cannot run setsid {}: {e}", exe.display())),
    };
    let sid = child.id();
    let mut nap = Duration::from_millis(1);
    let mut hung = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if start.elapsed() >= timeout {
            hung = true;
            sweep_session(sid); // the test itself is in its session, and not yet reaped
            let _ = child.kill();
            break child.wait().ok();
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    };
    let secs = start.elapsed().as_secs_f64();
    sweep_session(sid); // whatever it left behind
    let verdict = match (hung, status) {
        (true, _) => Verdict::Hang,
        (false, Some(st)) => Verdict::from_status(st),
        (false, None) => Verdict::Exit(-1),
    };
    Run {
        verdict,
        secs,
        output: read_capped(&log),
    }
}

// ---------------------------------------------------------------------------------------------
// the results

/// A test's results: `attempts[i][side]`.
#[derive(Debug, Clone)]
struct Outcome {
    attempts: Vec<[Run; 2]>,
    /// Why the test's result depends on chance or on undefined behaviour ([`UNDEFINED`]).
    undefined: Option<&'static str>,
}

impl Outcome {
    fn last(&self, side: Side) -> &Run {
        &self.attempts.last().expect("one attempt at least")[side.index()]
    }
    fn verdict(&self, side: Side) -> Verdict {
        self.last(side).verdict
    }
    fn differs(&self) -> bool {
        self.verdict(Side::Native) != self.verdict(Side::Lintel)
    }
    /// Lintel did worse than Linux in every run, Linux gave the same result every time, and
    /// the test's result is not a matter of chance ([`UNDEFINED`]).
    fn regression(&self) -> bool {
        self.undefined.is_none()
            && !self.flaky()
            && is_regression(self.verdict(Side::Native), self.verdict(Side::Lintel))
    }
    /// The results differed at first, and then agreed on a rerun, or the musl-gcc build itself
    /// gave different results in different runs (a test that does not reliably pass on Linux
    /// cannot regress).
    fn flaky(&self) -> bool {
        let a = &self.attempts;
        let native_varies = a.iter().any(|r| r[0].verdict != a[0][0].verdict);
        a.len() > 1 && (!self.differs() || native_varies)
    }
}

/// Counts per verdict class.
fn counts<'a>(verdicts: impl Iterator<Item = Verdict> + 'a) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for v in verdicts {
        *m.entry(v.class()).or_insert(0) += 1;
    }
    m
}

fn counts_text(m: &BTreeMap<&'static str, usize>) -> String {
    Verdict::CLASSES
        .iter()
        .filter_map(|c| m.get(c).map(|n| format!("{n} {c}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shell(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The lintel tree the run used: commit, and how many files had uncommitted changes.
fn lintel_revision() -> String {
    if let Some(cc) = std::env::var_os("LINTEL_CC") {
        // a sysroot made elsewhere may say what it was built from
        let cc = PathBuf::from(cc);
        let note = cc
            .parent()
            .and_then(Path::parent)
            .and_then(|d| fs::read_to_string(d.join("REVISION")).ok())
            .map(|r| format!(" ({})", r.trim()))
            .unwrap_or_default();
        return format!("LINTEL_CC={}{note}", cc.display());
    }
    let root = crate::root();
    let root = root.to_string_lossy();
    let head = shell("git", &["-C", &root, "rev-parse", "--short", "HEAD"]);
    let dirty = shell(
        "git",
        &["-C", &root, "status", "--porcelain", "--untracked-files=no"],
    )
    .lines()
    .count();
    if dirty == 0 {
        head
    } else {
        format!("{head} + uncommitted changes in {dirty} files")
    }
}

/// `(CPU model, cores, kernel)`.
fn machine() -> (String, usize, String) {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = format!(
        "Linux {}",
        fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
    );
    (model, cores, kernel)
}

// ---------------------------------------------------------------------------------------------
// progress

#[derive(Debug)]
struct Progress {
    what: &'static str,
    total: usize,
    done: AtomicUsize,
    bad: AtomicUsize,
    tty: bool,
    start: Instant,
    /// When the last line was printed (when stderr is not a terminal).
    last: Mutex<Instant>,
}

impl Progress {
    fn new(what: &'static str, total: usize) -> Self {
        Progress {
            what,
            total,
            done: AtomicUsize::new(0),
            bad: AtomicUsize::new(0),
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last: Mutex::new(Instant::now()),
        }
    }
    /// One item finished (`bad`: a build failure or a regression).
    fn step(&self, name: &str, bad: bool) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let nbad = self.bad.fetch_add(usize::from(bad), Ordering::Relaxed) + usize::from(bad);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let line = format!(
            "posix: {} [{done:>4}/{}] {:>4.0} s, {nbad} {}  {name}",
            self.what,
            self.total,
            self.start.elapsed().as_secs_f64(),
            if self.what == "build" {
                "failed"
            } else {
                "differ"
            },
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            if done == self.total {
                eprintln!();
            }
        } else if last.elapsed() >= Duration::from_secs(10) || done == self.total || bad {
            *last = Instant::now();
            eprintln!("{line}");
        }
    }
}

/// Runs `work(i)` for `i in 0..n` on `jobs` threads; results in order.
fn parallel<T: Send>(n: usize, jobs: usize, work: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let r = work(i);
                    results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

/// Interleaves the tests area by area (first of each area, second of each area, ...), so that
/// the two tests running at once are rarely from the same area (named semaphores, files).
fn interleave(tests: &[Test]) -> Vec<usize> {
    let mut by_area: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, t) in tests.iter().enumerate() {
        by_area.entry(&t.area).or_default().push(i);
    }
    let mut order = Vec::with_capacity(tests.len());
    for round in 0.. {
        let before = order.len();
        for v in by_area.values() {
            if let Some(&i) = v.get(round) {
                order.push(i);
            }
        }
        if order.len() == before {
            break;
        }
    }
    order
}

// ---------------------------------------------------------------------------------------------
// the command

#[derive(Debug)]
struct Options {
    filter: String,
    quick: bool,
    timeout: Duration,
}

fn options(args: &[String]) -> Result<Options, String> {
    let mut filter = String::new();
    let mut quick = std::env::var("LINTEL_POSIX_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    for a in args {
        match a.as_str() {
            "--quick" => quick = true,
            "--full" => quick = false,
            s if s.starts_with('-') => {
                return Err(format!(
                    "cargo xtask posix: unknown option {s} (usage: posix [--quick] [filter])"
                ));
            }
            s if filter.is_empty() => filter = s.to_owned(),
            s => {
                return Err(format!(
                    "cargo xtask posix: one filter only ({filter}, {s})"
                ));
            }
        }
    }
    let secs = match std::env::var("LINTEL_POSIX_TIMEOUT") {
        Ok(v) => v
            .parse::<u64>()
            .map_err(|_| format!("LINTEL_POSIX_TIMEOUT={v}: not a number of seconds"))?,
        Err(_) if quick => QUICK_TIMEOUT_SECS,
        Err(_) => TIMEOUT_SECS,
    };
    Ok(Options {
        filter,
        quick,
        timeout: Duration::from_secs(secs),
    })
}

/// `cargo xtask posix [--quick] [filter]`: see the module docs.
pub(crate) fn posix(args: &[String]) -> Result<(), String> {
    let t0 = Instant::now();
    let opts = options(args)?;
    if which("setsid").is_none() || which("kill").is_none() {
        return Err("setsid and kill (util-linux, procps) are needed".into());
    }
    if may_set_clock() && which("setpriv").is_none() {
        return Err("setpriv (util-linux) is needed to run the tests without CAP_SYS_TIME".into());
    }
    let revision = lintel_revision();
    let started = shell("date", &["-u", "+%Y-%m-%d %H:%M:%S UTC"]);
    let native = native_compiler()?;
    let lintel = lintel_compiler()?;
    let compilers = [&native, &lintel];
    let (src, version) = suite_source()?;
    let flags = suite_ldflags(&src)?;
    let all = discover(&src)?;
    let quick = opts.quick.then(|| quick_set(&all));
    let tests: Vec<Test> = all
        .iter()
        .filter(|t| {
            t.path().contains(&opts.filter) && quick.as_ref().is_none_or(|q| q.contains(&t.id))
        })
        .cloned()
        .collect();
    if tests.is_empty() {
        return Err(format!("no test matches {:?}", opts.filter));
    }
    eprintln!(
        "xtask: Open POSIX Test Suite {version}: {} of {} tests{}{}; timeout {} s",
        tests.len(),
        all.len(),
        if opts.quick { " (quick)" } else { "" },
        if opts.filter.is_empty() {
            String::new()
        } else {
            format!(" matching {:?}", opts.filter)
        },
        opts.timeout.as_secs()
    );

    // a change of flags, suite or compiler invalidates every binary (mtimes alone would not
    // notice a switch to an older compiler)
    let stamp = target().join("posix/build/flags");
    let key = format!(
        "{BUILD_RECIPE} {CFLAGS:?} {flags:?} {} {} {}",
        src.display(),
        native.cc.display(),
        lintel.cc.display()
    );
    if fs::read_to_string(&stamp).ok().as_deref() != Some(key.as_str()) {
        let dir = target().join("posix/build");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        fs::write(&stamp, &key).map_err(|e| format!("{}: {e}", stamp.display()))?;
    }

    // build: every unit the selected tests need, both ways
    let t_build = Instant::now();
    let mut units: Vec<(&str, &str)> = tests.iter().map(|t| (t.unit(), t.area.as_str())).collect();
    units.sort();
    units.dedup();
    let mut headers: BTreeMap<&str, SystemTime> = BTreeMap::new();
    for &(_, area) in &units {
        headers
            .entry(area)
            .or_insert_with(|| headers_newest(&src, area));
    }
    let jobs: Vec<(usize, &Compiler)> = (0..units.len())
        .flat_map(|i| compilers.iter().map(move |c| (i, *c)))
        .collect();
    let progress = Progress::new("build", jobs.len());
    let built = parallel(jobs.len(), JOBS, |j| {
        let (i, cc) = jobs[j];
        let (unit, area) = units[i];
        let r = build_unit(&src, cc, &flags, unit, headers[area]);
        progress.step(unit, r.is_err());
        r
    });
    let mut builds: BTreeMap<(&str, usize), Result<Built, String>> = BTreeMap::new();
    for (j, r) in built.into_iter().enumerate() {
        let (i, cc) = jobs[j];
        builds.insert((units[i].0, cc.side.index()), r);
    }
    let build_secs = t_build.elapsed().as_secs_f64();

    // run: each test natively, then on lintel; two tests at a time
    let t_run = Instant::now();
    let one = |t: &Test, attempt: usize| -> [Run; 2] {
        Side::BOTH.map(|side| {
            let built = &builds[&(t.unit(), side.index())];
            if let Err(log) = built {
                Run {
                    verdict: Verdict::Build,
                    secs: 0.0,
                    output: cap(log),
                }
            } else if t.kind == Kind::BuildOnly || *built == Ok(Built::NoMain) {
                Run {
                    verdict: Verdict::Pass,
                    secs: 0.0,
                    output: if t.kind == Kind::BuildOnly {
                        "built (a buildonly test)".into()
                    } else {
                        "compiled (no main: the suite only compiles it)".into()
                    },
                }
            } else {
                let long = LONG_TESTS.iter().find(|(id, _)| *id == t.id);
                let timeout = long.map_or(opts.timeout, |&(_, secs)| {
                    opts.timeout.max(Duration::from_secs(secs))
                });
                execute(side, t, timeout, attempt)
            }
        })
    };
    let order = interleave(&tests);
    let progress = Progress::new("run", order.len());
    let first = parallel(order.len(), JOBS, |k| {
        let t = &tests[order[k]];
        let r = one(t, 0);
        progress.step(&t.id, r[0].verdict != r[1].verdict);
        r
    });
    let mut outcomes: Vec<Option<Outcome>> = vec![None; tests.len()];
    for (k, r) in first.into_iter().enumerate() {
        let id = tests[order[k]].id.as_str();
        outcomes[order[k]] = Some(Outcome {
            attempts: vec![r],
            undefined: UNDEFINED
                .iter()
                .find(|(u, _)| *u == id)
                .map(|&(_, why)| why),
        });
    }
    let mut outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .map(|o| o.expect("every test ran"))
        .collect();
    // differing results: again, both ways, one test at a time
    let differing: Vec<usize> = (0..tests.len())
        .filter(|&i| outcomes[i].differs())
        .collect();
    if !differing.is_empty() {
        eprintln!(
            "posix: {} tests differ; running them again (up to {RETRIES} times, one at a time)",
            differing.len()
        );
    }
    for (n, &i) in differing.iter().enumerate() {
        for _ in 0..RETRIES {
            if !outcomes[i].differs() {
                break;
            }
            let attempt = outcomes[i].attempts.len();
            let r = one(&tests[i], attempt);
            outcomes[i].attempts.push(r);
        }
        let o = &outcomes[i];
        eprintln!(
            "posix: retry [{}/{}] {}: {} / {} after {} runs{}",
            n + 1,
            differing.len(),
            tests[i].id,
            o.verdict(Side::Native),
            o.verdict(Side::Lintel),
            o.attempts.len(),
            if o.flaky() { " (flaky)" } else { "" }
        );
    }
    let run_secs = t_run.elapsed().as_secs_f64();
    let total_secs = t0.elapsed().as_secs_f64();

    // the report
    let report = Report {
        tests: &tests,
        outcomes: &outcomes,
        version: &version,
        revision: &revision,
        started: &started,
        no_main: tests
            .iter()
            .filter(|t| builds.get(&(t.unit(), 0)) == Some(&Ok(Built::NoMain)))
            .map(|t| t.id.clone())
            .collect(),
        opts: &opts,
        build_secs,
        run_secs,
        total_secs,
    };
    let text = report.text();
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    let dir = target().join("posix");
    let json_path = dir.join("report.json");
    let json = serde_json::to_string_pretty(&report.json()).map_err(|e| e.to_string())?;
    fs::write(&json_path, json + "\n").map_err(|e| format!("{}: {e}", json_path.display()))?;
    let md_path = dir.join("summary.md");
    fs::write(&md_path, report.markdown()).map_err(|e| format!("{}: {e}", md_path.display()))?;
    eprintln!(
        "xtask: wrote {} and {} ({total_secs:.0} s: build {build_secs:.0} s, run {run_secs:.0} s)",
        json_path.display(),
        md_path.display()
    );
    let regressions = outcomes.iter().filter(|o| o.regression()).count();
    let both = outcomes
        .iter()
        .filter(|o| {
            o.verdict(Side::Native) == Verdict::Pass && o.verdict(Side::Lintel) == Verdict::Pass
        })
        .count();
    // The closing line (CI's summary counts it).
    eprintln!(
        "posix: {} tests, {both} pass on both, {regressions} regressions",
        outcomes.len()
    );
    if regressions == 0 {
        Ok(())
    } else {
        Err(format!(
            "{regressions} POSIX tests pass on Linux but not on lintel (or hang or crash only \
             on lintel); see above"
        ))
    }
}

#[derive(Debug)]
struct Report<'a> {
    tests: &'a [Test],
    outcomes: &'a [Outcome],
    version: &'a str,
    revision: &'a str,
    /// When the run started (UTC).
    started: &'a str,
    /// The tests without a `main` (compiled only).
    no_main: BTreeSet<String>,
    opts: &'a Options,
    build_secs: f64,
    run_secs: f64,
    total_secs: f64,
}

impl Report<'_> {
    fn pairs(&self) -> impl Iterator<Item = (&Test, &Outcome)> {
        self.tests.iter().zip(self.outcomes)
    }

    fn side_counts(&self, side: Side, area: Option<&str>) -> BTreeMap<&'static str, usize> {
        counts(
            self.pairs()
                .filter(|(t, _)| area.is_none_or(|a| t.area == a))
                .map(|(_, o)| o.verdict(side)),
        )
    }

    fn areas(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.tests.iter().map(|t| t.area.as_str()).collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    }

    fn mode(&self) -> String {
        let mut m = if self.opts.quick { "quick" } else { "full" }.to_owned();
        if !self.opts.filter.is_empty() {
            let _ = write!(m, ", filter {:?}", self.opts.filter);
        }
        m
    }

    fn note(o: &Outcome) -> &'static str {
        if o.regression() {
            "REGRESSION"
        } else if o.undefined.is_some() && (o.differs() || o.attempts.len() > 1) {
            "chance"
        } else if o.flaky() {
            "flaky"
        } else if o.differs() {
            "differs"
        } else {
            ""
        }
    }

    /// The console report: the table, totals, per-area counts, regressions with output.
    fn text(&self) -> String {
        let mut s = String::new();
        let w = self.tests.iter().map(|t| t.id.len()).max().unwrap_or(4) + 2;
        let _ = writeln!(s, "{:<w$}{:<18}{:<18}", "test", "musl-gcc", "lintel-cc");
        for (t, o) in self.pairs() {
            let _ = writeln!(
                s,
                "{:<w$}{:<18}{:<18}{}",
                t.id,
                o.verdict(Side::Native).to_string(),
                o.verdict(Side::Lintel).to_string(),
                Self::note(o)
            );
        }
        let _ = writeln!(s, "\nper area (musl-gcc | lintel-cc):");
        let aw = self.areas().iter().map(|a| a.len()).max().unwrap_or(4) + 2;
        for area in self.areas() {
            let n = self.tests.iter().filter(|t| t.area == area).count();
            let _ = writeln!(
                s,
                "  {area:<aw$}{n:>4}  {} | {}",
                counts_text(&self.side_counts(Side::Native, Some(area))),
                counts_text(&self.side_counts(Side::Lintel, Some(area)))
            );
        }
        let _ = writeln!(s, "\ntotals ({} tests, {}):", self.tests.len(), self.mode());
        for side in Side::BOTH {
            let _ = writeln!(
                s,
                "  {:<10} {}",
                side.name(),
                counts_text(&self.side_counts(side, None))
            );
        }
        let flaky: Vec<_> = self
            .pairs()
            .filter(|(_, o)| o.flaky() && o.undefined.is_none())
            .collect();
        if !flaky.is_empty() {
            let _ = writeln!(
                s,
                "\nflaky (differed, then agreed on a rerun, or musl-gcc's own result varied; the \
                 first run's output):"
            );
            for (t, o) in flaky {
                let _ = writeln!(s, "  {}: {}", t.id, Self::history(o));
                let first = &o.attempts[0];
                for (side, run) in Side::BOTH.iter().zip(first) {
                    let lines: Vec<&str> = run.output.trim_end().lines().collect();
                    let skip = lines.len().saturating_sub(8);
                    for l in &lines[skip..] {
                        let _ = writeln!(s, "      {:<9} | {l}", side.name());
                    }
                }
            }
        }
        let other: Vec<_> = self
            .pairs()
            .filter(|(_, o)| o.differs() && !o.regression() && !o.flaky() && o.undefined.is_none())
            .collect();
        if !other.is_empty() {
            let _ = writeln!(s, "\nother differences (not regressions):");
            for (t, o) in other {
                let _ = writeln!(s, "  {}: {}", t.id, Self::history(o));
            }
        }
        let undefined: Vec<_> = self
            .pairs()
            .filter(|(_, o)| o.undefined.is_some() && (o.differs() || o.attempts.len() > 1))
            .collect();
        if !undefined.is_empty() {
            let _ = writeln!(
                s,
                "\ndiffered, but the result is chance or undefined behaviour (not regressions):"
            );
            for (t, o) in undefined {
                let why = o.undefined.unwrap_or_default();
                let _ = writeln!(s, "  {}: {} ({why})", t.id, Self::history(o));
            }
        }
        let regs: Vec<_> = self.pairs().filter(|(_, o)| o.regression()).collect();
        let _ = writeln!(s, "\nregressions: {}", regs.len());
        for (t, o) in regs {
            let _ = writeln!(s, "  {} ({}): {}", t.id, t.path(), Self::history(o));
            // the last lines (forked children may repeat the parent's buffered output
            // hundreds of times); the whole output is in the report and the log
            let lines: Vec<&str> = o.last(Side::Lintel).output.trim_end().lines().collect();
            let skip = lines.len().saturating_sub(12);
            if skip > 0 {
                let _ = writeln!(
                    s,
                    "      | [{skip} lines before these: target/posix/log/lintel-cc/{}*.log]",
                    t.id
                );
            }
            for l in &lines[skip..] {
                let _ = writeln!(s, "      | {l}");
            }
        }
        let _ = writeln!(
            s,
            "\nposix: {:.0} s (build {:.0} s, run {:.0} s)",
            self.total_secs, self.build_secs, self.run_secs
        );
        s
    }

    /// "PASS/FAIL, PASS/FAIL, PASS/FAIL" over the attempts (musl-gcc/lintel-cc).
    fn history(o: &Outcome) -> String {
        o.attempts
            .iter()
            .map(|a| format!("{}/{}", a[0].verdict, a[1].verdict))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn json(&self) -> Value {
        let (model, cores, kernel) = machine();
        let tests: Vec<Value> = self
            .pairs()
            .map(|(t, o)| {
                let attempts: Vec<Value> = o
                    .attempts
                    .iter()
                    .map(|a| {
                        json!({
                            "native": a[0].verdict.to_string(),
                            "lintel": a[1].verdict.to_string(),
                            "native_secs": (a[0].secs * 1e3).round() / 1e3,
                            "lintel_secs": (a[1].secs * 1e3).round() / 1e3,
                            "native_output": a[0].output,
                            "lintel_output": a[1].output,
                        })
                    })
                    .collect();
                json!({
                    "area": t.area,
                    "name": t.id,
                    "path": t.path(),
                    "kind": match t.kind {
                        Kind::Run if self.no_main.contains(&t.id) => "compile",
                        Kind::Run => "run",
                        Kind::BuildOnly => "buildonly",
                        Kind::Script { .. } => "script",
                    },
                    "speculative": t.speculative,
                    "native": o.verdict(Side::Native).to_string(),
                    "lintel": o.verdict(Side::Lintel).to_string(),
                    "native_secs": (o.last(Side::Native).secs * 1e3).round() / 1e3,
                    "lintel_secs": (o.last(Side::Lintel).secs * 1e3).round() / 1e3,
                    "retries": o.attempts.len() - 1,
                    "attempts": attempts,
                    "flaky": o.flaky(),
                    "regression": o.regression(),
                    "undefined": o.undefined,
                    "native_output": o.last(Side::Native).output,
                    "lintel_output": o.last(Side::Lintel).output,
                })
            })
            .collect();
        let totals = |side| {
            let m = self.side_counts(side, None);
            Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k.to_owned(), json!(v)))
                    .collect(),
            )
        };
        json!({
            "suite": format!("Open POSIX Test Suite {}", self.version),
            "date": self.started,
            "machine": { "cpu": model, "cores": cores, "kernel": kernel },
            "lintel": self.revision,
            "mode": self.mode(),
            "timeout_secs": self.opts.timeout.as_secs(),
            "secs": {
                "total": self.total_secs.round(),
                "build": self.build_secs.round(),
                "run": self.run_secs.round(),
            },
            "totals": { "native": totals(Side::Native), "lintel": totals(Side::Lintel) },
            "regressions": self.outcomes.iter().filter(|o| o.regression()).count(),
            "flaky": self.outcomes.iter().filter(|o| o.flaky()).count(),
            "tests": tests,
        })
    }

    fn markdown(&self) -> String {
        let (model, cores, kernel) = machine();
        let mut s = String::new();
        let _ = writeln!(s, "# Open POSIX Test Suite {} on lintel\n", self.version);
        let _ = writeln!(
            s,
            "- started: {}\n- machine: {model}, {cores} cores, {kernel}\n- lintel: {}\n- run: `cargo xtask posix`, \
             {} mode, {} tests, timeout {} s, {:.0} s (build {:.0} s, run {:.0} s)\n",
            self.started,
            self.revision,
            self.mode(),
            self.tests.len(),
            self.opts.timeout.as_secs(),
            self.total_secs,
            self.build_secs,
            self.run_secs
        );
        let _ = writeln!(s, "| | {} |", Verdict::CLASSES.join(" | "));
        let _ = writeln!(s, "|---|{}", "---:|".repeat(Verdict::CLASSES.len()));
        for side in Side::BOTH {
            let m = self.side_counts(side, None);
            let cells: Vec<String> = Verdict::CLASSES
                .iter()
                .map(|c| m.get(c).copied().unwrap_or(0).to_string())
                .collect();
            let _ = writeln!(s, "| {} | {} |", side.name(), cells.join(" | "));
        }
        let _ = writeln!(
            s,
            "\n| area | tests | musl-gcc | lintel-cc |\n|---|---:|---|---|"
        );
        for area in self.areas() {
            let n = self.tests.iter().filter(|t| t.area == area).count();
            let _ = writeln!(
                s,
                "| {area} | {n} | {} | {} |",
                counts_text(&self.side_counts(Side::Native, Some(area))),
                counts_text(&self.side_counts(Side::Lintel, Some(area)))
            );
        }
        let regs: Vec<_> = self.pairs().filter(|(_, o)| o.regression()).collect();
        let _ = writeln!(s, "\n## Regressions: {}\n", regs.len());
        for (t, o) in regs {
            let _ = writeln!(s, "- `{}`: {}", t.id, Self::history(o));
        }
        let flaky: Vec<_> = self
            .pairs()
            .filter(|(_, o)| o.flaky() && o.undefined.is_none())
            .collect();
        let _ = writeln!(s, "\n## Flaky: {}\n", flaky.len());
        for (t, o) in flaky {
            let _ = writeln!(s, "- `{}`: {}", t.id, Self::history(o));
        }
        let other: Vec<_> = self
            .pairs()
            .filter(|(_, o)| o.differs() && !o.regression() && !o.flaky() && o.undefined.is_none())
            .collect();
        let _ = writeln!(s, "\n## Other differences: {}\n", other.len());
        for (t, o) in other {
            let _ = writeln!(s, "- `{}`: {}", t.id, Self::history(o));
        }
        let undefined: Vec<_> = self
            .pairs()
            .filter(|(_, o)| o.undefined.is_some() && (o.differs() || o.attempts.len() > 1))
            .collect();
        let _ = writeln!(
            s,
            "\n## Differed, but the result is chance or undefined behaviour: {}\n",
            undefined.len()
        );
        for (t, o) in undefined {
            let why = o.undefined.unwrap_or_default();
            let _ = writeln!(s, "- `{}`: {} ({why})", t.id, Self::history(o));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(is_numbered("1-1"));
        assert!(is_numbered("12-34"));
        assert!(!is_numbered("1-core-buildonly"));
        assert!(!is_numbered("9-buildonly"));
        assert!(!is_numbered("cln"));
        assert!(natural_key("a/2-1") < natural_key("a/10-1"));
        assert!(in_scope("sigaction") && in_scope("kill") && in_scope("timer_create"));
        assert!(!in_scope("killx") && !in_scope("mq_open") && !in_scope("sched_getparam"));
    }

    #[test]
    fn scripts() {
        let text = "#!/bin/sh\n# Copyright\n\n# Calling ...\nconformance/interfaces/sigaddset/\
                    1-core-buildonly.test 0\n";
        assert_eq!(
            script_command(text),
            Some(("sigaddset/1-core-buildonly".into(), vec!["0".into()]))
        );
        assert_eq!(
            script_command("#!/bin/sh\necho \"Tested implicitly\"\nexit 0\n"),
            None
        );
    }

    #[test]
    fn quick_subset() {
        let t = |id: &str| Test {
            id: id.into(),
            area: id.split('/').next().unwrap_or_default().into(),
            kind: Kind::Run,
            speculative: false,
        };
        let mut all: Vec<Test> = (1..=52).map(|m| t(&format!("sigaction/12-{m}"))).collect();
        all.extend(["sigaction/21-1", "nanosleep/1-1", "nanosleep/10000-1"].map(t));
        all.extend(["pthread_join/speculative/6-1", "sigaddset/1-1"].map(t));
        let q = quick_set(&all);
        // SIGALRM (2) ... SIGUSR1 (17) of both templates; 21-1 is not generated
        for id in [
            "sigaction/12-2",
            "sigaction/12-17",
            "sigaction/12-28",
            "sigaction/12-43",
        ] {
            assert!(q.contains(id), "{id}");
        }
        assert!(!q.contains("sigaction/12-1") && !q.contains("sigaction/12-26"));
        assert!(q.contains("sigaction/21-1") && q.contains("nanosleep/1-1"));
        // listed as slow
        assert!(!q.contains("nanosleep/10000-1"));
        assert!(q.contains("sigaddset/1-1"));
        assert_eq!(q.len(), 6 * 2 + 4);
    }

    #[test]
    fn retries() {
        let run = |v| Run {
            verdict: v,
            secs: 0.0,
            output: String::new(),
        };
        let o = |a: &[(Verdict, Verdict)]| Outcome {
            attempts: a.iter().map(|&(n, l)| [run(n), run(l)]).collect(),
            undefined: None,
        };
        use Verdict::{Crash, Fail, Pass};
        let same = o(&[(Pass, Pass)]);
        assert!(!same.regression() && !same.flaky() && !same.differs());
        let reg = o(&[(Pass, Crash(11)), (Pass, Crash(11)), (Pass, Fail)]);
        assert!(reg.regression() && !reg.flaky());
        let agreed = o(&[(Pass, Fail), (Pass, Pass)]);
        assert!(agreed.flaky() && !agreed.regression());
        // musl-gcc itself crashed once: not a regression
        let racy = o(&[(Crash(12), Pass), (Pass, Crash(10)), (Pass, Crash(10))]);
        assert!(racy.flaky() && !racy.regression());
        let better = o(&[(Fail, Pass), (Fail, Pass), (Fail, Pass)]);
        assert!(!better.regression() && !better.flaky() && better.differs());
    }

    #[test]
    fn verdicts() {
        assert!(is_regression(Verdict::Pass, Verdict::Fail));
        assert!(is_regression(Verdict::Fail, Verdict::Hang));
        assert!(is_regression(Verdict::Unsupported, Verdict::Crash(11)));
        assert!(!is_regression(Verdict::Fail, Verdict::Unresolved));
        assert!(!is_regression(Verdict::Hang, Verdict::Hang));
        assert!(!is_regression(Verdict::Fail, Verdict::Pass));
        assert_eq!(Verdict::Crash(11).to_string(), "CRASH SIGSEGV");
        assert_eq!(Verdict::Crash(40).to_string(), "CRASH signal 40");
        assert_eq!(cap("short"), "short");
        assert!(cap(&"x".repeat(10_000)).len() < 4100);
    }
}
