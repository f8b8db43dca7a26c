//! The system under test: `web serve` and K `worker` processes from the release binaries,
//! configured by env for the benchmark's database, Redis and Redis prefix, on ephemeral ports.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};

use jobs::config::Settings;
use rand::Rng;
use secrecy::ExposeSecret;

struct Process {
    child: Child,
    /// Held so a late write of the child never hits a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

pub struct Stack {
    env: Vec<(String, String)>,
    web: Process,
    pub base_url: String,
    workers: Vec<Process>,
}

/// `NOVEL_BIN_DIR`, else the folder of this executable (target/release holds all three).
fn binary(name: &str) -> PathBuf {
    let dir = std::env::var("NOVEL_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(PathBuf::from))
                .unwrap_or_default()
        });
    dir.join(name)
}

/// Starts `program` and returns it with the first line it prints (its addresses).
fn spawn(name: &str, args: &[&str], env: &[(String, String)]) -> anyhow::Result<(Process, String)> {
    let path = binary(name);
    let mut child = Command::new(&path)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: {e} (build it first: cargo build --release --bins)",
                path.display()
            )
        })?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    if line.is_empty() {
        let status = child.wait()?;
        anyhow::bail!("{name} exited at start: {status}");
    }
    Ok((
        Process {
            child,
            _stdout: stdout,
        },
        line,
    ))
}

impl Stack {
    /// Web + `workers` worker processes; `extra` env (e.g. shorter heartbeats) for all of them.
    pub fn start(
        settings: &Settings,
        workers: usize,
        extra: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let mut env: Vec<(String, String)> = testkit::redis_env(settings)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        let database = settings.database.url.expose_secret();
        env.extend(
            [
                ("NOVEL__DATABASE__URL", database),
                ("NOVEL__HTTP__PORT", "0"),
                ("NOVEL__HTTP__METRICS_PORT", "0"),
                ("NOVEL__WORKER__METRICS_PORT", "0"),
                // The per-user limiter is not what is measured.
                ("NOVEL__LIMITS__ENQUEUE_PER_SECOND", "1000000"),
                ("NOVEL__LIMITS__ENQUEUE_BURST", "1000000"),
            ]
            .into_iter()
            .chain(extra.iter().copied())
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        if std::env::var("RUST_LOG").is_err() {
            env.push(("RUST_LOG".into(), "error".into()));
        }
        let (web, line) = spawn("web", &["serve"], &env)?;
        // "novel web: http://ADDR metrics http://MADDR"
        let base_url = line
            .split_whitespace()
            .nth(2)
            .ok_or_else(|| anyhow::anyhow!("unexpected web banner: {line}"))?
            .to_owned();
        let mut stack = Self {
            env,
            web,
            base_url,
            workers: Vec::new(),
        };
        for _ in 0..workers {
            stack.add_worker()?;
        }
        Ok(stack)
    }

    pub fn add_worker(&mut self) -> anyhow::Result<()> {
        let (worker, _line) = spawn("worker", &[], &self.env)?;
        self.workers.push(worker);
        Ok(())
    }

    /// SIGKILL to a random worker (no cleanup at all, as in a crash); returns its pid.
    pub fn kill9_random_worker(&mut self) -> Option<u32> {
        if self.workers.is_empty() {
            return None;
        }
        let n = rand::rng().random_range(0..self.workers.len());
        let mut victim = self.workers.swap_remove(n);
        let pid = victim.child.id();
        let _ = victim.child.kill();
        let _ = victim.child.wait();
        Some(pid)
    }

    /// SIGTERM to every process, then wait: the graceful path.
    pub fn stop(mut self) {
        let all = std::iter::once(&mut self.web).chain(self.workers.iter_mut());
        let mut procs: Vec<&mut Process> = all.collect();
        for p in &procs {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(p.child.id().to_string())
                .status();
        }
        for p in procs.iter_mut() {
            let _ = p.child.wait();
        }
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for p in std::iter::once(&mut self.web).chain(self.workers.iter_mut()) {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}
