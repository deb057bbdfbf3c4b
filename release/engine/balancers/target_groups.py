"""ALB/NLB target groups' effects: health source, bootstrap calls, smoke base URL, preflight.

The pure half (rules, what ECS lets it do) is release/core/balancers/target_groups.py; the
wait's reading of DescribeTargetHealth is release/adapters/target_groups.py. Bootstrap: the
load balancer, its target groups and the listener, each read first and planned only when
missing or different (idempotent).

ELBv2 API reference: CreateLoadBalancer (Type application|network; security groups only
for an ALB), CreateTargetGroup (the health check; VpcId is required for instance and ip
targets), ModifyTargetGroup (the health check of an existing group),
ModifyTargetGroupAttributes (deregistration_delay.timeout_seconds), CreateListener /
ModifyListener (a `forward` default action to the first target group). Preflight: the
target type fits the network mode ("ip" for awsvpc, "instance" otherwise), the protocol fits
the mapping's (UDP needs UDP or TCP_UDP), the group is attached to a load balancer (ECS
refuses one that is not: "The target group ... does not have an associated load
balancer"), and a fixed health-check port is the task's own.
"""

from __future__ import annotations

from typing import Any

from release.adapters import target_groups as adapter
from release.core import preflight as pf
from release.core.calls import ApiCall, Ref
from release.core.config import Environment, ServiceSpec, TargetGroup
from release.core.rolling import host_port
from release.core.serving import HealthSource
from release.engine.balancers.common import no_mapping, url_of
from release.engine.preflight.context import Denied, not_checked

DELAY = "deregistration_delay.timeout_seconds"


def health_source(aws: Any, env: Environment, reference: str) -> HealthSource:
    """DescribeTargetHealth on the target group the service's entry names (name or ARN)."""
    return adapter.TargetGroupHealth.for_service(aws, env, reference)


def base_url(aws: Any, env: Environment) -> str | None:
    """http(s)://<the ALB/NLB's DNS name>[:port] from DescribeLoadBalancers (None: no name)."""
    lb = env.load_balancer
    found = aws.elbv2.describe_load_balancers(Names=[lb.name]).get("LoadBalancers", [])
    dns = found[0].get("DNSName") if found else None
    return url_of(dns, lb.listener) if dns else None


def resolve(aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
    """Target groups named by name → their ARNs (entries and blue/green alternates)."""
    return adapter.resolve(aws, env, spec)


def health_check_path(ctx: Any, lb: dict[str, Any]) -> str | None:
    """The path the group's HTTP(S) health check asks (DescribeTargetGroups), else None."""
    reference = str(lb.get("targetGroupArn", ""))
    key = {"TargetGroupArns": [reference]} if reference.startswith("arn:") else \
        {"Names": [reference]}
    group = ctx.call(ctx.client("elbv2"), "describe_target_groups", **key)["TargetGroups"][0]
    if str(group.get("HealthCheckProtocol", "")).upper() not in ("HTTP", "HTTPS"):
        return None
    return str(group.get("HealthCheckPath") or "/")


# -- bootstrap


def health_check(group: TargetGroup) -> dict[str, Any]:
    """CreateTargetGroup's / ModifyTargetGroup's health check parameters for the group."""
    hc, doc = group.health_check, group.doc.get("healthCheck", {})
    protocol = str(doc.get("protocol", group.protocol if group.protocol in
                               ("HTTP", "HTTPS") else "TCP"))
    params: dict[str, Any] = {
        "HealthCheckProtocol": protocol, "HealthCheckPort": str(doc.get("port", "traffic-port")),
        "HealthCheckIntervalSeconds": hc.interval, "HealthCheckTimeoutSeconds": hc.timeout,
        "HealthyThresholdCount": hc.healthy_threshold,
        "UnhealthyThresholdCount": hc.unhealthy_threshold}
    if protocol in ("HTTP", "HTTPS"):
        params.update(HealthCheckPath=str(doc.get("path", "/")),
                      Matcher={"HttpCode": str(doc.get("matcher", "200"))})
    return params


def plan_bootstrap(planner: Any) -> None:
    """Add the ALB/NLB's calls to `planner.plan` (a bootstrap.Planner, network resolved)."""
    env, elbv2 = planner.env, planner.aws.elbv2
    lb = env.load_balancer
    found = _absent(elbv2, "LoadBalancerNotFoundException", elbv2.describe_load_balancers,
                    Names=[lb.name])
    live = found["LoadBalancers"][0] if found else None
    if live is None:
        params: dict[str, Any] = {
            "Name": lb.name, "Type": lb.kind, "Subnets": [planner._subnets[s] for s in lb.subnets],
            "Scheme": str(env.doc["loadBalancer"].get("scheme", "internet-facing"))}
        if lb.kind == "application" and lb.security_groups:
            params["SecurityGroups"] = [planner._groups[g] for g in lb.security_groups]
        planner.plan.add(ApiCall("elbv2", "create_load_balancer", params,
                                 "load balancer does not exist", lb.name, key="alb"))
        lb_arn: Any = Ref("alb", ("LoadBalancers", 0, "LoadBalancerArn"))
    else:
        lb_arn = live["LoadBalancerArn"]
    vpc = _vpc(planner, live)
    arns = [_target_group(planner, group, vpc) for group in lb.target_groups]
    _listener(planner, lb_arn, live is not None, arns[0])


def _absent(client: Any, error: str, fn: Any, **params: Any) -> Any:
    try:
        return fn(**params)
    except getattr(client.exceptions, error):
        return None


def _vpc(planner: Any, live: dict[str, Any] | None) -> Any:
    """The target groups' VPC: the document's, the load balancer's, else its first subnet's."""
    groups = planner.env.load_balancer.target_groups
    given = next((g.vpc_id for g in groups if g.vpc_id), None)
    if given:
        return given
    if live is not None and live.get("VpcId"):
        return live["VpcId"]
    first = planner._subnets[planner.env.load_balancer.subnets[0]]
    return planner.aws.ec2.describe_subnets(SubnetIds=[first])["Subnets"][0]["VpcId"]


def _target_group(planner: Any, group: TargetGroup, vpc: Any) -> Any:
    elbv2 = planner.aws.elbv2
    found = _absent(elbv2, "TargetGroupNotFoundException", elbv2.describe_target_groups,
                    Names=[group.name])
    live = found["TargetGroups"][0] if found else None
    want = health_check(group)
    if live is None:
        key = f"tg:{group.name}"
        planner.plan.add(ApiCall(
            "elbv2", "create_target_group",
            {"Name": group.name, "Protocol": group.protocol, "Port": group.port, "VpcId": vpc,
             "TargetType": group.target_type, **want},
            "target group does not exist", group.name, key=key))
        arn: Any = Ref(key, ("TargetGroups", 0, "TargetGroupArn"))
        reason = "new target group"
    else:
        arn = live["TargetGroupArn"]
        changed = [f"{k} {live.get(k)} -> {v}" for k, v in want.items() if live.get(k) != v]
        if changed:
            planner.plan.add(ApiCall("elbv2", "modify_target_group",
                                     {"TargetGroupArn": arn, **want},
                                     "health check differs (" + ", ".join(changed) + ")",
                                     group.name))
        attributes = elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        have = next((a.get("Value") for a in attributes if a.get("Key") == DELAY), None)
        if str(have) == str(group.deregistration_delay):
            return arn
        reason = f"deregistration delay {have} s instead of {group.deregistration_delay} s"
    planner.plan.add(ApiCall("elbv2", "modify_target_group_attributes",
                             {"TargetGroupArn": arn, "Attributes": [
                                 {"Key": DELAY, "Value": str(group.deregistration_delay)}]},
                             reason, f"{group.name} deregistration delay"))
    return arn


def _listener(planner: Any, lb_arn: Any, exists: bool, target_group: Any) -> None:
    lb = planner.env.load_balancer
    want = {"Protocol": str(lb.listener["protocol"]), "Port": int(lb.listener["port"]),
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": target_group}]}
    if lb.listener.get("certificateArn"):
        want["Certificates"] = [{"CertificateArn": lb.listener["certificateArn"]}]
    live = None
    if exists:
        listeners = planner.aws.elbv2.describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
        live = next((li for li in listeners if li.get("Port") == want["Port"]), None)
    if live is None:
        planner.plan.add(ApiCall("elbv2", "create_listener", {"LoadBalancerArn": lb_arn, **want},
                                 f"listener on port {want['Port']} missing",
                                 f"{lb.name}:{want['Port']}"))
        return
    actions = [{"Type": a.get("Type"), "TargetGroupArn": a.get("TargetGroupArn")}
               for a in live.get("DefaultActions", [])]
    if live.get("Protocol") == want["Protocol"] and actions == want["DefaultActions"]:
        return
    planner.plan.add(ApiCall("elbv2", "modify_listener",
                             {"ListenerArn": live["ListenerArn"], **want},
                             "listener differs (protocol or default target group)",
                             f"{lb.name}:{want['Port']}"))


# -- preflight


def preflight(ctx: Any, index: int, lb: dict[str, Any], mapping: dict[str, Any] | None
              ) -> pf.Result:
    """The group exists, fits the mapping (target type, protocol), is attached to a load
    balancer, and its health check probes the port targets register on."""
    reference = str(lb["targetGroupArn"])
    resource = f"target group {reference.rsplit('/', 2)[-2] if '/' in reference else reference}"
    at = ctx.origin.service("loadBalancers", index, "targetGroupArn")
    elbv2 = ctx.client("elbv2")
    key = {"TargetGroupArns": [reference]} if reference.startswith("arn:") else \
        {"Names": [reference]}
    try:
        answer = ctx.call(elbv2, "describe_target_groups", **key)
    except elbv2.exceptions.TargetGroupNotFoundException:
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"{resource} does not exist in {ctx.env.region}",
                         f"`release bootstrap --env {ctx.env.name}` creates it, or fix "
                         "targetGroupArn", at)
    except Denied as exc:
        return not_checked("load-balancer", resource, exc, at)
    if mapping is None:
        return no_mapping(ctx, lb, resource, at)
    group = answer["TargetGroups"][0]
    problem = _group_problem(ctx.taskdef, group, mapping)
    if problem:
        return pf.placed("load-balancer", pf.PROBLEM, resource, problem[0], problem[1], at)
    port = _registered_port(ctx.taskdef, mapping)
    checked = str(group.get("HealthCheckPort") or "traffic-port")
    if checked != "traffic-port" and port and checked != str(port):
        return pf.placed("load-balancer", pf.WARNING, resource,
                         f"its health check probes port {checked}, but targets register on "
                         f"port {port}", "set the health check port to traffic-port", at)
    return pf.placed("load-balancer", pf.OK, resource,
                     f"{group.get('Protocol')} {group.get('TargetType')} targets on port "
                     f"{port or 'chosen by ECS'}; attached to "
                     f"{len(group.get('LoadBalancerArns') or [])} load balancer(s)", "", at)


def _registered_port(taskdef: dict[str, Any], mapping: dict[str, Any]) -> int:
    """The port ECS registers a task's target with: the container port under awsvpc, the
    host port (0 when dynamic) otherwise."""
    if (taskdef.get("networkMode") or "bridge") == "awsvpc":
        return int(mapping.get("containerPort") or 0)
    return host_port(taskdef, mapping)


def _group_problem(taskdef: dict[str, Any], group: dict[str, Any], mapping: dict[str, Any]
                   ) -> tuple[str, str] | None:
    name = group.get("TargetGroupName")
    awsvpc = (taskdef.get("networkMode") or "bridge") == "awsvpc"
    wanted = "ip" if awsvpc else "instance"
    if group.get("TargetType") != wanted:
        return (f"target group {name} has target type {group.get('TargetType')}, but "
                f"{taskdef.get('networkMode') or 'bridge'} tasks register as {wanted} targets",
                f"use a target group of target type {wanted}")
    if not group.get("LoadBalancerArns"):
        return (f"target group {name} is attached to no load balancer: ECS refuses it",
                "add a listener (or rule) forwarding to it")
    udp = str(mapping.get("protocol", "tcp")).lower() == "udp"
    protocol = str(group.get("Protocol", ""))
    if udp and protocol not in ("UDP", "TCP_UDP"):
        return (f"the mapping is UDP, but target group {name} is {protocol}",
                "use a UDP or TCP_UDP target group")
    if not udp and protocol == "UDP":
        return (f"the mapping is TCP, but target group {name} is UDP",
                "use a target group of the mapping's protocol")
    return None
