//! The label selector grammar, ported from `apimachinery/pkg/labels/selector.go` (`Lexer`,
//! `Parser`) so that what it accepts (`app in ()` is the empty value, `in` is a value inside
//! parentheses) and how it words a refusal ("found '', expected: ',' or ')'") are the real
//! server's; kubectl prints the message verbatim.

use super::{Op, Requirement, validate_key, validate_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Error,
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn keyword(s: &str) -> Option<Token> {
    Some(match s {
        ")" => Token::ClosedPar,
        "," => Token::Comma,
        "!" => Token::DoesNotExist,
        "==" => Token::DoubleEquals,
        "=" => Token::Equals,
        ">" => Token::GreaterThan,
        "in" => Token::In,
        "<" => Token::LessThan,
        "!=" => Token::NotEquals,
        "notin" => Token::NotIn,
        "(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Every token of `s`, ending with `EndOfString` (or an `Error` token, as Go's lexer).
fn scan(s: &str) -> Vec<(Token, String)> {
    let bytes = s.as_bytes();
    let mut pos = 0;
    let mut out = Vec::new();
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        let item = if pos >= bytes.len() {
            (Token::EndOfString, String::new())
        } else if is_special(bytes[pos]) {
            // The longest run of special characters that is an operator.
            let start = pos;
            let mut last: Option<(Token, usize)> = None;
            while pos < bytes.len() && is_special(bytes[pos]) {
                pos += 1;
                match keyword(&s[start..pos]) {
                    Some(t) => last = Some((t, pos)),
                    None if last.is_some() => {
                        pos -= 1;
                        break;
                    }
                    None => {}
                }
            }
            match last {
                Some((t, end)) => {
                    pos = end;
                    (t, s[start..end].to_string())
                }
                None => (
                    Token::Error,
                    format!("error expected: keyword found '{}'", &s[start..pos]),
                ),
            }
        } else {
            let start = pos;
            while pos < bytes.len() && !is_special(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            let word = &s[start..pos];
            (keyword(word).unwrap_or(Token::Identifier), word.to_string())
        };
        let end = item.0 == Token::EndOfString;
        out.push(item);
        if end {
            return out;
        }
    }
}

/// Where a token is read: inside value lists `in` and `notin` are plain identifiers.
#[derive(Clone, Copy, PartialEq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

impl Parser {
    fn lookahead(&self, context: Context) -> (Token, String) {
        let (t, lit) = self.items[self.position.min(self.items.len() - 1)].clone();
        (as_context(t, context), lit)
    }

    fn consume(&mut self, context: Context) -> (Token, String) {
        let item = self.lookahead(context);
        self.position += 1;
        item
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, String> {
        let mut requirements = Vec::new();
        loop {
            let (t, lit) = self.lookahead(Context::Values);
            match t {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self
                        .requirement()
                        .map_err(|e| format!("unable to parse requirement: {e}"))?;
                    requirements.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(format!(
                                    "found '{l2}', expected: identifier after ','"
                                ));
                            }
                        }
                        _ => return Err(format!("found '{l}', expected: ',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => {
                    return Err(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    ));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, String> {
        let (mut t, mut key) = self.consume(Context::Values);
        let negated = t == Token::DoesNotExist;
        if negated {
            (t, key) = self.consume(Context::Values);
        }
        if t != Token::Identifier {
            return Err(format!("found '{key}', expected: identifier"));
        }
        validate_key(&key)?;
        let (next, _) = self.lookahead(Context::Values);
        if negated || next == Token::EndOfString || next == Token::Comma {
            let op = if negated {
                Op::DoesNotExist
            } else {
                Op::Exists
            };
            return Ok(Requirement { key, op });
        }
        let (t, lit) = self.consume(Context::KeyAndOperator);
        let op = match t {
            Token::In | Token::NotIn => {
                let values = self.values()?;
                values.iter().try_for_each(|v| validate_value(v))?;
                if t == Token::In {
                    Op::In(values)
                } else {
                    Op::NotIn(values)
                }
            }
            Token::Equals | Token::DoubleEquals | Token::NotEquals => {
                let value = self.exact_value()?;
                validate_value(&value)?;
                if t == Token::NotEquals {
                    Op::NotEq(value)
                } else {
                    Op::Eq(value)
                }
            }
            Token::GreaterThan | Token::LessThan => {
                let value = self.exact_value()?;
                let n = value.parse::<i64>().map_err(|_| {
                    format!(
                        "values[0]: Invalid value: {value:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                    )
                })?;
                if t == Token::GreaterThan {
                    Op::Gt(n)
                } else {
                    Op::Lt(n)
                }
            }
            _ => {
                return Err(format!(
                    "found '{lit}', expected: in, notin, =, ==, !=, gt, lt"
                ));
            }
        };
        Ok(Requirement { key, op })
    }

    /// `(a, b)`; `()` and empty members are the empty value.
    fn values(&mut self) -> Result<Vec<String>, String> {
        let (t, lit) = self.consume(Context::Values);
        if t != Token::OpenPar {
            return Err(format!("found '{lit}' expected: '('"));
        }
        let (t, lit) = self.lookahead(Context::Values);
        match t {
            Token::Identifier | Token::Comma => {
                let values = self.identifiers()?;
                if self.consume(Context::Values).0 != Token::ClosedPar {
                    return Err(format!("found '{lit}', expected: ')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(format!("found '{lit}', expected: ',', ')' or identifier")),
        }
    }

    fn identifiers(&mut self) -> Result<Vec<String>, String> {
        let mut set: Vec<String> = Vec::new();
        let insert = |set: &mut Vec<String>, v: String| {
            if !set.contains(&v) {
                set.push(v);
            }
        };
        loop {
            let (t, lit) = self.consume(Context::Values);
            match t {
                Token::Identifier => {
                    insert(&mut set, lit);
                    let (t2, lit2) = self.lookahead(Context::Values);
                    match t2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(set),
                        _ => return Err(format!("found '{lit2}', expected: ',' or ')'")),
                    }
                }
                Token::Comma => {
                    if set.is_empty() {
                        insert(&mut set, String::new());
                    }
                    let (t2, _) = self.lookahead(Context::Values);
                    if t2 == Token::ClosedPar {
                        insert(&mut set, String::new());
                        return Ok(set);
                    }
                    if t2 == Token::Comma {
                        self.consume(Context::Values);
                        insert(&mut set, String::new());
                    }
                }
                _ => return Err(format!("found '{lit}', expected: ',', or identifier")),
            }
        }
    }

    fn exact_value(&mut self) -> Result<String, String> {
        let (t, _) = self.lookahead(Context::Values);
        if t == Token::EndOfString || t == Token::Comma {
            return Ok(String::new());
        }
        let (t, lit) = self.consume(Context::Values);
        if t == Token::Identifier {
            return Ok(lit);
        }
        Err(format!("found '{lit}', expected: identifier"))
    }
}

fn as_context(t: Token, context: Context) -> Token {
    match t {
        Token::In | Token::NotIn if context == Context::Values => Token::Identifier,
        t => t,
    }
}

/// The requirements of a label selector, or the real server's message for why it is not one.
pub(super) fn requirements(s: &str) -> Result<Vec<Requirement>, String> {
    let items = scan(s);
    Parser { items, position: 0 }.parse()
}
