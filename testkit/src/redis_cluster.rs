//! A Redis Cluster of a test's (or the bench's) own: three primaries and three replicas, each a
//! `redis-server` with AOF (`appendfsync everysec`) on loopback, in a temporary folder of the
//! cluster's own, on free ports. For the test that always runs on a cluster and for the
//! failover bench; the suite's cluster pass uses the one of scripts/cluster.sh.
//!
//! Nodes are named by their index in [`RedisCluster::seeds`] (0..6).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use jobs::config::{RedisMode, RedisSettings};
use secrecy::SecretString;

use crate::redis_server::{spawn, wait_until_up};

const NODES: u16 = 6;
const PRIMARIES: usize = 3;
/// A node's cluster bus listens this far above its port.
const BUS_OFFSET: u16 = 10_000;

pub struct RedisCluster {
    /// `None` while a node is killed.
    nodes: Vec<Option<Child>>,
    base_port: u16,
    dir: PathBuf,
    node_timeout_ms: u64,
}

impl RedisCluster {
    /// Starts six nodes, makes them a cluster (`redis-cli --cluster create`, one replica per
    /// primary) and returns once every node reports `cluster_state:ok` and every replica's link
    /// to its primary is up. `node_timeout_ms` is how long a primary may be unreachable before
    /// its replica takes over.
    pub fn start(node_timeout_ms: u64) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("novel-cluster-{}", ulid::Ulid::new()));
        let mut cluster = Self {
            nodes: Vec::new(),
            base_port: 0,
            dir,
            node_timeout_ms,
        };
        // A free port can be taken by someone else before the node binds it: other ports then.
        let mut attempts = 0;
        while let Err(error) = cluster.spawn_all() {
            attempts += 1;
            cluster.kill_all();
            anyhow::ensure!(attempts < 5, error);
        }
        let addresses: Vec<String> = (0..cluster.nodes.len())
            .map(|node| format!("127.0.0.1:{}", cluster.port(node)))
            .collect();
        let output = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                anyhow::anyhow!(
                    "redis-cli: {e} (install Redis's tools: apt-get install redis-tools)"
                )
            })?;
        anyhow::ensure!(
            output.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        cluster.wait_ready()?;
        Ok(cluster)
    }

    /// Starts the six servers on a free base port (the nodes' ports and their bus ports free).
    fn spawn_all(&mut self) -> anyhow::Result<()> {
        self.base_port = free_base_port()?;
        for node in 0..usize::from(NODES) {
            std::fs::create_dir_all(self.node_dir(node))?;
            self.nodes.push(Some(self.spawn(node)?));
        }
        for node in 0..self.nodes.len() {
            let port = self.port(node);
            let dir = self.node_dir(node);
            let child = self.nodes[node].as_mut().expect("just started");
            wait_until_up(port, &dir, child)?;
        }
        Ok(())
    }

    fn spawn(&self, node: usize) -> anyhow::Result<Child> {
        let timeout = self.node_timeout_ms.to_string();
        spawn(
            self.port(node),
            &self.node_dir(node),
            &[
                "--appendonly",
                "yes",
                "--appendfsync",
                "everysec",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                &timeout,
            ],
        )
    }

    fn node_dir(&self, node: usize) -> PathBuf {
        self.dir.join(self.port(node).to_string())
    }

    /// The node's client port.
    pub fn port(&self, node: usize) -> u16 {
        self.base_port + node as u16
    }

    /// `redis://127.0.0.1:<port>` of every node: the seeds for `redis.cluster_nodes`.
    pub fn seeds(&self) -> Vec<String> {
        (0..self.nodes.len())
            .map(|node| format!("redis://127.0.0.1:{}", self.port(node)))
            .collect()
    }

    /// Points `redis` at this cluster (`mode = cluster`, every node a seed).
    pub fn configure(&self, redis: &mut RedisSettings) {
        redis.mode = RedisMode::Cluster;
        redis.cluster_nodes = self.seeds().into_iter().map(SecretString::from).collect();
    }

    /// The process id of a running node.
    pub fn pid(&self, node: usize) -> Option<u32> {
        self.nodes[node].as_ref().map(Child::id)
    }

    /// The primary serving `key`'s slot now (as a running node sees the cluster).
    pub fn primary_of(&self, key: &str) -> anyhow::Result<usize> {
        let slot = jobs::keys::slot(key);
        self.view()?
            .into_iter()
            .find(|n| n.primary.is_none() && n.slots.iter().any(|r| r.contains(&slot)))
            .map(|n| n.node)
            .ok_or_else(|| anyhow::anyhow!("no primary serves slot {slot} of {key}"))
    }

    /// A replica of `primary` that the cluster does not consider failed.
    pub fn replica_of(&self, primary: usize) -> anyhow::Result<usize> {
        let view = self.view()?;
        let id = &view
            .iter()
            .find(|n| n.node == primary)
            .ok_or_else(|| anyhow::anyhow!("node {primary} is not in the cluster"))?
            .id;
        view.iter()
            .find(|n| n.primary.as_ref() == Some(id) && !n.failed)
            .map(|n| n.node)
            .ok_or_else(|| anyhow::anyhow!("node {primary} has no healthy replica"))
    }

    /// SIGKILL of one node: no shutdown, as in a crash (its replica takes over after the node
    /// timeout).
    pub fn kill9(&mut self, node: usize) {
        if let Some(mut child) = self.nodes[node].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a killed node again from its folder (its AOF and `nodes.conf`): it rejoins, as a
    /// replica if its replica took over meanwhile. Returns once the cluster is whole again.
    pub fn restart(&mut self, node: usize) -> anyhow::Result<()> {
        anyhow::ensure!(self.nodes[node].is_none(), "node {node} is running");
        let mut child = self.spawn(node)?;
        let up = wait_until_up(self.port(node), &self.node_dir(node), &mut child);
        self.nodes[node] = Some(child);
        up?;
        self.wait_ready()
    }

    /// Waits (60 s at most) until every node runs and reports `cluster_state:ok`, three are
    /// primaries and the other three replicas whose link to their primary is up.
    pub fn wait_ready(&self) -> anyhow::Result<()> {
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            let problem = self.not_ready();
            let Some(problem) = problem else {
                return Ok(());
            };
            anyhow::ensure!(
                Instant::now() < give_up,
                "the cluster in {} is not ready: {problem}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What keeps the cluster from being ready, if anything.
    fn not_ready(&self) -> Option<String> {
        let mut primaries = 0;
        for node in 0..self.nodes.len() {
            if self.nodes[node].is_none() {
                return Some(format!("node {node} is not running"));
            }
            let port = self.port(node);
            let answers = query(port, &["CLUSTER", "INFO"])
                .and_then(|info| Ok((info, query(port, &["INFO", "replication"])?)));
            let (info, replication) = match answers {
                Ok(answers) => answers,
                Err(error) => return Some(format!("node {node}: {error}")),
            };
            if !info.contains("cluster_state:ok") {
                return Some(format!("node {node} is not cluster_state:ok"));
            }
            if replication.contains("role:master") {
                primaries += 1;
            } else if !replication.contains("master_link_status:up") {
                return Some(format!("replica {node} has no link to its primary"));
            }
        }
        (primaries != PRIMARIES).then(|| format!("{primaries} primaries, not {PRIMARIES}"))
    }

    /// `CLUSTER NODES` as the first running node sees it.
    fn view(&self) -> anyhow::Result<Vec<NodeView>> {
        let asked = (0..self.nodes.len())
            .find(|&node| self.nodes[node].is_some())
            .ok_or_else(|| anyhow::anyhow!("no node is running"))?;
        let text = query(self.port(asked), &["CLUSTER", "NODES"])?;
        Ok(text
            .lines()
            .filter_map(|line| NodeView::parse(line, self.base_port))
            .collect())
    }

    fn kill_all(&mut self) {
        for node in 0..self.nodes.len() {
            self.kill9(node);
        }
        self.nodes.clear();
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        self.kill_all();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One line of `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <primary id or -> … <slot ranges>`.
struct NodeView {
    node: usize,
    id: String,
    /// The id of its primary, for a replica.
    primary: Option<String>,
    failed: bool,
    slots: Vec<std::ops::RangeInclusive<u16>>,
}

impl NodeView {
    fn parse(line: &str, base_port: u16) -> Option<Self> {
        let fields: Vec<&str> = line.split(' ').collect();
        let port: u16 = fields
            .get(1)?
            .split('@')
            .next()?
            .rsplit(':')
            .next()?
            .parse()
            .ok()?;
        let flags = fields.get(2)?;
        let slots = fields
            .iter()
            .skip(8)
            .filter_map(|range| {
                let (first, last) = range.split_once('-').unwrap_or((range, range));
                Some(first.parse().ok()?..=last.parse().ok()?)
            })
            .collect();
        Some(Self {
            node: usize::from(port.checked_sub(base_port)?),
            id: fields[0].to_owned(),
            primary: fields
                .get(3)
                .filter(|id| **id != "-")
                .map(|id| (*id).to_owned()),
            failed: flags.contains("fail"),
            slots,
        })
    }
}

/// A base port where the six nodes' ports and their bus ports are all free now, picked at
/// random in 20000..30000 (below the ephemeral range; bus ports 30000..40000).
fn free_base_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let base = 20_000 + (ulid::Ulid::new().random() % 10_000) as u16;
        let free = (base..base + NODES)
            .flat_map(|port| [port, port + BUS_OFFSET])
            .all(|port| TcpListener::bind(("127.0.0.1", port)).is_ok());
        if free {
            return Ok(base);
        }
    }
    anyhow::bail!("found no six free ports (with their bus ports) in 20000..30000")
}

/// One command to the node on `port`, answered as text.
fn query(port: u16, command: &[&str]) -> redis::RedisResult<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(2))?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut cmd = redis::cmd(command[0]);
    cmd.arg(&command[1..]);
    cmd.query(&mut conn)
}
