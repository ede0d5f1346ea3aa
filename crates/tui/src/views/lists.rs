//! The plain list screens: Deployments, Resources, Backups, Secrets, Audit.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row as TableRow, Table, Wrap};

use super::{ago, level_span, plain_block, screen_block, trunc, visible_rows};
use crate::app::{AppState, Row};
use crate::model::{Level, human_duration};
use crate::store::AuditPhase;
use crate::theme::Theme;

/// Draws a table of the visible rows with the selection highlighted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn table(
    state: &AppState,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    header: &[&str],
    widths: &[Constraint],
    cells: impl Fn(Row) -> Vec<Cell<'static>>,
) {
    let (visible, total) = visible_rows(state);
    let offset = state.list().offset;
    let selected = state.list().selected;
    let rows: Vec<TableRow> = visible
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let row = TableRow::new(cells(*r));
            if offset + i == selected { row.style(theme.selected()) } else { row }
        })
        .collect();
    let header = TableRow::new(header.iter().map(|h| Cell::from(*h))).style(theme.header());
    let mut block = screen_block(state, theme, title, total);
    if total == 0 {
        let empty = if super::list_filter(state).is_empty() {
            "nothing here yet"
        } else {
            "no row matches the filter (esc clears it)"
        };
        block = block.title_bottom(Span::styled(format!(" {empty} "), theme.dim()));
    }
    frame.render_widget(Table::new(rows, widths.to_vec()).header(header).block(block).column_spacing(1), area);
}

/// One table column: its header, the width it needs, and how much it matters: priority 0 is
/// never dropped (it names the target), higher numbers go first when the terminal is narrow.
/// A `fill` column takes what is left, at least `width`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col {
    pub header: &'static str,
    pub width: u16,
    pub priority: u8,
    pub fill: bool,
}

impl Col {
    pub(crate) fn fixed(header: &'static str, width: u16, priority: u8) -> Col {
        Col { header, width: width.max(header.chars().count() as u16), priority, fill: false }
    }
    pub(crate) fn fill(header: &'static str, min: u16, priority: u8) -> Col {
        Col { header, width: min, priority, fill: true }
    }
}

/// Which columns fit in `width` (one column of space between them): whole columns are
/// left out, least important first, rather than every column cut a little. Columns are taken
/// in order of importance while they fit, so a small column can still use the room a wide
/// one left.
pub(crate) fn fit_columns(cols: &[Col], width: u16) -> Vec<bool> {
    let mut keep: Vec<bool> = cols.iter().map(|c| c.priority == 0).collect();
    let cost = |c: &Col| u32::from(c.width) + 1;
    let mut used: u32 = cols.iter().filter(|c| c.priority == 0).map(cost).sum();
    let mut order: Vec<usize> = (0..cols.len()).filter(|i| cols[*i].priority > 0).collect();
    order.sort_by_key(|i| (cols[*i].priority, *i));
    for i in order {
        // `used` counts one space per column; the last one needs none.
        if used + cost(&cols[i]) <= u32::from(width) + 1 {
            keep[i] = true;
            used += cost(&cols[i]);
        }
    }
    keep
}

/// The width of the widest value (or the header): a column that names a target is never cut.
pub(crate) fn widest<'a>(header: &str, values: impl Iterator<Item = &'a str>) -> u16 {
    use unicode_width::UnicodeWidthStr;
    values.map(UnicodeWidthStr::width).chain([header.chars().count()]).max().unwrap_or(0).min(80) as u16
}

/// `table` with columns that shrink by priority to the area's width.
pub(crate) fn fitted_table(
    state: &AppState,
    theme: &Theme,
    frame: &mut Frame,
    area: Rect,
    title: &str,
    cols: &[Col],
    cells: impl Fn(Row) -> Vec<Cell<'static>>,
) {
    let keep = fit_columns(cols, area.width.saturating_sub(2));
    let shown: Vec<&Col> = cols.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c).collect();
    let header: Vec<&str> = shown.iter().map(|c| c.header).collect();
    let widths: Vec<Constraint> =
        shown.iter().map(|c| if c.fill { Constraint::Min(c.width) } else { Constraint::Length(c.width) }).collect();
    table(state, theme, frame, area, title, &header, &widths, |row| {
        cells(row).into_iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c).collect()
    });
}

/// Environment names as wide as the widest one.
fn env_width<'a>(state: &'a AppState, more: impl Iterator<Item = &'a str>) -> u16 {
    widest("Env", state.estate.environments.iter().map(|e| e.name.as_str()).chain(more))
}

pub fn deployments(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let env = env_width(
        state,
        e.approvals.iter().map(|a| a.environment.as_str()).chain(e.deployments.iter().map(|d| d.environment.as_str())),
    )
    .max(11);
    let repo = widest(
        "Repository",
        e.approvals.iter().map(|a| a.repo.as_str()).chain(e.deployments.iter().map(|d| d.repo.as_str())),
    );
    let cols = [
        Col::fixed("Environment", env, 0),
        Col::fixed("State", 18, 1),
        Col::fixed("Repository", repo, 2),
        Col::fixed("SHA", 7, 3),
        Col::fixed("By", 12, 6),
        Col::fixed("Since", 10, 4),
        Col::fill("Details", 10, 5),
    ];
    fitted_table(state, theme, frame, area, "Deployments & approvals", &cols, |row| match row {
        Row::Approval(i) => {
            let a = &e.approvals[i];
            vec![
                Cell::from(Span::styled(a.environment.clone(), Style::default().add_modifier(Modifier::BOLD))),
                Cell::from(level_span(theme, Level::Warn, "waiting approval")),
                Cell::from(a.repo.clone()),
                Cell::from(a.sha.chars().take(7).collect::<String>()),
                Cell::from("—"),
                Cell::from(ago(state, Some(a.requested_at))),
                Cell::from(Span::styled(
                    format!(
                        "{} · reviewers: {}{}",
                        a.workflow,
                        a.reviewers.join(", "),
                        if a.wait_timer_minutes > 0 {
                            format!(" · wait {}m", a.wait_timer_minutes)
                        } else {
                            String::new()
                        }
                    ),
                    Style::default().fg(theme.warn),
                )),
            ]
        }
        Row::Deployment(i) => {
            let d = &e.deployments[i];
            let current = d.state == crate::model::DeploymentState::Success;
            let state_text = if current { "live".to_string() } else { format!("{:?}", d.state).to_lowercase() };
            let lvl = if current { Level::Ok } else { d.state.level() };
            vec![
                Cell::from(d.environment.clone()),
                Cell::from(if d.state == crate::model::DeploymentState::Inactive {
                    Span::styled(format!("  {state_text}"), theme.dim())
                } else {
                    level_span(theme, lvl, state_text)
                }),
                Cell::from(d.repo.clone()),
                Cell::from(d.sha.chars().take(7).collect::<String>()),
                Cell::from(trunc(&d.creator, 12)),
                Cell::from(ago(state, Some(d.created_at))),
                Cell::from(Span::styled(
                    format!(
                        "{}{}",
                        d.description,
                        d.run_id
                            .as_ref()
                            .map(|r| format!(" · run {}", r.rsplit('/').next().unwrap_or(r)))
                            .unwrap_or_default()
                    ),
                    theme.dim(),
                )),
            ]
        }
        _ => Vec::new(),
    });
}

pub fn resources(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let cols = [
        Col::fixed("Role", 9, 5),
        Col::fixed("Env", env_width(state, e.resources.iter().map(|r| r.environment.as_str())), 0),
        Col::fixed("Cloud", 5, 0),
        Col::fill("Name", widest("Name", e.resources.iter().map(|r| r.name.as_str())), 0),
        Col::fixed("Kind", 16, 4),
        Col::fixed("Status", 12, 1),
    ];
    // The list gets room for the target's name, place and status before the detail pane does.
    let needed = [1, 2, 3, 5].iter().map(|i| cols[*i].width + 1).sum::<u16>() + 1;
    let list_width = (area.width * 64 / 100).max(needed).min(area.width.saturating_sub(16));
    let [list, detail] = Layout::horizontal([Constraint::Length(list_width), Constraint::Min(0)]).areas(area);
    fitted_table(state, theme, frame, list, "Resources", &cols, |row| {
        let Row::Resource(i) = row else { return Vec::new() };
        let r = &e.resources[i];
        vec![
            Cell::from(r.role.label()),
            Cell::from(r.environment.clone()),
            Cell::from(r.provider.label()),
            Cell::from(r.name.clone()),
            Cell::from(trunc(&r.kind, 16)),
            Cell::from(level_span(theme, r.level, trunc(&r.status, 10))),
        ]
    });
    let selected = state.selected_target();
    // The role x cloud matrix needs 11 + 8 columns a cloud; a narrow pane keeps them for the
    // selection.
    let clouds = matrix_clouds(state);
    let needed = 13 + 8 * u16::try_from(clouds.len()).unwrap_or(u16::MAX);
    let mut lines = if detail.width >= needed { role_matrix(state, theme, &clouds) } else { Vec::new() };
    // Labels aligned in a column only where the values still have room beside them.
    let pad = if detail.width >= 40 { 14 } else { 0 };
    if !lines.is_empty() {
        lines.push(Line::from(""));
    }
    if let Some(r) = e.resources.iter().find(|r| Some(&r.id) == selected.as_ref()) {
        let kv = |k: &str, v: String| {
            Line::from(vec![Span::styled(format!("{k:>pad$} "), theme.dim()), Span::styled(v, theme.text())])
        };
        lines.push(Line::from(Span::styled(
            r.name.clone(),
            Style::default().fg(theme.fg_bright).add_modifier(Modifier::BOLD),
        )));
        lines.push(kv("kind", format!("{} ({})", r.kind, r.provider.label())));
        lines.push(kv("region", r.region.clone()));
        lines.push(kv("status", r.status.clone()));
        if let Some(v) = &r.current_version {
            lines.push(kv("serving", v.clone()));
        }
        if r.versions.len() > 1 {
            lines.push(kv("versions", r.versions.join(", ")));
        }
        for (k, v) in &r.details {
            lines.push(kv(k, v.clone()));
        }
        for m in e.metrics.iter().filter(|m| m.resource == r.name) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:>pad$} ", m.kind.label()), theme.dim()),
                level_span(theme, m.level, m.kind.format(m.value)),
            ]));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("id", theme.dim())));
        lines.push(Line::from(Span::styled(r.id.clone(), theme.dim())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(plain_block(theme, "Detail")), detail);
}

/// The clouds the matrix has a column for, in the catalog's order: those whose column
/// always shows (Azure, AWS, GCP: a dot says none is read there), those with a column that
/// have resources (Kubernetes), then any other provider with resources.
fn matrix_clouds(state: &AppState) -> Vec<crate::model::Provider> {
    let mut clouds: Vec<_> = state
        .catalog
        .providers()
        .filter(|p| p.info().column.is_some())
        .filter(|p| p.info().column_always || state.estate.resources.iter().any(|r| r.provider == *p))
        .collect();
    for r in &state.estate.resources {
        if !clouds.contains(&r.provider) {
            clouds.push(r.provider);
        }
    }
    clouds
}

/// Role x cloud: how many resources of each role run on each cloud, coloured by the worst.
fn role_matrix(state: &AppState, theme: &Theme, clouds: &[crate::model::Provider]) -> Vec<Line<'static>> {
    use crate::model::Role;
    let header: String = clouds.iter().map(|c| format!("{:>8}", c.info().column.unwrap_or(c.label()))).collect();
    let mut lines = vec![Line::from(Span::styled(format!("{:<11}{header}", "role"), theme.header()))];
    // Only roles something is in: an empty row would suggest skydeck reads what it does not.
    for role in Role::ALL.into_iter().filter(|role| state.estate.resources.iter().any(|r| r.role == *role)) {
        let mut spans = vec![Span::styled(format!("{:<11}", role.label()), theme.dim())];
        for &cloud in clouds {
            let of: Vec<_> = state.estate.resources.iter().filter(|r| r.role == role && r.provider == cloud).collect();
            let level = of.iter().map(|r| r.level).max();
            spans.push(match level {
                None => Span::styled(format!("{:>8}", "·"), theme.dim()),
                Some(l) => Span::styled(format!("{:>6} {}", of.len(), l.symbol()), theme.level(l)),
            });
        }
        lines.push(Line::from(spans));
    }
    lines
}

pub fn backups(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let now = state.now;
    // Object stores (buckets, storage accounts) below the databases, in the room the databases
    // leave (at least one store's row), so every database stays in sight.
    let databases = u16::try_from(e.backups.len()).unwrap_or(u16::MAX).saturating_add(3);
    let stores = u16::try_from(e.storage.len()).unwrap_or(u16::MAX).saturating_add(3);
    let area = if e.storage.is_empty() || area.height < databases.saturating_add(4) {
        area
    } else {
        let [top, bottom] =
            Layout::vertical([Constraint::Min(databases), Constraint::Length(stores.min(area.height - databases))])
                .areas(area);
        object_stores(state, theme, frame, bottom);
        top
    };
    let cols = [
        Col::fixed("Database", widest("Database", e.backups.iter().map(|b| b.database.as_str())), 0),
        Col::fixed("Env", env_width(state, e.backups.iter().map(|b| b.environment.as_str())), 0),
        Col::fixed("Cloud", 5, 0),
        Col::fixed("Last backup", 12, 1),
        Col::fixed("Retention", 9, 5),
        Col::fixed("PITR", 5, 3),
        Col::fixed("PITR window", 12, 4),
        Col::fill("Findings", 16, 2),
    ];
    fitted_table(state, theme, frame, area, "Backups", &cols, |row| {
        let Row::Backup(i) = row else { return Vec::new() };
        let b = &e.backups[i];
        let findings = b.findings(now);
        let window = match (b.earliest_restore, b.latest_restore) {
            (Some(a), Some(z)) => format!(
                "{} .. {}",
                human_duration(now - a),
                if now - z < chrono::Duration::minutes(15) { "now".to_string() } else { human_duration(now - z) }
            ),
            _ => "—".into(),
        };
        let last_old = b.last_backup_at.is_none_or(|t| now - t > chrono::Duration::hours(24));
        vec![
            Cell::from(b.database.clone()),
            Cell::from(b.environment.clone()),
            Cell::from(b.provider.label()),
            Cell::from(level_span(theme, if last_old { Level::Crit } else { Level::Ok }, ago(state, b.last_backup_at))),
            Cell::from(level_span(
                theme,
                if b.retention_days < b.required_retention_days { Level::Crit } else { Level::Ok },
                format!("{}d", b.retention_days),
            )),
            Cell::from(level_span(
                theme,
                if b.pitr_enabled { Level::Ok } else { Level::Crit },
                if b.pitr_enabled { "on" } else { "off" },
            )),
            Cell::from(window),
            Cell::from(if findings.is_empty() {
                level_span(theme, Level::Ok, "none")
            } else {
                level_span(theme, Level::Crit, findings.join("; "))
            }),
        ]
    });
}

/// The object stores' protection against `[backups.object_storage]`: versioning, soft delete,
/// geo-redundancy (asked of production), findings marked as on the databases above.
fn object_stores(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    use crate::model::SoftDelete;
    let e = &state.estate;
    let yes_no = |ok: bool, text: &'static str| level_span(theme, if ok { Level::Ok } else { Level::Crit }, text);
    // Stores with findings first, so a short panel still shows what is wrong.
    let mut order: Vec<&crate::model::ObjectStore> = e.storage.iter().collect();
    order.sort_by_key(|o| o.findings(crate::actions::tier_of(e, &o.environment)).is_empty());
    let narrow = area.width < 100;
    let rows: Vec<TableRow> = order
        .into_iter()
        .map(|o| {
            let tier = crate::actions::tier_of(e, &o.environment);
            let findings = o.findings(tier);
            let soft = match o.soft_delete {
                SoftDelete::Off => "off".to_string(),
                SoftDelete::Days(d) => format!("{d}d"),
                SoftDelete::Unlimited => "kept".to_string(),
            };
            let soft_ok = match o.soft_delete {
                SoftDelete::Off => o.policy.soft_delete_days == 0,
                SoftDelete::Days(d) => d >= o.policy.soft_delete_days,
                SoftDelete::Unlimited => true,
            };
            let geo_needed = o.policy.geo_redundant_in_production && tier == crate::model::Tier::Prod;
            let mut cells = vec![
                Cell::from(o.name.clone()),
                Cell::from(o.environment.clone()),
                Cell::from(o.provider.label()),
                Cell::from(yes_no(o.versioning || !o.policy.versioning, if o.versioning { "on" } else { "off" })),
                Cell::from(level_span(theme, if soft_ok { Level::Ok } else { Level::Crit }, soft)),
                Cell::from(yes_no(o.geo_redundant || !geo_needed, if o.geo_redundant { "yes" } else { "no" })),
                Cell::from(o.object_lock.clone().unwrap_or_else(|| "—".into())),
                Cell::from(if findings.is_empty() {
                    level_span(theme, Level::Ok, "none")
                } else {
                    level_span(theme, Level::Crit, findings.join("; "))
                }),
            ];
            if narrow {
                cells.remove(6);
            }
            TableRow::new(cells)
        })
        .collect();
    let name_w = widest("Object store", e.storage.iter().map(|o| o.name.as_str()));
    let env_w = env_width(state, e.storage.iter().map(|o| o.environment.as_str()));
    let lock_w = widest("Lock", e.storage.iter().map(|o| o.object_lock.as_deref().unwrap_or("—"))).min(16);
    let (mut widths, mut heads) = (
        vec![
            Constraint::Length(name_w),
            Constraint::Length(env_w),
            Constraint::Length(5),
            Constraint::Length(10),
            Constraint::Length(11),
            Constraint::Length(5),
            Constraint::Length(lock_w),
            Constraint::Min(10),
        ],
        vec!["Object store", "Env", "Cloud", "Versioning", "Soft delete", "Geo", "Lock", "Findings"],
    );
    if narrow {
        // 80 columns: the name whole, short headers, no lock column.
        widths = vec![
            Constraint::Length(name_w),
            Constraint::Length(env_w),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Min(6),
        ];
        heads = vec!["Object store", "Env", "Cloud", "Vers", "Soft", "Geo", "Findings"];
    }
    let header =
        TableRow::new(heads.into_iter().map(|h| Cell::from(h).style(Style::default().add_modifier(Modifier::BOLD))));
    let title = format!("Object storage [{}]", e.storage.len());
    frame.render_widget(Table::new(rows, widths).header(header).block(plain_block(theme, &title)), area);
}

pub fn secrets(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let e = &state.estate;
    let now = state.now;
    let cols = [
        Col::fill("Name", widest("Name", e.secrets.iter().map(|s| s.name.as_str())), 0),
        Col::fixed("Env", env_width(state, e.secrets.iter().map(|s| s.environment.as_str())), 0),
        Col::fixed("Store", 16, 3),
        Col::fixed("Rotated", 8, 4),
        Col::fixed("Every", 6, 6),
        Col::fixed("Next rotation", 14, 1),
        Col::fixed("Ver", 3, 5),
    ];
    fitted_table(state, theme, frame, area, "Secrets (metadata only)", &cols, |row| {
        let Row::Secret(i) = row else { return Vec::new() };
        let s = &e.secrets[i];
        let level = s.level(now);
        let next = match s.next_rotation() {
            Some(n) if n <= now => format!("overdue {}", human_duration(now - n)),
            Some(n) => format!("in {}", human_duration(n - now)),
            None => "—".into(),
        };
        vec![
            Cell::from(s.name.clone()),
            Cell::from(s.environment.clone()),
            Cell::from(trunc(&s.store, 16)),
            Cell::from(ago(state, s.last_rotated).replace(" ago", "")),
            Cell::from(s.rotation_days.map_or_else(|| "—".into(), |d| format!("{d}d"))),
            Cell::from(level_span(theme, level, next)),
            Cell::from(s.versions.to_string()),
        ]
    });
}

pub fn audit(state: &AppState, theme: &Theme, frame: &mut Frame, area: Rect) {
    let cols = [
        Col::fixed("When (UTC)", 19, 0),
        Col::fixed("Who", 10, 4),
        Col::fixed("Verb", 9, 1),
        Col::fixed("Phase", 11, 2),
        Col::fixed("Target", widest("Target", state.audit.iter().map(|a| a.target_name.as_str())).min(40), 0),
        Col::fixed("Env", env_width(state, state.audit.iter().map(|a| a.environment.as_str())), 0),
        Col::fill("Detail", 12, 3),
    ];
    fitted_table(state, theme, frame, area, "Audit log", &cols, |row| {
        let Row::Audit(i) = row else { return Vec::new() };
        let a = &state.audit[i];
        let level = match a.phase {
            AuditPhase::Finished => Level::Ok,
            AuditPhase::Started => Level::Unknown,
            AuditPhase::Interrupted => Level::Warn,
            AuditPhase::Failed | AuditPhase::Refused => Level::Crit,
        };
        let detail = match &a.reason {
            Some(r) => format!("{} · reason: {r}", a.detail),
            None => a.detail.clone(),
        };
        vec![
            Cell::from(a.at.format("%Y-%m-%d %H:%M:%S").to_string()),
            Cell::from(trunc(&a.user, 10)),
            Cell::from(a.verb.clone()),
            Cell::from(match a.phase {
                AuditPhase::Started => Span::styled("→ started", Style::default().fg(theme.info)),
                _ => level_span(theme, level, format!("{:?}", a.phase).to_lowercase()),
            }),
            Cell::from(trunc(&a.target_name, 40)),
            Cell::from(a.environment.clone()),
            Cell::from(detail),
        ]
    });
}
