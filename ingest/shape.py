"""Small pure helpers shared by the FAERS and CAERS shaping modules."""

from __future__ import annotations

import datetime as dt
import json

# Ages outside this range are data-entry errors in FAERS (e.g. 1999 years); the value as
# reported is kept in age_reported, and age_years is left empty.
MAX_PLAUSIBLE_AGE_YEARS = 120.0


def parse_date(value: str | None) -> dt.date | None:
    """openFDA YYYYMMDD string -> date; anything else (partial, malformed) -> None."""
    if not value or len(value) != 8 or not value.isdigit():
        return None
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is not a number we can count


def age_in_years(value, years_per_unit: float | None) -> float | None:
    """Age converted to years and rounded to 3 decimals; None if missing or implausible."""
    number = parse_float(value)
    if number is None or years_per_unit is None:
        return None
    years = round(number * years_per_unit, 3)
    return years if 0.0 <= years <= MAX_PLAUSIBLE_AGE_YEARS else None


def flag(value) -> bool:
    """FAERS seriousness flags are "1" when set and absent otherwise."""
    return str(value).strip() == "1" if value is not None else False


def text(value) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def raw_json(record: dict) -> str:
    """The record as compact JSON text, keys in the order openFDA sent them."""
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
