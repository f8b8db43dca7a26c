//! The tokio runtime of a process, sized by configuration (`http.threads`, `worker.threads`).

use tokio::runtime::{Builder, Runtime};

/// `1`: the current-thread runtime (the default: web and worker mostly wait on Redis and MySQL,
/// and on one thread a hand-over between tasks is a task switch, not a thread wake-up);
/// `0`: one worker thread per core; `n`: `n` worker threads.
pub fn build(threads: usize) -> std::io::Result<Runtime> {
    let mut builder = match threads {
        1 => Builder::new_current_thread(),
        n => {
            let mut builder = Builder::new_multi_thread();
            if n > 1 {
                builder.worker_threads(n);
            }
            builder
        }
    };
    builder.enable_all().build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::runtime::RuntimeFlavor;

    #[test]
    fn one_thread_is_the_current_thread_runtime_and_more_are_worker_threads() {
        let one = build(1).unwrap();
        assert_eq!(one.handle().runtime_flavor(), RuntimeFlavor::CurrentThread);
        let three = build(3).unwrap();
        assert_eq!(three.handle().runtime_flavor(), RuntimeFlavor::MultiThread);
        assert_eq!(three.metrics().num_workers(), 3);
        let per_core = build(0).unwrap();
        assert_eq!(
            per_core.metrics().num_workers(),
            std::thread::available_parallelism().unwrap().get()
        );
        // Timers and I/O work on every flavor.
        one.block_on(async { tokio::time::sleep(std::time::Duration::from_millis(1)).await });
    }
}
