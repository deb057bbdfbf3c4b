"""The sandbox's call log: which API a request calls, for which AWS service, per second."""

from __future__ import annotations

import io

from release_sandbox.calllog import CallLog, operation_of, service_of

SIGNED = ("AWS4-HMAC-SHA256 Credential=sandbox/20261202/us-east-1/{}/aws4_request, "
          "SignedHeaders=host;x-amz-date, Signature=abc")


def environ(body: bytes = b"", **headers: str) -> dict:
    return {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body), **headers}


def test_json_services_name_the_operation_in_x_amz_target() -> None:
    env = environ(HTTP_X_AMZ_TARGET="AmazonEC2ContainerServiceV20141113.DescribeServices",
                  HTTP_AUTHORIZATION=SIGNED.format("ecs"))
    assert operation_of(env) == "DescribeServices"
    assert service_of(env) == "ecs"


def test_query_services_name_it_in_the_form_and_the_body_is_still_readable() -> None:
    body = b"Action=DescribeInstanceHealth&Version=2012-06-01&LoadBalancerName=akkaElb"
    env = environ(body, HTTP_AUTHORIZATION=SIGNED.format("elasticloadbalancing"))
    assert operation_of(env) == "DescribeInstanceHealth"
    assert env["wsgi.input"].read() == body  # the app behind reads it again
    assert service_of(env) == "elasticloadbalancing"


def test_counts_by_label_and_peak_per_service_and_second() -> None:
    now = [100.2]
    log = CallLog(clock=lambda: now[0])
    app = log.wrap(lambda env, start: [b"ok"])
    log.reset("tool")
    for _ in range(3):
        app(environ(HTTP_X_AMZ_TARGET="x.DescribeTasks",
                    HTTP_AUTHORIZATION=SIGNED.format("ecs")), None)
    now[0] = 101.5
    app(environ(b"Action=DescribeInstanceHealth",
                HTTP_AUTHORIZATION=SIGNED.format("elasticloadbalancing")), None)
    app({"REQUEST_METHOD": "GET", "PATH_INFO": "/_sandbox/health"}, None)  # not an AWS call
    assert log.of("tool") == {"DescribeTasks": 3, "DescribeInstanceHealth": 1}
    answer = log.as_dict()
    assert answer["peak_per_second"] == 3
    assert answer["peak_by_service"] == {"ecs": 3, "elasticloadbalancing": 1}
