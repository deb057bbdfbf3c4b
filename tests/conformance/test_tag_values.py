"""Release-record tag values are ones ECS accepts: its TagValue pattern, from the model."""

from __future__ import annotations

import unicodedata

import pytest
from botocore.loaders import Loader

from release.core.records import MAX_VALUE, tag_value

ECS_TAG_VALUE = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"


def accepted_by_ecs(value: str) -> bool:
    """The model's TagValue pattern, one character at a time (Python's re has no \\p{..})."""
    return len(value) <= 256 and all(
        unicodedata.category(ch)[0] in "LZN" or ch in "_.:/=+-@" for ch in value)


def test_the_pattern_checked_here_is_the_models() -> None:
    shape = Loader().load_service_model("ecs", "service-2")["shapes"]["TagValue"]
    assert (shape["pattern"], shape["max"]) == (ECS_TAG_VALUE, MAX_VALUE)


@pytest.mark.parametrize("text", [
    "crash loop:\tExit code 3\nEssential container in task exited\r",
    "https://jenkins.example/job/akka/42/?a=b&c=d",
    "operator (ünïcödé) 名前 #1\x0b\x0c\x1c\x85",
    "x" * 300,
])
def test_tag_values_are_accepted_by_ecs(text) -> None:
    value = tag_value(text)
    assert accepted_by_ecs(value), repr(value)
    assert "\t" not in value and "\n" not in value and "\r" not in value


def test_letters_digits_spaces_and_allowed_marks_are_kept() -> None:
    assert tag_value("Ünïcödé 42 a_b.c:d/e=f+g-h@i") == "Ünïcödé 42 a_b.c:d/e=f+g-h@i"
    assert tag_value("exit\tcode\n3") == "exit_code_3"
