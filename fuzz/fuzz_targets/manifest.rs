//! A batch run manifest read on resume (`Manifest::load`), its settings
//! compared (`settings_diff`), and a loaded manifest saved and loaded back.
#![no_main]

use libfuzzer_sys::fuzz_target;

use dich::batch::manifest::{settings_diff, Manifest};

fuzz_target!(|data: &[u8]| {
    let path = dich_fuzz::scratch_file("out.manifest.json", data);
    let Ok(Some(m)) = Manifest::load(&path) else {
        return;
    };
    assert!(settings_diff(&m.settings, &m.settings).is_empty());
    let _ = settings_diff(&m.settings, &m.options);
    let again = dich_fuzz::scratch_dir().join("again.manifest.json");
    m.save(&again).expect("save");
    let m2 = Manifest::load(&again).expect("reload").expect("exists");
    assert_eq!(m2.settings, m.settings);
    assert_eq!(m2.runs.len(), m.runs.len());
});
