//! Server-side printing: the Table columns and cells the real API server computes for each
//! kind (`pkg/printers/internalversion/printers.go`), which kubectl prints verbatim.

use jiff::Timestamp;
use serde_json::Value;

use crate::sandbox::resources::ResId;

/// One `columnDefinitions` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0 = always shown; 1 = only with `-o wide`.
    pub priority: i32,
}

const NAME: Column = Column {
    name: "Name",
    type_: "string",
    format: "name",
    description: "Name must be unique within a namespace.",
    priority: 0,
};

const AGE: Column = Column {
    name: "Age",
    type_: "string",
    format: "",
    description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
    priority: 0,
};

/// Columns for a kind; always starts with Name. Kinds without a printer get Name and Age,
/// as custom resources without `additionalPrinterColumns` do.
pub fn columns(_res: ResId) -> Vec<Column> {
    vec![NAME, AGE]
}

/// One row's cells for `obj`, matching [`columns`].
pub fn cells(_res: ResId, obj: &Value, now: Timestamp) -> Vec<Value> {
    vec![
        obj["metadata"]["name"].clone(),
        Value::String(age(obj, now)),
    ]
}

/// `metadata.creationTimestamp` as kubectl's short human duration, or `<unknown>`.
pub fn age(obj: &Value, now: Timestamp) -> String {
    obj["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .map(|t| crate::model::format::human_duration(now.duration_since(t)))
        .unwrap_or_else(|| "<unknown>".into())
}
