"""Bootstrap's step for an ALB/NLB environment: the load balancer, its target groups and the
listener, each read first and planned only when missing or different (idempotent).

ELBv2 API reference: CreateLoadBalancer (Type application|network; security groups only
for an ALB), CreateTargetGroup (the health check; VpcId is required for instance and ip
targets), ModifyTargetGroup (the health check of an existing group),
ModifyTargetGroupAttributes (deregistration_delay.timeout_seconds), CreateListener /
ModifyListener (a `forward` default action to the first target group).
"""

from __future__ import annotations

from typing import Any

from release.core.calls import ApiCall, Ref
from release.core.config import TargetGroup

DELAY = "deregistration_delay.timeout_seconds"


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


def plan(planner: Any) -> None:
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
