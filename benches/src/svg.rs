//! A log-log line chart as a standalone SVG: cost against number of
//! accounts, one line per system and statistic, an optional horizontal
//! ceiling. Hand-written (about what `plotters`' SVG backend would give for
//! this one chart type, without the dependency).
//!
//! Invariant: the output is well-formed SVG whatever the input (text is
//! escaped, non-positive values are dropped: they have no place on a log
//! axis), so a bad sample cannot break a page.

use std::fmt::Write;

/// One line of the chart.
pub struct Line {
    pub label: String,
    pub colour: &'static str,
    pub dashed: bool,
    /// Drawn thicker (the system under study).
    pub bold: bool,
    pub points: Vec<(f64, f64)>,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// A horizontal limit (value, label), drawn in red.
    pub ceiling: Option<(f64, String)>,
}

const W: f64 = 840.0;
const H: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = W - 262.0;
const TOP: f64 = 52.0;
const BOTTOM: f64 = H - 58.0;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

/// The decades `[10^lo, 10^hi]` that hold every value (at least one decade).
fn decades(values: impl Iterator<Item = f64>) -> (i32, i32) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| *v > 0.0 && v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0, 1);
    }
    let a = lo.log10().floor() as i32;
    let b = (hi.log10() - 1e-9).ceil() as i32;
    (a, b.max(a + 1))
}

/// 1, 20, 500, 3k, 10M, 0.5, 0.02: short labels for a log axis.
pub fn compact(v: f64) -> String {
    let trim = |x: f64| {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    match v {
        v if v >= 1e9 => format!("{}G", trim(v / 1e9)),
        v if v >= 1e6 => format!("{}M", trim(v / 1e6)),
        v if v >= 1e3 => format!("{}k", trim(v / 1e3)),
        v => trim(v),
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Axis {
    lo: i32,
    hi: i32,
    from: f64,
    to: f64,
}

impl Axis {
    fn at(&self, v: f64) -> f64 {
        let t = (v.log10() - self.lo as f64) / (self.hi - self.lo) as f64;
        self.from + t * (self.to - self.from)
    }

    /// (value, labelled) ticks: every decade labelled; 2 and 5 labelled too
    /// when the axis spans at most two decades; the other integers unlabelled.
    fn ticks(&self) -> Vec<(f64, bool)> {
        let few = self.hi - self.lo <= 2;
        let mut out = Vec::new();
        for e in self.lo..=self.hi {
            let base = 10f64.powi(e);
            out.push((base, true));
            if e < self.hi {
                for m in 2..10 {
                    out.push((base * m as f64, few && (m == 2 || m == 5)));
                }
            }
        }
        out
    }
}

pub fn render(chart: &Chart) -> String {
    let lines: Vec<&Line> = chart.lines.iter().collect();
    let pts = || {
        lines
            .iter()
            .flat_map(|l| l.points.iter())
            .filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.0.is_finite() && p.1.is_finite())
    };
    let (xlo, xhi) = decades(pts().map(|p| p.0));
    let (ylo, yhi) = decades(pts().map(|p| p.1).chain(chart.ceiling.iter().map(|c| c.0)));
    let x = Axis {
        lo: xlo,
        hi: xhi,
        from: LEFT,
        to: RIGHT,
    };
    let y = Axis {
        lo: ylo,
        hi: yhi,
        from: BOTTOM,
        to: TOP,
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"{FONT}\" font-size=\"12\">"
    );
    let _ = writeln!(s, "<rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>");
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"28\" font-size=\"16\" font-weight=\"600\" fill=\"#222\">{}</text>",
        escape(&chart.title)
    );
    // Grid and tick labels.
    for (v, labelled) in x.ticks() {
        let px = x.at(v);
        let colour = if labelled { "#d0d0d0" } else { "#eeeeee" };
        let _ = writeln!(s, "<line x1=\"{px:.1}\" y1=\"{TOP}\" x2=\"{px:.1}\" y2=\"{BOTTOM}\" stroke=\"{colour}\"/>");
        if labelled {
            let _ = writeln!(
                s,
                "<text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                BOTTOM + 18.0,
                compact(v)
            );
        }
    }
    for (v, labelled) in y.ticks() {
        let py = y.at(v);
        let colour = if labelled { "#d0d0d0" } else { "#eeeeee" };
        let _ = writeln!(s, "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{RIGHT}\" y2=\"{py:.1}\" stroke=\"{colour}\"/>");
        if labelled {
            let _ = writeln!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#444\">{}</text>",
                LEFT - 8.0,
                py + 4.0,
                compact(v)
            );
        }
    }
    let _ = writeln!(s, "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#888\"/>", RIGHT - LEFT, BOTTOM - TOP);
    let _ = writeln!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
        (LEFT + RIGHT) / 2.0,
        H - 18.0,
        escape(&chart.x_label)
    );
    let _ = writeln!(
        s,
        "<text transform=\"translate(20 {:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#222\">{}</text>",
        (TOP + BOTTOM) / 2.0,
        escape(&chart.y_label)
    );
    if let Some((v, label)) = &chart.ceiling {
        let py = y.at(*v);
        let _ = writeln!(s, "<line x1=\"{LEFT}\" y1=\"{py:.1}\" x2=\"{RIGHT}\" y2=\"{py:.1}\" stroke=\"#c00000\" stroke-width=\"2\" stroke-dasharray=\"8 4\"/>");
        // A white halo keeps the label legible over the lines it crosses.
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#c00000\" font-weight=\"600\" stroke=\"#ffffff\" stroke-width=\"4\" paint-order=\"stroke\">{}</text>", LEFT + 8.0, py - 7.0, escape(label));
    }
    // The lines, then the legend beside the plot.
    for l in &lines {
        let p: Vec<(f64, f64)> = l
            .points
            .iter()
            .filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.0.is_finite() && p.1.is_finite())
            .map(|&(a, b)| (x.at(a), y.at(b)))
            .collect();
        let width = if l.bold { 3.0 } else { 2.0 };
        let dash = if l.dashed {
            " stroke-dasharray=\"7 4\""
        } else {
            ""
        };
        if p.len() > 1 {
            let path: Vec<String> = p.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
            let _ = writeln!(s, "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\"{dash} stroke-linejoin=\"round\"/>", path.join(" "), l.colour);
        }
        for (a, b) in &p {
            let fill = if l.dashed { "#ffffff" } else { l.colour };
            let _ = writeln!(s, "<circle cx=\"{a:.1}\" cy=\"{b:.1}\" r=\"3.5\" fill=\"{fill}\" stroke=\"{}\" stroke-width=\"1.5\"/>", l.colour);
        }
    }
    let mut ly = TOP + 8.0;
    for l in &lines {
        let width = if l.bold { 3.0 } else { 2.0 };
        let dash = if l.dashed {
            " stroke-dasharray=\"7 4\""
        } else {
            ""
        };
        let lx = RIGHT + 16.0;
        let _ = writeln!(s, "<line x1=\"{lx}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{}\" stroke-width=\"{width}\"{dash}/>", lx + 28.0, l.colour);
        let weight = if l.bold { " font-weight=\"600\"" } else { "" };
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#222\"{weight}>{}</text>",
            lx + 36.0,
            ly + 4.0,
            escape(&l.label)
        );
        ly += 20.0;
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(points: Vec<(f64, f64)>) -> Chart {
        Chart {
            title: "get <by id> & more".into(),
            x_label: "accounts".into(),
            y_label: "µs".into(),
            lines: vec![Line {
                label: "Satchel p50".into(),
                colour: "#0072B2",
                dashed: false,
                bold: true,
                points,
            }],
            ceiling: Some((64.0, "64 MiB".into())),
        }
    }

    #[test]
    fn places_points_on_log_axes_and_escapes_text() {
        let svg = render(&chart(vec![(1e4, 10.0), (1e5, 100.0), (1e6, 1000.0)]));
        assert!(svg.contains("get &lt;by id&gt; &amp; more"));
        // x spans 1e4..1e6 over LEFT..RIGHT: 1e5 is in the middle; y spans
        // 10..1000, so 100 is in the middle too.
        let mid = format!("{:.1},{:.1}", (LEFT + RIGHT) / 2.0, (TOP + BOTTOM) / 2.0);
        assert!(svg.contains(&mid), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.ends_with("</svg>\n"));
    }

    #[test]
    fn drops_what_a_log_axis_cannot_show() {
        let svg = render(&chart(vec![(1e4, 0.0), (1e5, f64::NAN), (1e6, 5.0)]));
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(!svg.contains("NaN"));
        assert!(!svg.contains("inf"));
    }

    #[test]
    fn short_labels() {
        assert_eq!(compact(1e6), "1M");
        assert_eq!(compact(20_000.0), "20k");
        assert_eq!(compact(0.05), "0.05");
        assert_eq!(compact(500.0), "500");
    }
}
