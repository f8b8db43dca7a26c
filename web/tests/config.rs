//! Start-up configuration as operators meet it.

use std::process::Command;

#[test]
fn a_bad_config_value_stops_the_program_naming_the_key() {
    let (code, stderr) = migrate_with("NOVEL__HTTP__PORT", "not-a-port");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("http.port"), "{stderr}");
}

/// `web migrate` with one `NOVEL__…` override: its exit code and standard error.
fn migrate_with(key: &str, value: &str) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_web"))
        .arg("migrate")
        .env("NOVEL_ENV", "test")
        .env(key, value)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code(), stderr)
}

#[test]
fn an_out_of_range_datacenter_is_refused_naming_the_key() {
    let (code, stderr) = migrate_with("NOVEL__IDS__DATACENTER_ID", "40");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("ids.datacenter_id"), "{stderr}");
}

#[test]
fn a_group_size_past_one_statements_parameters_is_refused_naming_the_key() {
    let (code, stderr) = migrate_with("NOVEL__JOBS__BATCH_SIZE", "66");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("jobs.batch_size"), "{stderr}");
}
