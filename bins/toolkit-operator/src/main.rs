//! The `toolkit-operator` command.

fn main() -> std::process::ExitCode {
    toolkit_operator::run()
}
