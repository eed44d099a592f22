//! `docs/abi.md`'s last section, "Every syscall musl 1.2.3 can issue", kept honest.
//!
//! Each row of its table is checked against the dispatcher: the number is linux-raw-sys's
//! `__NR_` constant of that name, the route is [`lintel::table::route`]'s, the qualifiers of a
//! route (`held`, `mask`, `sleep`, `fast`, `signalfd`, `exec`) are exactly the special handling
//! the dispatcher gives that number, the musl users shown are among the extracted ones, and
//! every test the row names exists. When musl's build tree is there (`cargo xtask sysroot`
//! makes `target/musl-build`; `LINTEL_MUSL_BUILD` names another) the rows are also compared
//! with the syscalls musl's source can issue, extracted here: every C file musl builds for the
//! lintel64 arch (x86_64 plus lintel's overlay) is run through the preprocessor with each
//! `__NR_x`/`SYS_x` defined as a marker token, so the `#ifdef SYS_...` choices, the `SYS_x`
//! aliases of `src/internal/syscall.h` and the `socketcall` fallback (absent on x86_64) come out
//! as in a real build; x86_64's assembly files that contain a `syscall` instruction add the
//! numbers they move into `%rax`. A syscall missing from the table, or a row musl cannot issue,
//! fails the test, which then prints the rows to add with their route filled in.

use lintel::Lintel;
use lintel::table::{Route, ends_on_any_signal, route, sleep_args, temporary_mask_arg};
use lintel_futex::Bucket;
use lintel_host::{HOST, Host, Thread};
use lintel_kernel::Errno;
use linux_raw_sys::general as nr;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The heading of the section this test checks.
const HEADING: &str = "## Every syscall musl 1.2.3 can issue";

/// Every syscall name the table may hold, with linux-raw-sys's number for it (the compiler
/// checks that each constant exists). A new row needs its name here too.
const KNOWN: &[(&str, u32)] = &[
    ("read", nr::__NR_read),
    ("write", nr::__NR_write),
    ("open", nr::__NR_open),
    ("close", nr::__NR_close),
    ("stat", nr::__NR_stat),
    ("fstat", nr::__NR_fstat),
    ("lstat", nr::__NR_lstat),
    ("poll", nr::__NR_poll),
    ("lseek", nr::__NR_lseek),
    ("mmap", nr::__NR_mmap),
    ("mprotect", nr::__NR_mprotect),
    ("munmap", nr::__NR_munmap),
    ("brk", nr::__NR_brk),
    ("rt_sigaction", nr::__NR_rt_sigaction),
    ("rt_sigprocmask", nr::__NR_rt_sigprocmask),
    ("rt_sigreturn", nr::__NR_rt_sigreturn),
    ("ioctl", nr::__NR_ioctl),
    ("pread64", nr::__NR_pread64),
    ("pwrite64", nr::__NR_pwrite64),
    ("readv", nr::__NR_readv),
    ("writev", nr::__NR_writev),
    ("access", nr::__NR_access),
    ("pipe", nr::__NR_pipe),
    ("select", nr::__NR_select),
    ("sched_yield", nr::__NR_sched_yield),
    ("mremap", nr::__NR_mremap),
    ("msync", nr::__NR_msync),
    ("mincore", nr::__NR_mincore),
    ("madvise", nr::__NR_madvise),
    ("shmget", nr::__NR_shmget),
    ("shmat", nr::__NR_shmat),
    ("shmctl", nr::__NR_shmctl),
    ("dup", nr::__NR_dup),
    ("dup2", nr::__NR_dup2),
    ("pause", nr::__NR_pause),
    ("nanosleep", nr::__NR_nanosleep),
    ("getitimer", nr::__NR_getitimer),
    ("setitimer", nr::__NR_setitimer),
    ("getpid", nr::__NR_getpid),
    ("sendfile", nr::__NR_sendfile),
    ("socket", nr::__NR_socket),
    ("connect", nr::__NR_connect),
    ("accept", nr::__NR_accept),
    ("sendto", nr::__NR_sendto),
    ("recvfrom", nr::__NR_recvfrom),
    ("sendmsg", nr::__NR_sendmsg),
    ("recvmsg", nr::__NR_recvmsg),
    ("shutdown", nr::__NR_shutdown),
    ("bind", nr::__NR_bind),
    ("listen", nr::__NR_listen),
    ("getsockname", nr::__NR_getsockname),
    ("getpeername", nr::__NR_getpeername),
    ("socketpair", nr::__NR_socketpair),
    ("setsockopt", nr::__NR_setsockopt),
    ("getsockopt", nr::__NR_getsockopt),
    ("clone", nr::__NR_clone),
    ("fork", nr::__NR_fork),
    ("vfork", nr::__NR_vfork),
    ("execve", nr::__NR_execve),
    ("exit", nr::__NR_exit),
    ("wait4", nr::__NR_wait4),
    ("kill", nr::__NR_kill),
    ("uname", nr::__NR_uname),
    ("semget", nr::__NR_semget),
    ("semop", nr::__NR_semop),
    ("semctl", nr::__NR_semctl),
    ("shmdt", nr::__NR_shmdt),
    ("msgget", nr::__NR_msgget),
    ("msgsnd", nr::__NR_msgsnd),
    ("msgrcv", nr::__NR_msgrcv),
    ("msgctl", nr::__NR_msgctl),
    ("fcntl", nr::__NR_fcntl),
    ("flock", nr::__NR_flock),
    ("fsync", nr::__NR_fsync),
    ("fdatasync", nr::__NR_fdatasync),
    ("truncate", nr::__NR_truncate),
    ("ftruncate", nr::__NR_ftruncate),
    ("getcwd", nr::__NR_getcwd),
    ("chdir", nr::__NR_chdir),
    ("fchdir", nr::__NR_fchdir),
    ("rename", nr::__NR_rename),
    ("mkdir", nr::__NR_mkdir),
    ("rmdir", nr::__NR_rmdir),
    ("link", nr::__NR_link),
    ("unlink", nr::__NR_unlink),
    ("symlink", nr::__NR_symlink),
    ("readlink", nr::__NR_readlink),
    ("chmod", nr::__NR_chmod),
    ("fchmod", nr::__NR_fchmod),
    ("chown", nr::__NR_chown),
    ("fchown", nr::__NR_fchown),
    ("lchown", nr::__NR_lchown),
    ("umask", nr::__NR_umask),
    ("gettimeofday", nr::__NR_gettimeofday),
    ("getrlimit", nr::__NR_getrlimit),
    ("getrusage", nr::__NR_getrusage),
    ("sysinfo", nr::__NR_sysinfo),
    ("times", nr::__NR_times),
    ("ptrace", nr::__NR_ptrace),
    ("getuid", nr::__NR_getuid),
    ("syslog", nr::__NR_syslog),
    ("getgid", nr::__NR_getgid),
    ("setuid", nr::__NR_setuid),
    ("setgid", nr::__NR_setgid),
    ("geteuid", nr::__NR_geteuid),
    ("getegid", nr::__NR_getegid),
    ("setpgid", nr::__NR_setpgid),
    ("getppid", nr::__NR_getppid),
    ("setsid", nr::__NR_setsid),
    ("setreuid", nr::__NR_setreuid),
    ("setregid", nr::__NR_setregid),
    ("getgroups", nr::__NR_getgroups),
    ("setgroups", nr::__NR_setgroups),
    ("setresuid", nr::__NR_setresuid),
    ("getresuid", nr::__NR_getresuid),
    ("setresgid", nr::__NR_setresgid),
    ("getresgid", nr::__NR_getresgid),
    ("getpgid", nr::__NR_getpgid),
    ("setfsuid", nr::__NR_setfsuid),
    ("setfsgid", nr::__NR_setfsgid),
    ("getsid", nr::__NR_getsid),
    ("capget", nr::__NR_capget),
    ("capset", nr::__NR_capset),
    ("rt_sigpending", nr::__NR_rt_sigpending),
    ("rt_sigtimedwait", nr::__NR_rt_sigtimedwait),
    ("rt_sigqueueinfo", nr::__NR_rt_sigqueueinfo),
    ("rt_sigsuspend", nr::__NR_rt_sigsuspend),
    ("sigaltstack", nr::__NR_sigaltstack),
    ("mknod", nr::__NR_mknod),
    ("personality", nr::__NR_personality),
    ("statfs", nr::__NR_statfs),
    ("fstatfs", nr::__NR_fstatfs),
    ("getpriority", nr::__NR_getpriority),
    ("setpriority", nr::__NR_setpriority),
    ("sched_setparam", nr::__NR_sched_setparam),
    ("sched_getparam", nr::__NR_sched_getparam),
    ("sched_setscheduler", nr::__NR_sched_setscheduler),
    ("sched_getscheduler", nr::__NR_sched_getscheduler),
    ("sched_get_priority_max", nr::__NR_sched_get_priority_max),
    ("sched_get_priority_min", nr::__NR_sched_get_priority_min),
    ("sched_rr_get_interval", nr::__NR_sched_rr_get_interval),
    ("mlock", nr::__NR_mlock),
    ("munlock", nr::__NR_munlock),
    ("mlockall", nr::__NR_mlockall),
    ("munlockall", nr::__NR_munlockall),
    ("vhangup", nr::__NR_vhangup),
    ("pivot_root", nr::__NR_pivot_root),
    ("prctl", nr::__NR_prctl),
    ("arch_prctl", nr::__NR_arch_prctl),
    ("adjtimex", nr::__NR_adjtimex),
    ("setrlimit", nr::__NR_setrlimit),
    ("chroot", nr::__NR_chroot),
    ("sync", nr::__NR_sync),
    ("acct", nr::__NR_acct),
    ("mount", nr::__NR_mount),
    ("umount2", nr::__NR_umount2),
    ("swapon", nr::__NR_swapon),
    ("swapoff", nr::__NR_swapoff),
    ("reboot", nr::__NR_reboot),
    ("sethostname", nr::__NR_sethostname),
    ("setdomainname", nr::__NR_setdomainname),
    ("iopl", nr::__NR_iopl),
    ("ioperm", nr::__NR_ioperm),
    ("init_module", nr::__NR_init_module),
    ("delete_module", nr::__NR_delete_module),
    ("quotactl", nr::__NR_quotactl),
    ("gettid", nr::__NR_gettid),
    ("readahead", nr::__NR_readahead),
    ("setxattr", nr::__NR_setxattr),
    ("lsetxattr", nr::__NR_lsetxattr),
    ("fsetxattr", nr::__NR_fsetxattr),
    ("getxattr", nr::__NR_getxattr),
    ("lgetxattr", nr::__NR_lgetxattr),
    ("fgetxattr", nr::__NR_fgetxattr),
    ("listxattr", nr::__NR_listxattr),
    ("llistxattr", nr::__NR_llistxattr),
    ("flistxattr", nr::__NR_flistxattr),
    ("removexattr", nr::__NR_removexattr),
    ("lremovexattr", nr::__NR_lremovexattr),
    ("fremovexattr", nr::__NR_fremovexattr),
    ("tkill", nr::__NR_tkill),
    ("futex", nr::__NR_futex),
    ("sched_setaffinity", nr::__NR_sched_setaffinity),
    ("sched_getaffinity", nr::__NR_sched_getaffinity),
    ("epoll_create", nr::__NR_epoll_create),
    ("remap_file_pages", nr::__NR_remap_file_pages),
    ("getdents64", nr::__NR_getdents64),
    ("set_tid_address", nr::__NR_set_tid_address),
    ("semtimedop", nr::__NR_semtimedop),
    ("fadvise64", nr::__NR_fadvise64),
    ("timer_create", nr::__NR_timer_create),
    ("timer_settime", nr::__NR_timer_settime),
    ("timer_gettime", nr::__NR_timer_gettime),
    ("timer_getoverrun", nr::__NR_timer_getoverrun),
    ("timer_delete", nr::__NR_timer_delete),
    ("clock_settime", nr::__NR_clock_settime),
    ("clock_gettime", nr::__NR_clock_gettime),
    ("clock_getres", nr::__NR_clock_getres),
    ("clock_nanosleep", nr::__NR_clock_nanosleep),
    ("exit_group", nr::__NR_exit_group),
    ("epoll_wait", nr::__NR_epoll_wait),
    ("epoll_ctl", nr::__NR_epoll_ctl),
    ("utimes", nr::__NR_utimes),
    ("mq_open", nr::__NR_mq_open),
    ("mq_unlink", nr::__NR_mq_unlink),
    ("mq_timedsend", nr::__NR_mq_timedsend),
    ("mq_timedreceive", nr::__NR_mq_timedreceive),
    ("mq_notify", nr::__NR_mq_notify),
    ("mq_getsetattr", nr::__NR_mq_getsetattr),
    ("waitid", nr::__NR_waitid),
    ("inotify_init", nr::__NR_inotify_init),
    ("inotify_add_watch", nr::__NR_inotify_add_watch),
    ("inotify_rm_watch", nr::__NR_inotify_rm_watch),
    ("openat", nr::__NR_openat),
    ("mkdirat", nr::__NR_mkdirat),
    ("mknodat", nr::__NR_mknodat),
    ("fchownat", nr::__NR_fchownat),
    ("futimesat", nr::__NR_futimesat),
    ("newfstatat", nr::__NR_newfstatat),
    ("unlinkat", nr::__NR_unlinkat),
    ("renameat", nr::__NR_renameat),
    ("linkat", nr::__NR_linkat),
    ("symlinkat", nr::__NR_symlinkat),
    ("readlinkat", nr::__NR_readlinkat),
    ("fchmodat", nr::__NR_fchmodat),
    ("faccessat", nr::__NR_faccessat),
    ("pselect6", nr::__NR_pselect6),
    ("ppoll", nr::__NR_ppoll),
    ("unshare", nr::__NR_unshare),
    ("set_robust_list", nr::__NR_set_robust_list),
    ("get_robust_list", nr::__NR_get_robust_list),
    ("splice", nr::__NR_splice),
    ("tee", nr::__NR_tee),
    ("sync_file_range", nr::__NR_sync_file_range),
    ("vmsplice", nr::__NR_vmsplice),
    ("utimensat", nr::__NR_utimensat),
    ("epoll_pwait", nr::__NR_epoll_pwait),
    ("signalfd", nr::__NR_signalfd),
    ("timerfd_create", nr::__NR_timerfd_create),
    ("eventfd", nr::__NR_eventfd),
    ("fallocate", nr::__NR_fallocate),
    ("timerfd_settime", nr::__NR_timerfd_settime),
    ("timerfd_gettime", nr::__NR_timerfd_gettime),
    ("accept4", nr::__NR_accept4),
    ("signalfd4", nr::__NR_signalfd4),
    ("eventfd2", nr::__NR_eventfd2),
    ("epoll_create1", nr::__NR_epoll_create1),
    ("dup3", nr::__NR_dup3),
    ("pipe2", nr::__NR_pipe2),
    ("inotify_init1", nr::__NR_inotify_init1),
    ("preadv", nr::__NR_preadv),
    ("pwritev", nr::__NR_pwritev),
    ("recvmmsg", nr::__NR_recvmmsg),
    ("fanotify_init", nr::__NR_fanotify_init),
    ("fanotify_mark", nr::__NR_fanotify_mark),
    ("prlimit64", nr::__NR_prlimit64),
    ("name_to_handle_at", nr::__NR_name_to_handle_at),
    ("open_by_handle_at", nr::__NR_open_by_handle_at),
    ("clock_adjtime", nr::__NR_clock_adjtime),
    ("syncfs", nr::__NR_syncfs),
    ("setns", nr::__NR_setns),
    ("getcpu", nr::__NR_getcpu),
    ("process_vm_readv", nr::__NR_process_vm_readv),
    ("process_vm_writev", nr::__NR_process_vm_writev),
    ("getrandom", nr::__NR_getrandom),
    ("memfd_create", nr::__NR_memfd_create),
    ("execveat", nr::__NR_execveat),
    ("membarrier", nr::__NR_membarrier),
    ("mlock2", nr::__NR_mlock2),
    ("copy_file_range", nr::__NR_copy_file_range),
    ("statx", nr::__NR_statx),
    ("faccessat2", nr::__NR_faccessat2),
];

fn number_of(name: &str) -> Option<usize> {
    KNOWN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, v)| v as usize)
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("lintel/ is in the workspace")
        .to_owned()
}

/// One row of the table.
#[derive(Clone, Debug)]
struct Row {
    name: String,
    nr: usize,
    /// The musl users shown, and how many more the cell says there are (`(+N)`).
    users: Vec<String>,
    more: usize,
    route: String,
    test: String,
}

/// Backquoted items of a cell, in order.
fn quoted(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The rows of the section's table, and the count the section's text states
/// ("**N** syscalls").
fn rows(doc: &str) -> Result<(Vec<Row>, Option<usize>), String> {
    let (_, section) = doc
        .split_once(HEADING)
        .ok_or_else(|| format!("docs/abi.md has no section {HEADING:?}"))?;
    let section = section.split("\n## ").next().unwrap_or(section);
    let stated = section
        .split("**")
        .nth(1)
        .and_then(|s| s.trim().parse::<usize>().ok());
    let mut out = Vec::new();
    let mut in_table = false;
    for line in section.lines() {
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        if line.starts_with("| syscall") || line.starts_with("| ---") {
            in_table = true;
            continue;
        }
        in_table = true;
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [name, number, users, route, test] = cells[..] else {
            return Err(format!("a row needs 5 cells: {line}"));
        };
        let name = quoted(name)
            .into_iter()
            .next()
            .ok_or_else(|| format!("no `name` in {line}"))?;
        let nr = number
            .parse()
            .map_err(|_| format!("{name}: bad number {number:?}"))?;
        let more = match users.rsplit_once("(+") {
            Some((_, n)) => n
                .trim_end_matches(')')
                .parse()
                .map_err(|_| format!("{name}: bad user count in {users:?}"))?,
            None => 0,
        };
        out.push(Row {
            name,
            nr,
            users: quoted(users),
            more,
            route: route.to_owned(),
            test: test.to_owned(),
        });
    }
    if out.is_empty() {
        return Err("the section has no table rows".into());
    }
    Ok((out, stated))
}

/// The dispatcher's special handling of a passed-through number, as the route cell's
/// qualifiers name it.
fn qualifiers(n: usize) -> BTreeSet<&'static str> {
    let mut q = BTreeSet::new();
    if ends_on_any_signal(n) {
        q.insert("held");
    }
    if temporary_mask_arg(n).is_some() {
        q.insert("mask");
    }
    if sleep_args(n, &[0; 6]).is_some() {
        q.insert("sleep");
    }
    // Answered by the front door's fast path: asked with CLOCK_MONOTONIC and a valid buffer.
    let mut ts = [0u64; 2];
    let a = [1, ts.as_mut_ptr() as usize, 0, 0, 0, 0];
    if lintel().fast_call(n, &a).is_some() {
        q.insert("fast");
    }
    // `Lintel::passthrough_once`'s own cases: a signalfd's read and close, the exec hand-over.
    if n == nr::__NR_read as usize || n == nr::__NR_close as usize {
        q.insert("signalfd");
    }
    if n == nr::__NR_execve as usize || n == nr::__NR_execveat as usize {
        q.insert("exec");
    }
    q
}

fn lintel() -> Lintel<'static, Host> {
    static BUCKETS: std::sync::OnceLock<Vec<Bucket<Thread>>> = std::sync::OnceLock::new();
    Lintel::new(
        &HOST,
        BUCKETS.get_or_init(|| (0..16).map(|_| Bucket::new()).collect()),
    )
}

/// The route a cell claims: the text before any parenthesis, `route[; qualifier, ...]`.
fn claimed(cell: &str) -> Result<(Route, BTreeSet<String>), String> {
    let head = cell.split(" (").next().unwrap_or(cell).trim();
    let (main, quals) = match head.split_once(';') {
        Some((m, q)) => (m.trim(), q),
        None => (head, ""),
    };
    let quals = quals
        .split(',')
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned)
        .collect();
    let r = match main {
        "emulated" => Route::Emulated,
        "signal layer" => Route::Signal,
        "timer service" => Route::Timer,
        "passed through" => Route::Passthrough,
        m if m.starts_with("as `") => {
            let other = &quoted(m)[0];
            Route::As(number_of(other).ok_or_else(|| format!("unknown syscall {other}"))?)
        }
        m if m.starts_with("refused `") => Route::Refused(match quoted(m)[0].as_str() {
            "ENOSYS" => Errno::ENOSYS,
            "EINVAL" => Errno::EINVAL,
            "EPERM" => Errno::EPERM,
            e => return Err(format!("unknown errno {e}")),
        }),
        m => return Err(format!("unknown route {m:?}")),
    };
    Ok((r, quals))
}

/// Whether the test `name` of kind `kind` exists.
fn test_exists(kind: &str, name: &str) -> Result<bool, String> {
    let has_fn = |files: &[PathBuf]| {
        files
            .iter()
            .any(|f| std::fs::read_to_string(f).is_ok_and(|s| s.contains(&format!("fn {name}("))))
    };
    let r = root();
    Ok(match kind {
        "C" => r.join("tests-c").join(format!("{name}.c")).is_file(),
        "dispatch" | "signal_calls" => has_fn(&[r.join("lintel/tests").join(format!("{kind}.rs"))]),
        "clone" => has_fn(&[
            r.join("clone/tests/threads.rs"),
            r.join("clone/tests/robust.rs"),
        ]),
        k => {
            return Err(format!(
                "unknown kind of test {k:?} (C, dispatch, signal_calls, clone)"
            ));
        }
    })
}

/// Everything a row claims that can be checked without musl's source.
fn check_row(row: &Row) -> Result<(), String> {
    let name = &row.name;
    let n = number_of(name).ok_or_else(|| {
        format!("{name}: not in this test's KNOWN list (linux-raw-sys's numbers)")
    })?;
    if n != row.nr {
        return Err(format!(
            "{name}: the row says {}, linux-raw-sys's __NR_{name} is {n}",
            row.nr
        ));
    }
    let (r, quals) = claimed(&row.route).map_err(|e| format!("{name}: {e}"))?;
    if r != route(n) {
        return Err(format!(
            "{name}: the row says {r:?}, route({n}) is {:?}",
            route(n)
        ));
    }
    let want: BTreeSet<String> = qualifiers(n).into_iter().map(str::to_owned).collect();
    if quals != want {
        return Err(format!(
            "{name}: the row's qualifiers are {quals:?}, the dispatcher's {want:?}"
        ));
    }
    if row.test.trim() != "route only" {
        for seg in row.test.split(';') {
            let seg = seg.trim();
            let kind = seg.split_whitespace().next().unwrap_or("");
            let names = quoted(seg);
            if names.is_empty() {
                return Err(format!("{name}: no test named in {seg:?}"));
            }
            for t in names {
                if !test_exists(kind, &t)? {
                    return Err(format!("{name}: no {kind} test {t}"));
                }
            }
        }
    }
    Ok(())
}

fn doc() -> String {
    std::fs::read_to_string(root().join("docs/abi.md")).expect("docs/abi.md")
}

#[test]
fn every_row_matches_the_dispatcher() {
    let (rows, stated) = rows(&doc()).unwrap();
    let mut errors = Vec::new();
    for row in &rows {
        if let Err(e) = check_row(row) {
            errors.push(e);
        }
    }
    let mut seen = BTreeSet::new();
    for w in rows.windows(2) {
        if w[0].nr >= w[1].nr {
            errors.push(format!(
                "rows out of order: {} before {}",
                w[0].name, w[1].name
            ));
        }
    }
    for row in &rows {
        if !seen.insert(&row.name) {
            errors.push(format!("{} twice", row.name));
        }
    }
    if stated != Some(rows.len()) {
        errors.push(format!(
            "the section states {stated:?} syscalls; its table has {}",
            rows.len()
        ));
    }
    assert!(
        errors.is_empty(),
        "docs/abi.md, {HEADING}:\n{}",
        errors.join("\n")
    );
}

#[test]
fn a_wrong_row_is_caught() {
    let (rows, _) = rows(&doc()).unwrap();
    let pick = |name: &str| rows.iter().find(|r| r.name == name).unwrap().clone();
    // Each of these edits makes a true row false; the check must say so.
    let mut r = pick("futex");
    r.route = "passed through".into();
    assert!(check_row(&r).is_err());
    let mut r = pick("getpid");
    r.route = "emulated".into();
    assert!(check_row(&r).is_err());
    let mut r = pick("nanosleep");
    r.route = "passed through; held".into();
    assert!(check_row(&r).is_err(), "a missing qualifier");
    let mut r = pick("write");
    r.route = "passed through; held".into();
    assert!(check_row(&r).is_err(), "a qualifier that is not so");
    let mut r = pick("vfork");
    r.route = "as `clone`".into();
    assert!(check_row(&r).is_err());
    let mut r = pick("read");
    r.nr = 1;
    assert!(check_row(&r).is_err());
    let mut r = pick("kill");
    r.test = "C `no_such_test`".into();
    assert!(check_row(&r).is_err());
    let mut r = pick("kill");
    r.test = "signal_calls `no_such_function`".into();
    assert!(check_row(&r).is_err());
}

// ---------------------------------------------------------------------------------------------
// The extraction from musl's source

/// musl's configured build tree (`cargo xtask sysroot`), if there is one.
fn musl_build() -> Option<PathBuf> {
    let dir = std::env::var_os("LINTEL_MUSL_BUILD")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/musl-build"));
    let ok = dir.join("arch/lintel64/bits/syscall.h.in").is_file()
        && dir.join("obj/include/bits/alltypes.h").is_file();
    ok.then_some(dir)
}

/// Files of `dir` whose names end with one of `exts`, sorted.
fn files(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && exts.iter().any(|x| p.to_string_lossy().ends_with(x)))
        .collect();
    v.sort();
    v
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// A user's name: a C file's stem (musl names its files after the function), a header or
/// an assembly file by its file name.
fn user(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    base.strip_suffix(".c").unwrap_or(base).to_owned()
}

/// Every syscall musl's source can issue: name -> (number, users).
fn extract(build: &Path) -> BTreeMap<String, (usize, BTreeSet<String>)> {
    // musl's own numbers for the arch.
    let header = std::fs::read_to_string(build.join("arch/lintel64/bits/syscall.h.in")).unwrap();
    let mut numbers = BTreeMap::new();
    for l in header.lines() {
        let mut w = l.split_whitespace();
        if let (Some("#define"), Some(name), Some(v)) = (w.next(), w.next(), w.next()) {
            if let (Some(name), Ok(v)) = (name.strip_prefix("__NR_"), v.parse::<usize>()) {
                numbers.insert(name.to_owned(), v);
            }
        }
    }
    assert!(
        numbers.len() > 300,
        "musl's syscall.h.in: {} numbers",
        numbers.len()
    );
    // A bits/syscall.h that defines every name as a marker, found before the real one.
    let marker = std::env::temp_dir().join(format!("lintel-abi-{}", std::process::id()));
    std::fs::create_dir_all(marker.join("bits")).unwrap();
    let mut defs = String::new();
    for name in numbers.keys() {
        defs.push_str(&format!(
            "#define __NR_{name} LINTELNR_{name}\n#define SYS_{name} LINTELNR_{name}\n"
        ));
    }
    std::fs::write(marker.join("bits/syscall.h"), defs).unwrap();

    // The sources musl's Makefile builds into libc.a and the crt files: src/*/*.c and
    // src/malloc/mallocng/*.c and crt/*.c, each replaced by a file of the same stem in the
    // directory's lintel64/ subdirectory.
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(build.join("src"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs.push(build.join("src/malloc/mallocng"));
    dirs.push(build.join("crt"));
    let mut c = Vec::new();
    let mut asm = Vec::new();
    for d in &dirs {
        let arch = files(&d.join("lintel64"), &[".c", ".s", ".S"]);
        let replaced: BTreeSet<String> = arch.iter().map(|p| stem(p)).collect();
        for f in files(d, &[".c"]) {
            if !replaced.contains(&stem(&f)) {
                c.push(f);
            }
        }
        for f in arch {
            if f.extension().is_some_and(|e| e == "c") {
                c.push(f);
            } else {
                asm.push(f);
            }
        }
    }
    assert!(c.len() > 1000, "{} C files in {}", c.len(), build.display());

    let mut found: BTreeMap<String, (usize, BTreeSet<String>)> = BTreeMap::new();
    let mut add = |name: &str, file: &str| {
        let n = numbers[name];
        found
            .entry(name.to_owned())
            .or_insert_with(|| (n, BTreeSet::new()))
            .1
            .insert(user(file));
    };
    for chunk in c.chunks(200) {
        let out = Command::new("gcc")
            .current_dir(build)
            .args([
                "-E",
                "-std=c99",
                "-nostdinc",
                "-ffreestanding",
                "-D_XOPEN_SOURCE=700",
                "-Os",
            ])
            .arg(format!("-I{}", marker.display()))
            .args([
                "-Iarch/lintel64",
                "-Iarch/generic",
                "-Iobj/src/internal",
                "-Isrc/include",
                "-Isrc/internal",
                "-Iobj/include",
                "-Iinclude",
            ])
            .args(chunk)
            .output()
            .expect("gcc");
        assert!(
            out.status.success(),
            "gcc -E failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        // Line markers (`# 12 "src/thread/pthread_create.c" 2`) say which file a line came
        // from: a macro's expansion belongs to the file that uses it, an inline function's
        // body to its header.
        let mut file = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                if let Some(f) = rest.split('"').nth(1) {
                    file = f.to_owned();
                }
                continue;
            }
            for piece in line.split("LINTELNR_").skip(1) {
                let name: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                add(&name, &file);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&marker);

    // lintel64's own assembly makes no syscall: every call is a jump into liblintel.
    for f in &asm {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            !text
                .lines()
                .any(|l| l.split_whitespace().next() == Some("syscall")),
            "{} has a syscall instruction",
            f.display()
        );
    }
    // x86_64's assembly (which lintel64's replaces with those jumps): the numbers moved into
    // %rax/%eax/%al by a file that contains a `syscall` instruction.
    for d in dirs.iter().map(|d| d.join("x86_64")) {
        for f in files(&d, &[".s", ".S"]) {
            let text = std::fs::read_to_string(&f).unwrap();
            if !text
                .lines()
                .any(|l| l.split_whitespace().next() == Some("syscall"))
            {
                continue;
            }
            for l in text.lines() {
                let l = l.split("/*").next().unwrap_or(l);
                let mut w = l.split_whitespace();
                let (Some(op), Some(args)) = (w.next(), w.next()) else {
                    continue;
                };
                if !matches!(op, "mov" | "movl" | "movq") {
                    continue;
                }
                let args: String = std::iter::once(args).chain(w).collect();
                let Some((src, dst)) = args.split_once(',') else {
                    continue;
                };
                if let (Some(v), "%rax" | "%eax" | "%al") = (src.strip_prefix('$'), dst) {
                    let v: usize = v.parse().unwrap();
                    let name = numbers
                        .iter()
                        .find(|&(_, &n)| n == v)
                        .map(|(k, _)| k.clone())
                        .unwrap();
                    let base = f.file_name().unwrap().to_string_lossy().into_owned();
                    add(&name, &base);
                }
            }
        }
    }
    found
}

/// A table row for `name`, as a start for the doc (its test column to be filled in).
fn suggested(name: &str, n: usize, users: &BTreeSet<String>) -> String {
    let route = match route(n) {
        Route::Emulated => "emulated".to_owned(),
        Route::Signal => "signal layer".to_owned(),
        Route::Timer => "timer service".to_owned(),
        Route::As(o) => format!("as syscall {o}"),
        Route::Refused(e) => format!("refused {e:?}"),
        Route::Passthrough => {
            let q: Vec<&str> = qualifiers(n).into_iter().collect();
            if q.is_empty() {
                "passed through".to_owned()
            } else {
                format!("passed through; {}", q.join(", "))
            }
        }
    };
    let shown: Vec<String> = users.iter().take(3).map(|u| format!("`{u}`")).collect();
    let more = if users.len() > 3 {
        format!(" (+{})", users.len() - 3)
    } else {
        String::new()
    };
    format!(
        "| `{name}` | {n} | {}{more} | {route} | route only |",
        shown.join(", ")
    )
}

#[test]
fn the_rows_are_the_syscalls_musl_can_issue() {
    let Some(build) = musl_build() else {
        eprintln!(
            "abi_table: no musl build tree (run `cargo xtask sysroot`): the rows were checked \
             against the dispatcher only"
        );
        return;
    };
    let found = extract(&build);
    let (rows, _) = rows(&doc()).unwrap();
    let mut errors = Vec::new();
    let in_doc: BTreeSet<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    for (name, (n, users)) in &found {
        if !in_doc.contains(name.as_str()) {
            errors.push(format!("missing: {}", suggested(name, *n, users)));
        }
    }
    for row in &rows {
        let Some((n, users)) = found.get(&row.name) else {
            errors.push(format!("{}: musl does not issue it", row.name));
            continue;
        };
        if *n != row.nr {
            errors.push(format!(
                "{}: musl's number is {n}, the row's {}",
                row.name, row.nr
            ));
        }
        for u in &row.users {
            if !users.contains(u) {
                errors.push(format!(
                    "{}: {u} is not among its musl users {users:?}",
                    row.name
                ));
            }
        }
        if row.users.len() + row.more != users.len() {
            errors.push(format!(
                "{}: the row counts {} users, musl has {}: {users:?}",
                row.name,
                row.users.len() + row.more,
                users.len()
            ));
        }
    }
    if rows.len() != found.len() {
        errors.push(format!(
            "the table has {} rows; musl can issue {} syscalls",
            rows.len(),
            found.len()
        ));
    }
    assert!(
        errors.is_empty(),
        "docs/abi.md, {HEADING}:\n{}",
        errors.join("\n")
    );
}
