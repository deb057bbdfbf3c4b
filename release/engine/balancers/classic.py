"""The classic ELB's effects: its health source, bootstrap calls, smoke base URL, preflight.

The pure half (rules, what ECS lets it do) is release/core/balancers/classic.py; the wait's
reading of DescribeInstanceHealth is release/adapters/elb_classic.py. Bootstrap: the ELB
(CreateLoadBalancer with its listener, subnets and security groups; listeners, subnets and
groups brought back when they differ), ConfigureHealthCheck and the ConnectionDraining
attribute. Preflight: "Classic Load Balancers ... require static host port mappings" (ECS
developer guide), over TCP (a classic ELB has no UDP).
"""

from __future__ import annotations

from typing import Any

from release.adapters import elb_classic
from release.core import preflight as pf
from release.core.calls import ApiCall, Ref
from release.core.config import Environment, ServiceSpec
from release.core.rolling import host_port
from release.core.serving import HealthSource
from release.engine.balancers.common import no_mapping, url_of
from release.engine.preflight.context import Denied, not_checked


def health_source(aws: Any, env: Environment, reference: str) -> HealthSource:
    """DescribeInstanceHealth on the ELB the service's entry names."""
    return elb_classic.ClassicElb.for_service(aws, env, reference)


def base_url(aws: Any, env: Environment) -> str | None:
    """http(s)://<the ELB's DNS name>[:port] from DescribeLoadBalancers (None: no DNS name)."""
    lb = env.load_balancer
    found = aws.elb.describe_load_balancers(LoadBalancerNames=[lb.name])
    descriptions = found.get("LoadBalancerDescriptions", [])
    dns = descriptions[0].get("DNSName") if descriptions else None
    return url_of(dns, lb.listener) if dns else None


def resolve(aws: Any, env: Environment, spec: ServiceSpec) -> ServiceSpec:
    """A classic ELB is named by its name, which is what ECS takes: nothing to resolve."""
    return spec


def health_check_path(ctx: Any, lb: dict[str, Any]) -> str | None:
    """The path the ELB's HTTP(S) health check asks (`HTTP:80/api/healthcheck`), else None."""
    target = ctx.env.load_balancer.health_check.target
    protocol, _, rest = target.partition(":")
    return "/" + rest.split("/", 1)[1] if protocol.upper() in ("HTTP", "HTTPS") and \
        "/" in rest else None


# -- bootstrap


def plan_bootstrap(planner: Any) -> None:
    """Add the classic ELB's calls to `planner.plan` (a bootstrap.Planner, network resolved):
    the load balancer with its listener, subnets and security groups, health check and
    connection draining, each only when missing or different."""
    lb = planner.env.load_balancer
    elb = planner.aws.elb
    subnets = [planner._subnets[s] for s in lb.subnets]
    groups = [planner._groups[g] for g in lb.security_groups]
    listener = _listener(lb.listener)
    found = planner.absent({"LoadBalancerNotFound", "AccessPointNotFound"},
                           elb.describe_load_balancers, LoadBalancerNames=[lb.name])
    live = found["LoadBalancerDescriptions"][0] if found else None
    if live is None:
        params: dict[str, Any] = {"LoadBalancerName": lb.name, "Listeners": [listener],
                                  "Subnets": subnets}
        if groups:
            params["SecurityGroups"] = groups
        planner.plan.add(ApiCall("elb", "create_load_balancer", params,
                                 "load balancer does not exist", lb.name))
    else:
        _listeners(planner, live, listener)
        _subnets_and_groups(planner, live, subnets, groups)
    _health_check(planner, live)
    _draining(planner, live is not None)


def _listeners(planner: Any, live: dict[str, Any], listener: dict[str, Any]) -> None:
    name = planner.env.load_balancer.name
    port = listener["LoadBalancerPort"]
    current = next((d["Listener"] for d in live.get("ListenerDescriptions", [])
                    if d["Listener"]["LoadBalancerPort"] == port), None)
    if current is not None and {k: current.get(k) for k in listener} == listener:
        return
    if current is not None:
        planner.plan.add(ApiCall("elb", "delete_load_balancer_listeners",
                                 {"LoadBalancerName": name, "LoadBalancerPorts": [port]},
                                 f"listener on port {port} differs: {_brief(current)}",
                                 f"{name}:{port}"))
    planner.plan.add(ApiCall("elb", "create_load_balancer_listeners",
                             {"LoadBalancerName": name, "Listeners": [listener]},
                             f"listener on port {port} missing" if current is None
                             else f"recreate as {_brief(listener)}", f"{name}:{port}"))


def _subnets_and_groups(planner: Any, live: dict[str, Any], subnets: list[Any],
                        groups: list[Any]) -> None:
    name = planner.env.load_balancer.name
    have = set(live.get("Subnets", []))
    to_attach = [s for s in subnets if isinstance(s, Ref) or s not in have]
    to_detach = sorted(have - {s for s in subnets if not isinstance(s, Ref)})
    if to_attach:  # attach before detach: a load balancer keeps at least one subnet
        planner.plan.add(ApiCall("elb", "attach_load_balancer_to_subnets",
                                 {"LoadBalancerName": name, "Subnets": to_attach},
                                 "subnets of the environment not attached", name))
    if to_detach:
        planner.plan.add(ApiCall("elb", "detach_load_balancer_from_subnets",
                                 {"LoadBalancerName": name, "Subnets": to_detach},
                                 f"subnets not in the environment: {', '.join(to_detach)}", name))
    concrete = {g for g in groups if not isinstance(g, Ref)}
    live_groups = set(live.get("SecurityGroups", []))
    if groups and (len(concrete) < len(groups) or concrete != live_groups):
        planner.plan.add(ApiCall("elb", "apply_security_groups_to_load_balancer",
                                 {"LoadBalancerName": name, "SecurityGroups": groups},
                                 "security groups differ", name))


def _health_check(planner: Any, live: dict[str, Any] | None) -> None:
    lb = planner.env.load_balancer
    hc = lb.health_check
    want = {"Target": hc.target, "Interval": hc.interval, "Timeout": hc.timeout,
            "UnhealthyThreshold": hc.unhealthy_threshold,
            "HealthyThreshold": hc.healthy_threshold}
    have = (live or {}).get("HealthCheck")
    if live is None:
        reason = "new load balancer"
    elif not have:
        reason = "no health check configured"
    else:
        changed = [f"{k} {have.get(k)} -> {v}" for k, v in want.items() if have.get(k) != v]
        if not changed:
            return
        reason = "health check differs (" + ", ".join(changed) + ")"
    planner.plan.add(ApiCall("elb", "configure_health_check",
                             {"LoadBalancerName": lb.name, "HealthCheck": want},
                             reason, lb.name))


def _draining(planner: Any, exists: bool) -> None:
    lb = planner.env.load_balancer
    want: dict[str, Any] = {"Enabled": lb.draining_enabled}
    if lb.draining_enabled:
        want["Timeout"] = lb.draining_timeout
    reason = "new load balancer"
    if exists:
        attrs = planner.aws.elb.describe_load_balancer_attributes(LoadBalancerName=lb.name)
        have = attrs["LoadBalancerAttributes"].get("ConnectionDraining", {})
        if bool(have.get("Enabled")) == lb.draining_enabled and (
                not lb.draining_enabled or have.get("Timeout") == lb.draining_timeout):
            return
        reason = (f"connection draining {_draining_text(have)} instead of "
                  f"{_draining_text(want)}")
    planner.plan.add(ApiCall("elb", "modify_load_balancer_attributes",
                             {"LoadBalancerName": lb.name,
                              "LoadBalancerAttributes": {"ConnectionDraining": want}},
                             reason, f"{lb.name} connection draining"))


def _listener(spec: dict[str, Any]) -> dict[str, Any]:
    """The environment's listener (camelCase keys) in the ELB API's shape."""
    listener = {
        "Protocol": str(spec["protocol"]).upper(),
        "LoadBalancerPort": int(spec["loadBalancerPort"]),
        "InstanceProtocol": str(spec.get("instanceProtocol", spec["protocol"])).upper(),
        "InstancePort": int(spec["instancePort"]),
    }
    if spec.get("sslCertificateId"):
        listener["SSLCertificateId"] = spec["sslCertificateId"]
    return listener


def _brief(listener: dict[str, Any]) -> str:
    return (f"{listener.get('Protocol')}:{listener.get('LoadBalancerPort')} -> "
            f"{listener.get('InstanceProtocol')}:{listener.get('InstancePort')}")


def _draining_text(setting: dict[str, Any]) -> str:
    if not setting.get("Enabled"):
        return "disabled"
    return f"enabled {setting.get('Timeout')} s"


# -- preflight


def preflight(ctx: Any, index: int, lb: dict[str, Any], mapping: dict[str, Any] | None
              ) -> pf.Result:
    """The ELB exists, a listener forwards to the mapping's static host port over TCP, and
    its health check probes that port (preflight/load_balancer.py's part for this kind)."""
    name = str(lb["loadBalancerName"])
    resource = f"classic ELB {name}"
    at = ctx.origin.service("loadBalancers", index, "loadBalancerName")
    elb = ctx.client("elb")
    try:
        answer = ctx.call(elb, "describe_load_balancers", LoadBalancerNames=[name])
    except elb.exceptions.AccessPointNotFoundException:
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"classic ELB {name} does not exist in {ctx.env.region}",
                         f"`release bootstrap --env {ctx.env.name}` creates it, or fix "
                         "loadBalancerName", at)
    except Denied as exc:
        return not_checked("load-balancer", resource, exc, at)
    if mapping is None:
        return no_mapping(ctx, lb, resource, at)
    described = answer["LoadBalancerDescriptions"][0]
    port = host_port(ctx.taskdef, mapping)
    if str(mapping.get("protocol", "tcp")).lower() == "udp":
        return pf.placed("load-balancer", pf.PROBLEM, resource, "the mapping is UDP; a "
                         "classic ELB forwards TCP only", "use an NLB target group for UDP", at)
    if not port:
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"container port {mapping.get('containerPort')} has no static host "
                         "port: a classic ELB forwards to one fixed instance port",
                         "set hostPort to the listener's instance port", at)
    listeners = [d["Listener"] for d in described.get("ListenerDescriptions", [])]
    if not any(int(listener["InstancePort"]) == port for listener in listeners):
        shown = ", ".join(f"{x['LoadBalancerPort']}→{x['InstancePort']}/{x['InstanceProtocol']}"
                          for x in listeners) or "none"
        return pf.placed("load-balancer", pf.PROBLEM, resource,
                         f"no listener of {name} forwards to instance port {port}, the host "
                         f"port of {lb.get('containerName')}:{mapping.get('containerPort')} "
                         f"(listeners: {shown})",
                         "add a listener to that instance port, or change the hostPort", at)
    target = str((described.get("HealthCheck") or {}).get("Target", ""))
    checked = _target_port(target)
    if checked is not None and checked != port:
        return pf.placed("load-balancer", pf.WARNING, resource,
                         f"the health check {target} probes port {checked}, but the tasks "
                         f"listen on host port {port}: they may never be InService",
                         f"point the health check at port {port}", at)
    return pf.placed("load-balancer", pf.OK, resource,
                     f"forwards to instance port {port} ({lb.get('containerName')}:"
                     f"{mapping.get('containerPort')}); health check {target}", "", at)


def _target_port(target: str) -> int | None:
    """`HTTP:80/path`, `TCP:80` → 80."""
    _, _, rest = target.partition(":")
    digits = rest.split("/", 1)[0]
    return int(digits) if digits.isdigit() else None
