//! Policy hooks for the release layer: how big a step a promotion is, in semver terms, so the
//! configuration can ask for an approval on a major bump but not on a patch.

use crate::config::{Bump, PolicyConfig};

use super::sort::parse_version;

/// The largest semver component that differs between what runs (`from`) and what is being
/// promoted (`to`); `v` prefixes allowed, build metadata ignored.
///
/// Direction does not matter: going back from 2.0.0 to 1.9.0 crosses a major boundary too.
/// A pre-release change within one release (`1.5.0-rc.1` → `1.5.0`) counts as `Patch`.
/// `None` when both are the same version or either is not a semantic version (`latest`, a
/// commit SHA): the caller decides how to treat an unknown step.
pub fn bump(from: &str, to: &str) -> Option<Bump> {
    let (a, b) = (parse_version(from)?, parse_version(to)?);
    if a.major != b.major {
        Some(Bump::Major)
    } else if a.minor != b.minor {
        Some(Bump::Minor)
    } else if a.patch != b.patch || a.pre != b.pre {
        Some(Bump::Patch)
    } else {
        None
    }
}

/// The bump that needs an approval note under `policy`, if any. `running` is the tag in the
/// target environment (`None` when nothing runs there yet: a first deploy is not a bump).
pub fn approval_needed(
    policy: &PolicyConfig,
    running: Option<&str>,
    promoting: &str,
) -> Option<Bump> {
    let step = bump(running?, promoting)?;
    policy.approval_for.contains(&step).then_some(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps() {
        assert_eq!(bump("v1.4.2", "v2.0.0"), Some(Bump::Major));
        assert_eq!(bump("1.4.2", "v1.5.0"), Some(Bump::Minor));
        assert_eq!(bump("v1.4.2", "1.4.3"), Some(Bump::Patch));
        assert_eq!(bump("v1.5.0-rc.1", "v1.5.0"), Some(Bump::Patch));
        assert_eq!(bump("v2.0.0", "v1.9.9"), Some(Bump::Major));
        assert_eq!(bump("v1.4.2", "1.4.2+build.9"), None);
        assert_eq!(bump("latest", "v1.0.0"), None);
        assert_eq!(bump("1.2", "1.3"), None);
        assert_eq!(bump("", ""), None);
    }

    #[test]
    fn approval_only_for_configured_bumps() {
        let policy = PolicyConfig {
            approval_for: vec![Bump::Major],
        };
        assert_eq!(
            approval_needed(&policy, Some("v1.4.2"), "v2.0.0"),
            Some(Bump::Major)
        );
        assert_eq!(approval_needed(&policy, Some("v1.4.2"), "v1.4.3"), None);
        assert_eq!(approval_needed(&policy, None, "v9.0.0"), None);
    }
}
