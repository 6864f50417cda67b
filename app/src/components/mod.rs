pub mod avatar;
pub mod checks;
pub mod field;
pub mod form;
pub mod layout;
#[cfg(feature = "hydrate")]
pub mod upload_xhr;
