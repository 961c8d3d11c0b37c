fn main() {
    std::process::exit(streak_import::cli::main());
}
