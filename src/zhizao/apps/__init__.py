"""Applications built on the platform, and how the platform finds them.

Every app is a package under ``zhizao.apps`` (the copilot lives in ``zhizao.copilot``)
with the same files: ``model.py`` (domain types), ``service.py`` (logic, no web),
``api.py`` (a FastAPI router), ``cli.py`` (typer commands) and console pages in
``web/static/js/pages/<page>.js``. Its ``__init__.py`` declares ``APP = AppSpec(...)``
naming the parts the platform wires in, so adding an app means adding a package,
not editing a switchboard. ``__init__`` must stay light: the CLI imports every one.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from dataclasses import dataclass
from functools import cache
from typing import Any

log = logging.getLogger(__name__)

# Packages outside ``zhizao.apps`` that follow the same shape.
OTHER_APP_PACKAGES = ("zhizao.copilot",)


@dataclass(frozen=True)
class ConsolePage:
    """A console page: route ``#/<name>``, module ``static/js/pages/<name>.js``,
    menu label from the i18n key ``web.nav.<name>``."""

    name: str
    icon: str
    role: str | None = None  # least role that sees it in the menu (None: everyone)


@dataclass(frozen=True)
class AppSpec:
    """What an app gives the platform; each reference is ``"module:attribute"``, imported lazily."""

    service: str | None = None  # a class built as Class(ctx); started with the platform as ctx.services[<app>]
    router: str | None = None  # a fastapi.APIRouter
    cli: str | None = None  # a function register(cli: typer.Typer) adding the app's commands
    pages: tuple[ConsolePage, ...] = ()
    order: int = 100  # services start in this order (lower first), all before connectors and the simulator


def load(reference: str) -> Any:
    """Import ``"package.module:attribute"``."""
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


def app_packages() -> list[str]:
    """Dotted names of the app packages."""
    packages = [f"{__name__}.{m.name}" for m in pkgutil.iter_modules(__path__) if m.ispkg]
    return packages + [p for p in OTHER_APP_PACKAGES if importlib.util.find_spec(p) is not None]


@cache
def discover() -> tuple[tuple[str, AppSpec], ...]:
    """(app name, spec) of every installed app, in start order."""
    found: list[tuple[str, AppSpec]] = []
    for package in app_packages():
        try:
            spec = getattr(importlib.import_module(package), "APP", None)
        except Exception:  # one broken app must not take the platform down with it
            log.exception("app %s cannot be imported; it is left out", package)
            continue
        if isinstance(spec, AppSpec):
            found.append((package.rsplit(".", 1)[-1], spec))
    return tuple(sorted(found, key=lambda item: (item[1].order, item[0])))


def parts(kind: str) -> list[tuple[str, Any]]:
    """(app name, loaded object) of every app's ``service``, ``router`` or ``cli``; an app whose
    part cannot be loaded is logged and left out, so the others still work."""
    loaded = []
    for name, spec in discover():
        reference = getattr(spec, kind)
        if reference:
            try:
                loaded.append((name, load(reference)))
            except Exception:
                log.exception("app %s: its %s %s cannot be loaded; it is left out", name, kind, reference)
    return loaded


def console_pages() -> list[ConsolePage]:
    return [page for _, spec in discover() for page in spec.pages]
