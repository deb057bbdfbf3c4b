"""`release sandbox up/status/down` as an operator runs them: real processes, real ports."""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def release(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "release.cli", *args, "--repo", str(repo)],
                          capture_output=True, text=True, timeout=90,
                          env={**os.environ, "NO_COLOR": "1", **env})


def sandbox_repo(tmp_path: Path) -> tuple[Path, int, int]:
    """A copy of the documents whose sandbox endpoints are free ports."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for folder in ("environments", "taskdefs"):
        shutil.copytree(REPO_ROOT / folder, repo / folder)
    aws_port, registry_port = free_port(), free_port()
    env_path = repo / "environments/sandbox/environment.json"
    env = json.loads(env_path.read_text())
    env["endpoints"] = {"aws": f"http://127.0.0.1:{aws_port}",
                        "registry": f"127.0.0.1:{registry_port}"}
    env_path.write_text(json.dumps(env))
    return repo, aws_port, registry_port


def sandbox_processes(repo: Path) -> list[int]:
    """Server processes started for this repository (by their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"release_sandbox.server" in cmdline and str(repo).encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_up_twice_status_and_down_leave_one_server_then_nothing(tmp_path):
    repo, aws_port, registry_port = sandbox_repo(tmp_path)

    try:
        first = release(repo, "sandbox", "up", "--format", "json")
        assert first.returncode == 0, first.stderr
        started = json.loads(first.stdout.splitlines()[0])
        assert started["started"] is True
        # The tool brings no keys for the sandbox: `up` names the ones to export.
        [keys] = [json.loads(line) for line in first.stdout.splitlines()
                  if json.loads(line)["event"] == "sandbox.credentials"]
        assert keys["environment"] == {"AWS_ACCESS_KEY_ID": "release-sandbox-key",
                                       "AWS_SECRET_ACCESS_KEY": "release-sandbox-secret"}
        assert ("export AWS_ACCESS_KEY_ID=release-sandbox-key "
                "AWS_SECRET_ACCESS_KEY=release-sandbox-secret") in keys["message"]

        second = release(repo, "sandbox", "up", "--format", "json")
        assert second.returncode == 0, second.stderr
        again = json.loads(second.stdout.splitlines()[0])
        assert again["started"] is False
        assert again["pid"] == started["pid"]
        assert sandbox_processes(repo) == [started["pid"]]

        status = release(repo, "sandbox", "status", "--format", "json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout.splitlines()[0])
        assert report["healthy"] is True
        assert {row["endpoint"]: row["health"] for row in report["rows"]} == {
            "aws": "answers", "registry": "answers"}

        # The registry takes the ECR token's password for user AWS.
        ecr = boto3.client("ecr", endpoint_url=f"http://127.0.0.1:{aws_port}",
                           region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        request = urllib.request.Request(f"http://127.0.0.1:{registry_port}/v2/", headers={
            "Authorization": "Basic " + token})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        assert base64.b64decode(token).decode().startswith("AWS:")

        # The emulator runs on the real clock in the background process.
        ecs = boto3.client("ecs", endpoint_url=f"http://127.0.0.1:{aws_port}",
                           region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
        ec2 = boto3.client("ec2", endpoint_url=f"http://127.0.0.1:{aws_port}",
                           region_name="us-east-1", aws_access_key_id="x",
                           aws_secret_access_key="x")
        ecs.create_cluster(clusterName="C")
        instance = ec2.run_instances(ImageId="ami-840e42ee", MinCount=1,
                                     MaxCount=1)["Instances"][0]["InstanceId"]
        ecs.register_container_instance(cluster="C", instanceIdentityDocument=json.dumps(
            {"instanceId": instance}))
        ecs.register_task_definition(family="f", containerDefinitions=[
            {"name": "app", "image": "x", "cpu": 128, "memory": 128}])
        ecs.create_service(cluster="C", serviceName="s", taskDefinition="f:1", desiredCount=1)
        deadline = time.monotonic() + 15
        while ecs.describe_services(cluster="C", services=["s"])["services"][0][
                "runningCount"] != 1:
            assert time.monotonic() < deadline, "the background emulator did not start the task"
            time.sleep(0.25)
    finally:
        down = release(repo, "sandbox", "down", "--format", "json")

    assert down.returncode == 0, down.stderr
    assert json.loads(down.stdout.splitlines()[0])["pid"] == started["pid"]
    assert sandbox_processes(repo) == []
    assert not listening(aws_port)
    assert not listening(registry_port)
    assert not (repo / ".state/sandbox/sandbox.pid").exists()

    after = release(repo, "sandbox", "status")
    assert after.returncode == 5
    assert "not running" in after.stderr
    assert "release sandbox up" in after.stderr


def test_up_refuses_a_port_that_another_process_holds(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "environments", repo / "environments")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env_path = repo / "environments/sandbox/environment.json"
        env = json.loads(env_path.read_text())
        env["endpoints"] = {"aws": f"http://127.0.0.1:{port}"}
        env_path.write_text(json.dumps(env))

        result = release(repo, "sandbox", "up")

    assert result.returncode == 5
    assert f"port {port} is already in use" in result.stderr
    assert sandbox_processes(repo) == []


def test_down_when_nothing_runs_changes_nothing(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "environments", repo / "environments")

    result = release(repo, "sandbox", "down")

    assert result.returncode == 0
    assert "not running" in result.stdout



def test_up_without_docker_registry_says_how_to_install_it_and_starts_the_rest(tmp_path):
    repo, aws_port, registry_port = sandbox_repo(tmp_path)
    missing = {"RELEASE_SANDBOX_REGISTRY_BINARY": str(tmp_path / "no-such-docker-registry")}
    try:
        result = release(repo, "sandbox", "up", **missing)

        assert result.returncode == 0, result.stderr
        assert "apt-get install docker-registry" in result.stdout
        assert listening(aws_port)
        assert not listening(registry_port)
    finally:
        release(repo, "sandbox", "down")
    assert sandbox_processes(repo) == []


def test_registry_images_outlive_down_and_reach_ecr_after_the_next_up(tmp_path):
    from registry_push import push_image

    repo, aws_port, registry_port = sandbox_repo(tmp_path)
    images = tmp_path / "images"
    kept = {"RELEASE_SANDBOX_REGISTRY_DIR": str(images)}

    def ecr():
        return boto3.client("ecr", endpoint_url=f"http://127.0.0.1:{aws_port}",
                            region_name="us-east-1", aws_access_key_id="x",
                            aws_secret_access_key="x")

    def password() -> str:
        token = ecr().get_authorization_token()["authorizationData"][0]["authorizationToken"]
        return base64.b64decode(token).decode().split(":", 1)[1]

    try:
        assert release(repo, "sandbox", "up", **kept).returncode == 0
        digest = push_image(f"http://127.0.0.1:{registry_port}", password(), "akka-firehose",
                            "abc123")
        assert release(repo, "sandbox", "down").returncode == 0
        assert (images / "storage").is_dir()

        assert release(repo, "sandbox", "up", **kept).returncode == 0
        ecr().create_repository(repositoryName="akka-firehose")
        found = ecr().describe_images(repositoryName="akka-firehose")["imageDetails"]
    finally:
        release(repo, "sandbox", "down")

    assert [(image["imageTags"], image["imageDigest"]) for image in found] == [
        (["abc123"], digest)]
    assert not (repo / ".state/sandbox/registry").exists()


def _kill(pid: int) -> None:
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def test_down_in_a_copy_of_the_repository_leaves_the_original_sandbox_running(tmp_path):
    repo, aws_port, _ = sandbox_repo(tmp_path)
    copy = tmp_path / "copy"
    try:
        up = release(repo, "sandbox", "up", "--format", "json")
        assert up.returncode == 0, up.stderr
        pid = json.loads(up.stdout.splitlines()[0])["pid"]
        subprocess.run(["cp", "-a", str(repo), str(copy)], check=True)  # pid file included

        down = release(copy, "sandbox", "down")

        assert down.returncode == 0, down.stderr
        assert "not running" in down.stdout
        assert sandbox_processes(repo) == [pid]
        assert listening(aws_port)
    finally:
        release(repo, "sandbox", "down")
    assert sandbox_processes(repo) == []


def test_down_never_signals_a_stranger_whose_argv_merely_names_the_server(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "environments", repo / "environments")
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)",
                                 "-m", "release_sandbox.server", "--state-dir", "/elsewhere"])
    try:
        (repo / ".state/sandbox").mkdir(parents=True)
        (repo / ".state/sandbox/sandbox.pid").write_text(f"{stranger.pid}\n")

        down = release(repo, "sandbox", "down")

        assert down.returncode == 0, down.stderr
        assert "not running" in down.stdout
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def _registry_pids(repo: Path) -> list[int]:
    token = f"RELEASE_SANDBOX_STATE={repo / '.state/sandbox'}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and b"docker-registry" in (entry / "cmdline").read_bytes()
                    and token in (entry / "environ").read_bytes().split(b"\0")):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _orphan_a_registry(repo, aws_port) -> int:
    """Start the sandbox, kill its server, and return the pid of the registry it leaves."""
    up = release(repo, "sandbox", "up", "--format", "json")
    assert up.returncode == 0, up.stderr
    _kill(json.loads(up.stdout.splitlines()[0])["pid"])
    deadline = time.monotonic() + 10
    while listening(aws_port):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    [orphan] = _registry_pids(repo)
    return orphan


def test_a_registry_orphaned_by_a_killed_server_is_stopped_by_down(tmp_path):
    repo, aws_port, registry_port = sandbox_repo(tmp_path)
    try:
        orphan = _orphan_a_registry(repo, aws_port)
        assert listening(registry_port)

        down = release(repo, "sandbox", "down", "--format", "json")

        assert down.returncode == 0, down.stderr
        assert json.loads(down.stdout.splitlines()[0])["pids"] == [orphan]
        assert not listening(registry_port)
        assert _registry_pids(repo) == []
    finally:
        for pid in _registry_pids(repo):
            _kill(pid)


def test_up_replaces_a_registry_orphaned_by_a_killed_server(tmp_path):
    repo, aws_port, registry_port = sandbox_repo(tmp_path)
    try:
        orphan = _orphan_a_registry(repo, aws_port)

        again = release(repo, "sandbox", "up")

        assert again.returncode == 0, again.stderr
        assert f"left running (pid {orphan})" in again.stdout
        assert "registry not started" not in again.stdout
        status = release(repo, "sandbox", "status", "--format", "json")
        rows = json.loads(status.stdout.splitlines()[0])["rows"]
        assert {row["endpoint"]: row["health"] for row in rows}["registry"] == "answers"
        assert orphan not in _registry_pids(repo)
    finally:
        release(repo, "sandbox", "down")
        for pid in _registry_pids(repo):
            _kill(pid)


def test_up_fails_when_a_stranger_holds_the_registry_port(tmp_path):
    repo, aws_port, registry_port = sandbox_repo(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", registry_port))
        holder.listen()

        result = release(repo, "sandbox", "up")

    assert result.returncode == 5
    assert f"port {registry_port} is already in use" in result.stderr
    assert sandbox_processes(repo) == []
    assert not listening(aws_port)
