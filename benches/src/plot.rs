//! `satchel-benches plot`: reads the samples of a scaling run (JSON lines,
//! see `samples`), draws one SVG per figure and writes the `scaling` section
//! of a results file: each plot, its table, and the growth each line shows
//! (fitted, see `growth`). Everything it writes comes from the samples; the
//! figure list below only says how to draw them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::growth;
use crate::samples::Sample;
use crate::svg::{self, Chart, Line};

/// How one figure is drawn.
pub struct Figure {
    pub id: &'static str,
    pub title: &'static str,
    pub y_label: &'static str,
    /// The statistics in the figure, in the legend's order (see `DASHED`).
    pub stats: &'static [&'static str],
    pub ceiling: Option<(f64, &'static str)>,
}

/// Statistics drawn dashed (the other one of a pair is solid).
const DASHED: &[&str] = &["p99", "load", "no budget", "16 MiB budget"];

/// 64 MiB, in the capacity figure's unit.
const CEILING_MIB: f64 = 64.0;

pub const FIGURES: &[Figure] = &[
    Figure {
        id: "capacity",
        title: "Memory to hold n accounts, against the 64 MiB ceiling",
        y_label: "MiB",
        stats: &["64 MiB budget", "40 MiB budget", "no budget"],
        ceiling: Some((CEILING_MIB, "64 MiB: a handheld's whole wasm memory")),
    },
    Figure {
        id: "kept",
        title: "Accounts held inside 64 MiB, of n offered",
        y_label: "accounts held",
        stats: &["", "64 MiB budget", "40 MiB budget"],
        ceiling: None,
    },
    Figure {
        id: "ingest",
        title: "Import n accounts",
        y_label: "seconds",
        stats: &[""],
        ceiling: None,
    },
    Figure {
        id: "bytes",
        title: "Bytes per record",
        y_label: "bytes per record",
        stats: &[""],
        ceiling: None,
    },
    Figure {
        id: "get",
        title: "Get one account by id",
        y_label: "µs per get",
        stats: &["p50", "p99"],
        ceiling: None,
    },
    Figure {
        id: "prefix",
        title: "Prefix search, top 20",
        y_label: "µs per query",
        stats: &["p50", "p99"],
        ceiling: None,
    },
    Figure {
        id: "substring",
        title: "Substring search (CJK), top 20",
        y_label: "µs per query",
        stats: &["p50", "p99"],
        ceiling: None,
    },
    Figure {
        id: "plan",
        title: "Rank and evict: plan keep / stub / drop for 64 MiB",
        y_label: "seconds",
        stats: &[""],
        ceiling: None,
    },
    Figure {
        id: "snapshot",
        title: "Save and load a snapshot of n accounts",
        y_label: "ms",
        stats: &["save", "load"],
        ceiling: None,
    },
    Figure {
        id: "sync",
        title: "First sync from the reference backend, org of n",
        y_label: "seconds",
        stats: &["64 MiB budget", "16 MiB budget"],
        ceiling: None,
    },
];

/// Line colours (Okabe–Ito, readable by colour-blind readers), by system,
/// in drawing and legend order (the reference line first, under the rest).
const SYSTEMS: &[(&str, &str)] = &[
    ("all offered", "#AAAAAA"),
    ("Satchel", "#0072B2"),
    ("Satchel (wasm)", "#56B4E9"),
    ("SQLite", "#D55E00"),
    ("sql.js (wasm)", "#CC79A7"),
    ("NDJSON", "#777777"),
    ("NDJSON + gzip", "#009E73"),
    ("NDJSON + zstd", "#E69F00"),
];

fn colour(system: &str) -> &'static str {
    SYSTEMS
        .iter()
        .find(|s| s.0 == system)
        .map_or("#000000", |s| s.1)
}

fn system_rank(system: &str) -> usize {
    SYSTEMS
        .iter()
        .position(|s| s.0 == system)
        .unwrap_or(SYSTEMS.len())
}

/// One line: a system and a statistic, its points sorted by n (a size
/// measured twice keeps the last sample).
struct Series {
    system: String,
    stat: String,
    points: Vec<(u64, f64)>,
}

impl Series {
    fn label(&self) -> String {
        if self.stat.is_empty() {
            self.system.clone()
        } else {
            format!("{}, {}", self.system, self.stat)
        }
    }
}

fn series(fig: &Figure, samples: &[Sample]) -> Vec<Series> {
    let mut by: BTreeMap<(usize, usize, String, String), BTreeMap<u64, f64>> = BTreeMap::new();
    for s in samples.iter().filter(|s| s.figure == fig.id) {
        let stat_rank = fig
            .stats
            .iter()
            .position(|x| *x == s.stat)
            .unwrap_or(fig.stats.len());
        by.entry((
            system_rank(&s.system),
            stat_rank,
            s.system.clone(),
            s.stat.clone(),
        ))
        .or_default()
        .insert(s.n, s.value);
    }
    by.into_iter()
        .map(|((_, _, system, stat), pts)| Series {
            system,
            stat,
            points: pts.into_iter().collect(),
        })
        .collect()
}

/// Three significant digits, no exponent.
fn value(v: f64) -> String {
    let digits = if v == 0.0 {
        0
    } else {
        (2 - v.abs().log10().floor() as i32).max(0) as usize
    };
    format!("{v:.digits$}")
}

fn growth_of(points: &[(u64, f64)]) -> Option<(f64, &'static str)> {
    let k = growth::slope(points)?;
    Some((k, growth::name(k)))
}

/// What the run was: for the section's first lines.
pub struct RunInfo<'a> {
    pub command: &'a str,
    pub machine: String,
    pub load: String,
    pub minutes: Option<f64>,
}

/// Draws every figure that has samples into `svg_dir` and returns the
/// markdown of the section (image links relative to `link_dir`).
pub fn write(
    samples: &[Sample],
    svg_dir: &Path,
    link_prefix: &str,
    run: &RunInfo,
) -> std::io::Result<String> {
    std::fs::create_dir_all(svg_dir)?;
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Machine: {}. Load average when the last measurement ended (1, 5, 15 min): {}{}. \
         Command: `{}`.\n",
        run.machine,
        run.load,
        run.minutes.map_or(String::new(), |m| format!(
            "; the measurements took {m:.0} min"
        )),
        run.command
    );
    let mut summary = String::new();
    let mut body = String::new();
    for fig in FIGURES {
        let lines = series(fig, samples);
        if lines.is_empty() {
            continue;
        }
        let chart = Chart {
            title: fig.title.into(),
            x_label: "accounts (log scale)".into(),
            y_label: format!("{} (log scale)", fig.y_label),
            lines: lines
                .iter()
                .map(|s| Line {
                    label: s.label(),
                    colour: colour(&s.system),
                    dashed: DASHED.contains(&s.stat.as_str()),
                    bold: s.system == "Satchel",
                    points: s.points.iter().map(|&(n, v)| (n as f64, v)).collect(),
                })
                .collect(),
            ceiling: fig.ceiling.map(|(v, l)| (v, l.to_string())),
        };
        let file = format!("{}.svg", fig.id);
        std::fs::write(svg_dir.join(&file), svg::render(&chart))?;

        let mut sizes: Vec<u64> = lines
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .collect();
        sizes.sort_unstable();
        sizes.dedup();
        let _ = writeln!(body, "### {}\n", fig.title);
        let _ = writeln!(body, "![{}]({link_prefix}{file})\n", fig.title);
        let _ = write!(body, "| {} |", fig.y_label);
        for n in &sizes {
            let _ = write!(body, " {} |", svg::compact(*n as f64));
        }
        let _ = writeln!(
            body,
            " log-log slope | growth | slope, two largest sizes | growth there |"
        );
        let _ = writeln!(
            body,
            "|---|{}---:|---|---:|---|",
            "---:|".repeat(sizes.len())
        );
        for s in &lines {
            let _ = write!(body, "| {} |", s.label());
            for n in &sizes {
                let cell = s
                    .points
                    .iter()
                    .find(|p| p.0 == *n)
                    .map_or("–".into(), |p| value(p.1));
                let _ = write!(body, " {cell} |");
            }
            // Over all sizes, and between the two largest: a curve that
            // bends (a budget filling up, a tail that takes off) shows there.
            let last = s.points.len().saturating_sub(2);
            match (growth_of(&s.points), growth_of(&s.points[last..])) {
                (Some((k, name)), Some((k2, name2))) => {
                    let _ = writeln!(body, " {k:.2} | {name} | {k2:.2} | {name2} |");
                    if s.system.starts_with("Satchel") {
                        let (from, to) = (s.points[0].0, s.points[s.points.len() - 1].0);
                        let tail = if s.points.len() > 2 {
                            format!(
                                "; from {} to {}: slope {k2:.2}, {name2}",
                                svg::compact(s.points[last].0 as f64),
                                svg::compact(to as f64)
                            )
                        } else {
                            String::new()
                        };
                        let _ = writeln!(
                            summary,
                            "- {}: {} ({}) {name} (slope {k:.2}, {}–{}{tail}).",
                            fig.title,
                            s.label(),
                            fig.y_label,
                            svg::compact(from as f64),
                            svg::compact(to as f64),
                        );
                    }
                }
                _ => {
                    let _ = writeln!(body, " – | one size | – | – |");
                }
            }
        }
        let _ = writeln!(body);
    }
    if !summary.is_empty() {
        let _ = writeln!(
            md,
            "How Satchel's costs grow, from the least-squares slope of log(cost) \
             against log(n) over the sizes measured (0 is constant, 1 is linear; \
             log n shows as about 0.1 at these sizes):\n\n{summary}"
        );
    }
    md.push_str(&body);
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(figure: &str, system: &str, stat: &str, n: u64, value: f64) -> Sample {
        Sample {
            figure: figure.into(),
            system: system.into(),
            stat: stat.into(),
            n,
            value,
        }
    }

    #[test]
    fn tables_plots_and_growth_come_from_the_samples() {
        let dir = std::env::temp_dir().join(format!("satchel-plot-{}", std::process::id()));
        let samples = vec![
            s("get", "SQLite", "p50", 10_000, 10.0),
            s("get", "Satchel", "p99", 10_000, 40.0),
            s("get", "Satchel", "p99", 100_000, 400.0),
            s("get", "Satchel", "p99", 1_000_000, 400.0),
            s("get", "Satchel", "p50", 10_000, 5.0),
            s("get", "Satchel", "p50", 100_000, 5.0),
            s("unknown-figure", "Satchel", "", 1, 1.0),
        ];
        let run = RunInfo {
            command: "cargo xtask bench --quick",
            machine: "test".into(),
            load: "0.00".into(),
            minutes: None,
        };
        let md = write(&samples, &dir, "plots/", &run).unwrap();
        assert!(md.contains("![Get one account by id](plots/get.svg)"));
        // Satchel before SQLite, p50 before p99.
        let p50 = md
            .find("| Satchel, p50 | 5.00 | 5.00 | – | 0.00 | stays constant | 0.00 | stays constant |")
            .unwrap();
        let p99 = md
            .find("| Satchel, p99 | 40.0 | 400 | 400 | 0.50 | grows like √n | 0.00 | stays constant |")
            .unwrap();
        let sqlite = md
            .find("| SQLite, p50 | 10.0 | – | – | – | one size | – | – |")
            .unwrap();
        assert!(p50 < p99 && p99 < sqlite, "{md}");
        assert!(
            md.contains(
                "Satchel, p99 (µs per get) grows like √n (slope 0.50, 10k–1M; from 100k to 1M: slope 0.00, stays constant)"
            ),
            "{md}"
        );
        let svg = std::fs::read_to_string(dir.join("get.svg")).unwrap();
        assert!(svg.contains("Satchel, p99") && svg.contains("stroke-dasharray"));
        assert!(!dir.join("capacity.svg").exists(), "no samples, no plot");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn three_significant_digits() {
        assert_eq!(value(1234.6), "1235");
        assert_eq!(value(12.345), "12.3");
        assert_eq!(value(0.01234), "0.0123");
    }
}
