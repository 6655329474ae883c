//! Parsing and printing durations such as `10s`, `500ms`, `2m` or `1.5s`.

use std::time::Duration;

/// The longest duration `torture` takes anywhere (`--duration`, the
/// timeouts, scenario files): 30 days. Longer is a typo, and a deadline
/// that far out would overflow the clock's arithmetic.
pub const MAX: Duration = Duration::from_secs(30 * 24 * 3600);

/// Parses a duration: a number followed by `ms`, `s`, `m` or `h`, at most
/// [`MAX`].
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.starts_with('-') {
        return Err(format!(
            "{text:?} is negative: write it like 10s, 500ms, 2m or 1h"
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("{text:?} is not a duration: write it like 10s, 500ms, 2m or 1h"))?;
    let scale = match unit {
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "" => return Err(format!("{text:?} has no unit: write {text}s for seconds")),
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    match Duration::try_from_secs_f64(value * scale) {
        Ok(d) if d <= MAX => Ok(d),
        _ => Err(format!(
            "{text:?} is more than 30 days, the longest duration taken"
        )),
    }
}

/// Prints a duration so that [`parse`] reads it back.
pub fn format(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "s",
            "10",
            "ten seconds",
            "5x",
            "-1s",
            "721h",
            "1000000000000h",
            "1e400s",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thirty_days_is_the_most() {
        assert_eq!(parse("720h"), Ok(MAX));
        assert!(parse("720.001h").unwrap_err().contains("30 days"));
        assert!(parse("-1s").unwrap_err().contains("negative"));
    }

    #[test]
    fn format_round_trips() {
        for d in [Duration::from_secs(3), Duration::from_millis(1500)] {
            assert_eq!(parse(&format(d)), Ok(d));
        }
    }
}
