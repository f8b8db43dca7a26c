//! A `redis-server` of a test's (or the bench's) own, on a free port with a data folder of its
//! own: for what the shared Redis must not be put through (no AOF, a crash).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
    aof: bool,
}

impl RedisServer {
    /// Starts one with AOF (`appendfsync everysec`) or with no persistence at all; returns once
    /// it answers `PING`.
    pub fn start(aof: bool) -> anyhow::Result<Self> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("novel-redis-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir)?;
        let child = spawn(port, &dir, &options(aof))?;
        // Built first, so a server that does not come up is killed and its folder removed.
        let mut server = Self {
            child,
            port,
            dir,
            aof,
        };
        wait_until_up(server.port, &server.dir, &mut server.child)?;
        Ok(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no shutdown save, as in a crash of the process.
    pub fn crash(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port from the same folder (so from its AOF, if it has one).
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.child = spawn(self.port, &self.dir, &options(self.aof))?;
        wait_until_up(self.port, &self.dir, &mut self.child)
    }
}

/// AOF (`appendfsync everysec`) or no persistence at all.
fn options(aof: bool) -> [&'static str; 4] {
    [
        "--appendonly",
        if aof { "yes" } else { "no" },
        "--appendfsync",
        "everysec",
    ]
}

/// Starts `redis-server` on loopback `port` with its data and `redis.log` in `dir`, no RDB
/// snapshots, and `options` (e.g. `--appendonly yes`).
pub(crate) fn spawn(port: u16, dir: &Path, options: &[&str]) -> anyhow::Result<Child> {
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir)
        .args(["--logfile", "redis.log", "--save", ""])
        .args(options)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            anyhow::anyhow!("redis-server: {e} (install Redis: apt-get install redis-server)")
        })?;
    Ok(child)
}

/// Waits until the server `child` on `port` answers `PONG`, not `-LOADING` (so its AOF is
/// replayed); an error if it exits first (e.g. its port was taken) or takes over 30 s.
pub(crate) fn wait_until_up(port: u16, dir: &Path, child: &mut Child) -> anyhow::Result<()> {
    let give_up = Instant::now() + Duration::from_secs(30);
    let log = dir.join("redis.log");
    while !pong(port) {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "redis-server on port {port} exited at start: {status} (log: {})",
                log.display()
            );
        }
        anyhow::ensure!(
            Instant::now() < give_up,
            "redis-server on port {port} did not come up (log: {})",
            log.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn pong(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG"
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.crash();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
