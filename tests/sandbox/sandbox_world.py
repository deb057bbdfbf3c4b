"""A small ECS world built through the AWS API, and the names the sandbox tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from release_sandbox.testing import SandboxHandle, total_resources

CLUSTER = "AkkaCluster"
LB = "akkaElb"
SERVICE = "akka-firehose-service"
CONTAINER = "akka-firehose"
REPOSITORY = "akka-firehose"
DIGEST = "sha256:" + "1" * 64
IMAGE = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPOSITORY}@{DIGEST}"


@dataclass
class World:
    """Cluster, classic ELB, container instances, the image in ECR, task definitions and one
    service."""

    sb: SandboxHandle
    instance_ids: list[str] = field(default_factory=list)

    @property
    def ecs(self) -> Any:
        return self.sb.client("ecs")

    @property
    def elb(self) -> Any:
        return self.sb.client("elb")

    def build(self, instances: int = 2, interval: int = 5, healthy: int = 2, unhealthy: int = 2,
              draining: int = 30, cpu: int = 2048, memory: int = 3943) -> World:
        self.ecs.create_cluster(clusterName=CLUSTER)
        put_image(self.sb)
        self.elb.create_load_balancer(
            LoadBalancerName=LB, AvailabilityZones=["us-east-1a"],
            Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80, "InstancePort": 80}])
        self.elb.configure_health_check(LoadBalancerName=LB, HealthCheck={
            "Target": "HTTP:80/api/healthcheck", "Interval": interval, "Timeout": 3,
            "UnhealthyThreshold": unhealthy, "HealthyThreshold": healthy})
        self.elb.modify_load_balancer_attributes(LoadBalancerName=LB, LoadBalancerAttributes={
            "ConnectionDraining": {"Enabled": draining > 0, "Timeout": max(draining, 1)}})
        ec2 = self.sb.client("ec2")
        reservation = ec2.run_instances(ImageId="ami-840e42ee", InstanceType="t2.medium",
                                        MinCount=instances, MaxCount=instances)
        for instance in reservation["Instances"]:
            self.instance_ids.append(instance["InstanceId"])
            document = json.dumps({"instanceId": instance["InstanceId"]})
            self.ecs.register_container_instance(cluster=CLUSTER,
                                                 instanceIdentityDocument=document,
                                                 totalResources=total_resources(cpu, memory))
        return self

    def task_definition(self, fault: str | None = None, cpu: int = 1024, revision_note: str = "",
                        labels: dict[str, str] | None = None,
                        logging: dict[str, Any] | None = None) -> str:
        environment = [{"name": "HTTP_PORT", "value": "8080"}]
        if fault:
            environment.append({"name": "RELEASE_SANDBOX_FAULT", "value": fault})
        if revision_note:
            environment.append({"name": "NOTE", "value": revision_note})
        answer = self.ecs.register_task_definition(
            family="akka-demo", networkMode="bridge", requiresCompatibilities=["EC2"],
            containerDefinitions=[{
                "name": CONTAINER, "image": IMAGE, "cpu": cpu, "memory": 1024, "essential": True,
                "portMappings": [{"containerPort": 8080, "hostPort": 80, "protocol": "tcp"}],
                "environment": environment, "dockerLabels": labels or {},
                **({"logConfiguration": logging} if logging else {})}])
        return answer["taskDefinition"]["taskDefinitionArn"]

    def create_service(self, task_definition: str, desired: int = 2, minimum: int = 50,
                       maximum: int = 100, breaker: bool = False, rollback: bool = False,
                       grace: int = 0, classic_elb: bool = True) -> None:
        """Behind the classic ELB by default; `classic_elb=False`: no load balancer at all."""
        balancing: dict[str, Any] = {}
        if classic_elb:
            balancing = {"role": "ecsServiceRole", "healthCheckGracePeriodSeconds": grace,
                         "loadBalancers": [{"loadBalancerName": LB, "containerName": CONTAINER,
                                            "containerPort": 8080}]}
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=SERVICE, taskDefinition=task_definition,
            desiredCount=desired, launchType="EC2",
            deploymentConfiguration={
                "minimumHealthyPercent": minimum, "maximumPercent": maximum,
                "deploymentCircuitBreaker": {"enable": breaker, "rollback": rollback}},
            **balancing)

    def update(self, task_definition: str) -> None:
        self.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=task_definition)

    def service(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]

    def tasks(self, desired_status: str = "RUNNING") -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=CLUSTER, serviceName=SERVICE,
                                   desiredStatus=desired_status)["taskArns"]
        if not arns:
            return []
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns)["tasks"]

    def all_tasks(self) -> list[dict[str, Any]]:
        return self.tasks("RUNNING") + self.tasks("STOPPED")

    def health(self, *instance_ids: str) -> dict[str, dict[str, str]]:
        asked = [{"InstanceId": i} for i in instance_ids]
        states = self.elb.describe_instance_health(LoadBalancerName=LB, Instances=asked)
        return {s["InstanceId"]: s for s in states["InstanceStates"]}

    def messages(self) -> list[str]:
        """Service events, oldest first."""
        return [e["message"] for e in reversed(self.service()["events"])]

    def run_until(self, predicate: Any, limit: float = 600, step: float = 1.0) -> float:
        """Advance the clock until `predicate()` holds; returns the seconds it took."""
        waited = 0.0
        while not predicate():
            if waited >= limit:
                raise AssertionError(f"condition not reached within {limit} s of sandbox time")
            self.sb.advance(step)
            waited += step
        return waited

    def steady(self) -> bool:
        """One deployment, all desired tasks running, and ECS says it is done: rolloutState
        COMPLETED, or (behind a classic ELB, where there is none) the steady-state event."""
        service = self.service()
        deployments = service["deployments"]
        if len(deployments) != 1 or service["runningCount"] != service["desiredCount"]:
            return False
        if "rolloutState" in deployments[0]:
            return deployments[0]["rolloutState"] == "COMPLETED"
        events = service["events"]
        return bool(events) and events[0]["message"].endswith("has reached a steady state.")


def put_image(sb: SandboxHandle, repository: str = REPOSITORY, digest: str = DIGEST,
              tag: str = "v1") -> str:
    """The ECR repository and the image the world's task definitions run (the agent pulls
    it when a task starts: sandbox/release_sandbox/startup.py)."""
    ecr = sb.client("ecr")
    if repository not in [r["repositoryName"] for r in ecr.describe_repositories()[
            "repositories"]]:
        ecr.create_repository(repositoryName=repository)
    manifest = json.dumps({"schemaVersion": 2, "layers": [],
                           "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                           "config": {"mediaType": "application/vnd.docker.container.image.v1"
                                      "+json", "size": 2, "digest": digest}})
    ecr.put_image(repositoryName=repository, imageManifest=manifest, imageTag=tag,
                  imageDigest=digest)
    return f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{repository}@{digest}"
