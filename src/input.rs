//! Limits on what users hand the tool as files or bodies (`deploy -f`, `invoke --body-file`),
//! checked before anything is read whole or parsed: size (stat, then a bounded read), UTF-8,
//! and, for YAML/JSON, no aliases, bounded nesting and no duplicate keys. Every refusal names
//! the flag and the file; none runs a command.

use std::io::Read as _;

use crate::error::{Error, Result};

/// Largest manifest `deploy -f` reads (a model resource is a few KiB; the API server takes 1.5 MiB).
pub(crate) const MAX_MANIFEST: u64 = 1024 * 1024;
/// Deepest nesting of maps and lists accepted in a manifest (the CRDs nest about 8 deep).
pub(crate) const MAX_DEPTH: usize = 32;

/// Reads at most `limit` bytes of `path` (`-` is stdin), refusing anything larger: regular
/// files by their size before reading, streams by reading one byte past the limit.
pub(crate) fn read_limited(path: &str, flag: &str, what: &str, limit: u64) -> Result<Vec<u8>> {
    let too_big = |size: String| {
        Error::invalid(
            flag,
            format!("{what} {path} is {size}; the limit is {}", human(limit)),
        )
    };
    let mut buf = Vec::new();
    let res = if path == "-" {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::invalid(flag, format!("cannot read {path}: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::invalid(flag, format!("cannot read {path}: {e}")))?;
        if meta.is_dir() {
            return Err(Error::invalid(
                flag,
                format!("{path} is a directory, not a file"),
            ));
        }
        if meta.is_file() && meta.len() > limit {
            return Err(too_big(human(meta.len())));
        }
        file.take(limit + 1).read_to_end(&mut buf)
    };
    res.map_err(|e| Error::invalid(flag, format!("cannot read {path}: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(too_big(format!("larger than {}", human(limit))));
    }
    Ok(buf)
}

/// The bytes as text, or a refusal naming the first byte that is not UTF-8.
pub(crate) fn utf8<'a>(bytes: &'a [u8], path: &str, flag: &str) -> Result<&'a str> {
    std::str::from_utf8(bytes).map_err(|e| {
        Error::invalid(
            flag,
            format!(
                "{path} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                e.valid_up_to()
            ),
        )
    })
}

/// Sizes for messages: bytes below 1 KiB, else KiB or MiB.
fn human(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}

/// Refuses YAML (or JSON) that uses aliases (`*name`, including `<<: *name` merges), nests
/// deeper than [`MAX_DEPTH`] or repeats a key in a map; the error says what and on which line.
/// Syntax errors are left to the parser that follows (it words them better).
pub(crate) fn check_yaml_shape(text: &str) -> std::result::Result<(), String> {
    yaml_events::scan(text)
}

mod yaml_events {
    //! The check walks libyaml's event stream (the parser serde_yaml itself uses) because
    //! aliases and duplicate keys are gone once a document is deserialized.
    use std::collections::HashSet;
    use std::mem::MaybeUninit;

    use libyaml_rs as sys;

    use super::MAX_DEPTH;

    enum Frame {
        Seq,
        Map {
            keys: HashSet<Vec<u8>>,
            at_key: bool,
        },
    }

    struct Parser(Box<MaybeUninit<sys::yaml_parser_t>>);

    impl Drop for Parser {
        fn drop(&mut self) {
            // SAFETY: only built after a successful yaml_parser_initialize.
            unsafe { sys::yaml_parser_delete(self.0.as_mut_ptr()) }
        }
    }

    /// One parsed event, deleted when dropped.
    struct Event(MaybeUninit<sys::yaml_event_t>);

    impl Drop for Event {
        fn drop(&mut self) {
            // SAFETY: only built after yaml_parser_parse filled it in.
            unsafe { sys::yaml_event_delete(self.0.as_mut_ptr()) }
        }
    }

    pub(super) fn scan(text: &str) -> Result<(), String> {
        let mut raw = Box::new(MaybeUninit::<sys::yaml_parser_t>::uninit());
        // SAFETY: the parser lives in a Box (it never moves) and reads `text`, which outlives it.
        unsafe {
            if sys::yaml_parser_initialize(raw.as_mut_ptr()).fail {
                return Err("out of memory".into());
            }
        }
        let mut parser = Parser(raw);
        let p = parser.0.as_mut_ptr();
        unsafe {
            sys::yaml_parser_set_encoding(p, sys::YAML_UTF8_ENCODING);
            sys::yaml_parser_set_input_string(p, text.as_ptr(), text.len() as _);
        }
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let mut ev = MaybeUninit::<sys::yaml_event_t>::uninit();
            // SAFETY: p is an initialised parser; on failure the event is not filled in.
            if unsafe { sys::yaml_parser_parse(p, ev.as_mut_ptr()) }.fail {
                return Ok(());
            }
            let ev = Event(ev);
            // SAFETY: filled in by the successful parse above.
            let e = unsafe { ev.0.assume_init_ref() };
            let line = e.start_mark.line as usize + 1;
            match e.type_ {
                sys::YAML_STREAM_END_EVENT => return Ok(()),
                sys::YAML_ALIAS_EVENT => {
                    return Err(format!(
                        "line {line}: YAML aliases (*name, <<: *name) are not accepted; write the values out"
                    ))
                }
                sys::YAML_SCALAR_EVENT => {
                    // SAFETY: a scalar event's value points at `length` bytes.
                    let key = unsafe {
                        std::slice::from_raw_parts(
                            e.data.scalar.value,
                            e.data.scalar.length as usize,
                        )
                    };
                    node_done(&mut stack, Some(key), line)?;
                }
                sys::YAML_SEQUENCE_START_EVENT | sys::YAML_MAPPING_START_EVENT => {
                    if stack.len() >= MAX_DEPTH {
                        return Err(format!(
                            "line {line}: nested more than {MAX_DEPTH} levels deep"
                        ));
                    }
                    stack.push(if e.type_ == sys::YAML_SEQUENCE_START_EVENT {
                        Frame::Seq
                    } else {
                        Frame::Map {
                            keys: HashSet::new(),
                            at_key: true,
                        }
                    });
                }
                sys::YAML_SEQUENCE_END_EVENT | sys::YAML_MAPPING_END_EVENT => {
                    stack.pop();
                    node_done(&mut stack, None, line)?;
                }
                _ => {}
            }
        }
    }

    /// A whole node ended: in a map it was a key (checked for repeats) or a value.
    fn node_done(stack: &mut [Frame], key: Option<&[u8]>, line: usize) -> Result<(), String> {
        if let Some(Frame::Map { keys, at_key }) = stack.last_mut() {
            if *at_key {
                if let Some(k) = key {
                    if !keys.insert(k.to_vec()) {
                        let k = String::from_utf8_lossy(k);
                        let k: String = k.chars().take(60).collect();
                        return Err(format!(
                            "line {line}: duplicate key {k:?} (only one value can count)"
                        ));
                    }
                }
            }
            *at_key = !*at_key;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(check_yaml_shape("a: 1\nb: [1, {c: 2}]\n").is_ok());
        assert!(check_yaml_shape("a: [").is_ok(), "syntax is left to serde");
        let e = check_yaml_shape("a: &x 1\nb: *x\n").unwrap_err();
        assert!(e.contains("line 2: YAML aliases"), "{e}");
        let e = check_yaml_shape("a:\n  b: 1\n  c: 2\n  b: 3\n").unwrap_err();
        assert!(e.contains("line 4: duplicate key \"b\""), "{e}");
        // The same key in different maps, and keys equal to values, are fine.
        assert!(check_yaml_shape("a: {b: 1}\nc: {b: a}\n").is_ok());
        assert!(check_yaml_shape(r#"{"a": 1, "a": 2}"#).is_err());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(check_yaml_shape(&deep)
            .unwrap_err()
            .contains("nested more than"));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(check_yaml_shape(&ok).is_ok());
        // A list item map after a complex key keeps the key/value alternation right.
        assert!(check_yaml_shape("? [a, b]\n: 1\nc: 2\n").is_ok());
    }

    #[test]
    fn sizes_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("big.yaml");
        std::fs::write(&f, vec![b'a'; 2048]).unwrap();
        let p = f.to_str().unwrap();
        let e = read_limited(p, "--filename", "manifest", 1024)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is 2.0 KiB; the limit is 1.0 KiB"), "{e}");
        assert_eq!(
            read_limited(p, "--filename", "manifest", 2048)
                .unwrap()
                .len(),
            2048
        );
        assert!(utf8(b"a\xffb", p, "--filename")
            .unwrap_err()
            .to_string()
            .contains("not UTF-8 text (invalid byte at offset 1)"));
    }
}
