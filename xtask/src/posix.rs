//! `cargo xtask posix`: the Open POSIX Test Suite built with musl-gcc and lintel-cc, compared.

pub(crate) fn posix(_args: &[String]) -> Result<(), String> {
    Err("cargo xtask posix: not built yet (issue 5)".into())
}
