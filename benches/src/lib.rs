//! Benchmarks live in `benches/`; `cargo xtask bench` runs them and writes docs/benchmarks.md.
