//! Running the real `clearance-seed` binary, and the data and targets the tests give it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use clearance_tests::dynalite::Dynalite;
use tokio::io::AsyncWriteExt;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_clearance-seed");

/// What a run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit status, showing the output if it is not the one expected.
    #[track_caller]
    pub fn expect(self, status: i32) -> Self {
        assert_eq!(
            self.status, status,
            "exit status\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that standard error contains `text`.
    #[track_caller]
    pub fn says(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// A command line for the binary with a clean environment: nothing of the caller's AWS or
/// Clearance settings leaks in.
pub struct Seed {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
}

impl Seed {
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.env.push((name.to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Starts the binary (standard input, output and error piped).
    pub fn spawn(self) -> tokio::process::Child {
        let mut command = tokio::process::Command::new(BIN);
        command
            .args(&self.args)
            .env_clear()
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/aws-credentials",
            )
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the binary starts");
        let stdin = self.stdin.unwrap_or_default();
        let mut pipe = child.stdin.take().expect("piped stdin");
        tokio::spawn(async move {
            // The binary may exit without reading: a broken pipe is fine.
            let _ = pipe.write_all(&stdin).await;
        });
        child
    }

    /// Runs the binary to the end.
    pub async fn run(self) -> Run {
        let output = self
            .spawn()
            .wait_with_output()
            .await
            .expect("the binary runs");
        Run {
            status: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
        }
    }
}

/// A temporary directory with an embedded store in `data/` and room for files.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `text` to the file `name` and returns its path as a string.
    pub fn file(&self, name: &str, text: impl AsRef<[u8]>) -> String {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write test file");
        path.display().to_string()
    }

    /// The embedded store's options.
    pub fn store(&self) -> Vec<String> {
        vec![
            "--store".into(),
            "embedded".into(),
            "--data-dir".into(),
            self.path("data").display().to_string(),
        ]
    }

    /// `import FILE` into the embedded store, with `extra` options.
    pub async fn import(&self, file: &str, extra: &[&str]) -> Run {
        Seed::new(["import", file])
            .args(self.store())
            .args(extra)
            .run()
            .await
    }

    /// `export` of the embedded store in `format`, returning the output.
    pub async fn export(&self, format: &str) -> String {
        Seed::new(["export", "--format", format, "--quiet"])
            .args(self.store())
            .run()
            .await
            .expect(0)
            .stdout
    }
}

/// dynalite with a fresh table, and the options that point the binary at it (given as the
/// service's environment variables, so those names are exercised too).
pub struct Dynamo {
    pub dynalite: Dynalite,
    pub table: String,
}

impl Dynamo {
    pub async fn start() -> Self {
        let dynalite = Dynalite::start().await;
        let table = dynalite.fresh_table().await;
        Self { dynalite, table }
    }

    /// The binary, pointed at this table at `endpoint` (dynalite's, or a proxy's).
    pub fn seed_via<I, S>(&self, endpoint: &str, args: I) -> Seed
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Seed::new(args)
            .env("CLEARANCE_STORE", "dynamodb")
            .env("TABLE_NAME", &self.table)
            .env("DYNAMODB_ENDPOINT_URL", endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "AKIDFAKEDYNALITE")
            .env("AWS_SECRET_ACCESS_KEY", "fake-secret")
    }

    /// The binary, pointed at this table.
    pub fn seed<I, S>(&self, args: I) -> Seed
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.seed_via(&self.dynalite.endpoint(), args)
    }

    /// `export` of the table in `format`, returning the output.
    pub async fn export(&self, format: &str) -> String {
        self.seed(["export", "--format", format, "--quiet"])
            .run()
            .await
            .expect(0)
            .stdout
    }

    /// Every item of the table, raw.
    pub async fn items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let client = self.dynalite.client();
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return items,
            }
        }
    }
}

/// One store, embedded (no dynalite) or DynamoDB, seen through the binary; files in a temp dir.
/// Tests that hold for every store run on each of [`Store::all`].
pub struct Store {
    dynamo: Option<Dynamo>,
    files: Workspace,
}

impl Store {
    /// The embedded store and a dynalite table, both empty.
    pub async fn all() -> Vec<Store> {
        vec![
            Store {
                dynamo: None,
                files: Workspace::new(),
            },
            Store {
                dynamo: Some(Dynamo::start().await),
                files: Workspace::new(),
            },
        ]
    }

    pub fn name(&self) -> &'static str {
        if self.dynamo.is_some() {
            "dynamodb"
        } else {
            "embedded"
        }
    }

    pub fn files(&self) -> &Workspace {
        &self.files
    }

    /// The binary, pointed at this store.
    pub fn seed(&self, args: &[&str]) -> Seed {
        match &self.dynamo {
            Some(dynamo) => dynamo.seed(args),
            None => Seed::new(args).args(self.files.store()),
        }
    }

    /// `import` of `text` as CSV, with `extra` options.
    pub async fn import(&self, text: &str, extra: &[&str]) -> Run {
        self.import_file("import.csv", text, extra).await
    }

    /// `import` of `bytes` in a file called `name` (its extension gives the format).
    pub async fn import_file(&self, name: &str, bytes: impl AsRef<[u8]>, extra: &[&str]) -> Run {
        let file = self.files().file(name, bytes);
        self.seed(&["import", &file]).args(extra).run().await
    }

    /// The change history the store holds for `id`, newest first (read once the binary has
    /// exited and let go of the store).
    pub async fn history(&self, id: &str) -> Vec<clearance_core::domain::HistoryEntry> {
        use clearance_core::store::PermissionStore;
        let id = clearance_core::domain::UserId::parse(id).expect("a valid id");
        match &self.dynamo {
            Some(dynamo) => clearance_core::store::dynamodb::DynamoStore::from_client(
                dynamo.dynalite.client(),
                &dynamo.table,
                &clearance_core::store::dynamodb::DynamoSettings::new(&dynamo.table),
            )
            .history(&id)
            .await
            .expect("read the history"),
            None => clearance_core::store::embedded::EmbeddedStore::open(&self.files.path("data"))
                .expect("open the embedded store")
                .history(&id)
                .await
                .expect("read the history"),
        }
    }

    /// `export` as CSV.
    pub async fn export(&self) -> String {
        self.seed(&["export", "--format", "csv", "--quiet"])
            .run()
            .await
            .expect(0)
            .stdout
    }
}

/// `n` users with ids `user-000000`..., sorted, each with 0-3 companies and a role.
pub fn users(n: usize) -> Vec<(String, Vec<String>, &'static str)> {
    const ROLES: [&str; 3] = ["Standard", "Manager", "Admin"];
    (0..n)
        .map(|i| {
            let companies = (0..i % 4).map(|c| format!("c{}", (i + c) % 50)).collect();
            (format!("user-{i:06}"), companies, ROLES[i % 3])
        })
        .collect()
}

/// Users as NDJSON, in export's formatting.
pub fn ndjson(users: &[(String, Vec<String>, &str)]) -> String {
    users
        .iter()
        .map(|u| format!("{}\n", json_line(u)))
        .collect()
}

/// Users as a JSON array, in export's formatting.
pub fn json(users: &[(String, Vec<String>, &str)]) -> String {
    if users.is_empty() {
        return "[]\n".into();
    }
    let lines: Vec<String> = users
        .iter()
        .map(|u| format!("  {}", json_line(u)))
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

/// Users as CSV, in export's formatting (the test ids need no quoting).
pub fn csv(users: &[(String, Vec<String>, &str)]) -> String {
    let mut text = String::from("id,companies,role\n");
    for (id, companies, role) in users {
        text.push_str(&format!("{id},{},{role}\n", companies.join(";")));
    }
    text
}

fn json_line((id, companies, role): &(String, Vec<String>, &str)) -> String {
    let companies: Vec<String> = companies.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{{\"id\": \"{id}\", \"companies\": [{}], \"role\": \"{role}\"}}",
        companies.join(", ")
    )
}

/// The workspace's sample data set.
pub fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/users.json")
}
