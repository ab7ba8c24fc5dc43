//! The command line around the clusters: completions and the man page from the same flags the
//! parser has, the log file (rolled daily, and never in the way of a start), SHIPDECK_CONFIG,
//! and kubectl's flags refused where they would redirect a configured environment.

use crate::access_support::Workdir;

#[test]
fn completions_and_the_man_page_know_the_kubectl_flags() {
    let dir = Workdir::new();
    for shell in ["bash", "zsh", "fish"] {
        let script = dir.run(&["completions", shell], &[]);
        // Long options without their dashes: fish writes `-l kubeconfig`.
        for flag in ["kubeconfig", "context", "namespace", "init"] {
            assert!(
                script.ok().contains(flag),
                "{shell} completion lacks {flag}"
            );
        }
    }
    let man = dir.run(&["man"], &[]);
    assert!(man.ok().starts_with(".ie"), "roff: {}", &man.stdout[..80]);
    assert!(man.stdout.contains(".TH shipdeck 1"), "{}", man.stdout);
    assert!(man.stdout.contains("kubeconfig"));
}

#[test]
fn the_log_rolls_by_day_and_a_log_that_cannot_be_written_stops_nothing() {
    let dir = Workdir::new();
    dir.run(&["completions", "bash"], &[]).ok();
    let logs: Vec<String> = std::fs::read_dir(dir.path("state/shipdeck"))
        .expect("the log directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    assert!(
        logs.iter()
            .any(|n| n.starts_with("shipdeck.") && n.ends_with(".log") && n.len() == 23),
        "shipdeck.YYYY-MM-DD.log: {logs:?}"
    );
    // A file where the log directory should be: no log, a warning, and the command runs.
    let blocked = dir.write("blocked", "a file, not a directory");
    let run = dir.run(
        &[
            "--log-file",
            blocked.join("shipdeck.log").to_str().expect("path"),
            "completions",
            "bash",
        ],
        &[],
    );
    assert!(run.ok().contains("shipdeck"));
    assert!(
        run.stderr.contains("warning: no log file")
            && run.stderr.contains("continuing without one"),
        "{}",
        run.stderr
    );
}

#[test]
fn shipdeck_config_names_the_file_and_kubectl_flags_never_redirect_its_environments() {
    let dir = Workdir::new();
    let config = dir.write(
        "elsewhere.toml",
        "[[env]]\nname = \"prod\"\ncontext = \"prod-eu\"\nnamespace = \"shop\"\nprotected = true\n",
    );
    let run = dir.run(
        &["status", "--context", "staging-eu"],
        &[("SHIPDECK_CONFIG", config.to_str().expect("path"))],
    );
    assert_ne!(run.code, 0);
    for part in [
        "--context and --namespace",
        "elsewhere.toml",
        "defines prod",
    ] {
        assert!(run.stderr.contains(part), "{part}: {}", run.stderr);
    }
    // A typo in a flag is clap's usage error (exit 2), naming the flag.
    let typo = dir.run(&["status", "--contxt", "x"], &[]);
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(typo.stderr.contains("--contxt"), "{}", typo.stderr);
}
