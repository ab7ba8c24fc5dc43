//! Decoding of the protobuf request bodies kubectl's typed clients send.
//!
//! `kubectl create deployment|service|configmap|secret|namespace|job|ingress` encode the new
//! object as `application/vnd.kubernetes.protobuf`: the magic `k8s\0`, then a
//! `runtime.Unknown` holding the TypeMeta and the object's message. The sandbox stores JSON, so
//! it decodes those messages with field tables for what these commands emit (field numbers from
//! the `generated.proto` files, checked against captured kubectl 1.32 requests). Zero values
//! follow the Go JSON encoding: `omitempty` scalars vanish, pointer fields (`keep`) do not. A
//! field outside the tables that carries a value is refused rather than silently dropped.

mod schema;

use base64::Engine;
use serde_json::{Map, Value};

use schema::Ty::{self, *};
use schema::{F, INT_OR_STRING, schema};

/// Decodes a `k8s\0`-framed protobuf body into the JSON object it encodes.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let unknown = body
        .strip_prefix(b"k8s\0")
        .ok_or("the body lacks the Kubernetes protobuf prefix")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for field in Fields(unknown) {
        match field? {
            (1, Wire::Len(type_meta)) => {
                for tm in Fields(type_meta) {
                    match tm? {
                        (1, Wire::Len(v)) => api_version = utf8(v)?,
                        (2, Wire::Len(v)) => kind = utf8(v)?,
                        _ => {}
                    }
                }
            }
            (2, Wire::Len(v)) => raw = v,
            (3, Wire::Len(enc)) if !enc.is_empty() => {
                return Err("compressed protobuf bodies are not supported".into());
            }
            _ => {}
        }
    }
    let fields = schema(&api_version, &kind).ok_or_else(|| {
        format!("protobuf bodies for {kind} ({api_version}) are not supported; send JSON")
    })?;
    let mut obj = message(raw, fields, &kind)?;
    if !api_version.is_empty() {
        obj.insert("apiVersion".into(), Value::String(api_version));
    }
    obj.insert("kind".into(), Value::String(kind));
    Ok(Value::Object(obj))
}

fn message(buf: &[u8], fields: &[F], context: &str) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for field in Fields(buf) {
        let (n, wire) = field?;
        let Some(f) = fields.iter().find(|f| f.n == n) else {
            if wire.is_zero() {
                continue;
            }
            return Err(format!(
                "protobuf field {n} of {context} is not supported by the sandbox; send JSON"
            ));
        };
        let here = format!("{context}.{}", f.name);
        match f.ty {
            Inline(inner) => {
                let Wire::Len(bytes) = wire else {
                    return Err(format!("{here}: expected a message"));
                };
                out.extend(message(bytes, inner, &here)?);
            }
            MapStr | MapBytes | MapQuantity => {
                let (k, v) = map_entry(wire, f.ty, &here)?;
                if let Some(map) = out
                    .entry(f.name)
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                {
                    map.insert(k, v);
                }
            }
            _ => {
                let value = scalar(wire, f.ty, &here)?;
                if f.repeated {
                    if let Some(list) = out
                        .entry(f.name)
                        .or_insert_with(|| Value::Array(Vec::new()))
                        .as_array_mut()
                    {
                        list.push(value);
                    }
                } else if f.keep || !is_empty(&value) {
                    out.insert(f.name.into(), value);
                }
            }
        }
    }
    Ok(out)
}

/// What Go's `omitempty` leaves out (messages always stay, as non-pointer structs do).
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        _ => false,
    }
}

fn scalar(wire: Wire, ty: Ty, here: &str) -> Result<Value, String> {
    Ok(match (ty, wire) {
        (Str, Wire::Len(b)) => Value::String(utf8(b)?),
        (Bytes, Wire::Len(b)) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        // int32 travels as a sign-extended varint; truncation recovers it.
        (I32, Wire::Varint(v)) => Value::from(v as i32),
        (I64, Wire::Varint(v)) => Value::from(v as i64),
        (Bool, Wire::Varint(v)) => Value::Bool(v != 0),
        (Msg(inner), Wire::Len(b)) => Value::Object(message(b, inner, here)?),
        (IntOrString, Wire::Len(b)) => {
            let m = message(b, INT_OR_STRING, here)?;
            match m.get("type").and_then(Value::as_i64) {
                Some(1) => m.get("strVal").cloned().unwrap_or_else(|| Value::from("")),
                _ => m.get("intVal").cloned().unwrap_or_else(|| Value::from(0)),
            }
        }
        (Time, Wire::Len(b)) => {
            let (mut secs, mut nanos) = (0i64, 0i32);
            for field in Fields(b) {
                match field? {
                    (1, Wire::Varint(v)) => secs = v as i64,
                    (2, Wire::Varint(v)) => nanos = v as i32,
                    _ => {}
                }
            }
            if secs == 0 && nanos == 0 {
                Value::Null
            } else {
                let t = jiff::Timestamp::new(secs, nanos).map_err(|e| format!("{here}: {e}"))?;
                Value::String(crate::clock::rfc3339(t))
            }
        }
        _ => return Err(format!("{here}: unexpected wire type")),
    })
}

/// A map entry message: key 1 (string), value 2 (string, bytes, or a Quantity message).
fn map_entry(wire: Wire, ty: Ty, here: &str) -> Result<(String, Value), String> {
    let Wire::Len(bytes) = wire else {
        return Err(format!("{here}: expected a map entry"));
    };
    let (mut key, mut value) = (String::new(), None);
    for field in Fields(bytes) {
        match field? {
            (1, Wire::Len(k)) => key = utf8(k)?,
            (2, Wire::Len(v)) => {
                value = Some(match ty {
                    MapBytes => scalar(Wire::Len(v), Bytes, here)?,
                    MapQuantity => {
                        let mut q = Value::from("");
                        for qf in Fields(v) {
                            if let (1, Wire::Len(s)) = qf? {
                                q = Value::String(utf8(s)?);
                            }
                        }
                        q
                    }
                    _ => scalar(Wire::Len(v), Str, here)?,
                });
            }
            _ => {}
        }
    }
    Ok((key, value.unwrap_or_else(|| Value::from(""))))
}

fn utf8(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "a protobuf string is not UTF-8".to_string())
}

#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Len(&'a [u8]),
    Fixed,
}

impl Wire<'_> {
    fn is_zero(&self) -> bool {
        match self {
            Wire::Varint(v) => *v == 0,
            Wire::Len(b) => b.is_empty(),
            Wire::Fixed => false,
        }
    }
}

/// Iterates the fields of one message, bounds-checked: the input is untrusted.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for (i, byte) in self.0.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Ok(value);
            }
        }
        Err("malformed protobuf varint".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        if n > self.0.len() {
            return Err("truncated protobuf body".into());
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u64, Wire<'a>), String>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let item = (|| {
            let key = self.varint()?;
            let wire = match key & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => {
                    self.take(8)?;
                    Wire::Fixed
                }
                2 => {
                    let len = usize::try_from(self.varint()?).map_err(|_| "length overflow")?;
                    Wire::Len(self.take(len)?)
                }
                5 => {
                    self.take(4)?;
                    Wire::Fixed
                }
                other => return Err(format!("unsupported protobuf wire type {other}")),
            };
            Ok((key >> 3, wire))
        })();
        if item.is_err() {
            // Stop after the first error; the rest of the buffer cannot be framed.
            self.0 = &[];
        }
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Minimal encoder for building test bodies.
    fn key(n: u64, wire: u64, out: &mut Vec<u8>) {
        varint((n << 3) | wire, out);
    }
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes(n: u64, b: &[u8], out: &mut Vec<u8>) {
        key(n, 2, out);
        varint(b.len() as u64, out);
        out.extend_from_slice(b);
    }
    fn int(n: u64, v: u64, out: &mut Vec<u8>) {
        key(n, 0, out);
        varint(v, out);
    }
    fn msg(build: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        build(&mut out);
        out
    }
    fn framed(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
        let mut out = b"k8s\0".to_vec();
        let tm = msg(|m| {
            bytes(1, api_version.as_bytes(), m);
            bytes(2, kind.as_bytes(), m);
        });
        bytes(1, &tm, &mut out);
        bytes(2, raw, &mut out);
        bytes(3, b"", &mut out);
        bytes(4, b"", &mut out);
        out
    }

    #[test]
    fn decodes_a_deployment_like_kubectl_create_sends() {
        let meta = msg(|m| {
            bytes(1, b"web", m);
            bytes(2, b"", m);
            int(7, 0, m);
            bytes(8, b"", m);
            bytes(
                11,
                &msg(|e| {
                    bytes(1, b"app", e);
                    bytes(2, b"web", e);
                }),
                m,
            );
        });
        let container = msg(|c| {
            bytes(1, b"web", c);
            bytes(2, b"img:1", c);
            bytes(
                6,
                &msg(|p| {
                    int(2, 0, p);
                    int(3, 80, p);
                }),
                c,
            );
            bytes(8, b"", c);
            int(16, 0, c);
        });
        let spec = msg(|s| {
            int(1, 0, s); // replicas: 0 is kept (a pointer in Go)
            bytes(
                2,
                &msg(|sel| {
                    bytes(
                        1,
                        &msg(|e| {
                            bytes(1, b"app", e);
                            bytes(2, b"web", e);
                        }),
                        sel,
                    )
                }),
                s,
            );
            bytes(
                3,
                &msg(|t| {
                    bytes(
                        2,
                        &msg(|ps| {
                            bytes(2, &container, ps);
                            bytes(3, b"", ps);
                        }),
                        t,
                    )
                }),
                s,
            );
            bytes(4, &msg(|st| bytes(1, b"", st)), s);
            int(5, 0, s);
        });
        let raw = msg(|d| {
            bytes(1, &meta, d);
            bytes(2, &spec, d);
            bytes(3, b"", d);
        });
        let obj = decode(&framed("apps/v1", "Deployment", &raw)).expect("decodes");
        assert_eq!(
            obj,
            json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "labels": {"app": "web"}},
                "spec": {
                    "replicas": 0,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {"spec": {"containers": [
                        {"name": "web", "image": "img:1", "ports": [{"containerPort": 80}], "resources": {}}
                    ]}},
                    "strategy": {}
                },
                "status": {}
            })
        );
    }

    #[test]
    fn secrets_services_and_inline_ingress_rules() {
        let secret = msg(|s| {
            bytes(1, &msg(|m| bytes(1, b"s", m)), s);
            bytes(
                2,
                &msg(|e| {
                    bytes(1, b"a", e);
                    bytes(2, &[0, 255], e);
                }),
                s,
            );
            bytes(3, b"Opaque", s);
        });
        let obj = decode(&framed("v1", "Secret", &secret)).expect("secret");
        assert_eq!(obj["data"]["a"], "AP8=");
        assert_eq!(obj["type"], "Opaque");

        let port = msg(|p| {
            bytes(2, b"TCP", p);
            int(3, 80, p);
            bytes(
                4,
                &msg(|t| {
                    int(1, 1, t);
                    bytes(3, b"http", t);
                }),
                p,
            );
        });
        let svc = msg(|s| bytes(2, &msg(|sp| bytes(1, &port, sp)), s));
        let obj = decode(&framed("v1", "Service", &svc)).expect("service");
        assert_eq!(
            obj["spec"]["ports"][0],
            json!({"protocol": "TCP", "port": 80, "targetPort": "http"})
        );

        let rule = msg(|r| {
            bytes(1, b"foo.com", r);
            bytes(
                2,
                &msg(|v| bytes(1, &msg(|h| bytes(1, &msg(|p| bytes(1, b"/", p)), h)), v)),
                r,
            );
        });
        let ing = msg(|i| bytes(2, &msg(|s| bytes(3, &rule, s)), i));
        let obj = decode(&framed("networking.k8s.io/v1", "Ingress", &ing)).expect("ingress");
        assert_eq!(
            obj["spec"]["rules"][0],
            json!({"host": "foo.com", "http": {"paths": [{"path": "/"}]}})
        );
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        assert!(decode(b"{}").is_err());
        assert!(decode(&framed("v1", "Pod", b"")).is_err());
        // A populated field outside the tables is an error, not silent loss.
        let raw = msg(|d| bytes(1, &msg(|m| bytes(99, b"x", m)), d));
        let err = decode(&framed("v1", "ConfigMap", &raw)).expect_err("unknown field");
        assert!(err.contains("field 99"), "{err}");
        // Truncated input.
        let mut body = framed("v1", "ConfigMap", &msg(|d| bytes(1, b"abc", d)));
        body.truncate(body.len() - 6);
        assert!(decode(&body).is_err());
        assert!(decode(b"k8s\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
    }
}
