// Rows are allocated on the validation threads and freed on the writing thread; the system
// allocator spends a large share of a run consolidating that traffic, mimalloc does not.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    streak_import::cli::main()
}
