//! What the differential tests share: lintel's futex table on the Linux host port (one per test
//! binary), and the two backends a scenario runs on, with one `futex(2)` call for both.
#![allow(dead_code)] // each test binary uses its own part

use lintel_futex::{Bucket, FutexError, FutexTable};

/// The port lintel runs on in these tests.
pub(crate) type Port = lintel_host::Host;
pub(crate) static PORT: &Port = &lintel_host::HOST;

/// The test binary's lintel futex table (256 buckets), built on first use.
pub(crate) fn lintel_table() -> &'static FutexTable<'static, Port> {
    static TABLE: std::sync::OnceLock<FutexTable<'static, Port>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let buckets = Box::leak((0..256).map(|_| Bucket::new()).collect::<Box<[_]>>());
        FutexTable::new(PORT, buckets)
    })
}

/// Where a scenario runs: the host's own futex calls, or lintel's on the host port.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Native,
    Lintel,
}

/// A call's outcome: the value, or the errno (kernel-internal restart codes included).
pub(crate) type Outcome = Result<usize, i32>;

/// A native syscall's result as an [`Outcome`] (`errno` read right after the call).
pub(crate) fn native(r: libc::c_long) -> Outcome {
    if r < 0 {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap())
    } else {
        Ok(r as usize)
    }
}

/// A lintel call's result as an [`Outcome`].
pub(crate) fn lintel(r: Result<usize, FutexError>) -> Outcome {
    r.map_err(|e| e.errno().raw())
}

impl Backend {
    /// `futex(uaddr, op, val, utime_or_val2, uaddr2, val3)` on this backend.
    pub(crate) fn futex(
        self,
        uaddr: usize,
        op: u32,
        val: u32,
        utime: usize,
        uaddr2: usize,
        val3: u32,
    ) -> Outcome {
        match self {
            // SAFETY: the futex syscall validates every argument itself.
            Backend::Native => native(unsafe {
                libc::syscall(libc::SYS_futex, uaddr, op, val, utime, uaddr2, val3)
            }),
            Backend::Lintel => {
                // SAFETY: the same call the native backend makes: every address is the test's
                // own, or deliberately bad (unmapped, read-only, misaligned, kernel) to be
                // refused exactly as Linux refuses it.
                lintel(unsafe { lintel_table().futex(uaddr, op, val, utime, uaddr2, val3) })
            }
        }
    }
}

/// The scenarios in which native Linux and lintel differed: [`Mismatches::check`] records one
/// scenario's two results (and prints them with `LINTEL_SHOW=1`), [`Mismatches::assert_none`]
/// fails the test with every difference.
#[derive(Default)]
pub(crate) struct Mismatches(Vec<String>);

impl Mismatches {
    pub(crate) fn check<T: PartialEq + std::fmt::Debug>(
        &mut self,
        name: &str,
        native: &T,
        lintel: &T,
    ) {
        if std::env::var_os("LINTEL_SHOW").is_some() {
            eprintln!("{name}:\n  native {native:?}\n  lintel {lintel:?}");
        }
        if native != lintel {
            self.0
                .push(format!("{name}:\n  native {native:?}\n  lintel {lintel:?}"));
        }
    }

    pub(crate) fn assert_none(&self) {
        assert!(self.0.is_empty(), "{}", self.0.join("\n"));
    }
}
