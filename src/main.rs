//! The `switchboard` binary: parse the command line, build, run.

use clap::{Parser, Subcommand};
use switchboard::config::Settings;
use switchboard::startup::Application;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Actor-based real-time telephony engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the engine.
    Serve,
    /// Bring the database schema up to date, then exit.
    Migrate,
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization and print it as JSON, with its tokens (shown only this once).
    Create { name: String },
}

fn main() {
    switchboard::telemetry::init();
    let cli = Cli::parse();
    let result = Settings::from_env().and_then(|settings| match cli.command {
        Command::Serve => serve(settings),
        Command::Migrate => switchboard::cli::migrate(&settings),
        Command::Org {
            command: OrgCommand::Create { name },
        } => switchboard::cli::create_org(&settings, &name),
    });
    if let Err(error) = result {
        eprintln!("switchboard: {error}");
        std::process::exit(1);
    }
}

fn serve(settings: Settings) -> Result<(), String> {
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await.map_err(|e| e.to_string())
    })
}
