//! The Prometheus text exposition format (version 0.0.4) for the simulator's groups: one
//! `# HELP`/`# TYPE` header per family, then its samples, label values escaped.

use std::fmt::Write;

use super::promql::Labels;
use super::tsdb::{Counters, DURATION, Field, REQUESTS};

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the current counters of `groups`.
pub fn render<'a>(groups: impl IntoIterator<Item = (&'a Labels, &'a Counters)> + Clone) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "# HELP {REQUESTS} HTTP requests served, by response code.\n# TYPE {REQUESTS} counter\n"
    ));
    for (labels, c) in groups.clone() {
        for field in [Field::Ok, Field::Errors] {
            line(&mut out, field, labels, c);
        }
    }
    out.push_str(&format!(
        "# HELP {DURATION} HTTP request latency in seconds.\n# TYPE {DURATION} histogram\n"
    ));
    for (labels, c) in groups {
        for field in Field::all().filter(|f| !matches!(f, Field::Ok | Field::Errors)) {
            line(&mut out, field, labels, c);
        }
    }
    out
}

fn line(out: &mut String, field: Field, group: &Labels, c: &Counters) {
    let (name, extra) = field.name_and_label();
    out.push_str(&name);
    out.push('{');
    let extra = extra.map(|(k, v)| (k.to_string(), v));
    let pairs = group.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let pairs = pairs.chain(extra.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    for (i, (k, v)) in pairs.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{k}=\"{}\"", escape(v));
    }
    let _ = writeln!(out, "}} {}", format_value(field.value(c)));
}

/// Label values escape backslash, double quote and line feed.
fn escape(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Numbers as Prometheus writes them: shortest decimal form, `NaN`, `+Inf`, `-Inf`.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::Profile;
    use super::*;

    #[test]
    fn renders_families_with_escaped_labels() {
        let labels: Labels = [("service", "orders"), ("version", "v\"1\"\n")]
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        let mut c = Counters::default();
        c.add(1000.0, &Profile::new(None, 100.0));
        let text = render([(&labels, &c)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "# HELP http_requests_total HTTP requests served, by response code."
        );
        assert_eq!(lines[1], "# TYPE http_requests_total counter");
        assert_eq!(
            lines[2],
            r#"http_requests_total{service="orders",version="v\"1\"\n",code="200"} 999"#
        );
        assert_eq!(
            lines[3],
            r#"http_requests_total{service="orders",version="v\"1\"\n",code="500"} 1"#
        );
        assert_eq!(lines[5], "# TYPE http_request_duration_seconds histogram");
        assert!(lines[6].starts_with(r#"http_request_duration_seconds_bucket{service="orders",version="v\"1\"\n",le="0.005"} "#));
        let inf = lines
            .iter()
            .find(|l| l.contains(r#"le="+Inf""#))
            .expect("+Inf bucket");
        assert!(inf.ends_with("} 1000"), "{inf}");
        assert!(lines.last().is_some_and(
            |l| l.starts_with("http_request_duration_seconds_count{") && l.ends_with(" 1000")
        ));
        assert_eq!(lines.len(), 6 + 15 + 3);
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(0.25), "0.25");
    }
}
