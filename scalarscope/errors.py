"""The package's small vocabulary of errors.

Every error ScalarScope raises derives from :class:`ScalarScopeError`, and also from the
built-in exception a caller would naturally catch (``ValueError`` for bad values,
``FileNotFoundError`` for missing files), so ``except ValueError`` keeps working.
Messages name the field or object at fault, the bad value, and what to do instead.
"""

from __future__ import annotations


class ScalarScopeError(Exception):
    """Base class of every error raised by ScalarScope."""


class ConfigError(ScalarScopeError, ValueError):
    """A configuration field holds an invalid value."""


class EvaluatorError(ScalarScopeError, ValueError):
    """An evaluator is missing, misnamed, or returned something that is not a finite score."""


class UnsupportedCharacterError(ScalarScopeError, ValueError):
    """Text contains characters outside the student's alphabet."""


class BudgetError(ScalarScopeError, ValueError):
    """A token request or budget change is invalid (running out is *not* an error)."""


class GeometryFileError(ScalarScopeError, ValueError):
    """A Desktop geometry file is malformed or breaks the viewer's contract."""


class GeometryFileNotFoundError(ScalarScopeError, FileNotFoundError):
    """A geometry file that was asked for does not exist."""


class CheckpointError(ScalarScopeError, ValueError):
    """A checkpoint file is missing, corrupt, or from an incompatible version."""


class SweepError(ScalarScopeError, ValueError):
    """A sweep was asked for with invalid overlaps, seeds, holdout or cluster."""


def check_seed(seed: object, name: str = "seed") -> int:
    """Raise :class:`ConfigError` unless ``seed`` is an int >= 0 (a float such as 1.5 is not silently
    cut to 1, and a negative seed is refused: numpy would read -1 as 1, an alias of another run)."""
    import numbers

    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"{name} must be an int, got {seed!r} ({type(seed).__name__}); e.g. {name}=0")
    if seed < 0:
        raise ConfigError(f"{name} must be >= 0, got {seed}: a negative seed would give the same numbers as "
                          f"{name}={-seed}; e.g. {name}={-seed}")
    return int(seed)


def check_scalar(
    value: object,
    name: str,
    *,
    kind: type | tuple[type, ...] = (int, float),
    min_value: float | None = None,
    max_value: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
    hint: str = "",
) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a finite number of ``kind`` within bounds."""
    import math

    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) or not isinstance(value, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise ConfigError(f"{name} must be {names}, got {value!r} ({type(value).__name__}). {hint}".rstrip())
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, got {value!r}. {hint}".rstrip())
    if min_value is not None and (value < min_value or (not include_min and value == min_value)):
        op = ">=" if include_min else ">"
        raise ConfigError(f"{name} must be {op} {min_value}, got {value!r}. {hint}".rstrip())
    if max_value is not None and (value > max_value or (not include_max and value == max_value)):
        op = "<=" if include_max else "<"
        raise ConfigError(f"{name} must be {op} {max_value}, got {value!r}. {hint}".rstrip())


class OutputPathError(ScalarScopeError, OSError):
    """A file cannot be written where it was asked for (a directory, or a place without write access)."""


class ConfigTypeError(ConfigError, TypeError):
    """An argument of the wrong type (a string where a TokenPool belongs, a float cycle count...).

    A :class:`ConfigError` (so ``except ValueError`` keeps working) that is also a ``TypeError``."""


class MeasurementWarning(UserWarning):
    """A measurement could not be made (its numbers are NaN); the message says why."""
