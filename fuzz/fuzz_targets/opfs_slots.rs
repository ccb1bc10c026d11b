#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| lsmkv_wasm::fuzz::opfs_slots(data));
