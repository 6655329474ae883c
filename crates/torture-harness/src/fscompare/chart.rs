//! Self-contained SVG bar charts for the file-system comparison: no script,
//! no outside asset, readable in any browser and in a Markdown viewer.

use std::fmt::Write as _;

/// One bar per category for each series (each file system).
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend name.
    pub name: String,
    /// One value per category; `None` leaves a gap.
    pub values: Vec<Option<f64>>,
}

/// A grouped bar chart.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// The title above the chart.
    pub title: String,
    /// The label of the value axis.
    pub unit: String,
    /// The groups along the horizontal axis (the strategies).
    pub categories: Vec<String>,
    /// The bars of each group (the file systems).
    pub series: Vec<Series>,
}

/// The colours of the series, in order; distinguishable in greyscale too.
const PALETTE: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
];

const BAR: f64 = 14.0;
const GAP: f64 = 18.0;
const LEFT: f64 = 78.0;
const TOP: f64 = 56.0;
const PLOT_H: f64 = 260.0;
const BOTTOM: f64 = 110.0;

/// Escapes text for XML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A logarithmic axis from the power of ten below the smallest value to the
/// one above the largest: throughputs across file systems span decades.
struct LogAxis {
    lo: f64,
    hi: f64,
}

impl LogAxis {
    fn new(values: impl Iterator<Item = f64>) -> Self {
        let (mut min, mut max) = (f64::INFINITY, 0.0f64);
        for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
            min = min.min(v);
            max = max.max(v);
        }
        if !min.is_finite() {
            return LogAxis { lo: 0.0, hi: 1.0 };
        }
        let lo = min.log10().floor();
        let hi = max.log10().ceil().max(lo + 1.0);
        LogAxis { lo, hi }
    }

    /// The height of a bar of value `v`, in pixels.
    fn height(&self, v: f64) -> f64 {
        if v <= 0.0 {
            return 0.0;
        }
        let t = (v.log10() - self.lo) / (self.hi - self.lo);
        (t.clamp(0.0, 1.0) * PLOT_H).max(1.0)
    }

    /// The tick values: each power of ten, and 2 and 5 times it.
    fn ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        let mut e = self.lo;
        while e <= self.hi {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powf(e);
                if v.log10() <= self.hi + 1e-9 {
                    ticks.push(v);
                }
            }
            e += 1.0;
        }
        ticks
    }
}

/// A value as a tick or bar label: 1.2k, 35k, 0.5, 250.
pub fn short(v: f64) -> String {
    match v {
        v if v >= 1e6 => {
            let s = format!("{:.1}", v / 1e6);
            format!("{}M", s.trim_end_matches(".0"))
        }
        v if v >= 1e3 => {
            let s = format!("{:.1}", v / 1e3);
            format!("{}k", s.trim_end_matches(".0"))
        }
        v if v >= 10.0 => format!("{v:.0}"),
        v => {
            let s = format!("{v:.2}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

impl BarChart {
    /// The chart as a standalone SVG document.
    pub fn svg(&self) -> String {
        let groups = self.categories.len().max(1) as f64;
        let per_group = self.series.len().max(1) as f64 * BAR + GAP;
        let width = LEFT + groups * per_group + 150.0;
        let height = TOP + PLOT_H + BOTTOM;
        let axis = LogAxis::new(
            self.series
                .iter()
                .flat_map(|s| s.values.iter().flatten().copied()),
        );
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12" role="img" aria-label="{title}">"#,
            title = escape(&self.title)
        );
        let _ = write!(
            out,
            r#"<rect width="100%" height="100%" fill="white"/><text x="{LEFT}" y="24" font-size="16" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        self.axis(&mut out, &axis, width);
        self.bars(&mut out, &axis, per_group);
        self.legend(&mut out, width);
        out.push_str("</svg>\n");
        out
    }

    fn axis(&self, out: &mut String, axis: &LogAxis, width: f64) {
        let base = TOP + PLOT_H;
        let right = width - 140.0;
        for t in axis.ticks() {
            let y = base - axis.height(t);
            let major = (t.log10() - t.log10().round()).abs() < 1e-9;
            let stroke = if major { "#bbb" } else { "#eee" };
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" x2="{right:.0}" y1="{y:.1}" y2="{y:.1}" stroke="{stroke}"/><text x="{:.0}" y="{:.1}" text-anchor="end" fill="#333">{}</text>"##,
                LEFT - 6.0,
                y + 4.0,
                short(t)
            );
        }
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="#333"/><line x1="{LEFT}" x2="{right:.0}" y1="{base}" y2="{base}" stroke="#333"/><text transform="translate(16 {:.0}) rotate(-90)" text-anchor="middle" fill="#333">{} (log scale)</text>"##,
            TOP + PLOT_H / 2.0,
            escape(&self.unit)
        );
    }

    fn bars(&self, out: &mut String, axis: &LogAxis, per_group: f64) {
        let base = TOP + PLOT_H;
        for (g, category) in self.categories.iter().enumerate() {
            let x0 = LEFT + GAP / 2.0 + g as f64 * per_group;
            for (i, series) in self.series.iter().enumerate() {
                let Some(v) = series.values.get(g).copied().flatten() else {
                    continue;
                };
                let h = axis.height(v);
                let x = x0 + i as f64 * BAR;
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}"><title>{} on {}: {}</title></rect>"#,
                    base - h,
                    BAR - 2.0,
                    PALETTE[i % PALETTE.len()],
                    escape(category),
                    escape(&series.name),
                    short(v)
                );
            }
            let cx = x0 + self.series.len() as f64 * BAR / 2.0;
            let _ = write!(
                out,
                r##"<text transform="translate({cx:.1} {:.0}) rotate(-35)" text-anchor="end" fill="#333">{}</text>"##,
                base + 14.0,
                escape(category)
            );
        }
    }

    fn legend(&self, out: &mut String, width: f64) {
        let x = width - 128.0;
        for (i, series) in self.series.iter().enumerate() {
            let y = TOP + 4.0 + i as f64 * 20.0;
            let _ = write!(
                out,
                r##"<rect x="{x:.0}" y="{y:.0}" width="12" height="12" fill="{}"/><text x="{:.0}" y="{:.0}" fill="#333">{}</text>"##,
                PALETTE[i % PALETTE.len()],
                x + 18.0,
                y + 10.0,
                escape(&series.name)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> BarChart {
        BarChart {
            title: "ops/s <by> strategy & fs".into(),
            unit: "acknowledged ops/s".into(),
            categories: vec!["reference".into(), "naive".into(), "sqlite".into()],
            series: vec![
                Series {
                    name: "tmpfs".into(),
                    values: vec![Some(30_000.0), Some(41_000.0), Some(9_000.0)],
                },
                Series {
                    name: "ext4".into(),
                    values: vec![Some(3_000.0), None, Some(120.0)],
                },
            ],
        }
    }

    #[test]
    fn svg_is_well_formed_with_one_bar_per_value() {
        let svg = chart().svg();
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        let bars = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.children().any(|c| c.has_tag_name("title")))
            .count();
        assert_eq!(bars, 5, "one bar per present value");
        assert!(svg.contains("ops/s &lt;by&gt; strategy &amp; fs"));
    }

    #[test]
    fn taller_bars_for_larger_values() {
        let axis = LogAxis::new([120.0, 41_000.0].into_iter());
        assert_eq!((axis.lo, axis.hi), (2.0, 5.0));
        assert!(axis.height(41_000.0) > axis.height(3_000.0));
        assert!(axis.height(3_000.0) > axis.height(120.0));
        assert!(axis.height(120.0) >= 1.0);
    }

    #[test]
    fn short_labels() {
        assert_eq!(short(35_000.0), "35k");
        assert_eq!(short(1_250.0), "1.2k");
        assert_eq!(short(250.0), "250");
        assert_eq!(short(0.5), "0.5");
    }
}
