use clap::Parser;

fn main() {
    let cli = skydeck::cli::Cli::parse();
    skydeck::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(2);
        }
    };
    match runtime.block_on(skydeck::cli::run(cli)) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            // Config and usage problems: say what and where, exit non-zero, no backtrace.
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
