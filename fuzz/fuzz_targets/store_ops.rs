#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| satchel_fuzz::store_ops(data));
