"""What operators and investors can see and do, for every front end (HTTP API, Telegram).

``control.Operator`` carries out commands (kill switch, pause, engines); ``views`` builds the
read models an investor sees. Both work on a running session through ``session.Session``.
"""
