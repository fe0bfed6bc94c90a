"""Errors that carry a list of one-line problems, printed one per line by the command line."""

from __future__ import annotations


class ProblemsError(ValueError):
    """Input that cannot be used as given; `problems` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))
