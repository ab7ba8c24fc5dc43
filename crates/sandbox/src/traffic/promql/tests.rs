//! The PromQL subset against hand-made series: parsing, refusals, and evaluation with
//! Prometheus' semantics (extrapolated rates, bucket quantiles, lookback, vector matching).

mod parse {
    use std::time::Duration;

    use super::super::*;

    #[test]
    fn parses_the_default_templates() {
        let q = r#"sum(rate(http_requests_total{env="prod",service="orders",code=~"5.."}[1m])) / sum(rate(http_requests_total{env="prod",service="orders"}[1m]))"#;
        let Expr::Binary { op, lhs, .. } = parse(q).expect("parses") else {
            panic!("a division")
        };
        assert_eq!(op, BinOp::Div);
        let Expr::Aggregate { op, grouping, expr } = *lhs else {
            panic!("sum")
        };
        assert_eq!((op, grouping), (AggOp::Sum, Grouping::All));
        let Expr::Call(Func::Rate, args) = *expr else {
            panic!("rate")
        };
        let Expr::Range(sel, d) = &args[0] else {
            panic!("range")
        };
        assert_eq!(d, &Duration::from_secs(60));
        assert_eq!(sel.name.as_deref(), Some("http_requests_total"));
        let code = sel
            .matchers
            .iter()
            .find(|m| m.label == "code")
            .expect("code");
        assert!(code.matches("503") && !code.matches("200") && !code.matches("5000"));

        let q = "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{service=\"orders\"}[5m])))";
        let Expr::Call(Func::HistogramQuantile, args) = parse(q).expect("parses") else {
            panic!("histogram_quantile")
        };
        assert!(matches!(args[0], Expr::Number(n) if n == 0.99));
        assert!(
            matches!(&args[1], Expr::Aggregate { grouping: Grouping::By(l), .. } if l == &["le"])
        );
        // The grouping may also follow the parentheses.
        let q = "sum(rate(x[1m])) without (pod)";
        assert!(matches!(
            parse(q),
            Ok(Expr::Aggregate {
                grouping: Grouping::Without(_),
                ..
            })
        ));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("5").is_err() && parse_duration("m").is_err());
    }

    #[test]
    fn refuses_what_it_does_not_evaluate() {
        for (q, why) in [
            ("rate(x[5m] offset 1m)", "offset"),
            ("x > 1", "operator"),
            ("topk(3, x)", "function"),
            ("x / on(pod) y", "vector matching"),
            ("rate(x)", "range vector"),
            ("{}", "non-empty matcher"),
            ("x{a=~\"(\"}", "regular expression"),
            ("sum(x", "expected"),
            ("x{a=\"b\"", "expected \"}\""),
            ("rate(x[5m:1m])", "subqueries"),
        ] {
            let err = parse(q).expect_err(q);
            assert!(err.contains(why), "{q}: {err}");
        }
    }
}

mod eval {
    use super::super::*;

    /// Series given in full; `select` filters by matchers and time like a real store.
    struct Fixed(Vec<Series>);

    impl Storage for Fixed {
        fn select(&self, sel: &Selector, from: i64, to: i64) -> Vec<Series> {
            self.0
                .iter()
                .filter(|s| sel.matches(&s.labels))
                .map(|s| Series {
                    labels: s.labels.clone(),
                    samples: s
                        .samples
                        .iter()
                        .copied()
                        .filter(|(t, _)| *t >= from && *t <= to)
                        .collect(),
                })
                .collect()
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    /// A counter growing by `per_s` every second-spaced 10 s sample, from 0 to `until_s`.
    fn counter(pairs: &[(&str, &str)], per_s: f64, until_s: i64) -> Series {
        Series {
            labels: labels(pairs),
            samples: (0..=until_s / 10)
                .map(|i| (i * 10_000, per_s * (i * 10) as f64))
                .collect(),
        }
    }

    fn scalar_of(q: &str, st: &Fixed, t: i64) -> Option<f64> {
        match eval(&parse(q).expect("parses"), st, t).expect("evaluates") {
            Value::Vector(v) if v.len() == 1 => Some(v[0].value),
            Value::Vector(v) if v.is_empty() => None,
            Value::Scalar(s) => Some(s),
            other => panic!("{q}: unexpected {other:?}"),
        }
    }

    fn requests() -> Fixed {
        let m = "http_requests_total";
        Fixed(vec![
            counter(&[(NAME, m), ("track", "canary"), ("code", "200")], 9.0, 600),
            counter(&[(NAME, m), ("track", "canary"), ("code", "500")], 1.0, 600),
            counter(
                &[(NAME, m), ("track", "stable"), ("code", "200")],
                90.0,
                600,
            ),
        ])
    }

    #[test]
    fn rate_sum_and_error_ratio() {
        let st = requests();
        let t = 600_000;
        let rate = scalar_of(
            r#"sum(rate(http_requests_total{track="canary"}[1m]))"#,
            &st,
            t,
        );
        assert!((rate.expect("data") - 10.0).abs() < 1e-9, "{rate:?}");
        let ratio = scalar_of(
            r#"sum(rate(http_requests_total{track="canary",code=~"5.."}[1m])) / sum(rate(http_requests_total{track="canary"}[1m]))"#,
            &st,
            t,
        );
        assert!((ratio.expect("data") - 0.1).abs() < 1e-9, "{ratio:?}");
        let increase = scalar_of(r#"sum(increase(http_requests_total[1m]))"#, &st, t);
        assert!(
            (increase.expect("data") - 6000.0).abs() < 1e-6,
            "{increase:?}"
        );
        // No canary errors on the stable track: the numerator is empty, so is the ratio.
        let none = scalar_of(
            r#"sum(rate(http_requests_total{track="stable",code=~"5.."}[1m])) / sum(rate(http_requests_total{track="stable"}[1m]))"#,
            &st,
            t,
        );
        assert_eq!(none, None);
        // Zero over zero is NaN, as in Prometheus.
        let idle = Fixed(vec![counter(&[(NAME, "x")], 0.0, 600)]);
        assert!(
            scalar_of("sum(rate(x[1m])) / sum(rate(x[1m]))", &idle, t).is_some_and(f64::is_nan)
        );
    }

    #[test]
    fn rate_extrapolates_like_prometheus() {
        // Samples at 10 s steps from 30 s into a 60 s window: the start is too far to
        // extrapolate to, so half a step is added on that side.
        let samples = [
            (30_000, 0.0),
            (40_000, 10.0),
            (50_000, 20.0),
            (60_000, 30.0),
        ];
        let r = extrapolated_rate(&samples, 0, 60_000, false).expect("enough samples");
        // The counter started at 0 at t=30 s: extrapolation stops there (durationToZero = 0).
        assert!((r - 30.0).abs() < 1e-9, "{r}");
        let samples = [
            (30_000, 100.0),
            (40_000, 110.0),
            (50_000, 120.0),
            (60_000, 130.0),
        ];
        let r = extrapolated_rate(&samples, 0, 60_000, false).expect("enough samples");
        assert!((r - 35.0).abs() < 1e-9, "{r}");
        // A counter reset adds the value before the reset.
        let samples = [(0, 50.0), (10_000, 60.0), (20_000, 5.0), (30_000, 15.0)];
        let r = extrapolated_rate(&samples, -1, 30_000, false).expect("enough samples");
        assert!(r > 24.0 && r < 26.0, "{r}");
        assert_eq!(extrapolated_rate(&[(0, 1.0)], 0, 60_000, true), None);
    }

    #[test]
    fn histogram_quantile_interpolates_within_the_bucket() {
        let b = |le: f64, c: f64| (le, c);
        let buckets = vec![
            b(0.1, 50.0),
            b(0.2, 90.0),
            b(0.5, 100.0),
            b(f64::INFINITY, 100.0),
        ];
        assert!((bucket_quantile(0.5, buckets.clone()) - 0.1).abs() < 1e-12);
        assert!((bucket_quantile(0.7, buckets.clone()) - 0.15).abs() < 1e-12);
        assert!((bucket_quantile(0.99, buckets.clone()) - 0.47).abs() < 1e-12);
        // The rank falls in +Inf: the highest finite bound.
        let inf = vec![b(0.1, 50.0), b(f64::INFINITY, 100.0)];
        assert_eq!(bucket_quantile(0.99, inf), 0.1);
        assert!(bucket_quantile(0.5, vec![b(0.1, 0.0), b(f64::INFINITY, 0.0)]).is_nan());
        assert!(bucket_quantile(0.5, vec![b(0.1, 3.0)]).is_nan());

        let m = "lat_bucket";
        let st = Fixed(
            [("0.1", 5.0), ("0.2", 9.0), ("0.5", 10.0), ("+Inf", 10.0)]
                .iter()
                .flat_map(|(le, per_s)| {
                    ["a", "b"]
                        .map(|pod| counter(&[(NAME, m), ("le", le), ("pod", pod)], *per_s, 600))
                })
                .collect(),
        );
        let q = "histogram_quantile(0.99, sum by (le) (rate(lat_bucket[1m])))";
        let p99 = scalar_of(q, &st, 600_000).expect("data");
        assert!((p99 - 0.47).abs() < 1e-9, "{p99}");
        let per_pod = eval(
            &parse("histogram_quantile(0.5, rate(lat_bucket[1m]))").expect("parses"),
            &st,
            600_000,
        )
        .expect("evaluates");
        let Value::Vector(v) = per_pod else {
            panic!("vector")
        };
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].labels, labels(&[("pod", "a")]));
    }

    #[test]
    fn or_vector_zero_fills_a_missing_numerator() {
        let st = requests();
        let q = |track: &str| {
            format!(
                r#"(sum(rate(http_requests_total{{track="{track}",code=~"5.."}}[1m])) or vector(0)) / sum(rate(http_requests_total{{track="{track}"}}[1m]))"#
            )
        };
        assert_eq!(scalar_of(&q("stable"), &st, 600_000), Some(0.0));
        let canary = scalar_of(&q("canary"), &st, 600_000).expect("data");
        assert!((canary - 0.1).abs() < 1e-9, "{canary}");
        // No traffic at all: the denominator is empty, so is the result.
        assert_eq!(scalar_of(&q("none"), &st, 600_000), None);
        assert!(eval(&parse("1 or 2").expect("parses"), &st, 0).is_err());
    }

    #[test]
    fn instant_selectors_look_back_five_minutes() {
        let st = Fixed(vec![counter(&[(NAME, "x"), ("a", "1")], 1.0, 60)]);
        assert_eq!(scalar_of("x", &st, 60_000), Some(60.0));
        assert_eq!(scalar_of("x", &st, 60_000 + LOOKBACK_MS - 1), Some(60.0));
        assert_eq!(scalar_of("x", &st, 60_000 + LOOKBACK_MS), None);
        assert_eq!(scalar_of("x * 2 - 1", &st, 60_000), Some(119.0));
        assert_eq!(scalar_of("-x", &st, 60_000), Some(-60.0));
        assert_eq!(
            scalar_of("count(x) + max(x) + min(x) + avg(x)", &st, 60_000),
            Some(181.0)
        );
    }

    #[test]
    fn vector_matching_is_one_to_one() {
        let st = requests();
        let by_code = r#"sum by (code) (rate(http_requests_total[1m])) / sum by (code) (rate(http_requests_total[1m]))"#;
        let Value::Vector(v) = eval(&parse(by_code).expect("parses"), &st, 600_000).expect("ok")
        else {
            panic!("vector")
        };
        assert_eq!(v.len(), 2);
        let err = eval(
            &parse("http_requests_total / sum(http_requests_total)").expect("parses"),
            &st,
            600_000,
        );
        assert!(err.is_ok(), "no match is an empty result, not an error");
        let dup = Fixed(vec![
            counter(&[(NAME, "x"), ("a", "1")], 1.0, 60),
            counter(&[(NAME, "y"), ("a", "1")], 1.0, 60),
        ]);
        let err = eval(
            &parse("{a=\"1\"} / {a=\"1\"}").expect("parses"),
            &dup,
            60_000,
        )
        .expect_err("duplicates");
        assert!(err.contains("many-to-many"), "{err}");
    }
}
