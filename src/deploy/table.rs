//! Plain-text tables for people, the way kubectl prints them (`get`, `describe`).

/// Left-aligned columns three spaces apart; the last column is not padded.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.iter().map(|h| h.to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

/// A value, or `-` when there is none.
pub(crate) fn dash(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_lines_have_no_trailing_space() {
        let t = table(
            &["NAME", "STATE"],
            &[
                vec!["a-long-name".into(), "Ready".into()],
                vec!["b".into(), dash(&None)],
            ],
        );
        assert_eq!(
            t,
            "NAME          STATE\na-long-name   Ready\nb             -\n"
        );
        assert_eq!(
            table(&["A", "B"], &[vec!["x".into(), "".into()]]),
            "A   B\nx\n"
        );
    }
}
