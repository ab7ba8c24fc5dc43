//! `update` without a terminal: keys, mouse and producer events in, state and commands out.

use crate::ui_support;

use ui_support as common;

use common::{demo_state, demo_state_with};
use jiff::Timestamp;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use shipdeck::tui::state::view::Modal;
use shipdeck::tui::{
    Action, AppEvent, Command, ConfirmRequest, Pane, PlanChange, ReleaseRequest, State, update,
};

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

fn keys(state: &mut State, text: &str) -> Vec<Command> {
    text.chars()
        .flat_map(|c| press(state, KeyCode::Char(c)))
        .collect()
}

fn releases(commands: &[Command]) -> Vec<&ReleaseRequest> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Release(r) => Some(r),
            _ => None,
        })
        .collect()
}

fn notice(state: &State) -> String {
    state
        .view
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default()
}

#[test]
fn selecting_a_service_fetches_its_tags_and_visible_details() {
    let mut state =
        shipdeck::tui::initial_state(common::config(), &common::options(), common::now())
            .expect("state");
    let mut commands = Vec::new();
    for event in common::listed("dev", common::env_objects("dev")) {
        commands.extend(update(&mut state, AppEvent::Cluster(event)));
    }
    assert!(commands.contains(&Command::FetchTags {
        repository: "127.0.0.1:5000/dev/orders".into()
    }));
    assert!(commands.contains(&Command::FetchTags {
        repository: "127.0.0.1:5000/prod/orders".into()
    }));
    // Asked once, not on every event.
    assert_eq!(
        commands
            .iter()
            .filter(|c| matches!(c, Command::FetchTags { .. }))
            .count(),
        2
    );
    let page = shipdeck::registry::RegistryEvent::TagsPage {
        repository: "127.0.0.1:5000/dev/orders".into(),
        tags: vec!["v1.0.0".into(), "v1.1.0".into()],
        complete: true,
    };
    let commands = update(&mut state, AppEvent::Registry(page));
    assert_eq!(
        commands,
        vec![
            Command::FetchTagDetails {
                repository: "127.0.0.1:5000/dev/orders".into(),
                tag: "v1.1.0".into()
            },
            Command::FetchTagDetails {
                repository: "127.0.0.1:5000/dev/orders".into(),
                tag: "v1.0.0".into()
            },
        ]
    );
}

#[test]
fn deploy_sends_the_selected_tag_to_the_focused_env() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3");
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.view.focus, Pane::Tags);
    keys(&mut state, "jj");
    let commands = keys(&mut state, "d");
    let requests = releases(&commands);
    assert_eq!(requests.len(), 1);
    let request = requests[0];
    assert_eq!(
        (
            request.action,
            request.service.as_str(),
            request.env.as_str()
        ),
        (Action::Deploy, "orders", "prod")
    );
    assert_eq!(request.tag.as_deref(), Some("v1.5.0"));
    assert!(
        state.domain.releases[&request.id]
            .message
            .contains("planning")
    );
    assert!(notice(&state).ends_with("planning…"), "{}", notice(&state));
    // Once confirmed, the footer stops saying "planning…".
    let id = request.id;
    update(&mut state, confirm_request(id, Some("orders")));
    keys(&mut state, "orders");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Command::Confirmed { id }]
    );
    assert_eq!(
        notice(&state),
        "deploy orders v1.5.0 @ prod: confirmed, applying…"
    );
}

#[test]
fn read_only_explains_instead_of_acting() {
    let mut options = common::options();
    options.read_only = true;
    let mut state = demo_state_with(common::config(), options, 160, 48);
    let commands = keys(&mut state, "d");
    assert!(releases(&commands).is_empty());
    assert!(
        notice(&state).contains("refused: shipdeck runs with --read-only"),
        "{}",
        notice(&state)
    );
}

#[test]
fn strategy_actions_check_the_strategy() {
    let mut state = demo_state(160, 48);
    let commands = keys(&mut state, "s");
    assert!(releases(&commands).is_empty());
    assert!(
        notice(&state).contains("orders is not a blue-green service"),
        "{}",
        notice(&state)
    );
    keys(&mut state, "j");
    let commands = keys(&mut state, "s");
    assert_eq!(releases(&commands)[0].action, Action::Swap);
    assert_eq!(releases(&commands)[0].service, "payments");
    let commands = keys(&mut state, "+");
    assert!(releases(&commands).is_empty());
    assert!(notice(&state).contains("payments is not a canary service"));
}

#[test]
fn rollbacks_use_the_selected_or_last_known_good_revision() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3jjj");
    assert_eq!(state.view.selected_service.as_deref(), Some("checkout"));
    let commands = keys(&mut state, "R");
    let request = releases(&commands)[0].clone();
    assert_eq!(
        (request.revision, request.tag.as_deref()),
        (Some(4), Some("v3.0.2"))
    );
    press(&mut state, KeyCode::Tab);
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.view.focus, Pane::Revisions);
    // The first row is the current revision: `r` there means the previous one, not a no-op.
    let commands = keys(&mut state, "r");
    assert_eq!(releases(&commands)[0].revision, None);
    keys(&mut state, "jj");
    let commands = keys(&mut state, "r");
    assert_eq!(releases(&commands)[0].revision, Some(3));
}

#[test]
fn canary_weight_prompt_validates_then_sends() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3=");
    assert!(matches!(state.view.modal, Some(Modal::Prompt { .. })));
    keys(&mut state, "150");
    let commands = press(&mut state, KeyCode::Enter);
    assert!(commands.is_empty());
    assert!(
        matches!(&state.view.modal, Some(Modal::Prompt { error: Some(e), .. }) if e.contains("more than 100%"))
    );
    for _ in 0..3 {
        press(&mut state, KeyCode::Backspace);
    }
    keys(&mut state, "40");
    let commands = press(&mut state, KeyCode::Enter);
    let request = releases(&commands)[0];
    assert_eq!(
        (request.action, request.weight, request.env.as_str()),
        (Action::CanarySet, Some(40), "prod")
    );
    assert!(state.view.modal.is_none());
}

fn confirm_request(id: u64, typed: Option<&str>) -> AppEvent {
    AppEvent::Confirm(ConfirmRequest {
        id,
        title: "Deploy orders v1.5.0 → prod".into(),
        env: "prod".into(),
        namespace: "shop".into(),
        changes: vec![PlanChange {
            object: "deployment/orders".into(),
            field: "image".into(),
            from: "orders:v1.4.2".into(),
            to: "orders:v1.5.0".into(),
        }],
        type_to_confirm: typed.map(str::to_string),
        notes: Vec::new(),
    })
}

#[test]
fn protected_confirmation_needs_the_typed_name() {
    let mut state = demo_state(160, 48);
    update(&mut state, confirm_request(7, Some("orders")));
    assert!(press(&mut state, KeyCode::Enter).is_empty());
    assert!(matches!(state.view.modal, Some(Modal::Confirm { .. })));
    assert!(
        keys(&mut state, "y").is_empty(),
        "y types, it does not confirm"
    );
    for _ in 0..1 {
        press(&mut state, KeyCode::Backspace);
    }
    keys(&mut state, "orders");
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        vec![Command::Confirmed { id: 7 }]
    );
    update(&mut state, confirm_request(8, None));
    assert_eq!(
        press(&mut state, KeyCode::Esc),
        vec![Command::Cancelled { id: 8 }]
    );
    update(&mut state, confirm_request(9, None));
    assert_eq!(keys(&mut state, "y"), vec![Command::Confirmed { id: 9 }]);
}

#[test]
fn quit_asks_while_a_write_is_in_flight() {
    let mut state = demo_state(160, 48);
    assert_eq!(
        keys(&mut state, "b"),
        Vec::new(),
        "orders has no build config"
    );
    keys(&mut state, "jjj");
    let commands = keys(&mut state, "b");
    let id = releases(&commands)[0].id;
    assert!(keys(&mut state, "q").is_empty());
    assert!(matches!(state.view.modal, Some(Modal::QuitWhileWriting)));
    keys(&mut state, "n");
    assert!(state.view.modal.is_none() && !state.quit);
    update(
        &mut state,
        AppEvent::ReleaseProgress {
            id,
            message: "built v3.1.1".into(),
            done: true,
            failed: false,
        },
    );
    assert_eq!(keys(&mut state, "q"), vec![Command::Quit]);
    assert!(state.quit);
}

#[test]
fn logs_stream_for_the_selected_pod_into_a_bounded_buffer() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "3jjj");
    press(&mut state, KeyCode::BackTab);
    assert_eq!(state.view.focus, Pane::Pods);
    keys(&mut state, "G");
    let commands = press(&mut state, KeyCode::Enter);
    assert_eq!(
        commands,
        vec![Command::StreamLogs {
            env: "prod".into(),
            namespace: "shop".into(),
            pod: "checkout-5-x2k4p".into(),
            container: None,
        }]
    );
    let lines: Vec<String> = (0..2500).map(|i| format!("line {i}")).collect();
    update(
        &mut state,
        AppEvent::Logs {
            env: "prod".into(),
            pod: "checkout-5-x2k4p".into(),
            lines,
        },
    );
    update(
        &mut state,
        AppEvent::Logs {
            env: "prod".into(),
            pod: "other".into(),
            lines: vec!["x".into()],
        },
    );
    let logs = &state.domain.logs.lines;
    assert_eq!(logs.len(), 2000);
    assert_eq!(logs.front().map(String::as_str), Some("line 500"));
    assert_eq!(keys(&mut state, "l"), vec![Command::StopLogs]);
}

#[test]
fn mouse_click_focuses_and_selects_and_wheel_scrolls() {
    let mut state = demo_state(160, 48);
    let click = |column, row| {
        AppEvent::Input(Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }))
    };
    // Header row 0, border row 1, column header row 2: catalog is the third data row.
    update(&mut state, click(5, 5));
    assert_eq!(state.view.selected_service.as_deref(), Some("catalog"));
    update(&mut state, click(140, 40));
    assert_eq!(state.view.focus, Pane::Pods);
    let wheel = AppEvent::Input(Event::Mouse(MouseEvent {
        kind: MouseEventKind::ScrollDown,
        column: 5,
        row: 10,
        modifiers: KeyModifiers::NONE,
    }));
    update(&mut state, wheel);
    assert_eq!(
        state.view.selected_service.as_deref(),
        Some("search"),
        "three rows down"
    );
}

#[test]
fn environments_switch_by_digit_and_brackets() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "2");
    assert_eq!(state.focused_env(), Some("staging"));
    keys(&mut state, "]]");
    assert_eq!(state.focused_env(), Some("dev"));
    keys(&mut state, "[");
    assert_eq!(state.focused_env(), Some("prod"));
    keys(&mut state, "9");
    assert_eq!(state.focused_env(), Some("prod"), "no ninth environment");
}

#[test]
fn filter_narrows_and_esc_clears() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "/pay");
    assert_eq!(state.derived.service_rows.len(), 1);
    assert_eq!(state.view.selected_service.as_deref(), Some("payments"));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.view.filters.services, "pay");
    press(&mut state, KeyCode::Esc);
    assert_eq!(state.derived.service_rows.len(), 8);
    assert_eq!(state.view.selected_service.as_deref(), Some("payments"));
}

#[test]
fn remapped_keys_from_config() {
    let mut config = common::config();
    config.keys.insert("deploy".into(), "D".into());
    let mut state = demo_state_with(config, common::options(), 160, 48);
    assert!(releases(&keys(&mut state, "d")).is_empty());
    assert_eq!(releases(&keys(&mut state, "D"))[0].action, Action::Deploy);
}

#[test]
fn palette_runs_actions_by_name() {
    let mut state = demo_state(160, 48);
    keys(&mut state, "j:swap");
    let commands = press(&mut state, KeyCode::Enter);
    assert_eq!(releases(&commands)[0].action, Action::Swap);
}

#[test]
fn registry_refresh_refetches_the_selection() {
    let mut state = demo_state(160, 48);
    let commands = update(&mut state, AppEvent::RefreshTags);
    assert!(commands.contains(&Command::FetchTags {
        repository: "127.0.0.1:5000/dev/orders".into()
    }));
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, Command::FetchTagDetails { tag, .. } if tag == "v1.5.0"))
    );
    // Old tags stay on screen until the new first page replaces them.
    assert_eq!(
        state.derived.selected.as_ref().map(|s| s.tags.len()),
        Some(8)
    );
}

#[test]
fn a_registry_refresh_that_finds_the_same_tags_costs_no_frame() {
    let mut state = demo_state(160, 48);
    state.dirty = false;
    update(&mut state, AppEvent::RefreshTags);
    for event in common::registry_events("127.0.0.1:5000/dev/orders", &common::ORDERS_DEV_TAGS) {
        update(&mut state, AppEvent::Registry(event));
    }
    assert!(!state.dirty, "same tags, same screen: no frame");
    let mut more = common::ORDERS_DEV_TAGS.to_vec();
    more.push(("v1.6.0", 60));
    update(&mut state, AppEvent::RefreshTags);
    for event in common::registry_events("127.0.0.1:5000/dev/orders", &more) {
        update(&mut state, AppEvent::Registry(event));
    }
    assert!(state.dirty, "a new tag shows");
    assert_eq!(
        state.derived.selected.as_ref().map(|s| s.tags.len()),
        Some(9)
    );
}

#[test]
fn clock_ticks_move_ages() {
    let mut state = demo_state(160, 48);
    state.dirty = false;
    let later: Timestamp = "2025-06-01T12:10:00Z".parse().expect("time");
    update(&mut state, AppEvent::Tick(later));
    assert!(state.dirty);
    assert_eq!(state.now, later);
    // A clock that stands still (or moves within the second shown) costs no frame.
    state.dirty = false;
    update(&mut state, AppEvent::Tick(later));
    let within: Timestamp = "2025-06-01T12:10:00.400Z".parse().expect("time");
    update(&mut state, AppEvent::Tick(within));
    assert!(!state.dirty, "no visible change, no frame");
    assert_eq!(state.now, within);
}

#[test]
fn nothing_changed_means_no_frame() {
    let mut state = demo_state(160, 48);
    state.dirty = false;
    assert!(state.refresh().is_empty());
    update(&mut state, AppEvent::Input(Event::FocusGained));
    update(
        &mut state,
        AppEvent::Logs {
            env: "prod".into(),
            pod: "not-followed".into(),
            lines: vec!["x".into()],
        },
    );
    assert!(
        !state.dirty,
        "events that change nothing visible must not cost a frame"
    );
    keys(&mut state, "j");
    assert!(state.dirty);
}

#[test]
fn promotion_the_policy_gates_asks_for_an_approval_note_first() {
    let text = format!(
        "{}\n[policy]\napproval_for = [\"minor\", \"major\"]\n",
        common::CONFIG
    );
    let config = shipdeck::config::parse_str(&text, std::path::Path::new("shipdeck.toml"))
        .expect("config parses");
    let mut state = demo_state_with(config, common::options(), 160, 48);
    // orders in staging, Tags focused, the newest tag (a minor bump over prod's v1.4.2).
    keys(&mut state, "2");
    press(&mut state, KeyCode::Tab);
    assert_eq!(state.view.focus, Pane::Tags);
    let commands = keys(&mut state, "p");
    assert!(
        releases(&commands).is_empty(),
        "nothing is sent before the note"
    );
    let Some(Modal::Prompt {
        approval: Some(prompt),
        ..
    }) = &state.view.modal
    else {
        panic!("expected the approval prompt, got {:?}", state.view.modal);
    };
    assert!(
        prompt.reason.starts_with("v1.4.2 → ")
            && prompt.reason.ends_with("into prod is a minor bump"),
        "{}",
        prompt.reason
    );
    let screen = common::render(&state, 160, 48);
    assert!(
        screen.contains("Approval needed: promote orders"),
        "{screen}"
    );
    assert!(screen.contains("recorded in the audit log"), "{screen}");

    let commands = press(&mut state, KeyCode::Enter);
    assert!(commands.is_empty(), "an empty note is refused");
    assert!(
        matches!(&state.view.modal, Some(Modal::Prompt { error: Some(e), .. }) if e.contains("ticket or an approver"))
    );
    keys(&mut state, "CAB-7");
    let commands = press(&mut state, KeyCode::Enter);
    let request = releases(&commands)[0];
    assert_eq!(
        (
            request.action,
            request.env.as_str(),
            request.target_env.as_deref(),
            request.approval.as_deref()
        ),
        (Action::Promote, "staging", Some("prod"), Some("CAB-7"))
    );
    assert!(state.view.modal.is_none());
}

#[test]
fn promotion_without_a_gating_bump_goes_straight_to_planning() {
    let text = format!("{}\n[policy]\napproval_for = [\"major\"]\n", common::CONFIG);
    let config = shipdeck::config::parse_str(&text, std::path::Path::new("shipdeck.toml"))
        .expect("config parses");
    let mut state = demo_state_with(config, common::options(), 160, 48);
    keys(&mut state, "2");
    press(&mut state, KeyCode::Tab);
    let commands = keys(&mut state, "p");
    let request = releases(&commands)[0];
    assert_eq!(
        (request.action, request.approval.as_deref()),
        (Action::Promote, None)
    );
}
