//! The words of Go's `encoding/json`, which the real API server passes on in its errors: a
//! malformed body is reported with the scanner's message ("invalid character 'b' looking for
//! beginning of object key string"), a body of the wrong shape with the decoder's ("json:
//! cannot unmarshal array into Go value of type map[string]interface {}"). kubectl prints them
//! verbatim, so the sandbox words them the same way.

use serde_json::Value;

/// Go's message for the first syntax error in `data` (what `json.Unmarshal` reports before
/// decoding anything), or `None` when `data` is valid JSON.
pub fn syntax_error(data: &[u8]) -> Option<String> {
    let mut scanner = Scanner { data, pos: 0 };
    scanner.document().err()
}

/// The JSON type name Go's decoder uses in "cannot unmarshal X into ...".
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
    }
}

/// `json: cannot unmarshal <type of value> into Go value of type <go_type>`.
pub fn cannot_unmarshal(value: &Value, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go value of type {go_type}",
        type_name(value)
    )
}

/// Parses a request body as Go would: `Err` holds Go's message.
pub fn parse(data: &[u8]) -> Result<Value, String> {
    if let Some(message) = syntax_error(data) {
        return Err(message);
    }
    // Valid JSON by Go's rules; serde only differs on things Go accepts (e.g. lone
    // surrogates), which it reports in its own words.
    serde_json::from_slice(data).map_err(|e| e.to_string())
}

/// How the real server quotes the start of a body it could not recognise
/// (`summarizeData` in the apiserver's handlers): up to 30 bytes, as text if it looks like a
/// JSON object, else in hex.
pub fn summarize(data: &[u8]) -> String {
    const MAX: usize = 30;
    let (head, more) = if data.len() > MAX {
        (&data[..MAX], " ...")
    } else {
        (data, "")
    };
    match data.first() {
        None => "<empty>".to_string(),
        Some(b'{') => format!("{}{more}", String::from_utf8_lossy(head)),
        Some(_) => format!("{}{more}", hex::encode(head)),
    }
}

const END: &str = "unexpected end of JSON input";

/// Go's scanner nests at most this deep ("exceeded max depth").
const MAX_DEPTH: usize = 10_000;

struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    /// One value and nothing after it. Iterative, with the open containers on a stack, so
    /// that nesting is bounded by [`MAX_DEPTH`] rather than by the thread's stack.
    fn document(&mut self) -> Result<(), String> {
        let mut open: Vec<u8> = Vec::new();
        'value: loop {
            self.skip_space();
            match self.next()? {
                c @ (b'{' | b'[') => {
                    if open.len() >= MAX_DEPTH {
                        return Err(invalid(c, "exceeded max depth"));
                    }
                    open.push(c);
                    self.skip_space();
                    match (c, self.peek()) {
                        (b'{', Some(b'}')) | (b'[', Some(b']')) => self.pos += 1,
                        (b'{', _) => {
                            self.key()?;
                            continue 'value;
                        }
                        _ => continue 'value,
                    }
                    open.pop();
                }
                b'"' => self.string()?,
                b'-' => self.number(b'-')?,
                c @ b'0'..=b'9' => self.number(c)?,
                b't' => self.literal("true")?,
                b'f' => self.literal("false")?,
                b'n' => self.literal("null")?,
                c => return Err(invalid(c, "looking for beginning of value")),
            }
            // A value ended: continue the containers it ends.
            loop {
                self.skip_space();
                let Some(&container) = open.last() else {
                    return match self.peek() {
                        None => Ok(()),
                        Some(c) => Err(invalid(c, "after top-level value")),
                    };
                };
                match (container, self.next()?) {
                    (b'{', b',') => {
                        self.skip_space();
                        self.key()?;
                        continue 'value;
                    }
                    (b'[', b',') => continue 'value,
                    (b'{', b'}') | (b'[', b']') => {
                        open.pop();
                    }
                    (b'{', c) => return Err(invalid(c, "after object key:value pair")),
                    (_, c) => return Err(invalid(c, "after array element")),
                }
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, String> {
        let c = self.peek().ok_or(END)?;
        self.pos += 1;
        Ok(c)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// An object key and its colon (after whitespace).
    fn key(&mut self) -> Result<(), String> {
        match self.next()? {
            b'"' => self.string()?,
            c => return Err(invalid(c, "looking for beginning of object key string")),
        }
        self.skip_space();
        match self.next()? {
            b':' => Ok(()),
            c => Err(invalid(c, "after object key")),
        }
    }

    /// After the opening quote.
    fn string(&mut self) -> Result<(), String> {
        loop {
            match self.next()? {
                b'"' => return Ok(()),
                b'\\' => match self.next()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let c = self.next()?;
                            if !c.is_ascii_hexdigit() {
                                return Err(invalid(c, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    c => return Err(invalid(c, "in string escape code")),
                },
                c if c < 0x20 => return Err(invalid(c, "in string literal")),
                _ => {}
            }
        }
    }

    /// After the first character (`-` or a digit). Ends at the first character that cannot
    /// continue the number, which the enclosing value then judges.
    fn number(&mut self, first: u8) -> Result<(), String> {
        let mut c = first;
        if c == b'-' {
            c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in numeric literal"));
            }
        }
        if c != b'0' {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            let c = self.next()?;
            if !c.is_ascii_digit() {
                return Err(invalid(c, "after decimal point in numeric literal"));
            }
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            let mut c = self.next()?;
            if c == b'+' || c == b'-' {
                c = self.next()?;
            }
            if !c.is_ascii_digit() {
                return Err(invalid(c, "in exponent of numeric literal"));
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// After the first letter of `word`.
    fn literal(&mut self, word: &str) -> Result<(), String> {
        for expected in word.bytes().skip(1) {
            let c = self.next()?;
            if c != expected {
                return Err(invalid(
                    c,
                    &format!("in literal {word} (expecting {})", quote(expected)),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote(c))
}

/// Go's `quoteChar`: `'x'`, with `\'` and `"` special and other characters as `strconv.Quote`
/// writes them.
fn quote(c: u8) -> String {
    match c {
        b'\'' => r"'\''".to_string(),
        b'"' => "'\"'".to_string(),
        b'\n' => r"'\n'".to_string(),
        b'\r' => r"'\r'".to_string(),
        b'\t' => r"'\t'".to_string(),
        0x07 => r"'\a'".to_string(),
        0x08 => r"'\b'".to_string(),
        0x0c => r"'\f'".to_string(),
        0x0b => r"'\v'".to_string(),
        b'\\' => r"'\\'".to_string(),
        c if c < 0x20 || c == 0x7f => format!(r"'\x{c:02x}'"),
        c if c < 0x80 => format!("'{}'", c as char),
        // Go converts the byte to the rune U+0080..U+00FF (even when it starts a multi-byte
        // character) and quotes that: escaped when not printable.
        c if c <= 0xa0 || c == 0xad => format!(r"'\u{c:04x}'"),
        c => format!("'{}'", char::from(c)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages as Go 1.24's `json.Unmarshal` prints them (and the API server passes on).
    #[test]
    fn syntax_errors_in_go_words() {
        for (input, message) in [
            (
                "{bad json",
                "invalid character 'b' looking for beginning of object key string",
            ),
            (
                r#"{"a":1,}"#,
                "invalid character '}' looking for beginning of object key string",
            ),
            (r#"[{"op":"add"},"#, "unexpected end of JSON input"),
            ("", "unexpected end of JSON input"),
            (r#"{"a" 1}"#, "invalid character '1' after object key"),
            (
                r#"{"a":1 "b":2}"#,
                "invalid character '\"' after object key:value pair",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            ("{} x", "invalid character 'x' after top-level value"),
            ("tru", "unexpected end of JSON input"),
            (
                "trux",
                "invalid character 'x' in literal true (expecting 'e')",
            ),
            ("-x", "invalid character 'x' in numeric literal"),
            (
                "1.e5",
                "invalid character 'e' after decimal point in numeric literal",
            ),
            ("1e+", "unexpected end of JSON input"),
            ("\"a\\qb\"", "invalid character 'q' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("\"a\nb\"", "invalid character '\\n' in string literal"),
            (
                "'x'",
                "invalid character '\\'' looking for beginning of value",
            ),
        ] {
            assert_eq!(
                syntax_error(input.as_bytes()).as_deref(),
                Some(message),
                "{input:?}"
            );
        }
        for valid in [
            r#"{"a":[1,-2.5e3,true,false,null,"\u00e9\n"]}"#,
            " 0 ",
            "[]",
        ] {
            assert_eq!(syntax_error(valid.as_bytes()), None, "{valid:?}");
        }
        let nested = |depth| "[".repeat(depth) + &"]".repeat(depth);
        assert_eq!(syntax_error(nested(MAX_DEPTH).as_bytes()), None);
        assert_eq!(
            syntax_error(nested(MAX_DEPTH + 1).as_bytes()).as_deref(),
            Some("invalid character '[' exceeded max depth")
        );
    }

    #[test]
    fn summaries_of_unrecognised_bodies() {
        assert_eq!(summarize(b""), "<empty>");
        assert_eq!(summarize(b"{bad"), "{bad");
        assert_eq!(
            summarize(br#"{"apiVersion":"apps/v1","kind":"Deployment"}"#),
            r#"{"apiVersion":"apps/v1","kind" ..."#
        );
        assert_eq!(summarize(b"[1]"), "5b315d");
    }
}
