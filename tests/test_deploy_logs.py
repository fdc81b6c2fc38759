"""The ``logs`` compose profile: an OpenTelemetry collector shipping Rampart's JSON
log files to Loki and a file, and receiving its OTLP traces. No Docker engine runs here, so
the compose file and the collector's configuration are checked as data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from rampart.config import load_settings
from tests.test_deploy import COMPOSE, DEPLOY, LOGS_PROFILE, SERVICES

COLLECTOR = DEPLOY / "otel-collector" / "config.yaml"


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def test_the_logs_profile_is_off_unless_asked_for_and_mounts_what_exists() -> None:
    services = _compose()["services"]
    for name in LOGS_PROFILE:
        assert services[name]["profiles"] == ["logs"], name
    for name in SERVICES:
        assert "profiles" not in services[name], f"{name} must start without a profile"
    collector = services["otel-collector"]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in collector["volumes"]}
    assert (DEPLOY / mounts["/etc/otelcol/config.yaml"]).resolve() == COLLECTOR.resolve()
    assert COLLECTOR.exists()
    # Rampart's var volume (its log files), read-only.
    assert "rampart-var:/var/rampart:ro" in collector["volumes"]
    assert "/app/var" in " ".join(services["rampart"]["volumes"])
    assert {"otel-data", "loki-data"} <= set(_compose()["volumes"])
    assert "127.0.0.1:13133:13133" in collector["ports"]  # its health, probed from the host


def test_the_collector_pipelines_use_only_what_it_defines() -> None:
    config = yaml.safe_load(COLLECTOR.read_text())
    pipelines = config["service"]["pipelines"]
    assert set(pipelines) == {"logs", "traces"}
    for pipeline in pipelines.values():
        for part in ("receivers", "processors", "exporters"):
            for component in pipeline[part]:
                assert component in config[part], component
    for extension in config["service"]["extensions"]:
        assert extension in config["extensions"], extension
    # The log files Rampart writes, read as JSON with their time and level.
    filelog = config["receivers"]["filelog/rampart"]
    assert filelog["include"] == ["/var/rampart/rampart*.log"]
    parser = filelog["operators"][0]
    assert parser["type"] == "json_parser"
    assert parser["timestamp"]["parse_from"] == "attributes.timestamp"
    assert parser["severity"]["parse_from"] == "attributes.level"
    assert pipelines["logs"]["exporters"] == ["otlphttp/loki", "file/logs"]
    assert config["exporters"]["otlphttp/loki"]["endpoint"] == "http://loki:3100/otlp"
    assert "otlp" in pipelines["traces"]["receivers"]
    assert config["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")


def test_rampart_sends_its_traces_to_the_collector_when_told() -> None:
    env = _compose()["services"]["rampart"]["environment"]
    assert env["RAMPART_TRACING__EXPORTER"] == "${RAMPART_TRACING__EXPORTER:-off}"
    endpoint = env["RAMPART_TRACING__OTLP_ENDPOINT"]
    assert endpoint == "http://otel-collector:4318/v1/traces"
    settings = load_settings(
        DEPLOY / "rampart.yaml", tracing={"exporter": "otlp", "otlp_endpoint": endpoint}
    )
    assert settings.tracing.exporter == "otlp"
    assert load_settings(DEPLOY / "rampart.yaml").tracing.exporter == "off"


def test_the_log_timestamps_parse_with_the_collectors_layout(tmp_path: Path) -> None:
    """A line Rampart writes has the time layout the collector parses (UTC, microseconds)."""
    import datetime as dt
    import json

    import structlog

    from rampart.observability.logging import configure_logging

    log = tmp_path / "rampart.log"
    saved = structlog.get_config()
    try:
        configure_logging("info", file=log)
        structlog.get_logger("t").info("hello")
    finally:
        configure_logging("info")  # closes the file
        structlog.configure(**saved)
    stamp = json.loads(log.read_text().splitlines()[0])["timestamp"]
    layout = yaml.safe_load(COLLECTOR.read_text())["receivers"]["filelog/rampart"]["operators"][0]
    dt.datetime.strptime(stamp, layout["timestamp"]["layout"])


def test_the_scale_stack_sends_every_process_traces_to_its_collector() -> None:
    scale = yaml.safe_load((DEPLOY / "scale" / "docker-compose.yml").read_text())
    services = scale["services"]
    for name in ("otel-collector", "loki"):
        assert services[name]["profiles"] == ["logs"]
    config = services["otel-collector"]["volumes"][0].split(":")[0]
    assert (DEPLOY / "scale" / config).resolve() == COLLECTOR.resolve()
    for name in ("feed", "worker-1", "serve-8081"):
        env = services[name]["environment"]
        assert env["RAMPART_TRACING__EXPORTER"] == "${RAMPART_TRACING__EXPORTER:-off}", name
        assert env["RAMPART_TRACING__OTLP_ENDPOINT"].startswith("http://otel-collector:4318/")
