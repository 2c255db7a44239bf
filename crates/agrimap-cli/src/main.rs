//! The `agrimap` command.

fn main() -> std::process::ExitCode {
    agrimap::main()
}
