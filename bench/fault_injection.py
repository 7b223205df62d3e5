"""Fault injection (issue 9, "Faults"): kill a worker, kill the driver, read-only and full disks.

    .venv/bin/python bench/fault_injection.py [--config configs/sample.yaml] [--work /tmp/faults]
        [--until decontaminate] [--worker-stage extract] [--driver-stage decontaminate] [--cases a,b,c,d]

Every run is the real job (scripts/spark-submit jobs/clean.py) on the config's inputs, with
``--master local[2,4]``: Spark's local mode retries a failed task only when the master names a
maximum number of failures (local[N,maxFailures]); plain local[N] fails the stage at once.

  reference  an uninterrupted run.
  (a) worker while --worker-stage runs, SIGKILL a busy Python worker (a child of pyspark.daemon
      whose CPU time is growing, found among this run's own descendants only; again, up to
      5 times, when the worker finished its task before the kill and no task was lost). Passes when
      the job exits 0, Spark logged the lost task, and the kept documents (id, text) of every
      stage equal the reference's.
  (b) driver while --driver-stage runs, SIGKILL the job's whole process group (driver, JVM,
      workers), then rerun the same command without --force. Passes when the rerun logs the
      stages finished before the kill as complete (skipped) and every stage equals the reference.
  (c) read-only  the output folder is a read-only tmpfs mount (root ignores permission bits, so
      chmod would prove nothing). Passes when the job exits non-zero with a one-line
      ``clean.py: error: ...`` message that names the cause (read-only / not writable) and no
      Python traceback on stderr (Spark's own Java stack lines are counted and shown).
  (d) full disk  the output folder is a 256 KiB tmpfs. Same rule; the message must say no space.
Every run uses a frozen copy of the committed code (``git archive HEAD``, under --work/code), so
edits made by others while it runs cannot make the runs differ. Prints a results table. Needs root for the mounts
(c, d); without it those rows say so.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
STAGES = ("extract", "filter", "dedup", "decontaminate", "shard")
MASTER = "local[2,4]"


@dataclass
class Result:
    case: str
    passed: bool
    detail: str
    seconds: float


# The code every run uses: a frozen copy of the working tree (see snapshot_code), so that other
# engineers' edits during the runs cannot make two runs differ. Set in main().
CODE = REPO
SNAPSHOT_PARTS = ("curation", "jobs", "scripts", "configs", "conf", "data")


def snapshot_code(dest: Path) -> Path:
    """The committed package, jobs, wrapper, configs and sample data (``git archive HEAD``), so
    that uncommitted edits in the working tree are not what gets tested; the venv stays shared.
    Outside a git checkout, the working tree is copied."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    parts = [p for p in SNAPSHOT_PARTS if (REPO / p).exists()]
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "HEAD", *parts], capture_output=True)
    if archive.returncode == 0:
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        return dest
    for part in parts:
        shutil.copytree(REPO / part, dest / part, ignore=shutil.ignore_patterns("__pycache__"), symlinks=True)
    return dest


def job_cmd(config: str, output: Path, until: str, force: bool = True) -> list[str]:
    cmd = [str(CODE / "scripts/spark-submit"), "--master", MASTER, str(CODE / "jobs/clean.py"),
           "--config", config, "--output", str(output), "--until", until]
    return cmd + (["--force"] if force else [])


def start(cmd: list[str], log: Path) -> tuple[subprocess.Popen, object]:
    fh = open(log, "wb")
    # The driver finds the snapshot through jobs/_bootstrap.py; Spark's Python workers through
    # PYTHONPATH, which comes before the editable install's path hook.
    env = {**os.environ, "CURATION_VENV": str(REPO / ".venv"), "PYTHONPATH": str(CODE)}
    # Own session: (b) kills the whole group without touching this script or anyone else's jobs.
    return subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=CODE, env=env,
                            start_new_session=True), fh


def run(cmd: list[str], log: Path, timeout: float) -> tuple[int, float]:
    t0 = time.monotonic()
    proc, fh = start(cmd, log)
    try:
        rc = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        rc = proc.wait()
    fh.close()
    return rc, time.monotonic() - t0


def wait_for_line(log: Path, pattern: str, proc: subprocess.Popen, timeout: float) -> bool:
    rx = re.compile(pattern)
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if rx.search(log.read_text(errors="replace")):
            return True
        time.sleep(0.2)
    return False


def python_workers(root: int) -> list[psutil.Process]:
    """Forked workers: children of a pyspark.daemon process that is itself a descendant of root."""
    try:
        procs = psutil.Process(root).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    workers = []
    for p in procs:
        try:
            if "pyspark.daemon" in " ".join(p.cmdline()):
                parent = p.parent()
                if parent is not None and "pyspark.daemon" in " ".join(parent.cmdline()):
                    workers.append(p)
        except psutil.NoSuchProcess:
            continue
    return workers


def busy_worker(root: int, window: float = 0.5) -> psutil.Process | None:
    """A worker that is running a task now (its CPU time grows): killing an idle one only makes
    Spark discard it from the idle queue, which tests nothing."""
    before = {}
    for p in python_workers(root):
        try:
            t = p.cpu_times()
            before[p] = t.user + t.system
        except psutil.NoSuchProcess:
            pass
    time.sleep(window)
    for p, cpu in before.items():
        try:
            t = p.cpu_times()
            if t.user + t.system - cpu > 0.05 * window:
                return p
        except psutil.NoSuchProcess:
            pass
    return None


def stage_rows(output: Path) -> dict[str, list[tuple[str, str]]]:
    """(id, text) of every kept document of every stage on disk, sorted by id."""
    import pyarrow.parquet as pq

    out = {}
    for stage in STAGES:
        folder = output / "stages" / stage
        if not folder.is_dir():
            continue
        table = pq.read_table(folder, columns=["id", "text"]).to_pylist()
        out[stage] = sorted((r["id"], r["text"] or "") for r in table)
    return out


def compare(ref: dict, got: dict) -> tuple[bool, str]:
    if set(ref) != set(got):
        return False, f"stages differ: {sorted(ref)} vs {sorted(got)}"
    bad = [s for s in ref if ref[s] != got[s]]
    if bad:
        return False, "differs in " + ", ".join(f"{s} ({len(ref[s])} vs {len(got[s])} docs)" for s in bad)
    return True, "identical: " + ", ".join(f"{s} {len(ref[s])}" for s in ref)


def one_line_error(log: Path, rc: int, cause: str) -> tuple[bool, str]:
    """A clear message: exit != 0, one ``clean.py: error:`` line naming the cause, no Python traceback."""
    text = log.read_text(errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("clean.py: error:")]
    has_tb = "Traceback (most recent call last)" in text
    msg = err[-1] if err else (lines[-1] if lines else "")
    names_cause = bool(re.search(cause, msg, re.I))
    java = sum(ln.startswith(("\tat ", "Caused by:")) for ln in lines)
    ok = rc != 0 and bool(err) and not has_tb and names_cause
    notes = [f"exit {rc}"] + (["Python traceback on stderr"] if has_tb else []) + \
        ([] if names_cause else ["message does not name the cause"]) + ([f"{java} Java stack lines on stderr"] if java else [])
    return ok, f"{'; '.join(notes)}: {msg[:220]}"


# -- the cases ---------------------------------------------------------------------------------

def _task_lost(log: Path) -> bool:
    """Spark logged a task lost to the dead worker and its retry."""
    return bool(re.search(r"Lost task|Python worker exited unexpectedly", log.read_text(errors="replace")))


def _stage_done(log: Path, stage: str) -> bool:
    return re.search(rf"stage {stage}: kept rows written", log.read_text(errors="replace")) is not None


def case_worker(args, work: Path, ref: dict) -> Result:
    out, log = work / "a_worker", work / "a_worker.log"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    proc, fh = start(job_cmd(args.config, out, args.until), log)
    killed: list[int] = []
    if wait_for_line(log, rf"stage {args.worker_stage}: started", proc, args.timeout):
        end = time.monotonic() + args.timeout
        # A worker seen busy may finish its task before the kill lands (the sample's tasks last
        # half a second): Spark then only drops it from the idle queue, which tests nothing. So
        # kill again until a task is lost, or the stage ends.
        while (time.monotonic() < end and proc.poll() is None and len(killed) < 5
               and not _task_lost(log) and not _stage_done(log, args.worker_stage)):
            victim = busy_worker(proc.pid, window=0.2)
            if victim is not None:
                try:
                    victim.kill()
                    killed.append(victim.pid)
                except psutil.NoSuchProcess:
                    continue
                time.sleep(1.0)  # for Spark to notice and log
            time.sleep(0.05)
    rc = proc.wait()
    fh.close()
    secs = time.monotonic() - t0
    if not killed:
        return Result("(a) kill a Python worker", False, f"no worker seen during {args.worker_stage}", secs)
    killed = ", ".join(map(str, killed))
    retried = _task_lost(log)
    if rc != 0:
        return Result("(a) kill a Python worker", False, f"pids {killed} killed; job exit {rc}", secs)
    same, detail = compare(ref, stage_rows(out))
    return Result("(a) kill a Python worker", same and retried,
                  f"pids {killed} killed in {args.worker_stage}; retry logged: {retried}; {detail}", secs)


def case_driver(args, work: Path, ref: dict) -> Result:
    out, log = work / "b_driver", work / "b_driver.log"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.monotonic()
    proc, fh = start(job_cmd(args.config, out, args.until), log)
    seen = wait_for_line(log, rf"stage {args.driver_stage}: started", proc, args.timeout)
    if seen:
        time.sleep(args.kill_after)
        tree = psutil.Process(proc.pid).children(recursive=True)
        os.killpg(proc.pid, signal.SIGKILL)
        for p in tree:  # anything that left the group (none expected) is still ours to end
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
    proc.wait()
    fh.close()
    if not seen:
        return Result("(b) kill the driver", False, f"stage {args.driver_stage} never started", time.monotonic() - t0)
    done_before = [s for s in STAGES if (out / "stages" / s / "_SUCCESS").is_file()]
    if args.driver_stage in done_before:
        return Result("(b) kill the driver", False, f"{args.driver_stage} finished before the kill "
                      f"({args.kill_after} s in): nothing was interrupted; lower --kill-after",
                      time.monotonic() - t0)
    rlog = work / "b_driver_rerun.log"
    rc, _ = run(job_cmd(args.config, out, args.until, force=False), rlog, args.timeout)
    text = rlog.read_text(errors="replace")
    skipped = [s for s in STAGES if re.search(rf"stage {s}: complete", text)]
    same, detail = compare(ref, stage_rows(out)) if rc == 0 else (False, f"rerun exit {rc}")
    ok = same and rc == 0 and skipped == done_before and args.driver_stage not in skipped
    return Result("(b) kill the driver", ok,
                  f"killed during {args.driver_stage}; complete before kill: {done_before}; rerun skipped: "
                  f"{skipped}; {detail}", time.monotonic() - t0)


def _mount_tmpfs(path: Path, opts: str) -> str | None:
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], capture_output=True, text=True)
    return None if r.returncode == 0 else (r.stderr.strip() or f"mount exit {r.returncode}")


def _umount(path: Path) -> None:
    subprocess.run(["umount", str(path)], capture_output=True)


def case_mounted(args, work: Path, name: str, opts: str, label: str, cause: str) -> Result:
    mnt = work / name
    _umount(mnt)
    err = _mount_tmpfs(mnt, opts)
    if err:
        return Result(label, False, f"cannot mount tmpfs ({err}); needs root", 0.0)
    try:
        log = work / f"{name}.log"
        rc, secs = run(job_cmd(args.config, mnt / "out" if "ro" not in opts.split(",") else mnt, args.until),
                       log, args.timeout)
        ok, detail = one_line_error(log, rc, cause)
        return Result(label, ok, detail, secs)
    finally:
        _umount(mnt)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(REPO / "configs/sample.yaml"))
    ap.add_argument("--work", default="/tmp/faults")
    ap.add_argument("--until", default="decontaminate", choices=STAGES)
    ap.add_argument("--worker-stage", default="extract", choices=STAGES)
    # The last stage of the default run, and its longest after extract (building the benchmark
    # index): three finished stages to skip on the rerun. Dedup, the default before, now takes
    # under a second on the sample (it runs on the driver) and finished before the kill.
    ap.add_argument("--driver-stage", default="decontaminate", choices=STAGES)
    ap.add_argument("--kill-after", type=float, default=2.0, help="seconds into --driver-stage")
    ap.add_argument("--cases", default="a,b,c,d")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--live-code", action="store_true",
                    help="run the working tree itself, not a frozen copy (others' edits may then differ runs)")
    ap.add_argument("--reuse-reference", action="store_true", help="keep --work's reference run if complete")
    args = ap.parse_args(argv)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    global CODE
    if not args.live_code:
        CODE = snapshot_code(work / "code")
        config = Path(args.config).resolve()
        if config.is_relative_to(REPO):  # the snapshot's copy, so relative paths stay inside it
            args.config = str(CODE / config.relative_to(REPO))
    cases = set(args.cases.split(","))
    results: list[Result] = []

    ref = {}
    if cases & {"a", "b"} and args.reuse_reference and (work / "reference" / "stages" / args.until / "_SUCCESS").is_file():
        ref = stage_rows(work / "reference")
        results.append(Result("reference run (reused)", True, "; ".join(f"{s} {len(v)} docs" for s, v in ref.items()), 0.0))
    elif cases & {"a", "b"}:
        rc, secs = run(job_cmd(args.config, work / "reference", args.until), work / "reference.log", args.timeout)
        if rc != 0:
            print(f"fault_injection: the reference run failed (exit {rc}); see {work / 'reference.log'}",
                  file=sys.stderr)
            return 1
        ref = stage_rows(work / "reference")
        results.append(Result("reference run", True, "; ".join(f"{s} {len(v)} docs" for s, v in ref.items()), secs))
    if "a" in cases:
        results.append(case_worker(args, work, ref))
    if "b" in cases:
        results.append(case_driver(args, work, ref))
    if "c" in cases:
        results.append(case_mounted(args, work, "c_readonly", "ro,size=1m", "(c) read-only output",
                                    r"read-only|not writable"))
    if "d" in cases:
        results.append(case_mounted(args, work, "d_full", "size=256k", "(d) full disk (256 KiB)",
                                    r"no space left|disk (is )?full"))

    print(f"\nmaster {MASTER}; code {CODE}; config {args.config}; until {args.until}; logs in {work}")
    print(f"{'case':<28}{'result':<8}{'seconds':>8}  detail")
    for r in results:
        print(f"{r.case:<28}{'PASS' if r.passed else 'FAIL':<8}{r.seconds:>8.1f}  {r.detail}")
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
