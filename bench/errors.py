"""One exception hierarchy. Every error names the problem and the fix, and prints as one line."""

from __future__ import annotations


class BenchError(Exception):
    """Base of every error edgebench raises on purpose.

    ``problem`` says what is wrong, ``fix`` what the user can do about it. ``str()`` gives one line.
    """

    exit_code = 2

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem.rstrip(". ")
        self.fix = fix.rstrip(". ")
        super().__init__(str(self))

    def __str__(self) -> str:
        line = self.problem
        if self.fix:
            line += f". Fix: {self.fix}"
        return " ".join(line.split("\n"))


class InputError(BenchError):
    """A file the user gave is missing, unreadable or of the wrong kind."""


class ModelFormatError(InputError):
    """The model file is of no format edgebench knows, or is corrupt."""


class DataError(InputError):
    """The data file is missing, pickled, mis-keyed, empty, non-numeric or mis-shaped."""


class UnsupportedModelError(BenchError):
    """The model is valid but outside what edgebench measures (e.g. several inputs)."""


class FrameworkUnavailable(BenchError):
    """A framework, runtime library or delegate is not installed or not usable on this machine."""

    exit_code = 3


class ConversionError(BenchError):
    """A conversion failed or is not supported."""


class FidelityError(ConversionError):
    """A converted model does not compute the same function as its source."""
