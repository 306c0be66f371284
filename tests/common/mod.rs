//! What the integration tests share: a private workspace per test, a way
//! to run the real `covenant` binary in it, and snapshots of a directory
//! so a test can prove that a refused command changed nothing.
//!
//! Each test file includes this module and uses only part of it.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The simulated time most tests run at: before the ACME Logistics
/// contract starts, so its token can be minted but not yet used.
pub const NOW: &str = "2026-06-01T00:00:00Z";

/// A time inside the ACME Logistics contract, for verifying its token.
pub const DURING_ACME: &str = "2027-03-15T12:00:00Z";

pub const ISSUER: &str = "https://issuer.example.com";
pub const AUDIENCE: &str = "https://api.example.com/partners";

/// The passphrase every test key is sealed with.
pub const PASSPHRASE: &str = "correct horse battery staple";

/// age's scrypt work factor in tests: 2^8 instead of 2^18, so that sealing
/// and unsealing a key takes microseconds. The format is unchanged, so the
/// `age` command still opens the files.
const SCRYPT_LOG_N: &str = "8";

/// The repository root, where docs/examples lives.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A shipped example file.
pub fn example(name: &str) -> PathBuf {
    repo().join("docs/examples").join(name)
}

/// A temporary directory holding one test's store, inputs and outputs.
pub struct Workspace {
    dir: tempfile::TempDir,
    now: String,
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "covenant failed:\n{}", self.stderr);
        &self.stdout
    }

    /// Asserts the exit code and returns the first line of stderr, the
    /// complete one-line cause that scripts and logs see.
    #[track_caller]
    pub fn fails(&self, code: i32) -> &str {
        assert_eq!(
            self.code, code,
            "unexpected exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self.stderr.lines().next().unwrap_or("")
    }
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("the system temp directory is writable"),
            now: NOW.to_string(),
        }
    }

    /// A workspace with a store made from docs/examples/policy.toml.
    pub fn with_store() -> Workspace {
        let ws = Workspace::new();
        ws.covenant(&["init", "--policy"])
            .arg(example("policy.toml"))
            .passphrase()
            .run()
            .ok();
        ws
    }

    /// A workspace with a store and one active key of `alg`.
    pub fn with_key(alg: &str) -> (Workspace, String) {
        let ws = Workspace::with_store();
        let mut generate = ws.covenant(&["key", "generate", "--alg", alg]);
        if alg.starts_with("RS") || alg.starts_with("PS") {
            // The smallest size covenant makes, to keep tests quick.
            generate = generate.args(["--bits", "2048"]);
        }
        let kid = generate.passphrase().run().ok().trim().to_string();
        (ws, kid)
    }

    /// Moves this workspace's clock for all later runs.
    pub fn set_now(&mut self, now: &str) {
        self.now = now.to_string();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// Writes an input file and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).expect("the workspace is writable");
        path
    }

    /// The passphrase file, created private so covenant does not warn.
    pub fn passphrase_file(&self) -> PathBuf {
        let path = self.path("passphrase");
        if !path.exists() {
            fs::write(&path, format!("{PASSPHRASE}\n")).expect("the workspace is writable");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o600))
                .expect("the workspace is writable");
        }
        path
    }

    /// Starts a command line for the binary, with the workspace's store,
    /// clock and a cheap scrypt.
    pub fn covenant(&self, args: &[&str]) -> Invocation<'_> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_covenant"));
        command
            .current_dir(self.root())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("COVENANT_STORE", self.store())
            .env("COVENANT_ACTOR", "test-officer")
            .env("COVENANT_TEST_NOW", &self.now)
            .env("COVENANT_TEST_SCRYPT_LOG_N", SCRYPT_LOG_N)
            .stdin(Stdio::null())
            .args(args);
        Invocation {
            workspace: self,
            command,
            stdin: None,
            umask: None,
        }
    }

    /// The workspace's files and their modes, to compare before and after
    /// a command.
    pub fn snapshot(&self) -> Snapshot {
        snapshot(self.root())
    }

    /// The ACME Logistics example minted with the workspace's key: the
    /// token, and stderr.
    pub fn mint_acme(&self) -> String {
        let out = self
            .covenant(&["mint"])
            .arg(example("acme-logistics.toml"))
            .passphrase()
            .run();
        out.ok().trim().to_string()
    }
}

/// A command line being assembled.
pub struct Invocation<'a> {
    workspace: &'a Workspace,
    command: Command,
    stdin: Option<Vec<u8>>,
    umask: Option<u32>,
}

impl Invocation<'_> {
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    /// Adds `--passphrase-file` with the workspace's passphrase.
    pub fn passphrase(self) -> Self {
        let path = self.workspace.passphrase_file();
        self.arg("--passphrase-file").arg(path)
    }

    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// Runs the binary under this umask, through `sh`, since the umask is
    /// inherited and std has no safe way to set it for a child.
    pub fn umask(mut self, mask: u32) -> Self {
        self.umask = Some(mask);
        self
    }

    /// Runs the binary in a new session with `setsid -w`, so it has no
    /// controlling terminal even when the tests run in one.
    pub fn without_terminal(self) -> Self {
        self.wrap(&["setsid", "-w"])
    }

    /// Runs the binary through another program (`timeout 20`, `setsid
    /// -w`), with the same arguments and environment.
    pub fn wrap(mut self, prefix: &[&str]) -> Self {
        let mut wrapped = Command::new(prefix[0]);
        wrapped.args(&prefix[1..]);
        wrapped.arg(self.command.get_program());
        wrapped.args(self.command.get_args());
        wrapped.current_dir(self.workspace.root()).env_clear();
        for (name, value) in self.command.get_envs() {
            if let Some(value) = value {
                wrapped.env(name, value);
            }
        }
        wrapped.stdin(Stdio::null());
        self.command = wrapped;
        self
    }

    /// Starts the binary without waiting for it, for tests that interrupt
    /// it or run two at once.
    pub fn spawn(mut self) -> std::process::Child {
        self.command.stdout(Stdio::piped()).stderr(Stdio::piped());
        self.command.spawn().expect("covenant starts")
    }

    /// Runs the binary with stderr a pipe whose reader has already gone,
    /// as when the program collecting its messages has died: every write to
    /// stderr fails. `Run::stderr` is empty.
    pub fn run_with_stderr_closed(mut self) -> Run {
        let (reader, writer) = std::io::pipe().expect("the system makes pipes");
        drop(reader);
        self.command
            .stdout(Stdio::piped())
            .stderr(Stdio::from(writer));
        Run::from(self.command.output().expect("the covenant binary runs"))
    }

    pub fn run(mut self) -> Run {
        if let Some(mask) = self.umask {
            let script = format!("umask {mask:03o}; exec \"$0\" \"$@\"");
            self = self.wrap(&["sh", "-c", &script]);
        }
        let output = match self.stdin {
            None => self.command.output(),
            Some(bytes) => {
                use std::io::Write;
                self.command.stdin(Stdio::piped()).stdout(Stdio::piped());
                self.command.stderr(Stdio::piped());
                let mut child = self.command.spawn().expect("covenant starts");
                child
                    .stdin
                    .take()
                    .expect("stdin is piped")
                    .write_all(&bytes)
                    .expect("covenant reads its stdin");
                child.wait_with_output()
            }
        }
        .expect("the covenant binary runs");
        Run::from(output)
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            code: output.status.code().expect("covenant exits, not killed"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        }
    }
}

/// Every file under a directory with its mode and bytes, and every
/// directory with its mode.
pub type Snapshot = BTreeMap<PathBuf, (u32, Vec<u8>)>;

pub fn snapshot(root: &Path) -> Snapshot {
    let mut all = Snapshot::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("the snapshot directory is readable") {
            let path = entry.expect("directory entries are readable").path();
            let meta = fs::symlink_metadata(&path).expect("entries have metadata");
            let mode = meta.permissions().mode() & 0o7777;
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if meta.is_dir() {
                all.insert(relative, (mode, Vec::new()));
                pending.push(path);
            } else {
                let bytes = fs::read(&path).expect("files are readable");
                all.insert(relative, (mode, bytes));
            }
        }
    }
    all
}

/// The mode bits of a file or directory.
pub fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The claims of a compact JWS, decoded without verifying anything.
pub fn claims(token: &str) -> serde_json::Value {
    part(token, 1)
}

/// The header of a compact JWS, decoded without verifying anything.
pub fn header(token: &str) -> serde_json::Value {
    part(token, 0)
}

fn part(token: &str, index: usize) -> serde_json::Value {
    use base64::Engine;
    let encoded = token.split('.').nth(index).expect("a compact JWS");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .expect("unpadded base64url");
    serde_json::from_slice(&bytes).expect("a JSON part")
}
