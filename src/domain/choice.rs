/// Declares a closed set of values with their wire names, a `parse` that
/// accepts exactly those names, `as_str`, `ALL`, serde and `Display`.
macro_rules! choice {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const NAMES: &'static str = concat!($($wire, " "),+);

            pub fn parse(input: &str) -> Result<Self, $crate::domain::ParseError> {
                match input.trim() {
                    $($wire => Ok($name::$variant),)+
                    "" => Err($crate::domain::ParseError::Required),
                    _ => Err($crate::domain::ParseError::Choice(Self::NAMES.trim_ascii_end())),
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use choice;
