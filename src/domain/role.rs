use super::choice::choice;

choice! {
    /// An account's role. People choose consumer or creator at sign-up;
    /// admin is granted by an operator, never by a form.
    Role {
        Consumer => "consumer",
        Creator => "creator",
        Admin => "admin",
    }
}

impl Role {
    /// The roles a person may pick for themselves.
    pub const SELF_SERVICE: &'static [Role] = &[Role::Consumer, Role::Creator];

    pub fn parse_self_service(input: &str) -> Result<Self, crate::domain::ParseError> {
        match Self::parse(input)? {
            Role::Admin => Err(crate::domain::ParseError::Choice("consumer creator")),
            role => Ok(role),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_cannot_be_chosen_at_sign_up() {
        assert_eq!(Role::parse_self_service("creator"), Ok(Role::Creator));
        assert!(Role::parse_self_service("admin").is_err());
        assert_eq!(Role::parse("admin"), Ok(Role::Admin));
    }
}
