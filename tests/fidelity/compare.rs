//! Diffs the two normalised transcripts step by step and checks every differing line against
//! the explained differences in `tests/fidelity/DIFFERENCES.md`.
//!
//! The document explains each difference in prose, followed by a fenced block tagged
//! `differences` that names the lines it covers:
//!
//! ````text
//! ```differences
//! steps: get pods, describe pods
//! - ^\s*containerID: containerd://ID$
//! + ^\s*generation: 1$
//! ```
//! ````
//!
//! `- ` lines are regular expressions for lines only the sandbox printed, `+ ` lines for lines
//! only the real server printed; they must match a whole line. `steps:` (optional) limits the
//! block to steps whose title contains one of the comma-separated texts. A block with a line
//! `sometimes` covers a difference that depends on timing (how often a controller wrote): it
//! is not reported when the run happens not to show it.

use regex::Regex;

/// One line present on one side only.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub step: String,
    /// `-`: only the sandbox printed it; `+`: only the real server.
    pub sign: char,
    pub line: String,
}

pub struct Explanation {
    /// Where in the document (for messages).
    pub heading: String,
    steps: Vec<String>,
    sign: char,
    pub pattern: Regex,
    /// From a `sometimes` block: absent from a run is not stale.
    sometimes: bool,
}

impl Explanation {
    fn covers(&self, d: &Difference) -> bool {
        self.sign == d.sign
            && (self.steps.is_empty() || self.steps.iter().any(|s| d.step.contains(s.as_str())))
            && self.pattern.is_match(&d.line)
    }
}

/// The explanations of a document (see the module comment).
pub fn explanations(doc: &str) -> Vec<Explanation> {
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut in_block = false;
    let mut steps: Vec<String> = Vec::new();
    let mut sometimes = false;
    for line in doc.lines() {
        if line.starts_with('#') && !in_block {
            heading = line.trim_start_matches('#').trim().to_string();
        } else if line.trim() == "```differences" {
            in_block = true;
            steps.clear();
            sometimes = false;
        } else if in_block && line.trim() == "```" {
            in_block = false;
        } else if in_block {
            if let Some(list) = line.strip_prefix("steps:") {
                steps = list.split(',').map(|s| s.trim().to_string()).collect();
            } else if line.trim() == "sometimes" {
                sometimes = true;
            } else if let Some((sign, pattern)) = line
                .strip_prefix("- ")
                .map(|p| ('-', p))
                .or_else(|| line.strip_prefix("+ ").map(|p| ('+', p)))
            {
                let anchored = format!(
                    "^(?:{})$",
                    pattern.trim_start_matches('^').trim_end_matches('$')
                );
                out.push(Explanation {
                    heading: heading.clone(),
                    steps: steps.clone(),
                    sign,
                    sometimes,
                    pattern: Regex::new(&anchored)
                        .unwrap_or_else(|e| panic!("{heading}: bad pattern {pattern:?}: {e}")),
                });
            } else if !line.trim().is_empty() {
                panic!("{heading}: not a `steps:`, `- ` or `+ ` line: {line:?}");
            }
        }
    }
    out
}

/// Sections of a transcript: the text from one `==== ` title to the next.
pub fn sections(transcript: &str) -> Vec<(&str, &str)> {
    transcript
        .split("==== ")
        .filter(|s| !s.is_empty())
        .map(|s| s.split_once('\n').unwrap_or((s, "")))
        .collect()
}

/// Every line that only one side printed, step by step (a longest-common-subsequence diff).
pub fn differences(sandbox: &str, real: &str) -> Vec<Difference> {
    let a = sections(sandbox);
    let b = sections(real);
    assert_eq!(
        a.iter().map(|s| s.0).collect::<Vec<_>>(),
        b.iter().map(|s| s.0).collect::<Vec<_>>(),
        "both sides ran the same steps"
    );
    let mut out = Vec::new();
    for ((step, left), (_, right)) in a.iter().zip(&b) {
        for (sign, line) in line_diff(left, right) {
            out.push(Difference {
                step: step.to_string(),
                sign,
                line: line.to_string(),
            });
        }
    }
    out
}

/// Lines of `a` missing from `b` (`-`) and of `b` missing from `a` (`+`), in order.
fn line_diff<'a>(a: &'a str, b: &'a str) -> Vec<(char, &'a str)> {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            i += 1;
            j += 1;
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(('-', a[i]));
            i += 1;
        } else {
            out.push(('+', b[j]));
            j += 1;
        }
    }
    out
}

/// What the document does not explain, and what it explains that no longer differs.
pub struct Verdict<'a> {
    pub unexplained: Vec<&'a Difference>,
    pub unused: Vec<&'a Explanation>,
}

pub fn judge<'a>(differences: &'a [Difference], explanations: &'a [Explanation]) -> Verdict<'a> {
    Verdict {
        unexplained: differences
            .iter()
            .filter(|d| !explanations.iter().any(|e| e.covers(d)))
            .collect(),
        unused: explanations
            .iter()
            .filter(|e| !e.sometimes && !differences.iter().any(|d| e.covers(d)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SANDBOX: &str = "==== kubectl get pods -o yaml\na\nb\nc\n==== kubectl describe pod\nx\n";
    const REAL: &str = "==== kubectl get pods -o yaml\na\nB\nc\nd\n==== kubectl describe pod\nx\n";

    #[test]
    fn lines_on_one_side_only_are_differences() {
        let found = differences(SANDBOX, REAL);
        let lines: Vec<(char, &str)> = found.iter().map(|d| (d.sign, d.line.as_str())).collect();
        assert_eq!(lines, [('-', "b"), ('+', "B"), ('+', "d")]);
        assert!(found.iter().all(|d| d.step == "kubectl get pods -o yaml"));
    }

    #[test]
    fn explanations_cover_lines_by_side_and_step_and_unused_ones_are_reported() {
        let doc = "# Doc\n## Capital B\nWhy.\n```differences\nsteps: get pods\n- b\n+ [A-Z]\n```\n\
                   ## Elsewhere\n```differences\nsteps: describe\n+ d\n```\n\
                   ## Timing\n```differences\nsometimes\n+ generation: 3\n```\n";
        let explained = explanations(doc);
        assert_eq!(explained.len(), 4);
        let found = differences(SANDBOX, REAL);
        let verdict = judge(&found, &explained);
        let unexplained: Vec<&str> = verdict
            .unexplained
            .iter()
            .map(|d| d.line.as_str())
            .collect();
        assert_eq!(unexplained, ["d"], "`+ d` is scoped to describe");
        let unused: Vec<&str> = verdict.unused.iter().map(|e| e.heading.as_str()).collect();
        assert_eq!(unused, ["Elsewhere"]);
    }
}
