//! A parser for the subset of PromQL that release analysis uses: number literals, vector
//! selectors with label matchers (`=`, `!=`, `=~`, `!~`) and range selectors, the functions
//! `rate`, `increase`, `histogram_quantile` and `vector`, the aggregations `sum`, `avg`,
//! `min`, `max` and `count` (with `by`/`without`), the arithmetic operators `+ - * /`, and
//! `or` (for the usual `(errors or vector(0)) / requests`).
//!
//! Everything else (`offset`, `@`, `bool`, `on`/`ignoring`, comparison and set operators, other
//! functions) is refused with a parse error naming it, so a query is either evaluated as
//! Prometheus would or rejected; never approximated.

use std::time::Duration;

use regex::Regex;

#[derive(Debug, Clone)]
pub enum Expr {
    Number(f64),
    /// An instant vector selector.
    Vector(Selector),
    /// A range vector selector, `metric{...}[5m]`.
    Range(Selector, Duration),
    Call(Func, Vec<Expr>),
    Aggregate {
        op: AggOp,
        grouping: Grouping,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    Neg(Box<Expr>),
}

#[derive(Debug, Clone)]
pub struct Selector {
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    /// Compiled, fully anchored, for `=~` and `!~`.
    regex: Option<Regex>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

impl Matcher {
    /// Whether a label value (empty when the label is absent, as in Prometheus) matches.
    pub fn matches(&self, value: &str) -> bool {
        match self.op {
            MatchOp::Eq => value == self.value,
            MatchOp::Ne => value != self.value,
            MatchOp::Re => self.regex.as_ref().is_some_and(|r| r.is_match(value)),
            MatchOp::NotRe => !self.regex.as_ref().is_some_and(|r| r.is_match(value)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Rate,
    Increase,
    HistogramQuantile,
    Vector,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grouping {
    All,
    By(Vec<String>),
    Without(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    Dur(Duration),
    Punct(&'static str),
}

pub fn parse(input: &str) -> Result<Expr, String> {
    let toks = lex(input)?;
    let mut p = Parser { toks, pos: 0 };
    let expr = p.expr()?;
    match p.peek() {
        None => Ok(expr),
        Some(t) => Err(format!("unexpected {} after the expression", describe(t))),
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("identifier {s:?}"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Dur(d) => format!("duration {d:?}"),
        Tok::Punct(p) => format!("{p:?}"),
    }
}

const PUNCT: &[&str] = &[
    "!=", "=~", "!~", "==", ">=", "<=", "(", ")", "{", "}", "[", "]", ",", "=", "+", "-", "*", "/",
    "%", "^", ">", "<", "@",
];

fn lex(input: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = input.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' || c == '`' {
            let (s, next) = lex_string(&chars, i)?;
            out.push(Tok::Str(s));
            i = next;
        } else if out.last() == Some(&Tok::Punct("[")) {
            // Inside a range: a duration such as `5m` or `1m30s`.
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Dur(parse_duration(&text)?));
            if chars.get(i) == Some(&':') {
                return Err("subqueries are not supported".into());
            }
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            match (text.parse::<f64>(), parse_duration(&text)) {
                (Ok(n), _) => out.push(Tok::Num(n)),
                // A duration outside a range (after `offset`): refused by the parser.
                (_, Ok(d)) => out.push(Tok::Dur(d)),
                _ => return Err(format!("bad number or duration {text:?}")),
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match word.to_ascii_lowercase().as_str() {
                "nan" => out.push(Tok::Num(f64::NAN)),
                "inf" => out.push(Tok::Num(f64::INFINITY)),
                _ => out.push(Tok::Ident(word)),
            }
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let p = PUNCT
                .iter()
                .find(|p| rest.starts_with(**p))
                .ok_or_else(|| format!("unexpected character {c:?}"))?;
            out.push(Tok::Punct(p));
            i += p.len();
        }
    }
    Ok(out)
}

fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), String> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == quote {
            return Ok((s, i + 1));
        }
        if c == '\\' && quote != '`' {
            i += 1;
            match chars.get(i) {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some(&e @ ('\\' | '"' | '\'')) => s.push(e),
                // Go keeps unknown escapes for regexes such as `\.` or `\d`.
                Some(&e) => {
                    s.push('\\');
                    s.push(e);
                }
                None => break,
            }
        } else {
            s.push(c);
        }
        i += 1;
    }
    Err("unterminated quoted string".into())
}

/// Prometheus durations: one or more `<number><unit>` with units ms, s, m, h, d, w, y.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {text:?}");
    let mut total = 0u128;
    let mut rest = text;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        let n: u128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += n * unit_ms;
    }
    let ms = u64::try_from(total).map_err(|_| bad())?;
    Ok(Duration::from_millis(ms))
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<(), String> {
        if self.eat(p) {
            return Ok(());
        }
        Err(match self.peek() {
            Some(t) => format!("expected {p:?}, found {}", describe(t)),
            None => format!("expected {p:?}, found the end of the query"),
        })
    }

    /// `or` binds loosest.
    fn expr(&mut self) -> Result<Expr, String> {
        let mut lhs = self.additive()?;
        while matches!(self.peek(), Some(Tok::Ident(w)) if w == "or") {
            self.pos += 1;
            let rhs = self.additive()?;
            lhs = binary(BinOp::Or, lhs, rhs);
        }
        Ok(lhs)
    }

    fn additive(&mut self) -> Result<Expr, String> {
        let mut lhs = self.term()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct("+")) => BinOp::Add,
                Some(Tok::Punct("-")) => BinOp::Sub,
                Some(t) if is_unsupported_operator(t) => {
                    return Err(format!("unsupported operator {}", describe(t)));
                }
                _ => return Ok(lhs),
            };
            self.pos += 1;
            let rhs = self.term()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Punct("*")) => BinOp::Mul,
                Some(Tok::Punct("/")) => BinOp::Div,
                _ => return Ok(lhs),
            };
            self.pos += 1;
            if matches!(self.peek(), Some(Tok::Ident(w)) if matches!(w.as_str(), "on" | "ignoring" | "group_left" | "group_right" | "bool"))
            {
                return Err(
                    "vector matching modifiers (on, ignoring, group_*, bool) are not supported"
                        .into(),
                );
            }
            let rhs = self.unary()?;
            lhs = binary(op, lhs, rhs);
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.eat("-") {
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        if self.eat("+") {
            return self.unary();
        }
        let e = self.primary()?;
        if let Some(Tok::Ident(w)) = self.peek()
            && w == "offset"
        {
            return Err("offset modifiers are not supported".into());
        }
        if matches!(self.peek(), Some(Tok::Punct("@"))) {
            return Err("@ modifiers are not supported".into());
        }
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Expr::Number(n)),
            Some(Tok::Punct("(")) => {
                let e = self.expr()?;
                self.expect(")")?;
                if matches!(self.peek(), Some(Tok::Punct("["))) {
                    return Err("subqueries are not supported".into());
                }
                Ok(e)
            }
            Some(Tok::Punct("{")) => {
                let matchers = self.matchers()?;
                self.selector_tail(Selector {
                    name: None,
                    matchers,
                })
            }
            Some(Tok::Ident(word)) => self.after_ident(word),
            Some(t) => Err(format!("unexpected {}", describe(&t))),
            None => Err("unexpected end of the query".into()),
        }
    }

    fn after_ident(&mut self, word: String) -> Result<Expr, String> {
        if let Some(op) = agg_op(&word) {
            let follows_agg = matches!(self.peek(), Some(Tok::Punct("(")))
                || matches!(self.peek(), Some(Tok::Ident(w)) if w == "by" || w == "without");
            if follows_agg {
                return self.aggregate(op);
            }
        }
        if matches!(self.peek(), Some(Tok::Punct("("))) {
            let func = match word.as_str() {
                "rate" => Func::Rate,
                "increase" => Func::Increase,
                "histogram_quantile" => Func::HistogramQuantile,
                "vector" => Func::Vector,
                other => return Err(format!("unsupported function {other:?}")),
            };
            self.pos += 1;
            let mut args = vec![self.expr()?];
            while self.eat(",") {
                args.push(self.expr()?);
            }
            self.expect(")")?;
            check_args(func, &args)?;
            return Ok(Expr::Call(func, args));
        }
        let matchers = if self.eat("{") {
            self.matchers()?
        } else {
            Vec::new()
        };
        self.selector_tail(Selector {
            name: Some(word),
            matchers,
        })
    }

    fn selector_tail(&mut self, sel: Selector) -> Result<Expr, String> {
        if sel.name.is_none() && !sel.matchers.iter().any(|m| !m.matches("")) {
            return Err("vector selector must contain at least one non-empty matcher".into());
        }
        if self.eat("[") {
            let d = match self.next() {
                Some(Tok::Dur(d)) if !d.is_zero() => d,
                Some(t) => return Err(format!("bad range {}", describe(&t))),
                None => return Err("unterminated range".into()),
            };
            self.expect("]")?;
            return Ok(Expr::Range(sel, d));
        }
        Ok(Expr::Vector(sel))
    }

    fn matchers(&mut self) -> Result<Vec<Matcher>, String> {
        let mut out = Vec::new();
        loop {
            if self.eat("}") {
                return Ok(out);
            }
            let label = match self.next() {
                Some(Tok::Ident(l)) => l,
                Some(t) => return Err(format!("expected a label name, found {}", describe(&t))),
                None => return Err("unterminated label matchers".into()),
            };
            let op = match self.next() {
                Some(Tok::Punct("=")) => MatchOp::Eq,
                Some(Tok::Punct("!=")) => MatchOp::Ne,
                Some(Tok::Punct("=~")) => MatchOp::Re,
                Some(Tok::Punct("!~")) => MatchOp::NotRe,
                Some(t) => {
                    return Err(format!(
                        "expected a label matching operator, found {}",
                        describe(&t)
                    ));
                }
                None => return Err("unterminated label matchers".into()),
            };
            let value = match self.next() {
                Some(Tok::Str(s)) => s,
                Some(t) => {
                    return Err(format!(
                        "expected a quoted label value, found {}",
                        describe(&t)
                    ));
                }
                None => return Err("unterminated label matchers".into()),
            };
            let regex = match op {
                MatchOp::Re | MatchOp::NotRe => Some(
                    Regex::new(&format!("^(?:{value})$"))
                        .map_err(|e| format!("invalid regular expression {value:?}: {e}"))?,
                ),
                _ => None,
            };
            out.push(Matcher {
                label,
                op,
                value,
                regex,
            });
            if !self.eat(",") {
                self.expect("}")?;
                return Ok(out);
            }
        }
    }

    fn aggregate(&mut self, op: AggOp) -> Result<Expr, String> {
        let mut grouping = self.grouping()?;
        self.expect("(")?;
        let expr = self.expr()?;
        if matches!(self.peek(), Some(Tok::Punct(","))) {
            return Err("aggregation parameters (topk, quantile, ...) are not supported".into());
        }
        self.expect(")")?;
        if grouping == Grouping::All {
            grouping = self.grouping()?;
        }
        Ok(Expr::Aggregate {
            op,
            grouping,
            expr: Box::new(expr),
        })
    }

    fn grouping(&mut self) -> Result<Grouping, String> {
        let by = match self.peek() {
            Some(Tok::Ident(w)) if w == "by" => true,
            Some(Tok::Ident(w)) if w == "without" => false,
            _ => return Ok(Grouping::All),
        };
        self.pos += 1;
        self.expect("(")?;
        let mut labels = Vec::new();
        loop {
            match self.next() {
                Some(Tok::Punct(")")) => break,
                Some(Tok::Ident(l)) => labels.push(l),
                Some(t) => return Err(format!("expected a label name, found {}", describe(&t))),
                None => return Err("unterminated grouping".into()),
            }
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(if by {
            Grouping::By(labels)
        } else {
            Grouping::Without(labels)
        })
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(lhs),
        rhs: Box::new(rhs),
    }
}

fn is_unsupported_operator(t: &Tok) -> bool {
    match t {
        Tok::Punct(p) => matches!(*p, "==" | "!=" | ">" | "<" | ">=" | "<=" | "%" | "^"),
        Tok::Ident(w) => matches!(w.as_str(), "and" | "unless" | "atan2"),
        _ => false,
    }
}

fn agg_op(word: &str) -> Option<AggOp> {
    Some(match word {
        "sum" => AggOp::Sum,
        "avg" => AggOp::Avg,
        "min" => AggOp::Min,
        "max" => AggOp::Max,
        "count" => AggOp::Count,
        _ => return None,
    })
}

fn check_args(func: Func, args: &[Expr]) -> Result<(), String> {
    let ok = match func {
        Func::Rate | Func::Increase => args.len() == 1 && matches!(args[0], Expr::Range(..)),
        Func::HistogramQuantile => {
            args.len() == 2 && !matches!(args[1], Expr::Range(..) | Expr::Number(_))
        }
        Func::Vector => args.len() == 1 && !matches!(args[0], Expr::Range(..)),
    };
    if ok {
        return Ok(());
    }
    Err(match func {
        Func::Rate => "rate() expects one range vector argument".into(),
        Func::Increase => "increase() expects one range vector argument".into(),
        Func::HistogramQuantile => {
            "histogram_quantile() expects a scalar and an instant vector".into()
        }
        Func::Vector => "vector() expects one scalar argument".into(),
    })
}
