//! Numbers the way kubectl prints them, shared by the sandbox's server-side tables and the
//! console.

use jiff::SignedDuration;

/// kubectl's `HumanDuration` (`k8s.io/apimachinery/pkg/util/duration`): `45s`, `5m10s`,
/// `5m`, `3h4m`, `2d3h`, `8d`, `2y45d`. Seconds truncate (`29.9s` is `29s`). Up to a second
/// in the future (clock skew) prints as `0s`; further ahead is `<invalid>`, as upstream.
pub fn human_duration(d: SignedDuration) -> String {
    let secs = d.as_secs();
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    let secs = secs as u64;
    if secs < 60 * 2 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = hours / 24 % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kubectl() {
        let s = SignedDuration::from_secs;
        assert_eq!(human_duration(s(45)), "45s");
        assert_eq!(human_duration(s(119)), "119s");
        assert_eq!(human_duration(s(310)), "5m10s");
        assert_eq!(human_duration(s(300)), "5m");
        assert_eq!(human_duration(s(3600 * 2)), "120m");
        assert_eq!(human_duration(s(3600 * 3 + 240)), "3h4m");
        assert_eq!(human_duration(s(3600 * 30)), "30h");
        assert_eq!(human_duration(s(3600 * 51)), "2d3h");
        assert_eq!(human_duration(s(86400 * 8)), "8d");
        assert_eq!(human_duration(s(86400 * 775)), "2y45d");
        assert_eq!(human_duration(s(-1)), "0s");
        assert_eq!(human_duration(s(-5)), "<invalid>");
        assert_eq!(human_duration(SignedDuration::from_millis(119_900)), "119s");
    }
}
