"""The Hillstrom e-mail experiment: the loader, average effects pinned to group means computed here from the raw
file, the randomisation checks, and the held-out policy comparison against its closed form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from cxresearch.experiments.hillstrom import hillstrom_effects, hillstrom_experiment, load_hillstrom

HILLSTROM = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "hillstrom"
pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (HILLSTROM / "hillstrom.csv").is_file(),
                       reason=f"Hillstrom data not found at {HILLSTROM} (../shared beside the repo)"),
]
ARM_OF = {"Mens E-Mail": "mens_email", "Womens E-Mail": "womens_email"}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(HILLSTROM / "hillstrom.csv")


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return load_hillstrom(HILLSTROM)


def test_loader_gives_a_tidy_frame(frame: pd.DataFrame) -> None:
    assert len(frame) == 64000
    assert frame["arm"].value_counts().to_dict() == {"womens_email": 21387, "mens_email": 21307, "control": 21306}
    assert set(frame["zip_code"]) == {"urban", "suburban", "rural"}
    assert set(frame["channel"]) == {"phone", "web", "multichannel"}
    assert load_hillstrom(HILLSTROM / "hillstrom.csv").equals(frame)


def test_average_effects_pinned_to_group_means(raw: pd.DataFrame, frame: pd.DataFrame) -> None:
    means = raw.groupby("segment")[["visit", "conversion", "spend"]].mean()
    sizes = raw["segment"].value_counts()
    for effects in hillstrom_effects(frame):
        table = effects.table.set_index("arm")
        for label, arm in ARM_OF.items():
            expected = means.loc[label, effects.outcome] - means.loc["No E-Mail", effects.outcome]
            assert table.loc[arm, "difference"] == pytest.approx(expected, abs=1e-9)
            assert table.loc[arm, "lift"] == pytest.approx(
                means.loc[label, effects.outcome] / means.loc["No E-Mail", effects.outcome] - 1, abs=1e-9)
            assert table.loc[arm, "n"] == sizes[label]
    spend = hillstrom_effects(frame)[2].table.set_index("arm")
    ci = stats.ttest_ind(raw.loc[raw["segment"] == "Mens E-Mail", "spend"],
                         raw.loc[raw["segment"] == "No E-Mail", "spend"], equal_var=False).confidence_interval()
    assert (spend.loc["mens_email", "ci_low"], spend.loc["mens_email", "ci_high"]) == pytest.approx(
        (ci.low, ci.high), abs=1e-9)


def test_checks_and_held_out_policies(frame: pd.DataFrame) -> None:
    result = hillstrom_experiment(frame, arm="womens_email", learner=LogisticRegression(max_iter=500), folds=2,
                                  n_boot=50)
    counts = np.array([21306, 21307, 21387])
    assert result.srm.chi2 == pytest.approx(((counts - 64000 / 3) ** 2 / (64000 / 3)).sum())
    assert not result.srm.mismatch and result.balance.balanced
    targeting = result.targeting
    held = frame.loc[targeting.test_index]
    # half of the 21387 + 21306 customers of the women's e-mail and control, rounded up
    assert targeting.n_test == len(held) == 21347 and set(held["arm"]) == {"womens_email", "control"}
    treated, control = held[held["arm"] == "womens_email"], held[held["arm"] == "control"]
    # mailing everyone earns the held-out difference in mean spend less the cost of an e-mail
    everyone = targeting.policies.estimate("everyone").value
    assert everyone == pytest.approx(treated["spend"].mean() - control["spend"].mean() - 0.10, abs=1e-9)
    # the Qini curve ends at N_T x (visit rate treated - visit rate control)
    qini_end = len(treated) * (treated["visit"].mean() - control["visit"].mean())
    assert targeting.qini[0].points["qini"].iloc[-1] == pytest.approx(qini_end, abs=1e-9)
