//! Schemathesis (from PyPI; scripts/test.sh installs it) fuzzes the whole JSON API from its
//! OpenAPI document with a signed-in token: no 5xx, every response matches the document, and
//! the money invariants hold afterwards.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::Value;
use testkit::WorkerProcess;

use crate::helpers::spawn_app;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_covers_the_api() {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), StatusCode::OK);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/books",
        "/api/purchases",
        "/api/purchases/batch",
        "/api/jobs/{job_id}",
        "/api/admin/sessions",
        "/api/me/follows",
        "/api/author/books/{book_id}/chapters",
    ] {
        assert!(paths.contains_key(path), "{path} undocumented");
    }
    assert_eq!(
        doc["components"]["schemas"]["ErrorBody"]["required"],
        serde_json::json!(["error", "message"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let app = spawn_app().await;
    let _worker = WorkerProcess::spawn(&app.state.settings);
    app.load_demo().await;
    let reader = app.reader_with_coins("fuzzer", 1000).await;
    app.create_admin("fuzzboss").await;
    let admin = app.sign_in("fuzzboss").await;
    // A reader over the whole API, then an admin over the admin routes.
    fuzz(&app.address, &reader.token, &[]);
    fuzz(
        &app.address,
        &admin.token,
        &["--include-path-regex", "^/api/admin/"],
    );
    testkit::assert_books_balance(&app.state.db).await;
}

fn fuzz(address: &str, token: &str, only: &[&str]) {
    let output = Command::new("st")
        .args(["run", &format!("{address}/api/openapi.json")])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,content_type_conformance",
        ])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--max-examples",
            "25",
            "--seed",
            "7",
            "--workers",
            "2",
            "--request-timeout",
            "20",
        ])
        .args(["--suppress-health-check", "all", "--no-color"])
        // These two end the token the fuzzer signs in with; they are covered by their own tests.
        .args([
            "--exclude-path",
            "/api/auth/logout",
            "--exclude-path",
            "/api/me/password",
        ])
        .args(only)
        .output()
        .expect("schemathesis is installed (scripts/test.sh: pip install schemathesis)");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
