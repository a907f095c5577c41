//! Kubernetes' name and label syntax, as apimachinery's `validation.IsDNS1123Label`,
//! `IsQualifiedName` (label keys) and `IsValidLabelValue` check it.
//!
//! Invariant: pure functions of the text; each error says what the syntax is, in
//! apimachinery's words, so a message can be matched against the real API server's.

/// A DNS-1123 label: at most 63 lower-case alphanumerics or '-', alphanumeric at both ends
/// (namespace and container names).
pub fn dns1123_label(n: &str) -> Result<(), String> {
    let ok = !n.is_empty()
        && n.len() <= 63
        && n.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && alnum_ends(n);
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid name {n:?}: a lowercase RFC 1123 label must consist of at most 63 lower case \
             alphanumeric characters or '-', and must start and end with an alphanumeric character"
        ))
    }
}

fn alnum_ends(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphanumeric())
        && n.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// At most 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends (empty allowed when `empty`).
fn name_part(n: &str, empty: bool) -> bool {
    (empty && n.is_empty())
        || (!n.is_empty()
            && n.len() <= 63
            && n.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && alnum_ends(n))
}

/// A DNS-1123 subdomain: at most 253 characters, dot-separated lower-case labels.
fn dns1123_subdomain(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 253
        && n.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.'))
        && alnum_ends(n)
}

/// A label or annotation key: `[prefix/]name`, the prefix a DNS-1123 subdomain.
pub fn label_key(k: &str) -> Result<(), String> {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    if prefix.is_some_and(|p| !dns1123_subdomain(p)) {
        return Err(format!(
            "invalid label key {k:?}: the prefix must be a DNS-1123 subdomain (lower case \
             alphanumerics, '-' and '.', at most 253 characters)"
        ));
    }
    if !name_part(name, false) {
        return Err(format!(
            "invalid label key {k:?}: name part must consist of alphanumeric characters, '-', \
             '_' or '.', and must start and end with an alphanumeric character (at most 63 \
             characters)"
        ));
    }
    Ok(())
}

/// A label value: empty, or at most 63 of `[A-Za-z0-9_.-]`, alphanumeric at both ends.
pub fn label_value(v: &str) -> Result<(), String> {
    if name_part(v, true) {
        Ok(())
    } else {
        Err(format!(
            "invalid label value {v:?}: a valid label must be an empty string or consist of \
             alphanumeric characters, '-', '_' or '.', and must start and end with an \
             alphanumeric character (at most 63 characters)"
        ))
    }
}

/// Every key and value of a label map; the error names the offending key.
pub fn labels<'a>(
    map: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> Result<(), (String, String)> {
    for (k, v) in map {
        label_key(k).map_err(|m| (k.clone(), m))?;
        label_value(v).map_err(|m| (k.clone(), m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apimachinery_syntax() {
        assert!(dns1123_label("kube-system").is_ok());
        assert!(dns1123_label("Bad_NS").is_err());
        assert!(dns1123_label(&"a".repeat(64)).is_err());
        assert!(label_key("app").is_ok());
        assert!(label_key("topology.kubernetes.io/zone").is_ok());
        assert!(label_key("").is_err());
        assert!(label_key("bad key!").is_err());
        assert!(label_key("Bad_Prefix/x").is_err());
        assert!(label_value("").is_ok());
        assert!(label_value("v1.2_x-y").is_ok());
        assert!(label_value("bad value!").is_err());
        assert!(label_value("-x").is_err());
    }
}
