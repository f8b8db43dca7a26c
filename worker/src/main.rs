//! `worker`: one job-running process; start as many as the load needs.

use tokio::net::TcpListener;

// One thread: a worker mostly waits on Redis and MySQL, and on one thread every hand-over
// (announcement → consumer → committer → handler) is a task switch, not a thread wake-up
// (measured: 10–15 % more purchases/s than two threads at every concurrency). Scale out
// with processes, one per core.
#[tokio::main(flavor = "current_thread")]
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
