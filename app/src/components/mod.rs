pub mod checks;
pub mod field;
pub mod form;
pub mod layout;
