//! The model catalog TOML (`Catalog::parse` and its validation), then every
//! accessor the registry uses on a catalog that validated.
#![no_main]

use libfuzzer_sys::fuzz_target;

use dich::registry::{Catalog, Role};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(c) = Catalog::parse(text) else {
        return;
    };
    let _ = c.names();
    let _ = c.default_for(Role::Translator);
    let _ = c.default_for(Role::Embedder);
    for m in &c.models {
        assert!(c.get(&m.name).is_some());
        let _ = m.pair();
        let _ = m.total_size();
        let _ = m.primary_file();
        for slot in m.slots() {
            let _ = slot.name();
        }
        for f in &m.files {
            let _ = f.size();
            assert!(!f.name.contains('/'));
        }
    }
});
