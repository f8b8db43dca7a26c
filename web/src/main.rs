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
    /// Create an admin account (roles reader,admin), or make an existing account an admin.
    /// The password comes from NOVEL_ADMIN_PASSWORD, else from one line of standard input.
    CreateAdmin {
        /// 3 to 32 characters of A-Z, a-z, 0-9 and _.
        username: String,
    },
}

fn main() -> anyhow::Result<()> {
    jobs::telemetry::init();
    let settings = match jobs::config::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("novel web: {error}");
            std::process::exit(2);
        }
    };
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    jobs::runtime::build(settings.http.threads)?.block_on(run(settings, command))
}

async fn run(settings: Settings, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve => serve(settings).await,
        Command::Migrate => jobs::db::migrate(&settings.database, &settings.sharding).await,
        Command::Demo => demo(settings).await,
        Command::CreateAdmin { username } => create_admin(settings, &username).await,
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let http = &settings.http;
    let listener = TcpListener::bind((http.host.as_str(), http.port)).await?;
    let metrics = TcpListener::bind((http.metrics_host.as_str(), http.metrics_port)).await?;
    // One line for whoever started us (scripts, tests): the API and the metrics address.
    println!(
        "novel web: http://{} metrics http://{}",
        listener.local_addr()?,
        metrics.local_addr()?
    );
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

async fn create_admin(settings: Settings, username: &str) -> anyhow::Result<()> {
    use jobs::accounts::{NewUser, NickName, Password, Role, Roles, Username};
    let username = Username::parse(username).map_err(anyhow::Error::msg)?;
    let state = web::build_state(settings).await?;
    let created = if jobs::users::grant_admin(&state.db.main, &username).await? {
        false
    } else {
        let password =
            Password::parse("password", admin_password()?).map_err(anyhow::Error::msg)?;
        let id = state.ids.mint().await?;
        let hash =
            tokio::task::spawn_blocking(move || jobs::accounts::hash_password(password.as_str()));
        let user = NewUser {
            id,
            username: &username,
            nick_name: &NickName::parse(username.as_str()).map_err(anyhow::Error::msg)?,
            roles: &Roles::from(&[Role::Reader, Role::Admin][..]),
        };
        jobs::accounts::insert_user(&state.db.main, user, &hash.await?).await?;
        true
    };
    state.ids.shutdown().await;
    match created {
        true => println!("admin {username} created"),
        false => println!("{username} is now an admin (password unchanged)"),
    }
    Ok(())
}

/// `NOVEL_ADMIN_PASSWORD`, else one line of standard input (no echo control: pipe it in).
fn admin_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("NOVEL_ADMIN_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
