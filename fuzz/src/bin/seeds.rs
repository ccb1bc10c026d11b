//! Writes the seed corpus of every target into DIR/<target>/seed-N, from a
//! real database (`lsmkv::fuzz::seeds`, `lsmkv_wasm::fuzz::seeds`).
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("usage: seeds DIR"));
    let seeds = lsmkv::fuzz::seeds().into_iter().chain(lsmkv_wasm::fuzz::seeds());
    for (n, (target, input)) in seeds.enumerate() {
        let target_dir = dir.join(target);
        std::fs::create_dir_all(&target_dir).expect("create corpus dir");
        std::fs::write(target_dir.join(format!("seed-{n}")), input).expect("write seed");
    }
}
