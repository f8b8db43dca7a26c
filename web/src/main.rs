//! `web`: serve the web tier, or run one operator command (migrate, demo data).

use clap::{Parser, Subcommand};
use jobs::config::Settings;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(about = "novel web tier")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and pages (the default).
    Serve,
    /// Create the databases if missing and apply every migration.
    Migrate,
    /// Load the demo authors, books and chapters (a second run changes nothing).
    Demo,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    jobs::telemetry::init();
    let settings = match jobs::config::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("novel web: {error}");
            std::process::exit(2);
        }
    };
    match Cli::parse().command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => jobs::db::migrate(&settings.database, &settings.sharding).await,
        Command::Demo => demo(settings).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let http = &settings.http;
    let listener = TcpListener::bind((http.host.as_str(), http.port)).await?;
    let metrics = TcpListener::bind((http.host.as_str(), http.metrics_port)).await?;
    println!("novel web: http://{}", listener.local_addr()?);
    web::run(settings, listener, metrics, jobs::shutdown::signal()).await
}

async fn demo(settings: Settings) -> anyhow::Result<()> {
    let state = web::build_state(settings).await?;
    let loaded = jobs::demo::load(&state.db, &state.ids, &state.settings.pricing).await?;
    println!(
        "{}",
        if loaded {
            "demo data loaded"
        } else {
            "demo data already present"
        }
    );
    state.ids.shutdown().await;
    Ok(())
}
