//! `cargo xtask demo`: lintel's main job. A C program a user recognises (a parallel work queue
//! with a mutex, condition variables, joins and a detached thread) is built against musl twice:
//! with `lintel-cc`, so that every thread, lock and wait goes through lintel, and with Debian's
//! `musl-gcc`, so that it runs on Linux. Both run; the outputs must agree, and lintel reports
//! what it did (`LINTEL_STATS=1`).

use crate::root;
use crate::sysroot::{check_linked, compile, execute_with, sysroot, target};
use std::path::Path;

pub(crate) fn demo() -> Result<(), String> {
    let sr = sysroot()?;
    let src = root().join("examples-c/workqueue.c");
    let out = target().join("demo");
    let (lintel, native) = (out.join("workqueue-lintel"), out.join("workqueue-musl-gcc"));
    compile(&sr.lintel_cc, &src, &lintel)?;
    compile(Path::new("musl-gcc"), &src, &native)?;
    let sites = check_linked(&lintel)?;

    let on_lintel = execute_with(&lintel, 60, &[("LINTEL_STATS", "1")])?;
    let on_linux = execute_with(&native, 60, &[])?;

    println!("lintel demo: examples-c/workqueue.c, a work queue of 64 jobs on 4 worker threads");
    println!("(mutex, two condition variables, joins, a detached reporter thread)\n");
    println!(
        "── built with lintel-cc: musl 1.2.3 as the lintel arch, every syscall a call into lintel"
    );
    print!("{}", on_lintel.stdout);
    print!("{}", on_lintel.stderr);
    println!(
        "   {}, {:.0} ms",
        on_lintel.status,
        on_lintel.took.as_secs_f64() * 1e3
    );
    println!("\n── built with musl-gcc: the same program on Linux");
    print!("{}", on_linux.stdout);
    println!(
        "   {}, {:.0} ms",
        on_linux.status,
        on_linux.took.as_secs_f64() * 1e3
    );
    println!(
        "\nthe lintel binary has {sites} syscall instructions, all inside lintel's host-port section: \
         musl itself makes none."
    );
    if on_lintel.stdout != on_linux.stdout || on_lintel.status != on_linux.status {
        return Err("lintel and Linux disagree (see above)".into());
    }
    if !on_lintel.stderr.contains("lintel: threads created") {
        return Err("lintel printed no statistics (LINTEL_STATS=1)".into());
    }
    println!("same output on lintel and on Linux.");
    Ok(())
}
