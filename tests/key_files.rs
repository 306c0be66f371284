//! `status` and `key list` look at every sealed key file the store should
//! hold, without a passphrase, and name a file that is missing, empty or
//! not an age file. `status` then exits 1 so that monitoring notices;
//! `key list` shows the damage and exits 0.

mod common;

use std::path::{Path, PathBuf};

use common::{Workspace, example};
use serde_json::{Value, json};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The lines of `status` about key files: from `files:` up to `due:`.
fn files_section(status: &str) -> Vec<&str> {
    status
        .lines()
        .skip_while(|l| !l.starts_with("files:"))
        .take_while(|l| !l.starts_with("due:"))
        .collect()
}

/// The first line of `status` about key files when some are damaged.
fn damaged_header(damaged: usize, total: usize) -> String {
    format!(
        "files:  {damaged} of {total} key file(s) missing or damaged; \
         restore them from a backup of the store:"
    )
}

/// The FILE column of `key list`, one entry per key.
fn file_column(list: &str) -> Vec<&str> {
    list.lines()
        .skip(1)
        .map(|row| row.rsplit("  ").next().unwrap())
        .collect()
}

/// A store with its signing key's file damaged by `damage`.
fn damaged(damage: impl FnOnce(&Path)) -> (Workspace, String, PathBuf) {
    let (ws, kid) = Workspace::with_key("ES256");
    let path = ws.store().join("keys").join(format!("{kid}.age"));
    damage(&path);
    (ws, kid, path)
}

/// Checks what `status`, `status --json`, `key list` and `key list --json`
/// say about one damaged signing key file, whose state is `state`.
fn assert_reported(ws: &Workspace, kid: &str, path: &Path, state: &str) {
    let root = ws.store().join("root.age");

    let status = ws.covenant(&["status"]).run();
    assert_eq!(
        status.fails(1),
        format!(
            "covenant: {}: {state}; restore it from a backup of the store",
            path.display()
        )
    );
    assert_eq!(status.stderr.lines().count(), 1, "{}", status.stderr);
    assert_eq!(
        files_section(&status.stdout),
        [
            damaged_header(1, 2),
            format!("  {}: {state} (active key)", path.display()),
        ]
    );

    let status = ws.covenant(&["status", "--json"]).run();
    status.fails(1);
    assert_eq!(
        json(&status.stdout)["key_files"],
        json!([
            { "key": "root", "path": root, "state": "ok" },
            { "key": kid, "path": path, "state": state },
        ])
    );

    let warning = format!(
        "covenant: warning: {}: {state} (active key); \
         restore it from a backup of the store\n",
        path.display()
    );
    let list = ws.covenant(&["key", "list"]).run();
    assert_eq!(file_column(list.ok()), [state]);
    assert_eq!(list.stderr, warning);

    let list = ws.covenant(&["key", "list", "--json"]).run();
    let doc = json(list.ok());
    assert_eq!(doc["root_key_file"], "ok");
    assert_eq!(doc["keys"][0]["key_file"], state);
    assert_eq!(list.stderr, warning);
}

#[test]
fn a_healthy_store_reports_every_key_file_ok() {
    let (ws, kid) = Workspace::with_key("ES256");
    let status = ws.covenant(&["status"]).run();
    assert_eq!(
        files_section(status.ok()),
        ["files:  ok (root.age and 1 key file(s))"]
    );
    assert_eq!(status.stderr, "");
    let status = json(ws.covenant(&["status", "--json"]).run().ok());
    assert_eq!(
        status["key_files"],
        json!([
            { "key": "root", "path": ws.store().join("root.age"), "state": "ok" },
            { "key": kid, "path": ws.store().join(format!("keys/{kid}.age")), "state": "ok" },
        ])
    );
    let list = ws.covenant(&["key", "list"]).run();
    assert_eq!(file_column(list.ok()), ["ok"]);
    assert_eq!(list.stderr, "");
}

#[test]
fn a_deleted_key_file_is_missing() {
    let (ws, kid, path) = damaged(|path| std::fs::remove_file(path).unwrap());
    assert_reported(&ws, &kid, &path, "missing");
}

#[test]
fn a_key_file_truncated_to_nothing_is_empty() {
    let (ws, kid, path) = damaged(|path| {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(0)
            .unwrap()
    });
    assert_reported(&ws, &kid, &path, "empty");
}

#[test]
fn a_key_file_replaced_with_garbage_is_not_an_age_file() {
    let (ws, kid, path) = damaged(|path| std::fs::write(path, "{\"kty\":\"EC\"}\n").unwrap());
    assert_reported(&ws, &kid, &path, "not an age file");
}

#[test]
fn a_directory_in_place_of_a_key_file_is_not_a_regular_file() {
    let (ws, kid, path) = damaged(|path| {
        std::fs::remove_file(path).unwrap();
        std::fs::create_dir(path).unwrap();
    });
    assert_reported(&ws, &kid, &path, "not a regular file");
}

#[test]
fn a_deleted_root_key_file_is_reported_and_other_commands_still_refuse() {
    let (ws, kid) = Workspace::with_key("ES256");
    let root = ws.store().join("root.age");
    std::fs::remove_file(&root).unwrap();

    let status = ws.covenant(&["status"]).run();
    assert_eq!(
        status.fails(1),
        format!(
            "covenant: {}: missing; restore it from a backup of the store",
            root.display()
        )
    );
    assert_eq!(
        files_section(&status.stdout),
        [
            damaged_header(1, 2),
            format!("  {}: missing (the root key)", root.display()),
        ]
    );
    let status = ws.covenant(&["status", "--json"]).run();
    status.fails(1);
    assert_eq!(json(&status.stdout)["key_files"][0]["state"], "missing");
    assert_eq!(json(&status.stdout)["key_files"][1]["state"], "ok");

    let list = ws.covenant(&["key", "list", "--json"]).run();
    let doc = json(list.ok());
    assert_eq!(doc["root_key_file"], "missing");
    assert_eq!(doc["keys"][0]["kid"], kid.as_str());
    assert_eq!(doc["keys"][0]["key_file"], "ok");
    assert_eq!(
        list.stderr,
        format!(
            "covenant: warning: {}: missing (the root key); \
             restore it from a backup of the store\n",
            root.display()
        )
    );

    let mint = ws
        .covenant(&["mint"])
        .arg(example("acme-logistics.toml"))
        .passphrase()
        .run();
    assert_eq!(
        mint.fails(2),
        format!(
            "covenant: {}: the store is incomplete: root.age is missing",
            ws.store().display()
        )
    );
}

#[test]
fn several_damaged_files_are_named_together_and_a_destroyed_key_needs_none() {
    let (ws, signer) = Workspace::with_key("ES256");
    let next = |ws: &Workspace| {
        let run = ws
            .covenant(&["key", "generate", "--next"])
            .passphrase()
            .run();
        run.ok().trim().to_string()
    };
    let gone = next(&ws);
    ws.covenant(&["key", "destroy", &gone]).run().ok();
    let waiting = next(&ws);
    let root = ws.store().join("root.age");
    let signer_file = ws.store().join(format!("keys/{signer}.age"));
    std::fs::write(&root, "").unwrap();
    std::fs::remove_file(&signer_file).unwrap();

    let status = ws.covenant(&["status"]).run();
    assert_eq!(
        status.fails(1),
        format!(
            "covenant: 2 key files are missing or damaged: {} (empty), {} (missing); \
             restore them from a backup of the store",
            root.display(),
            signer_file.display()
        )
    );
    assert_eq!(
        files_section(&status.stdout),
        [
            damaged_header(2, 3),
            format!("  {}: empty (the root key)", root.display()),
            format!("  {}: missing (active key)", signer_file.display()),
        ]
    );

    let list = ws.covenant(&["key", "list"]).run();
    assert_eq!(file_column(list.ok()), ["missing", "-", "ok"]);
    let list = json(ws.covenant(&["key", "list", "--json"]).run().ok());
    let files: Vec<_> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["key_file"].clone()))
        .collect();
    assert_eq!(
        files,
        [
            (signer.as_str(), json!("missing")),
            (gone.as_str(), Value::Null),
            (waiting.as_str(), json!("ok")),
        ]
    );
    assert_eq!(list["root_key_file"], "empty");
}
