//! The `clearance-seed` binary: see the library for what it does.

/// mimalloc instead of the system allocator: an import allocates and frees a great deal.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    clearance_seed::main()
}
