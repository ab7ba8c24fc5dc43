//! The fidelity report: one kubectl scenario (tests/fidelity/scenario.rs) run against the
//! sandbox and against the real control plane (tests/common/real_cluster.rs), both outputs
//! normalised (ages, UIDs, resourceVersions, IPs, timestamps, generated names and hashes, node
//! names) and diffed. Every line that still differs must be explained in
//! tests/fidelity/DIFFERENCES.md, and every explanation there must still be needed.
//!
//! `tests/fidelity/diff.sh` runs this test and shows the full diff; the normalised and raw
//! transcripts are written to `$SHIPDECK_FIDELITY_OUT` (default `target/tmp/fidelity`).

mod compare;
mod live_sandbox;
mod normalise;
mod scenario;
mod side;

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::real_cluster_or_skip;
use live_sandbox::LiveSandbox;
use normalise::Normaliser;
use side::{Side, Transcript};

const DIFFERENCES: &str = "tests/fidelity/DIFFERENCES.md";

#[test]
fn the_sandbox_answers_kubectl_like_the_real_api_server() {
    let real = real_cluster_or_skip!();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sandbox = LiveSandbox::start(&runtime, dir.path());
    let sandbox_side = Side::sandbox(&sandbox, &runtime, dir.path());
    let real_side = Side::real(real, &runtime, dir.path());
    let steps = scenario::steps();
    let started = std::time::Instant::now();
    // Both at once: most of the time is waiting for rollouts.
    let (on_sandbox, on_real) = std::thread::scope(|s| {
        let a = s.spawn(|| sandbox_side.run(&steps));
        let b = s.spawn(|| real_side.run(&steps));
        (
            a.join().expect("sandbox scenario"),
            b.join().expect("real scenario"),
        )
    });
    sandbox.stop(&runtime);
    eprintln!(
        "fidelity: {} recorded steps on each side in {:.1?}; kubectl {} (sandbox), {} (real)",
        on_sandbox.records.len(),
        started.elapsed(),
        on_sandbox.kubectl_version,
        on_real.kubectl_version
    );

    let sandbox_text = normalised(&on_sandbox);
    let real_text = normalised(&on_real);
    let out = write_transcripts(&on_sandbox, &on_real, &sandbox_text, &real_text);
    assert_eq!(
        on_sandbox.kubectl_version, on_real.kubectl_version,
        "the kubectl dispatcher picks the same kubectl for both servers"
    );

    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(repo.join(DIFFERENCES)).expect("read DIFFERENCES.md");
    let explanations = compare::explanations(&doc);
    let found = compare::differences(&sandbox_text, &real_text);
    let verdict = compare::judge(&found, &explanations);
    let mut report = String::new();
    if !verdict.unexplained.is_empty() {
        writeln!(
            report,
            "Differences that {DIFFERENCES} does not explain (- sandbox only, + real only):"
        )
        .expect("write");
        let mut step = "";
        for d in &verdict.unexplained {
            if d.step != step {
                step = &d.step;
                writeln!(report, "  in `{step}`:").expect("write");
            }
            writeln!(report, "    {} {}", d.sign, d.line).expect("write");
        }
    }
    for e in &verdict.unused {
        writeln!(
            report,
            "{DIFFERENCES} explains a difference that is gone (section {:?}): {}",
            e.heading, e.pattern
        )
        .expect("write");
    }
    assert!(
        report.is_empty(),
        "{report}\nFull diff: diff -u {0}/sandbox.txt {0}/real.txt (or tests/fidelity/diff.sh)",
        out.display()
    );
}

fn normalised(transcript: &Transcript) -> String {
    let normaliser = Normaliser::new(&transcript.hashes);
    transcript
        .records
        .iter()
        .map(|r| normaliser.record(r))
        .collect()
}

/// Writes `{sandbox,real}.txt` (normalised) and `{sandbox,real}.raw.txt` (as printed) for a
/// human to diff; returns the directory.
fn write_transcripts(
    sandbox: &Transcript,
    real: &Transcript,
    sandbox_text: &str,
    real_text: &str,
) -> PathBuf {
    let out = std::env::var_os("SHIPDECK_FIDELITY_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fidelity"));
    std::fs::create_dir_all(&out).expect("create the transcript directory");
    let raw = |t: &Transcript| {
        t.records
            .iter()
            .map(|r| {
                format!(
                    "==== {}\n{}---- stderr\n{}---- exit {}\n",
                    r.title, r.stdout, r.stderr, r.code
                )
            })
            .collect::<String>()
    };
    for (name, text) in [
        ("sandbox.txt", sandbox_text.to_string()),
        ("real.txt", real_text.to_string()),
        ("sandbox.raw.txt", raw(sandbox)),
        ("real.raw.txt", raw(real)),
    ] {
        std::fs::write(out.join(name), text).expect("write transcript");
    }
    out
}
