//! The cluster harness does what the failover bench relies on.

use std::time::{Duration, Instant};

use testkit::redis_cluster::RedisCluster;

#[test]
fn a_killed_primarys_replica_takes_over_and_the_restarted_node_rejoins_as_its_replica() {
    let mut cluster = RedisCluster::start(1000).unwrap();
    assert_eq!(cluster.seeds().len(), 6);
    let key = "{novel:p0}:q:purchase";
    let primary = cluster.primary_of(key).unwrap();
    let replica = cluster.replica_of(primary).unwrap();
    assert_ne!(primary, replica);
    assert!(cluster.pid(primary).is_some());

    cluster.kill9(primary);
    assert_eq!(cluster.pid(primary), None);
    let give_up = Instant::now() + Duration::from_secs(30);
    while cluster.primary_of(key).ok() != Some(replica) {
        assert!(Instant::now() < give_up, "the replica never took over");
        std::thread::sleep(Duration::from_millis(100));
    }

    cluster.restart(primary).unwrap();
    assert_eq!(cluster.primary_of(key).unwrap(), replica);
    assert_eq!(cluster.replica_of(replica).unwrap(), primary);
}
