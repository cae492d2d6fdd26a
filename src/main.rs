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
    /// Run the engine with simulated provider and PBX traffic on its own SQLite file; prints the
    /// dashboard's URL (with the demo org's token) as its first line.
    Demo {
        /// Where to listen (default: `SWITCHBOARD_BIND`, else 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
        /// PBX extensions.
        #[arg(long, default_value_t = 30)]
        extensions: u32,
        /// New calls per minute across the PBX, inbound Twilio calls and the campaign.
        #[arg(long, default_value_t = 60.0)]
        calls_per_minute: f64,
        /// Time compression: multiplies the rate and divides ring and talk times.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Simulated agents in the Support queue (default: as many as Erlang C says answer 80 %
        /// of its callers within 20 s); fewer overloads the queue on purpose.
        #[arg(long)]
        agents: Option<u32>,
        /// The demo's own SQLite file.
        #[arg(long, default_value = "switchboard-demo.db")]
        database: String,
        /// After this many seconds of traffic: close the floor, let every call end, compare the
        /// board with what the simulators really did, print the report and exit (1 on any
        /// mismatch).
        #[arg(long, value_name = "SECONDS")]
        check_after: Option<f64>,
    },
    /// Run a call center's day, compressed, against ground truth: the engine with simulated
    /// seats, PBX, callers and a campaign through its real webhook endpoints; at the end the
    /// engine's public API is compared with what the simulators did. The last line on stdout is
    /// the report as JSON; exit 1 when anything differs.
    Simulate {
        /// People on the floor (each with a PBX extension).
        #[arg(long, default_value_t = 200)]
        seats: u32,
        /// Hours of the day to simulate.
        #[arg(long, default_value_t = 1.0)]
        hours: f64,
        /// Time compression: 120 runs an hour in 30 s.
        #[arg(long, default_value_t = 120.0)]
        speed: f64,
        /// Play the day's faults: PBX webhooks lost and a PBX webhook gap, Twilio callbacks
        /// duplicated and reordered, a dashboard that never reads.
        #[arg(long)]
        faults: bool,
        /// The database URL (default: a new SQLite file in the temporary directory, removed
        /// after the run).
        #[arg(long)]
        database: Option<String>,
        /// Where to listen (default: a free port on 127.0.0.1).
        #[arg(long, default_value = "127.0.0.1:0")]
        bind: String,
    },
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
        Command::Demo {
            bind,
            extensions,
            calls_per_minute,
            speed,
            agents,
            database,
            check_after,
        } => {
            let mut settings = settings;
            if let Some(bind) = bind {
                settings.bind = bind;
            }
            let options = switchboard::demo::DemoOptions {
                database: switchboard::db::DatabaseUrl::Sqlite(database),
                extensions,
                calls_per_minute,
                speed,
                agents,
                campaign_contacts: 300,
                campaign_concurrency: 5,
                credits: switchboard::demo::DEMO_CREDITS.to_owned(),
                faults: switchboard::demo::Faults::demo(),
                check_after: match check_after {
                    Some(s) if !(s.is_finite() && s >= 0.0) => {
                        return Err("--check-after must be a number of seconds".into())
                    }
                    other => other.map(std::time::Duration::from_secs_f64),
                },
            };
            switchboard::demo::run(settings, options)
        }
        Command::Simulate {
            seats,
            hours,
            speed,
            faults,
            database,
            bind,
        } => {
            let mut settings = settings;
            settings.bind = bind;
            let day = switchboard::demo::simulate::SimulateOptions {
                seats,
                hours,
                speed,
                faults,
                database,
            };
            switchboard::demo::simulate::run(&settings, &day)
        }
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
