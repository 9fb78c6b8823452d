//! `patchbay`: the command-line face of Patchbay, a separate light binary
//! over the same domain crates as the app (no WebKit, so it builds in seconds
//! and works over SSH and in scripts).
//!
//! Exit status: 0 success; 1 the operation failed (a sentence on stderr, and
//! with `--json` an `{"error": …}` object on stdout); 2 a usage error (clap's
//! own exit code, kept on purpose so scripts can tell the two apart).

mod capabilities;
mod chat;
mod cli;
mod curation;
mod desktop;
mod draft;
mod error;
mod hosting;
mod network;
mod output;
mod provider;
mod resident;
mod stdin_secrets;
mod transfer;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::output::Output;

fn main() -> ExitCode {
    // Usage errors end the process here with exit status 2.
    let cli = Cli::parse();
    init_logging();
    let output = Output::new(cli.json);
    match run(cli.command, output) {
        Ok(status) => status,
        Err(error) => {
            output.failure(&error);
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command, output: Output) -> Result<ExitCode, CliError> {
    match command {
        Command::Provider(command) => provider::run(command, output),
        Command::Presets => provider::presets(output).map(|()| ExitCode::SUCCESS),
        Command::CheckUrl(args) => network::check_url(&args, output),
        Command::Test(args) => network::adhoc_test(&args, output),
        Command::Models(args) => {
            // Only a saved provider needs the config file (and its lock).
            let service = match args.id {
                Some(_) => Some(provider::open_service()?),
                None => None,
            };
            network::models(service.as_ref(), &args, output)
        }
        Command::Model(command) => curation::model(command, output),
        Command::Entries(args) => hosting::entries(&args, output),
        Command::Chat(args) => chat::run(&args, output),
        Command::Export(args) => transfer::export(&args, output),
        Command::Import(args) => transfer::import(&args, output),
        Command::Serve(args) if args.resident => resident::run(&args, output),
        Command::Serve(args) => hosting::serve(&args, output),
        Command::Hosts(command) => hosting::hosts(&command, output),
        Command::Autostart { action } => desktop::autostart(action, output),
        Command::Service(command) => desktop::service(command, output),
    }
}

/// Diagnostics go to stderr, quiet unless `PATCHBAY_LOG` (or `RUST_LOG`)
/// asks for more, so stdout stays clean for `--json`.
fn init_logging() {
    let filter = std::env::var("PATCHBAY_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".to_owned());
    let initialised = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    if initialised.is_err() {
        // Only possible if something installed a subscriber first; logging
        // then goes there, which is fine.
        tracing::debug!("a tracing subscriber was already installed");
    }
}
