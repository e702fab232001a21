//! Caps the module's linear memory at link time: a wasm build of this crate
//! physically cannot grow past the device's budget. `SATCHEL_WASM_MAX_MEMORY`
//! (bytes, a multiple of 65536) overrides the 64 MiB default. The cap is
//! also written to `$OUT_DIR/max_memory.rs` (`MAX_MEMORY`), which bounds the
//! budget a store may be opened with (`input::MAX_BUDGET`).

fn main() {
    println!("cargo:rerun-if-env-changed=SATCHEL_WASM_MAX_MEMORY");
    let max: u64 = match std::env::var("SATCHEL_WASM_MAX_MEMORY") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| n % 65536 == 0 && *n > 0)
            .unwrap_or_else(|| {
                panic!("SATCHEL_WASM_MAX_MEMORY={v}: want bytes, a multiple of 65536")
            }),
        Err(_) => 64 << 20,
    };
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(
        out.join("max_memory.rs"),
        format!(
            "/// The module's linear memory cap in bytes (build.rs, `--max-memory`).\n\
             pub const MAX_MEMORY: u64 = {max};\n"
        ),
    )
    .expect("write $OUT_DIR/max_memory.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=--max-memory={max}");
    }
}
