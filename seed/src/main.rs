//! The `clearance-seed` binary: see the library for what it does.

fn main() -> std::process::ExitCode {
    clearance_seed::main()
}
