//! Ceremony scripts: TOML files that say who is in the room, what must hold
//! before the ceremony starts, and each step in order (docs/ceremonies.md).
//!
//! A script is checked whole before anything happens: every role a step
//! names is declared, every check is one the tool knows, and every action is
//! a covenant command line that covenant's own clap definition accepts and
//! that cannot put a secret on the terminal. A refusal points at the file,
//! line and field, like every other input covenant reads.

use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;
use toml::Spanned;

use crate::ceremony::check::CHECKS;
use crate::cli::Cli;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::error::Result;
use crate::store::sha256_hex;

/// A script, checked.
#[derive(Debug, Clone)]
pub struct Script {
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
    pub name: String,
    pub title: String,
    pub purpose: String,
    pub preconditions: Vec<String>,
    pub roles: Vec<Role>,
    pub inputs: Vec<Input>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub title: String,
    pub duty: String,
}

/// A value the room supplies before the first step, used in actions as
/// `{id}`.
#[derive(Debug, Clone)]
pub struct Input {
    pub id: String,
    pub prompt: String,
    /// A file's path is made absolute and its digest recorded.
    pub file: bool,
    pub default: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    pub say: String,
    pub check: Option<String>,
    /// A covenant command line, without the program name, with `{input}`
    /// placeholders.
    pub action: Option<Vec<String>>,
    /// The role whose name the ledger records for the action.
    pub by: Option<String>,
    /// The roles that confirm the step, in order.
    pub confirm: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    ceremony: RawCeremony,
    roles: Vec<RawRole>,
    #[serde(default)]
    inputs: Vec<RawInput>,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCeremony {
    name: Spanned<String>,
    title: String,
    purpose: String,
    #[serde(default)]
    preconditions: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    id: Spanned<String>,
    title: String,
    duty: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    id: Spanned<String>,
    prompt: String,
    kind: Spanned<String>,
    default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    say: String,
    check: Option<Spanned<String>>,
    action: Option<Spanned<Vec<Spanned<String>>>>,
    by: Option<Spanned<String>>,
    confirm: Spanned<Vec<Spanned<String>>>,
}

impl Script {
    /// Reads and checks a script file.
    pub fn load(path: &Path) -> Result<Script> {
        let text = crate::file::read_text(path)?;
        Script::parse(path, &text)
    }

    /// Checks a script's text; `path` names it in refusals.
    pub fn parse(path: &Path, text: &str) -> Result<Script> {
        let raw: RawScript =
            toml::from_str(text).map_err(|e| Diagnostic::from_toml(path, text, &e))?;
        let at = |span: Range<usize>, message: String| Diagnostic::at(path, text, span, message);

        check_name(&raw.ceremony.name).map_err(|m| at(raw.ceremony.name.span(), m))?;
        let roles = roles(&raw.roles, &at)?;
        let inputs = inputs(&raw.inputs, &at)?;
        let role_ids: Vec<&str> = roles.iter().map(|r| r.id.as_str()).collect();
        let defaults: Vec<(&str, Option<String>)> = inputs
            .iter()
            .map(|i| (i.id.as_str(), i.default.clone()))
            .collect();

        let mut preconditions = Vec::new();
        for check in &raw.ceremony.preconditions {
            known_check(check).map_err(|m| at(check.span(), m))?;
            preconditions.push(check.get_ref().clone());
        }
        if raw.steps.is_empty() {
            return Err(Diagnostic::file(path, "the script has no [[steps]]").into());
        }
        let mut steps: Vec<Step> = Vec::new();
        for raw_step in &raw.steps {
            let step = step(raw_step, &role_ids, &defaults, &at)?;
            if steps.iter().any(|s| s.id == step.id) {
                return Err(at(raw_step.id.span(), "a second step with this id".into()).into());
            }
            steps.push(step);
        }
        let creates_store = steps
            .iter()
            .any(|s| s.action.as_ref().is_some_and(|a| a[0] == "init"));
        if creates_store && !preconditions.iter().any(|p| p == "store-absent") {
            return Err(at(
                raw.ceremony.name.span(),
                "a script that runs `init` must list \"store-absent\" in [ceremony] \
                 preconditions"
                    .into(),
            )
            .into());
        }
        Ok(Script {
            path: path.to_path_buf(),
            sha256: sha256_hex(text.as_bytes()),
            text: text.to_string(),
            name: raw.ceremony.name.into_inner(),
            title: raw.ceremony.title,
            purpose: raw.ceremony.purpose,
            preconditions,
            roles,
            inputs,
            steps,
        })
    }

    pub fn role(&self, id: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.id == id)
    }
}

type At<'a> = dyn Fn(Range<usize>, String) -> Diagnostic + 'a;

fn roles(raw: &[RawRole], at: &At<'_>) -> Result<Vec<Role>> {
    let mut roles: Vec<Role> = Vec::new();
    for r in raw {
        check_name(&r.id).map_err(|m| at(r.id.span(), m))?;
        if roles.iter().any(|o| o.id == *r.id.get_ref()) {
            return Err(at(r.id.span(), "a second role with this id".into()).into());
        }
        roles.push(Role {
            id: r.id.get_ref().clone(),
            title: r.title.clone(),
            duty: r.duty.clone(),
        });
    }
    Ok(roles)
}

fn inputs(raw: &[RawInput], at: &At<'_>) -> Result<Vec<Input>> {
    let mut inputs: Vec<Input> = Vec::new();
    for i in raw {
        check_name(&i.id).map_err(|m| at(i.id.span(), m))?;
        let file = match i.kind.get_ref().as_str() {
            "file" => true,
            "text" => false,
            other => {
                return Err(at(
                    i.kind.span(),
                    format!("unknown input kind {other:?}; expected \"file\" or \"text\""),
                )
                .into());
            }
        };
        if inputs.iter().any(|o| o.id == *i.id.get_ref()) {
            return Err(at(i.id.span(), "a second input with this id".into()).into());
        }
        inputs.push(Input {
            id: i.id.get_ref().clone(),
            prompt: i.prompt.clone(),
            file,
            default: i.default.clone(),
        });
    }
    Ok(inputs)
}

fn step(
    raw: &RawStep,
    roles: &[&str],
    defaults: &[(&str, Option<String>)],
    at: &At<'_>,
) -> Result<Step> {
    let inputs: Vec<&str> = defaults.iter().map(|(id, _)| *id).collect();
    check_name(&raw.id).map_err(|m| at(raw.id.span(), m))?;
    let known_role = |role: &Spanned<String>| -> Result<String> {
        if roles.contains(&role.get_ref().as_str()) {
            return Ok(role.get_ref().clone());
        }
        let hint = did_you_mean(role.get_ref(), roles.iter().copied())
            .map_or(String::new(), |r| format!(" (did you mean {r:?}?)"));
        Err(at(
            role.span(),
            format!(
                "{:?} is not a role of this script{hint}; declare it under [[roles]]",
                role.get_ref()
            ),
        )
        .into())
    };
    if raw.confirm.get_ref().is_empty() {
        return Err(at(
            raw.confirm.span(),
            "every step needs at least one role to confirm it".into(),
        )
        .into());
    }
    let confirm = raw
        .confirm
        .get_ref()
        .iter()
        .map(known_role)
        .collect::<Result<Vec<_>>>()?;
    let by = raw.by.as_ref().map(known_role).transpose()?;
    let check = match &raw.check {
        Some(check) => {
            known_check(check).map_err(|m| at(check.span(), m))?;
            Some(check.get_ref().clone())
        }
        None => None,
    };
    let action = match &raw.action {
        Some(action) => {
            let argv: Vec<String> = action
                .get_ref()
                .iter()
                .map(|a| a.get_ref().clone())
                .collect();
            let span = action.span();
            for arg in action.get_ref() {
                placeholders_declared(arg.get_ref(), &inputs).map_err(|m| at(arg.span(), m))?;
            }
            // Placeholders stand for values the room gives; the input's
            // default, or a plain word, stands in for them here.
            let stand_in = |id: &str| {
                defaults
                    .iter()
                    .find(|(i, _)| *i == id)
                    .and_then(|(_, d)| d.clone())
                    .unwrap_or_else(|| "placeholder".into())
            };
            let concrete: Vec<String> = argv.iter().map(|a| substitute(a, stand_in)).collect();
            check_action(&concrete).map_err(|m| at(span, m))?;
            Some(argv)
        }
        None => None,
    };
    if by.is_some() && action.is_none() {
        return Err(at(
            raw.id.span(),
            "`by` names who runs an action, and this step has none".into(),
        )
        .into());
    }
    Ok(Step {
        id: raw.id.get_ref().clone(),
        title: raw.title.clone(),
        say: raw.say.clone(),
        check,
        action,
        by,
        confirm,
    })
}

/// Ids are lowercase words joined by hyphens, so they read well in
/// transcripts and answers files.
fn check_name(name: &Spanned<String>) -> std::result::Result<(), String> {
    let s = name.get_ref();
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a valid id: use lowercase letters, digits and hyphens"
        ))
    }
}

fn known_check(check: &Spanned<String>) -> std::result::Result<(), String> {
    if CHECKS.contains(&check.get_ref().as_str()) {
        return Ok(());
    }
    let hint = did_you_mean(check.get_ref(), CHECKS)
        .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
    Err(format!(
        "unknown check {:?}{hint}; the tool knows {}",
        check.get_ref(),
        CHECKS.join(", ")
    ))
}

/// The `{name}` placeholders in an argument.
pub fn placeholders(arg: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = arg;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        found.push(&rest[open + 1..open + close]);
        rest = &rest[open + close + 1..];
    }
    found
}

fn placeholders_declared(arg: &str, inputs: &[&str]) -> std::result::Result<(), String> {
    match placeholders(arg).into_iter().find(|p| !inputs.contains(p)) {
        Some(p) => Err(format!(
            "{{{p}}} names no input of this script; declare it under [[inputs]]"
        )),
        None => Ok(()),
    }
}

/// Replaces `{input}` placeholders with their values.
pub fn substitute(arg: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = arg.to_string();
    for p in placeholders(arg) {
        out = out.replace(&format!("{{{p}}}"), &value(p));
    }
    out
}

/// Checks an action, its placeholders filled in, against covenant's own
/// command line, and refuses what a ceremony must never run: a nested
/// ceremony, a command that would put a secret on the terminal, and flags
/// the runner sets itself.
pub fn check_action(argv: &[String]) -> std::result::Result<(), String> {
    let first = argv.first().map(String::as_str).unwrap_or("");
    if first.is_empty() {
        return Err("an action needs a covenant command, such as [\"key\", \"list\"]".into());
    }
    if first == "ceremony" {
        return Err("a ceremony cannot run another ceremony".into());
    }
    for arg in argv {
        let flag = arg.split('=').next().unwrap_or(arg);
        match flag {
            "--store" => {
                return Err(
                    "actions run against the ceremony's staged store; remove --store".into(),
                );
            }
            "--passphrase-file" => {
                return Err("passphrases come from the room (or the runner's \
                            --passphrase-file), never from a script; remove --passphrase-file"
                    .into());
            }
            "--actor" => {
                return Err("the runner records the role holder as actor; remove --actor".into());
            }
            _ => {}
        }
        let lower = arg.to_ascii_lowercase();
        if lower.contains("private") || lower.contains("secret") {
            return Err(format!(
                "{arg:?}: a ceremony step must not print secret or private key material"
            ));
        }
    }
    let concrete = argv;
    Cli::try_parse_from(std::iter::once("covenant".to_string()).chain(concrete.iter().cloned()))
        .map_err(|e| {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            format!("not a covenant command line: {first}")
        })?;
    if first == "mint" {
        // --out writes one token file, --out-dir one per contract.
        let writes_files = concrete.iter().any(|a| {
            let flag = a.split('=').next().unwrap_or(a);
            flag == "--out" || flag == "--out-dir"
        });
        if !writes_files {
            return Err(
                "`mint` without --out or --out-dir would print the token, a bearer \
                        secret, on the terminal; add [\"--out\", \"FILE\"]"
                    .into(),
            );
        }
        if concrete.iter().any(|a| a == "--json") {
            return Err("`mint --json` prints the token, a bearer secret; remove --json".into());
        }
    }
    outputs_stay_inside(concrete)
}

/// Files an action writes land in the ceremony's output directory, which
/// is assembled aside and kept only when the ceremony completes; a path
/// that leaves it would survive an abandoned ceremony.
fn outputs_stay_inside(argv: &[String]) -> std::result::Result<(), String> {
    let mut iter = argv.iter().peekable();
    while let Some(arg) = iter.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, v)) => (flag, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let value = match flag {
            "--out" | "--out-dir" => inline.or_else(|| iter.peek().map(|v| v.to_string())),
            _ => None,
        };
        if let Some(v) = value
            && (v.starts_with('/') || v.split('/').any(|part| part == ".." || part.contains('{')))
        {
            return Err(format!(
                "{flag} {v:?}: outputs are written to the ceremony's output directory; \
                 give a plain relative name"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[ceremony]
name = "key-generation"
title = "Generate a key"
purpose = "A new signing key."
preconditions = ["store-present"]

[[roles]]
id = "officer"
title = "Security officer"
duty = "holds the passphrase"

[[roles]]
id = "witness"
title = "Witness"
duty = "watches"

[[inputs]]
id = "alg"
prompt = "Algorithm"
kind = "text"
default = "ES256"

[[steps]]
id = "generate"
title = "Generate"
say = "The officer generates the key."
action = ["key", "generate", "--alg", "{alg}"]
by = "officer"
confirm = ["officer", "witness"]
"#;

    fn refusal(text: &str) -> String {
        match Script::parse(Path::new("s.toml"), text) {
            Ok(_) => panic!("the script was accepted"),
            Err(e) => e.to_string().lines().next().unwrap().to_string(),
        }
    }

    #[test]
    fn a_good_script_parses_with_its_steps_and_digest() {
        let script = Script::parse(Path::new("s.toml"), GOOD).unwrap();
        assert_eq!(script.name, "key-generation");
        assert_eq!(script.steps[0].action.as_ref().unwrap()[3], "{alg}");
        assert_eq!(script.steps[0].confirm, ["officer", "witness"]);
        assert_eq!(script.sha256, sha256_hex(GOOD.as_bytes()));
    }

    #[test]
    fn an_unknown_action_is_refused_at_its_line() {
        let text = GOOD.replace("[\"key\", \"generate\"", "[\"key\", \"generat\"");
        let why = refusal(&text);
        assert!(why.starts_with("s.toml:28:10: [steps] action: not a covenant command line"));
    }

    #[test]
    fn a_missing_role_is_refused_with_a_suggestion() {
        let text = GOOD.replace(
            "confirm = [\"officer\", \"witness\"]",
            "confirm = [\"witnes\"]",
        );
        let why = refusal(&text);
        assert!(why.starts_with("s.toml:30:12: [steps] confirm"), "{why}");
        assert!(
            why.contains("\"witnes\" is not a role of this script (did you mean \"witness\"?)")
        );
    }

    #[test]
    fn a_step_that_would_print_a_token_is_refused() {
        let text = GOOD.replace(
            "[\"key\", \"generate\", \"--alg\", \"{alg}\"]",
            "[\"mint\", \"c.toml\"]",
        );
        assert!(refusal(&text).contains("would print the token"));
        let text = GOOD.replace(
            "[\"key\", \"generate\", \"--alg\", \"{alg}\"]",
            "[\"mint\", \"c.toml\", \"--out\", \"t.jwt\", \"--json\"]",
        );
        assert!(refusal(&text).contains("bearer secret"));
    }

    #[test]
    fn nested_ceremonies_store_flags_and_escaping_outputs_are_refused() {
        for (action, reason) in [
            ("[\"ceremony\", \"run\", \"x.toml\"]", "another ceremony"),
            ("[\"key\", \"list\", \"--store\", \"/x\"]", "remove --store"),
            (
                "[\"jwks\", \"--out\", \"../jwks.json\"]",
                "plain relative name",
            ),
            (
                "[\"mint\", \"c.toml\", \"--out-dir\", \"/tmp\"]",
                "plain relative name",
            ),
            (
                "[\"key\", \"generate\", \"--passphrase-file\", \"p\"]",
                "never from a script",
            ),
        ] {
            let text = GOOD.replace("[\"key\", \"generate\", \"--alg\", \"{alg}\"]", action);
            assert!(refusal(&text).contains(reason), "{action}");
        }
    }

    #[test]
    fn undeclared_placeholders_and_unknown_checks_are_refused() {
        let text = GOOD.replace("{alg}", "{algorithm}");
        assert!(refusal(&text).contains("{algorithm} names no input"));
        let text = GOOD.replace(
            "preconditions = [\"store-present\"]",
            "preconditions = [\"store-presnt\"]",
        );
        assert!(refusal(&text).contains("did you mean \"store-present\"?"));
    }

    #[test]
    fn substitution_fills_every_placeholder() {
        assert_eq!(placeholders("{a}-{b}"), ["a", "b"]);
        let filled = substitute("{a}/x/{b}", |p| p.to_uppercase());
        assert_eq!(filled, "A/x/B");
    }
}
