//! `cargo xtask bench [--quick] [--c-only] [criterion args]`: lintel's benchmarks at two levels,
//! and `docs/benchmarks.md` and `docs/bench-*.svg` regenerated from one run (never edit them by
//! hand).
//!
//! 1. **Rust level** (criterion, `benches/benches/`): lintel's futex table on the Linux host
//!    port against native `futex(2)` and parking_lot_core: a wake with no waiters, ping-pong,
//!    and scaling curves over 1–8 threads and 1–4096 parked addresses (plotted as SVG).
//! 2. **C level** (`benches/c/bench.c`): one C program built with Debian's `musl-gcc -O2
//!    -static` (musl on Linux) and with `lintel-cc -O2 -static` (musl as the lintel arch: every
//!    syscall a call into lintel). The two builds run alternately (A B, B A, … for several
//!    rounds) in this one invocation; each run calibrates its iteration count so that a sample
//!    takes about 100 ms; medians of all samples are compared (lintel / native).
//! 3. **Memory**: the same program creates N blocked threads under both builds and reads
//!    `/proc/self/status` before and after; the per-thread growth of VmSize and VmRSS, native
//!    and lintel, shows what lintel adds per thread.
//!
//! Software-overhead rows run pinned to CPU 0 (`taskset -c 0`, inherited by every thread);
//! contention rows run unpinned. `--quick` is a smoke run (short criterion runs, two rounds of
//! short samples) that writes `target/bench-quick/` instead of `docs/`. `--c-only` skips
//! criterion and reuses its last results. Other arguments go to criterion.

use crate::sysroot::{compile, sysroot, target};
use crate::{cargo, root, run};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

// ---------------------------------------------------------------------------------------------
// what is measured

/// Criterion rows (group, setup, goal for lintel/native, what the goal means).
const GROUPS: &[(&str, &str, Option<f64>, &str)] = &[
    (
        "wake_no_waiters",
        "pinned to CPU 0",
        Some(0.10),
        "a wake with nobody waiting: no lock, no kernel",
    ),
    (
        "ping_pong_pinned",
        "both threads on CPU 0",
        Some(1.30),
        "a blocking handoff's software cost",
    ),
    (
        "ping_pong_unpinned",
        "threads on any CPU",
        None,
        "cross-CPU wakeups: noisy on 2-vCPU VMs",
    ),
];

/// The three implementations criterion compares.
const IMPLS: [&str; 3] = ["lintel", "native", "parking_lot_core"];

/// A criterion scaling group, drawn as one SVG plot.
#[derive(Debug)]
struct Curve {
    group: &'static str,
    params: &'static [u32],
    file: &'static str,
    title: &'static str,
    x: &'static str,
    y: &'static str,
}

const CURVES: &[Curve] = &[
    Curve {
        group: "scale_wake_threads",
        params: &[1, 2, 4, 8],
        file: "bench-wake-threads.svg",
        title: "wake with no waiters, N threads at once (unpinned)",
        x: "threads",
        y: "wall time per round (every thread wakes once)",
    },
    Curve {
        group: "scale_wake_all",
        params: &[1, 2, 4, 8],
        file: "bench-wake-all.svg",
        title: "wake-all round trip with N waiters on one word (unpinned)",
        x: "waiters",
        y: "round trip",
    },
    Curve {
        group: "scale_addresses",
        params: &[1, 4, 16, 64, 256, 1024, 4096],
        file: "bench-addresses.svg",
        title: "wake on an unwaited word, K threads parked on K other words (pinned)",
        x: "parked addresses",
        y: "wake",
    },
];

/// One C-level row: `bench.c`'s row name, pinned or not, goal, what one op is.
#[derive(Debug)]
struct CRow {
    name: &'static str,
    pinned: bool,
    goal: Option<f64>,
    what: &'static str,
}

const C_ROWS: &[CRow] = &[
    CRow {
        name: "wake_no_waiters",
        pinned: true,
        goal: Some(0.10),
        what: "`syscall(SYS_futex, FUTEX_WAKE_PRIVATE)` on a word nobody waits on",
    },
    CRow {
        name: "ping_pong",
        pinned: true,
        goal: Some(1.30),
        what: "two threads hand a token through one futex word (raw `syscall`), one round trip",
    },
    CRow {
        name: "clock_gettime",
        pinned: true,
        goal: Some(1.50),
        what: "`clock_gettime(CLOCK_MONOTONIC)` (natively the vDSO)",
    },
    CRow {
        name: "timedlock",
        pinned: true,
        goal: Some(1.30),
        what: "uncontended `pthread_mutex_timedlock` (deadline an hour ahead) + unlock",
    },
    CRow {
        name: "raise_handler",
        pinned: true,
        goal: Some(0.30),
        what: "`raise(SIGUSR1)` with a handler installed, handler run",
    },
    CRow {
        name: "sigprocmask_pair",
        pinned: true,
        goal: Some(0.10),
        what: "`sigprocmask` block + unblock of SIGUSR1",
    },
    CRow {
        name: "create_join",
        pinned: true,
        goal: Some(1.30),
        what: "`pthread_create` of a thread that returns at once + `pthread_join`",
    },
    CRow {
        name: "ping_pong",
        pinned: false,
        goal: None,
        what: "the same ping-pong, threads on any CPU (cross-CPU wakeups)",
    },
    CRow {
        name: "create_join",
        pinned: false,
        goal: None,
        what: "the same create + join, threads on any CPU",
    },
    CRow {
        name: "mutex_2",
        pinned: false,
        goal: Some(1.30),
        what: "2 threads lock/unlock one `pthread_mutex` around 8 increments for the sample's time; per acquisition",
    },
    CRow {
        name: "mutex_4",
        pinned: false,
        goal: Some(1.30),
        what: "the same with 4 threads",
    },
    CRow {
        name: "broadcast_8",
        pinned: false,
        goal: Some(1.30),
        what: "`pthread_cond_broadcast` to 8 waiters; round trip until all 8 woke and wait again",
    },
];

/// How hard to measure.
#[derive(Debug, Clone, Copy)]
struct Plan {
    quick: bool,
    /// Rounds (one native and one lintel run each) for pinned rows and for unpinned rows.
    rounds_pinned: usize,
    rounds_unpinned: usize,
    /// Samples per run.
    samples_pinned: usize,
    samples_unpinned: usize,
    /// Target duration of one sample.
    target_ms: u64,
    /// Threads created by the memory measurement, and its runs per build.
    mem_threads: usize,
    mem_runs: usize,
}

const FULL: Plan = Plan {
    quick: false,
    rounds_pinned: 6,
    rounds_unpinned: 16,
    samples_pinned: 3,
    samples_unpinned: 1,
    target_ms: 100,
    mem_threads: 256,
    mem_runs: 3,
};

const QUICK: Plan = Plan {
    quick: true,
    rounds_pinned: 2,
    rounds_unpinned: 2,
    samples_pinned: 1,
    samples_unpinned: 1,
    target_ms: 20,
    mem_threads: 64,
    mem_runs: 1,
};

/// Criterion arguments of a quick run.
const QUICK_CRITERION: &[&str] = &[
    "--warm-up-time",
    "0.2",
    "--measurement-time",
    "0.3",
    "--sample-size",
    "10",
];

// ---------------------------------------------------------------------------------------------
// small helpers

fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "–".into()
    } else if ns >= 1_000_000.0 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1000.0 {
        format!("{:.2} µs", ns / 1000.0)
    } else {
        format!("{ns:.1} ns")
    }
}

/// First line of a command's stdout (empty if it fails).
fn output_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned()
        })
        .unwrap_or_default()
}

/// The commit measured, and whether lintel's own sources had uncommitted changes.
fn lintel_revision() -> String {
    let rev = output_line(
        "git",
        &[
            "-C",
            &root().to_string_lossy(),
            "rev-parse",
            "--short",
            "HEAD",
        ],
    );
    if rev.is_empty() {
        return "(not a git checkout)".into();
    }
    let dirty = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["status", "--porcelain", "--"])
        .args([
            "kernel", "futex", "clone", "tls", "signals", "lintel", "host", "musl",
        ])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    if dirty {
        format!("at commit {rev} with uncommitted changes")
    } else {
        format!("at commit {rev}")
    }
}

/// Median point estimate in nanoseconds of criterion's `path` (`group/function[/param]`).
fn criterion_ns(path: &str) -> Option<f64> {
    let file = root()
        .join("target/criterion")
        .join(path)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(file).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}

// ---------------------------------------------------------------------------------------------
// the command

pub(crate) fn bench(args: &[String]) -> Result<(), String> {
    let t0 = Instant::now();
    let mut plan = FULL;
    let mut c_only = false;
    let mut extra: Vec<String> = Vec::new();
    for a in args {
        match a.as_str() {
            "--quick" => plan = QUICK,
            "--c-only" => c_only = true,
            _ => extra.push(a.clone()),
        }
    }
    if plan.quick {
        extra.extend(QUICK_CRITERION.iter().map(|s| (*s).to_owned()));
    }
    if !c_only {
        run_criterion(&extra)?;
    }
    let c = c_level(plan)?;
    let took = t0.elapsed();
    let out = if plan.quick {
        target().join("bench-quick")
    } else {
        root().join("docs")
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    write_report(&out, plan, &c, took.as_secs_f64(), c_only)
}

/// `cargo bench` of one criterion bench with a filter, optionally pinned to CPU 0.
fn criterion_run(bench: &str, filter: &str, pinned: bool, extra: &[String]) -> Result<(), String> {
    let mut c = if pinned {
        let mut c = Command::new("taskset");
        c.current_dir(root())
            .args(["-c", "0"])
            .arg(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        c
    } else {
        cargo()
    };
    c.args([
        "bench",
        "-p",
        "lintel-benches",
        "--bench",
        bench,
        "--",
        filter,
    ])
    .args(extra);
    run(c)
}

fn run_criterion(extra: &[String]) -> Result<(), String> {
    // Pinned: the single-thread rows and the address curve (the parked threads sleep).
    criterion_run("futex", "wake_no_waiters", true, extra)?;
    // Ping-pong: the benchmark pins (or not) its own threads.
    criterion_run("futex", "ping_pong", false, extra)?;
    criterion_run("scaling", "scale_addresses", true, extra)?;
    criterion_run("scaling", "scale_wake", false, extra)
}

// ---------------------------------------------------------------------------------------------
// the C level

/// Samples of one row under one build, and the median of each run (for the per-round ratios).
#[derive(Debug, Default)]
struct Samples {
    all: Vec<f64>,
    per_run: Vec<f64>,
    iters: Vec<u64>,
}

#[derive(Debug, Default)]
struct Mem {
    /// Per-thread growth in KiB of (VmSize, VmRSS), one pair per run.
    native: Vec<(f64, f64)>,
    lintel: Vec<(f64, f64)>,
    stack_default_kib: u64,
    minsigstksz: u64,
}

#[derive(Debug)]
struct CResults {
    /// Per row index in `C_ROWS`: (native, lintel).
    rows: Vec<(Samples, Samples)>,
    mem: Mem,
    gcc: String,
}

fn c_level(plan: Plan) -> Result<CResults, String> {
    let sys = sysroot()?;
    let src = root().join("benches/c/bench.c");
    let dir = target().join("bench-c");
    let native = dir.join("bench-musl-gcc");
    let lintel = dir.join("bench-lintel-cc");
    compile(Path::new("musl-gcc"), &src, &native)?;
    compile(&sys.lintel_cc, &src, &lintel)?;
    eprintln!(
        "xtask: C benchmarks: {} and {}",
        native.display(),
        lintel.display()
    );

    let mut rows: Vec<(Samples, Samples)> = C_ROWS.iter().map(|_| Default::default()).collect();
    // Pinned rows first, then unpinned; within a round every row runs once under each build,
    // the build that goes first alternating from round to round.
    for pinned in [true, false] {
        let (rounds, samples) = if pinned {
            (plan.rounds_pinned, plan.samples_pinned)
        } else {
            (plan.rounds_unpinned, plan.samples_unpinned)
        };
        for round in 0..rounds {
            for (i, row) in C_ROWS.iter().enumerate() {
                if row.pinned != pinned {
                    continue;
                }
                let order: [(&PathBuf, bool); 2] = if round % 2 == 0 {
                    [(&native, false), (&lintel, true)]
                } else {
                    [(&lintel, true), (&native, false)]
                };
                for (exe, is_lintel) in order {
                    let s = run_row(exe, row, plan.target_ms, samples)?;
                    let slot = if is_lintel {
                        &mut rows[i].1
                    } else {
                        &mut rows[i].0
                    };
                    slot.per_run
                        .push(median(&s.iter().map(|x| x.0).collect::<Vec<_>>()));
                    slot.all.extend(s.iter().map(|x| x.0));
                    slot.iters.extend(s.iter().map(|x| x.1));
                }
            }
            eprintln!(
                "xtask: C {} round {}/{rounds} done",
                if pinned { "pinned" } else { "unpinned" },
                round + 1
            );
        }
    }
    let mem = measure_mem(&native, &lintel, plan)?;
    let gcc = output_line("gcc", &["--version"]);
    Ok(CResults { rows, mem, gcc })
}

/// One run of `exe run ROW TARGET SAMPLES`, under `timeout` (and `taskset -c 0` if pinned):
/// the (ns per op, iterations) of each sample.
fn run_row(
    exe: &Path,
    row: &CRow,
    target_ms: u64,
    samples: usize,
) -> Result<Vec<(f64, u64)>, String> {
    let mut c = Command::new("timeout");
    c.args(["-k", "5", "300"]);
    if row.pinned {
        c.args(["taskset", "-c", "0"]);
    }
    c.arg(exe)
        .args(["run", row.name])
        .arg(target_ms.to_string())
        .arg(samples.to_string())
        .stdin(Stdio::null());
    let o = c
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let text = String::from_utf8_lossy(&o.stdout);
    let got: Vec<(f64, u64)> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            match f.as_slice() {
                ["sample", name, ns, iters] if *name == row.name => {
                    Some((ns.parse().ok()?, iters.parse().ok()?))
                }
                _ => None,
            }
        })
        .collect();
    if !o.status.success() || got.len() != samples {
        return Err(format!(
            "{} run {} failed ({}): {}",
            exe.display(),
            row.name,
            o.status,
            String::from_utf8_lossy(&o.stderr).trim_end()
        ));
    }
    Ok(got)
}

fn measure_mem(native: &Path, lintel: &Path, plan: Plan) -> Result<Mem, String> {
    let mut mem = Mem::default();
    for _ in 0..plan.mem_runs {
        for (exe, is_lintel) in [(native, false), (lintel, true)] {
            let o = Command::new("timeout")
                .args(["-k", "5", "120"])
                .arg(exe)
                .args(["mem", &plan.mem_threads.to_string()])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
            let text = String::from_utf8_lossy(&o.stdout);
            let mut pair = None;
            for l in text.lines() {
                let f: Vec<&str> = l.split_whitespace().collect();
                match f.as_slice() {
                    ["mem", n, vs0, vs1, rss0, rss1] => {
                        let p = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
                        let n = p(n);
                        pair = Some(((p(vs1) - p(vs0)) / n, (p(rss1) - p(rss0)) / n));
                    }
                    ["stack_default", kib] => mem.stack_default_kib = kib.parse().unwrap_or(0),
                    ["minsigstksz", b] => mem.minsigstksz = b.parse().unwrap_or(0),
                    _ => {}
                }
            }
            let Some(pair) = pair.filter(|_| o.status.success()) else {
                return Err(format!(
                    "{} mem failed ({}): {}",
                    exe.display(),
                    o.status,
                    String::from_utf8_lossy(&o.stderr).trim_end()
                ));
            };
            if is_lintel {
                mem.lintel.push(pair);
            } else {
                mem.native.push(pair);
            }
        }
    }
    Ok(mem)
}

// ---------------------------------------------------------------------------------------------
// plots

/// Draws one log-log chart of `series` (name, points) into `path`.
fn plot(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<(), String> {
    use plotters::prelude::*;
    let err = |e: &dyn std::fmt::Debug| format!("plotting {}: {e:?}", path.display());
    let pts = series.iter().flat_map(|(_, v)| v.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err(format!("nothing to plot for {}", path.display()));
    }
    let (x0, x1) = (x0 / 1.3, x1 * 1.3);
    let (y0, y1) = (y0 / 1.6, y1 * 1.6);
    let area = SVGBackend::new(path, (760, 460)).into_drawing_area();
    area.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 17))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| fmt_ns(*y))
        .draw()
        .map_err(|e| err(&e))?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour: RGBColor = match i {
            0 => RGBColor(200, 30, 30),
            1 => RGBColor(30, 60, 200),
            2 => RGBColor(20, 140, 40),
            _ => RGBColor(0, 0, 0),
        };
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), style))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    area.present().map_err(|e| err(&e))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// the report

fn goal_cell(ratio: f64, goal: Option<f64>, missed: &mut Vec<String>, name: String) -> String {
    match goal {
        Some(g) if ratio <= g => format!("≤ {g:.2} ✓ met"),
        Some(g) => {
            missed.push(name);
            format!("≤ {g:.2} ✗ missed")
        }
        None => "(reference)".into(),
    }
}

fn write_report(
    out: &Path,
    plan: Plan,
    c: &CResults,
    took_s: f64,
    c_only: bool,
) -> Result<(), String> {
    let mut md = String::new();
    let mut missed: Vec<String> = Vec::new();
    md.push_str("# Benchmarks\n\n");
    md.push_str(
        "Generated by `cargo xtask bench` (`xtask/src/bench.rs`) in one run; do not edit by hand.\n",
    );
    if plan.quick {
        md.push_str(
            "\n**Quick smoke run (`--quick`): short samples, few rounds. Not for comparison.**\n",
        );
    }
    let host = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let kernel = output_line("uname", &["-r"]);
    let date = output_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]);
    let rev = lintel_revision();
    let _ = writeln!(
        md,
        "\nMachine: {host}, {cpus} CPUs, Linux {kernel}; {}. lintel {rev}. Run on {date}, {:.0} s \
         in all{}.\n",
        c.gcc,
        took_s,
        if c_only {
            " (C level only; the criterion results are from the previous run)"
        } else {
            ""
        }
    );
    md.push_str(
        "These VMs are shared and noisy: compare ratios, not absolute times. Cross-CPU wakeups \
         cost 20–50 µs here and vary tenfold between runs, so the software cost of a blocking \
         handoff is measured with both threads pinned to one CPU.\n\n",
    );

    // ---- C level
    md.push_str("## C level: musl on lintel vs musl on Linux\n\n");
    let _ = writeln!(
        md,
        "`benches/c/bench.c`, built with Debian's `musl-gcc -O2 -static` (native: musl's syscalls \
         go to Linux) and with `lintel-cc -O2 -static` (lintel: every syscall, including a raw \
         `syscall()`, is a function call into lintel). Pinned rows: {} rounds × {} sample(s) per \
         build; unpinned rows: {} rounds × {} sample(s); about {} ms per sample. Medians of all \
         samples; the ratio range is the lowest and highest ratio of one round's two runs.\n",
        plan.rounds_pinned,
        plan.samples_pinned,
        plan.rounds_unpinned,
        plan.samples_unpinned,
        plan.target_ms
    );
    md.push_str("| row | CPUs | native (musl-gcc) | lintel (lintel-cc) | lintel / native | ratio range | goal |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for (row, (n, l)) in C_ROWS.iter().zip(&c.rows) {
        let (mn, ml) = (median(&n.all), median(&l.all));
        let ratio = ml / mn;
        let per_round: Vec<f64> = n
            .per_run
            .iter()
            .zip(&l.per_run)
            .map(|(a, b)| b / a)
            .collect();
        let lo = per_round.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = per_round.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let label = format!(
            "C `{}`{}",
            row.name,
            if row.pinned {
                " (pinned)"
            } else {
                " (unpinned)"
            }
        );
        let g = goal_cell(ratio, row.goal, &mut missed, label);
        let _ = writeln!(
            md,
            "| `{}` | {} | {} | {} | **{ratio:.3}** | {lo:.2}–{hi:.2} | {g} |",
            row.name,
            if row.pinned { "CPU 0" } else { "any" },
            fmt_ns(mn),
            fmt_ns(ml),
        );
    }
    md.push_str("\nWhat one op is:\n\n");
    for row in C_ROWS {
        let _ = writeln!(
            md,
            "- `{}`{}: {}.",
            row.name,
            if row.pinned { "" } else { " (unpinned)" },
            row.what
        );
    }

    // ---- memory
    md.push_str("\n## Memory per thread\n\n");
    let m = &c.mem;
    let (nvs, nrss) = (
        median(&m.native.iter().map(|p| p.0).collect::<Vec<_>>()),
        median(&m.native.iter().map(|p| p.1).collect::<Vec<_>>()),
    );
    let (lvs, lrss) = (
        median(&m.lintel.iter().map(|p| p.0).collect::<Vec<_>>()),
        median(&m.lintel.iter().map(|p| p.1).collect::<Vec<_>>()),
    );
    let _ = writeln!(
        md,
        "`bench mem {}` creates {} threads that stay blocked on a condition variable and reads \
         VmSize and VmRSS from `/proc/self/status` before and after (one thread is created \
         first so that one-time setup is not counted); medians of {} runs per build, in KiB \
         per thread. musl's own thread stack is {} KiB (its default) under both builds.\n",
        plan.mem_threads, plan.mem_threads, plan.mem_runs, m.stack_default_kib
    );
    md.push_str("| per thread | native (musl-gcc) | lintel (lintel-cc) | lintel's own |\n");
    md.push_str("| --- | --- | --- | --- |\n");
    let _ = writeln!(
        md,
        "| address space (VmSize) | {nvs:.1} KiB | {lvs:.1} KiB | **{:.1} KiB** |",
        lvs - nvs
    );
    let _ = writeln!(
        md,
        "| resident (VmRSS) | {nrss:.1} KiB | {lrss:.1} KiB | **{:.1} KiB** |",
        lrss - nrss
    );
    let _ = writeln!(
        md,
        "\nWhat lintel maps per thread (the host port, `host/src/tcb.rs`, `host/src/init.rs`): \
         the thread's record, **{} B of control block** plus a {} B ring of forwarded host \
         signals with their siginfo ({} B in all, carved from slabs of 64 records), and a \
         mapping of a PROT_NONE guard page and the thread's host signal stack (also lintel's \
         delivery and exit stack) of max(64 KiB, AT_MINSIGSTKSZ + 32 KiB) rounded to pages \
         (AT_MINSIGSTKSZ is {} B here). The thread's stack is musl's, mapped by musl through \
         lintel's passthrough `mmap`, the same as natively. Records are pooled, never \
         unmapped: a new thread reuses a dead thread's record; the signal stacks of dead \
         records beyond 16 are released before a fork. Only the pages a thread touches are \
         resident: its record, and the top of the signal stack once a signal or interrupt has \
         run on it.",
        lintel_host::RECORD_SIZE - lintel_host::ARRIVALS_SIZE,
        lintel_host::ARRIVALS_SIZE,
        lintel_host::RECORD_SIZE,
        m.minsigstksz
    );

    // ---- criterion
    md.push_str("\n## Rust level: lintel's futex table vs futex(2) vs parking_lot_core\n\n");
    md.push_str(
        "criterion (`benches/benches/futex.rs`, `benches/benches/scaling.rs`); medians of \
         criterion's samples, every implementation in the same invocation. lintel's threads \
         here are std threads adopted by the host port.\n\n",
    );
    md.push_str("| benchmark | setup | lintel | native futex(2) | parking_lot_core | lintel / native | goal |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for &(group, setup, goal, what) in GROUPS {
        let (Some(l), Some(n)) = (
            criterion_ns(&format!("{group}/lintel")),
            criterion_ns(&format!("{group}/native")),
        ) else {
            return Err(format!(
                "no criterion results for {group}: run the benchmarks first"
            ));
        };
        let p = criterion_ns(&format!("{group}/parking_lot_core")).map_or("–".into(), fmt_ns);
        let ratio = l / n;
        let g = goal_cell(ratio, goal, &mut missed, format!("criterion `{group}`"));
        let _ = writeln!(
            md,
            "| `{group}` ({what}) | {setup} | {} | {} | {p} | **{ratio:.3}** | {g} |",
            fmt_ns(l),
            fmt_ns(n)
        );
    }
    if let Some(l) = criterion_ns("wake_no_waiters/lintel_abi") {
        let n = criterion_ns("wake_no_waiters/native").unwrap_or(f64::NAN);
        let _ = writeln!(
            md,
            "\nThrough the raw ABI entry (`FutexTable::futex`, op decoding included), a wake with no waiters costs {} ({:.3} of native).",
            fmt_ns(l),
            l / n
        );
    }
    md.push_str("\n- `wake_no_waiters`: one thread calls wake on a private word nobody waits on. lintel's typed call, native `futex(FUTEX_WAKE_PRIVATE)`, parking_lot_core's `unpark_one`.\n");
    md.push_str("- `ping_pong_*`: two threads pass a token through one word; one iteration is a full round trip (two waits, two wakes).\n");

    md.push_str("\n### Scaling curves\n\n");
    md.push_str("- `scale_wake_threads/N`: N threads (unpinned) each wake their own word, nobody waiting; one iteration is one wake by every thread (wall time; with 2 CPUs, more than 2 threads share them).\n");
    md.push_str("- `scale_wake_all/N`: N waiters on one word; one iteration bumps the word, wakes all and waits until every waiter has seen it (unpinned).\n");
    md.push_str("- `scale_addresses/K`: K threads parked on K distinct words; one iteration is a wake on a word nobody waits on (rotating over 256 such words), pinned to CPU 0. Empty buckets take lintel's lock-free path; as the table fills, the wake takes the bucket lock and walks its chain. lintel's table has 256 buckets per CPU, like Linux's global hash; Linux 6.17+ gives each process its own private-futex hash instead.\n- Each thread these benchmarks spawn is adopted by the host port before use, one at a time (adoption is not measured).\n\n");
    for &Curve {
        group,
        params,
        file,
        title,
        x: xlabel,
        y: ylabel,
    } in CURVES
    {
        let mut series: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
        let _ = writeln!(md, "**{title}** ([plot]({file}))\n");
        let mut header = format!("| {xlabel} |");
        let mut rule = "| --- |".to_owned();
        for p in params {
            let _ = write!(header, " {p} |");
            rule.push_str(" --- |");
        }
        let _ = writeln!(md, "{header}\n{rule}");
        let mut values: BTreeMap<&str, Vec<Option<f64>>> = BTreeMap::new();
        for imp in IMPLS {
            let v: Vec<Option<f64>> = params
                .iter()
                .map(|p| criterion_ns(&format!("{group}/{imp}/{p}")))
                .collect();
            let pts: Vec<(f64, f64)> = params
                .iter()
                .zip(&v)
                .filter_map(|(p, v)| v.map(|v| (f64::from(*p), v)))
                .collect();
            if !pts.is_empty() {
                series.push((imp, pts));
            }
            let mut line = format!("| {imp} |");
            for x in &v {
                let _ = write!(line, " {} |", x.map_or("–".into(), fmt_ns));
            }
            let _ = writeln!(md, "{line}");
            values.insert(imp, v);
        }
        let mut line = "| lintel / native |".to_owned();
        for (l, n) in values["lintel"].iter().zip(&values["native"]) {
            match (l, n) {
                (Some(l), Some(n)) => {
                    let _ = write!(line, " {:.2} |", l / n);
                }
                _ => line.push_str(" – |"),
            }
        }
        let _ = writeln!(md, "{line}\n\n![{title}]({file})\n");
        if series.is_empty() {
            return Err(format!(
                "no criterion results for {group}: run the benchmarks first"
            ));
        }
        plot(&out.join(file), title, xlabel, ylabel, &series)?;
    }

    // ---- methodology and summary
    md.push_str("## Methodology\n\n");
    md.push_str("- One `cargo xtask bench` regenerates this file and the plots: criterion first, then the C level, then the memory measurement.\n");
    md.push_str("- C level: each run of `bench run ROW TARGET_MS SAMPLES` calibrates (doubling until a run takes a tenth of the target, then scaling to it; this also warms up), then prints one `sample ROW NS_PER_OP ITERS` line per sample. The contended-mutex rows are time-boxed instead (the threads lock and unlock until the sample's time is up, and the acquisitions are counted): how much two or four threads overlap on two CPUs varies from run to run, and with it the cost per acquisition by orders of magnitude, so a calibrated count could make one sample last minutes. The musl-gcc and lintel-cc builds alternate run by run, and which goes first alternates by round, so drift on the shared VM hits both.\n");
    md.push_str("- Pinned rows run under `taskset -c 0`; every thread inherits the mask, so the pinned ping-pong measures the software cost of a blocking handoff on one CPU. Unpinned rows (contention, cross-CPU wakeups) get more rounds because they are noisier.\n");
    md.push_str("- Under lintel-cc, musl's syscall entry is a function call into lintel (the lintel arch has no vDSO): futex, thread creation and the signal calls are emulated; everything else (mmap, read, `clock_gettime`, the host side of thread creation) is passed through to Linux by the host port, inside its restartable window.\n");
    md.push_str(
        "- Ratios are lintel / native; below 1 lintel is faster. Goals come from issue 6.\n",
    );
    if missed.is_empty() {
        md.push_str("\nEvery goal was met in this run.\n");
    } else {
        let _ = writeln!(
            md,
            "\nGoals missed in this run: {}. [performance.md](performance.md) has a profile of \
             each goal missed and what would close it.",
            missed.join(", ")
        );
    }

    let path = out.join("benchmarks.md");
    std::fs::write(&path, md).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("xtask: wrote {} in {took_s:.0} s", path.display());
    Ok(())
}
