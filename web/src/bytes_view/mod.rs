//! Pure helpers between bytes and what a person reads or types, one file per job. No browser
//! APIs here, so all of it is tested natively.

pub mod compose;
pub mod hex;
pub mod size;
pub mod text;
pub mod time;
