"""Role -> operation mapping, password hashing, PKCE, rate limiter, issuer discovery URLs."""

from __future__ import annotations

import base64
import hashlib

import pytest

from magictunnel.auth import passwords, pkce, roles
from magictunnel.auth.jwks import discovery_urls
from magictunnel.auth.ratelimit import SlidingWindowLimiter


@pytest.mark.parametrize(
    ("role", "operation", "allowed"),
    [
        ("system-admin", "anything.at.all", True),
        ("system-admin", "admin", True),
        ("tool-manager", "tools.write", True),
        ("tool-manager", "servers:restart", True),
        ("tool-manager", "upstream_oauth.write", True),
        ("tool-manager", "security.rbac.write", False),
        ("tool-manager", "security.status.read", True),
        ("tool-manager", "auth.users.write", False),
        ("tool-manager", "vault.write", False),
        ("tool-manager", "admin", False),
        ("security-auditor", "security.audit.export", True),
        ("security-auditor", "security.test.read", True),
        ("security-auditor", "security.lockdown.write", False),
        ("security-auditor", "auth.users.read", True),
        ("security-auditor", "auth.users.write", False),
        ("security-auditor", "tools.write", False),
        ("read-only-viewer", "tools.read", True),
        ("read-only-viewer", "security.status.read", True),
        ("read-only-viewer", "auth.users.read", False),
        ("read-only-viewer", "vault.list", False),
        ("read-only-viewer", "tools.write", False),
        ("read-only-viewer", "notifications.write", True),
        ("read-only-viewer", "auth.self.password", True),
        ("unknown-role", "tools.read", False),
    ],
)
def test_role_operation_matrix(role: str, operation: str, allowed: bool) -> None:
    assert roles.role_allows(role, operation) is allowed


def test_extra_role_grants_from_config() -> None:
    extra = {"read-only-viewer": ["discovery.write"]}
    assert roles.roles_allow(["read-only-viewer"], "discovery.write", extra)
    assert not roles.roles_allow(["read-only-viewer"], "discovery.write")
    assert roles.check_roles([]) == "at least one role is required"
    assert "unknown role(s) x" in (roles.check_roles(["x"]) or "")


def test_password_hashing() -> None:
    stored = passwords.hash_password("Correct-horse-battery")
    assert stored.startswith("$argon2id$") and "Correct-horse" not in stored
    assert passwords.verify_password(stored, "Correct-horse-battery")
    assert not passwords.verify_password(stored, "wrong")
    assert not passwords.verify_password("not-a-hash", "x")
    assert passwords.check_strength("short") is not None
    assert passwords.check_strength("aaaaaaaaaaaaaaa") == "password is too repetitive"
    assert passwords.check_strength("administrator1", "administrator1") is not None
    generated = {passwords.generate_password() for _ in range(20)}
    assert len(generated) == 20 and all(passwords.check_strength(p) is None for p in generated)


def test_pkce_s256() -> None:
    verifier = pkce.new_verifier()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert pkce.challenge(verifier) == expected


def test_sliding_window_limiter() -> None:
    limiter = SlidingWindowLimiter(3, 60)
    assert [limiter.hit("ip") for _ in range(3)] == [None, None, None]
    wait = limiter.hit("ip")
    assert wait is not None and 0 < wait <= 60
    assert limiter.hit("other") is None
    limiter.reset("ip")
    assert limiter.hit("ip") is None


def test_issuer_discovery_urls() -> None:
    assert discovery_urls("https://idp.example") == [
        "https://idp.example/.well-known/oauth-authorization-server",
        "https://idp.example/.well-known/openid-configuration",
    ]
    assert discovery_urls("https://idp.example/tenant1") == [
        "https://idp.example/.well-known/oauth-authorization-server/tenant1",
        "https://idp.example/.well-known/openid-configuration/tenant1",
        "https://idp.example/tenant1/.well-known/openid-configuration",
    ]
