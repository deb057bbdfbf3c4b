"""The plain-text secret heuristic: real secrets caught, settings about secrets left alone.

The names and values below are the kinds found in public task definitions
(tests/corpus/taskdefs): a variable *about* a token (its lifetime, its header,
whether it is on) is configuration, not a credential.
"""

from __future__ import annotations

import pytest

from release.core.rules.secrets import _leak, _secret_problem

NOT_SECRETS = [
    ("JWT_ACCESS_TOKEN_EXPIRATION", "15m"),
    ("JWT_REFRESH_TOKEN_EXPIRATION", "7d"),
    ("ACCESS_TOKEN_EXPIRES_IN", "3600"),
    ("TOKEN_LIFETIME", "1h30m"),
    ("SESSION_TOKEN_MAX_AGE", "86400"),
    ("PASSWORD_RESET_TOKEN_TTL", "PT15M"),
    ("AUTH_TOKEN_TIMEOUT", "30s"),
    ("PASSWORD_MIN_LENGTH", "12"),
    ("TOKEN_AUTH_ENABLED", "true"),
    ("SECRETS_MANAGER_ENABLED", "false"),
    ("USE_API_KEY", "yes"),
    ("REQUIRE_PASSWORD", "1"),
    ("API_KEY_HEADER", "X-Api-Key"),
    ("SECRET_ROTATION_DAYS", "30"),
    ("PASSWORD_HASH_ROUNDS", "10"),
    ("TOKEN_REFRESH_INTERVAL", "5m"),
    ("DB_PASSWORD_FILE", "/run/secrets/db"),
    ("SECRETS_PATH", "/etc/app/secrets"),
    ("SECRET_KEY_PATH", "/var/run/secrets/key.pem"),
    ("TOKEN_URL", "https://auth.example.com/oauth2/token"),
    ("OAUTH_TOKEN_ENDPOINT", "https://login.example.com/token"),
    ("CREDENTIALS_PROVIDER_URL", "http://169.254.170.2/v2/credentials"),
    ("SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"),
    ("DB_SECRET_NAME", "prod/db"),
    ("KMS_KEY_ID", "1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("AWS_ACCESS_KEY_ID_PARAM", "/prod/aws/key-id"),
    ("TOKEN_ISSUER", "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Abc"),
    ("API_KEY_REQUIRED", "False"),
    ("BYPASS_CACHE", "1"),
    ("DB_PASSWORD", ""),
]

SECRETS = [
    ("DB_PASSWORD", "hunter2"),
    ("DB_PASS", "hunter2"),
    ("DB_PASSWORD", "12345678"),  # a number can be a password when the name says it is one
    ("JWT_SECRET", "c2VjcmV0LXNpZ25pbmcta2V5"),
    ("JWT_ACCESS_TOKEN_SECRET", "s3cr3t-value"),
    ("GITHUB_TOKEN", "not-a-real-token-but-still-a-token"),
    ("API_KEY", "0123456789abcdef"),
    ("DJANGO_SECRET_KEY", "django-insecure-abc"),
    ("SECRET_KEY_BASE", "9f86d081884c7d659a2feaa0c55ad015"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("SMTP_CREDENTIALS", "user:pass"),
    ("REDIS_PASSWORD", "${REDIS_PASSWORD}"),  # filled in by a template: plain text once rendered
    ("DATABASE_URL", "postgres://app:s3cret@db:5432/app"),
    ("ANY_NAME", "AKIAIOSFODNN7EXAMPLE"),
    ("SLACK_WEBHOOK_SECRET", "https://hooks.slack.com/services/T000/B000/XXXX"),
]


@pytest.mark.parametrize(("name", "value"), NOT_SECRETS)
def test_a_setting_about_a_secret_is_not_a_secret(name: str, value: str) -> None:
    assert _secret_problem(name, value) is None


@pytest.mark.parametrize(("name", "value"), SECRETS)
def test_a_secret_in_plain_text_is_caught(name: str, value: str) -> None:
    assert _secret_problem(name, value)


@pytest.mark.parametrize(("word", "caught"), [
    ("--token-ttl=15m", False),
    ("--session-timeout=30", False),
    ("--api-key-header=X-Api-Key", False),
    ("--password=hunter2", True),
    ("-Ddb.password=hunter2", True),
])
def test_command_line_assignments_follow_the_same_rules(word: str, caught: bool) -> None:
    assert bool(_leak(("command", 0), word)) is caught
