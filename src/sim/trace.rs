//! The trace: one canonical record per observable event, and the run digest.
//!
//! Invariant: the rendered bytes of the trace (`events.jsonl`) are a pure function of the
//! records in order; the digest is FNV-1a 64 over exactly those bytes.

use super::time::{format_secs, SimTime};

/// One observable event (a Kubernetes Event, or a state change Kubernetes has no event for).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub t: SimTime,
    /// Kubernetes' own reason where one exists (`NodeNotReady`), ours otherwise (`TaintAdded`).
    pub reason: &'static str,
    /// The component that reported it, as Kubernetes names it (`node-controller`, `kubelet`).
    pub source: &'static str,
    /// `Kind/name` or `Kind/namespace/name`.
    pub object: String,
    pub message: String,
    /// Extra fields in a fixed order (`zone`, `taint`, `cause`, …).
    pub fields: Vec<(&'static str, String)>,
}

#[derive(Default)]
pub struct Trace {
    records: Vec<Record>,
}

impl Trace {
    pub fn push(&mut self, record: Record) {
        assert!(
            self.records.last().is_none_or(|r| r.t <= record.t),
            "trace records out of time order"
        );
        self.records.push(record);
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Renders `events.jsonl`: one JSON object per line, keys in a fixed order.
    pub fn render_jsonl(&self) -> Vec<u8> {
        render_jsonl(&self.records)
    }

    /// The records, without copying them (the trace is used up).
    pub fn into_records(self) -> Vec<Record> {
        self.records
    }
}

/// `events.jsonl` of these records (what [`Trace::render_jsonl`] renders for them).
pub fn render_jsonl(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::with_capacity(records.len() * 160);
    for r in records {
        render_record(r, &mut out);
    }
    out
}

pub fn render_record(r: &Record, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"t_ns\":");
    out.extend_from_slice(r.t.0.to_string().as_bytes());
    out.extend_from_slice(b",\"t\":");
    out.extend_from_slice(format_secs(r.t.0, 3).as_bytes());
    push_field(out, "reason", r.reason);
    push_field(out, "source", r.source);
    push_field(out, "object", &r.object);
    push_field(out, "message", &r.message);
    for (k, v) in &r.fields {
        push_field(out, k, v);
    }
    out.extend_from_slice(b"}\n");
}

fn push_field(out: &mut Vec<u8>, key: &str, value: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    push_json_string(out, value);
}

/// JSON string with the escapes RFC 8259 requires; everything else verbatim UTF-8.
pub fn push_json_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The digest as printed and stored: `fnv1a64:<16 hex digits>`.
pub fn digest_string(bytes: &[u8]) -> String {
    format!("fnv1a64:{:016x}", fnv1a64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn record_renders_canonically() {
        let r = Record {
            t: SimTime(110_000_000_000),
            reason: "NodeNotReady",
            source: "node-controller",
            object: "Node/a".into(),
            message: "say \"hi\"\n".into(),
            fields: vec![("zone", "z".into())],
        };
        let mut out = Vec::new();
        render_record(&r, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"t_ns\":110000000000,\"t\":110.000,\"reason\":\"NodeNotReady\",\"source\":\"node-controller\",\"object\":\"Node/a\",\"message\":\"say \\\"hi\\\"\\n\",\"zone\":\"z\"}\n"
        );
    }
}
