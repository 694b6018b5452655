//! Contract fuzzing: schemathesis against the served `/openapi.json` of the real binary, every
//! check and every phase (examples, coverage, fuzzing, stateful), with `--auth none` and with
//! `--auth jwt` and a token from the test issuer (whose JWKS it serves over HTTP). Zero failures:
//! the document says exactly what the service accepts and answers.
//!
//! schemathesis is pinned (`scripts/contract/requirements.txt`) and installed by `./scripts/test`
//! into the git-ignored `.venv/contract`. Each run is bounded to [`MAX_EXAMPLES`] cases per
//! operation and phase, with a fixed seed so CI is reproducible (`CLEARANCE_CONTRACT_EXAMPLES` and
//! `CLEARANCE_CONTRACT_SEED` ask for more or other cases).

use std::path::PathBuf;
use std::time::Duration;

use clearance_tests::issuer::TestIssuer;
use serde_json::json;

use crate::helpers::start_binary;

/// Cases per operation in each phase: enough to meet every rule of every operation (about 1,700
/// cases in all), few enough for about 30 s per run on one core.
const MAX_EXAMPLES: &str = "25";
/// The seed of CI's runs.
const SEED: &str = "20261130";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the service crate is in the workspace")
        .to_path_buf()
}

/// Runs schemathesis against `base`'s document with `extra` arguments; panics with its report
/// unless it found no failure; returns its summary lines.
async fn fuzz(base: &str, extra: &[&str]) -> String {
    let root = repository();
    let schemathesis = root.join(".venv/contract/bin/schemathesis");
    assert!(
        schemathesis.exists(),
        "schemathesis is not installed at {}: run ./scripts/test, which installs the pinned version \
         (scripts/contract/requirements.txt) into .venv/contract",
        schemathesis.display()
    );
    let examples =
        std::env::var("CLEARANCE_CONTRACT_EXAMPLES").unwrap_or_else(|_| MAX_EXAMPLES.into());
    let seed = std::env::var("CLEARANCE_CONTRACT_SEED").unwrap_or_else(|_| SEED.into());
    let config = root.join("scripts/contract/schemathesis.toml");
    let report = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(&schemathesis);
    command
        .env("SCHEMATHESIS_HOOKS", root.join("scripts/contract/hooks.py"))
        .arg("--config-file")
        .arg(&config)
        .args(["--no-color", "run", &format!("{base}/openapi.json")])
        .args(["--checks", "all"])
        .args(["--phases", "examples,coverage,fuzzing,stateful"])
        .args(["--max-examples", &examples, "--seed", &seed])
        .args(["--request-timeout", "10"])
        .arg("--report-dir")
        .arg(report.path())
        .args(extra)
        .current_dir(report.path())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(600), command.output())
        .await
        .expect("schemathesis ends within 10 minutes")
        .expect("schemathesis runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures against {base}:\n{text}"
    );
    let summary: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains("SUMMARY"))
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        summary.iter().any(|l| l.contains("Stateful")),
        "the stateful phase ran:\n{text}"
    );
    summary.join("\n")
}

#[tokio::test]
async fn contract_fuzzing_finds_no_failure_without_authentication() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let (mut child, base, _) = start_binary(&["--data-dir", data, "--auth", "none"], &[]).await;
    let summary = fuzz(&base, &[]).await;
    eprintln!("contract fuzzing, --auth none:\n{summary}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn contract_fuzzing_finds_no_failure_with_jwt_authentication() {
    let issuer = TestIssuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let env: Vec<(String, String)> = issuer.verifier_env("contract-fuzzer");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (mut child, base, _) = start_binary(&["--data-dir", data, "--auth", "jwt"], &env).await;
    // The write scope reads and writes: every operation, the stateful phase's changes included.
    let mut claims = issuer.access_claims("contract-fuzzer-user", "contract-fuzzer");
    claims["scope"] = json!("clearance/write");
    let token = issuer.sign(&claims);
    // The token is accepted (else every case would be a documented 401 and prove little).
    let created = reqwest::Client::new()
        .put(format!("{base}/users/contract-fuzzer-check"))
        .bearer_auth(&token)
        .json(&json!({"companies": ["1111"], "role": "Manager"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "the fuzzer's token is accepted");
    let authorization = format!("Authorization: Bearer {token}");
    let summary = fuzz(&base, &["--header", &authorization]).await;
    eprintln!("contract fuzzing, --auth jwt:\n{summary}");
    child.kill().await.unwrap();
}
