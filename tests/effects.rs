//! What the event loop's effects answer with is applied by `update`, like every other
//! message: the loop never writes the state itself.

use chrono::TimeZone;
use skydeck::app::{AppState, Msg, update};
use skydeck::keymap::Keymap;
use skydeck::model::Level;

fn now() -> skydeck::model::Timestamp {
    chrono::Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap()
}

fn state() -> AppState {
    let mut s = AppState::new(&[("sandbox".to_string(), 2)], now(), Keymap::default())
        .with_catalog(skydeck::providers::CATALOG);
    s.dirty = false;
    s
}

fn incident() -> skydeck::incident::Incident {
    skydeck::incident::Incident {
        id: 4,
        title: "db down".into(),
        severity: "sev1".into(),
        environment: None,
        opened_at: now(),
        opened_by: "ana".into(),
        closed_at: None,
        resolution: None,
        timeline: Vec::new(),
    }
}

#[test]
fn a_loaded_theme_is_named_and_redrawn_and_a_failed_one_says_why() {
    let mut s = state();
    let theme = Box::new(skydeck::theme::Theme::resolve(Some("light"), false).unwrap());
    assert!(update(&mut s, Msg::ThemeLoaded { name: "light".into(), theme }).is_empty());
    assert_eq!(s.theme_name, "light");
    assert!(s.dirty);
    update(&mut s, Msg::ThemeFailed("theme 'x' not found".into()));
    assert_eq!(s.last_message, Some(("theme 'x' not found".into(), Level::Warn)));
    assert_eq!(s.theme_name, "light");
}

#[test]
fn the_demo_source_gets_the_next_slot_and_ends_the_first_run_screen() {
    let mut s = state();
    s.first_run = true;
    update(&mut s, Msg::DemoStarted { name: "demo".into(), interval_secs: 5 });
    assert_eq!(s.sources.len(), 2);
    assert_eq!((s.sources[1].source.name.as_str(), s.sources[1].interval_secs), ("demo", 5));
    assert!(!s.first_run && s.dirty);
}

#[test]
fn timeline_entries_and_closing_change_the_open_incident_only() {
    let mut s = state();
    let entry = skydeck::incident::Entry {
        at: now(),
        kind: skydeck::incident::EntryKind::Note,
        who: "ana".into(),
        text: "looking".into(),
    };
    // No incident open: nothing to add to.
    update(&mut s, Msg::TimelineAdded(entry.clone()));
    assert!(s.incident.is_none() && !s.dirty);
    s.incident = Some(incident());
    update(&mut s, Msg::TimelineAdded(entry.clone()));
    assert_eq!(s.incident.as_ref().unwrap().timeline, [entry]);
    // Another incident's close leaves this one open.
    update(&mut s, Msg::IncidentClosed(99));
    assert!(s.incident.is_some());
    update(&mut s, Msg::IncidentClosed(4));
    assert!(s.incident.is_none());
    assert_eq!(s.last_message, Some(("incident 4 closed".into(), Level::Ok)));
}

#[test]
fn a_notice_goes_to_the_message_line_at_its_level() {
    let mut s = state();
    update(&mut s, Msg::Notice("no source knows job-1".into(), Level::Warn));
    assert_eq!(s.last_message, Some(("no source knows job-1".into(), Level::Warn)));
    assert!(s.dirty);
}
