use clap::Parser;

fn main() -> color_eyre::Result<()> {
    color_eyre::install()?;
    shipdeck::install_crypto_provider();
    let cli = shipdeck::cli::Cli::parse();
    let _guard = shipdeck::logging::init(cli.log_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let code = runtime.block_on(shipdeck::cli::run(cli))?;
    // Background tasks (watchers, servers) must not keep the process alive after the answer.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(code);
}
