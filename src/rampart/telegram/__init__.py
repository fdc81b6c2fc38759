"""The Telegram bot: investors and operators, each seeing only what is theirs."""
