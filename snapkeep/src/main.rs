//! The `snapkeep` binary: the service (`serve`), the admin CLI (`admin`) and master-key rotation
//! (`rotate-master-key`).

mod commands;
mod config;
mod http;
mod master_key;
mod secret_files;
mod serve;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::commands::admin::AdminArgs;
use crate::config::Config;

/// Self-hosted snapshot service for Elasticsearch, OpenSearch and PostgreSQL fleets.
#[derive(Debug, Parser)]
#[command(name = "snapkeep", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Serve(ServeArgs),
    /// Manage projects, access keys and clusters through the admin API.
    Admin(Box<AdminArgs>),
    /// Re-seal every stored secret under a new master key (stop the service first).
    RotateMasterKey(ServeArgs),
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// TOML configuration file (keys as in `SNAPKEEP_*`, kebab-case).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the file and SNAPKEEP_LISTEN).
    #[arg(long)]
    listen: Option<String>,
    /// Where the catalog and generated secrets live (overrides the file and SNAPKEEP_DATA_DIR).
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl ServeArgs {
    /// The configuration: the file, then `SNAPKEEP_*`, then these flags.
    fn config(self) -> anyhow::Result<Config> {
        let mut config = Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(data_dir) = self.data_dir {
            config.data_dir = data_dir;
        }
        Ok(config)
    }
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Command::Serve(args) => {
            let config = args.config()?;
            init_logging(&config.log_format);
            runtime.block_on(serve::run(config))
        }
        Command::RotateMasterKey(args) => {
            let config = args.config()?;
            init_logging(&config.log_format);
            runtime.block_on(master_key::rotate(&config))
        }
        Command::Admin(args) => runtime.block_on(commands::admin::run(*args)),
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SNAPKEEP_LOG")
        .unwrap_or_else(|_| "info,tower_http=warn,sqlx=warn".into());
    // Colour only on a terminal: a log redirected to a file or a collector stays plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Every command and every argument says what it is in `--help`.
    #[test]
    fn every_command_and_flag_has_help() {
        fn undocumented(command: &clap::Command, path: &str, out: &mut Vec<String>) {
            for sub in command.get_subcommands() {
                let here = format!("{path} {}", sub.get_name());
                if sub.get_about().is_none() {
                    out.push(here.clone());
                }
                undocumented(sub, &here, out);
            }
            for arg in command.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
                if arg.get_help().is_none() {
                    out.push(format!("{path} {}", arg.get_id()));
                }
            }
        }
        let mut missing = Vec::new();
        undocumented(&Cli::command(), "snapkeep", &mut missing);
        assert!(missing.is_empty(), "no help for: {missing:?}");
    }
}
