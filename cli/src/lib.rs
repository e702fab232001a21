//! The library side of the `satchel` CLI: the retention replay and the sync
//! transport, shared with the benchmarks so that they measure exactly what
//! the command runs.

pub mod retention;
pub mod transport;

/// Parses one canonical NDJSON line.
pub fn parse_line(bytes: &[u8]) -> Result<satchel_core::model::Account, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8 (byte {})", e.valid_up_to()))?;
    serde_json::from_str(text).map_err(|e| format!("not a canonical account: {e}"))
}
