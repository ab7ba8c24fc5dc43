//! Rewrites what differs between any two clusters, or any two runs, into placeholders: ages,
//! UIDs, resourceVersions, IPs, timestamps, generated names and hashes, node names (pods land
//! on different nodes). What is left differs only where the servers behave differently.

use regex::Regex;
use serde_json::Value;

use super::side::Record;

pub struct Normaliser {
    /// The side's `pod-template-hash`es, oldest first: the nth becomes `HASH<n>`.
    hashes: Vec<String>,
    rules: Vec<(Regex, &'static str)>,
}

impl Normaliser {
    pub fn new(hashes: &[String]) -> Normaliser {
        const NAME_CHARS: &str = "[bcdfghjklmnpqrstvwxz2456789]";
        let rules = [
            // Pods of a ReplicaSet: `<rs>-` and five generated characters.
            (format!(r"\b(web-HASH\d+)-{NAME_CHARS}{{5}}\b"), "${1}-PODID"),
            // Other generated names (`generateName: web-`: EndpointSlices).
            (format!(r"\bweb-{NAME_CHARS}{{5}}\b"), "web-GENID"),
            (r"\bkube-api-access-[a-z0-9]{5}\b".into(), "kube-api-access-GENID"),
            (
                r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b".into(),
                "UID",
            ),
            (
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)".into(),
                "TIME",
            ),
            // describe's timestamps: `Sat, 05 Dec 2026 14:52:31 +0000`.
            (
                r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}".into(),
                "TIME",
            ),
            (r#"(resourceVersion"?:\s*)["']\d+["']"#.into(), r#"${1}"RV""#),
            (r"too old resource version: \d+ \(\d+\)".into(), "too old resource version: RV (RV)"),
            (r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b".into(), "IP"),
            (r"\bkwok-node-\d+\b".into(), "NODE"),
            (r"\bcontainerd://[0-9a-f]{64}\b".into(), "containerd://ID"),
            (r"\bsha256:[0-9a-f]{64}\b".into(), "sha256:DIGEST"),
        ];
        Normaliser {
            hashes: hashes.to_vec(),
            rules: rules
                .into_iter()
                .map(|(re, with)| (Regex::new(&re).expect("normalising rule"), with))
                .collect(),
        }
    }

    /// Text with every run-specific value replaced.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (i, hash) in self.hashes.iter().enumerate() {
            out = out.replace(hash.as_str(), &format!("HASH{}", i + 1));
        }
        for (re, with) in &self.rules {
            out = re.replace_all(&out, *with).into_owned();
        }
        out.lines()
            .map(|line| collapse_spaces(&ages(line)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A record as a transcript section: its title, then what it printed. Where kubectl's
    /// order is the server's order of generated names, which differs between the sides, the
    /// output is sorted (see [`Record::sort`]).
    pub fn record(&self, record: &Record) -> String {
        let http = record.title.contains(" /api");
        let mut stdout = if http {
            canonical_json(&record.stdout)
        } else {
            record.stdout.clone()
        };
        stdout = self.text(&stdout);
        if record.sort {
            stdout = sorted(&stdout);
        }
        let mut out = format!("==== {}\n{stdout}\n", record.title);
        let stderr = self.text(&record.stderr);
        if !stderr.trim().is_empty() {
            out.push_str(&format!("---- stderr\n{stderr}\n"));
        }
        if http {
            out.push_str(&format!("---- HTTP {}\n", record.code));
        } else if record.code != 0 {
            out.push_str(&format!("---- exit {}\n", record.code));
        }
        out
    }
}

/// Durations as kubectl prints ages (`12s`, `3m4s`, `2d`), alone or in parentheses, become
/// `AGE`.
fn ages(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut token = String::new();
    let flush = |token: &mut String, out: &mut String| {
        let core = token.trim_start_matches('(').trim_end_matches([')', ',']);
        if is_age(core) {
            out.push_str(&token.replacen(core, "AGE", 1));
        } else {
            out.push_str(token);
        }
        token.clear();
    };
    for c in line.chars() {
        if c == ' ' {
            flush(&mut token, &mut out);
            out.push(c);
        } else {
            token.push(c);
        }
    }
    flush(&mut token, &mut out);
    out
}

/// `45s`, `5m`, `3m4s`, `2d3h`, `4y`.
fn is_age(s: &str) -> bool {
    let mut units = 0;
    let mut digits = 0;
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits += 1;
        } else if "smhdy".contains(c) && digits > 0 {
            units += 1;
            digits = 0;
        } else {
            return false;
        }
    }
    digits == 0 && (1..=2).contains(&units)
}

/// Runs of two or more spaces after the start of a line become two: kubectl pads columns to
/// their widest cell, and placeholders change widths. Indentation stays.
fn collapse_spaces(line: &str) -> String {
    let indent = line.len() - line.trim_start_matches(' ').len();
    let mut out = line[..indent].to_string();
    let mut spaces = 0;
    for c in line[indent..].trim_end().chars() {
        if c == ' ' {
            spaces += 1;
            continue;
        }
        out.push_str(&" ".repeat(spaces.min(2)));
        spaces = 0;
        out.push(c);
    }
    out
}

/// Sorts a JSON list's `items`, or the rows of each blank-line separated block of a table
/// (its header staying first).
fn sorted(text: &str) -> String {
    if let Ok(mut value) = serde_json::from_str::<Value>(text) {
        if let Some(items) = value["items"].as_array_mut() {
            items.sort_by_key(|item| item.to_string());
        }
        return serde_json::to_string_pretty(&value).expect("JSON");
    }
    text.split("\n\n")
        .map(|block| {
            let mut lines: Vec<&str> = block.lines().collect();
            if lines.len() > 2 {
                lines[1..].sort();
            }
            lines.join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// JSON with keys sorted and pretty-printed (the real server indents for some clients, the
/// sandbox never); anything else as it came.
fn canonical_json(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => serde_json::to_string_pretty(&sort_keys(value)).expect("JSON"),
        Err(_) => text.to_string(),
    }
}

fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_replace_run_specific_values() {
        let n = Normaliser::new(&["7cd87b7455".into()]);
        let table = "NAME                       READY   STATUS    RESTARTS   AGE   IP         NODE\n\
                     pod/web-7cd87b7455-987vn   1/1     Running   0          12s   10.0.0.1   kwok-node-1";
        assert_eq!(
            n.text(table),
            "NAME  READY  STATUS  RESTARTS  AGE  IP  NODE\n\
             pod/web-HASH1-PODID  1/1  Running  0  AGE  IP  NODE"
        );
        let yaml = "  creationTimestamp: \"2026-12-06T14:52:31Z\"\n  resourceVersion: \"420\"\n  uid: 7da014f0-297a-4d5c-b951-7bf50df2a4bc";
        assert_eq!(
            n.text(yaml),
            "  creationTimestamp: \"TIME\"\n  resourceVersion: \"RV\"\n  uid: UID"
        );
        assert_eq!(
            n.text(
                "  Normal  ScalingReplicaSet  3m4s (x2 over 5m)  deployment-controller  Scaled up"
            ),
            "  Normal  ScalingReplicaSet  AGE (x2 over AGE)  deployment-controller  Scaled up"
        );
    }

    #[test]
    fn sorting_keeps_headers_first() {
        assert_eq!(
            sorted("NAME  AGE\nb  1\na  2\n\nNAME  X\nd\nc"),
            "NAME  AGE\na  2\nb  1\n\nNAME  X\nc\nd"
        );
    }
}
