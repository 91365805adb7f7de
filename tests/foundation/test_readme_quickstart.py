"""The README's quick start: two commands that bring their own virtual environment (PEP 668 systems)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_quick_start_is_two_commands_that_install_into_a_venv():
    commands = quick_start_commands()
    assert len(commands) == 2
    for command in commands:
        steps = [step.strip() for step in command.split("&&")]
        # No global `pip install`: a venv is created and activated before pip runs.
        assert steps[0] == "python3 -m venv .venv" and steps[1] == ". .venv/bin/activate"
        assert steps[2].startswith("pip install -e ")
    assert commands[0].endswith("dermstudy demo")
    assert commands[1].endswith("python -m pytest")


def test_the_venv_steps_work_in_a_shell_and_switch_python(tmp_path):
    # The first two steps of the quick start, run by bash in an empty folder (pip itself is not run:
    # no network in tests). Afterwards `python` and `pip` must be the venv's own.
    venv_steps = " && ".join(quick_start_commands()[0].split("&&")[:2])
    venv_steps = venv_steps.replace("python3 -m venv", f"{sys.executable} -m venv --without-pip")
    script = f"{venv_steps} && python -c 'import sys; print(sys.prefix)'"
    result = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()).resolve() == (tmp_path / ".venv").resolve()
