//! A minimal host app: pairs with Patchbay (once; the token is cached in a
//! file), lists the picker entries, resolves one, and prints every change.
//!
//! ```text
//! cargo run -p patchbay-client --example host -- [--socket PATH] [--token-file FILE]
//!     [--app-id ID] [--app-name NAME] [--entry ENTRY_ID] [--no-pair] [--once]
//! ```
//!
//! It prints header NAMES only, never their values. With `--once` it exits
//! after resolving. When no server runs it falls back to reading the shared
//! config file and exits.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use patchbay_client::{read_shared_config, Client, ClientError, ErrorKind, PickerEntry};

#[derive(Debug)]
struct Options {
    socket: Option<PathBuf>,
    token_file: Option<PathBuf>,
    app_id: String,
    app_name: String,
    entry: Option<String>,
    pair: bool,
    once: bool,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        socket: None,
        token_file: None,
        app_id: "dev.patchbay.example-host".to_owned(),
        app_name: "Example host".to_owned(),
        entry: None,
        pair: true,
        once: false,
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut value = |name: &str| {
            arguments
                .next()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match argument.as_str() {
            "--socket" => options.socket = Some(PathBuf::from(value("--socket")?)),
            "--token-file" => options.token_file = Some(PathBuf::from(value("--token-file")?)),
            "--app-id" => options.app_id = value("--app-id")?,
            "--app-name" => options.app_name = value("--app-name")?,
            "--entry" => options.entry = Some(value("--entry")?),
            "--no-pair" => options.pair = false,
            "--once" => options.once = true,
            "--help" | "-h" => {
                return Err("usage: host [--socket PATH] [--token-file FILE] [--app-id ID] [--app-name NAME] [--entry ENTRY_ID] [--no-pair] [--once]".to_owned())
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error ({}): {error}", error.kind().as_str());
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<(), ClientError> {
    let connected = match &options.socket {
        Some(socket) => Client::connect_to(socket).await,
        None => Client::connect().await,
    };
    let client = match connected {
        Ok(client) => client,
        Err(error) if error.kind() == ErrorKind::NotRunning => {
            println!("server: not running ({error}); reading the shared config instead");
            let shared = read_shared_config()?;
            print_entries(&shared.entries);
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    let hello = client.hello().await?;
    println!(
        "server: protocol {} app {}",
        hello.protocol, hello.app_version
    );

    let mut subscription = client.subscribe().await?;
    print_entries(subscription.initial());

    if options.pair {
        let token = token(&client, options).await?;
        let chosen = match &options.entry {
            Some(entry) => Some(entry.clone()),
            None => subscription.initial().first().map(|entry| entry.id.clone()),
        };
        if let Some(entry_id) = chosen {
            let resolved = client.resolve(&token, &entry_id).await?;
            let names: Vec<&str> = resolved.headers.keys().map(String::as_str).collect();
            println!(
                "resolved: {} base_url={} model={} headers=[{}]",
                resolved.entry_id,
                resolved.base_url,
                resolved.model_id,
                names.join(",")
            );
        } else {
            println!("resolved: nothing (no entries)");
        }
    }

    if options.once {
        return Ok(());
    }
    while let Some(entries) = subscription.next().await {
        println!("changed: {} entries", entries.len());
        print_entries(&entries);
    }
    println!("server: connection closed");
    Ok(())
}

/// The cached token, or a new pairing (the person approves it in Patchbay
/// or with `patchbay hosts approve`).
async fn token(client: &Client, options: &Options) -> Result<String, ClientError> {
    if let Some(path) = &options.token_file {
        match std::fs::read_to_string(path) {
            Ok(token) if !token.trim().is_empty() => return Ok(token.trim().to_owned()),
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io_error("read the token file", error)),
        }
    }
    println!("pairing: waiting for approval in Patchbay (or `patchbay hosts approve`)");
    let paired = client.pair(&options.app_id, &options.app_name).await?;
    match &options.token_file {
        Some(path) => {
            save_token(path, &paired.token)?;
            println!("pairing: approved; token saved to {}", path.display());
        }
        // Patchbay never shows a token again; this is the one chance.
        None => println!("pairing: approved; token (shown once): {}", paired.token),
    }
    Ok(paired.token)
}

fn save_token(path: &Path, token: &str) -> Result<(), ClientError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|error| io_error("create the token file", error))?;
    std::io::Write::write_all(&mut file, token.as_bytes())
        .map_err(|error| io_error("write the token file", error))
}

fn io_error(action: &str, source: std::io::Error) -> ClientError {
    ClientError::Io {
        action: action.to_owned(),
        source,
    }
}

fn print_entries(entries: &[PickerEntry]) {
    println!("entries: {}", entries.len());
    for entry in entries {
        let default = if entry.is_default { " (default)" } else { "" };
        println!("entry: {} | {}{default}", entry.id, entry.label);
    }
}
