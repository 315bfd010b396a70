"""Argument checks shared by the engine: every failure is a ValueError naming the argument and what is allowed."""
from __future__ import annotations

import numbers

import numpy as np


def positive_int(name: str, value, *, maximum: int | None = None) -> int:
    """`value` as an int ≥ 1 (and ≤ maximum), else ValueError naming `name`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")
    value = int(value)
    if value < 1 or (maximum is not None and value > maximum):
        hi = f" and ≤ {maximum}" if maximum is not None else ""
        raise ValueError(f"{name} must be ≥ 1{hi}, got {value}")
    return value


def finite_float(name: str, value, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """`value` as a finite float in [low, high] (or (low, high] with low_open), else ValueError."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high if high is not None else '∞'}], got {v}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be ≤ {high}, got {v}")
    return v


def choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def finite_array(name: str, value, *, ndim: int, dtype) -> np.ndarray:
    """A float array with `ndim` dimensions and only finite entries."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    arr = arr.astype(dtype, copy=False)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)})")
    return arr
