//! Background jobs. Each runs inside the server on its interval and once on
//! demand with `keyhold-server job NAME`; a lease in Redis
//! (`lock:job:{name}`) lets only one instance run a job at a time.

pub mod key_census;
pub mod uploads;

/// The jobs `keyhold-server job NAME` knows.
pub const NAMES: &[&str] = &[uploads::NAME, key_census::NAME];
