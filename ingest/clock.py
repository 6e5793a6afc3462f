"""The time a fetch run starts and ends, as fetch_runs stores it: UTC, without a time zone."""

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
