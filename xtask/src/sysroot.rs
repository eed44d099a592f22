//! `cargo xtask sysroot` and `cargo xtask ctest`.
//!
//! `sysroot` builds musl 1.2.3 as the `lintel64` arch (x86_64 with every syscall a call into
//! lintel, see `musl/README.md`), builds `liblintel.a`, and installs
//! `target/lintel-sysroot/{include,lib,bin/lintel-cc}`:
//!
//! 1. musl's source: the directory `LINTEL_MUSL_SRC`, else Debian's source package through
//!    `apt-get source musl` into `target/musl-src/` (adding a `deb-src` entry derived from the
//!    machine's own apt sources if there is none). The version must be 1.2.3.
//! 2. A copy in `target/musl-build/`, where every `x86_64` directory is copied to `lintel64`,
//!    `musl/remove.txt` is applied and `musl/overlay/` is laid on top; then `configure` (for
//!    x86_64, with `ARCH = lintel64` written into `config.mak`), `make -j2`, `make install`.
//!    Skipped when the stamp (a hash of the source tree, the overlay, the recipe and the
//!    compiler's version) matches the installed one.
//! 3. `liblintel.a`: `cargo build --release` of `musl/liblintel` (or the file named by
//!    `LINTEL_LIBLINTEL_A`), copied into the sysroot's `lib/`.
//! 4. `bin/lintel-cc` and `lib/lintel-cc.specs`: a musl-gcc for this sysroot, static only, with
//!    `-llintel` inside gcc's static link group.
//!
//! `ctest` builds every `tests-c/*.c` with Debian's `musl-gcc -static` and with `lintel-cc
//! -static`, runs both in their own session under a timeout and compares stdout and exit
//! status; `tests-c/pending/*.c` are reported without failing the run. It also checks that
//! `libc.a` holds no `syscall` instruction and that every linked test program has them only
//! inside the host port's syscall section, and (`stats-report`, `stats_check.rs`) that
//! `LINTEL_STATS=1` makes `tests-c/stats.c` print lintel's report with its workload's counts.

use crate::{cargo, root, run};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The musl version the overlay is written against.
const MUSL_VERSION: &str = "1.2.3";
/// Bump when the build recipe below changes in a way that needs a rebuild.
const RECIPE: &str = "lintel64 recipe 1";
/// `configure` arguments besides `--prefix`.
const CONFIGURE_ARGS: &[&str] = &[
    "--disable-shared",
    "--disable-wrapper",
    "CC=gcc",
    // lintel's code runs under musl's TLS-less startup; musl already builds its own startup
    // objects without the stack protector, this makes sure nothing else has it either.
    "CFLAGS=-fno-stack-protector",
];
const ARCH: &str = "lintel64";

/// Where things are.
#[derive(Debug)]
pub(crate) struct Sysroot {
    pub(crate) dir: PathBuf,
    pub(crate) lintel_cc: PathBuf,
}

pub(crate) fn target() -> PathBuf {
    root().join("target")
}

// ---------------------------------------------------------------------------------------------
// small helpers

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Is `cmd` on `PATH`?
fn have(cmd: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| {
        std::env::split_paths(&p).any(|d| {
            let f = d.join(cmd);
            f.is_file()
        })
    })
}

/// Installs Debian packages (as root), telling the user why.
fn apt_install(pkgs: &[&str], why: &str) -> Result<(), String> {
    if !is_root() {
        return Err(format!(
            "{why} needs the Debian packages {}; install them (apt-get install {}) and retry",
            pkgs.join(", "),
            pkgs.join(" ")
        ));
    }
    eprintln!("xtask: installing {} with apt-get ({why})", pkgs.join(" "));
    let install = || {
        let mut c = Command::new("apt-get");
        c.args(["install", "-y", "--no-install-recommends"])
            .args(pkgs)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run(c)
    };
    if install().is_ok() {
        return Ok(());
    }
    let _ = run(apt_get_update());
    install()
}

fn apt_get_update() -> Command {
    let mut c = Command::new("apt-get");
    c.arg("update").env("DEBIAN_FRONTEND", "noninteractive");
    c
}

/// Makes sure each `(command, package)` is there, installing the packages that are missing.
fn ensure_tools(tools: &[(&str, &str)], why: &str) -> Result<(), String> {
    let mut missing: Vec<&str> = tools
        .iter()
        .filter(|(cmd, _)| !have(cmd))
        .map(|(_, pkg)| *pkg)
        .collect();
    missing.dedup();
    if missing.is_empty() {
        Ok(())
    } else {
        apt_install(&missing, why)
    }
}

/// 64-bit FNV-1a: a stable hash for stamps (std's hasher may change between releases).
#[derive(Debug)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // length-delimit, so ("ab","c") and ("a","bc") differ
        for x in (b.len() as u64).to_le_bytes() {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Every file under `dir` (recursively, sorted, skipping `.git`), relative to `dir`.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, String> {
    fn walk(base: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
        let here = base.join(rel);
        let mut entries: Vec<_> = fs::read_dir(&here)
            .map_err(|e| format!("cannot read {}: {e}", here.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name();
            if name == ".git" {
                continue;
            }
            let rel = rel.join(&name);
            let ty = e
                .file_type()
                .map_err(|err| format!("{}: {err}", e.path().display()))?;
            if ty.is_dir() {
                walk(base, &rel, out)?;
            } else {
                out.push(rel);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, Path::new(""), &mut out)?;
    Ok(out)
}

fn hash_tree(h: &mut Fnv, dir: &Path) -> Result<(), String> {
    for rel in files_under(dir)? {
        let p = dir.join(&rel);
        h.bytes(rel.to_string_lossy().as_bytes());
        let meta = fs::symlink_metadata(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.file_type().is_symlink() {
            let t = fs::read_link(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            h.bytes(t.to_string_lossy().as_bytes());
        } else {
            h.bytes(&fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))?);
        }
    }
    Ok(())
}

/// Copies the tree `from` to `to` (files, directories and symlinks; `.git` skipped).
fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    for rel in files_under(from)? {
        let (src, dst) = (from.join(&rel), to.join(&rel));
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        let meta = fs::symlink_metadata(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        if meta.file_type().is_symlink() {
            let t = fs::read_link(&src).map_err(|e| format!("{}: {e}", src.display()))?;
            std::os::unix::fs::symlink(&t, &dst).map_err(|e| format!("{}: {e}", dst.display()))?;
        } else {
            fs::copy(&src, &dst)
                .map_err(|e| format!("cannot copy {} to {}: {e}", src.display(), dst.display()))?;
        }
    }
    Ok(())
}

/// Writes `contents` to `path` unless it already holds exactly that (keeps mtimes stable).
fn write_if_changed(path: &Path, contents: &[u8]) -> Result<(), String> {
    if fs::read(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    fs::write(path, contents).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn remove_dir_if_exists(dir: &Path) -> Result<(), String> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("cannot remove {}: {e}", dir.display())),
    }
}

// ---------------------------------------------------------------------------------------------
// apt: a deb-src entry derived from the machine's own sources

/// From a deb822 `.sources` file: `(has a deb-src entry, deb-src paragraphs derived from its
/// enabled deb entries)`. Comments are dropped; every other field (URIs, Suites, Components,
/// Signed-By, including multi-line values) is kept as it is.
fn derive_deb822(text: &str) -> (bool, Vec<String>) {
    let mut has_src = false;
    let mut derived = Vec::new();
    // paragraphs: blank-line separated; fields keep their continuation lines
    let mut paragraphs: Vec<Vec<&str>> = vec![Vec::new()];
    for line in text.lines() {
        if line.trim().is_empty() {
            if !paragraphs.last().is_some_and(Vec::is_empty) {
                paragraphs.push(Vec::new());
            }
        } else if !line.starts_with('#') {
            paragraphs.last_mut().expect("never empty").push(line);
        }
    }
    for p in paragraphs.iter().filter(|p| !p.is_empty()) {
        let field = |name: &str| {
            p.iter().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (!l.starts_with([' ', '\t']) && k.trim().eq_ignore_ascii_case(name))
                    .then(|| v.trim().to_owned())
            })
        };
        if field("Enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
            continue;
        }
        let types = field("Types").unwrap_or_default();
        let types: Vec<&str> = types.split_whitespace().collect();
        if types.contains(&"deb-src") {
            has_src = true;
        }
        if !types.contains(&"deb") {
            continue;
        }
        let mut out = String::from("Types: deb-src\n");
        let mut skipping = false;
        for l in p {
            let continuation = l.starts_with([' ', '\t']);
            if !continuation {
                let key = l.split_once(':').map_or("", |(k, _)| k.trim());
                // Architectures names binary architectures; it means nothing for sources
                skipping =
                    key.eq_ignore_ascii_case("Types") || key.eq_ignore_ascii_case("Architectures");
            }
            if !skipping {
                out.push_str(l);
                out.push('\n');
            }
        }
        derived.push(out);
    }
    (has_src, derived)
}

/// From a one-line-format `.list` file: `(has a deb-src line, deb-src lines derived from its
/// deb lines)`.
fn derive_one_line(text: &str) -> (bool, Vec<String>) {
    let mut has_src = false;
    let mut derived = Vec::new();
    for line in text.lines() {
        let l = line.trim();
        if let Some(rest) = l.strip_prefix("deb-src") {
            if rest.starts_with([' ', '\t']) {
                has_src = true;
            }
        } else if let Some(rest) = l.strip_prefix("deb")
            && rest.starts_with([' ', '\t'])
        {
            derived.push(format!("deb-src{rest}"));
        }
    }
    (has_src, derived)
}

/// Makes sure apt has a `deb-src` entry: if none exists, writes `lintel-deb-src-<name>` next to
/// each apt source file, derived from that file's `deb` entries (never a hard-coded mirror), and
/// runs `apt-get update`.
pub(crate) fn ensure_deb_src() -> Result<(), String> {
    let etc = Path::new("/etc/apt");
    let mut files = vec![etc.join("sources.list")];
    if let Ok(rd) = fs::read_dir(etc.join("sources.list.d")) {
        let mut more: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    let mut has_src = false;
    let mut to_write = Vec::new();
    for f in files {
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let (src, derived, ext) = if let Some(stem) = name.strip_suffix(".sources") {
            let (s, d) = derive_deb822(&text);
            (s, d.join("\n"), (stem.to_owned(), "sources"))
        } else if let Some(stem) = name.strip_suffix(".list") {
            let (s, d) = derive_one_line(&text);
            (s, d.join("\n"), (stem.to_owned(), "list"))
        } else {
            continue; // apt reads only *.list and *.sources
        };
        has_src |= src;
        if !derived.is_empty() {
            let (stem, ext) = ext;
            let path = etc.join(format!("sources.list.d/lintel-deb-src-{stem}.{ext}"));
            let body = format!(
                "# Written by lintel's `cargo xtask sysroot` from {}: the same entries as \
                 deb-src,\n# for `apt-get source musl`. Safe to delete.\n\n{derived}\n",
                f.display()
            );
            to_write.push((path, body));
        }
    }
    if has_src {
        return Ok(());
    }
    if to_write.is_empty() {
        return Err(
            "apt has no deb entry to derive a deb-src entry from; set LINTEL_MUSL_SRC \
                    to an unpacked musl 1.2.3 source tree instead"
                .into(),
        );
    }
    if !is_root() {
        return Err(
            "apt has no deb-src entry and adding one needs root; add one (or set \
                    LINTEL_MUSL_SRC to an unpacked musl 1.2.3 source tree) and retry"
                .into(),
        );
    }
    for (path, body) in &to_write {
        eprintln!(
            "xtask: apt has no deb-src entry; writing {}",
            path.display()
        );
        fs::write(path, body).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let Err(e) = run(apt_get_update()) {
        // another source may lack a Sources index; `apt-get source` may still find musl
        eprintln!("xtask: warning: {e}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// musl's source

fn check_version(dir: &Path) -> Result<(), String> {
    let v = fs::read_to_string(dir.join("VERSION"))
        .map_err(|e| format!("{} is not a musl source tree: {e}", dir.display()))?;
    if v.trim() != MUSL_VERSION {
        return Err(format!(
            "{} holds musl {}, but lintel's overlay is written for musl {MUSL_VERSION}",
            dir.display(),
            v.trim()
        ));
    }
    for f in ["configure", "Makefile", "arch/x86_64/syscall_arch.h"] {
        if !dir.join(f).exists() {
            return Err(format!("{}: no {f}", dir.display()));
        }
    }
    Ok(())
}

/// The musl source tree: `LINTEL_MUSL_SRC`, or Debian's source package in `target/musl-src/`.
fn musl_source() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("LINTEL_MUSL_SRC") {
        let dir = PathBuf::from(dir);
        check_version(&dir)?;
        return Ok(dir);
    }
    let base = target().join("musl-src");
    let done = base.join(".lintel-fetched");
    if let Ok(name) = fs::read_to_string(&done) {
        let dir = base.join(name.trim());
        if check_version(&dir).is_ok() {
            return Ok(dir);
        }
    }
    ensure_tools(&[("dpkg-source", "dpkg-dev")], "`apt-get source musl`")?;
    ensure_deb_src()?;
    remove_dir_if_exists(&base)?;
    fs::create_dir_all(&base).map_err(|e| format!("{}: {e}", base.display()))?;
    eprintln!("xtask: fetching musl's Debian source package (apt-get source musl)");
    let source = || {
        let mut c = Command::new("apt-get");
        // dpkg-source unpacks and applies Debian's patches, as `apt-get source` always does
        c.args(["source", "musl"]).current_dir(&base);
        run(c)
    };
    if source().is_err() {
        eprintln!("xtask: retrying after apt-get update");
        let _ = run(apt_get_update());
        source().map_err(|e| {
            format!("{e}\n(is there a deb-src entry for Debian bookworm? or set LINTEL_MUSL_SRC)")
        })?;
    }
    let dir = fs::read_dir(&base)
        .map_err(|e| format!("{}: {e}", base.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("musl-"))
        })
        .ok_or("apt-get source musl unpacked no musl-* directory")?;
    check_version(&dir)?;
    let name = dir
        .file_name()
        .expect("a dir name")
        .to_string_lossy()
        .into_owned();
    fs::write(&done, name).map_err(|e| format!("{}: {e}", done.display()))?;
    Ok(dir)
}

// ---------------------------------------------------------------------------------------------
// the lintel64 arch

fn overlay_dir() -> PathBuf {
    root().join("musl/overlay")
}

/// Paths in `musl/remove.txt` (comments and blank lines skipped).
fn remove_list() -> Result<Vec<String>, String> {
    let p = root().join("musl/remove.txt");
    let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

fn is_source(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("c" | "s" | "S")
    )
}

/// Creates the lintel64 arch in the musl tree `tree`: every `x86_64` directory (arch, crt, src/*,
/// …) copied to a sibling `lintel64`, `add-cfi.lintel64.awk`, the removals, then the overlay.
fn make_arch(tree: &Path) -> Result<(), String> {
    let mut x86 = Vec::new();
    for top in ["arch", "crt", "src", "ldso", "compat"] {
        if tree.join(top).is_dir() {
            for rel in files_under(&tree.join(top))? {
                let rel = Path::new(top).join(rel);
                let dir = rel.parent().expect("has a parent").to_owned();
                // the innermost x86_64 component's directory
                let mut d = dir.as_path();
                loop {
                    if d.file_name().is_some_and(|n| n == "x86_64") {
                        if !x86.contains(&d.to_path_buf()) {
                            x86.push(d.to_path_buf());
                        }
                        break;
                    }
                    match d.parent() {
                        Some(p) if !p.as_os_str().is_empty() => d = p,
                        _ => break,
                    }
                }
            }
        }
    }
    for d in &x86 {
        let to = d.with_file_name(ARCH);
        copy_tree(&tree.join(d), &tree.join(&to))?;
    }
    let awk = tree.join("tools/add-cfi.x86_64.awk");
    if awk.exists() {
        fs::copy(&awk, tree.join(format!("tools/add-cfi.{ARCH}.awk")))
            .map_err(|e| format!("{}: {e}", awk.display()))?;
    }
    for rel in remove_list()? {
        let p = tree.join(&rel);
        fs::remove_file(&p).map_err(|e| {
            format!("musl/remove.txt names {rel}, which the lintel64 copy lacks: {e}")
        })?;
    }
    let overlay = overlay_dir();
    for rel in files_under(&overlay)? {
        let dst = tree.join(&rel);
        // musl's Makefile keys arch replacements by basename and prefers .s over .c: an
        // overlay source file must be the only one of its name in its directory
        if is_source(&rel)
            && let (Some(dir), Some(stem)) = (dst.parent(), dst.file_stem())
            && let Ok(rd) = fs::read_dir(dir)
        {
            for e in rd.filter_map(Result::ok) {
                let p = e.path();
                if p != dst && is_source(&p) && p.file_stem() == Some(stem) {
                    fs::remove_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                }
            }
        }
        if let Some(parent) = dst.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::copy(overlay.join(&rel), &dst).map_err(|e| format!("{}: {e}", dst.display()))?;
    }
    // the trap, checked over the result
    for d in &x86 {
        let dir = tree.join(d.with_file_name(ARCH));
        let mut stems: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for rel in files_under(&dir)? {
            if is_source(&rel) && rel.parent() == Some(Path::new("")) {
                let stem = rel
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                stems
                    .entry(stem)
                    .or_default()
                    .push(rel.to_string_lossy().into_owned());
            }
        }
        if let Some((_, v)) = stems.iter().find(|(_, v)| v.len() > 1) {
            return Err(format!(
                "{}: {} share a basename; musl's Makefile would build only one",
                dir.display(),
                v.join(" and ")
            ));
        }
    }
    Ok(())
}

/// The stamp: everything the musl build depends on.
fn musl_key(src: &Path) -> Result<String, String> {
    let mut h = Fnv::new();
    h.bytes(RECIPE.as_bytes());
    for a in CONFIGURE_ARGS {
        h.bytes(a.as_bytes());
    }
    let gcc = Command::new("gcc")
        .arg("--version")
        .output()
        .map_err(|e| format!("cannot run gcc: {e}"))?;
    h.bytes(&gcc.stdout);
    hash_tree(&mut h, &overlay_dir())?;
    h.bytes(
        &fs::read(root().join("musl/remove.txt")).map_err(|e| format!("musl/remove.txt: {e}"))?,
    );
    hash_tree(&mut h, src)?;
    Ok(format!("{:016x}", h.0))
}

fn build_musl(src: &Path, sysroot: &Path) -> Result<(), String> {
    let build = target().join("musl-build");
    eprintln!(
        "xtask: building musl {MUSL_VERSION} for {ARCH} in {} (about two minutes)",
        build.display()
    );
    remove_dir_if_exists(&build)?;
    copy_tree(src, &build)?;
    make_arch(&build)?;

    let mut c = Command::new("sh");
    c.arg("./configure")
        .arg(format!("--prefix={}", sysroot.display()))
        .args(CONFIGURE_ARGS)
        .current_dir(&build);
    eprintln!("xtask: running {c:?}");
    let out = c
        .output()
        .map_err(|e| format!("cannot run configure: {e}"))?;
    let log = build.join("configure.log");
    let _ = fs::write(
        &log,
        [out.stdout.as_slice(), out.stderr.as_slice()].concat(),
    );
    if !out.status.success() {
        return Err(format!(
            "musl's configure failed ({}); its output is in {}",
            out.status,
            log.display()
        ));
    }
    // configure maps the target triple to ARCH (x86_64 here) and has no --arch option
    let mak = build.join("config.mak");
    let text = fs::read_to_string(&mak).map_err(|e| format!("{}: {e}", mak.display()))?;
    if !text.lines().any(|l| l == "ARCH = x86_64") {
        return Err(format!("{}: no `ARCH = x86_64` line", mak.display()));
    }
    let text: String = text
        .lines()
        .map(|l| {
            if l == "ARCH = x86_64" {
                format!("ARCH = {ARCH}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(&mak, text).map_err(|e| format!("{}: {e}", mak.display()))?;

    let mut c = Command::new("make");
    c.args(["-j2", "-s"]).current_dir(&build);
    run(c)?;
    remove_dir_if_exists(sysroot)?;
    let mut c = Command::new("make");
    c.args(["-s", "install"]).current_dir(&build);
    run(c)
}

// ---------------------------------------------------------------------------------------------
// liblintel and lintel-cc

fn build_liblintel() -> Result<PathBuf, String> {
    if let Some(a) = std::env::var_os("LINTEL_LIBLINTEL_A") {
        let a = PathBuf::from(a);
        eprintln!("xtask: using LINTEL_LIBLINTEL_A={}", a.display());
        return Ok(a);
    }
    let manifest = root().join("musl/liblintel/Cargo.toml");
    if !manifest.exists() {
        return Err(format!(
            "{} is missing (or set LINTEL_LIBLINTEL_A to a prebuilt liblintel.a)",
            manifest.display()
        ));
    }
    let dir = target().join("liblintel");
    let mut c = cargo();
    c.args(["build", "--quiet", "--release", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&dir);
    run(c)?;
    Ok(dir.join("release/liblintel.a"))
}

fn specs(sysroot: &Path) -> String {
    let inc = sysroot.join("include");
    let lib = sysroot.join("lib");
    let (inc, lib) = (inc.display(), lib.display());
    // Debian's musl-gcc.specs (musl's tools/musl-gcc.specs.sh) for this sysroot, with
    // -dynamic-linker dropped (static only) and -llintel after -lc in *lib: with -static, gcc's
    // link_gcc_c_sequence puts *libgcc and *lib inside one --start-group/--end-group, so the
    // cycles libc.a -> liblintel.a -> libc.a (e.g. __cp_cancel's jmp __cancel) resolve.
    format!(
        "%rename cpp_options old_cpp_options
%rename lib old_lib

*cpp_options:
-nostdinc -isystem {inc} -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem {inc} -isystem include%s

*link_libgcc:
-L{lib} -L .%s

*libgcc:
libgcc.a%s %:if-exists(libgcc_eh.a%s)

*lib:
%(old_lib) -llintel

*startfile:
%{{!shared: {lib}/Scrt1.o}} {lib}/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s {lib}/crtn.o

*link:
-nostdlib %{{shared:-shared}} %{{static:-static}} %{{rdynamic:-export-dynamic}}

*esp_link:


*esp_options:


*esp_cpp_options:


"
    )
}

fn lintel_cc_script(sysroot: &Path) -> String {
    let specs = sysroot.join("lib/lintel-cc.specs");
    format!(
        r#"#!/bin/sh
# lintel-cc: musl-gcc for lintel's sysroot (written by `cargo xtask sysroot`).
# Compiles against musl built as the lintel64 arch and links statically with libc.a and
# liblintel.a in one link group. lintel programs are static only: -static is always added.
for a in "$@"; do
	case "$a" in
	-shared|-static-pie|-dynamic|-rdynamic)
		echo "lintel-cc: $a: lintel programs are static executables only" >&2
		exit 1 ;;
	esac
done
exec "${{REALGCC:-gcc}}" "$@" -static -specs "{}"
"#,
        specs.display()
    )
}

/// `cargo xtask sysroot`: see the module docs. Fast when nothing changed.
pub(crate) fn sysroot() -> Result<Sysroot, String> {
    let t0 = Instant::now();
    ensure_tools(
        &[
            ("gcc", "gcc"),
            ("make", "make"),
            ("ar", "binutils"),
            ("objdump", "binutils"),
        ],
        "building musl",
    )?;
    let sysroot = target().join("lintel-sysroot");
    let src = musl_source()?;
    let key = musl_key(&src)?;
    let stamp = sysroot.join(".lintel-musl-stamp");
    let fresh = fs::read_to_string(&stamp).is_ok_and(|s| s.trim() == key)
        && sysroot.join("lib/libc.a").exists();
    if fresh {
        eprintln!("xtask: musl for {ARCH} is up to date ({key})");
    } else {
        let t = Instant::now();
        build_musl(&src, &sysroot)?;
        fs::write(&stamp, &key).map_err(|e| format!("{}: {e}", stamp.display()))?;
        eprintln!("xtask: musl built in {:.0?}", t.elapsed());
    }

    let a = build_liblintel()?;
    let bytes = fs::read(&a).map_err(|e| format!("cannot read {}: {e}", a.display()))?;
    write_if_changed(&sysroot.join("lib/liblintel.a"), &bytes)?;

    write_if_changed(
        &sysroot.join("lib/lintel-cc.specs"),
        specs(&sysroot).as_bytes(),
    )?;
    let cc = sysroot.join("bin/lintel-cc");
    write_if_changed(&cc, lintel_cc_script(&sysroot).as_bytes())?;
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(&cc, fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", cc.display()))?;
    eprintln!(
        "xtask: sysroot ready in {:.1?}: {} (compiler: {})",
        t0.elapsed(),
        sysroot.display(),
        cc.display()
    );
    Ok(Sysroot {
        dir: sysroot,
        lintel_cc: cc,
    })
}

// ---------------------------------------------------------------------------------------------
// syscall placement checks

/// One `syscall` instruction found by objdump: archive member (if any), enclosing symbol and
/// address.
#[derive(Debug)]
struct SyscallSite {
    member: String,
    symbol: String,
    addr: u64,
}

/// Every `syscall` instruction in `file` (an object, archive or executable), from `objdump -d`.
fn syscall_sites(file: &Path) -> Result<Vec<SyscallSite>, String> {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run objdump: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "objdump -d {} failed: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut sites = Vec::new();
    let (mut member, mut symbol) = (String::new(), String::new());
    for line in text.lines() {
        if let Some((m, _)) = line.split_once(":     file format") {
            member = m.trim().to_owned();
        } else if let Some(rest) = line.strip_suffix(">:") {
            // "0000000000401000 <name>:"
            symbol = rest.split_once(" <").map_or(rest, |(_, s)| s).to_owned();
        } else if let Some((addr, insn)) = line.split_once(":\t") {
            let mnemonic = insn.split_whitespace().next().unwrap_or("");
            if mnemonic == "syscall" {
                sites.push(SyscallSite {
                    member: member.clone(),
                    symbol: symbol.clone(),
                    addr: u64::from_str_radix(addr.trim(), 16).unwrap_or(0),
                });
            }
        }
    }
    Ok(sites)
}

/// `libc.a` must hold no `syscall` instruction at all.
fn check_libc(libc: &Path) -> Result<String, String> {
    let sites = syscall_sites(libc)?;
    let members = Command::new("ar")
        .arg("t")
        .arg(libc)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().count())
        .unwrap_or(0);
    if sites.is_empty() {
        Ok(format!("no syscall instruction in {members} members"))
    } else {
        let list: Vec<String> = sites
            .iter()
            .map(|s| format!("{} <{}>", s.member, s.symbol))
            .collect();
        Err(format!(
            "{} syscall instructions: {}",
            sites.len(),
            list.join(", ")
        ))
    }
}

/// Address of symbol `name` in `exe`, from `nm`.
fn symbol_addr(exe: &Path, name: &str) -> Option<u64> {
    let out = Command::new("nm").arg(exe).output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let mut it = l.split_whitespace();
        let (addr, _kind, sym) = (it.next()?, it.next()?, it.next()?);
        (sym == name).then(|| u64::from_str_radix(addr, 16).ok())?
    })
}

/// In a linked program every `syscall` must lie in the host port's syscall section,
/// `[__lintel_host_syscalls_start, __lintel_host_syscalls_end)`.
pub(crate) fn check_linked(exe: &Path) -> Result<usize, String> {
    let start = symbol_addr(exe, "__lintel_host_syscalls_start");
    let end = symbol_addr(exe, "__lintel_host_syscalls_end");
    let sites = syscall_sites(exe)?;
    let inside = |a: u64| matches!((start, end), (Some(s), Some(e)) if s <= a && a < e);
    let offenders: Vec<String> = sites
        .iter()
        .filter(|s| !inside(s.addr))
        .map(|s| format!("{:#x} <{}>", s.addr, s.symbol))
        .collect();
    if offenders.is_empty() {
        Ok(sites.len())
    } else if start.is_none() || end.is_none() {
        Err(format!(
            "no __lintel_host_syscalls_start/_end symbols, and {} syscall instructions: {}",
            offenders.len(),
            offenders.join(", ")
        ))
    } else {
        Err(format!(
            "{} syscall instructions outside lintel's syscall section: {}",
            offenders.len(),
            offenders.join(", ")
        ))
    }
}

/// The checks must not be vacuous: a program with a `syscall` of its own must be flagged, with
/// the symbol it sits in.
fn check_checker(lintel_cc: &Path) -> Result<String, String> {
    let dir = target().join("ctest");
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let src = dir.join("own_syscall.c");
    fs::write(
        &src,
        "long own_getpid(void) { long r; __asm__ volatile (\"syscall\" : \"=a\"(r) : \"a\"(39L) \
         : \"rcx\", \"r11\", \"memory\"); return r; }\nint main(void) { return own_getpid() < 0; }\n",
    )
    .map_err(|e| format!("{}: {e}", src.display()))?;
    let exe = dir.join("own_syscall");
    compile(lintel_cc, &src, &exe)?;
    match check_linked(&exe) {
        Ok(_) => Err("a program's own syscall instruction went unnoticed".into()),
        Err(e) if e.contains("<own_getpid>") => Ok("a program's own syscall is reported".into()),
        Err(e) => Err(format!("unexpected report: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// ctest

/// Seconds a test program may run (each takes well under 2 s natively).
const TIMEOUT_SECS: u64 = 30;
/// The same for pending tests, which may hang until lintel implements what they use.
const PENDING_TIMEOUT_SECS: u64 = 10;

#[derive(Debug)]
pub(crate) struct Outcome {
    pub(crate) status: String,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) took: Duration,
}

pub(crate) fn compile(cc: &Path, src: &Path, out: &Path) -> Result<(), String> {
    if let Some(parent) = out.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let o = Command::new(cc)
        .args(["-static", "-O2", "-Wall", "-Werror", "-o"])
        .arg(out)
        .arg(src)
        .arg("-lpthread")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", cc.display()))?;
    if o.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&o.stderr);
        let lines: Vec<&str> = err
            .lines()
            .filter(|l| !l.trim().is_empty())
            .take(4)
            .collect();
        Err(format!(
            "{} failed to build it: {}",
            cc.file_name().unwrap_or_default().to_string_lossy(),
            lines.join(" | ")
        ))
    }
}

/// Runs `exe` in its own session (`setsid --wait`) under `timeout`: signals it sends stay
/// within that session, and a hung program is killed.
fn execute(exe: &Path, timeout_secs: u64) -> Result<Outcome, String> {
    execute_with(exe, timeout_secs, &[])
}

/// [`execute`] with extra environment variables.
pub(crate) fn execute_with(
    exe: &Path,
    timeout_secs: u64,
    env: &[(&str, &str)],
) -> Result<Outcome, String> {
    let t = Instant::now();
    let o = Command::new("setsid")
        .envs(env.iter().copied())
        .arg("--wait")
        .arg("timeout")
        .args(["-k", "5"])
        .arg(timeout_secs.to_string())
        .arg(exe)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    use std::os::unix::process::ExitStatusExt as _;
    let status = match (o.status.code(), o.status.signal()) {
        (Some(124), _) => format!("timed out after {timeout_secs} s"),
        (Some(c), _) if c > 128 => format!("killed by signal {}", c - 128),
        (Some(c), _) => format!("exit {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "unknown status".into(),
    };
    Ok(Outcome {
        status,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        took: t.elapsed(),
    })
}

/// The first line where `a` and `b` differ, for the report.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => return "same stdout".into(),
            (x, y) if x == y => continue,
            (x, y) => {
                return format!(
                    "stdout line {n}: musl-gcc {:?}, lintel-cc {:?}",
                    x.unwrap_or("<end>"),
                    y.unwrap_or("<end>")
                );
            }
        }
    }
    unreachable!()
}

/// Builds and runs one test both ways; `Ok(summary)` if the outputs agree.
fn one_test(src: &Path, name: &str, lintel_cc: &Path, pending: bool) -> Result<String, String> {
    let timeout = if pending {
        PENDING_TIMEOUT_SECS
    } else {
        TIMEOUT_SECS
    };
    let out = target().join("ctest");
    let native = out.join("musl-gcc").join(name);
    let lintel = out.join("lintel-cc").join(name);
    compile(Path::new("musl-gcc"), src, &native)?;
    compile(lintel_cc, src, &lintel)?;
    let n = check_linked(&lintel)?;
    // a test may expect another exit status: `ctest-exit-status: N` in its source
    let text = fs::read_to_string(src).map_err(|e| format!("{}: {e}", src.display()))?;
    let want = text
        .split_once("ctest-exit-status:")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("0");
    let expected = execute(&native, timeout)?;
    if expected.status != format!("exit {want}") {
        return Err(format!(
            "the musl-gcc build itself fails ({}); stderr: {}",
            expected.status,
            expected.stderr.trim_end()
        ));
    }
    let got = execute(&lintel, timeout)?;
    if got.status == expected.status && got.stdout == expected.stdout {
        Ok(format!(
            "{} lines, {}; {:.2} s vs {:.2} s native; {n} syscall instructions, all in lintel's \
             section",
            expected.stdout.lines().count(),
            got.status,
            got.took.as_secs_f64(),
            expected.took.as_secs_f64(),
        ))
    } else {
        let mut why = format!(
            "{} (musl-gcc: {}); {}",
            got.status,
            expected.status,
            first_difference(&expected.stdout, &got.stdout)
        );
        let err = got.stderr.trim_end();
        if !err.is_empty() {
            let tail: Vec<&str> = err.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            why.push_str(&format!("; stderr: {}", tail.join(" | ")));
        }
        Err(why)
    }
}

fn c_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "c"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// `cargo xtask ctest [filter]`: see the module docs.
pub(crate) fn ctest(args: &[String]) -> Result<(), String> {
    let filter = args.first().map(String::as_str).unwrap_or("");
    let sys = sysroot()?;
    ensure_tools(
        &[
            ("musl-gcc", "musl-tools"),
            ("setsid", "util-linux"),
            ("timeout", "coreutils"),
        ],
        "the C tests",
    )?;
    let dir = root().join("tests-c");
    let mut stdout = std::io::stdout().lock();
    let (mut passed, mut failed) = (0, 0);
    let (mut pending_ok, mut pending_bad) = (0, 0);

    match check_checker(&sys.lintel_cc) {
        Ok(msg) => {
            passed += 1;
            let _ = writeln!(
                stdout,
                "ctest: ok      syscall-check-finds-offenders ({msg})"
            );
        }
        Err(msg) => {
            failed += 1;
            let _ = writeln!(
                stdout,
                "ctest: FAIL    syscall-check-finds-offenders: {msg}"
            );
        }
    }
    match check_libc(&sys.dir.join("lib/libc.a")) {
        Ok(msg) => {
            passed += 1;
            let _ = writeln!(stdout, "ctest: ok      libc.a-no-syscall ({msg})");
        }
        Err(msg) => {
            failed += 1;
            let _ = writeln!(stdout, "ctest: FAIL    libc.a-no-syscall: {msg}");
        }
    }
    if "stats-report".contains(filter) {
        let line = match crate::stats_check::check(&sys.lintel_cc) {
            Ok(msg) => {
                passed += 1;
                format!("ok      stats-report ({msg})")
            }
            Err(msg) => {
                failed += 1;
                format!("FAIL    stats-report: {msg}")
            }
        };
        let _ = writeln!(stdout, "ctest: {line}");
    }
    for (pending, src) in c_files(&dir)
        .into_iter()
        .map(|p| (false, p))
        .chain(c_files(&dir.join("pending")).into_iter().map(|p| (true, p)))
    {
        let name = src
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !name.contains(filter) {
            continue;
        }
        let result = one_test(&src, &name, &sys.lintel_cc, pending);
        let line = match (&result, pending) {
            (Ok(msg), false) => {
                passed += 1;
                format!("ok      {name} ({msg})")
            }
            (Err(msg), false) => {
                failed += 1;
                format!("FAIL    {name}: {msg}")
            }
            (Ok(msg), true) => {
                pending_ok += 1;
                format!("pending {name}: passes now ({msg})")
            }
            (Err(msg), true) => {
                pending_bad += 1;
                format!("pending {name}: fails: {msg}")
            }
        };
        let _ = writeln!(stdout, "ctest: {line}");
        let _ = stdout.flush();
    }
    if pending_ok + pending_bad > 0 {
        let _ = writeln!(
            stdout,
            "ctest: pending (not counted): {pending_ok} pass, {pending_bad} fail"
        );
    }
    let _ = writeln!(stdout, "ctest: {passed} passed, {failed} failed");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} C tests failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_derivation_keeps_fields_and_drops_comments() {
        let text = "Types: deb\n# http://snapshot.example/archive\nURIs: http://mirror.example/debian\n\
                    Suites: bookworm bookworm-updates\nComponents: main\n\
                    Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                    Types: deb\nURIs: http://other.example/x\nSuites: s\nComponents: c\n\
                    Architectures: amd64\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n \
                    abc\n\nTypes: deb\nEnabled: no\nURIs: http://off.example\nSuites: s\nComponents: c\n";
        let (has_src, d) = derive_deb822(text);
        assert!(!has_src);
        assert_eq!(d.len(), 2);
        assert_eq!(
            d[0],
            "Types: deb-src\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\
             Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
        );
        assert_eq!(
            d[1],
            "Types: deb-src\nURIs: http://other.example/x\nSuites: s\nComponents: c\n\
             Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n"
        );
        let (has_src, _) = derive_deb822("Types: deb deb-src\nURIs: u\nSuites: s\n");
        assert!(has_src);
    }

    #[test]
    fn one_line_derivation() {
        let text = "# deb-src http://x bookworm main\ndeb [signed-by=/k.gpg] http://m/debian \
                    bookworm main\n  deb http://m/debian-security bookworm-security main\ndebian\n";
        let (has_src, d) = derive_one_line(text);
        assert!(!has_src);
        assert_eq!(
            d,
            [
                "deb-src [signed-by=/k.gpg] http://m/debian bookworm main",
                "deb-src http://m/debian-security bookworm-security main"
            ]
        );
        assert!(derive_one_line("deb-src http://m/debian bookworm main\n").0);
    }

    #[test]
    fn fnv_is_stable_and_length_delimited() {
        let mut a = Fnv::new();
        a.bytes(b"ab");
        a.bytes(b"c");
        let mut b = Fnv::new();
        b.bytes(b"a");
        b.bytes(b"bc");
        assert_ne!(a.0, b.0);
        let mut c = Fnv::new();
        c.bytes(b"");
        assert_eq!(c.0, {
            let mut d = Fnv::new();
            d.bytes(b"");
            d.0
        });
    }
}
