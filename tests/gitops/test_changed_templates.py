"""`release changed` with values from outside git: the template text is compared, offline.

What a commit range changed is a property of git alone: a template whose text changed is a
change; a value that changed at its source (an SSM parameter updated) is not in git and is
picked up by the next release of the service (docs/user-guide.md, Values from outside git).
"""

from __future__ import annotations

from release.core.changes import CHANGED
from release.engine.changed import changed_between

STAGING_SPEC = "environments/staging/services/akka-firehose.json"


def stream(value: str):
    def change(doc):
        doc["overrides"]["containers"]["akka-firehose"]["environment"]["FIREHOSE_STREAM"] = value
    return change


def test_a_changed_template_is_a_change_and_no_aws_is_asked(config_git, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "no-such-key")  # any AWS call would fail
    monkeypatch.setenv("RELEASE_AWS_ENDPOINT", "http://127.0.0.1:9")
    config_git.edit_json(STAGING_SPEC, stream("{{ ssm `/akka/stream` }}"))
    base = config_git.commit("the stream's name from SSM")
    config_git.edit_json(STAGING_SPEC, stream("{{ ssm `/akka/stream-v2` }}"))
    config_git.commit("another parameter")
    result = changed_between(config_git.root, base, "HEAD", validate=True)
    assert [(c.env, c.kind) for c in result.changes] == [("staging", CHANGED)]


def test_the_same_template_text_is_no_change(config_git):
    config_git.edit_json(STAGING_SPEC, stream("{{ ssm `/akka/stream` }}"))
    base = config_git.commit("the stream's name from SSM")
    config_git.edit_json(STAGING_SPEC, stream("{{ ssm `/akka/stream` }}"))
    config_git.commit("the same again")
    assert changed_between(config_git.root, base, "HEAD", validate=True).changes == []
