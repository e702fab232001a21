//! Machine-readable measurements: one JSON object per line, appended to the
//! file given by `--jsonl`, read back by `satchel-benches plot`.
//!
//! A sample is one point of one line of one figure: `figure` names the plot
//! (`get`, `prefix`, `capacity`, …), `system` the line's colour (Satchel,
//! SQLite, …), `stat` the line's dash (`p50` solid, `p99` dashed; empty when
//! a figure has one statistic), `n` the number of accounts and `value` the
//! cost in the figure's unit. The Node bench (`wasm/scripts/bench.mjs
//! --jsonl`) writes the same shape.

use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub figure: String,
    pub system: String,
    pub stat: String,
    pub n: u64,
    pub value: f64,
}

/// The samples one benchmark run measured.
#[derive(Default)]
pub struct Samples(pub Vec<Sample>);

impl Samples {
    pub fn push(&mut self, figure: &str, system: &str, stat: &str, n: u64, value: f64) {
        self.0.push(Sample {
            figure: figure.into(),
            system: system.into(),
            stat: stat.into(),
            n,
            value,
        });
    }

    /// Appends every sample to `path` as JSON lines (the directory is created).
    pub fn append_to(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let mut text = String::new();
        for s in &self.0 {
            let line = serde_json::json!({
                "figure": s.figure, "system": s.system, "stat": s.stat, "n": s.n, "value": s.value,
            });
            text.push_str(&line.to_string());
            text.push('\n');
        }
        f.write_all(text.as_bytes())
    }
}

/// Reads samples back; a line that is not a sample is an error naming it.
pub fn read(path: &Path) -> Result<Vec<Sample>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = || format!("{}:{}: not a sample: {line}", path.display(), i + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|_| bad())?;
        let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let (Some(figure), Some(system), Some(n), Some(value)) = (
            s("figure"),
            s("system"),
            v.get("n").and_then(|x| x.as_u64()),
            v.get("value").and_then(|x| x.as_f64()),
        ) else {
            return Err(bad());
        };
        out.push(Sample {
            figure,
            system,
            stat: s("stat").unwrap_or_default(),
            n,
            value,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = std::env::temp_dir().join(format!("satchel-samples-{}", std::process::id()));
        let path = dir.join("s.jsonl");
        let _ = std::fs::remove_file(&path);
        let mut s = Samples::default();
        s.push("get", "SQLite", "p99", 10_000, 40.5);
        s.push("bytes", "Satchel", "", 500_000, 179.25);
        s.append_to(&path).unwrap();
        s.append_to(&path).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back[0], s.0[0]);
        assert_eq!(back[3], s.0[1]);
        std::fs::write(&path, "{\"figure\":\"get\"}\n").unwrap();
        assert!(read(&path).unwrap_err().contains(":1: not a sample"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
