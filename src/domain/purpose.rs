use super::choice::choice;

choice! {
    /// What a verification code is for; part of the key
    /// `verification:{purpose}:{email}:{code}`.
    Purpose {
        FinishRegistration => "finish_registration",
        ForgotPassword => "forgot_password",
        ChangePassword => "change_password",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ParseError;

    #[test]
    fn round_trips_wire_names() {
        for p in Purpose::ALL {
            assert_eq!(Purpose::parse(p.as_str()), Ok(*p));
        }
        assert_eq!(
            Purpose::parse("delete_everything"),
            Err(ParseError::Choice("finish_registration forgot_password change_password"))
        );
    }
}
