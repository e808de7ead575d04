//! The toolkit gateway serving `my-queue` tools beside the built-in types.

fn main() -> std::process::ExitCode {
    toolkit_gateway::run_with(toolkit_example_custom_connector::registry())
}
