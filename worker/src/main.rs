//! `worker`: one job-running process; start as many as the load needs.

use tokio::net::TcpListener;

fn main() -> anyhow::Result<()> {
    jobs::telemetry::init();
    let settings = match jobs::config::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("novel worker: {error}");
            std::process::exit(2);
        }
    };
    jobs::runtime::build(settings.worker.threads)?.block_on(run(settings))
}

async fn run(settings: jobs::config::Settings) -> anyhow::Result<()> {
    let host = settings.http.metrics_host.as_str();
    let metrics = TcpListener::bind((host, settings.worker.metrics_port)).await?;
    println!("novel worker: metrics on http://{}", metrics.local_addr()?);
    worker::run(settings, metrics, jobs::shutdown::signal()).await
}
