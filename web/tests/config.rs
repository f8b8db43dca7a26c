//! Start-up configuration as operators meet it.

use std::process::Command;

#[test]
fn a_bad_config_value_stops_the_program_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_web"))
        .arg("migrate")
        .env("NOVEL_ENV", "test")
        .env("NOVEL__HTTP__PORT", "not-a-port")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("http.port"), "{stderr}");
}

#[test]
fn an_out_of_range_datacenter_is_refused_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_web"))
        .arg("migrate")
        .env("NOVEL_ENV", "test")
        .env("NOVEL__IDS__DATACENTER_ID", "40")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("ids.datacenter_id"), "{stderr}");
}
