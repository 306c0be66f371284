//! The people in the room, as the runner hears them: on the terminal, one
//! prompt at a time, or from an answers file for automation.
//!
//! Either way the room can stop the ceremony at any prompt: typing `abort`
//! on the terminal, or `stop_at` in an answers file, which drills use to
//! rehearse an abandoned ceremony.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::ceremony::script::{Input, Role, Script, Step};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};

/// Why the runner stops early.
#[derive(Debug)]
pub enum Stop {
    /// The room stopped the ceremony; the reason goes to the ledger.
    Abandon(String),
    /// Something failed; the ceremony is abandoned with this error.
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Fail(e)
    }
}

pub type Flow<T> = std::result::Result<T, Stop>;

/// How the runner asks the room.
pub trait Room {
    /// The name of the person holding `role`.
    fn holder(&mut self, role: &Role) -> Flow<String>;
    /// The value of an input, as typed (a file path is resolved later,
    /// against `base`).
    fn input(&mut self, input: &Input) -> Flow<String>;
    /// Where relative file inputs are found.
    fn base(&self) -> PathBuf;
    /// Called as each step begins.
    fn begin(&mut self, _step: &Step) -> Flow<()> {
        Ok(())
    }
    /// Waits until the room is ready for the step's action.
    fn ready(&mut self, step: &Step) -> Flow<()>;
    /// Asks `name`, holding `role`, to confirm the step.
    fn confirm(&mut self, step: &Step, role: &Role, name: &str) -> Flow<()>;
    /// After a failed action: whether to run it again.
    fn retry(&mut self, step: &Step) -> Flow<()>;
    /// Whether prompts for passphrases can go to a terminal.
    fn interactive(&self) -> bool;
}

/// The terminal: prompts on stderr, answers on stdin.
pub struct Terminal {
    lines: std::io::StdinLock<'static>,
}

impl Terminal {
    pub fn open() -> Result<Terminal> {
        if !std::io::stdin().is_terminal() {
            return Err(Error::Usage(
                "a ceremony is run on a terminal, with the room answering its prompts; \
                 for automation give --answers FILE"
                    .into(),
            ));
        }
        Ok(Terminal {
            lines: std::io::stdin().lock(),
        })
    }

    /// Reads one answer, trimmed. A closed terminal or `abort` stops the
    /// ceremony.
    fn answer(&mut self, prompt: &str) -> Flow<String> {
        crate::stderr::write(prompt);
        let mut line = String::new();
        let n = self
            .lines
            .read_line(&mut line)
            .map_err(|e| Error::io("read the answer from", "the terminal", e))?;
        if n == 0 {
            return Err(Stop::Abandon("the terminal closed".into()));
        }
        let answer = line.trim().to_string();
        if answer.eq_ignore_ascii_case("abort") {
            return Err(Stop::Abandon(format!(
                "`abort` typed at \"{}\"",
                prompt.trim()
            )));
        }
        Ok(answer)
    }

    /// Asks until the answer is non-empty.
    fn ask(&mut self, prompt: &str) -> Flow<String> {
        loop {
            let answer = self.answer(prompt)?;
            if !answer.is_empty() {
                return Ok(answer);
            }
        }
    }

    fn expect(&mut self, prompt: &str, word: &str) -> Flow<()> {
        loop {
            if self.ask(prompt)?.eq_ignore_ascii_case(word) {
                return Ok(());
            }
            errln!("  type `{word}`, or `abort` to stop the ceremony");
        }
    }
}

impl Room for Terminal {
    fn holder(&mut self, role: &Role) -> Flow<String> {
        self.ask(&format!("Name of the {} ({}): ", role.title, role.id))
    }

    fn input(&mut self, input: &Input) -> Flow<String> {
        let default = input.default.as_deref();
        let prompt = match default {
            Some(d) => format!("{} [{d}]: ", input.prompt),
            None => format!("{}: ", input.prompt),
        };
        loop {
            let answer = self.answer(&prompt)?;
            match (answer.is_empty(), default) {
                (false, _) => return Ok(answer),
                (true, Some(d)) => return Ok(d.to_string()),
                (true, None) => {}
            }
        }
    }

    fn base(&self) -> PathBuf {
        PathBuf::from(".")
    }

    fn ready(&mut self, _step: &Step) -> Flow<()> {
        self.expect("  Type `run` to run it (or `abort`): ", "run")
    }

    fn confirm(&mut self, _step: &Step, role: &Role, name: &str) -> Flow<()> {
        self.expect(
            &format!(
                "  {} {name}: type `yes` to confirm (or `abort`): ",
                role.title
            ),
            "yes",
        )
    }

    fn retry(&mut self, _step: &Step) -> Flow<()> {
        self.expect("  The action failed. Type `retry` (or `abort`): ", "retry")
    }

    fn interactive(&self) -> bool {
        true
    }
}

/// An answers file, for automation (docs/ceremonies.md).
pub struct Answers {
    path: PathBuf,
    raw: RawAnswers,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswers {
    roles: BTreeMap<String, String>,
    #[serde(default)]
    inputs: BTreeMap<String, String>,
    #[serde(default)]
    confirm: BTreeMap<String, Vec<String>>,
    stop_at: Option<String>,
}

impl Answers {
    /// Reads an answers file and checks it against the script: every role
    /// named, no unknown role, input or step.
    pub fn load(path: &Path, script: &Script) -> Result<Answers> {
        let text = crate::file::read_text(path)?;
        let raw: RawAnswers =
            toml::from_str(&text).map_err(|e| Diagnostic::from_toml(path, &text, &e))?;
        let refuse = |what: String| Error::from(Diagnostic::file(path, what));
        for role in &script.roles {
            if raw.roles.get(&role.id).is_none_or(|n| n.trim().is_empty()) {
                return Err(refuse(format!(
                    "[roles] {}: name who holds the {} role",
                    role.id, role.title
                )));
            }
        }
        let unknown = |kind: &str, id: &str| {
            refuse(format!(
                "[{kind}] {id}: the script {} has no such {kind} entry; remove it, or check \
                 that the answers are for this script",
                script.name
            ))
        };
        if let Some(id) = raw.roles.keys().find(|id| script.role(id).is_none()) {
            return Err(unknown("roles", id));
        }
        if let Some(id) = raw
            .inputs
            .keys()
            .find(|id| !script.inputs.iter().any(|i| i.id == **id))
        {
            return Err(unknown("inputs", id));
        }
        let step_known = |id: &str| script.steps.iter().any(|s| s.id == id);
        if let Some(id) = raw.confirm.keys().find(|id| !step_known(id)) {
            return Err(unknown("confirm", id));
        }
        if let Some(id) = raw.stop_at.as_deref().filter(|id| !step_known(id)) {
            return Err(refuse(format!(
                "stop_at {id:?}: no such step in the script"
            )));
        }
        Ok(Answers {
            path: path.to_path_buf(),
            raw,
        })
    }
}

impl Room for Answers {
    fn holder(&mut self, role: &Role) -> Flow<String> {
        Ok(self.raw.roles[&role.id].clone())
    }

    fn input(&mut self, input: &Input) -> Flow<String> {
        match (self.raw.inputs.get(&input.id), &input.default) {
            (Some(v), _) | (None, Some(v)) => Ok(v.clone()),
            (None, None) => Err(Stop::Fail(
                Diagnostic::file(
                    &self.path,
                    format!("[inputs] {}: give a value ({})", input.id, input.prompt),
                )
                .into(),
            )),
        }
    }

    fn base(&self) -> PathBuf {
        crate::file::parent_of(&self.path).to_path_buf()
    }

    fn begin(&mut self, step: &Step) -> Flow<()> {
        match &self.raw.stop_at {
            Some(id) if *id == step.id => Err(Stop::Abandon(format!(
                "the answers file stops at step {id}"
            ))),
            _ => Ok(()),
        }
    }

    fn ready(&mut self, _step: &Step) -> Flow<()> {
        Ok(())
    }

    fn confirm(&mut self, step: &Step, role: &Role, _name: &str) -> Flow<()> {
        if self
            .raw
            .confirm
            .get(&step.id)
            .is_some_and(|roles| roles.contains(&role.id))
        {
            Ok(())
        } else {
            Err(Stop::Abandon(format!(
                "the answers file does not confirm step {} for the {} role",
                step.id, role.id
            )))
        }
    }

    fn retry(&mut self, step: &Step) -> Flow<()> {
        Err(Stop::Abandon(format!(
            "the action of step {} failed",
            step.id
        )))
    }

    fn interactive(&self) -> bool {
        false
    }
}
