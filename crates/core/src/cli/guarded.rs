//! `shipdeck deploy SERVICE TAG --env ENV --wait` for a service with `[service.analysis]`:
//! the deploy is planned, confirmed and applied like any other, then release analysis runs
//! the strategy to its end (canary steps, rollout watch, blue-green swap), acting through the
//! same planners and executor. Exit 0 when promoted, 6 when aborted or rolled back, 7 when
//! paused on inconclusive data. `--output json` prints one document: the deploy plan, every
//! check (metric, value, baseline, threshold, verdict), the actions taken and the outcome.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::metrics::guard::{self, Guard, GuardOutcome};
use crate::metrics::runner::{AnalysisEvent, WallClock};
use crate::release::{ReleaseContext, ReleaseError, ReleaseRequest, plan_request};

use super::drive::{
    EXIT_OK, EXIT_PAUSED, EXIT_ROLLED_BACK, Flow, Output, apply, exit_code, print_progress,
};

pub fn exit_for(outcome: &GuardOutcome) -> i32 {
    match outcome {
        GuardOutcome::Promoted => EXIT_OK,
        GuardOutcome::Aborted { .. } | GuardOutcome::RolledBack { .. } => EXIT_ROLLED_BACK,
        GuardOutcome::Paused { .. } => EXIT_PAUSED,
    }
}

fn failed(flow: &Flow, req: &ReleaseRequest, e: &ReleaseError, checks: Vec<Value>) -> i32 {
    if flow.output == Output::Json {
        let doc = json!({"request": req, "analysis": {"checks": checks}, "result": "failed", "error": e.to_string()});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        eprintln!("shipdeck: {e}");
    }
    exit_code(e)
}

pub async fn deploy(ctx: &ReleaseContext, req: ReleaseRequest, tag: &str, flow: &Flow) -> i32 {
    let before = match guard::baseline(ctx, &req.service, &req.env).await {
        Ok(b) => b,
        Err(e) => return failed(flow, &req, &e, Vec::new()),
    };
    let plan = match plan_request(&req, ctx).await {
        Ok(plan) => plan,
        Err(e) => return failed(flow, &req, &e, Vec::new()),
    };
    let applied = match apply(ctx, plan, flow).await {
        Ok(applied) => applied,
        Err(code) => return code,
    };
    let checks: Arc<Mutex<Vec<Value>>> = Arc::default();
    let collected = checks.clone();
    let json_out = flow.output == Output::Json;
    let sink = Arc::new(move |event: AnalysisEvent| {
        if let AnalysisEvent::Checked { report, versions } = &event
            && let Ok(mut all) = collected.lock()
        {
            let mut check = serde_json::to_value(report).unwrap_or_default();
            check["versions"] = serde_json::to_value(versions).unwrap_or_default();
            all.push(check);
        }
        // Progress goes to stderr in both modes; stdout carries the result.
        if let Some(line) = crate::metrics::text::describe(&event) {
            eprintln!("{line}");
        }
    });
    let mut guard = Guard::new(ctx, Arc::new(WallClock), sink);
    guard.progress = Box::new(print_progress);
    guard.follow_timeout = flow.timeout;
    let result = guard.run(&applied, tag, &before).await;
    drop(guard);
    let checks = checks.lock().map(|c| c.clone()).unwrap_or_default();
    let report = match result {
        Ok(report) => report,
        Err(e) => return failed(flow, &req, &e, checks),
    };
    let result = match &report.outcome {
        GuardOutcome::Promoted => "promoted",
        GuardOutcome::Aborted { .. } => "aborted",
        GuardOutcome::RolledBack { .. } => "rolled_back",
        GuardOutcome::Paused { .. } => "paused",
    };
    if json_out {
        let doc = json!({
            "plan": applied,
            "analysis": {"checks": checks, "actions": report.actions, "outcome": report.outcome},
            "final_action": report.actions.last(),
            "result": result,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        match &report.outcome {
            GuardOutcome::Promoted => println!("promoted: {} {tag} in {}", req.service, req.env),
            GuardOutcome::Aborted { why } => println!("aborted: {why}"),
            GuardOutcome::RolledBack { why } => println!("rolled back: {why}"),
            GuardOutcome::Paused { why } => println!("paused (nothing promoted): {why}"),
        }
    }
    exit_for(&report.outcome)
}
