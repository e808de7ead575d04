//! The `toolkit-gateway` command.

fn main() -> std::process::ExitCode {
    toolkit_gateway::run()
}
