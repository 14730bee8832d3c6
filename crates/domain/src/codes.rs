//! Closed sets of stable codes (gender, node kinds of posts, departments ...): each value
//! has one snake_case code used in storage, URLs, the API and locale keys.

/// Raised when a text is not one of a set's codes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown {what} `{value}`")]
pub struct UnknownCode {
    /// Which set.
    pub what: &'static str,
    /// The text given.
    pub value: String,
}

/// Defines a closed set of stable codes with their parsing, listing and display.
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stable code used in storage, URLs, the API and locale keys.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            /// Parses the stable code.
            pub fn parse(text: &str) -> Result<Self, $crate::codes::UnknownCode> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str() == text)
                    .ok_or_else(|| $crate::codes::UnknownCode {
                        what: $what,
                        value: text.to_owned(),
                    })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use code_enum;
