"""Write a new revision from what the models changed since the latest one:

    python -m zhizao.store.migrations revision -m "add work orders"

It upgrades a scratch SQLite database to the latest revision, compares it with the models
and writes ``versions/<number>_<slug>.py``; review it (``if_not_exists`` and data moves are
never generated) before committing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from zhizao.store.migrations import HERE, alembic_config, upgrade


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m zhizao.store.migrations", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate a revision")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args()
    number = len(list((HERE / "versions").glob("[0-9]*.py"))) + 1
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'scratch.db'}")
        upgrade(engine)
        with engine.begin() as conn:
            script = command.revision(alembic_config(conn), args.message, autogenerate=True, rev_id=f"{number:04d}")
        engine.dispose()
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff and script is not None and not isinstance(script, list):
        subprocess.run([ruff, "check", "--fix", "--quiet", script.path], check=False)  # unused imports, quotes


if __name__ == "__main__":
    main()
