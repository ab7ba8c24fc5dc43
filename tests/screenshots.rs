//! The real binary: `shipdeck screenshots --out DIR --svg-only` renders the README's scenes
//! from the demo world through the console's own client code. Each picture is read back as
//! the screen it shows (text placed on the cell grid) and checked for its story; a second run
//! must give byte-identical SVGs.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use shipdeck::sandbox::scenario::catalog::DEMO;
use shipdeck::screenshot::scenes::SCENES;
use shipdeck::screenshot::svg::{CELL_H, CELL_W};

/// Runs `shipdeck screenshots` into `dir/out`; returns the SVGs by scene.
async fn screenshots(dir: &Path, port_base: u16) -> BTreeMap<String, String> {
    let out = dir.join("out");
    let run = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipdeck"))
        .arg("--log-file")
        .arg(dir.join("shipdeck.log"))
        .arg("screenshots")
        .arg("--out")
        .arg(&out)
        .arg("--svg-only")
        .arg("--port-base")
        .arg(port_base.to_string())
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let run = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("shipdeck screenshots finishes")
        .expect("shipdeck runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{:?}\n{stderr}", run.status);
    let listed: Vec<String> = String::from_utf8_lossy(&run.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = SCENES
        .iter()
        .map(|s| out.join(format!("{s}.svg")).display().to_string())
        .collect();
    assert_eq!(listed, expected, "it prints what it wrote\n{stderr}");
    assert!(
        !out.join("overview.png").exists(),
        "--svg-only writes no PNG"
    );
    SCENES
        .iter()
        .map(|s| {
            let svg = std::fs::read_to_string(out.join(format!("{s}.svg"))).expect("svg");
            (s.to_string(), svg)
        })
        .collect()
}

/// A numeric attribute of a tag's attribute list (`x="8.43" y="13.26" …`).
fn attr(tag: &str, name: &str) -> f64 {
    let tag = format!(" {tag}");
    let start = tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("{name} in {tag}"))
        + name.len()
        + 3;
    let len = tag[start..].find('"').expect("closing quote");
    tag[start..start + len].parse().expect("a number")
}

/// The screen an SVG shows: each text run put back on its cells, one string per row.
fn screen(svg: &str) -> Vec<String> {
    let mut rows = vec![vec![' '; 160]; 48];
    for piece in svg.split("<text ").skip(1) {
        let (tag, rest) = piece.split_once('>').expect("text tag");
        let text = rest.split("</text>").next().expect("text content");
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let col = (attr(tag, "x") / CELL_W).round() as usize;
        let row = (attr(tag, "y") / CELL_H).floor() as usize;
        for (i, c) in text.chars().enumerate() {
            rows[row][col + i] = c;
        }
    }
    rows.into_iter().map(|r| r.into_iter().collect()).collect()
}

fn assert_shows(scene: &str, screen: &[String], texts: &[&str]) {
    let all = screen.join("\n");
    for text in texts {
        assert!(all.contains(text), "{scene} should show {text:?}:\n{all}");
    }
}

/// The first full-size rectangle: the terminal's background.
fn background(svg: &str) -> &str {
    let prefix = r#"<rect width="100%" height="100%" fill=""#;
    let start = svg.find(prefix).expect("background") + prefix.len();
    &svg[start..start + 7]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_tell_the_demo_story_and_are_deterministic() {
    let port_base = crate::common::free_port_base();
    let dir = tempfile::tempdir().expect("temp dir");
    let first = screenshots(&dir.path().join("first"), port_base).await;
    let screens: BTreeMap<&str, Vec<String>> =
        first.iter().map(|(k, v)| (k.as_str(), screen(v))).collect();

    // Overview: every demo service in every environment, dev focused, on a dark terminal.
    let overview = &screens["overview"];
    assert_shows(
        "overview",
        overview,
        &[
            "Services 9/9",
            "1 dev",
            "2 staging",
            "3 prod",
            "sandbox demo",
        ],
    );
    for service in DEMO {
        assert!(
            overview
                .iter()
                .any(|row| row.contains(&format!(" {} ", service.name))),
            "overview lists {}",
            service.name
        );
    }
    assert_eq!(background(&first["overview"]), "#1b1f27");

    // Light: the same screen on a light terminal, in the light theme's colours.
    assert_eq!(screens["light"], *overview);
    assert_eq!(background(&first["light"]), "#fafafa");
    assert_ne!(first["light"], first["overview"]);

    // Help: the keys, from the action registry.
    assert_shows(
        "help",
        &screens["help"],
        &[
            "Help",
            "Roll back to the last known good revision",
            "Deploy the selected tag",
            "Canary actions",
            "Quit",
        ],
    );

    // The canary in prod: 25% through the HTTPRoute, analysis passing.
    assert_shows(
        "canary",
        &screens["canary"],
        &[
            "Rollout: orders @ prod",
            "25% via HTTPRoute orders",
            "check 1 passed",
            "would advance to the next canary step",
        ],
    );
    // Three checks later, with both versions' sparklines.
    let analysis = &screens["canary-analysis"];
    assert_shows(
        "canary-analysis",
        analysis,
        &["check 4 passed", "req/s", "errors ≤ 1%", "p99 ≤ 300 ms"],
    );
    for version in ["canary ", "stable "] {
        let row = analysis
            .iter()
            .find(|r| r.contains(version) && r.contains("/s "))
            .unwrap_or_else(|| panic!("a sparkline row for {version}"));
        assert!(
            row.chars().any(|c| ('▁'..='█').contains(&c)),
            "{version}sparklines: {row}"
        );
    }

    // The on-call view: prod delivery crash-loops, the guard would roll it back.
    assert_shows(
        "failing",
        &screens["failing"],
        &[
            "Rollout: delivery @ prod",
            "exceeded its progress deadline",
            "CrashLoopBackOff",
            "would roll back to v2.2.1",
            "Events: delivery @ prod",
            "BackOff",
        ],
    );

    // Kubelet messages longer than the panel end with an ellipsis, not mid-word at the border.
    assert!(
        screens["failing"]
            .iter()
            .any(|r| r.contains("Back-off restarting failed container") && r.ends_with("…│")),
        "{}",
        screens["failing"].join("\n")
    );

    // The rollback dialog: the plan as a diff, and the typed confirmation protected prod wants.
    assert_shows(
        "rollback",
        &screens["rollback"],
        &[
            "Roll back delivery in prod to revision 3 (v2.2.1)",
            "environment prod · namespace shop",
            "revision 4 (v2.3.0) → revision 3 (v2.2.1)",
            &format!("127.0.0.1:{}/prod/delivery:v2.2.1", port_base + 3),
            "Type delivery to confirm:",
            "Esc cancels",
        ],
    );

    // Same input, same pictures.
    let second = screenshots(&dir.path().join("second"), port_base).await;
    for scene in SCENES {
        assert!(
            first[scene] == second[scene],
            "{scene}.svg differs between two runs:\n{}\n---\n{}",
            screens[scene].join("\n"),
            screen(&second[scene]).join("\n")
        );
    }
}
