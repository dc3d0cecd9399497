//! Characters nobody types, refused at parse time (422 naming the field) so they never reach a
//! service or PostgreSQL (which refuses NUL outright): control characters anywhere except
//! newline, carriage return and tab in long text; and in names and titles, also line breaks,
//! tabs, bidirectional overrides (which make a name read differently than it sorts) and
//! zero-width characters (which make two names look the same).

use serde_json::Value;

/// Fields shown as one line wherever they appear: names, titles, labels.
const ONE_LINE_FIELDS: &[&str] = &[
    "title",
    "name",
    "firstName",
    "lastName",
    "email",
    "category",
    "purpose",
    "currency",
];

fn is_bidi_or_zero_width(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Why `s` is refused, if it is. `one_line` is for names and titles.
pub fn refusal(s: &str, one_line: bool) -> Option<&'static str> {
    for c in s.chars() {
        if matches!(c, '\n' | '\r' | '\t') {
            if one_line {
                return Some("line breaks and tabs are not allowed here");
            }
        } else if c.is_control() {
            return Some("control characters are not allowed");
        } else if one_line && is_bidi_or_zero_width(c) {
            return Some("invisible formatting characters are not allowed here");
        }
    }
    None
}

/// The first string in a JSON body that is refused: its field path and why.
pub fn first_bad_string(value: &Value) -> Option<(String, &'static str)> {
    walk(value, "", false)
}

fn walk(value: &Value, path: &str, one_line: bool) -> Option<(String, &'static str)> {
    match value {
        Value::String(s) => refusal(s, one_line).map(|why| (path.to_string(), why)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"), one_line)),
        Value::Object(fields) => fields.iter().find_map(|(key, v)| {
            let path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            walk(v, &path, ONE_LINE_FIELDS.contains(&key.as_str()))
        }),
        _ => None,
    }
}

/// The first query parameter whose (decoded) value is refused: its name and why. Query values
/// are search words, ids and names: one line.
pub fn first_bad_query(pairs: &[(String, String)]) -> Option<(String, &'static str)> {
    pairs
        .iter()
        .find_map(|(name, value)| refusal(value, true).map(|why| (name.clone(), why)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn long_text_keeps_line_breaks_and_tabs_but_not_other_controls() {
        assert_eq!(refusal("line one\nline two\r\n\tindented", false), None);
        assert!(refusal("nul\u{0}byte", false).is_some());
        assert!(refusal("bell\u{7}", false).is_some());
        assert!(refusal("c1\u{85}", false).is_some());
        assert!(refusal("del\u{7f}", false).is_some());
        // Emoji joiners and accents are what people really type.
        assert_eq!(refusal("Zoë 👩‍👩‍👧 café", false), None);
    }

    #[test]
    fn names_and_titles_refuse_line_breaks_bidi_and_zero_width() {
        assert_eq!(refusal("Zoë Ünal-Smith", true), None);
        for bad in [
            "a\nb",
            "tab\there",
            "evil\u{202E}txt.exe",
            "zero\u{200B}width",
            "\u{FEFF}bom",
        ] {
            assert!(refusal(bad, true).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_refused_field_is_named_at_any_depth() {
        let body = json!({"title": "ok", "items": [{"note": "fine"}, {"note": "x\u{0}"}]});
        assert_eq!(
            first_bad_string(&body).map(|(f, _)| f),
            Some("items[1].note".to_string())
        );
        let body = json!({"description": "two\nlines", "title": "right\u{202E}left"});
        assert_eq!(
            first_bad_string(&body).map(|(f, _)| f),
            Some("title".to_string())
        );
        assert_eq!(first_bad_string(&json!({"description": "a\nb"})), None);
    }

    #[test]
    fn query_values_are_one_line() {
        let pairs = vec![("q".to_string(), "bad\u{0}".to_string())];
        assert_eq!(
            first_bad_query(&pairs).map(|(f, _)| f),
            Some("q".to_string())
        );
        assert_eq!(
            first_bad_query(&[("q".to_string(), "café".to_string())]),
            None
        );
    }
}
