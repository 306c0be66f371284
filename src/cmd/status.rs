//! `covenant status`: which key signs, until when, and what is due.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::calendar;
use crate::cmd::{Context, show_time};
use crate::error::{Error, Result};
use crate::file::{self, Overwrite};
use crate::schedule::{self, Deadline, Kind, Schedule};
use crate::state::Key;
use crate::store::{CheckedFile, Store};

/// How many token expiries the summary shows; --json and --calendar list
/// them all.
const SOONEST_TOKENS: usize = 5;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print the status as JSON.
    #[arg(long, conflicts_with = "calendar")]
    json: bool,

    /// Print the deadlines as an iCalendar file (RFC 5545) instead: the
    /// rotations due, keys leaving the JWKS, keys that can be destroyed and
    /// partner tokens expiring, each with a reminder a week before.
    #[arg(long)]
    calendar: bool,

    /// Write the output to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(ctx: &Context, args: Args) -> Result<()> {
    ctx.refuse_output_in_store(args.out.as_deref(), "--out")?;
    let store = Store::inspect(&ctx.store)?;
    let leeway = store.policy.leeway_seconds;
    let plan = schedule::at(&store.state, ctx.now, leeway);
    let files = store.key_files();
    let text = if args.calendar {
        ics(&store, &plan)
    } else if args.json {
        serde_json::to_string_pretty(&to_json(&store, &plan, &files))
            .expect("JSON always serialises")
            + "\n"
    } else {
        human(&store, &plan, &files)
    };
    match args.out {
        Some(path) => file::write_atomic(&path, text.as_bytes(), Overwrite::Allow)?,
        None => out!("{text}"),
    }

    // After the report, so that a monitoring script gets both the report
    // and a status that says something needs a person.
    let damaged: Vec<_> = files
        .iter()
        .filter(|f| !f.state.is_ok())
        .map(|f| (f.path.clone(), f.state.describe()))
        .collect();
    if damaged.is_empty() {
        Ok(())
    } else {
        Err(Error::KeyFilesDamaged(damaged))
    }
}

fn key_json(k: Option<&Key>) -> Value {
    k.map_or(Value::Null, |k| {
        json!({
            "kid": k.kid(),
            "alg": k.alg().name(),
            "signs_from": k.activated.map(show_time),
            "signs_until": k.signing_ends().map(show_time),
            "published_since": show_time(k.created),
        })
    })
}

fn to_json(store: &Store, plan: &Schedule<'_>, files: &[CheckedFile<'_>]) -> Value {
    let leeway = store.policy.leeway_seconds;
    let due: Vec<_> = plan
        .deadlines
        .iter()
        .filter(|d| d.kind != Kind::TokenExpires)
        .map(|d| {
            json!({
                "what": d.kind.name(),
                "subject": d.subject,
                "at": show_time(d.at),
                "overdue": d.at <= plan.now,
                "summary": d.summary,
            })
        })
        .collect();
    let tokens: Vec<_> = plan
        .live_tokens
        .iter()
        .map(|t| {
            json!({
                "jti": t.jti, "kid": t.kid, "sub": t.sub, "aud": t.aud,
                "contract_id": t.contract_id, "exp": show_time(t.exp),
            })
        })
        .collect();
    let jwks: Vec<_> = store
        .state
        .published(plan.now, leeway)
        .iter()
        .map(|k| json!({"kid": k.kid(), "state": k.state(plan.now, leeway).name()}))
        .collect();
    let key_files: Vec<_> = files
        .iter()
        .map(|f| {
            json!({
                "key": f.key.map_or("root", |k| k.kid()),
                "path": f.path,
                "state": f.state.name(),
            })
        })
        .collect();
    json!({
        "now": show_time(plan.now),
        "signer": key_json(plan.signer),
        "next": key_json(plan.next),
        "due": due,
        "jwks": jwks,
        "tokens_expiring": tokens,
        "revoked_tokens": store.state.revoked_tokens().count(),
        "key_files": key_files,
    })
}

fn human(store: &Store, plan: &Schedule<'_>, files: &[CheckedFile<'_>]) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    match plan.signer {
        Some(k) => line(format!(
            "signer: {} ({}), signs until {}",
            k.kid(),
            k.alg(),
            k.signing_ends().map_or("-".into(), show_time)
        )),
        None => line("signer: none; `covenant key rotate` makes one".into()),
    }
    match plan.next {
        Some(k) => line(format!(
            "next:   {} ({}), published since {}",
            k.kid(),
            k.alg(),
            show_time(k.created)
        )),
        None => line("next:   none pre-published".into()),
    }
    let leeway = store.policy.leeway_seconds;
    let published = store.state.published(plan.now, leeway);
    line(format!("jwks:   {} key(s)", published.len()));
    let damaged: Vec<&CheckedFile<'_>> = files.iter().filter(|f| !f.state.is_ok()).collect();
    if damaged.is_empty() {
        line(format!(
            "files:  ok (root.age and {} key file(s))",
            files.len() - 1
        ));
    } else {
        line(format!(
            "files:  {} of {} key file(s) missing or damaged; \
             restore them from a backup of the store:",
            damaged.len(),
            files.len()
        ));
    }
    for f in damaged {
        line(format!("  {}", f.problem(plan.now, leeway)));
    }
    line("due:".into());
    let due: Vec<&Deadline> = plan
        .deadlines
        .iter()
        .filter(|d| d.kind != Kind::TokenExpires)
        .collect();
    if due.is_empty() {
        line("  nothing".into());
    }
    for d in due {
        let when = if d.at <= plan.now { "now" } else { "" };
        line(format!("  {} {:>3}  {}", show_time(d.at), when, d.summary));
    }
    line(format!(
        "soonest token expiries ({} valid):",
        plan.live_tokens.len()
    ));
    for t in plan.live_tokens.iter().take(SOONEST_TOKENS) {
        line(format!(
            "  {}  {}  {}  {}",
            show_time(t.exp),
            t.jti,
            t.sub,
            t.contract_id
        ));
    }
    out
}

fn ics(store: &Store, plan: &Schedule<'_>) -> String {
    let events: Vec<calendar::Event> = plan
        .deadlines
        .iter()
        .map(|d| calendar::Event {
            uid: format!("{}.{}@covenant", d.kind.name(), d.subject),
            start: d.at,
            summary: format!("covenant: {}", d.summary),
            description: format!(
                "Issuer {}. {} (as of {}).",
                store.policy.issuer,
                d.summary,
                show_time(plan.now)
            ),
        })
        .collect();
    calendar::render(
        concat!("-//covenant//covenant ", env!("CARGO_PKG_VERSION"), "//EN"),
        &format!("covenant keys: {}", store.policy.issuer),
        plan.now,
        &events,
    )
}
