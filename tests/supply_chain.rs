//! Supply-chain checks that run offline from Cargo.lock: no networking
//! crate anywhere in the binary's dependency graph, and every direct
//! dependency explained in docs/dependencies.md.

use std::collections::BTreeSet;
use std::process::Command;

/// Crates whose purpose is network I/O. covenant is air-gapped by design;
/// one of these appearing, even transitively, means a dependency changed
/// in a way that needs a human decision.
const BANNED: &[&str] = &[
    "async-std",
    "attohttpc",
    "curl",
    "curl-sys",
    "h2",
    "h3",
    "hickory-proto",
    "hickory-resolver",
    "hyper",
    "hyper-util",
    "isahc",
    "mio",
    "native-tls",
    "openssl",
    "openssl-sys",
    "quinn",
    "reqwest",
    "rustls",
    "smol",
    "socket2",
    "surf",
    "tokio",
    "tokio-rustls",
    "tungstenite",
    "trust-dns-proto",
    "trust-dns-resolver",
    "ureq",
    "webpki-roots",
];

fn cargo_tree(extra: &[&str]) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--locked",
            "--offline",
            "--edges",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

#[test]
fn no_networking_crate_is_linked() {
    let graph = cargo_tree(&[]);
    assert!(graph.contains("ring"), "the graph was read: {graph:?}");
    let found: Vec<_> = BANNED.iter().filter(|b| graph.contains(**b)).collect();
    assert!(
        found.is_empty(),
        "networking crates in the dependency graph: {found:?}"
    );
}

#[test]
fn every_direct_dependency_is_explained() {
    let direct = cargo_tree(&["--depth", "1"]);
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/dependencies.md"))
        .unwrap();
    let missing: Vec<_> = direct
        .iter()
        .filter(|name| *name != "covenant" && !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "explain these in docs/dependencies.md: {missing:?}"
    );
}
