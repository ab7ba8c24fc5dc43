//! Maps a field path such as `service[1].canary.steps` back to a line of the TOML text, for
//! errors found after deserialization (which no longer carries spans).

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Best-effort line of a dotted path: follows `[[array]]` occurrences and `[table]` headers
/// and returns the line of the final key (or of the innermost header found).
pub fn locate_path(text: &str, path: &str) -> Option<usize> {
    let segments: Vec<(String, Option<usize>)> = path
        .split('.')
        .filter(|s| !s.is_empty())
        .map(|seg| match seg.split_once('[') {
            Some((name, idx)) => (name.to_string(), idx.trim_end_matches(']').parse().ok()),
            None => (seg.to_string(), None),
        })
        .collect();
    let (first, rest) = segments.split_first()?;
    let lines: Vec<&str> = text.lines().collect();
    // Where the section for the first segment starts.
    let mut start = 0;
    let mut found = None;
    if let Some(index) = first.1 {
        let header = format!("[[{}]]", first.0);
        let pos = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.trim() == header)
            .nth(index)?
            .0;
        start = pos;
        found = Some(pos);
    } else if let Some(pos) = lines
        .iter()
        .position(|l| l.trim() == format!("[{}]", first.0))
    {
        start = pos;
        found = Some(pos);
    } else if let Some(pos) = find_key(&lines, 0, &first.0) {
        return Some(pos + 1);
    }
    // Section ends at the next header of the same array (or any top-level header that is not
    // a sub-table of this one).
    let prefix = format!("[{}.", first.0);
    let end = lines
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, l)| {
            let t = l.trim();
            t.starts_with('[') && !t.starts_with(&prefix) && !t.starts_with(&format!("[{prefix}"))
        })
        .map_or(lines.len(), |(i, _)| i);
    let mut table = first.0.clone();
    let mut cursor = start;
    for (name, _) in rest {
        table = format!("{table}.{name}");
        let header = format!("[{table}]");
        if let Some(pos) = (cursor..end).find(|i| lines[*i].trim() == header) {
            cursor = pos;
            found = Some(pos);
        } else if let Some(pos) = find_key(&lines[..end], cursor, name) {
            found = Some(pos);
            break;
        }
    }
    found.map(|l| l + 1)
}

fn find_key(lines: &[&str], from: usize, key: &str) -> Option<usize> {
    lines.iter().enumerate().skip(from).find_map(|(i, l)| {
        let t = l.trim_start();
        let rest = t.strip_prefix(key)?;
        rest.trim_start().starts_with('=').then_some(i)
    })
}
