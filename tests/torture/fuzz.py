"""Bad input at every entry point: `tests/fuzz/` run with many inputs per test.

The fuzzing tests (phone numbers, amounts, card ids, dates, serial bytes, reader URLs,
config files, the CRM's answers, command lines) run in a pytest subprocess with
`KIOSK_FUZZ_EXAMPLES` inputs per test (50 short, 2000 full). They write how many inputs
each entry point was given, and how often a known defect was met, into
`KIOSK_FUZZ_COUNTS`; pytest's JUnit XML says which tests passed, failed (an unhandled
exception or a broken promise: 0 expected) or are known defects (strict xfails).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

from tests.torture.common import Report, Scale

ROOT = Path(__file__).resolve().parent.parent.parent
TESTS = ROOT / "tests" / "fuzz"
EXAMPLES: dict[Scale, int] = {"short": 50, "full": 2000}
# The whole run, and each test (pytest-timeout), may take at most this long (seconds).
TIMEOUT: dict[Scale, int] = {"short": 900, "full": 4 * 3600}
TEST_TIMEOUT: dict[Scale, int] = {"short": 300, "full": 3600}


def run(scale: Scale, work: Path) -> Report:
    """Run the fuzzing tests at `scale`; figures: inputs per entry point, failures, defects."""
    report = Report("fuzz")
    started = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    counts_file = work / "counts.json"
    junit_file = work / "junit.xml"
    log_file = work / "pytest.log"
    for stale in (counts_file, junit_file):
        stale.unlink(missing_ok=True)
    env = {
        **os.environ,
        "KIOSK_FUZZ_EXAMPLES": str(EXAMPLES[scale]),
        "KIOSK_FUZZ_COUNTS": str(counts_file),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        str(TESTS),
        "-q",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        f"--timeout={TEST_TIMEOUT[scale]}",
        f"--junitxml={junit_file}",
        "--hypothesis-show-statistics",
    ]
    report.logs.append(log_file)
    with log_file.open("w", encoding="utf-8") as log:
        try:
            finished = subprocess.run(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT[scale],
                check=False,
            )
            returncode: int | None = finished.returncode
        except subprocess.TimeoutExpired:
            returncode = None
            report.fail(f"the fuzzing tests did not finish within {TIMEOUT[scale]} s")

    outcomes = _outcomes(junit_file)
    tried, defects, registry = _counts(counts_file)
    by_entry_point: Counter[str] = Counter()
    for name, count in tried.items():
        by_entry_point[name.split(".", 1)[0]] += count

    report.figures["examples_per_test"] = EXAMPLES[scale]
    report.figures["inputs_tried"] = sum(tried.values())
    for entry_point, count in sorted(by_entry_point.items()):
        report.figures[f"inputs_{entry_point}"] = count
    report.figures["tests_passed"] = len(outcomes["passed"])
    report.figures["unhandled_exceptions"] = len(outcomes["failed"])
    report.figures["defects_found"] = len(registry)
    report.figures["defects_fixed"] = sum(1 for d in registry.values() if d.get("fixed"))
    report.figures["known_defects"] = len(outcomes["xfailed"])
    report.figures["known_defect_inputs"] = sum(defects.values())
    if defects:
        report.figures["known_defects_met"] = ", ".join(
            f"{name} ({count})" for name, count in sorted(defects.items())
        )
    report.figures["known_defect_tests"] = ", ".join(sorted(outcomes["xfailed"]))

    for name, message in outcomes["failed"].items():
        report.fail(f"{name}: {message}")
    if returncode not in (0, None) and not outcomes["failed"]:
        report.fail(f"pytest exited with {returncode} (see {log_file})")
    if not tried and returncode is not None:
        report.fail(f"no inputs were counted ({counts_file} missing or empty)")
    report.seconds = time.perf_counter() - started
    return report


def _outcomes(junit_file: Path) -> dict[str, dict[str, str]]:
    """Test names by outcome ("passed", "failed", "xfailed", "skipped"), with a message."""
    outcomes: dict[str, dict[str, str]] = {"passed": {}, "failed": {}, "xfailed": {}, "skipped": {}}
    if not junit_file.exists():
        return outcomes
    try:
        tree = ET.parse(junit_file)  # our own pytest's output
    except ET.ParseError:
        return outcomes
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if problem is not None:
            text = problem.get("message") or problem.text or ""
            outcomes["failed"][name] = text.strip().splitlines()[0][:300] if text.strip() else ""
        elif skipped is not None and skipped.get("type") == "pytest.xfail":
            outcomes["xfailed"][name] = skipped.get("message", "")
        elif skipped is not None:
            outcomes["skipped"][name] = skipped.get("message", "")
        else:
            outcomes["passed"][name] = ""
    return outcomes


def _counts(
    counts_file: Path,
) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, Any]]]:
    """From the tests: inputs tried per entry point, inputs that met each open defect, and
    every defect found so far (`KNOWN_DEFECTS`: fixed or not, and what it was)."""
    try:
        document = json.loads(counts_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, {}, {}
    if not isinstance(document, dict):
        return {}, {}, {}
    tried, defects, registry = (document.get(key) or {} for key in ("tried", "defects", "registry"))
    return (
        {str(k): int(v) for k, v in tried.items() if isinstance(v, int)},
        {str(k): int(v) for k, v in defects.items() if isinstance(v, int)},
        {str(k): v for k, v in registry.items() if isinstance(v, dict)},
    )
