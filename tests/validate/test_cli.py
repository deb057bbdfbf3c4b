"""`release validate` as people and Jenkins run it: formats, exit codes, files, imports."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from validate_helpers import PROJECT, STAGING_SERVICE, TASKDEF, edit


def break_two_documents(repo: Path) -> None:
    edit(repo, TASKDEF, lambda d: d["containerDefinitions"].append(
        {"name": "proxy", "image": "nginx", "memory": 64, "essential": False}))
    edit(repo, STAGING_SERVICE, lambda d: d["service"].update(role="otherRole"))


def test_the_project_repository_validates_clean(cli) -> None:
    result = cli("validate", "--repo", str(PROJECT))
    assert result.exit_code == 0, result.output
    assert "ok: 12 document(s) checked, 0 error(s), 0 warning(s)" in result.stdout


def test_strict_run_with_botocore_check_is_clean_on_the_project(cli) -> None:
    result = cli("validate", "--repo", str(PROJECT), "--strict")
    assert result.exit_code == 0, result.output


def test_text_report_groups_by_file_with_pointer_fix_and_summary(repo, cli) -> None:
    break_two_documents(repo)
    result = cli("validate", "--repo", str(repo))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == STAGING_SERVICE
    assert "/service/role" in lines[1] and "[ref-role]" in lines[1]
    assert lines[2].strip() == "fix: use 'ecsServiceRole'"
    assert TASKDEF in lines
    assert lines[-1] == "FAILED: 12 document(s) checked, 2 error(s), 0 warning(s)"


def test_json_report_is_one_object_per_line_with_stable_keys(repo, cli) -> None:
    break_two_documents(repo)
    result = cli("validate", "--repo", str(repo), "--format", "json")
    assert result.exit_code == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    findings = [e for e in events if e["event"] == "validate.finding"]
    assert {(e["file"], e["pointer"], e["rule"], e["severity"]) for e in findings} == {
        (TASKDEF, "/containerDefinitions/1/image", "taskdef-image", "error"),
        (STAGING_SERVICE, "/service/role", "ref-role", "error"),
    }
    assert all(e["message"] and e["fix"] and e["level"] == "error" for e in findings)
    assert events[-1]["event"] == "validate.summary" and events[-1]["errors"] == 2


def test_junit_has_one_testcase_per_document_and_failures_where_expected(repo, cli) -> None:
    break_two_documents(repo)
    result = cli("validate", "--repo", str(repo), "--format", "junit")
    assert result.exit_code == 1
    root = ET.fromstring(result.stdout)
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 12 == len({c.get("name") for c in cases})
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == {TASKDEF, STAGING_SERVICE}
    assert root.get("failures") == "2" and root.find("testsuite").get("tests") == "12"
    failure = next(c for c in cases if c.get("name") == TASKDEF).find("failure")
    assert failure.get("type") == "taskdef-image"
    assert "/containerDefinitions/1/image" in failure.text


def test_junit_warnings_fail_only_in_strict_mode(repo, cli, tmp_path) -> None:
    edit(repo, "environments/staging/environment.json",
         lambda d: d["loadBalancer"]["connectionDraining"].update(enabled=False))
    relaxed = cli("validate", "--repo", str(repo), "--format", "junit")
    assert relaxed.exit_code == 0
    root = ET.fromstring(relaxed.stdout)
    assert root.get("failures") == "0"
    assert any(c.find("system-out") is not None for c in root.iter("testcase"))
    strict = cli("validate", "--repo", str(repo), "--format", "junit", "--strict")
    assert strict.exit_code == 1
    assert ET.fromstring(strict.stdout).get("failures") == "1"


def test_output_file_gets_the_report_and_the_console_a_summary(repo, cli, tmp_path) -> None:
    break_two_documents(repo)
    target = tmp_path / "report.xml"
    result = cli("validate", "--repo", str(repo), "--format", "junit", "--output", str(target))
    assert result.exit_code == 1
    assert ET.parse(target).getroot().get("failures") == "2"
    assert "FAILED: 12 document(s) checked, 2 error(s)" in result.stdout
    assert "<testsuite" not in result.stdout


def test_unwritable_output_is_a_clear_usage_error(repo, cli, tmp_path) -> None:
    (tmp_path / "a-file").write_text("")
    result = cli("validate", "--repo", str(repo), "--output", str(tmp_path / "a-file" / "x.txt"))
    assert result.exit_code == 2
    assert "cannot write the report" in result.stderr


def test_unknown_environment_exits_1_naming_the_known_ones(repo, cli) -> None:
    result = cli("validate", "--repo", str(repo), "--env", "staging", "--env", "prod")
    assert result.exit_code == 1
    assert "unknown environment 'prod'" in result.stderr
    assert "production, sandbox, sandbox-alb, staging" in result.stderr


def test_env_option_is_repeatable_and_limits_the_check(repo, cli) -> None:
    edit(repo, "environments/sandbox/services/akka-firehose.json",
         lambda d: d.update(image={"tag": "latest"}))
    assert cli("validate", "--repo", str(repo)).exit_code == 1
    result = cli("validate", "--repo", str(repo), "-e", "staging", "--env", "production")
    assert result.exit_code == 0
    assert "5 document(s) checked" in result.stdout


def test_warnings_fail_only_with_strict(repo, cli) -> None:
    edit(repo, "environments/staging/environment.json",
         lambda d: d["promotion"].update(order=2))
    assert cli("validate", "--repo", str(repo)).exit_code == 0
    result = cli("validate", "--repo", str(repo), "--strict")
    assert result.exit_code == 1
    assert "(--strict: warnings fail)" in result.stdout


def test_not_a_config_repository_exits_1_without_traceback(tmp_path, cli) -> None:
    result = cli("validate", "--repo", str(tmp_path))
    assert result.exit_code == 1
    assert "no environments/ folder" in result.stdout
    missing = cli("validate", "--repo", str(tmp_path / "missing"), "--format", "json")
    assert missing.exit_code == 1
    assert json.loads(missing.stdout.splitlines()[0])["rule"] == "repo-layout"


def _imported_modules(*argv: str) -> set[str]:
    """Run the console entry point in a fresh interpreter and list what it imported."""
    code = (
        "import sys\n"
        "from release.cli import main\n"
        f"sys.argv = ['release', *{list(argv)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=PROJECT, timeout=60)
    return set(done.stderr.rsplit("MODULES ", 1)[1].split())


def test_help_and_validate_never_import_boto3_or_docker() -> None:
    for argv in (["--help"], ["validate", "--repo", str(PROJECT)]):
        modules = _imported_modules(*argv)
        heavy = {m.split(".")[0] for m in modules} & {"boto3", "docker", "botocore", "moto"}
        assert heavy == set(), (argv, heavy)
    # a clean run never needs jsonschema's error machinery either
    assert "jsonschema" not in {m.split(".")[0] for m in _imported_modules(
        "validate", "--repo", str(PROJECT))}


def test_hostile_repository_in_every_format_exits_1_without_traceback(repo, cli) -> None:
    (repo / TASKDEF).write_bytes(b"\xff\xfe\x00binary\x07")
    (repo / STAGING_SERVICE).write_text('{"image": "\\ud800", "\\u0007bell": [1, 2]}')
    (repo / "environments/production/environment.json").write_text('["not", "an", "object"]')
    for fmt in ("text", "json", "junit"):
        result = cli("validate", "--repo", str(repo), "--format", fmt, "--strict")
        assert result.exit_code == 1, (fmt, result.output)
        assert "Traceback" not in result.output
    ET.fromstring(result.stdout)  # the junit report is still well-formed XML
    done = subprocess.run([sys.executable, "-m", "release.cli", "validate", "--repo", str(repo)],
                          capture_output=True, text=True, cwd=PROJECT, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
