//! The trace: one canonical record per observable event, and the run digest.
//!
//! Invariant: the rendered bytes of the trace (`events.jsonl`) are a pure function of the
//! records in order; the digest is FNV-1a 64 over exactly those bytes.

use super::time::SimTime;

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
    push_u64(out, r.t.0);
    out.extend_from_slice(b",\"t\":");
    // `format_secs(t, 3)`, written in place: seconds, a point, milliseconds in 3 digits.
    push_u64(out, r.t.0 / 1_000_000_000);
    let ms = (r.t.0 % 1_000_000_000) / 1_000_000;
    out.extend_from_slice(&[
        b'.',
        b'0' + (ms / 100) as u8,
        b'0' + (ms / 10 % 10) as u8,
        b'0' + (ms % 10) as u8,
    ]);
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

/// `n` in decimal, without allocating.
fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(decimal(n, &mut [0u8; 20]));
}

/// `n`'s decimal digits (as `format!("{n}")` writes them), in the tail of `buf`.
pub fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// JSON string with the escapes RFC 8259 requires; everything else verbatim UTF-8.
pub fn push_json_string(out: &mut Vec<u8>, s: &str) {
    // Almost every value needs no escape: copied whole (the same bytes the loop below gives).
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
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

/// Whether some byte is `"`, `\\` or a control character (< 0x20): eight bytes at a time.
/// A word has a byte below `n` (n ≤ 0x80) iff `(w - n·0x01…01) & !w & 0x80…80` is non-zero,
/// and a byte equal to `c` iff the word XOR `c·0x01…01` has a zero byte (a byte below 1); both
/// tests are exact, so the answer is the byte-by-byte one.
#[inline]
fn needs_escape(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    #[inline]
    fn below(w: u64, n: u64) -> u64 {
        w.wrapping_sub(ONES * n) & !w & HIGH
    }
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let hit = below(w, 0x20)
            | below(w ^ (ONES * b'"' as u64), 1)
            | below(w ^ (ONES * b'\\' as u64), 1);
        if hit != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b == b'"' || b == b'\\' || b < 0x20)
}

/// FNV-1a, 64-bit (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    fnv1a64_update(0xcbf2_9ce4_8422_2325, bytes)
}

/// FNV-1a 64 of a byte stream fed in pieces: `update(update(basis, a), b)` is `fnv1a64(a ++ b)`.
pub fn fnv1a64_update(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The digest of `events.jsonl` of these records (`digest_string(&render_jsonl(records))`),
/// rendered record by record into one small buffer: the log is never held as bytes.
pub fn digest_records(records: &[Record]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = Vec::with_capacity(1024);
    for r in records {
        buf.clear();
        render_record(r, &mut buf);
        h = fnv1a64_update(h, &buf);
    }
    format!("fnv1a64:{h:016x}")
}

/// Writes `events.jsonl` of these records to `w` (the bytes [`render_jsonl`] renders), in
/// chunks of about 64 KiB: the log is never held as bytes.
pub fn write_jsonl(
    records: &[Record],
    w: &mut (impl std::io::Write + ?Sized),
) -> std::io::Result<()> {
    const CHUNK: usize = 1 << 16;
    let mut buf = Vec::with_capacity(CHUNK + 1024);
    for r in records {
        render_record(r, &mut buf);
        if buf.len() >= CHUNK {
            w.write_all(&buf)?;
            buf.clear();
        }
    }
    w.write_all(&buf)
}

/// The digest as printed and stored: `fnv1a64:<16 hex digits>`.
pub fn digest_string(bytes: &[u8]) -> String {
    format!("fnv1a64:{:016x}", fnv1a64(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time escape test answers as the byte-by-byte one for every byte value at
    /// every position of words and remainders.
    #[test]
    fn needs_escape_is_the_bytewise_test() {
        let bytewise = |b: &[u8]| b.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20);
        for len in 0..20usize {
            for pos in 0..len.max(1) {
                for v in 0..=255u8 {
                    let mut buf = vec![b'a'; len];
                    if len > 0 {
                        buf[pos] = v;
                    }
                    assert_eq!(
                        needs_escape(&buf),
                        bytewise(&buf),
                        "len {len} pos {pos} {v}"
                    );
                }
            }
        }
        // Bytes next to the thresholds, and high bytes (UTF-8) around them.
        for w in [
            [0x1fu8, 0x20, 0x21, 0x23, 0x5b, 0x5d, 0x80, 0xff],
            [0xa2, 0xdc, 0x9f, 0xa0, 0xe2, 0x82, 0xac, 0x20],
        ] {
            assert_eq!(needs_escape(&w), bytewise(&w));
        }
    }

    /// The streamed digest and writer give exactly the bytes and digest of the rendered log.
    #[test]
    fn streamed_digest_and_writer_match_the_rendered_log() {
        let records: Vec<Record> = (0..5000u64)
            .map(|i| Record {
                t: SimTime(i * 1_234_567),
                reason: "NodeNotReady",
                source: "node-controller",
                object: format!("Node/node-{i}"),
                message: format!("Node node-{i} status is now: \"NodeNotReady\""),
                fields: vec![("zone", format!("zone-{}", i % 3))],
            })
            .collect();
        let bytes = render_jsonl(&records);
        assert!(bytes.len() > 1 << 17, "spans several write chunks");
        assert_eq!(digest_records(&records), digest_string(&bytes));
        let mut written = Vec::new();
        write_jsonl(&records, &mut written).unwrap();
        assert_eq!(written, bytes);
        assert_eq!(digest_records(&[]), digest_string(b""));
    }

    #[test]
    fn fnv1a64_known_vectors() {
        // Published FNV-1a 64 test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn times_and_strings_render_as_the_formatting_machinery_would() {
        use crate::sim::time::format_secs;
        for t in [
            0u64,
            1,
            999_999,
            1_000_000,
            999_999_999,
            1_000_000_000,
            110_000_000_000,
            3_600_123_456_789,
            u64::MAX,
        ] {
            let r = Record {
                t: SimTime(t),
                reason: "R",
                source: "s",
                object: "Pod/default/a-é\u{1F600}".into(),
                message: "tab\there \"q\" back\\slash \u{1}".into(),
                fields: vec![],
            };
            let mut out = Vec::new();
            render_record(&r, &mut out);
            let mut escaped = String::from("\"");
            for c in r.message.chars() {
                match c {
                    '"' => escaped.push_str("\\\""),
                    '\\' => escaped.push_str("\\\\"),
                    '\t' => escaped.push_str("\\t"),
                    c if (c as u32) < 0x20 => escaped.push_str(&format!("\\u{:04x}", c as u32)),
                    c => escaped.push(c),
                }
            }
            escaped.push('"');
            let want = format!(
                "{{\"t_ns\":{t},\"t\":{},\"reason\":\"R\",\"source\":\"s\",\"object\":\"{}\",\"message\":{escaped}}}\n",
                format_secs(t, 3),
                r.object
            );
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
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
