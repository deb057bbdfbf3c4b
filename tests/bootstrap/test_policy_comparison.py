"""Policies are compared as parsed, normalised JSON: formatting and order never cause a change."""

from __future__ import annotations

import json

from bootstrap_helpers import PROJECT, environment

from release.core.policies import normalise_policy, policy_difference, repository_policy

ONE = {"Version": "2012-10-17", "Statement": [
    {"Sid": "", "Effect": "Allow", "Action": ["b:Two", "a:One"], "Resource": "arn:x"}]}


def test_reordered_actions_string_forms_and_empty_sid_are_equal():
    same = {"Version": "2012-10-17", "Statement": {
        "Effect": "Allow", "Action": ["a:One", "b:Two"], "Resource": ["arn:x"]}}
    assert policy_difference(ONE, json.dumps(same, indent=4)) is None


def test_url_encoded_documents_are_parsed_like_iam_returns_them():
    encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A" \
              "%22Allow%22%2C%22Action%22%3A%5B%22b%3ATwo%22%2C%22a%3AOne%22%5D%2C%22Resource" \
              "%22%3A%22arn%3Ax%22%7D%5D%7D"
    assert policy_difference(ONE, encoded) is None


def test_statement_order_does_not_matter():
    a = {"Sid": "a", "Effect": "Allow", "Action": "x:A", "Resource": "*"}
    b = {"Sid": "b", "Effect": "Allow", "Action": "x:B", "Resource": "*"}
    assert normalise_policy({"Statement": [a, b]}) == normalise_policy({"Statement": [b, a]})


def test_a_missing_version_reads_as_2008_10_17():
    assert normalise_policy({"Statement": []})["Version"] == "2008-10-17"
    assert "Version" in policy_difference({"Version": "2012-10-17", "Statement": []},
                                          {"Statement": []})


def test_a_widened_resource_is_reported_by_field_name():
    widened = json.loads(json.dumps(ONE))
    widened["Statement"][0]["Resource"] = "*"
    assert policy_difference(ONE, widened) == "Resource"


def test_the_seeds_second_repository_policy_call_is_reported_as_a_missing_statement():
    env = environment(PROJECT, "staging")
    desired = repository_policy(env)
    only_ecs = {"Version": "2008-10-17",
                "Statement": [s for s in desired["Statement"] if s["Sid"] == "ecs_instance_pull"]}
    assert policy_difference(desired, only_ecs) == "statement jenkins_push_pull missing"


def test_an_extra_statement_is_named():
    desired = {"Version": "2012-10-17", "Statement": [
        {"Sid": "keep", "Effect": "Allow", "Action": "x:A", "Resource": "*"}]}
    live = {"Version": "2012-10-17", "Statement": [
        *desired["Statement"], {"Sid": "rogue", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
    assert policy_difference(desired, live) == "unexpected statement rogue"
