"""`features.snapshot` (DuckDB SQL) against a straightforward pandas groupby implementation of its features.

Both start from the same validated `CXData` in memory, at the default as_of. The pandas result must equal the
snapshot's (asserted, floats to 1e-9 relative) before either is timed; each is timed `--repeats` times and the
fastest run is reported, with the ratio pandas / snapshot.

Usage: python bench/features_vs_pandas.py [--customers 300000] [--data DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from cxresearch.data.load import load_source
from cxresearch.data.schema import INCONSISTENCY_REASON, SEGMENT_COLUMNS, CXData
from cxresearch.data.simulate import simulate, write_world
from cxresearch.features.snapshot import DAYS_PER_MONTH, default_as_of, snapshot

INSTRUMENTS: tuple[str, ...] = ("nps", "csat", "ces")
COUNTS: tuple[str, ...] = ("reactive_90d", "proactive_90d", "unresolved_90d", "inconsistency_90d")


def pandas_snapshot(data: CXData, window_months: int = 3, horizon_months: int = 3) -> pd.DataFrame:
    """The snapshot's columns at the default as_of, computed with pandas boolean masks and groupby."""
    as_of = default_as_of(data, horizon_months)
    window_start = as_of - pd.DateOffset(months=window_months)
    horizon_end = as_of + pd.DateOffset(months=horizon_months)
    until = data.observed_until

    c = data.customers
    c = c[c["signup_date"] < as_of]
    segments = [s for s in (*SEGMENT_COLUMNS, "monthly_margin", "acquisition_cost", "n_referrals") if s in c]
    out = c[["customer_id", *segments, "signup_date", "end_date"]].set_index("customer_id")
    signup_day, end = c["signup_date"].dt.normalize(), c["end_date"]
    # DuckDB's date_diff('day', ...) counts calendar-day boundaries, hence the normalised dates.
    out["tenure_months"] = ((as_of.normalize() - signup_day).dt.days / DAYS_PER_MONTH).to_numpy()
    out["active"] = (end.isna() | (end >= as_of)).to_numpy()
    out["churned"] = (end.notna() & (end >= as_of) & (end < horizon_end)).to_numpy()
    stop = end.fillna(until).clip(upper=until).dt.normalize()
    out["duration_months"] = ((stop - signup_day).dt.days / DAYS_PER_MONTH).to_numpy()
    out["event"] = (end.notna() & (end <= until)).to_numpy()

    k = data.contacts
    k = k[(k["timestamp"] >= window_start) & (k["timestamp"] < as_of)]
    reactive = k["direction"] == "reactive"
    resolved = k.get("resolved_first_contact", pd.Series(pd.NA, index=k.index, dtype="boolean"))
    reason = k.get("reason", pd.Series(None, index=k.index, dtype=object))
    flags = pd.DataFrame({
        "customer_id": k["customer_id"],
        "reactive_90d": reactive,
        "proactive_90d": k["direction"] == "proactive",
        "unresolved_90d": reactive & resolved.eq(False).fillna(False).astype(bool),
        "inconsistency_90d": reason == INCONSISTENCY_REASON,
        # mean over reactive contacts with a known outcome, as SQL avg() skips NULLs
        "fcr_rate_90d": resolved.astype("Float64").where(reactive).astype("float64"),
    })
    grouped = flags.groupby("customer_id")
    out = out.join(grouped[list(COUNTS)].sum()).join(grouped["fcr_rate_90d"].mean())
    out[list(COUNTS)] = out[list(COUNTS)].fillna(0).astype("int64")

    s = data.surveys
    s = s[s["timestamp"] < as_of]
    last = s.sort_values("timestamp", kind="stable").groupby(["customer_id", "instrument"])["score"].last()
    last = last.unstack("instrument").reindex(columns=list(INSTRUMENTS)).astype("float64")
    mean = s.groupby(["customer_id", "instrument"])["score"].mean().unstack("instrument")
    mean = mean.reindex(columns=list(INSTRUMENTS))
    recent = s[(s["timestamp"] >= window_start) & s["instrument"].isin(["csat", "ces"])]
    mean_90d = recent.groupby(["customer_id", "instrument"])["score"].mean().unstack("instrument")
    mean_90d = mean_90d.reindex(columns=["csat", "ces"])
    out = out.join(last.add_suffix("_last")).join(mean.add_suffix("_mean"))
    out = out.join(mean_90d.add_suffix("_mean_90d"))
    out = out.join(s.groupby("customer_id").size().rename("n_survey_responses"))
    out["n_survey_responses"] = out["n_survey_responses"].fillna(0).astype("int64")
    return out.reset_index().sort_values("customer_id", kind="stable").reset_index(drop=True)


def _fastest(fn: Callable[[], pd.DataFrame], repeats: int) -> tuple[float, pd.DataFrame]:
    """Fewest seconds of wall time over `repeats` calls of `fn`, and its last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    """Check both implementations agree on one world, time them and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=300_000,
                        help="size of the simulated world (36 months)")
    parser.add_argument("--data", help="an existing canonical directory to use instead of simulating one")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    work = None
    if args.data:
        source = Path(args.data)
    else:
        work = Path(tempfile.mkdtemp(prefix="cxfeat-"))
        source = write_world(simulate(n_customers=args.customers, seed=0), work)
    try:
        data = load_source(source)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    duck_s, expected = _fastest(lambda: snapshot(data), args.repeats)
    pandas_s, got = _fastest(lambda: pandas_snapshot(data), args.repeats)
    assert list(got.columns) == list(expected.columns), (list(got.columns), list(expected.columns))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GiB RAM, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.1f}")
    print(f"{len(data.customers):,} customers, {len(data.contacts):,} contacts, {len(data.surveys):,} survey "
          f"responses; snapshot of {len(expected):,} customers at {expected.attrs['as_of'][:10]}; "
          f"results equal; fastest of {args.repeats}")
    print(f"{'what':<44}{'seconds':>10}")
    print(f"{'features.snapshot (DuckDB SQL)':<44}{duck_s:>10.2f}")
    print(f"{'pandas groupby, same features':<44}{pandas_s:>10.2f}")
    print(f"{'ratio pandas / snapshot':<44}{pandas_s / duck_s:>10.2f}")


if __name__ == "__main__":
    main()
