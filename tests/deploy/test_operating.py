"""`central-logger serve` as an operator runs it: metrics summed across workers, one
JSON object per log line with the request id and never a key, HSTS behind a trusted
proxy, and HTTPS served directly with a certificate made here."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from central_logger.cli import app as cli
from tests.api.scrape import value
from tests.support.live import ServeProcess

KEY = "operator-test-key-5f1c"
TOKEN = "operator-scrape-token"
REQUESTS = 40


def _env(database_url: str, workdir: Path, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "ENVIRONMENT": "production",
        "API_KEYS": json.dumps({KEY: "tenant_op"}),
        "ADMIN_API_KEYS": "[]",
        "CENTRAL_LOGGER_DATA_DIR": str(workdir),
        "METRICS_TOKEN": TOKEN,
        "LOG_LEVEL": "info",
        # serve's own temporary directory (the workers' metric files) goes here.
        "TMPDIR": str(workdir),
        **extra,
    }


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"a log line that is not JSON: {line!r}")
    return parsed


def test_two_workers_metrics_json_logs_and_a_trusted_proxy(
    database_url: str, tmp_path: Path
) -> None:
    env = _env(database_url, tmp_path, FORWARDED_ALLOW_IPS="127.0.0.1")
    serve = ServeProcess(env, tmp_path / "serve.log", "--workers", "2")
    try:
        serve.wait_healthy()
        assert list(tmp_path.glob("central-logger-metrics-*")), "no shared metrics directory"
        headers = {"X-API-Key": KEY}
        for _ in range(REQUESTS):
            # A connection each: the kernel hands them to either worker.
            with httpx.Client() as http:
                assert http.get(f"{serve.url}/api/v1/logs", headers=headers).status_code == 200
        scrapes = []
        for _ in range(4):
            with httpx.Client() as http:
                answer = http.get(
                    f"{serve.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                )
            assert answer.status_code == 200
            scrapes.append(answer.text)
        traced = httpx.get(
            f"{serve.url}/api/v1/logs/{uuid.uuid4()}",
            headers={**headers, "X-Request-ID": "op-trace-0001"},
        )
        httpx.get(f"{serve.url}/api/v1/logs?api_key={KEY}")
        proxied = httpx.get(f"{serve.url}/health", headers={"X-Forwarded-Proto": "https"})
        plain = httpx.get(f"{serve.url}/health")
    finally:
        serve.stop()

    route = {"method": "GET", "route": "/api/v1/logs", "status": "200"}
    for text in scrapes:
        # Whichever worker answered the scrape, it reports both workers' requests...
        assert value(text, "central_logger_http_requests_total", **route) == REQUESTS
        # ... and both pools (DB_POOL_SIZE + DB_MAX_OVERFLOW = 20 each).
        assert value(text, "central_logger_db_pool_connections_max") == 40
    assert not list(tmp_path.glob("central-logger-metrics-*")), "metrics files left behind"

    assert traced.status_code == 404
    assert traced.headers["x-request-id"] == "op-trace-0001"
    assert traced.json()["request_id"] == "op-trace-0001"
    assert "strict-transport-security" in proxied.headers
    assert "strict-transport-security" not in plain.headers

    output = serve.text()
    assert KEY not in output
    records = _json_lines(output)
    assert "keys create" in records[0]["event"] or "API key" in records[0]["event"]
    access = [r for r in records if r.get("logger") == "uvicorn.access"]
    assert len(access) >= REQUESTS
    (line,) = [r for r in access if r.get("request_id") == "op-trace-0001"]
    assert line["status"] == 404
    assert line["method"] == "GET"
    assert line["path"].startswith("/api/v1/logs/")
    assert line["level"] == "info"
    assert "timestamp" in line
    assert any(r.get("path") == "/api/v1/logs?api_key=[redacted]" for r in access)


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_with_a_certificate_and_key(database_url: str, tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    serve = ServeProcess(
        _env(database_url, tmp_path),
        tmp_path / "serve.log",
        "--ssl-certfile",
        str(cert),
        "--ssl-keyfile",
        str(key),
    )
    base = f"https://127.0.0.1:{serve.port}"
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert serve.process.poll() is None, serve.text()[-3000:]
            try:
                health = httpx.get(f"{base}/health", verify=trust, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, serve.text()[-3000:]
                time.sleep(0.2)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"http://127.0.0.1:{serve.port}/health", timeout=5)
    finally:
        serve.stop()
    assert health.status_code == 200
    assert health.headers["strict-transport-security"] == "max-age=31536000"
    assert f"https://localhost:{serve.port}" in serve.text()


def test_https_needs_both_files(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--ssl-certfile", str(cert)])
    assert result.exit_code != 0
    assert "--ssl-keyfile" in result.output
    missing = CliRunner().invoke(
        cli, ["serve", "--ssl-certfile", str(cert), "--ssl-keyfile", str(tmp_path / "nope.pem")]
    )
    assert missing.exit_code != 0
    assert "nope.pem" in missing.output
