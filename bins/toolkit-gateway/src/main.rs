//! The `toolkit-gateway` command.

// jemalloc hands freed memory back to the system; with glibc's allocator the memory of a
// burst of sessions stays with the process after the sessions have ended.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> std::process::ExitCode {
    // Purge freed pages from a background thread, not only when the process allocates again.
    #[cfg(not(target_env = "msvc"))]
    let _ = tikv_jemalloc_ctl::background_thread::write(true);
    toolkit_gateway::run()
}
