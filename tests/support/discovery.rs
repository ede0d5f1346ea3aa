//! Checks a JSON body against a schema of a Google API discovery document: every field the body
//! has must be one the schema names, with the schema's type. Hand-written payloads (Google
//! publishes no example for most list calls) are held to Google's own description this way, and
//! a typo or an invented field fails the test instead of passing through a lenient parser.

use serde_json::Value;

/// A discovery document (`monitoring.v3.json`, `storage.v1.json`, ...).
pub struct Discovery {
    doc: Value,
    name: String,
}

impl Discovery {
    pub fn load(path: &std::path::Path) -> Discovery {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(doc["schemas"].is_object(), "{}: not a discovery document", path.display());
        Discovery { doc, name: path.file_name().unwrap().to_string_lossy().into_owned() }
    }

    /// Where `value` leaves the schema `schema` (empty: it conforms).
    pub fn violations(&self, schema: &str, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        let root = self.schema(schema);
        assert!(root.is_object(), "{}: no schema {schema}", self.name);
        self.check(root, value, schema, &mut out);
        out
    }

    /// Panics with every violation, naming the document and schema.
    pub fn assert_conforms(&self, schema: &str, value: &Value, what: &str) {
        let v = self.violations(schema, value);
        assert!(v.is_empty(), "{what} is not a {} {schema}:\n  {}", self.name, v.join("\n  "));
    }

    fn schema(&self, name: &str) -> &Value {
        &self.doc["schemas"][name]
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
        if let Some(name) = schema["$ref"].as_str() {
            return self.check(self.schema(name), value, at, out);
        }
        let ty = schema["type"].as_str().unwrap_or("any");
        match (ty, value) {
            (_, Value::Null) | ("any", _) => {}
            ("object", Value::Object(fields)) => {
                let props = schema["properties"].as_object();
                for (key, v) in fields {
                    let here = format!("{at}.{key}");
                    match (props.and_then(|p| p.get(key)), &schema["additionalProperties"]) {
                        (Some(p), _) => self.check(p, v, &here, out),
                        (None, extra) if extra.is_object() => self.check(extra, v, &here, out),
                        (None, _) => out.push(format!("{here}: no such field")),
                    }
                }
            }
            ("array", Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    self.check(&schema["items"], v, &format!("{at}[{i}]"), out);
                }
            }
            ("string", Value::String(s)) => {
                if let Some(names) = schema["enum"].as_array()
                    && !names.iter().any(|n| n.as_str() == Some(s))
                {
                    out.push(format!("{at}: '{s}' is not one of {names:?}"));
                }
            }
            // `enum-encoding=int` answers carry the proto number of the value (`LogSeverity`'s
            // WARNING is 400), which the discovery document does not list.
            ("string", Value::Number(n)) if schema["enum"].is_array() => {
                if n.as_u64().is_none() {
                    out.push(format!("{at}: {n} is not an enum number"));
                }
            }
            // 64-bit integers travel as strings; 32-bit ones as numbers.
            ("string", Value::Number(n)) if matches!(schema["format"].as_str(), Some("int64" | "uint64")) => {
                out.push(format!("{at}: {n} should be a string (int64)"));
            }
            ("integer", Value::Number(n)) if n.is_i64() || n.is_u64() => {}
            ("number", Value::Number(_)) => {}
            ("boolean", Value::Bool(_)) => {}
            (ty, v) => out.push(format!("{at}: a {ty} in the schema, {} here", kind(v))),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
