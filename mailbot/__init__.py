"""mailbot: the mail daemon of a council's Customer Feedback Team."""
