//! Whole-screen snapshots of the console on the demo-like world, on a fixed clock.

use crate::ui_support;

use ui_support as common;

use common::{demo_state, render};
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use shipdeck::tui::{AppEvent, Command, State, update};

fn press(state: &mut State, code: KeyCode) -> Vec<Command> {
    let modifiers = match code {
        KeyCode::Char(c) if c.is_ascii_uppercase() => KeyModifiers::SHIFT,
        _ => KeyModifiers::NONE,
    };
    update(
        state,
        AppEvent::Input(Event::Key(KeyEvent::new(code, modifiers))),
    )
}

fn keys(state: &mut State, text: &str) {
    for c in text.chars() {
        press(state, KeyCode::Char(c));
    }
}

#[test]
fn overview() {
    let state = demo_state(160, 48);
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn tags_focused_on_prod() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3");
    press(&mut state, KeyCode::Tab);
    keys(&mut state, "jj");
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn revisions_focused_helm_service() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3jj");
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Tab);
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn rollout_focused_canary() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3");
    for _ in 0..3 {
        press(&mut state, KeyCode::Tab);
    }
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn pods_focused_blue_green() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3j");
    press(&mut state, KeyCode::BackTab);
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn help_overlay() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "?");
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn filter_active() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "/pa");
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn failing_rollout_with_events() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3jjj");
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Tab);
    keys(&mut state, "v");
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn palette_on_canary_actions() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3c");
    insta::assert_snapshot!(render(&state, 160, 48));
}

#[test]
fn two_columns_at_100x30() {
    let mut state = demo_state(100, 30);
    keys(&mut state, "3");
    insta::assert_snapshot!(render(&state, 100, 30));
}

#[test]
fn one_pane_at_60x20() {
    let mut state = demo_state(60, 20);
    keys(&mut state, "3");
    insta::assert_snapshot!(render(&state, 60, 20));
}

#[test]
fn tiny_20x5() {
    let state = demo_state(20, 5);
    insta::assert_snapshot!(render(&state, 20, 5));
}

#[test]
fn no_size_panics() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "v?");
    for (w, h) in [
        (1, 1),
        (2, 2),
        (5, 3),
        (20, 5),
        (40, 10),
        (79, 15),
        (119, 19),
        (300, 100),
    ] {
        update(&mut state, AppEvent::Input(Event::Resize(w, h)));
        let screen = render(&state, w, h);
        assert_eq!(screen.lines().count(), h as usize);
    }
}

#[test]
fn ascii_and_no_color() {
    let mut options = common::options();
    options.ascii = Some(true);
    options.color_depth = Some(shipdeck::theme::ColorDepth::None);
    let state = common::demo_state_with(common::config(), options, 120, 30);
    insta::assert_snapshot!(render(&state, 120, 30));
}

#[test]
fn dead_and_forbidden_clusters_show_in_the_header() {
    use shipdeck::cluster::{ClusterEvent, ConnHealth};
    let mut options = common::options();
    options.read_only = true;
    let mut state = common::demo_state_with(common::config(), options, 120, 30);
    let since = common::now() - jiff::SignedDuration::from_secs(150);
    for (env, health) in [
        (
            "staging",
            ConnHealth::Reconnecting {
                since,
                error: "connection refused".into(),
            },
        ),
        (
            "prod",
            ConnHealth::Forbidden {
                message: "deployments is forbidden".into(),
            },
        ),
    ] {
        update(
            &mut state,
            AppEvent::Cluster(ClusterEvent::Health {
                env: env.into(),
                health,
            }),
        );
    }
    keys(&mut state, "d");
    insta::assert_snapshot!(render(&state, 120, 30));
}

#[test]
fn protected_write_confirmation_and_actions_log() {
    use shipdeck::tui::{ActionRecord, ConfirmRequest, PlanChange};
    let mut state = demo_state(160, 48);
    keys(&mut state, "3");
    press(&mut state, KeyCode::Tab);
    keys(&mut state, "jd");
    update(
        &mut state,
        AppEvent::ActionLogged(ActionRecord {
            time: common::now(),
            env: "staging".into(),
            method: "PATCH".into(),
            object: "deployments/orders in shop".into(),
            result: Ok("200 OK, revision 7".into()),
        }),
    );
    update(
        &mut state,
        AppEvent::Confirm(ConfirmRequest {
            id: 1,
            title: "Deploy orders v1.5.0 → prod".into(),
            env: "prod".into(),
            namespace: "shop".into(),
            changes: vec![PlanChange {
                object: "deployment/orders".into(),
                field: "spec.template.spec.containers[orders].image".into(),
                from: "127.0.0.1:5000/prod/orders:v1.4.2".into(),
                to: "127.0.0.1:5000/prod/orders:v1.5.0@sha256:a037bda".into(),
            }],
            type_to_confirm: Some("orders".into()),
            notes: Vec::new(),
        }),
    );
    keys(&mut state, "ord");
    insta::assert_snapshot!("confirm_dialog", render(&state, 160, 48));
    press(&mut state, KeyCode::Esc);
    keys(&mut state, "a");
    insta::assert_snapshot!("actions_log_after_cancel", render(&state, 160, 48));
}

#[test]
fn long_plan_titles_widen_the_dialog_or_wrap_in_it() {
    use shipdeck::tui::{ConfirmRequest, PlanChange};
    let title = "Set orders canary weight in prod: 25% → 50% (via httproutes.gateway.networking.k8s.io/orders)";
    let mut state = demo_state(160, 48);
    keys(&mut state, "3");
    update(
        &mut state,
        AppEvent::Confirm(ConfirmRequest {
            id: 1,
            title: title.into(),
            env: "prod".into(),
            namespace: "shop".into(),
            changes: vec![PlanChange {
                object: "httproutes.gateway.networking.k8s.io/orders".into(),
                field: "spec.rules.0.backendRefs[orders-canary].weight".into(),
                from: "25".into(),
                to: "50".into(),
            }],
            type_to_confirm: Some("orders".into()),
            notes: Vec::new(),
        }),
    );
    let wide = render(&state, 160, 48);
    assert!(wide.contains(title), "the whole title shows:\n{wide}");
    insta::assert_snapshot!("confirm_long_title", wide);
    insta::assert_snapshot!("confirm_long_title_60x20", render(&state, 60, 20));
}
