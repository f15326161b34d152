//! The `audb` command line: a thin shell over the library (see [`cli`]).

mod cli;

/// glibc's allocator kept trimming and re-faulting pages while bitmaps were
/// deserialized (measured: 65 µs → up to 980 µs per 10M-id bitmap); mimalloc
/// keeps freed pages for reuse.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
