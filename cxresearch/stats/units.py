"""Units shared by every layer: the one home of the average month in days."""

from __future__ import annotations

#: Days in an average month of the Gregorian calendar (365.25 / 12): durations in months are days / DAYS_PER_MONTH.
DAYS_PER_MONTH = 30.4375
