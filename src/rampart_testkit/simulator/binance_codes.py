"""Binance's error codes and messages, as the simulator answers them.

Every refusal is a :class:`BinanceError` carrying the HTTP status, the numeric code and the
message Binance sends, so the ccxt client maps it to the same exception it would raise
against the real exchange (ccxt matches some messages exactly, e.g. insufficient balance).
"""

from __future__ import annotations

from typing import Any


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "msg": self.msg}


UNKNOWN = -1000
TOO_MANY_REQUESTS = -1003
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
MANDATORY_PARAM = -1102
UNKNOWN_PARAM = -1104
NOT_REQUIRED = -1106
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
BAD_SYMBOL = -1121
BAD_INTERVAL = -1120
MORE_THAN_XX_HOURS = -1127
BAD_RECV_WINDOW = -1131
FILTER_FAILURE = -1013
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
DUPLICATE_ORDER = "Duplicate order sent."


def bad_key_format() -> BinanceError:
    return BinanceError(BAD_API_KEY_FMT, "API-key format invalid.", 401)


def rejected_key() -> BinanceError:
    return BinanceError(REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401)


def bad_signature() -> BinanceError:
    return BinanceError(INVALID_SIGNATURE, "Signature for this request is not valid.")


def outside_window() -> BinanceError:
    return BinanceError(
        INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
    )


def ahead_of_server() -> BinanceError:
    return BinanceError(
        INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
    )


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        MANDATORY_PARAM,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def illegal(name: str) -> BinanceError:
    return BinanceError(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'.")


def not_required(name: str) -> BinanceError:
    return BinanceError(NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def window_too_long(hours: int) -> BinanceError:
    return BinanceError(
        MORE_THAN_XX_HOURS, f"More than {hours} hours between startTime and endTime."
    )


def bad_symbol() -> BinanceError:
    return BinanceError(BAD_SYMBOL, "Invalid symbol.")


def no_such_order() -> BinanceError:
    return BinanceError(NO_SUCH_ORDER, "Order does not exist.")


def unknown_order() -> BinanceError:
    return BinanceError(CANCEL_REJECTED, "Unknown order sent.")


def duplicate() -> BinanceError:
    return BinanceError(NEW_ORDER_REJECTED, DUPLICATE_ORDER)


def too_many_requests(limit: int) -> BinanceError:
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        429,
    )


def banned(until_ms: int) -> BinanceError:
    return BinanceError(
        TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        418,
    )


# The matching core's rejection codes (rampart.venues.validation) in Binance's words.
_CORE: dict[str, tuple[int, str]] = {
    "insufficient_funds": (NEW_ORDER_REJECTED, INSUFFICIENT_BALANCE),
    "duplicate": (NEW_ORDER_REJECTED, DUPLICATE_ORDER),
    "bad_lot": (FILTER_FAILURE, "Filter failure: LOT_SIZE"),
    "min_qty": (FILTER_FAILURE, "Filter failure: LOT_SIZE"),
    "bad_tick": (FILTER_FAILURE, "Filter failure: PRICE_FILTER"),
    "bad_price": (FILTER_FAILURE, "Filter failure: PRICE_FILTER"),
    "min_notional": (FILTER_FAILURE, "Filter failure: NOTIONAL"),
    "unknown_symbol": (BAD_SYMBOL, "Invalid symbol."),
    "bad_order": (ILLEGAL_CHARS, "Illegal characters found in parameter 'quantity'."),
    "bad_oco": (
        NEW_ORDER_REJECTED,
        "The relationship of the prices for the orders is not correct.",
    ),
    "no_price": (NEW_ORDER_REJECTED, "Market is closed."),
    "unknown_account": (REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action."),
}


def from_core(code: str, reason: str) -> BinanceError:
    known = _CORE.get(code)
    if known is None:
        return BinanceError(NEW_ORDER_REJECTED, reason or "Order rejected.")
    number, msg = known
    return BinanceError(number, msg)
