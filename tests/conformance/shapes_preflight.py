"""What AWS answers to preflight's reads, in its own shapes (each validated by the Stubber
against the botocore output model when queued)."""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from typing import Any

ACCOUNT, REGION, CLUSTER = "123456789012", "us-east-1", "AkkaCluster"
AT = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
RESERVED_PORTS = ["22", "2375", "2376", "51678", "51679"]  # the ECS agent's reserved ports
JENKINS = f"arn:aws:sts::{ACCOUNT}:assumed-role/jenkins/jenkins-akka-firehose-41"


def trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def get_role(name: str, document: dict[str, Any]) -> dict[str, Any]:
    """GetRole as IAM answers it: the trust policy URL-encoded JSON (botocore decodes it)."""
    return {"Role": {
        "Path": "/", "RoleName": name, "RoleId": "AROAEXAMPLEROLEID0001",
        "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "CreateDate": AT,
        "AssumeRolePolicyDocument": urllib.parse.quote(json.dumps(document)),
        "Description": "", "MaxSessionDuration": 3600, "RoleLastUsed": {}}}


def denied(action: str, resource: str = "*") -> dict[str, Any]:
    """An AccessDenied error's fields, as IAM policy evaluation words it."""
    return {"service_error_code": "AccessDenied", "http_status_code": 403,
            "service_message": f"User: {JENKINS} is not authorized to perform: {action} on "
                               f"resource: {resource} because no identity-based policy allows "
                               f"the {action} action"}


def parameter(name: str, kind: str = "SecureString", key: str = "alias/aws/ssm"
              ) -> dict[str, Any]:
    """One ParameterMetadata of DescribeParameters (no value: there is none in it)."""
    found: dict[str, Any] = {
        "Name": name, "ARN": f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}",
        "Type": kind, "LastModifiedDate": AT,
        "LastModifiedUser": f"arn:aws:iam::{ACCOUNT}:user/ops", "Version": 3,
        "Tier": "Standard", "Policies": [], "DataType": "text"}
    if kind == "SecureString":
        found["KeyId"] = key
    return found


def secret(name: str, key: str | None = None) -> dict[str, Any]:
    """DescribeSecret: metadata only (KmsKeyId only for a customer managed key)."""
    answer: dict[str, Any] = {
        "ARN": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{name}-AbCdEf",
        "Name": name, "RotationEnabled": False, "LastChangedDate": AT, "CreatedDate": AT,
        "Tags": [], "VersionIdsToStages": {"EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE":
                                           ["AWSCURRENT"]}}
    if key:
        answer["KmsKeyId"] = key
    return answer


def simulated(action: str, decisions: dict[str, str], *, organizations: bool | None = None
              ) -> dict[str, Any]:
    """SimulatePrincipalPolicy: one EvaluationResult per resource with its
    ResourceSpecificResults entry, as the CLI shows them."""
    results = []
    for resource, decision in decisions.items():
        matched = [{"SourcePolicyId": "read-secrets", "SourcePolicyType": "role",
                    "StartPosition": {"Line": 1, "Column": 41},
                    "EndPosition": {"Line": 1, "Column": 190}}] if decision == "allowed" else []
        result: dict[str, Any] = {
            "EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision,
            "MatchedStatements": matched, "MissingContextValues": [],
            "EvalDecisionDetails": {},
            "ResourceSpecificResults": [{"EvalResourceName": resource,
                                         "EvalResourceDecision": decision,
                                         "MatchedStatements": matched,
                                         "MissingContextValues": []}]}
        if organizations is not None:
            result["OrganizationsDecisionDetail"] = {"AllowedByOrganizations": organizations}
        results.append(result)
    return {"EvaluationResults": results, "IsTruncated": False}


def log_group(name: str) -> dict[str, Any]:
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"
    return {"logGroupName": name, "creationTime": 1764493200000, "metricFilterCount": 0,
            "arn": f"{arn}:*", "storedBytes": 1_048_576, "logGroupClass": "STANDARD",
            "logGroupArn": arn}


def classic_elb(name: str = "akkaElb", instance_port: int = 80,
                target: str = "HTTP:80/api/healthcheck") -> dict[str, Any]:
    """DescribeLoadBalancers (classic) of the seed's ELB."""
    return {"LoadBalancerDescriptions": [{
        "LoadBalancerName": name, "DNSName": f"{name}-1234567890.{REGION}.elb.amazonaws.com",
        "CanonicalHostedZoneName": f"{name}-1234567890.{REGION}.elb.amazonaws.com",
        "CanonicalHostedZoneNameID": "Z35SXDOTRQ7X7K",
        "ListenerDescriptions": [{"Listener": {
            "Protocol": "HTTP", "LoadBalancerPort": 80, "InstanceProtocol": "HTTP",
            "InstancePort": instance_port}, "PolicyNames": []}],
        "Policies": {"AppCookieStickinessPolicies": [], "LBCookieStickinessPolicies": [],
                     "OtherPolicies": []},
        "BackendServerDescriptions": [], "AvailabilityZones": ["us-east-1a", "us-east-1b"],
        "Subnets": ["subnet-0a1b2c3d", "subnet-4e5f6a7b"], "VPCId": "vpc-0a1b2c3d",
        "Instances": [{"InstanceId": "i-0aaaaaaaaaaaaaaa1"}, {"InstanceId": "i-0aaaaaaaaaaaaaaa2"}],
        "HealthCheck": {"Target": target, "Interval": 30, "Timeout": 3,
                        "UnhealthyThreshold": 5, "HealthyThreshold": 2},
        "SourceSecurityGroup": {"OwnerAlias": ACCOUNT, "GroupName": "akka-elb"},
        "SecurityGroups": ["sg-0a1b2c3d"], "CreatedTime": AT, "Scheme": "internet-facing"}]}


def target_group(name: str, target_type: str = "ip", protocol: str = "HTTP",
                 attached: bool = True, health_port: str = "traffic-port") -> dict[str, Any]:
    arn = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/{name}/0123456789abcdef"
    return {"TargetGroups": [{
        "TargetGroupArn": arn, "TargetGroupName": name, "Protocol": protocol, "Port": 8080,
        "VpcId": "vpc-0a1b2c3d", "HealthCheckProtocol": "HTTP", "HealthCheckPort": health_port,
        "HealthCheckEnabled": True, "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5, "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2, "HealthCheckPath": "/api/healthcheck",
        "Matcher": {"HttpCode": "200"},
        "LoadBalancerArns": [f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/"
                             "app/akka-alb/50dc6c495c0c9188"] if attached else [],
        "TargetType": target_type, "ProtocolVersion": "HTTP1", "IpAddressType": "ipv4"}]}


def instance_arn(n: int) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:container-instance/{CLUSTER}/{n:032x}"


def _resources(cpu: int, memory: int, ports: list[str]) -> list[dict[str, Any]]:
    return [
        {"name": "CPU", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0,
         "integerValue": cpu},
        {"name": "MEMORY", "type": "INTEGER", "doubleValue": 0.0, "longValue": 0,
         "integerValue": memory},
        {"name": "PORTS", "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0,
         "integerValue": 0, "stringSetValue": RESERVED_PORTS + ports},
        {"name": "PORTS_UDP", "type": "STRINGSET", "doubleValue": 0.0, "longValue": 0,
         "integerValue": 0, "stringSetValue": []}]


def container_instances(free: list[tuple[int, int, list[str]]]) -> dict[str, Any]:
    """DescribeContainerInstances of t2.medium instances with (CPU, MiB, ports in use) left."""
    return {"containerInstances": [{
        "containerInstanceArn": instance_arn(n), "ec2InstanceId": f"i-0aaaaaaaaaaaaaaa{n}",
        "version": 42, "versionInfo": {"agentVersion": "1.89.1", "agentHash": "4c1b5a8e",
                                       "dockerVersion": "DockerVersion: 25.0.8"},
        "remainingResources": _resources(cpu, memory, ports),
        "registeredResources": _resources(2048, 3943, []),
        "status": "ACTIVE", "agentConnected": True, "runningTasksCount": 1,
        "pendingTasksCount": 0, "attributes": [{"name": "ecs.os-type", "value": "linux"}],
        "registeredAt": AT, "attachments": [], "tags": []}
        for n, (cpu, memory, ports) in enumerate(free, 1)], "failures": []}


def tasks_on(instances: list[int], taskdef: str) -> dict[str, Any]:
    """DescribeTasks of one RUNNING service task on each instance number."""
    return {"tasks": [{
        "taskArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{CLUSTER}/{n:032x}",
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
        "taskDefinitionArn": taskdef, "containerInstanceArn": instance_arn(n),
        "lastStatus": "RUNNING", "desiredStatus": "RUNNING", "launchType": "EC2",
        "group": "service:akka-firehose-service", "startedBy": "ecs-svc/1234567890123456789",
        "createdAt": AT, "startedAt": AT, "version": 3, "connectivity": "CONNECTED",
        "healthStatus": "UNKNOWN", "overrides": {"containerOverrides": []},
        "containers": [{"containerArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:container/{n}",
                        "name": "akka-firehose", "lastStatus": "RUNNING",
                        "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 8080,
                                             "hostPort": 80, "protocol": "tcp"}],
                        "healthStatus": "UNKNOWN"}],
        "attachments": [], "tags": []} for n in instances], "failures": []}


def cluster(providers: list[str]) -> dict[str, Any]:
    return {"clusters": [{
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/apps", "clusterName": "apps",
        "status": "ACTIVE", "capacityProviders": providers,
        "defaultCapacityProviderStrategy": [], "registeredContainerInstancesCount": 0,
        "runningTasksCount": 2, "pendingTasksCount": 0, "activeServicesCount": 1}],
        "failures": []}


def capacity_provider(name: str, status: str = "ACTIVE") -> dict[str, Any]:
    return {"capacityProviders": [{
        "capacityProviderArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:capacity-provider/{name}",
        "name": name, "status": status,
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
                                   f"0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d:autoScalingGroupName/"
                                   f"{name}-asg",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 100,
                               "minimumScalingStepSize": 1, "maximumScalingStepSize": 10000,
                               "instanceWarmupPeriod": 300},
            "managedTerminationProtection": "DISABLED"},
        "updateStatus": "UPDATE_COMPLETE", "tags": []}], "failures": []}


def queue_reads(aws: Any, env: Any, ecs_stub: Any, taskdef_arn: str, instances: int = 2
                ) -> list[Any]:
    """What preflight reads of the staging service behind the classic ELB besides its image:
    the service role, the log group, the ELB, the instances (port 80 taken by an old task on
    each) and the old tasks. The ECS answers go on `ecs_stub`; the other stubs are returned
    (activated) to be asserted done."""
    from botocore.stub import Stubber

    numbers = list(range(1, instances + 1))
    tasks = tasks_on(numbers, taskdef_arn)
    for operation, answer in (
            ("list_container_instances", {"containerInstanceArns": [instance_arn(n)
                                                                    for n in numbers]}),
            ("describe_container_instances", container_instances(
                [(1024, 2919, ["80"])] * instances)),
            ("list_tasks", {"taskArns": [t["taskArn"] for t in tasks["tasks"]]}),
            ("describe_tasks", tasks)):
        ecs_stub.add_response(operation, answer, None)
    stubs = []
    for client, operation, answer, params in (
            (aws.iam, "get_role", get_role("ecsServiceRole", trust("ecs.amazonaws.com")),
             {"RoleName": "ecsServiceRole"}),
            (aws.logs, "describe_log_groups", {"logGroups": [log_group("/ecs/akka-firehose")]},
             {"logGroupNamePrefix": "/ecs/akka-firehose"}),
            (aws.elb, "describe_load_balancers", classic_elb(),
             {"LoadBalancerNames": [env.load_balancer.name]})):
        stub = Stubber(client)
        stub.add_response(operation, answer, params)
        stub.activate()
        stubs.append(stub)
    return stubs
