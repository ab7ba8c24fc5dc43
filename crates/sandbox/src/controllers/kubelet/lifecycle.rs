//! One container's life in the simulated kubelet: pull (or fail and back off), create, run,
//! become ready, and exit — completing, or restarting at once the first time and then after a
//! doubling back-off (CrashLoopBackOff), as the kubelet's back-off does.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{Out, PodRt, Policy, Stage, Term, logs};
use crate::controllers::util::{controller_ref, dur, i64_at, mix, name_of, ns_of, secs};
use crate::controllers::{Ctx, SimConfig};
use crate::images::{Fault, ImageVerdict};
use crate::resources::kinds;

pub(super) fn backoff(sim: &SimConfig, attempt: u32) -> i64 {
    let initial = sim.backoff_initial.as_secs().max(1) as i64;
    let max = sim.backoff_max.as_secs().max(1) as i64;
    let shift = attempt.saturating_sub(1).min(20);
    (initial << shift).min(max)
}

/// Advances one container through every transition due by now, each at its own instant.
pub(super) fn step(ctx: &Ctx<'_>, pod: &Value, rt: &mut PodRt, i: usize, out: &mut Out) {
    let sim = ctx.sim;
    for _ in 0..64 {
        let c = &mut rt.containers[i];
        match c.stage.clone() {
            Stage::Pulling { until, .. } if until <= ctx.now => {
                match ctx.images.resolve(&c.image) {
                    ImageVerdict::Present { fault } => {
                        c.fault = fault;
                        let took = fmt_secs(dur(sim.image_pull));
                        let size = 20_000_000 + mix(&c.image, 7) % 180_000_000;
                        let msg = format!(
                            "Successfully pulled image \"{}\" in {took} ({took} including waiting). Image size: {size} bytes.",
                            c.image
                        );
                        out.ev(false, "Pulled", msg, &c.name);
                        c.stage = Stage::Creating {
                            until: until + dur(sim.container_start),
                        };
                    }
                    ImageVerdict::Missing { reason } => {
                        c.pull_failures += 1;
                        let err =
                            format!("failed to pull and unpack image \"{}\": {reason}", c.image);
                        let msg = format!("Failed to pull image \"{}\": {err}", c.image);
                        out.ev(true, "Failed", msg, &c.name);
                        out.ev(true, "Failed", "Error: ErrImagePull".into(), &c.name);
                        c.stage = Stage::PullFailed {
                            until: until + secs(1),
                            message: err,
                        };
                    }
                }
            }
            Stage::PullFailed { until, .. } if until <= ctx.now => {
                let msg = format!("Back-off pulling image \"{}\"", c.image);
                out.ev(false, "BackOff", msg.clone(), &c.name);
                out.ev(true, "Failed", "Error: ImagePullBackOff".into(), &c.name);
                c.stage = Stage::PullBackOff {
                    until: until + secs(backoff(sim, c.pull_failures)),
                    message: msg,
                };
            }
            Stage::PullBackOff { until, message } if until <= ctx.now => {
                out.ev(
                    false,
                    "Pulling",
                    format!("Pulling image \"{}\"", c.image),
                    &c.name,
                );
                c.stage = Stage::Pulling {
                    until: until + dur(sim.image_pull),
                    retry: Some(message),
                };
            }
            Stage::Creating { until } if until <= ctx.now => {
                start(ctx, pod, rt, i, until, out);
            }
            Stage::Running {
                exit: Some((at, code)),
                since,
                ..
            } if at <= ctx.now => finish(ctx, pod, rt, i, since, at, code, out),
            Stage::CrashBackOff { until, .. } if until <= ctx.now => {
                let msg = format!("Container image \"{}\" already present on machine", c.image);
                out.ev(false, "Pulled", msg, &c.name);
                c.restarts += 1;
                start(ctx, pod, rt, i, until, out);
            }
            _ => return,
        }
    }
}

/// Creates and starts the container at `at`.
fn start(ctx: &Ctx<'_>, pod: &Value, rt: &mut PodRt, i: usize, at: Timestamp, out: &mut Out) {
    let sim = ctx.sim;
    let run_for = rt.run_for;
    let c = &mut rt.containers[i];
    let seed = format!("{}/{}/{}", rt.uid, c.name, c.restarts);
    c.container_id = format!(
        "containerd://{:016x}{:016x}{:016x}{:016x}",
        mix(&seed, 1),
        mix(&seed, 2),
        mix(&seed, 3),
        mix(&seed, 4)
    );
    out.ev(
        false,
        "Created",
        format!("Created container {}", c.name),
        &c.name,
    );
    out.ev(
        false,
        "Started",
        format!("Started container {}", c.name),
        &c.name,
    );
    let crash = c.fault == Some(Fault::Crash);
    let probe_delay = pod["spec"]["containers"]
        .as_array()
        .and_then(|cs| cs.iter().find(|x| x["name"] == c.name.as_str()))
        .map(|x| i64_at(x, "/readinessProbe/initialDelaySeconds"))
        .unwrap_or(0);
    let ready_after = dur(sim.readiness).max(secs(probe_delay));
    let exit = if crash {
        Some((at + dur(sim.crash_after), 1))
    } else {
        run_for.map(|d| (at + d, 0))
    };
    c.stage = Stage::Running {
        since: at,
        ready_at: (!crash).then_some(at + ready_after),
        exit,
    };
    out.log(
        &c.name,
        logs::startup(pod, &c.name, &c.image, at, c.restarts),
    );
}

/// The container exits with `code` at `at`: completes, or restarts (at once the first time,
/// then after a doubling back-off).
#[allow(clippy::too_many_arguments)]
fn finish(
    ctx: &Ctx<'_>,
    pod: &Value,
    rt: &mut PodRt,
    i: usize,
    since: Timestamp,
    at: Timestamp,
    code: i64,
    out: &mut Out,
) {
    let policy = rt.policy.clone();
    let pod_ref = format!("{}_{}({})", name_of(pod), ns_of(pod), rt.uid);
    let c = &mut rt.containers[i];
    if code == 0 {
        let job = controller_ref(pod)
            .filter(|r| r["kind"] == "Job")
            .and_then(|r| r["name"].as_str())
            .and_then(|n| ctx.cluster.store.get(*kinds::JOBS, ns_of(pod), n));
        let mut lines = Vec::new();
        if let Some(job) = &job {
            for hook in ctx.hooks {
                lines.extend(hook(job));
            }
        }
        out.log(&c.name, logs::completed(at, lines));
    } else {
        out.log(&c.name, logs::crashed(&c.name, at));
    }
    let term = Term {
        exit: code,
        reason: if code == 0 { "Completed" } else { "Error" },
        started: since,
        finished: at,
        container_id: c.container_id.clone(),
    };
    let restart = match policy {
        Policy::Always => true,
        Policy::OnFailure => code != 0,
        Policy::Never => false,
    };
    if !restart {
        c.stage = Stage::Done(term);
        return;
    }
    c.crashes += 1;
    c.last = Some(term);
    if c.crashes == 1 {
        let msg = format!("Container image \"{}\" already present on machine", c.image);
        out.ev(false, "Pulled", msg, &c.name);
        c.restarts += 1;
        start(ctx, pod, rt, i, at, out);
        return;
    }
    let b = backoff(ctx.sim, c.crashes - 1);
    let msg = format!(
        "Back-off restarting failed container {} in pod {pod_ref}",
        c.name
    );
    out.ev(true, "BackOff", msg, &c.name);
    c.stage = Stage::CrashBackOff {
        until: at + secs(b),
        backoff: b,
    };
}

/// Go-style duration for event messages: `2s`, `1.5s`.
fn fmt_secs(d: SignedDuration) -> String {
    let ms = d.as_millis();
    if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", (ms as f64) / 1000.0)
    }
}
