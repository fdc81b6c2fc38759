"""A real Prometheus on loopback scrapes a running ``rampart run`` with the exported rules; the
kill switch engaged through the API shows up as the KillSwitchEngaged alert firing there.

Both are real processes, so this test waits on them by polling their HTTP endpoints, bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from rampart.observability.alerts.rules import default_rules
from rampart.observability.export import write_export
from rampart.security.tokens import create_token
from rampart.store.db import open_database

pytestmark = pytest.mark.slow

DEADLINE_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _until(what: str, probe: Callable[[], Any], deadline_s: float = DEADLINE_S) -> Any:
    end = time.monotonic() + deadline_s
    last: Any = None
    while time.monotonic() < end:
        try:
            last = probe()
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {deadline_s:.0f} s (last: {last!r})")


@pytest.fixture
def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed; scripts/install-ops-tools.sh installs it")
        pytest.skip("prometheus is not installed (scripts/install-ops-tools.sh installs it)")
    return found


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def rampart_service(tmp_path: Path) -> Iterator[tuple[str, str]]:
    port = _free_port()
    db_url = f"sqlite:///{tmp_path / 'rampart.db'}"
    db = open_database(db_url)
    token = create_token(db, "admin", None, "prometheus-test", 0)
    db.dispose()
    env = {
        **os.environ,
        "RAMPART_STORE__URL": db_url,
        "RAMPART_API__PORT": str(port),
        "RAMPART_FEED__SPEED": "120",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rampart.cli.main", "run", "--no-view"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _until("Rampart answering /health", lambda: httpx.get(f"{url}/health").status_code == 200)
        yield url, token
    finally:
        _stop(proc)


def test_prometheus_sees_the_kill_switch_alert_fire(
    tmp_path: Path, prometheus_binary: str, rampart_service: tuple[str, str]
) -> None:
    rampart_url, token = rampart_service
    out = tmp_path / "export"
    write_export(out, default_rules())
    rules = next(out.rglob("rampart.rules.yml"))
    prom_port = _free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "rampart",
                "static_configs": [{"targets": [rampart_url.removeprefix("http://")]}],
            }
        ],
    }
    config_file = tmp_path / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    prom = subprocess.Popen(
        [
            prometheus_binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    prom_url = f"http://127.0.0.1:{prom_port}"
    try:

        def scraped() -> bool:
            body = httpx.get(f"{prom_url}/api/v1/query", params={"query": "up"}).json()
            return any(r["value"][1] == "1" for r in body["data"]["result"])

        def alert_states() -> dict[str, str]:
            body = httpx.get(f"{prom_url}/api/v1/alerts").json()
            return {a["labels"]["alertname"]: a["state"] for a in body["data"]["alerts"]}

        _until("Prometheus scraping Rampart", scraped)
        assert "KillSwitchEngaged" not in alert_states()

        reply = httpx.post(
            f"{rampart_url}/api/v1/admin/kill-switch",
            json={"reason": "prometheus drill", "flatten": False},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert reply.status_code == 200, reply.text

        firing = _until(
            "KillSwitchEngaged firing in Prometheus",
            lambda: alert_states().get("KillSwitchEngaged") == "firing" and alert_states(),
        )
        assert firing["KillSwitchEngaged"] == "firing"
        alert = next(
            a
            for a in httpx.get(f"{prom_url}/api/v1/alerts").json()["data"]["alerts"]
            if a["labels"]["alertname"] == "KillSwitchEngaged"
        )
        assert alert["labels"]["severity"] == "P1"
    finally:
        _stop(prom)
