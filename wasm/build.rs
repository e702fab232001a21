//! Caps the module's linear memory at link time: a wasm build of this crate
//! physically cannot grow past the device's budget. `SATCHEL_WASM_MAX_MEMORY`
//! (bytes, a multiple of 65536) overrides the 64 MiB default.

fn main() {
    println!("cargo:rerun-if-env-changed=SATCHEL_WASM_MAX_MEMORY");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("wasm32") {
        return;
    }
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
    println!("cargo:rustc-link-arg=--max-memory={max}");
}
