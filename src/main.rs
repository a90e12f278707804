//! The `holdfast` binary: parse the command line and hand over to the library.
#![forbid(unsafe_code)]

/// mimalloc: a profile of list pages under load spent about a tenth of the CPU in glibc's
/// malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    holdfast::cli::run()
}
