use clap::Parser;

fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    quiet_broken_pipe();
    shipdeck::install_crypto_provider();
    let cli = shipdeck::cli::Cli::parse();
    let _guard = shipdeck::logging::init(cli.log_file.as_deref());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(shipdeck::cli::run(cli))?;
    // Background tasks (watchers, servers) must not keep the process alive after the answer.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}

/// `shipdeck tags orders | head` closes stdout early: exit quietly like other Unix tools
/// instead of reporting a crash (the Rust runtime ignores SIGPIPE, so printing panics).
fn quiet_broken_pipe() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        report(info);
    }));
}
