use super::choice::choice;

choice! {
    /// How a verification code reaches the person.
    DeliveryMethod {
        Email => "email",
        Sms => "sms",
    }
}
