//! `docs/abi.md`'s last section, "Every syscall musl 1.2.3 can issue", kept honest.
//!
//! Each row of its table is checked against the dispatcher: the number is linux-raw-sys's
//! `__NR_` constant of that name, the route is [`lintel::table::route`]'s, the qualifiers of a
//! route (`held`, `mask`, `sleep`, `fast`, `signalfd`, `exec`, `tid`, `pi`) are exactly the special handling
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
//!
//! [`pass_through_calls`] makes most of the passed-through calls through lintel and natively and
//! compares them; a row names that test exactly when the test makes its number.

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
    // dup2/dup3 onto a signalfd's number forget it (`signalfd_replaced`).
    if [nr::__NR_read, nr::__NR_close, nr::__NR_dup2, nr::__NR_dup3].contains(&(n as u32)) {
        q.insert("signalfd");
    }
    if n == nr::__NR_prctl as usize {
        q.insert("tid");
    }
    if n == nr::__NR_execve as usize || n == nr::__NR_execveat as usize {
        q.insert("exec");
    }
    // A successful priority change moves a PI waiter (`Lintel::priority_changed`).
    if [
        nr::__NR_sched_setscheduler,
        nr::__NR_sched_setparam,
        nr::__NR_sched_setattr,
    ]
    .contains(&(n as u32))
    {
        q.insert("pi");
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
        "dispatch" | "signal_calls" | "abi_table" => {
            has_fn(&[r.join("lintel/tests").join(format!("{kind}.rs"))])
        }
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

/// Everything a row claims that can be checked without musl's source. `made`: the numbers
/// [`pass_through_calls`] makes through lintel (a row of one of them must name it, and only
/// those rows may).
fn check_row(row: &Row, made: &BTreeSet<usize>) -> Result<(), String> {
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
    let mine = format!("abi_table `{OWN_TEST}`");
    if row.test.contains("abi_table") != made.contains(&n) {
        return Err(if made.contains(&n) {
            format!("{name}: {OWN_TEST} makes it through lintel: the row should say {mine}")
        } else {
            format!("{name}: {OWN_TEST} does not make it")
        });
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
    let made = pass_through_calls();
    let mut errors = Vec::new();
    for row in &rows {
        if let Err(e) = check_row(row, &made) {
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
    let made = pass_through_calls();
    let check_row = |r: &Row| check_row(r, &made);
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
    let mut r = pick("getppid");
    r.test = "route only".into();
    assert!(
        check_row(&r).is_err(),
        "a call the test makes is not route only"
    );
    let mut r = pick("reboot");
    r.test = format!("abi_table `{OWN_TEST}`");
    assert!(check_row(&r).is_err(), "a call the test does not make");
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

// ---------------------------------------------------------------------------------------------
// Passed-through calls made through lintel

/// Makes calls through lintel (a dispatcher without a signal layer: every call below takes its
/// route, `passed through`) and the same calls natively, and compares them.
struct Both {
    /// The numbers made through lintel.
    seen: BTreeSet<usize>,
}

fn native(n: i64, a: [usize; 6]) -> isize {
    // SAFETY: callers pass arguments valid for the syscall.
    let r = unsafe { libc::syscall(n, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 {
        -(std::io::Error::last_os_error().raw_os_error().unwrap() as isize)
    } else {
        r as isize
    }
}

impl Both {
    /// The call through lintel.
    fn l(&mut self, n: i64, a: [usize; 6]) -> isize {
        assert_eq!(route(n as usize), Route::Passthrough, "syscall {n}");
        self.seen.insert(n as usize);
        // SAFETY: callers pass arguments valid for the syscall.
        unsafe { lintel().syscall(n as usize, a) }
    }

    /// The call through lintel and natively: the same result.
    fn same(&mut self, n: i64, a: [usize; 6]) -> isize {
        let x = self.l(n, a);
        assert_eq!(x, native(n, a), "syscall {n} {a:x?}");
        x
    }

    /// Both succeed (values may differ: new descriptors, times), or fail with the same errno.
    fn alike(&mut self, n: i64, a: [usize; 6]) -> isize {
        let x = self.l(n, a);
        let y = native(n, a);
        assert!(
            x == y || (x >= 0 && y >= 0),
            "syscall {n}: lintel {x}, native {y}"
        );
        x
    }

    /// A call that writes `len` bytes at `args(buf)[..]`'s buffer: the same result and bytes
    /// (the first `cmp` of them).
    fn same_buf(&mut self, n: i64, len: usize, cmp: usize, args: impl Fn(usize) -> [usize; 6]) {
        let mut a = vec![0u8; len];
        let mut b = vec![0u8; len];
        let x = self.l(n, args(a.as_mut_ptr() as usize));
        let y = native(n, args(b.as_mut_ptr() as usize));
        assert_eq!(x, y, "syscall {n}");
        assert_eq!(a[..cmp], b[..cmp], "syscall {n}: the bytes written");
    }
}

fn cstr(s: &str) -> std::ffi::CString {
    std::ffi::CString::new(s).unwrap()
}

/// Every passed-through call below is made through lintel and natively; returns the numbers
/// made through lintel.
fn pass_through_calls() -> BTreeSet<usize> {
    use libc::*;
    // Three tests run this at once; process-wide settings (the umask, limits) are changed
    // and put back by one at a time.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut t = Both {
        seen: BTreeSet::new(),
    };
    let p = |s: &std::ffi::CString| s.as_ptr() as usize;
    let bad = usize::MAX >> 1; // a descriptor nobody has

    // Identity and limits: the same values.
    for n in [
        SYS_getpid,
        SYS_getppid,
        SYS_getuid,
        SYS_geteuid,
        SYS_getgid,
        SYS_getegid,
    ] {
        t.same(n, [0; 6]);
    }
    t.same(SYS_getpgid, [0; 6]);
    t.same(SYS_getsid, [0; 6]);
    t.same(SYS_getgroups, [0; 6]);
    t.same_buf(SYS_getresuid, 12, 12, |b| [b, b + 4, b + 8, 0, 0, 0]);
    t.same_buf(SYS_getresgid, 12, 12, |b| [b, b + 4, b + 8, 0, 0, 0]);
    t.same_buf(SYS_uname, 390, 390, |b| [b, 0, 0, 0, 0, 0]);
    t.same_buf(SYS_getcwd, 4096, 4096, |b| [b, 4096, 0, 0, 0, 0]);
    t.same_buf(SYS_getrlimit, 16, 16, |b| {
        [RLIMIT_NOFILE as usize, b, 0, 0, 0, 0]
    });
    t.same_buf(SYS_prlimit64, 16, 16, |b| {
        [0, RLIMIT_NOFILE as usize, 0, b, 0, 0]
    });
    t.alike(
        SYS_getrusage,
        [0, vec![0u8; 144].leak().as_mut_ptr() as usize, 0, 0, 0, 0],
    );
    t.alike(
        SYS_sysinfo,
        [vec![0u8; 112].leak().as_mut_ptr() as usize, 0, 0, 0, 0, 0],
    );
    t.alike(SYS_times, [0; 6]);
    t.same(SYS_getpriority, [PRIO_PROCESS as usize, 0, 0, 0, 0, 0]);
    t.same(SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]);
    t.same_buf(SYS_prctl, 16, 16, |b| [PR_GET_NAME as usize, b, 0, 0, 0, 0]);
    let hdr = [0x2008_0522u32, 0];
    t.same_buf(SYS_capget, 24, 24, |b| {
        [hdr.as_ptr() as usize, b, 0, 0, 0, 0]
    });
    t.same(SYS_sched_getscheduler, [0; 6]);
    t.same_buf(SYS_sched_getparam, 4, 4, |b| [0, b, 0, 0, 0, 0]);
    t.same(
        SYS_sched_get_priority_max,
        [SCHED_FIFO as usize, 0, 0, 0, 0, 0],
    );
    t.same(
        SYS_sched_get_priority_min,
        [SCHED_FIFO as usize, 0, 0, 0, 0, 0],
    );
    t.same(SYS_sched_rr_get_interval, [0, 8, 0, 0, 0, 0]); // EFAULT
    t.same_buf(SYS_sched_getaffinity, 128, 128, |b| [0, 128, b, 0, 0, 0]);
    t.same(SYS_sched_yield, [0; 6]);
    t.alike(SYS_getcpu, [0; 6]);
    t.same(
        SYS_getrandom,
        [vec![0u8; 16].leak().as_mut_ptr() as usize, 16, 0, 0, 0, 0],
    );
    t.same_buf(SYS_clock_getres, 16, 16, |b| {
        [CLOCK_MONOTONIC as usize, b, 0, 0, 0, 0]
    });
    t.alike(
        SYS_gettimeofday,
        [vec![0u8; 16].leak().as_mut_ptr() as usize, 0, 0, 0, 0, 0],
    );
    t.alike(
        SYS_clock_gettime,
        [
            CLOCK_REALTIME as usize,
            vec![0u8; 16].leak().as_mut_ptr() as usize,
            0,
            0,
            0,
            0,
        ],
    );

    // Paths.
    let root = cstr("/");
    let exe = cstr("/proc/self/exe");
    t.same(SYS_access, [p(&root), R_OK as usize, 0, 0, 0, 0]);
    t.same(
        SYS_faccessat,
        [AT_FDCWD as usize, p(&root), R_OK as usize, 0, 0, 0],
    );
    t.same(
        SYS_faccessat2,
        [AT_FDCWD as usize, p(&root), R_OK as usize, 0, 0, 0],
    );
    t.same_buf(SYS_stat, 144, 16, |b| [p(&root), b, 0, 0, 0, 0]);
    t.same_buf(SYS_lstat, 144, 16, |b| [p(&root), b, 0, 0, 0, 0]);
    t.same_buf(SYS_newfstatat, 144, 16, |b| {
        [AT_FDCWD as usize, p(&root), b, 0, 0, 0]
    });
    t.same_buf(SYS_statx, 256, 0, |b| {
        [AT_FDCWD as usize, p(&root), 0, STATX_INO as usize, b, 0]
    });
    t.same_buf(SYS_readlink, 4096, 4096, |b| [p(&exe), b, 4096, 0, 0, 0]);
    t.same_buf(SYS_readlinkat, 4096, 4096, |b| {
        [AT_FDCWD as usize, p(&exe), b, 4096, 0, 0]
    });
    t.same_buf(SYS_statfs, 120, 0, |b| [p(&root), b, 0, 0, 0, 0]);
    // The working directory is the process's: changed only to where it is.
    let cwd = std::env::current_dir().unwrap();
    let cwd = cstr(cwd.to_str().unwrap());
    t.same(SYS_chdir, [p(&cwd), 0, 0, 0, 0, 0]);

    // Bad descriptors: the same errno.
    for n in [
        SYS_fstat,
        SYS_fstatfs,
        SYS_fsync,
        SYS_fdatasync,
        SYS_ftruncate,
        SYS_fchmod,
        SYS_fchown,
        SYS_flock,
        SYS_fadvise64,
        SYS_fallocate,
        SYS_syncfs,
        SYS_readahead,
        SYS_getdents64,
        SYS_lseek,
        SYS_pread64,
        SYS_pwrite64,
        SYS_readv,
        SYS_writev,
        SYS_preadv,
        SYS_pwritev,
        SYS_fchdir,
        SYS_ioctl,
        SYS_epoll_ctl,
        SYS_epoll_wait,
        SYS_epoll_pwait,
        SYS_dup,
        SYS_fcntl,
        SYS_shutdown,
        SYS_getsockopt,
        SYS_setsockopt,
        SYS_getsockname,
        SYS_getpeername,
        SYS_listen,
        SYS_accept,
        SYS_accept4,
        SYS_connect,
        SYS_bind,
        SYS_sendto,
        SYS_recvfrom,
        SYS_sendmsg,
        SYS_recvmsg,
        SYS_recvmmsg,
        SYS_sendfile,
        SYS_splice,
        SYS_tee,
        SYS_vmsplice,
        SYS_sync_file_range,
        SYS_copy_file_range,
        SYS_timerfd_gettime,
        SYS_timerfd_settime,
        SYS_inotify_add_watch,
        SYS_inotify_rm_watch,
        SYS_fgetxattr,
        SYS_fsetxattr,
        SYS_flistxattr,
        SYS_fremovexattr,
        SYS_fanotify_mark,
        SYS_mq_timedsend,
        SYS_mq_timedreceive,
        SYS_mq_notify,
        SYS_mq_getsetattr,
        SYS_setns,
    ] {
        t.same(n, [bad, 0, 0, 0, 0, 0]);
    }
    t.same(SYS_dup2, [bad, bad, 0, 0, 0, 0]);
    t.same(SYS_dup3, [bad, 3, 0, 0, 0, 0]);

    // Descriptors of every kind, made and closed through lintel.
    let null = cstr("/dev/null");
    let zero = cstr("/dev/zero");
    let fd = t.l(SYS_open, [p(&null), O_RDWR as usize, 0, 0, 0, 0]);
    assert!(fd >= 0);
    let z = t.l(
        SYS_openat,
        [AT_FDCWD as usize, p(&zero), O_RDONLY as usize, 0, 0, 0],
    );
    assert!(z >= 0);
    let (fd, z) = (fd as usize, z as usize);
    let mut buf = [1u8; 64];
    let b = buf.as_mut_ptr() as usize;
    assert_eq!(t.l(SYS_read, [z, b, 64, 0, 0, 0]), 64);
    assert_eq!(buf, [0u8; 64]);
    assert_eq!(t.l(SYS_write, [fd, b, 64, 0, 0, 0]), 64);
    assert_eq!(t.l(SYS_pread64, [z, b, 8, 4096, 0, 0]), 8);
    assert_eq!(t.l(SYS_pwrite64, [fd, b, 8, 4096, 0, 0]), 8);
    let iov = [b, 64usize];
    assert_eq!(t.l(SYS_readv, [z, iov.as_ptr() as usize, 1, 0, 0, 0]), 64);
    assert_eq!(t.l(SYS_writev, [fd, iov.as_ptr() as usize, 1, 0, 0, 0]), 64);
    assert_eq!(t.l(SYS_preadv, [z, iov.as_ptr() as usize, 1, 0, 0, 0]), 64);
    assert_eq!(
        t.l(SYS_pwritev, [fd, iov.as_ptr() as usize, 1, 0, 0, 0]),
        64
    );
    assert_eq!(t.l(SYS_lseek, [z, 0, SEEK_CUR as usize, 0, 0, 0]), 0);
    assert_eq!(
        t.l(SYS_ioctl, [fd, TIOCGWINSZ as usize, b, 0, 0, 0]),
        -(ENOTTY as isize)
    );
    assert_eq!(t.l(SYS_fcntl, [fd, F_GETFD as usize, 0, 0, 0, 0]), 0);
    assert!(t.l(SYS_fstat, [fd, b, 0, 0, 0, 0]) == 0);
    let d = t.l(SYS_dup, [fd, 0, 0, 0, 0, 0]);
    assert!(d >= 0);
    assert_eq!(t.l(SYS_dup2, [fd, d as usize, 0, 0, 0, 0]), d);
    assert_eq!(
        t.l(SYS_dup3, [fd, d as usize, O_CLOEXEC as usize, 0, 0, 0]),
        d
    );
    for x in [d as usize, fd, z] {
        assert_eq!(t.l(SYS_close, [x, 0, 0, 0, 0, 0]), 0);
    }
    let mut pfd = [0i32; 2];
    assert_eq!(t.l(SYS_pipe, [pfd.as_mut_ptr() as usize, 0, 0, 0, 0, 0]), 0);
    let mut qfd = [0i32; 2];
    let q = qfd.as_mut_ptr() as usize;
    assert_eq!(t.l(SYS_pipe2, [q, O_CLOEXEC as usize, 0, 0, 0, 0]), 0);
    let (r, w) = (pfd[0] as usize, pfd[1] as usize);
    assert_eq!(
        t.l(SYS_write, [w, b"abcd".as_ptr() as usize, 4, 0, 0, 0]),
        4
    );
    let mut avail = 0i32;
    assert_eq!(
        t.l(
            SYS_ioctl,
            [
                r,
                FIONREAD as usize,
                &mut avail as *mut i32 as usize,
                0,
                0,
                0
            ]
        ),
        0
    );
    assert_eq!(avail, 4);
    // tee, splice and vmsplice between the two pipes.
    assert_eq!(t.l(SYS_tee, [r, qfd[1] as usize, 4, 0, 0, 0]), 4);
    assert_eq!(t.l(SYS_splice, [r, 0, qfd[1] as usize, 0, 4, 0]), 4);
    let v = [b"ef".as_ptr() as usize, 2usize];
    assert_eq!(
        t.l(
            SYS_vmsplice,
            [qfd[1] as usize, v.as_ptr() as usize, 1, 0, 0, 0]
        ),
        2
    );
    assert_eq!(t.l(SYS_read, [qfd[0] as usize, b, 64, 0, 0, 0]), 10);
    assert_eq!(&buf[..10], b"abcdabcdef");
    // Polls with nothing to wait for.
    let ts0 = [0i64; 2];
    let t0 = ts0.as_ptr() as usize;
    let pr = [r as i32, POLLIN as i32];
    t.same(SYS_poll, [pr.as_ptr() as usize, 1, 0, 0, 0, 0]);
    t.same(SYS_ppoll, [pr.as_ptr() as usize, 1, t0, 0, 8, 0]);
    let tv0 = [0i64; 2];
    t.same(SYS_select, [0, 0, 0, 0, tv0.as_ptr() as usize, 0]);
    t.same(SYS_pselect6, [0, 0, 0, 0, t0, 0]);
    let short = [0i64, 1000];
    t.same(SYS_nanosleep, [short.as_ptr() as usize, 0, 0, 0, 0, 0]);
    t.same(
        SYS_clock_nanosleep,
        [
            CLOCK_MONOTONIC as usize,
            0,
            short.as_ptr() as usize,
            0,
            0,
            0,
        ],
    );
    for x in [r, w, qfd[0] as usize, qfd[1] as usize] {
        assert_eq!(t.l(SYS_close, [x, 0, 0, 0, 0, 0]), 0);
    }

    // Event descriptors.
    let e = t.l(SYS_eventfd2, [0, EFD_CLOEXEC as usize, 0, 0, 0, 0]);
    let ep = t.l(SYS_epoll_create1, [EPOLL_CLOEXEC as usize, 0, 0, 0, 0, 0]);
    let ep_old = t.l(SYS_epoll_create, [1, 0, 0, 0, 0, 0]);
    let tf = t.l(
        SYS_timerfd_create,
        [CLOCK_MONOTONIC as usize, 0, 0, 0, 0, 0],
    );
    let ino = t.l(SYS_inotify_init1, [IN_CLOEXEC as usize, 0, 0, 0, 0, 0]);
    let mf = t.l(
        SYS_memfd_create,
        [p(&cstr("lintel-abi")), MFD_CLOEXEC as usize, 0, 0, 0, 0],
    );
    for x in [e, ep, ep_old, tf, ino, mf] {
        assert!(x >= 0);
    }
    let mut ev = [0u64; 2];
    ev[0] = EPOLLIN as u64;
    let evp = ev.as_mut_ptr() as usize;
    assert_eq!(
        t.l(
            SYS_epoll_ctl,
            [ep as usize, EPOLL_CTL_ADD as usize, e as usize, evp, 0, 0]
        ),
        0
    );
    assert_eq!(t.l(SYS_epoll_wait, [ep as usize, evp, 1, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_epoll_pwait, [ep as usize, evp, 1, 0, 0, 8]), 0);
    let spec = [0i64, 0, 10, 0]; // one-shot in 10 s
    assert_eq!(
        t.l(
            SYS_timerfd_settime,
            [tf as usize, 0, spec.as_ptr() as usize, 0, 0, 0]
        ),
        0
    );
    let mut cur = [0i64; 4];
    assert_eq!(
        t.l(
            SYS_timerfd_gettime,
            [tf as usize, cur.as_mut_ptr() as usize, 0, 0, 0, 0]
        ),
        0
    );
    assert!(cur[2] > 0 && cur[2] <= 10);
    let wd = t.l(
        SYS_inotify_add_watch,
        [ino as usize, p(&root), IN_ATTRIB as usize, 0, 0, 0],
    );
    assert!(wd >= 0);
    assert_eq!(
        t.l(
            SYS_inotify_rm_watch,
            [ino as usize, wd as usize, 0, 0, 0, 0]
        ),
        0
    );
    assert_eq!(t.l(SYS_ftruncate, [mf as usize, 8192, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_fallocate, [mf as usize, 0, 0, 4096, 0, 0]), 0);
    assert_eq!(
        t.l(
            SYS_fadvise64,
            [mf as usize, 0, 0, POSIX_FADV_NORMAL as usize, 0, 0]
        ),
        0
    );
    assert_eq!(t.l(SYS_fsync, [mf as usize, 0, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_fdatasync, [mf as usize, 0, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_fchmod, [mf as usize, 0o600, 0, 0, 0, 0]), 0);
    t.alike(SYS_fstatfs, [mf as usize, b, 0, 0, 0, 0]);
    t.alike(SYS_flock, [mf as usize, LOCK_SH as usize, 0, 0, 0, 0]);
    t.alike(SYS_readahead, [mf as usize, 0, 4096, 0, 0, 0]);
    t.alike(SYS_sync_file_range, [mf as usize, 0, 0, 0, 0, 0]);
    t.alike(SYS_syncfs, [mf as usize, 0, 0, 0, 0, 0]);
    let mf2 = t.l(
        SYS_memfd_create,
        [p(&cstr("lintel-abi2")), MFD_CLOEXEC as usize, 0, 0, 0, 0],
    );
    assert_eq!(
        t.l(
            SYS_copy_file_range,
            [mf as usize, 0, mf2 as usize, 0, 100, 0]
        ),
        100
    );
    assert_eq!(
        t.l(SYS_sendfile, [mf2 as usize, mf as usize, 0, 100, 0, 0]),
        100
    );
    for x in [e, ep, ep_old, tf, ino, mf, mf2] {
        assert_eq!(t.l(SYS_close, [x as usize, 0, 0, 0, 0, 0]), 0);
    }

    // Sockets: a pair, and a listening socket with an abstract name of this process's own.
    let mut sv = [0i32; 2];
    let svp = sv.as_mut_ptr() as usize;
    assert_eq!(
        t.l(
            SYS_socketpair,
            [AF_UNIX as usize, SOCK_STREAM as usize, 0, svp, 0, 0]
        ),
        0
    );
    let (s0, s1) = (sv[0] as usize, sv[1] as usize);
    assert_eq!(
        t.l(SYS_sendto, [s0, b"xy".as_ptr() as usize, 2, 0, 0, 0]),
        2
    );
    assert_eq!(t.l(SYS_recvfrom, [s1, b, 64, 0, 0, 0]), 2);
    let io = [b"zw".as_ptr() as usize, 2usize];
    let mut mh = [0usize; 7];
    mh[2] = io.as_ptr() as usize;
    mh[3] = 1;
    assert_eq!(t.l(SYS_sendmsg, [s0, mh.as_ptr() as usize, 0, 0, 0, 0]), 2);
    let rio = [b, 64usize];
    let mut rh = [0usize; 7];
    rh[2] = rio.as_ptr() as usize;
    rh[3] = 1;
    assert_eq!(
        t.l(SYS_recvmsg, [s1, rh.as_mut_ptr() as usize, 0, 0, 0, 0]),
        2
    );
    let mut ty = 0i32;
    let mut tl = 4u32;
    let tyl = [&mut ty as *mut i32 as usize, &mut tl as *mut u32 as usize];
    assert_eq!(
        t.l(
            SYS_getsockopt,
            [s0, SOL_SOCKET as usize, SO_TYPE as usize, tyl[0], tyl[1], 0]
        ),
        0
    );
    assert_eq!(ty, SOCK_STREAM);
    let one = 1i32;
    let o = &one as *const i32 as usize;
    assert_eq!(
        t.l(
            SYS_setsockopt,
            [s0, SOL_SOCKET as usize, SO_PASSCRED as usize, o, 4, 0]
        ),
        0
    );
    assert_eq!(t.l(SYS_shutdown, [s0, SHUT_WR as usize, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_recvfrom, [s1, b, 64, 0, 0, 0]), 0);
    let mut name = [0u8; 110];
    name[..2].copy_from_slice(&(AF_UNIX as u16).to_ne_bytes());
    let tag = format!("lintel-abi-{}-{:p}", std::process::id(), &t);
    name[3..3 + tag.len()].copy_from_slice(tag.as_bytes());
    let nlen = 3 + tag.len();
    let ls = t.l(
        SYS_socket,
        [AF_UNIX as usize, SOCK_STREAM as usize, 0, 0, 0, 0],
    ) as usize;
    assert_eq!(
        t.l(SYS_bind, [ls, name.as_ptr() as usize, nlen, 0, 0, 0]),
        0
    );
    assert_eq!(t.l(SYS_listen, [ls, 4, 0, 0, 0, 0]), 0);
    let mut got = [0u8; 110];
    let mut glen = 110u32;
    let g = [got.as_mut_ptr() as usize, &mut glen as *mut u32 as usize];
    assert_eq!(t.l(SYS_getsockname, [ls, g[0], g[1], 0, 0, 0]), 0);
    assert_eq!(&got[..nlen], &name[..nlen]);
    let c1 = t.l(
        SYS_socket,
        [AF_UNIX as usize, SOCK_STREAM as usize, 0, 0, 0, 0],
    ) as usize;
    let c2 = t.l(
        SYS_socket,
        [AF_UNIX as usize, SOCK_STREAM as usize, 0, 0, 0, 0],
    ) as usize;
    assert_eq!(
        t.l(SYS_connect, [c1, name.as_ptr() as usize, nlen, 0, 0, 0]),
        0
    );
    assert_eq!(
        t.l(SYS_connect, [c2, name.as_ptr() as usize, nlen, 0, 0, 0]),
        0
    );
    let a1 = t.l(SYS_accept, [ls, 0, 0, 0, 0, 0]);
    let a2 = t.l(SYS_accept4, [ls, 0, 0, SOCK_CLOEXEC as usize, 0, 0]);
    assert!(a1 >= 0 && a2 >= 0);
    let mut glen = 110u32;
    let gl = &mut glen as *mut u32 as usize;
    assert_eq!(t.l(SYS_getpeername, [c1, g[0], gl, 0, 0, 0]), 0);
    assert_eq!(&got[..nlen], &name[..nlen]);
    for x in [s0, s1, ls, c1, c2, a1 as usize, a2 as usize] {
        assert_eq!(t.l(SYS_close, [x, 0, 0, 0, 0, 0]), 0);
    }

    // Memory.
    let len = 2 * 4096;
    let prot = (PROT_READ | PROT_WRITE) as usize;
    let flags = (MAP_PRIVATE | MAP_ANONYMOUS) as usize;
    let m = t.l(SYS_mmap, [0, len, prot, flags, usize::MAX, 0]);
    assert!(m > 0);
    let m = m as usize;
    assert_eq!(t.l(SYS_mprotect, [m, 4096, PROT_READ as usize, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_madvise, [m, len, MADV_NORMAL as usize, 0, 0, 0]), 0);
    let mut vec = [0u8; 2];
    assert_eq!(
        t.l(SYS_mincore, [m, len, vec.as_mut_ptr() as usize, 0, 0, 0]),
        0
    );
    assert_eq!(t.l(SYS_msync, [m, len, MS_ASYNC as usize, 0, 0, 0]), 0);
    t.alike(SYS_mlock, [m, 4096, 0, 0, 0, 0]);
    t.alike(SYS_munlock, [m, 4096, 0, 0, 0, 0]);
    // One mapping again (mremap works on one), then grown.
    assert_eq!(t.l(SYS_mprotect, [m, 4096, prot, 0, 0, 0]), 0);
    let m2 = t.l(
        SYS_mremap,
        [m, len, 3 * 4096, MREMAP_MAYMOVE as usize, 0, 0],
    );
    assert!(m2 > 0);
    assert_eq!(t.l(SYS_munmap, [m2 as usize, 3 * 4096, 0, 0, 0, 0]), 0);
    t.same(SYS_munmap, [1, 4096, 0, 0, 0, 0]); // EINVAL

    // Files in a directory of this call's own.
    let dir = std::env::temp_dir().join(format!("lintel-abi-{}-{:p}", std::process::id(), &t));
    let _ = std::fs::remove_dir_all(&dir);
    let at = |s: &str| cstr(dir.join(s).to_str().unwrap());
    let d = cstr(dir.to_str().unwrap());
    assert_eq!(t.l(SYS_mkdir, [p(&d), 0o755, 0, 0, 0, 0]), 0);
    let (f1, f2, f3) = (at("f1"), at("f2"), at("f3"));
    let fd = t.l(
        SYS_open,
        [p(&f1), (O_CREAT | O_RDWR) as usize, 0o644, 0, 0, 0],
    );
    assert!(fd >= 0);
    assert_eq!(t.l(SYS_truncate, [p(&f1), 100, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_chmod, [p(&f1), 0o600, 0, 0, 0, 0]), 0);
    let (uid, gid) = (
        native(SYS_getuid, [0; 6]) as usize,
        native(SYS_getgid, [0; 6]) as usize,
    );
    assert_eq!(t.l(SYS_chown, [p(&f1), uid, gid, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_fchown, [fd as usize, uid, gid, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_lchown, [p(&f1), uid, gid, 0, 0, 0]), 0);
    assert_eq!(
        t.l(SYS_fchownat, [AT_FDCWD as usize, p(&f1), uid, gid, 0, 0]),
        0
    );
    assert_eq!(
        t.l(SYS_fchmodat, [AT_FDCWD as usize, p(&f1), 0o640, 0, 0, 0]),
        0
    );
    assert_eq!(
        t.l(SYS_utimensat, [AT_FDCWD as usize, p(&f1), 0, 0, 0, 0]),
        0
    );
    assert_eq!(t.l(SYS_utimes, [p(&f1), 0, 0, 0, 0, 0]), 0);
    assert_eq!(
        t.l(SYS_futimesat, [AT_FDCWD as usize, p(&f1), 0, 0, 0, 0]),
        0
    );
    assert_eq!(t.l(SYS_link, [p(&f1), p(&f2), 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_rename, [p(&f2), p(&f3), 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_unlink, [p(&f3), 0, 0, 0, 0, 0]), 0);
    assert_eq!(
        t.l(
            SYS_linkat,
            [AT_FDCWD as usize, p(&f1), AT_FDCWD as usize, p(&f2), 0, 0]
        ),
        0
    );
    let a = AT_FDCWD as usize;
    assert_eq!(t.l(SYS_renameat, [a, p(&f2), a, p(&f3), 0, 0]), 0);
    assert_eq!(t.l(SYS_unlinkat, [a, p(&f3), 0, 0, 0, 0]), 0);
    let (s1, s2) = (at("s1"), at("s2"));
    assert_eq!(t.l(SYS_symlink, [p(&f1), p(&s1), 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_symlinkat, [p(&f1), a, p(&s2), 0, 0, 0]), 0);
    let (fifo, fifo2) = (at("fifo"), at("fifo2"));
    assert_eq!(
        t.l(
            SYS_mknod,
            [p(&fifo), (S_IFIFO | 0o600) as usize, 0, 0, 0, 0]
        ),
        0
    );
    assert_eq!(
        t.l(
            SYS_mknodat,
            [a, p(&fifo2), (S_IFIFO | 0o600) as usize, 0, 0, 0]
        ),
        0
    );
    let (sub, sub2) = (at("sub"), at("sub2"));
    assert_eq!(t.l(SYS_mkdirat, [a, p(&sub), 0o755, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_rmdir, [p(&sub), 0, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_mkdir, [p(&sub2), 0o755, 0, 0, 0, 0]), 0);
    assert_eq!(
        t.l(SYS_unlinkat, [a, p(&sub2), AT_REMOVEDIR as usize, 0, 0, 0]),
        0
    );
    let df = t.l(
        SYS_open,
        [p(&d), (O_RDONLY | O_DIRECTORY) as usize, 0, 0, 0, 0],
    );
    let mut ents = vec![0u8; 4096];
    assert!(
        t.l(
            SYS_getdents64,
            [df as usize, ents.as_mut_ptr() as usize, 4096, 0, 0, 0]
        ) > 0
    );
    let here = t.l(
        SYS_open,
        [p(&cwd), (O_RDONLY | O_DIRECTORY) as usize, 0, 0, 0, 0],
    );
    assert_eq!(t.l(SYS_fchdir, [here as usize, 0, 0, 0, 0, 0]), 0);
    assert_eq!(t.l(SYS_close, [here as usize, 0, 0, 0, 0, 0]), 0);
    // Extended attributes: whatever the file system says, the same through lintel.
    let key = cstr("user.lintel");
    let k = p(&key);
    let fdu = fd as usize;
    t.same(SYS_setxattr, [p(&f1), k, b"v".as_ptr() as usize, 1, 0, 0]);
    t.same(SYS_lsetxattr, [p(&f1), k, b"v".as_ptr() as usize, 1, 0, 0]);
    t.same(SYS_fsetxattr, [fdu, k, b"v".as_ptr() as usize, 1, 0, 0]);
    t.same_buf(SYS_getxattr, 64, 64, |b| [p(&f1), k, b, 64, 0, 0]);
    t.same_buf(SYS_lgetxattr, 64, 64, |b| [p(&f1), k, b, 64, 0, 0]);
    t.same_buf(SYS_fgetxattr, 64, 64, |b| [fdu, k, b, 64, 0, 0]);
    t.same_buf(SYS_listxattr, 256, 256, |b| [p(&f1), b, 256, 0, 0, 0]);
    t.same_buf(SYS_llistxattr, 256, 256, |b| [p(&f1), b, 256, 0, 0, 0]);
    t.same_buf(SYS_flistxattr, 256, 256, |b| [fdu, b, 256, 0, 0, 0]);
    let set = [p(&f1), k, b"v".as_ptr() as usize, 1, 0, 0];
    for (n, target) in [
        (SYS_removexattr, p(&f1)),
        (SYS_lremovexattr, p(&f1)),
        (SYS_fremovexattr, fdu),
    ] {
        // Each removal from the same state: set natively first.
        native(SYS_setxattr, set);
        let x = t.l(n, [target, k, 0, 0, 0, 0]);
        native(SYS_setxattr, set);
        assert_eq!(x, native(n, [target, k, 0, 0, 0, 0]), "syscall {n}");
    }
    for x in [fdu, df as usize] {
        assert_eq!(t.l(SYS_close, [x, 0, 0, 0, 0, 0]), 0);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // System V IPC and message queues: private objects, removed again.
    // Objects are made through lintel only (a native twin would outlive the test); a failure
    // must be the host's too.
    let sem = t.l(SYS_semget, [IPC_PRIVATE as usize, 1, 0o600, 0, 0, 0]);
    if sem < 0 {
        assert_eq!(
            sem,
            native(SYS_semget, [IPC_PRIVATE as usize, 1, 0o600, 0, 0, 0])
        );
        return t.seen;
    }
    let op = [0u16, 1, IPC_NOWAIT as u16]; // sem_num, sem_op, sem_flg
    assert_eq!(
        t.l(SYS_semop, [sem as usize, op.as_ptr() as usize, 1, 0, 0, 0]),
        0
    );
    let dec = [0u16, (-1i16) as u16, IPC_NOWAIT as u16];
    assert_eq!(
        t.l(
            SYS_semtimedop,
            [sem as usize, dec.as_ptr() as usize, 1, t0, 0, 0]
        ),
        0
    );
    assert_eq!(
        t.l(SYS_semctl, [sem as usize, 0, IPC_RMID as usize, 0, 0, 0]),
        0
    );
    let q = t.l(SYS_msgget, [IPC_PRIVATE as usize, 0o600, 0, 0, 0, 0]);
    assert!(q >= 0);
    let msg = [1u64, 0x4142];
    let mp = msg.as_ptr() as usize;
    assert_eq!(
        t.l(SYS_msgsnd, [q as usize, mp, 8, IPC_NOWAIT as usize, 0, 0]),
        0
    );
    let mut back = [0u64; 2];
    let bp = back.as_mut_ptr() as usize;
    assert_eq!(
        t.l(SYS_msgrcv, [q as usize, bp, 8, 0, IPC_NOWAIT as usize, 0]),
        8
    );
    assert_eq!(back, msg);
    assert_eq!(
        t.l(SYS_msgctl, [q as usize, IPC_RMID as usize, 0, 0, 0, 0]),
        0
    );
    let shm = t.l(SYS_shmget, [IPC_PRIVATE as usize, 4096, 0o600, 0, 0, 0]);
    assert!(shm >= 0);
    let sa = t.l(SYS_shmat, [shm as usize, 0, 0, 0, 0, 0]);
    assert!(sa > 0);
    assert_eq!(t.l(SYS_shmdt, [sa as usize, 0, 0, 0, 0, 0]), 0);
    assert_eq!(
        t.l(SYS_shmctl, [shm as usize, IPC_RMID as usize, 0, 0, 0, 0]),
        0
    );
    let mq = cstr(&format!("/lintel-abi-{}-{:p}", std::process::id(), &t));
    let open = [p(&mq), (O_CREAT | O_RDWR) as usize, 0o600, 0, 0, 0];
    let mqd = t.l(SYS_mq_open, open);
    if mqd >= 0 {
        assert_eq!(t.l(SYS_mq_unlink, [p(&mq), 0, 0, 0, 0, 0]), 0);
        assert_eq!(t.l(SYS_close, [mqd as usize, 0, 0, 0, 0, 0]), 0);
    } else {
        assert_eq!(mqd, native(SYS_mq_open, open));
        t.same(SYS_mq_unlink, [p(&mq), 0, 0, 0, 0, 0]);
    }

    // Setters given what is already set, queries, and calls that fail before they could
    // change anything (paths that do not exist, a clock that cannot be set).
    let old = t.l(SYS_umask, [0o027, 0, 0, 0, 0, 0]);
    assert_eq!(native(SYS_umask, [old as usize, 0, 0, 0, 0, 0]), 0o027);
    let prio = native(SYS_getpriority, [PRIO_PROCESS as usize, 0, 0, 0, 0, 0]);
    t.same(
        SYS_setpriority,
        [PRIO_PROCESS as usize, 0, (20 - prio) as usize, 0, 0, 0],
    );
    let mut param = [0i32; 1];
    native(
        SYS_sched_getparam,
        [0, param.as_mut_ptr() as usize, 0, 0, 0, 0],
    );
    let pp = param.as_ptr() as usize;
    let policy = native(SYS_sched_getscheduler, [0; 6]) as usize;
    t.same(SYS_sched_setparam, [0, pp, 0, 0, 0, 0]);
    t.same(SYS_sched_setscheduler, [0, policy, pp, 0, 0, 0]);
    let mut mask = [0u8; 128];
    let mk = mask.as_mut_ptr() as usize;
    let ml = native(SYS_sched_getaffinity, [0, 128, mk, 0, 0, 0]) as usize;
    t.same(SYS_sched_setaffinity, [0, ml, mk, 0, 0, 0]);
    let mut lim = [0u64; 2];
    let lp = lim.as_mut_ptr() as usize;
    native(SYS_getrlimit, [RLIMIT_NOFILE as usize, lp, 0, 0, 0, 0]);
    t.same(SYS_setrlimit, [RLIMIT_NOFILE as usize, lp, 0, 0, 0, 0]);
    let keep = u32::MAX as usize; // -1: "leave it"
    t.same(SYS_setregid, [keep, keep, 0, 0, 0, 0]);
    t.same(SYS_setresgid, [keep, keep, keep, 0, 0, 0]);
    t.same(SYS_setfsuid, [keep, 0, 0, 0, 0, 0]); // the current one, unchanged
    t.same(SYS_setfsgid, [keep, 0, 0, 0, 0, 0]);
    let mut groups = [0u32; 256];
    let gp = groups.as_mut_ptr() as usize;
    let ng = native(SYS_getgroups, [256, gp, 0, 0, 0, 0]) as usize;
    t.same(SYS_setgroups, [ng, gp, 0, 0, 0, 0]);
    let mut caps = [0u32; 6];
    let cp = caps.as_mut_ptr() as usize;
    native(SYS_capget, [hdr.as_ptr() as usize, cp, 0, 0, 0, 0]);
    t.same(SYS_capset, [hdr.as_ptr() as usize, cp, 0, 0, 0, 0]);
    t.same(SYS_unshare, [0; 6]);
    t.same(SYS_munlockall, [0; 6]);
    t.same(SYS_membarrier, [0; 6]); // MEMBARRIER_CMD_QUERY
    t.same(
        SYS_clock_settime,
        [CLOCK_MONOTONIC as usize, t0, 0, 0, 0, 0],
    ); // EINVAL
    let mut tx = vec![0u8; 208]; // modes 0: a query
    let txp = tx.as_mut_ptr() as usize;
    t.alike(SYS_adjtimex, [txp, 0, 0, 0, 0, 0]);
    t.alike(
        SYS_clock_adjtime,
        [CLOCK_REALTIME as usize, txp, 0, 0, 0, 0],
    );
    t.same(SYS_syslog, [10, 0, 0, 0, 0, 0]); // SYSLOG_ACTION_SIZE_BUFFER
    let none = cstr("/nonexistent-lintel-abi");
    let n0 = p(&none);
    t.same(SYS_chroot, [n0, 0, 0, 0, 0, 0]);
    t.same(SYS_pivot_root, [n0, n0, 0, 0, 0, 0]);
    t.same(SYS_mount, [n0, n0, 0, 0, 0, 0]);
    t.same(SYS_umount2, [n0, 0, 0, 0, 0, 0]);
    t.same(SYS_swapon, [n0, 0, 0, 0, 0, 0]);
    t.same(SYS_swapoff, [n0, 0, 0, 0, 0, 0]);
    t.same(SYS_sethostname, [n0, 1000, 0, 0, 0, 0]); // EINVAL (or EPERM) for the length
    t.same(SYS_setdomainname, [n0, 1000, 0, 0, 0, 0]);
    t.same(SYS_execve, [n0, 0, 0, 0, 0, 0]);
    let empty = cstr("");
    t.same(
        SYS_execveat,
        [bad, p(&empty), 0, 0, AT_EMPTY_PATH as usize, 0],
    ); // EBADF
    t.same(
        SYS_ptrace,
        [PTRACE_PEEKDATA as usize, i32::MAX as usize, 0, 0, 0, 0],
    );
    t.same(SYS_remap_file_pages, [0; 6]);
    t.same(SYS_open_by_handle_at, [bad, 0, 0, 0, 0, 0]);
    t.same_buf(SYS_name_to_handle_at, 64, 8, |b| {
        [AT_FDCWD as usize, p(&root), b, b + 32, 0, 0]
    });
    for n in [SYS_inotify_init, SYS_eventfd] {
        let fd = t.l(n, [0; 6]);
        assert!(fd >= 0);
        assert_eq!(t.l(SYS_close, [fd as usize, 0, 0, 0, 0, 0]), 0);
    }
    let fan = t.l(SYS_fanotify_init, [0; 6]);
    if fan >= 0 {
        assert_eq!(t.l(SYS_close, [fan as usize, 0, 0, 0, 0, 0]), 0);
    } else {
        assert_eq!(fan, native(SYS_fanotify_init, [0; 6]));
    }
    let m = t.l(SYS_mmap, [0, 4096, prot, flags, usize::MAX, 0]) as usize;
    t.alike(SYS_mlock2, [m, 4096, 0, 0, 0, 0]);
    assert_eq!(t.l(SYS_munmap, [m, 4096, 0, 0, 0, 0]), 0);
    // This process's own memory, read and written as another process's.
    let src = *b"12345678";
    let mut dst = [0u8; 8];
    let me = native(SYS_getpid, [0; 6]) as usize;
    let liov = [dst.as_mut_ptr() as usize, 8usize];
    let riov = [src.as_ptr() as usize, 8usize];
    let (li, ri) = (liov.as_ptr() as usize, riov.as_ptr() as usize);
    assert_eq!(t.l(SYS_process_vm_readv, [me, li, 1, ri, 1, 0]), 8);
    assert_eq!(dst, src);
    let mut dst2 = [0u8; 8];
    let wiov = [dst2.as_mut_ptr() as usize, 8usize];
    let wi = wiov.as_ptr() as usize;
    assert_eq!(t.l(SYS_process_vm_writev, [me, ri, 1, wi, 1, 0]), 8);
    assert_eq!(dst2, src);

    // Children: none of these pids is ours.
    t.same(SYS_wait4, [i32::MAX as usize, 0, WNOHANG as usize, 0, 0, 0]);
    t.same(
        SYS_waitid,
        [
            P_PID as usize,
            i32::MAX as usize,
            b,
            (WEXITED | WNOHANG) as usize,
            0,
            0,
        ],
    );
    t.seen
}

/// The test that makes passed-through calls through lintel, as the table names it.
const OWN_TEST: &str = "passed_through_calls";

#[test]
fn passed_through_calls() {
    let seen = pass_through_calls();
    assert!(seen.len() > 100, "{} numbers", seen.len());
}
