"""Parameter overrides are typed by the notebooks' own defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxresearch.parameters import ParameterError, ParameterSpec, coerce_parameters, declared_parameters

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _spec(name: str, default: object) -> ParameterSpec:
    return ParameterSpec(name, default, type(default))


DECLARED = {
    "a": {"n": _spec("n", 3), "rate": _spec("rate", 0.5), "flag": _spec("flag", True), "label": _spec("label", "x")},
    "b": {"rate": _spec("rate", 1)},  # declared as int here: 2 fits both, 2.5 fits only one
}


def test_text_values_are_parsed_into_the_declared_type() -> None:
    got = coerce_parameters(DECLARED, {"n": "7", "flag": "false", "label": "12", "rate": "2"})
    assert got == {"n": 7, "flag": False, "label": "12", "rate": 2.0}
    assert isinstance(got["label"], str)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n": "7.5"}, "'n' expects int"),
        ({"n": True}, "'n' expects int"),
        ({"flag": "maybe"}, "'flag' expects bool"),
        ({"label": 3}, "'label' expects str"),
        ({"rate": "2.5"}, "'rate' expects float or int"),
        ({"nope": 1}, "'nope' is not declared by any notebook"),
    ],
)
def test_wrong_types_and_unknown_names_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        coerce_parameters(DECLARED, overrides)


def test_declared_parameters_of_a_real_notebook() -> None:
    specs = declared_parameters(NOTEBOOKS / "02_churn_drivers.ipynb")
    assert specs["seed"].kind is int and specs["as_of"].kind is str and specs["data_source"].kind is str
