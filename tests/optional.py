"""Optional test dependencies: skip locally when missing, fail in CI (CI=true) so nothing skips silently."""
import importlib
import os

import pytest


def needs(module: str):
    """Import an optional test dependency. Locally a missing one skips with a reason; in CI (CI=true) it fails,
    so no test can skip silently there."""
    try:
        return importlib.import_module(module)
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{module} is required in CI (see .ci/run) but is not installed")
        pytest.skip(f"{module} not installed (pip install -r requirements-dev.txt)")
