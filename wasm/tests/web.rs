#![cfg(target_arch = "wasm32")]
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn version_is_reported() {
    assert_eq!(lsmkv_wasm::version(), "0.1.0");
}
