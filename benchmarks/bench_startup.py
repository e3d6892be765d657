"""Time from starting the platform (packages installed) to live data in the console.

Starts `zhizao run --demo` on a free port with an empty data folder, reads the
one-time admin password it prints, signs in and measures:
- api_ready_s: until GET /api/health answers;
- live_data_s: until the server-sent event stream delivers tag values;
- console_live_s: until the console overview in headless Chromium shows a
  machine state (only where /usr/bin/chromium exists).
JSON on stdout and in benchmarks/results/startup.json.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
ZHIZAO = ROOT / ".venv" / "bin" / "zhizao"
GOAL_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(step)
    raise TimeoutError("timed out")


def main() -> dict:
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="zhizao-bench-")
    env = {**os.environ, "ZHIZAO_DATA_DIR": data_dir}
    t0 = time.monotonic()
    proc = subprocess.Popen([str(ZHIZAO), "run", "--demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    result: dict = {"goal_s": GOAL_S}
    try:
        password = None
        for line in proc.stdout:
            match = re.search(r"password / 密码:\s+(\S+)", line)
            if match:
                password = match.group(1)
                break

        def healthy():
            try:
                return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, 60)
        result["api_ready_s"] = round(time.monotonic() - t0, 2)
        client = httpx.Client(base_url=base, timeout=10)
        client.post("/api/auth/login", json={"username": "admin", "password": password}).raise_for_status()
        with client.stream("GET", "/api/stream") as stream:
            event = None
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and event == "tags":
                    if json.loads(line[5:])["values"]:
                        break
        result["live_data_s"] = round(time.monotonic() - t0, 2)
        if Path("/usr/bin/chromium").exists():
            result["console_live_s"] = console_live(base, password, t0)
    finally:
        proc.terminate()
        proc.wait(10)
    result["met"] = max(v for k, v in result.items() if k.endswith("_s") and k != "goal_s") <= GOAL_S
    return result


def console_live(base: str, password: str, t0: float) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "admin")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        # Every machine tile shows a live state (tiles start as st-unknown).
        page.wait_for_selector(".tile[data-eq]", timeout=60_000)
        page.wait_for_function("() => !document.querySelector('.tile[data-eq].st-unknown')", timeout=60_000)
        elapsed = time.monotonic() - t0
        browser.close()
    return round(elapsed, 2)


if __name__ == "__main__":
    out = main()
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "startup.json").write_text(json.dumps(out, indent=2))
    json.dump(out, sys.stdout, indent=2)
    print()
