"""The README's promises that a newcomer acts on: the two Quick start commands, the example."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", _section("Quick start"), re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(commands) == 2, commands
    assert "configs/sample.yaml" in commands[0] and "jobs/clean.py" in commands[0]
    ci = (REPO / ".ci" / "run").read_text()
    assert commands[1].strip() in ci


def test_sample_config_writes_where_the_readme_says():
    from curation.config import load_config

    cfg = load_config(REPO / "configs" / "sample.yaml")
    assert Path(cfg.output) == (REPO / "output" / "sample").resolve()


def test_streaming_example_in_readme_is_the_tested_file():
    block = re.search(r"```python\n(.*?)```", _section("Reading the shards"), re.S).group(1)
    assert block == (REPO / "examples" / "stream_shards.py").read_text(encoding="utf-8")
