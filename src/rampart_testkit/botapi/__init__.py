"""A local stand-in for Telegram's Bot API (aiohttp on loopback), answering in Telegram's
documented shapes and refusing what Telegram refuses; the tests' bot and the service soak's
``rampart run`` talk to it. :mod:`.standin` is the server, :mod:`.shapes` its answers,
:mod:`.rules` what it refuses, :mod:`.flood` Telegram's flood limits."""
