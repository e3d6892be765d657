"""The ``zhizao`` command line (typer)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from zhizao.core.config import Settings

app = typer.Typer(help="Zhizao (智造): open AI platform for intelligent manufacturing.", no_args_is_help=True)
user_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
plant_app = typer.Typer(help="Import, export and validate plant YAML files.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (JSON on stdout).", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(plant_app, name="plant")
app.add_typer(bench_app, name="bench")

DataDir = typer.Option(None, "--data-dir", help="Data folder (default: ZHIZAO_DATA_DIR or ./data)")


def settings_for(data_dir: Path | None, **overrides) -> Settings:
    values = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        values["data_dir"] = data_dir
    return Settings(**values)


def fail(message: str) -> None:
    typer.secho(message, fg="red", err=True)
    raise typer.Exit(1)


@app.command()
def run(
    demo: bool = typer.Option(False, "--demo", help="Run the simulated demo plant; create an admin on first start"),
    host: str = typer.Option(None, help="Listen address (default 127.0.0.1)"),
    port: int = typer.Option(None, help="Port (default 8000)"),
    speed: float = typer.Option(None, help="Simulator speed: simulated seconds per second"),
    seed: int = typer.Option(None, help="Simulator seed"),
    data_dir: Path = DataDir,
) -> None:
    """Start the platform: API, console, apps (and the simulated plant with --demo)."""
    import uvicorn

    from zhizao.api.app import create_app
    from zhizao.runtime import Platform

    settings = settings_for(data_dir, host=host, port=port, sim_speed=speed, sim_seed=seed,
                            **({"demo": True} if demo else {}))
    platform = Platform(settings)
    password = platform.ensure_demo_admin()
    url = f"http://{settings.host}:{settings.port}"
    if password:
        typer.secho("\n  Demo administrator created / 已创建演示管理员", fg="green", bold=True)
        typer.echo(f"    user / 用户名:    admin\n    password / 密码:  {password}")
        typer.echo("  Shown once: note it, or set another with `zhizao user passwd admin`.\n"
                   "  仅显示一次：请记下，或用 `zhizao user passwd admin` 修改。\n")
    typer.secho(f"  Zhizao console / 控制台: {url}\n", fg="cyan", bold=True)
    uvicorn.run(create_app(platform=platform), host=settings.host, port=settings.port, log_level="warning")


@app.command()
def sim(
    hours: float = typer.Option(24.0, help="Headless: simulated hours to run faster than real time"),
    seed: int = typer.Option(None, help="Seed (same seed, same plant → same data)"),
    plant_file: Path = typer.Option(None, "--plant", help="Plant YAML (default: the data folder's plant)"),
    opcua: int = typer.Option(None, "--opcua", help="Serve the plant as an OPC UA server on this port (real time)"),
    modbus: int = typer.Option(None, "--modbus", help="Serve the plant as a Modbus TCP server on this port"),
    opcua_user: list[str] = typer.Option(None, "--opcua-user", help="NAME:PASSWORD; also offers Basic256Sha256 "
                                         "(sign and encrypt) beside security None. Repeatable."),
    host: str = typer.Option("127.0.0.1", help="Address the protocol servers listen on"),
    speed: float = typer.Option(1.0, help="With --opcua/--modbus: simulated seconds per second"),
    data_dir: Path = DataDir,
) -> None:
    """Run the simulated plant: headless into the historian (JSON summary), or in real time
    serving real protocols (--opcua, --modbus) for connectors and third-party tools."""
    from zhizao.runtime import load_configured_plant

    settings = settings_for(data_dir, sim_seed=seed, plant_file=plant_file)
    plant = load_configured_plant(settings)
    if opcua is None and modbus is None:
        from zhizao.sim import run_headless_into_historian

        summary = run_headless_into_historian(plant, settings, hours=hours)
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False))
        return
    import asyncio

    users = {}
    for entry in opcua_user or []:
        name, sep, password = entry.partition(":")
        if not sep or not name or not password:
            fail(f"--opcua-user: expected NAME:PASSWORD, got {entry!r}")
        users[name] = password
    asyncio.run(_serve_protocols(plant, settings, host=host, opcua_port=opcua, modbus_port=modbus, speed=speed,
                                 opcua_users=users))


async def _serve_protocols(plant, settings: Settings, *, host: str, opcua_port: int | None,
                           modbus_port: int | None, speed: float, opcua_users: dict[str, str]) -> None:
    import asyncio
    import signal

    from zhizao.bus import Bus
    from zhizao.sim import PlantSimulator

    bus = Bus()
    sim = PlantSimulator(bus=bus, plant=plant, seed=settings.sim_seed, speed=speed)
    servers = []
    # Servers subscribe before the simulator starts, so they see the first values.
    if modbus_port is not None:
        from zhizao.sim.modbus_server import modbus_connector_config, serve_modbus

        server = await serve_modbus(sim, plant, bus, port=modbus_port, host=host)
        servers.append(server)
        typer.echo(f"Modbus TCP server / Modbus 服务: {host}:{server.port} (units 1..N in line flow order)")
        typer.echo("Connector settings for the plant YAML / 连接器配置:")
        typer.echo(json.dumps({"name": "sim_modbus", "kind": "modbus",
                               "config": modbus_connector_config(plant, host, server.port)}, ensure_ascii=False))
    if opcua_port is not None:
        from zhizao.sim.opcua_server import serve_opcua

        server = await serve_opcua(sim, plant, bus, port=opcua_port, host=host,
                                   security="both" if opcua_users else "none", users=opcua_users or None,
                                   cert_dir=settings.data_dir / "opcua-server")
        servers.append(server)
        security = "None + Basic256Sha256" if opcua_users else "None"
        typer.echo(f"OPC UA server / OPC UA 服务: {server.url} (security {security}; NodeIds ns=2;s=<tag path>)")
    await sim.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    typer.echo("Simulating in real time; Ctrl-C stops. / 实时仿真中，Ctrl-C 停止。")
    await stop.wait()
    await sim.stop()
    for server in servers:
        await server.stop()


# ---- users ---------------------------------------------------------------------------
def _security(data_dir: Path | None):
    from zhizao.security.service import Security
    from zhizao.store.db import Database

    settings = settings_for(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    return Security(db)


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option("viewer", help="viewer, operator, engineer or admin"),
    password: str = typer.Option(None, help="Password (prompted when left out)"),
    display_name: str = typer.Option("", help="Name shown in the console"),
    data_dir: Path = DataDir,
) -> None:
    """Add a user."""
    from zhizao.security.service import UserError

    if password is None:
        password = typer.prompt("Password / 密码", hide_input=True, confirmation_prompt=True)
    try:
        _security(data_dir).add_user(username, password, role, display_name)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"user '{username}' added with role {role}")


@user_app.command("list")
def user_list(data_dir: Path = DataDir) -> None:
    """List users and roles."""
    for user in _security(data_dir).list_users():
        typer.echo(f"{user.username}\t{user.role}\t{user.display_name}")


@user_app.command("passwd")
def user_passwd(username: str, password: str = typer.Option(None), data_dir: Path = DataDir) -> None:
    """Set a user's password."""
    from zhizao.security.service import UserError

    if password is None:
        password = typer.prompt("New password / 新密码", hide_input=True, confirmation_prompt=True)
    try:
        _security(data_dir).set_password(username, password)
    except UserError as exc:
        fail(str(exc))
    typer.echo(f"password of '{username}' changed")


@user_app.command("token")
def user_token(username: str, name: str = typer.Option("cli", help="What the token is for"),
               data_dir: Path = DataDir) -> None:
    """Issue an API token for a user (printed once)."""
    security = _security(data_dir)
    user = next((u for u in security.list_users() if u.username == username), None)
    if user is None:
        fail(f"username: no user '{username}'")
    typer.echo(security.issue_token(user, "api", name))


# ---- plant -----------------------------------------------------------------------------
@plant_app.command("validate")
def plant_validate(file: Path) -> None:
    """Check a plant YAML file; errors name the line and field."""
    from zhizao.assets import PlantError, load_plant

    try:
        plant = load_plant(file)
    except PlantError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    typer.echo(f"{file}: ok ({len(plant.equipment_by_id())} equipment, {len(plant.tags())} tags)")


@plant_app.command("import")
def plant_import(file: Path, data_dir: Path = DataDir) -> None:
    """Validate a plant YAML file and make it the data folder's plant."""
    from zhizao.assets import PlantError, load_plant

    try:
        plant = load_plant(file)
    except PlantError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{file}: {exc.strerror}")
    settings = settings_for(data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    target = settings.data_dir / "plant.yaml"
    target.write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    typer.echo(f"imported {file} → {target} ({len(plant.tags())} tags); restart the platform to use it")


@plant_app.command("export")
def plant_export(out: Path = typer.Option(None, "--out", help="File (default stdout)"),
                 data_dir: Path = DataDir) -> None:
    """Write the data folder's plant as YAML."""
    from zhizao.assets import dump_plant
    from zhizao.runtime import load_configured_plant

    text = dump_plant(load_configured_plant(settings_for(data_dir)))
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


# ---- benchmarks ------------------------------------------------------------------------
@bench_app.command("historian")
def bench_historian(
    points: int = typer.Option(2_000_000, help="Points to ingest"),
    tags: int = typer.Option(1000, help="Number of tags"),
) -> None:
    """Embedded historian: ingest rate, 1-day rollup over 100 tags, latest of 1,000 tags."""
    from zhizao.store.bench import run_historian_bench

    typer.echo(json.dumps(run_historian_bench(points=points, tags=tags), indent=2))


def _register_apps() -> None:
    """Each app adds its own commands (``AppSpec.cli``)."""
    from zhizao.apps import parts

    for _, register in parts("cli"):
        register(app)


_register_apps()

if __name__ == "__main__":
    app()
