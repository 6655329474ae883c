//! Shell quoting for the command lines the harness prints: replay lines,
//! `repro.sh`, the program's command in a summary.
//!
//! Quoting is `shlex`'s (POSIX rules; a word that needs no quotes is left
//! bare), so that a line pasted into `sh` runs exactly the words it shows.

use std::borrow::Cow;

/// Quotes `word` for a POSIX shell when it needs it.
///
/// A word holding a NUL byte cannot be an argument of any command; it is
/// quoted with the NUL dropped, so the line still parses.
pub fn quote(word: &str) -> String {
    match shlex::try_quote(word) {
        Ok(q) => q.into_owned(),
        Err(_) => {
            let clean: Cow<str> = word.replace('\0', "").into();
            quote(&clean)
        }
    }
}

/// The words as one command line.
pub fn join<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    words.into_iter().map(quote).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_words_split_back_to_themselves() {
        let words = [
            "plain",
            "--faults",
            "kill,eio",
            "two words",
            "it's",
            "$HOME",
            "`id`",
            "a\"b",
            "back\\slash",
            "",
            "new\nline",
            "*",
            "~user",
            "é",
        ];
        let line = join(words);
        assert_eq!(shlex::split(&line).unwrap(), words);
        // And /bin/sh, which runs the replay lines, agrees.
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {line}"))
            .output()
            .unwrap();
        let got: Vec<String> = out
            .stdout
            .split(|&b| b == 0)
            .map(|w| String::from_utf8(w.to_vec()).unwrap())
            .collect();
        assert_eq!(got[..got.len() - 1], words, "{line}");
        assert_eq!(quote("plain/path-1.2_x"), "plain/path-1.2_x");
        assert_ne!(quote("a b"), "a b");
    }

    #[test]
    fn a_nul_byte_is_dropped_not_a_panic() {
        assert_eq!(shlex::split(&quote("a\0b")).unwrap(), ["ab"]);
    }
}
