"""Usage errors stop the job before Spark starts: one line on stderr, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curation.cli import EXIT_USAGE, main
from curation.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    return path


GOOD = """
sources:
  - kind: web
    paths: ["in/*.warc.gz"]
output: out
"""


@pytest.fixture()
def good_cfg(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.warc.gz").write_bytes(b"")
    return write(tmp_path, GOOD)


def run_main(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_good_config_resolves_paths_against_its_folder(good_cfg, tmp_path):
    cfg = load_config(good_cfg)
    assert cfg.output == str(tmp_path / "out")
    assert cfg.sources[0].paths == [str(tmp_path / "in/*.warc.gz")]
    assert cfg.filter.languages == ["en", "zh"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD + "filtr: {}\n", "unknown key 'filtr'"),
        (GOOD + "filter:\n  min_wrods: 3\n", "unknown key 'filter.min_wrods'"),
        (GOOD + "filter:\n  min_lang_score: 7\n", "bad value for 'filter.min_lang_score'"),
        (GOOD.replace("kind: web", "kind: blogs"), "bad value for 'sources.0.kind'"),
        ("output: out\n", "missing required key 'sources'"),
        ("sources: [\n", "not valid YAML at line"),
        ("- a\n- b\n", "must be a YAML mapping"),
    ],
)
def test_bad_config_is_one_line_exit_2(capsys, tmp_path, text, message):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.warc.gz").write_bytes(b"")
    code, err = run_main(capsys, ["--config", str(write(tmp_path, text))])
    assert code == EXIT_USAGE
    assert len(err) == 1 and message in err[0], err


def test_missing_config_file(capsys, tmp_path):
    code, err = run_main(capsys, ["--config", str(tmp_path / "nope.yaml")])
    assert code == EXIT_USAGE and len(err) == 1 and "config file not found" in err[0]


def test_missing_input_path(capsys, good_cfg, tmp_path):
    code, err = run_main(capsys, ["--config", str(good_cfg), "--input", f"web={tmp_path}/nothing/*.warc.gz"])
    assert code == EXIT_USAGE and len(err) == 1 and "matches no file" in err[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--until", "dedupe"], "--until: unknown stage 'dedupe'"),
        (["--skip", "filter,decontam"], "--skip: unknown stage 'decontam'"),
        (["--input", "blog=x"], "unknown kind 'blog'"),
        (["--input", "web"], "expected KIND=GLOB"),
        (["--benchmarks", "/nonexistent/bench"], "not a folder"),
    ],
)
def test_bad_flags(capsys, good_cfg, argv, message):
    code, err = run_main(capsys, ["--config", str(good_cfg), *argv])
    assert code == EXIT_USAGE and len(err) == 1 and message in err[0], err


def test_unknown_flag_is_one_line(capsys, good_cfg):
    with pytest.raises(SystemExit) as exc:
        main(["--config", str(good_cfg), "--frobnicate"])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unrecognized arguments: --frobnicate" in err[0]


def test_job_file_reports_without_traceback(tmp_path):
    """Through the real job file and interpreter: no traceback reaches the user."""
    bad = write(tmp_path, GOOD + "spark:\n  shuffle_partitions: -1\n")
    proc = subprocess.run(
        [sys.executable, str(REPO / "jobs" / "clean.py"), "--config", str(bad)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == EXIT_USAGE
    lines = proc.stderr.strip().splitlines()
    assert lines == [lines[0]] and "bad value for 'spark.shuffle_partitions'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_config_error_is_an_exception_type():
    with pytest.raises(ConfigError):
        load_config("/definitely/not/here.yaml")


def test_read_only_output_is_one_line_exit_2(capsys, good_cfg, tmp_path):
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permission bits: use a path under /proc
            target = "/proc/curation-cannot-write-here"
        else:
            target = str(locked / "out")
        code, err = run_main(capsys, ["--config", str(good_cfg), "--output", target])
    finally:
        locked.chmod(0o700)
    assert code == EXIT_USAGE and len(err) == 1 and "is not writable" in err[0], err
