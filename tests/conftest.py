"""Shared fixtures: a real platform (SQLite + DuckDB in a temporary folder) behind FastAPI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from zhizao.core.config import Settings

PASSWORD = "correct-horse-9"
ROLES = ("viewer", "operator", "engineer", "admin")


def make_settings(tmp_path, **overrides) -> Settings:
    return Settings(data_dir=tmp_path / "data", **overrides)


@pytest.fixture
def platform_app(tmp_path):
    """(app, tokens by role) for a platform without the simulator."""
    from zhizao.api.app import create_app

    app = create_app(make_settings(tmp_path))
    security = app.state.security
    tokens = {}
    for role in ROLES:
        user = security.add_user(f"{role}1", PASSWORD, role)
        tokens[role] = security.issue_token(user, "api", "test")
    return app, tokens


@pytest.fixture
def client(platform_app):
    app, _ = platform_app
    with TestClient(app) as c:
        yield c


@pytest.fixture
def tokens(platform_app):
    return platform_app[1]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
