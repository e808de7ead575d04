//! The toolkit CLI with the `my-queue` connector beside the built-in ones.

fn main() -> std::process::ExitCode {
    toolkit::run_with(toolkit_example_custom_connector::registry())
}
