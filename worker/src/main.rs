//! `worker`: one job-running process; start as many as the load needs.

use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    jobs::telemetry::init();
    let settings = match jobs::config::load() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("novel worker: {error}");
            std::process::exit(2);
        }
    };
    let metrics =
        TcpListener::bind((settings.http.host.as_str(), settings.worker.metrics_port)).await?;
    println!("novel worker: metrics on http://{}", metrics.local_addr()?);
    worker::run(settings, metrics, jobs::shutdown::signal()).await
}
