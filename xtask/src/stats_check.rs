//! The ctest check `stats-report`: `tests-c/stats.c` built with `lintel-cc` and run with
//! `LINTEL_STATS=1` prints lintel's report (docs/stats.md) on stderr at exit, with the counts
//! the program's workload made; without it, no report.

use crate::root;
use crate::sysroot::{compile, execute_with, target};
use std::path::Path;

/// The lines of the report's section `title` (its heading excluded), up to the next section.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| !l.starts_with("lintel stats:"))
        .collect()
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.strip_prefix("0x")?, 16).ok()
}

/// `tests-c/stats.c`'s counts in the report; `Ok` with a summary, or what is wrong.
pub(crate) fn check(lintel_cc: &Path) -> Result<String, String> {
    let src = root().join("tests-c/stats.c");
    let exe = target().join("ctest/stats-report/stats");
    compile(lintel_cc, &src, &exe)?;
    let quiet = execute_with(&exe, 30, &[])?;
    if quiet.status != "exit 0" || quiet.stderr.contains("lintel") {
        return Err(format!(
            "without LINTEL_STATS: {}, stderr {:?}",
            quiet.status, quiet.stderr
        ));
    }
    let run = execute_with(&exe, 30, &[("LINTEL_STATS", "1")])?;
    let err = &run.stderr;
    let fail = |what: &str| Err(format!("{what}; stderr:\n{err}"));
    if run.status != "exit 0" || run.stdout != quiet.stdout {
        return fail(&format!("with LINTEL_STATS=1: {}", run.status));
    }
    // The program's own line: `stats: word 0x... slow 0x...`.
    let Some((word, slow)) = err.lines().find_map(|l| {
        let f: Vec<&str> = l.strip_prefix("stats: ")?.split_whitespace().collect();
        Some((hex(f.get(1)?)?, hex(f.get(3)?)?))
    }) else {
        return fail("the program's address line is missing");
    };
    if !err.contains("lintel: threads created 1,") {
        return fail("no `threads created 1` summary");
    }
    let calls = section(err, "lintel stats: syscall counts");
    if !calls
        .iter()
        .any(|l| l.split_whitespace().eq(["7", "110", "getppid"]))
    {
        return fail("no `7 110 getppid` row in the syscall counts");
    }
    // At least the program's own 8 waits and 3 timeouts (musl's join may wait too).
    let Some(waits) = err.lines().find_map(|l| {
        let rest = l.strip_prefix("  waits ")?;
        let (n, rest) = rest.split_once(": woken ")?;
        let timed = rest.split("timed out ").nth(1)?.split(',').next()?;
        let again = rest.split("EAGAIN ").nth(1)?.split(',').next()?;
        Some((
            n.parse::<u64>().ok()?,
            timed.parse::<u64>().ok()?,
            again.parse::<u64>().ok()?,
        ))
    }) else {
        return fail("no futex `waits` line");
    };
    if waits.0 < 8 || waits.1 < 3 || waits.2 < 5 {
        return fail(&format!(
            "futex waits {}, timed out {}, EAGAIN {}",
            waits.0, waits.1, waits.2
        ));
    }
    let rows: Vec<Vec<&str>> = section(err, "lintel stats: futex waits by address (top 10)")
        .iter()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let row = |a: u64| {
        rows.iter()
            .position(|r| r.first().and_then(|s| hex(s)) == Some(a))
    };
    match row(word) {
        Some(0) if rows[0].get(1) == Some(&"5") => {}
        _ => return fail(&format!("{word:#x} is not the top address with 5 waits")),
    }
    let Some(s) = row(slow) else {
        return fail(&format!("no row for {slow:#x}"));
    };
    let slow_ns = rows[s].get(2).and_then(|n| n.parse::<u64>().ok());
    if rows[s].get(1) != Some(&"3") || slow_ns.is_none_or(|ns| ns < 3_000_000) {
        return fail(&format!(
            "{slow:#x}: want 3 waits of at least 1 ms each, got {:?}",
            rows[s]
        ));
    }
    let sigs = section(err, "lintel stats: signals delivered");
    if !sigs
        .iter()
        .any(|l| l.split_whitespace().eq(["10", "SIGUSR1", "2"]))
    {
        return fail("no `10 SIGUSR1 2` row in the signals delivered");
    }
    Ok(format!(
        "getppid 7, top address 5 waits, 3 timed waits {} ns, SIGUSR1 2; {} report lines",
        slow_ns.unwrap_or(0),
        err.lines().filter(|l| !l.starts_with("stats: ")).count()
    ))
}
