"""Run huggingface_hub's own test suite, unedited, against a real Workbench hub.

``make interop`` builds the test environment and calls this script. It takes the tests of
the huggingface_hub version pinned in constraints.txt from that version's source archive,
starts ``workbench hub serve`` on a free loopback port with a fresh data folder, creates
the users, organizations and tokens the suite's constants name (through the CLI), runs the
in-scope test files one by one (``scope.toml``) with ``plugin.py`` pointing the constants
at the hub, and prints passed / failed / errored per file and overall. The failures go to
``<out>/failures.txt``, the per-file counts to ``<out>/summary.json``.

    .venv/bin/python scripts/interop/run.py --python build/interop-venv/bin/python
    .venv/bin/python scripts/interop/run.py --python ... --files test_hf_api.py -- -k Branch
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.hub import HubProcess  # noqa: E402 - the project's own hub runner

# The suite's accounts (tests/testing_constants.py), as created on the hub. The suite's USER,
# "__DUMMY_HUB_USER__", is no valid user name (Workbench and the public hub both want a
# letter or digit first), so it is renamed here; every test reads the constant.
USER = "DummyHubUser"
OTHER_USER = "DVUser"
ENTERPRISE_USER = "EnterpriseAdmin"
ENTERPRISE_ORG = "EnterpriseOrgPrivate"
USER_ORG = "valid_org_hub"  # test_hf_api's whoami test expects USER to be a member
FULL_NAMES = {USER: "Dummy User"}  # testing_constants.FULL_NAME, which the whoami test reads
WATCHED_USER, WATCHED_ORG = "julien-c", "HuggingFaceH4"


def pinned_version(package: str = "huggingface_hub") -> str:
    """The version constraints.txt pins, e.g. ``"2.4.0"``."""
    text = (ROOT / "constraints.txt").read_text()
    match = re.search(rf"^{re.escape(package)}==(\S+)$", text, re.MULTILINE | re.IGNORECASE)
    if not match:
        sys.exit(f"{package} is not pinned in constraints.txt")
    return match.group(1)


def unpack_suite(python: str, version: str, cache: Path) -> Path:
    """Download the source archive (once) and unpack ``tests/`` and ``pyproject.toml``.

    The archive ships neither ``tests/__init__.py`` nor ``tests/conftest.py``: an empty
    ``__init__.py`` makes the relative imports work, and our ``conftest.py`` goes in place of
    theirs. The test files themselves stay as archived.
    """
    archive = cache / f"huggingface_hub-{version}.tar.gz"
    if not archive.exists():
        pip = [python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, f"huggingface_hub=={version}", "-d", str(cache)], check=True)
    suite = cache / f"suite-{version}"
    if not (suite / "tests" / "__init__.py").exists():
        shutil.rmtree(suite, ignore_errors=True)
        prefix = f"huggingface_hub-{version}/"
        with tarfile.open(archive) as tar:
            members = [
                m
                for m in tar.getmembers()
                if m.name.startswith(prefix + "tests/") or m.name == prefix + "pyproject.toml"
            ]
            for m in members:
                m.name = m.name[len(prefix) :]
            tar.extractall(suite, members=members, filter="data")
        (suite / "tests" / "__init__.py").touch()
    shutil.copyfile(HERE / "conftest.py", suite / "tests" / "conftest.py")
    return suite


def provision(hub: HubProcess) -> dict[str, str]:
    """Create the suite's users, organizations and tokens; return the constants to patch."""
    tokens = {}
    for user in (USER, OTHER_USER, ENTERPRISE_USER):
        hub.cli("hub", "user", "create", user, "--fullname", FULL_NAMES.get(user, ""))
        tokens[user] = hub.cli("hub", "token", "create", "interop", "--user", user).stdout.split()[-1]
    # test_create_repo_private_by_default: an Enterprise org whose repos are private by default
    hub.cli("hub", "org", "create", ENTERPRISE_ORG, "--owner", ENTERPRISE_USER, "--private-by-default")
    hub.cli("hub", "org", "create", USER_ORG, "--owner", USER, "--fullname", "Dummy Hub Org")
    # accounts test_hf_api's TestWebhookApi watches by name (a webhook watches existing ones)
    hub.cli("hub", "user", "create", WATCHED_USER)
    hub.cli("hub", "org", "create", WATCHED_ORG, "--owner", OTHER_USER)
    return {
        "ENDPOINT_STAGING": hub.url,
        "USER": USER,
        "TOKEN": tokens[USER],
        "OTHER_USER": OTHER_USER,
        "OTHER_TOKEN": tokens[OTHER_USER],
        "ENTERPRISE_USER": ENTERPRISE_USER,
        "ENTERPRISE_ORG": ENTERPRISE_ORG,
        "ENTERPRISE_TOKEN": tokens[ENTERPRISE_USER],
    }


@dataclass
class FileResult:
    name: str
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def ran(self) -> int:
        return self.passed + self.failed + self.errors


def read_junit(path: Path, name: str) -> FileResult:
    """Counts and failing test ids from pytest's JUnit XML."""
    result = FileResult(name)
    module = f"tests.{Path(name).stem}"
    for case in ET.parse(path).getroot().iter("testcase"):
        cls = case.get("classname", "").removeprefix(module).lstrip(".")
        test_id = "::".join(filter(None, [f"tests/{name}", cls, case.get("name", "")]))
        outcome = {child.tag for child in case}
        if "error" in outcome:
            result.errors += 1
            first = case.find("error")
        elif "failure" in outcome:
            result.failed += 1
            first = case.find("failure")
        elif "skipped" in outcome:
            result.skipped += 1
            continue
        else:
            result.passed += 1
            continue
        message = (first.get("message") or "").splitlines()[0][:200] if first is not None else ""
        result.failures.append(f"{test_id}  {message}")
    return result


def run_file(args: argparse.Namespace, suite: Path, env: dict[str, str], name: str) -> FileResult:
    """One test file in its own pytest process, bounded per test and per file."""
    junit = args.out / "junit" / f"{name}.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    cmd = [args.python, "-m", "pytest", f"tests/{name}", "-q", "-rN", "--no-header"]
    # plugin.py, not their pytest-env settings (run.py sets the environment: the hub, not staging)
    cmd += ["-p", "plugin", "-p", "no:env", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    # their addopts less the verbose logging, and a bound on each test
    cmd += ["-o", "addopts=-Werror::FutureWarning --strict-markers", "-o", f"timeout={args.timeout}"]
    cmd += args.pytest_args
    log = args.out / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log, "w") as out:
        try:
            subprocess.run(
                cmd,
                cwd=suite,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=args.file_timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return FileResult(name, note=f"timed out after {args.file_timeout}s")
    if not junit.exists():
        return FileResult(name, note=f"no report; see {log}")
    result = read_junit(junit, name)
    result.note = f"{time.monotonic() - started:.0f}s"
    return result


def report(results: list[FileResult], out: Path) -> None:
    width = max(len(r.name) for r in results)
    print(f"\n{'file':<{width}}  passed  failed  errors  skipped  ratio")
    for r in results:
        ratio = f"{r.passed / r.ran:6.1%}" if r.ran else "     -"
        print(
            f"{r.name:<{width}}  {r.passed:6}  {r.failed:6}  {r.errors:6}  {r.skipped:7}  {ratio}  {r.note}"
        )
    passed = sum(r.passed for r in results)
    ran = sum(r.ran for r in results)
    overall = passed / ran if ran else 0.0
    print(
        f"{'overall':<{width}}  {passed:6}  {sum(r.failed for r in results):6}  "
        f"{sum(r.errors for r in results):6}  {sum(r.skipped for r in results):7}  {overall:6.1%}"
    )
    failures = [f for r in results for f in r.failures]
    failures += [f"tests/{r.name}  {r.note}" for r in results if not r.ran and not r.skipped]
    (out / "failures.txt").write_text("".join(f"{line}\n" for line in failures))
    summary = {
        "passed": passed,
        "ran": ran,
        "ratio": round(overall, 4),
        "files": {
            r.name: {k: getattr(r, k) for k in ("passed", "failed", "errors", "skipped", "note")}
            for r in results
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"\n{len(failures)} failures listed in {out / 'failures.txt'}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--python",
        default=str(ROOT / "build/interop-venv/bin/python"),
        help="Python of the test environment (huggingface_hub, pytest)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "build/interop", help="output folder")
    parser.add_argument("--files", nargs="+", help="test files to run (default: scope.toml's list)")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per test (pytest-timeout)")
    parser.add_argument("--file-timeout", type=int, default=1800, help="seconds per test file")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out = args.out.resolve()
    args.python = os.path.abspath(args.python)  # pytest runs in the suite folder; keep the venv link
    version = pinned_version()
    cache = args.out / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    suite = unpack_suite(args.python, version, cache)
    files = args.files or tomllib.loads((HERE / "scope.toml").read_text())["files"]

    hub_root = args.out / "hub"
    shutil.rmtree(hub_root, ignore_errors=True)
    hub = HubProcess(hub_root).start()
    try:
        constants = provision(hub)
        home = args.out / "hf-home"
        shutil.rmtree(home, ignore_errors=True)
        # No proxies (the hub is on loopback) and telemetry on, as on the suite's CI: the
        # telemetry tests expect it, and plugin.py keeps every request on loopback anyway.
        drop = ("HF_", "HUGGING", "DO_NOT_TRACK", "DISABLE_TELEMETRY")
        env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and "PROXY" not in k.upper()}
        env.update(
            HF_ENDPOINT=hub.url,
            HF_HOME=str(home),
            HF_TOKEN="",  # as the suite's own pytest-env settings: tests pass their token
            HF_UPDATE_DOWNLOAD_COUNTS="0",
            HF_HUB_DISABLE_PROGRESS_BARS="1",
            DISABLE_SYMLINKS_IN_WINDOWS_TESTS="1",
            WB_INTEROP_CONSTANTS=json.dumps(constants),
            PYTHONPATH=os.pathsep.join([str(HERE), str(suite)]),
        )
        print(f"huggingface_hub {version} tests against {hub.url}, {len(files)} files", flush=True)
        results = []
        for name in files:
            results.append(run_file(args, suite, env, name))
            r = results[-1]
            print(
                f"  {name}: {r.passed} passed, {r.failed} failed, {r.errors} errors, "
                f"{r.skipped} skipped ({r.note})",
                flush=True,
            )
    finally:
        hub.stop()
    report(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
