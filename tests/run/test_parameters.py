"""Parameter overrides are typed by the notebooks' own defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxresearch.run.parameters import ParameterError, ParameterSpec, coerce_parameters, declared_parameters

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


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
    # declared 0.5 in one notebook and 1 in another: the int serves both (a month count used as an index must
    # stay an int; --param horizon_months=6 once reached notebook 05 as 6.0 because notebook 09 declares 12.0)
    assert isinstance(got["rate"], int)


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


def test_every_assignment_in_a_parameters_cell_is_declared(tmp_path: Path) -> None:
    import nbformat

    source = (
        'data_source = "../data/demo"\n'
        "max_model_customers = 50_000  # a sample this large (0 = everyone)\n"
        'holdout_end = "1998-06-30"  # "" = no holdout check\n'
        "rate: float = 0.5\n"
        "import math\n"
        "scaled = math.sqrt(4)\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    specs = declared_parameters(path)
    assert list(specs) == ["data_source", "max_model_customers", "holdout_end", "rate", "scaled"]
    assert specs["max_model_customers"].default == 50_000 and specs["max_model_customers"].kind is int
    assert specs["holdout_end"].default == "1998-06-30" and specs["rate"].kind is float
    assert specs["scaled"].default == "math.sqrt(4)"  # an expression: only a text override fits it


SAMPLING_KNOBS = {
    "02_churn_drivers": {"max_model_customers", "max_refit_customers"},
    "03_customer_lifetime": {"max_model_customers"},
    "04_loyalty_metrics": {"max_claim_customers", "max_survival_customers"},
    "05_retention_economics": {"max_model_customers"},
    "06_churn_reasons": {"max_model_customers"},
    "07_lifetime_models": {"max_model_customers"},
    "08_value_at_stake": {"max_model_customers"},
}


@pytest.mark.parametrize("notebook", sorted(SAMPLING_KNOBS))
def test_each_sampling_knob_can_be_overridden(notebook: str) -> None:
    """`--param max_..._customers=0` (run everything exactly) must reach every notebook that samples."""
    specs = declared_parameters(NOTEBOOKS / f"{notebook}.ipynb")
    assert SAMPLING_KNOBS[notebook] <= set(specs)
    for name in SAMPLING_KNOBS[notebook]:
        assert coerce_parameters({notebook: specs}, {name: "0"}) == {name: 0}
