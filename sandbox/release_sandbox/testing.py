"""A whole sandbox inside the test process, on a virtual clock by default.

    with running_sandbox(repo_root, tmp_path) as sandbox:
        sandbox.seed_infrastructure()
        digest = sandbox.put_image("0123456789ab")
        CliRunner().invoke(app, ["deploy", "--repo", str(sandbox.repo), ...])

While inside, `release.core.clock.default_clock()` is the sandbox's clock, so a
`release deploy` run in-process sleeps on it and the emulated ECS moves as it
sleeps. The config repository's documents are copied to `workdir/repo` with the
sandbox environment's endpoints pointing at this server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release.core.clock import Clock, VirtualClock, use_clock
from release.core.rolling import instance_resources
from release_sandbox.emulator import EcsEmulator
from release_sandbox.faults import Faults
from release_sandbox.network import seed_repo
from release_sandbox.process import CREDENTIALS
from release_sandbox.server import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    SandboxAws,
    Ticker,
    configure_moto,
    ecr_password,
    reset_moto,
)

# What an ECS-optimized t2.medium registers (release/core/rolling.py's table).
T2_MEDIUM_CPU, T2_MEDIUM_MEMORY = instance_resources("t2.medium")  # type: ignore[misc]
COPIED_FOLDERS = ("taskdefs", "environments", "schemas")
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass
class SandboxHandle:
    repo: Path
    endpoint: str
    clock: Clock
    emulator: EcsEmulator
    faults: Faults
    account: str = DEFAULT_ACCOUNT
    region: str = DEFAULT_REGION
    registry: Any = None
    calls: Any = None  # calllog.CallLog: every AWS call that reached the server
    throttle: Any = None  # throttling.EcsThrottle: ECS's request buckets
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, name: str) -> Any:
        """A boto3 client for this sandbox (no retries: tests see every answer)."""
        if name not in self._clients:
            import boto3
            import botocore.config

            self._clients[name] = boto3.client(
                name, endpoint_url=self.endpoint, region_name=self.region,
                aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                config=botocore.config.Config(retries={"total_max_attempts": 1,
                                                       "mode": "standard"}))
        return self._clients[name]

    def advance(self, seconds: float) -> None:
        """Let `seconds` of sandbox time pass (a VirtualClock moves; a real one sleeps)."""
        self.clock.sleep(seconds)

    def environment(self, env_name: str = "sandbox") -> Any:
        from release.core.config import Environment
        from release.core.documents import read_json

        path = self.repo / "environments" / env_name / "environment.json"
        return Environment.from_doc(path, read_json(path), env_name)

    def only_services(self, *names: str, env_name: str = "sandbox") -> list[str]:
        """Keep only these service specs (file stems) of an environment in the copy; returns
        the ones taken out. `release deploy --env` releases every spec of an environment, so
        a scenario about one service leaves the environment's other applications out."""
        removed = []
        for path in sorted((self.repo / "environments" / env_name / "services").glob("*.json")):
            if path.stem not in names:
                path.unlink()
                removed.append(path.stem)
        return removed

    def seed_infrastructure(self, env_name: str = "sandbox", instances: int = 2) -> list[str]:
        """Create what `release bootstrap` would: cluster, classic ELB, the ECR repositories, the
        release ledger table, the awslogs log groups, the ECS service role, the alarms
        environment.json defines and
        `instances` t2.medium EC2 instances registered as ECS container instances.

        Returns the container instance ARNs.
        """
        env = self.environment(env_name)
        lb = env.load_balancer
        listener = lb.listener
        ecs, elb, ecr, ec2 = (self.client(n) for n in ("ecs", "elb", "ecr", "ec2"))
        ecs.create_cluster(clusterName=env.cluster)
        elb.create_load_balancer(
            LoadBalancerName=lb.name,
            Listeners=[{"Protocol": listener["protocol"],
                        "LoadBalancerPort": int(listener["loadBalancerPort"]),
                        "InstanceProtocol": listener.get("instanceProtocol", listener["protocol"]),
                        "InstancePort": int(listener["instancePort"])}],
            AvailabilityZones=[f"{self.region}a", f"{self.region}b"])
        check = lb.health_check
        elb.configure_health_check(LoadBalancerName=lb.name, HealthCheck={
            "Target": check.target, "Interval": check.interval, "Timeout": check.timeout,
            "UnhealthyThreshold": check.unhealthy_threshold,
            "HealthyThreshold": check.healthy_threshold})
        elb.modify_load_balancer_attributes(LoadBalancerName=lb.name, LoadBalancerAttributes={
            "ConnectionDraining": {"Enabled": lb.draining_enabled,
                                   "Timeout": lb.draining_timeout}})
        ecr_doc = env.doc.get("ecr", {})
        from release.core import config

        for repository in config.load_repo(self.repo, [env_name]).repositories_of(env_name):
            # every repository the environment's pins name; one another environment of this
            # sandbox pins too (one account here) is there already
            with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
                ecr.create_repository(
                    repositoryName=repository,
                    imageTagMutability="IMMUTABLE" if ecr_doc.get("tagImmutability", True)
                    else "MUTABLE",
                    imageScanningConfiguration={"scanOnPush": bool(ecr_doc.get("scanOnPush",
                                                                               False))})
        from release.adapters import ledger

        dynamodb = self.client("dynamodb")
        if ledger.table_name(env) not in dynamodb.list_tables()["TableNames"]:  # shared by envs
            dynamodb.create_table(**ledger.table_definition(ledger.table_name(env)))
        self.seed_log_groups(env_name)
        self.seed_service_role(env_name)
        from release.core import alarms

        for params in alarms.definitions(env).values():  # environment.json /alarms
            self.client("cloudwatch").put_metric_alarm(**params)
        reservation = ec2.run_instances(ImageId=str(env.instances.get("ami", "ami-840e42ee")),
                                        InstanceType=env.instance_type, MinCount=instances,
                                        MaxCount=instances)
        arns = []
        for instance in reservation["Instances"]:
            document = {"instanceId": instance["InstanceId"], "region": self.region,
                        "availabilityZone": instance["Placement"]["AvailabilityZone"],
                        "instanceType": env.instance_type, "accountId": self.account}
            answer = ecs.register_container_instance(
                cluster=env.cluster, instanceIdentityDocument=json.dumps(document),
                totalResources=total_resources(T2_MEDIUM_CPU, T2_MEDIUM_MEMORY))
            arns.append(answer["containerInstance"]["containerInstanceArn"])
        return arns

    def seed_log_groups(self, env_name: str = "sandbox") -> list[str]:
        """The awslogs groups the environment's services write to, as bootstrap creates them."""
        from release.core import awslogs, config

        logs = self.client("logs")
        groups = [g for g, _ in awslogs.environment_log_groups(
            config.load_repo(self.repo, [env_name]), env_name)]
        for group in groups:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=group)
        return groups
    def seed_service_role(self, env_name: str = "sandbox") -> str:
        """The ECS service role the environment names (iam.serviceRole), trusting
        ecs.amazonaws.com, as bootstrap creates it; returns its name."""
        from release.core.policies import iam_name, trust_policy

        iam = self.client("iam")
        name = iam_name(self.environment(env_name), "serviceRole")
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(RoleName=name,
                            AssumeRolePolicyDocument=json.dumps(trust_policy("ecs.amazonaws.com")))
        return name

    def seed_target_groups(self, env_name: str = "sandbox-alb") -> dict[str, str]:
        """Create what `release bootstrap` would for an ALB/NLB environment without instances:
        cluster, the named subnets and security groups (Name tags, in a VPC of their own),
        the load balancer, its target groups (health check, deregistration delay), a
        listener forwarding to the first, the ECR repository and the ledger table.

        Returns the target groups' ARNs by name.
        """
        env = self.environment(env_name)
        lb = env.load_balancer
        ecs, ec2, elbv2 = (self.client(n) for n in ("ecs", "ec2", "elbv2"))
        ecs.create_cluster(clusterName=env.cluster)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{self.region}{'ab'[i % 2]}",
            TagSpecifications=[_named("subnet", name)])["Subnet"]["SubnetId"]
            for i, name in enumerate(lb.subnets)]
        groups = [ec2.create_security_group(
            GroupName=name, Description=name, VpcId=vpc,
            TagSpecifications=[_named("security-group", name)])["GroupId"]
            for name in lb.security_groups]
        balancer = elbv2.create_load_balancer(
            Name=lb.name, Subnets=subnets, SecurityGroups=groups, Type=lb.kind,
            Scheme=str(env.doc["loadBalancer"].get("scheme", "internet-facing")))
        arns = {}
        for group in lb.target_groups:
            hc = group.health_check
            arns[group.name] = elbv2.create_target_group(
                Name=group.name, Protocol=group.protocol, Port=group.port, VpcId=vpc,
                TargetType=group.target_type, HealthCheckIntervalSeconds=hc.interval,
                HealthCheckTimeoutSeconds=hc.timeout, HealthyThresholdCount=hc.healthy_threshold,
                UnhealthyThresholdCount=hc.unhealthy_threshold,
            )["TargetGroups"][0]["TargetGroupArn"]
            elbv2.modify_target_group_attributes(TargetGroupArn=arns[group.name], Attributes=[
                {"Key": "deregistration_delay.timeout_seconds",
                 "Value": str(group.deregistration_delay)}])
        elbv2.create_listener(
            LoadBalancerArn=balancer["LoadBalancers"][0]["LoadBalancerArn"],
            Protocol=lb.listener["protocol"], Port=int(lb.listener["port"]),
            DefaultActions=[{"Type": "forward",
                             "TargetGroupArn": arns[lb.target_groups[0].name]}])
        self._repository_and_ledger(env)
        return arns

    def _repository_and_ledger(self, env: Any) -> None:
        from release.adapters import ledger

        ecr, dynamodb = self.client("ecr"), self.client("dynamodb")
        if not ecr.describe_repositories()["repositories"]:
            ecr.create_repository(repositoryName=env.ecr_repository,
                                  imageTagMutability="IMMUTABLE")
        if ledger.table_name(env) not in dynamodb.list_tables()["TableNames"]:
            dynamodb.create_table(**ledger.table_definition(ledger.table_name(env)))

    def put_image(self, tag: str, env_name: str = "sandbox", repository: str | None = None
                  ) -> str:
        """Put a small image manifest into an ECR repository (default the environment's)
        under `tag`; returns its digest."""
        env = self.environment(env_name)
        config = json.dumps({"tag": tag, **({"repository": repository} if repository else {})
                             }).encode()
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                       "size": len(config),
                       "digest": "sha256:" + hashlib.sha256(config).hexdigest()},
            "layers": [],
        }, separators=(",", ":"))
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        self.client("ecr").put_image(repositoryName=repository or env.ecr_repository,
                                     imageManifest=manifest,
                                     imageManifestMediaType=MANIFEST_MEDIA_TYPE, imageTag=tag,
                                     imageDigest=digest)
        return digest


def _named(kind: str, name: str) -> dict[str, Any]:
    return {"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}


def total_resources(cpu: int, memory: int) -> list[dict[str, Any]]:
    """RegisterContainerInstance's totalResources as the ECS agent reports them."""
    return [{"name": "CPU", "type": "INTEGER", "integerValue": cpu},
            {"name": "MEMORY", "type": "INTEGER", "integerValue": memory}]


def copy_config_repo(repo_root: Path, target: Path, endpoint: str,
                     registry_address: str | None) -> Path:
    """Copy the documents and point the sandbox environment at this sandbox."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for folder in COPIED_FOLDERS:
        if (repo_root / folder).is_dir():
            shutil.copytree(repo_root / folder, target / folder)
    for env_path in sorted((target / "environments").glob("*/environment.json")):
        doc = json.loads(env_path.read_text())
        if env_path.parent.name != "sandbox" and "endpoints" not in doc:
            continue  # an environment of real AWS
        endpoints = dict(doc.get("endpoints") or {})
        endpoints["aws"] = endpoint
        if registry_address:
            endpoints["registry"] = registry_address
        else:
            endpoints.pop("registry", None)
        doc["endpoints"] = endpoints
        env_path.write_text(json.dumps(doc, indent=2) + "\n")
    return target


@contextmanager
def sandbox_credentials() -> Iterator[None]:
    """The sandbox's placeholder keys in os.environ (and so in every subprocess) meanwhile.

    The tool signs with whatever the environment names; a developer's own keys,
    profile or session token must never reach the sandbox or decide a test.
    """
    names = (*CREDENTIALS, "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ.pop(name, None)
    os.environ.update(CREDENTIALS)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def running_sandbox(repo_root: Path, workdir: Path, clock: Clock | None = None,
                    registry: bool = False, registry_dir: Path | None = None
                    ) -> Iterator[SandboxHandle]:
    """Start moto + the ECS emulator (+ the registry if asked) for the duration of a test.

    The registry stores its images in `registry_dir` (default `workdir/registry`); pass
    the same directory to a later sandbox to see them again. RELEASE_SANDBOX_REGISTRY_DIR
    is not read here, so a developer's setting never leaks images into tests.
    """
    clock = clock if clock is not None else VirtualClock()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    fresh_moto()
    aws = SandboxAws(clock)
    aws.start()
    active = True

    def tick(now: float) -> None:
        if active:
            aws.emulator.tick(now)

    ticker = None
    if hasattr(clock, "on_tick"):
        clock.on_tick(tick)
    else:
        ticker = Ticker(aws.emulator, clock)
        ticker.start()
    previous = use_clock(clock)
    registry_obj = None
    try:
        registry_address = None
        if registry:
            registry_obj, registry_address = _start_test_registry(
                aws, Path(registry_dir) if registry_dir is not None else workdir / "registry")
        repo = copy_config_repo(Path(repo_root), workdir / "repo", aws.endpoint, registry_address)
        seed_repo(aws.endpoint, repo)  # the subnets and security groups the documents name
        with sandbox_credentials():
            yield SandboxHandle(repo=repo, endpoint=aws.endpoint, clock=clock,
                                emulator=aws.emulator, faults=aws.faults, account=aws.account,
                                region=aws.region, registry=registry_obj, calls=aws.calls,
                                throttle=aws.throttle)
    finally:
        active = False
        use_clock(previous)
        if ticker is not None:
            ticker.stopped.set()
        if registry_obj is not None:
            registry_obj.stop()
        aws.stop()
        reset_moto()


# moto backends that take long to create: EC2's (1,366 AMIs, each with a volume and a
# snapshot) and IAM's (about 1,600 AWS managed policies in each of its partitions) cost some
# 1.5 s of CPU every time a test's sandbox starts. They are made once per process, kept
# pickled by (service, account, region or partition), and each reset starts from a copy.
_PRISTINE: dict[tuple[str, str, str], bytes] = {}
# IAM's backends of the other partitions (aws-cn, aws-us-gov, ...): moto creates every one
# of them at the first request (to find whose access key it is), but only a region of their
# own partition writes to them, and a sandbox has its one region: made once, kept as made.
_UNTOUCHED: dict[tuple[str, str], Any] = {}


def fresh_moto(account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION) -> None:
    """Forget every resource moto holds in this process (reset_moto), then give `account`
    the EC2 backend of `region` and its IAM backends as moto creates them afresh: copies of
    the ones made the first time (the same state, the same generated ids), not new ones."""
    import pickle

    from moto.backends import get_backend
    from moto.iam.models import PARTITION_NAMES
    from moto.utilities.utils import get_partition

    reset_moto()
    configure_moto()  # IAM's managed policies are loaded only when asked before creation
    home = get_partition(region)
    iam = get_backend("iam")  # type: ignore[call-overload]
    for name in PARTITION_NAMES:
        if name == home:
            continue
        if (account, name) not in _UNTOUCHED:
            _UNTOUCHED[(account, name)] = iam[account][name]
        iam[account][name] = _UNTOUCHED[(account, name)]
    for service, name in (("ec2", region), ("iam", home)):
        backends = get_backend(service)  # type: ignore[call-overload]
        key = (service, account, name)
        if key not in _PRISTINE:
            _PRISTINE[key] = pickle.dumps(backends[account][name])
        else:
            backends[account][name] = pickle.loads(_PRISTINE[key])


def _start_test_registry(aws: SandboxAws, storage: Path) -> tuple[Any, str | None]:
    """The image registry on a free port, with ECR's login password, mirroring into moto
    (and imported into each ECR repository created while it runs)."""
    from release_sandbox.registry import Registry

    registry = Registry(storage, password=ecr_password(aws),
                        ecr_endpoint=aws.endpoint, region=aws.region)
    registry.start()
    aws.attach_registry(registry)
    return registry, registry.address
