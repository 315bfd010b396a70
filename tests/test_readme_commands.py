"""The README's two commands are the ones the project really runs (static checks: no network, no install).

A distribution's python3 (Debian, Ubuntu) refuses `pip install` outside a virtual environment (PEP 668), so both
commands work in `.venv`: the app command makes it, scripts/test.sh makes or reuses it, and .ci/run installs torch
into that same environment through scripts/test.sh."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TEST_SH = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
CI_RUN = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}\n")
    nxt = re.search(r"^## ", text[start + 3:], flags=re.M)
    return text[start:start + 3 + nxt.start()] if nxt else text[start:]


def _commands(script: str) -> list[str]:
    """Lines that run something: no comments, no blank lines, no shell setup (set/cd/export)."""
    out = []
    for line in script.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line.strip())          # a trailing comment
        if line and not line.startswith("#") and not re.match(r"(set|cd|export)\b", line):
            out.append(line)
    return out


def _readme_commands() -> tuple[str, str]:
    section = _section(README, "The two commands")
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, "the section holds exactly one bash block"
    cmds = _commands(blocks[0])
    assert len(cmds) == 2, f"two commands, one per line: {cmds}"
    app, tests = cmds
    comments = [line for line in blocks[0].splitlines() if line.startswith("#")]
    assert "start the app" in comments[0] and "test suite" in comments[1]
    return app, tests


def test_app_command_makes_and_uses_a_venv():
    app, _ = _readme_commands()
    steps = [s.strip() for s in app.split("&&")]
    assert steps == ["python3 -m venv .venv", ".venv/bin/pip install -r requirements.txt",
                     ".venv/bin/streamlit run streamlit_app.py"]
    assert (ROOT / "requirements.txt").is_file() and (ROOT / "streamlit_app.py").is_file()


def test_no_pip_outside_the_venv_in_the_two_commands_section():
    section = _section(README, "The two commands")
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.S):
        for cmd in _commands(block):
            assert not re.search(r"(^|&&\s*)(python3? -m pip|pip3?) install", cmd), cmd


def test_readme_says_how_to_get_python3_venv():
    section = _section(README, "The two commands")
    assert "apt-get install -y python3-venv" in section
    assert "externally-managed-environment" in section


def test_ci_runs_the_readme_test_command():
    _, tests = _readme_commands()
    assert tests == "bash scripts/test.sh"
    ci = _commands(CI_RUN)
    assert ci[-1] == tests, "CI's last command is the README's test command"
    assert not any("pip" in c for c in ci), ".ci/run installs nothing itself: torch goes through scripts/test.sh"
    assert re.search(r'^export TEST_EXTRA_PACKAGES="[^"]*\btorch==2\.13\.0\b', CI_RUN, flags=re.M)
    assert re.search(r"^export CI=true\b", CI_RUN, flags=re.M)


def test_test_script_makes_a_venv_and_runs_everything_in_it():
    cmds = _commands(TEST_SH)
    assert "python3 -m venv .venv" in cmds
    assert "rm -rf .venv" in cmds, "a broken or half-made .venv is made again"
    assert "venv_works() { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }" in cmds
    pip = [c for c in cmds if " pip install" in c]
    assert pip == ['.venv/bin/python -m pip install -q -r requirements-dev.txt ${extra[@]+"${extra[@]}"}'], pip
    assert 'read -r -a extra <<< "${TEST_EXTRA_PACKAGES:-}"' in cmds
    assert cmds[-1] == 'exec .venv/bin/python -m pytest "$@"'
    assert cmds[-2] == ".venv/bin/python -m ruff check .", "the linter runs before the tests"
    # Debian's packages when missing: the venv module (ensurepip) and the browser
    assert "apt_install python3-venv || true" in cmds
    assert any(c.startswith("apt_install chromium ") for c in cmds)
    # nothing is pip-installed into python3 itself, and no browser is downloaded
    assert not re.search(r"(?<![/\w.])python3? -m pip|(^|[;&|(]\s*)pip3? install|playwright install", "\n".join(cmds),
                         flags=re.M)


def test_requirements_dev_includes_the_runtime_requirements():
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert "-r requirements.txt" in lines


@pytest.mark.parametrize("script", ["scripts/test.sh", ".ci/run"])
def test_scripts_parse(script):
    res = subprocess.run(["bash", "-n", str(ROOT / script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_venv_is_not_committed():
    assert ".venv/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
