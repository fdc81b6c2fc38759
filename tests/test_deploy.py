"""Deployment files: the compose stack, the image and the settings it mounts hang together.

No Docker engine runs here, so the compose file is checked as data: every service is there
with a health check, ports are loopback-only, every file it mounts exists, and the settings
and provisioning it mounts are valid.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rampart.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.prod.yml"
SERVICES = {"rampart", "postgres", "prometheus", "alertmanager", "grafana"}
LOGS_PROFILE = {"otel-collector", "loki"}
"""Started only with ``--profile logs`` (logs and traces shipped)."""
EXPORTED = ("prometheus", "alertmanager", "grafana/dashboards")
"""Mounted paths written by `rampart ops export`, not by hand."""


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _bind_mounts() -> list[tuple[str, str, str]]:
    mounts = []
    for name, service in _compose()["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                mounts.append((name, source, volume))
    return mounts


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", text)
    assert match, text
    value, unit = int(match[1]), match[2]
    return value / 1000 if unit == "ms" else value * (60 if unit == "m" else 1)


def test_every_service_is_there_with_a_health_check() -> None:
    services = _compose()["services"]
    assert set(services) == SERVICES | LOGS_PROFILE
    for name, service in services.items():
        if name == "otel-collector":
            continue  # an image without a shell: probed from the host (test_deploy_logs.py)
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert not check.get("disable"), name
        assert service.get("restart") == "unless-stopped", name
    assert "/health" in " ".join(services["rampart"]["healthcheck"]["test"])
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["rampart"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _megabytes(text: str) -> float:
    match = re.fullmatch(r"(\d+)([kmg])", text)
    assert match, text
    return int(match[1]) * {"k": 1 / 1024, "m": 1, "g": 1024}[match[2]]


def test_every_container_log_is_capped() -> None:
    # Docker's json-file log grows until the disk is full unless told otherwise.
    for name, service in _compose()["services"].items():
        logging = service.get("logging") or {}
        options = logging.get("options") or {}
        assert logging.get("driver") == "json-file", f"{name} has no log limits"
        assert 0 < _megabytes(options["max-size"]) <= 100, name
        assert 1 <= int(options["max-file"]) <= 20, name


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_rampart_uses_postgres_and_drains_before_it_is_killed() -> None:
    rampart = _compose()["services"]["rampart"]
    env = rampart["environment"]
    assert env["RAMPART_STORE__URL"].startswith("postgresql+psycopg://rampart:")
    assert "@postgres:5432/rampart" in env["RAMPART_STORE__URL"]
    assert env["RAMPART_API__HOST"] == "0.0.0.0"
    assert rampart["stop_signal"] == "SIGTERM"
    settings = load_settings(DEPLOY / "rampart.yaml")
    assert _seconds(rampart["stop_grace_period"]) > settings.ops.shutdown_timeout_s


def test_no_secret_is_written_into_the_compose_file() -> None:
    text = COMPOSE.read_text()
    for variable in ("POSTGRES_PASSWORD", "GRAFANA_ADMIN_PASSWORD"):
        # Only as a required substitution from deploy/.env, never as a literal value.
        assert re.search(rf"\$\{{{variable}:\?", text), variable
        assert not re.search(rf"{variable}: [^$\s]", text), variable
    assert "RAMPART_MASTER_KEY" not in yaml.safe_dump(_compose()["services"]["rampart"])


@pytest.mark.parametrize(("service", "source", "volume"), _bind_mounts())
def test_every_mounted_file_exists(service: str, source: str, volume: str) -> None:
    path = (DEPLOY / source).resolve()
    relative = path.relative_to(DEPLOY).as_posix()
    if not path.exists() and relative.startswith(EXPORTED):
        pytest.skip(f"{relative} is written by `rampart ops export --out deploy`; not there yet")
    assert path.exists(), f"{service} mounts {volume} but deploy/{relative} does not exist"


def test_prometheus_is_pointed_at_the_compose_services(tmp_path: Path) -> None:
    config = DEPLOY / "prometheus" / "prometheus.yml"
    if not config.exists():
        pytest.skip("deploy/prometheus/prometheus.yml is written by `rampart ops export`")
    # Run the container's own start command on a copy, with Prometheus itself left out.
    (script,) = _compose()["services"]["prometheus"]["command"]
    script = (
        script.replace("/etc/prometheus/rampart", str(DEPLOY / "prometheus"))
        .replace("/tmp/rampart-prometheus", str(tmp_path / "prometheus"))
        .replace("exec /bin/prometheus", "exec true")
    )
    started = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    parsed = yaml.safe_load((tmp_path / "prometheus" / "prometheus.yml").read_text())
    targets = [
        target
        for job in parsed.get("scrape_configs", [])
        for static in job.get("static_configs", [])
        for target in static.get("targets", [])
    ]
    assert "rampart:8080" in targets, targets
    # Relative rule files resolve next to the copied config, so they must be in ./prometheus.
    for rules in parsed.get("rule_files", []):
        assert not Path(rules).is_absolute() and (config.parent / rules).exists(), rules
    alerting = yaml.safe_dump(parsed.get("alerting", {}))
    assert "127.0.0.1" not in alerting and "localhost" not in alerting, alerting


def test_grafana_provisioning_points_at_prometheus_and_the_dashboards() -> None:
    compose = _compose()["services"]["grafana"]
    sources = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/datasources/prometheus.yml").read_text()
    )
    (source,) = sources["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    providers = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/rampart.yml").read_text())
    (provider,) = providers["providers"]
    mounted = {v.split(":")[1] for v in compose["volumes"] if v.startswith("./grafana/dashboards")}
    assert provider["options"]["path"] in mounted


def test_the_image_runs_rampart_as_a_non_root_user_with_a_health_check() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    text = "\n".join(lines)
    assert lines[0] == "FROM python:3.11-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    assert "pip install ." in text
    assert "EXPOSE 8080" in lines
    assert re.search(r"HEALTHCHECK .*\n?.*127\.0\.0\.1:8080/health", text)
    assert 'ENTRYPOINT ["rampart"]' in lines and any(
        line.startswith('CMD ["run"') for line in lines
    )
    assert "RAMPART_API__HOST=0.0.0.0" in text
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "var", "tests"} <= ignored


def test_the_runbook_covers_every_default_alert_and_level() -> None:
    from rampart.observability.alerts.rules import default_rules

    runbook = (ROOT / "docs/operations/runbook.md").read_text()
    levels = (ROOT / "docs/operations/incident-levels.md").read_text()
    headings = set(re.findall(r"^### (\w+)$", runbook, re.M))
    for rule in default_rules():
        assert rule.name in headings, f"the runbook has no section for {rule.name}"
        section = runbook.split(f"## {rule.severity}:", 1)[1].split("\n## ", 1)[0]
        assert f"### {rule.name}\n" in section, f"{rule.name} is not under {rule.severity}"
        assert f"`{rule.name}`" in levels, rule.name


def test_operations_docs_links_resolve() -> None:
    for page in (ROOT / "docs/operations").glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
    assert "operations/runbook.md" in (ROOT / "docs/README.md").read_text()


def test_the_image_copies_every_file_the_package_build_reads() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {project["readme"], *project.get("license-files", [])}
    copied = {
        word
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
        for word in line.split()[1:-1]
    }
    assert needed <= copied, f"`pip install .` in the image needs {sorted(needed - copied)}"
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert not [n for n in needed for p in patterns if Path(n).match(p)]
