//! Scripted ceremonies, run as the real binary: every shipped script to
//! completion from an answers file, one driven through a terminal the way
//! a room drives it, transcripts that verify and fail when any byte
//! changes, abandoned and killed ceremonies that leave the store as it was,
//! and user scripts refused before they start.

mod common;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{PASSPHRASE, Workspace, example, snapshot};
use covenant::ceremony::script::Script;

/// The shipped script of this name.
fn shipped(name: &str) -> Script {
    Script::load(
        &common::repo()
            .join("ceremonies")
            .join(format!("{name}.toml")),
    )
    .unwrap()
}

/// An answers file that names every role, gives `inputs`, and confirms
/// every step with the roles the script asks.
fn answers(ws: &Workspace, script: &Script, inputs: &[(&str, String)]) -> PathBuf {
    let mut text = String::from("[roles]\n");
    for role in &script.roles {
        let _ = writeln!(text, "{} = \"{} holder\"", role.id, role.title);
    }
    text.push_str("\n[inputs]\n");
    for (id, value) in inputs {
        let _ = writeln!(text, "{id} = {value:?}");
    }
    text.push_str("\n[confirm]\n");
    for step in &script.steps {
        let _ = writeln!(text, "{} = {:?}", step.id, step.confirm);
    }
    ws.write(&format!("{}-answers.toml", script.name), &text)
}

/// The root fingerprint of the workspace's store.
fn root_fingerprint(ws: &Workspace) -> String {
    let ledger = fs::read_to_string(ws.store().join("ledger.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    let root = covenant::jwk::Jwk::from_json(&first["event"]["payload"]["root"]).unwrap();
    covenant::root::fingerprint(&root)
}

/// Runs a shipped script from an answers file; returns its output
/// directory.
fn run_shipped(ws: &Workspace, name: &str, inputs: &[(&str, String)]) -> PathBuf {
    let script = shipped(name);
    let file = answers(ws, &script, inputs);
    let out = ws.path(&format!("out-{name}"));
    let run = ws
        .covenant(&["ceremony", "run", name, "--answers"])
        .arg(&file)
        .arg("--out-dir")
        .arg(&out)
        .passphrase()
        .run();
    assert_eq!(
        run.ok().trim(),
        out.join("transcript.json").display().to_string()
    );
    out
}

fn verify(ws: &Workspace, transcript: &Path) -> common::Run {
    ws.covenant(&["ceremony", "verify"])
        .arg(transcript)
        .args(["--trust", &root_fingerprint(ws)])
        .run()
}

/// Flips bytes of a transcript and checks, in process, that each flip is
/// refused. `every` samples the bytes: 1 flips every one.
fn every_flip_is_refused(ws: &Workspace, transcript: &Path, every: usize) {
    let original = fs::read(transcript).unwrap();
    let trusted = root_fingerprint(ws);
    let ledger = ws.store().join("ledger.jsonl");
    let flipped = ws.path("flipped.json");
    for i in (0..original.len()).step_by(every) {
        let mut bytes = original.clone();
        bytes[i] ^= 0x01;
        fs::write(&flipped, &bytes).unwrap();
        let result = covenant::ceremony::transcript::verify(&flipped, &trusted, |visit| {
            covenant::ledger::replay(&ledger, |r| visit(r)).map(drop)
        });
        assert!(result.is_err(), "flip at byte {i} went unnoticed");
    }
}

#[test]
fn store_initialisation_runs_to_completion_and_its_transcript_verifies() {
    let ws = Workspace::new();
    let policy = example("policy.toml").display().to_string();
    let out = run_shipped(&ws, "store-init", &[("policy", policy)]);

    assert!(ws.store().join("root.age").exists());
    let transcript = out.join("transcript.json");
    let run = verify(&ws, &transcript);
    assert_eq!(
        run.ok(),
        "transcript valid: ceremony store-init, 6 steps, signed by the pinned root, \
         recorded as ledger record 1\n"
    );
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&transcript).unwrap()).unwrap();
    let values = &doc["body"]["steps"][2]["values"][0];
    assert_eq!(values["label"], "root.fingerprint");
    assert_eq!(values["hex"], root_fingerprint(&ws));
    assert_eq!(values["words"].as_str().unwrap().split(' ').count(), 32);
    let md = fs::read_to_string(out.join("transcript.md")).unwrap();
    assert!(md.contains("| Witness | Witness holder | |"), "{md}");
    every_flip_is_refused(&ws, &transcript, 7);
}

#[test]
fn key_generation_runs_to_completion_and_any_flipped_byte_fails_verification() {
    let ws = Workspace::with_store();
    let out = run_shipped(&ws, "key-generation", &[]);
    let transcript = out.join("transcript.json");
    verify(&ws, &transcript).ok();
    assert!(out.join("jwks.json").exists());
    every_flip_is_refused(&ws, &transcript, 1);
}

#[test]
fn rotation_minting_emergency_and_destruction_run_to_completion() {
    let (ws, kid) = Workspace::with_key("ES256");
    let contract = example("acme-logistics.toml").display().to_string();
    let runs: [(&str, Vec<(&str, String)>); 4] = [
        ("scheduled-rotation", vec![("alg", "EdDSA".into())]),
        ("partner-minting", vec![("contract", contract)]),
        (
            "emergency-compromise",
            vec![("kid", kid.clone()), ("report", "INC-2026-17".into())],
        ),
        ("key-destruction", vec![("kid", kid)]),
    ];
    for (name, inputs) in runs {
        let out = run_shipped(&ws, name, &inputs);
        let transcript = out.join("transcript.json");
        let run = verify(&ws, &transcript);
        assert!(run.ok().contains(&format!("ceremony {name}")));
        every_flip_is_refused(&ws, &transcript, 53);
    }
    // The ceremonies did what they said, through the lifecycle commands.
    let log = ws.covenant(&["log"]).run().ok().to_string();
    for kind in [
        "key.retired",
        "key.revoked",
        "key.destroyed",
        "token.minted",
    ] {
        assert!(log.contains(kind), "{kind} missing from:\n{log}");
    }
    assert_eq!(log.matches("ceremony.completed").count(), 4);
    // The minted token is with the transcript, never in it.
    let token = fs::read_to_string(ws.path("out-partner-minting/token.jwt")).unwrap();
    let text = fs::read_to_string(ws.path("out-partner-minting/transcript.json")).unwrap();
    assert!(!text.contains(token.trim()));
    assert!(text.contains(&covenant::store::sha256_hex(token.as_bytes())));
}

#[test]
fn a_transcript_verifies_against_an_exported_manifest() {
    let ws = Workspace::with_store();
    let out = run_shipped(&ws, "key-generation", &[]);
    ws.covenant(&["manifest", "export", "--out", "m.jsonl"])
        .passphrase()
        .run()
        .ok();
    let run = ws
        .covenant(&["ceremony", "verify"])
        .arg(out.join("transcript.json"))
        .args(["--trust", &root_fingerprint(&ws), "--manifest", "m.jsonl"])
        .env("COVENANT_STORE", "/nonexistent")
        .run();
    assert!(
        run.ok()
            .starts_with("transcript valid: ceremony key-generation")
    );
}

#[test]
fn a_transcript_with_no_link_in_the_ledger_is_rejected() {
    let ws = Workspace::with_store();
    let out = run_shipped(&ws, "key-generation", &[]);
    // Another store, same root? No: a rehearsal's transcript is not in the
    // real ledger, so its link is missing there.
    let rehearsal = ws.path("rehearsal");
    let script = shipped("key-generation");
    ws.covenant(&[
        "ceremony",
        "run",
        "key-generation",
        "--rehearse",
        "--answers",
    ])
    .arg(answers(&ws, &script, &[]))
    .arg("--out-dir")
    .arg(&rehearsal)
    .passphrase()
    .run()
    .ok();
    let why = verify(&ws, &rehearsal.join("transcript.json"))
        .fails(1)
        .to_string();
    assert!(
        why.contains("no ceremony.completed record for this transcript"),
        "{why}"
    );
    verify(&ws, &out.join("transcript.json")).ok();
}

#[test]
fn a_rehearsal_leaves_the_store_untouched_and_keeps_its_throwaway_store() {
    let ws = Workspace::with_store();
    let before = snapshot(&ws.store());
    let script = shipped("key-generation");
    let out = ws.path("rehearsal");
    ws.covenant(&[
        "ceremony",
        "run",
        "key-generation",
        "--rehearse",
        "--answers",
    ])
    .arg(answers(&ws, &script, &[]))
    .arg("--out-dir")
    .arg(&out)
    .passphrase()
    .run()
    .ok();
    assert_eq!(snapshot(&ws.store()), before);
    let run = ws
        .covenant(&["ceremony", "verify"])
        .arg(out.join("transcript.json"))
        .args(["--trust", &root_fingerprint(&ws)])
        .env("COVENANT_STORE", out.join("rehearsal-store"))
        .run();
    assert!(run.ok().contains("(rehearsal)"));
}

#[test]
fn an_abandoned_ceremony_keeps_nothing_but_its_ledger_record() {
    let ws = Workspace::with_store();
    let ledger_before = fs::read_to_string(ws.store().join("ledger.jsonl")).unwrap();
    let mut before = snapshot(&ws.store());
    let script = shipped("key-generation");
    let file = answers(&ws, &script, &[]);
    let text = fs::read_to_string(&file).unwrap();
    fs::write(&file, format!("stop_at = \"publish\"\n{text}")).unwrap();

    let run = ws
        .covenant(&["ceremony", "run", "key-generation", "--answers"])
        .arg(&file)
        .args(["--out-dir", "out"])
        .passphrase()
        .run();
    run.fails(2);
    assert_eq!(
        run.stderr.lines().last().unwrap(),
        "covenant: ceremony key-generation abandoned at publish: \
         the answers file stops at step publish"
    );
    assert!(!ws.path("out").exists());
    let leftovers: Vec<_> = fs::read_dir(ws.root())
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with(".covenant-ceremony-")
        })
        .collect();
    assert!(leftovers.is_empty());

    // The key generated in step 3 was discarded; only the record remains.
    let ledger_after = fs::read_to_string(ws.store().join("ledger.jsonl")).unwrap();
    let added = ledger_after.strip_prefix(&ledger_before).unwrap();
    assert_eq!(added.lines().count(), 1);
    assert!(added.contains(
        r#""kind":"ceremony.abandoned","payload":{"name":"key-generation","reason":"the answers file stops at step publish""#
    ));
    before.remove(Path::new("ledger.jsonl"));
    let mut after = snapshot(&ws.store());
    after.remove(Path::new("ledger.jsonl"));
    assert_eq!(after, before);
    ws.covenant(&["ledger", "verify"]).run().ok();
}

#[test]
fn user_scripts_with_an_unknown_action_a_missing_role_or_a_secret_are_refused() {
    let ws = Workspace::with_store();
    let good = fs::read_to_string(common::repo().join("ceremonies/key-generation.toml")).unwrap();
    let before = snapshot(&ws.store());
    let cases = [
        (
            good.replace("[\"key\", \"list\"]", "[\"key\", \"lst\"]"),
            "bad.toml:50:10: [steps] action: not a covenant command line",
        ),
        (
            good.replace(
                "confirm = [\"officer\", \"witness\"]",
                "confirm = [\"officer\", \"notary\"]",
            ),
            "bad.toml:64:23: [steps] confirm: \"notary\" is not a role of this script",
        ),
        (
            good.replace(
                "[\"jwks\", \"--out\", \"jwks.json\"]",
                "[\"mint\", \"c.toml\"]",
            ),
            "bad.toml:70:10: [steps] action: `mint` without --out or --out-dir would print the token",
        ),
    ];
    for (text, reason) in cases {
        ws.write("bad.toml", &text);
        let run = ws
            .covenant(&["ceremony", "run", "bad.toml", "--answers", "none.toml"])
            .run();
        let first = run.fails(2);
        assert!(first.starts_with(&format!("covenant: {reason}")), "{first}");
        let check = ws.covenant(&["ceremony", "check", "bad.toml"]).run();
        assert!(check.fails(2).contains(reason));
    }
    assert_eq!(snapshot(&ws.store()), before);
}

/// A terminal the test types into: a tmux session on a private server.
struct Tmux {
    socket: String,
    seen: usize,
}

impl Tmux {
    /// Starts `script` (a shell script) in a new session.
    fn start(ws: &Workspace, script: &str) -> Tmux {
        // A server per session: a server just told to exit may still hold
        // its socket when the next session starts.
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let socket = format!(
            "covenant-test-{}-{}",
            std::process::id(),
            SESSIONS.fetch_add(1, Ordering::Relaxed)
        );
        let path = ws.write("session.sh", script);
        let tmux = Tmux { socket, seen: 0 };
        tmux.command(&["new-session", "-d", "-x", "250", "-y", "50", "sh"])
            .arg(path)
            .current_dir(ws.root())
            .status()
            .expect("tmux runs");
        tmux
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]).args(args);
        c
    }

    fn screen(&self) -> String {
        let out = self
            .command(&["capture-pane", "-p", "-J", "-S", "-"])
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Waits for `text` to appear after what was already seen.
    fn expect(&mut self, text: &str) {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if let Some(at) = screen.get(self.seen..).and_then(|s| s.find(text)) {
                self.seen += at + text.len();
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "waited for {text:?}; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a prompt, then types an answer and Enter.
    fn answer(&mut self, prompt: &str, answer: &str) {
        self.expect(prompt);
        self.command(&["send-keys", "-l", answer]).status().unwrap();
        self.command(&["send-keys", "Enter"]).status().unwrap();
    }

    fn pane_pid(&self) -> u32 {
        let out = self
            .command(&["list-panes", "-F", "#{pane_pid}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]).status();
    }
}

/// The shell line that runs covenant with the workspace's environment.
fn session(ws: &Workspace, args: &str, exec: bool) -> String {
    format!(
        "{}env COVENANT_STORE={} COVENANT_TEST_NOW={} COVENANT_TEST_SCRYPT_LOG_N=8 \
         {} ceremony run {args}\n{}",
        if exec { "exec " } else { "" },
        ws.store().display(),
        common::NOW,
        env!("CARGO_BIN_EXE_covenant"),
        if exec {
            ""
        } else {
            "echo \"exit status $?\"\nsleep 60\n"
        }
    )
}

#[test]
fn key_generation_driven_on_a_terminal_by_the_room() {
    let ws = Workspace::with_store();
    let mut tty = Tmux::start(&ws, &session(&ws, "key-generation --out-dir out", false));
    tty.answer(
        "Name of the Ceremony administrator (administrator): ",
        "Ada Admin",
    );
    tty.answer("Name of the Security officer (officer): ", "Sam Security");
    tty.answer("Name of the Witness (witness): ", "Wendy Witness");
    tty.answer("Signature algorithm of the new key [ES256]: ", "");
    for (prompt, answer) in [
        ("Ceremony administrator Ada Admin: type `yes`", "yes"),
        ("Witness Wendy Witness: type `yes`", "yes"),
        // Step 2 lists the keys; the witness alone confirms.
        ("Type `run` to run it", "run"),
        ("Witness Wendy Witness: type `yes`", "yes"),
        // Step 3: the officer types the new key's passphrase twice.
        ("Type `run` to run it", "run"),
        ("New passphrase for the new ES256 key: ", PASSPHRASE),
        ("Repeat it: ", PASSPHRASE),
        ("words  ", ""),
        ("Security officer Sam Security: type `yes`", "maybe"),
        ("type `yes`, or `abort` to stop the ceremony", "yes"),
        ("Witness Wendy Witness: type `yes`", "yes"),
        ("Type `run` to run it", "run"),
        ("Ceremony administrator Ada Admin: type `yes`", "yes"),
        ("Witness Wendy Witness: type `yes`", "yes"),
        ("Ceremony administrator Ada Admin: type `yes`", "yes"),
        ("Security officer Sam Security: type `yes`", "yes"),
        ("Witness Wendy Witness: type `yes`", "yes"),
        ("Passphrase for the root key: ", PASSPHRASE),
    ] {
        if answer.is_empty() {
            tty.expect(prompt);
        } else {
            tty.answer(prompt, answer);
        }
    }
    tty.expect("exit status 0");
    let transcript = ws.path("out/transcript.json");
    verify(&ws, &transcript).ok();
    let text = fs::read_to_string(&transcript).unwrap();
    assert!(text.contains(r#""name":"Wendy Witness","role":"witness""#));
    assert!(!text.contains(PASSPHRASE));
}

#[test]
fn a_ceremony_killed_mid_step_leaves_the_store_as_it_was() {
    let ws = Workspace::with_store();
    let before = snapshot(&ws.store());
    let mut tty = Tmux::start(&ws, &session(&ws, "key-generation --out-dir out", true));
    tty.answer("(administrator): ", "Ada Admin");
    tty.answer("(officer): ", "Sam Security");
    tty.answer("(witness): ", "Wendy Witness");
    tty.answer("[ES256]: ", "");
    tty.answer("Ada Admin: type `yes`", "yes");
    tty.answer("Wendy Witness: type `yes`", "yes");
    tty.answer("Type `run` to run it", "run");
    tty.answer("Wendy Witness: type `yes`", "yes");
    tty.answer("Type `run` to run it", "run");
    tty.answer("New passphrase for the new ES256 key: ", PASSPHRASE);
    tty.answer("Repeat it: ", PASSPHRASE);
    // The key now exists in the staged store, and the room is confirming.
    tty.expect("Sam Security: type `yes`");
    let killed = Command::new("kill")
        .args(["-KILL", &tty.pane_pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(200));

    assert_eq!(snapshot(&ws.store()), before);
    assert!(!ws.path("out").exists());
    // The store is whole: a later ceremony runs on it.
    run_shipped(&ws, "key-generation", &[]);
    ws.covenant(&["ledger", "verify"]).run().ok();
}

/// The passphrase prompts a command asks on the terminal.
fn passphrase_prompts(argv: &[String]) -> &'static [&'static str] {
    match (argv[0].as_str(), argv.get(1).map(String::as_str)) {
        // `key rotate` generates a key when none was pre-published, as in
        // these tests.
        ("init", _) | ("key", Some("generate" | "rotate")) => {
            &["New passphrase for ", "Repeat it: "]
        }
        ("mint", _) => &["Passphrase for key "],
        ("manifest", Some("export")) | ("revocations", _) => &["Passphrase for the root key: "],
        _ => &[],
    }
}

/// Runs a shipped script on a terminal, answering every prompt in the
/// order the script implies, as the people in the room would.
fn drive_on_terminal(ws: &Workspace, name: &str, inputs: &[(&str, String)]) -> PathBuf {
    let script = shipped(name);
    let out = format!("tty-{name}");
    let mut tty = Tmux::start(ws, &session(ws, &format!("{name} --out-dir {out}"), false));
    let holder = |role: &str| format!("{role} holder");
    for role in &script.roles {
        tty.answer(
            &format!("Name of the {} ({}): ", role.title, role.id),
            &holder(&role.id),
        );
    }
    for input in &script.inputs {
        let value = inputs.iter().find(|(id, _)| *id == input.id);
        tty.answer(&input.prompt, value.map_or("", |(_, v)| v.as_str()));
    }
    for step in &script.steps {
        tty.expect(&format!("[{}]", step.id));
        if let Some(action) = &step.action {
            tty.answer("Type `run` to run it", "run");
            for prompt in passphrase_prompts(action) {
                tty.answer(prompt, PASSPHRASE);
            }
        }
        for role in &step.confirm {
            let title = &script.role(role).unwrap().title;
            tty.answer(&format!("{title} {}: type `yes`", holder(role)), "yes");
        }
    }
    tty.answer("Passphrase for the root key: ", PASSPHRASE);
    tty.expect("exit status 0");
    ws.path(&out)
}

#[test]
fn every_shipped_script_runs_on_a_terminal_and_its_transcript_verifies() {
    // Typing into tmux depends on two processes' timing; on a loaded
    // 2-core machine a keystroke has once been seen to go missing. One
    // fresh retry keeps that from failing CI, and the first failure is
    // printed so that a real regression (which fails both) stays visible.
    if let Err(first) = std::panic::catch_unwind(all_scripts_on_a_terminal) {
        eprintln!("first attempt failed, retrying once in a fresh workspace: {first:?}");
        all_scripts_on_a_terminal();
    }
}

fn all_scripts_on_a_terminal() {
    let ws = Workspace::new();
    let policy = example("policy.toml").display().to_string();
    let contract = example("acme-logistics.toml").display().to_string();
    drive_on_terminal(&ws, "store-init", &[("policy", policy)]);
    drive_on_terminal(&ws, "key-generation", &[]);
    let kid = ws
        .covenant(&["key", "list", "--json"])
        .run()
        .ok()
        .to_string();
    let kid: serde_json::Value = serde_json::from_str(&kid).unwrap();
    let kid = kid["keys"][0]["kid"].as_str().unwrap().to_string();
    drive_on_terminal(&ws, "scheduled-rotation", &[("alg", "ES384".into())]);
    drive_on_terminal(&ws, "partner-minting", &[("contract", contract)]);
    drive_on_terminal(
        &ws,
        "emergency-compromise",
        &[("kid", kid.clone()), ("report", "INC-2026-17".into())],
    );
    drive_on_terminal(&ws, "key-destruction", &[("kid", kid)]);
    for name in [
        "store-init",
        "key-generation",
        "scheduled-rotation",
        "partner-minting",
        "emergency-compromise",
        "key-destruction",
    ] {
        let run = verify(&ws, &ws.path(&format!("tty-{name}/transcript.json")));
        assert!(
            run.ok().contains(&format!("ceremony {name},")),
            "{}",
            run.stdout
        );
    }
    ws.covenant(&["ledger", "verify"]).run().ok();
}

#[test]
fn abort_typed_on_the_terminal_abandons_and_records_the_step() {
    let ws = Workspace::with_store();
    let ledger_before = fs::read_to_string(ws.store().join("ledger.jsonl")).unwrap();
    let mut tty = Tmux::start(&ws, &session(&ws, "key-generation --out-dir out", false));
    tty.answer("(administrator): ", "Ada Admin");
    tty.answer("(officer): ", "Sam Security");
    tty.answer("(witness): ", "Wendy Witness");
    tty.answer("[ES256]: ", "");
    tty.answer("Ada Admin: type `yes`", "abort");
    tty.expect("ABANDONED at open");
    tty.expect("exit status 2");

    let ledger_after = fs::read_to_string(ws.store().join("ledger.jsonl")).unwrap();
    let added = ledger_after.strip_prefix(&ledger_before).unwrap();
    assert!(added.contains(r#""step":"open""#), "{added}");
    assert!(added.contains("`abort` typed at"), "{added}");
    assert!(!ws.path("out").exists());
}

#[test]
fn a_transcript_that_strays_from_its_script_is_refused_even_if_signed() {
    use covenant::ceremony::transcript::{Document, followed_script};
    let ws = Workspace::with_store();
    let out = run_shipped(&ws, "key-generation", &[]);
    let doc = Document::read(&out.join("transcript.json")).unwrap();
    followed_script(&doc.body).unwrap();

    let mut skipped = doc.body.clone();
    skipped.steps[2].confirmations.pop();
    let mut swapped = doc.body.clone();
    swapped.steps.swap(1, 2);
    let mut other_action = doc.body.clone();
    other_action.steps[2].action.as_mut().unwrap().argv[3] = "EdDSA".into();
    let mut impostor = doc.body.clone();
    impostor.steps[2].confirmations[1].name = "Mallory".into();
    let mut edited_script = doc.body.clone();
    edited_script.ceremony.script.push('\n');
    for (body, reason) in [
        (
            skipped,
            "step 3 (generate): confirmed by officer, but the script asks officer, witness",
        ),
        (
            swapped,
            "step 2 (keys-before): not the script's step at this place",
        ),
        (
            other_action,
            "step 3 (generate): its action is not the script's command line",
        ),
        (
            impostor,
            "step 3 (generate): confirmed as witness by someone not holding it",
        ),
        (
            edited_script,
            "the embedded script does not match its digest",
        ),
    ] {
        assert_eq!(followed_script(&body).unwrap_err(), reason);
    }

    // On the command line, a changed byte is "checked, and not valid".
    let mut bytes = fs::read(out.join("transcript.json")).unwrap();
    bytes[100] ^= 0x01;
    fs::write(ws.path("changed.json"), &bytes).unwrap();
    let run = verify(&ws, &ws.path("changed.json"));
    assert!(run.fails(1).starts_with("covenant: "), "{}", run.stderr);
}
