"""Errors that carry a list of one-line problems, printed one per line by the command line."""

from __future__ import annotations


class ProblemsError(ValueError):
    """Input that cannot be used as given; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class NotEstimableError(ValueError):
    """A model that cannot be estimated from this data.

    `reason` says why in plain words; `needs` names the missing input in the vocabulary of `Results.skip` ("more
    history", "churners", "purchase records", ...) when more of some input would help, else "".
    """

    def __init__(self, reason: str, needs: str = "") -> None:
        self.reason = reason
        self.needs = needs
        super().__init__(f"not estimable from this data: {reason}")
