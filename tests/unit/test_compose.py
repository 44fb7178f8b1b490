"""Structure of the scale-out deployment (compose.yaml, Dockerfile, deploy/nginx).

    .venv/bin/pytest tests/unit/test_compose.py

No Docker engine runs on the development machines, so `docker compose config` cannot be run
here: these tests load compose.yaml with PyYAML and check what the deployment promises (two
app replicas behind one published port, health-gated start order, secrets required from the
environment, a non-root app image that runs `vouch serve`). Each checker is also run against a
deliberately broken copy of the file, so a checker that stopped finding problems would fail.
"""

from __future__ import annotations

import copy
import importlib
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
NGINX = ROOT / "deploy" / "nginx" / "nginx.conf"

SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|(^|_)KEY($|_)|CREDENTIAL", re.IGNORECASE)
REQUIRED_VAR = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$")
URL_USERINFO = re.compile(r"://(?P<user>[^:/@]+):(?P<password>.+)@")
SECRET_PATH = re.compile(r"^/run/secrets/(?P<secret>[A-Za-z0-9_.-]+)$")
VAR_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>[^}]*)\}")


# ---- helpers --------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(document, dict), "compose.yaml must be a mapping"
    return document


def dockerfile_cmd() -> list[str]:
    """The exec-form CMD of the Dockerfile (the last one wins, as in Docker)."""
    cmds = [line for line in DOCKERFILE.read_text().splitlines() if line.startswith("CMD ")]
    assert cmds, "Dockerfile has no CMD"
    value = yaml.safe_load(cmds[-1].removeprefix("CMD "))  # a JSON array is valid YAML
    assert isinstance(value, list), "CMD must use the exec (JSON array) form"
    return [str(part) for part in value]


def command_of(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if command is None:
        return dockerfile_cmd() if "build" in service else []
    if isinstance(command, str):
        return shlex.split(command)
    return [str(part) for part in command]


def runs_vouch(service: dict[str, Any], subcommand: str) -> bool:
    return command_of(service)[:2] == ["vouch", subcommand]


def app_services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in document["services"].items()
        if runs_vouch(service, "serve")
    }


def replica_count(document: dict[str, Any]) -> int:
    """App instances: the replicas of every service that runs `vouch serve`."""
    return sum(
        int((service.get("deploy") or {}).get("replicas", 1))
        for service in app_services(document).values()
    )


def published_services(document: dict[str, Any]) -> list[str]:
    return [name for name, service in document["services"].items() if service.get("ports")]


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(key): str(value) for key, value in env.items()}


def unguarded_secrets(document: dict[str, Any]) -> list[str]:
    """Secret values that are not required from the environment with ``${VAR:?...}`` (a
    path under /run/secrets/ names a compose secret: ``secret_file_problems`` checks it)."""
    problems = []
    for name, service in document["services"].items():
        for key, value in environment_of(service).items():
            if SECRET_KEY.search(key) and not REQUIRED_VAR.match(value) \
                    and not SECRET_PATH.match(value):
                problems.append(f"{name}.{key}")
            userinfo = URL_USERINFO.search(value)
            if userinfo and not REQUIRED_VAR.match(userinfo["password"]):
                problems.append(f"{name}.{key} (password inside URL)")
    return problems


def secret_file_problems(document: dict[str, Any]) -> list[str]:
    """Environment values naming /run/secrets/<secret> whose secret the service is not given,
    or whose secret is not a file required from the environment (``${VAR:?...}``)."""
    problems = []
    declared = document.get("secrets") or {}
    for name, service in document["services"].items():
        given = {s if isinstance(s, str) else s.get("source") for s in service.get("secrets", [])}
        for key, value in environment_of(service).items():
            match = SECRET_PATH.match(value)
            if match is None:
                continue
            secret = match["secret"]
            if secret not in given:
                problems.append(f"{name}.{key}: the service is not given the secret {secret}")
            source = (declared.get(secret) or {}).get("file", "")
            if not REQUIRED_VAR.match(source):
                problems.append(f"{name}.{key}: the secret {secret} is not a file required "
                                "from the environment")
    return problems


def unhealthy_dependencies(document: dict[str, Any], service_name: str) -> list[str]:
    """Dependencies of ``service_name`` on postgres/elasticsearch not gated on health."""
    depends = document["services"][service_name].get("depends_on") or {}
    problems = []
    for needed in ("postgres", "elasticsearch"):
        if not isinstance(depends, dict) or needed not in depends:
            problems.append(f"{service_name} does not depend on {needed}")
        elif depends[needed].get("condition") != "service_healthy":
            problems.append(f"{service_name} -> {needed} is not condition: service_healthy")
    return problems


def healthcheck_text(service: dict[str, Any]) -> str:
    check = service.get("healthcheck") or {}
    if check.get("disable"):
        return ""
    test = check.get("test", "")
    return " ".join(test) if isinstance(test, list) else str(test)


def comment_above(text: str, marker: str) -> str:
    """The block of ``#`` comment lines directly above the line containing ``marker``."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if marker in line)
    comment: list[str] = []
    for line in reversed(lines[:index]):
        if not line.strip().startswith("#"):
            break
        comment.insert(0, line.strip().lstrip("#").strip())
    return " ".join(comment)


def readiness_problems(document: dict[str, Any]) -> list[str]:
    """App services whose health check is not the readiness probe (GET /readyz)."""
    problems = []
    for name, service in app_services(document).items():
        text = healthcheck_text(service)
        if "/readyz" not in text:
            problems.append(f"{name} health check does not probe /readyz")
        if "/healthz" in text:
            problems.append(f"{name} health check probes liveness (/healthz)")
    return problems


def upstream_problems(nginx: str, app_name: str) -> list[str]:
    """What the nginx config lacks for passive health checks of the app replicas (open-source
    nginx has no active ones) and for answering problem+json when none is left."""
    problems = []
    server = re.search(rf"^\s*server\s+{app_name}:8000\b([^;]*);", nginx, re.MULTILINE)
    if server is None:
        return [f"no upstream server {app_name}:8000"]
    fails = re.search(r"\bmax_fails=(\d+)", server[1])
    if fails is None or int(fails[1]) < 1:
        problems.append("upstream server has no max_fails >= 1 (passive health check)")
    if not re.search(r"\bfail_timeout=\d+s?\b", server[1]):
        problems.append("upstream server has no fail_timeout")
    next_upstream = re.search(r"^\s*proxy_next_upstream\s+([^;]*);", nginx, re.MULTILINE)
    counted = set(next_upstream[1].split()) if next_upstream else set()
    for failure in ("error", "timeout", "http_503"):
        if failure not in counted:
            problems.append(f"proxy_next_upstream does not count {failure}")
    if "non_idempotent" in counted:
        problems.append("proxy_next_upstream retries non-idempotent requests (publishes)")
    page = re.search(r"^\s*error_page\s+([^;]*)=\s*(@\w+)\s*;", nginx, re.MULTILINE)
    if page is None or "502" not in page[1].split():
        problems.append("nginx's own 502 (no live upstream) is not turned into problem+json")
    else:
        body = re.search(rf"location\s+{page[2]}\s*\{{(.*?)\n\s*\}}", nginx, re.DOTALL)
        block = body[1] if body else ""
        if "application/problem+json" not in block or "Retry-After" not in block \
                or not re.search(r"return\s+503\b", block):
            problems.append(f"{page[2]} does not answer 503 problem+json with Retry-After")
    return problems


# ---- the real files ---------------------------------------------------------------------------


def test_compose_parses_and_names_every_service() -> None:
    services = load_compose()["services"]
    assert {"lb", "postgres", "elasticsearch", "worker"} <= set(services)
    assert app_services(load_compose()), "no service runs `vouch serve`"


def test_two_app_replicas_run_vouch_serve() -> None:
    document = load_compose()
    assert replica_count(document) >= 2
    for service in app_services(document).values():
        assert command_of(service) == ["vouch", "serve", "--host", "0.0.0.0", "--port", "8000"]


def test_exactly_one_port_is_published_and_it_is_the_load_balancer() -> None:
    document = load_compose()
    assert published_services(document) == ["lb"]
    ports = document["services"]["lb"]["ports"]
    assert len(ports) == 1
    for name in app_services(document):
        assert "ports" not in document["services"][name]


def test_load_balancer_config_is_mounted_and_targets_the_app_service() -> None:
    document = load_compose()
    lb = document["services"]["lb"]
    mounts = [volume.split(":") for volume in lb["volumes"]]
    configs = [ROOT / source for source, *_ in mounts if source.startswith("./deploy/")]
    assert configs, "the load balancer config must come from deploy/"
    text = configs[0].read_text()
    (app_name,) = app_services(document)
    assert re.search(rf"server\s+{app_name}:8000\b", text), "upstream must point at the apps"
    published = lb["ports"][0]
    container_port = str(published).rsplit(":", 1)[-1]
    assert re.search(rf"listen\s+{container_port}\b", text), "nginx must listen on the port"
    assert lb["depends_on"][app_name]["condition"] == "service_healthy"


def test_app_replicas_are_healthy_only_when_ready() -> None:
    document = load_compose()
    assert readiness_problems(document) == []
    # The load balancer and nothing else waits for that health (start order).
    (app_name,) = app_services(document)
    assert document["services"]["lb"]["depends_on"][app_name]["condition"] == "service_healthy"


def test_the_load_balancer_checks_replicas_passively_and_answers_problem_json() -> None:
    (app_name,) = app_services(load_compose())
    assert upstream_problems(NGINX.read_text(), app_name) == []


def test_the_passive_health_checks_are_documented() -> None:
    for text in (COMPOSE.read_text(), NGINX.read_text()):
        assert "max_fails" in text and "/readyz" in text
        assert re.search(r"passive", text, re.IGNORECASE)


def test_postgres_16_has_a_pg_isready_healthcheck() -> None:
    postgres = load_compose()["services"]["postgres"]
    assert str(postgres["image"]).startswith("postgres:16")
    assert "pg_isready" in healthcheck_text(postgres)


def test_elasticsearch_9_single_node_has_a_healthcheck_and_stays_internal() -> None:
    document = load_compose()
    es = document["services"]["elasticsearch"]
    assert re.search(r"elasticsearch:9\.\d+", es["image"])
    assert "_cluster/health" in healthcheck_text(es)
    env = environment_of(es)
    assert env["discovery.type"] == "single-node"
    # Security is off only because the service never leaves the internal network.
    assert "ports" not in es
    assert es["networks"] == ["backend"]
    assert document["networks"]["backend"]["internal"] is True
    assert "internal" in comment_above(COMPOSE.read_text(), "xpack.security.enabled:")


def test_apps_and_worker_wait_for_healthy_postgres_and_elasticsearch() -> None:
    document = load_compose()
    for name in [*app_services(document), "worker"]:
        assert unhealthy_dependencies(document, name) == []


def test_migrations_run_once_before_the_apps_start() -> None:
    document = load_compose()
    migrate = document["services"]["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in [*app_services(document), "worker"]:
        depends = document["services"][name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    # The one-shot command imports these names: fail here, not at deploy time, if they move.
    script = command_of(migrate)[-1]
    for module, names in re.findall(r"from ([\w.]+) import ([\w, ]+)", script):
        imported = importlib.import_module(module)
        for attribute in names.split(","):
            assert hasattr(imported, attribute.strip()), f"{module}.{attribute.strip()}"


def test_worker_runs_vouch_worker() -> None:
    assert command_of(load_compose()["services"]["worker"]) == ["vouch", "worker"]


def test_only_the_worker_drains_the_outbox() -> None:
    # Each replica would otherwise run a worker thread beside the worker container.
    document = load_compose()
    for name, service in app_services(document).items():
        assert environment_of(service).get("VOUCH_RUN_WORKER") == "false", name
        assert environment_of(service).get("FORWARDED_ALLOW_IPS") == "*", name
    assert environment_of(document["services"]["worker"]).get("VOUCH_RUN_WORKER") != "false"


def test_every_secret_is_required_from_the_environment() -> None:
    assert unguarded_secrets(load_compose()) == []


def test_production_gets_the_npm_signing_key_as_a_read_only_compose_secret() -> None:
    """Production refuses to start without VOUCH_NPM_SIGNING_KEY (issue 15): every process
    that loads the settings gets it as a path to a compose secret (mounted read-only at
    /run/secrets/), whose file the operator must name (``${VOUCH_NPM_SIGNING_KEY_FILE:?}``);
    the key itself never passes through the environment."""
    from app.core.config import Settings

    document = load_compose()
    for name in [*app_services(document), "worker", "migrate"]:
        env = environment_of(document["services"][name])
        assert env["VOUCH_NPM_SIGNING_KEY"] == "/run/secrets/npm_signing_key", name
    assert secret_file_problems(document) == []
    assert document["secrets"]["npm_signing_key"]["file"].startswith(
        "${VOUCH_NPM_SIGNING_KEY_FILE:?")
    env = environment_of(document["services"]["worker"])
    settings = Settings(environment="production",  # type: ignore[arg-type]
                        npm_signing_key=env["VOUCH_NPM_SIGNING_KEY"])
    assert str(settings.npm_signing_key) == "/run/secrets/npm_signing_key"
    with pytest.raises(ValueError, match="VOUCH_NPM_SIGNING_KEY"):
        Settings(environment="production")  # type: ignore[arg-type]
    readme = (ROOT / "README.md").read_text()
    assert "VOUCH_NPM_SIGNING_KEY_FILE" in readme
    assert "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256" in readme


def test_checkers_reject_a_signing_key_without_its_secret() -> None:
    broken = copy.deepcopy(load_compose())
    broken["services"]["worker"] = {**broken["services"]["worker"], "secrets": []}
    broken["secrets"]["npm_signing_key"]["file"] = "./npm-signing-key.pem"
    assert sorted(secret_file_problems(broken)) == sorted(
        [f"{name}.VOUCH_NPM_SIGNING_KEY: the secret npm_signing_key is not a file required "
         "from the environment" for name in ("app", "worker", "migrate")]
        + ["worker.VOUCH_NPM_SIGNING_KEY: the service is not given the secret npm_signing_key"])


def test_every_reference_to_a_secret_variable_is_required() -> None:
    for match in VAR_REFERENCE.finditer(COMPOSE.read_text()):
        if SECRET_KEY.search(match["name"]):
            assert match["op"].startswith(":?"), match.group(0)


def test_compose_has_no_stray_dollar_signs() -> None:
    # Compose interpolates every `$`; a literal one must be written `$$`.
    text = VAR_REFERENCE.sub("", COMPOSE.read_text()).replace("$$", "")
    assert "$" not in text


def test_app_environment_points_at_the_scale_out_backends() -> None:
    document = load_compose()
    for name in [*app_services(document), "worker"]:
        env = environment_of(document["services"][name])
        assert env["VOUCH_ENVIRONMENT"] == "production"
        assert env["VOUCH_DATA_DIR"] == "/data"
        assert env["VOUCH_SEARCH_BACKEND"] == "elasticsearch"
        assert env["VOUCH_ELASTICSEARCH_URL"] == "http://elasticsearch:9200"
        url = env["VOUCH_DATABASE_URL"]
        assert url.startswith("postgresql://")
        assert "@postgres:5432/" in url
        assert "${POSTGRES_PASSWORD:?" in url


def test_apps_and_worker_share_one_data_volume_at_the_data_dir() -> None:
    """Staged uploads only: the artifacts are in the bucket (below)."""
    document = load_compose()
    sources = set()
    for name in [*app_services(document), "worker"]:
        mounts = [v for v in document["services"][name]["volumes"] if v.split(":")[1] == "/data"]
        assert len(mounts) == 1, name
        sources.add(mounts[0].split(":")[0])
    assert len(sources) == 1
    (volume,) = sources
    assert volume in document["volumes"], "the data volume must be a named volume"


# ---- artifacts in MinIO (issue 16) ------------------------------------------------------------

BUCKET = "vouch-artifacts"


def test_apps_and_worker_store_artifacts_in_the_minio_bucket_and_redirect_downloads() -> None:
    document = load_compose()
    for name in [*app_services(document), "worker"]:
        env = environment_of(document["services"][name])
        assert env["VOUCH_BLOB_STORE"] == "s3"
        assert env["VOUCH_S3_BUCKET"] == BUCKET
        assert env["VOUCH_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert env["VOUCH_DOWNLOAD_MODE"] == "redirect"
        assert "VOUCH_ACCEL_REDIRECT_PREFIX" not in env  # refused with S3 (no blob directory)
        # Credentials only through the SDK's standard variables, required from the outside.
        assert REQUIRED_VAR.match(env["AWS_ACCESS_KEY_ID"])
        assert REQUIRED_VAR.match(env["AWS_SECRET_ACCESS_KEY"])
        assert not [key for key, value in env.items() if key.startswith("VOUCH_")
                    and SECRET_KEY.search(key) and not SECRET_PATH.match(value)]
        assert "storage" in document["services"][name]["networks"]
        depends = document["services"][name]["depends_on"]
        assert depends["minio-init"]["condition"] == "service_completed_successfully"


def test_the_settings_compose_passes_are_accepted() -> None:
    """What the replicas start with passes the settings' own checks (S3 + redirect)."""
    from app.core.config import Settings

    env = environment_of(load_compose()["services"]["worker"])
    keys = ("VOUCH_BLOB_STORE", "VOUCH_S3_BUCKET", "VOUCH_S3_ENDPOINT_URL", "VOUCH_S3_REGION",
            "VOUCH_DOWNLOAD_MODE")
    values = {key.removeprefix("VOUCH_").lower(): env[key] for key in keys}
    settings = Settings(**values)  # type: ignore[arg-type]
    assert settings.blob_store == "s3" and settings.download_mode == "redirect"


def test_minio_is_internal_and_a_one_shot_job_creates_the_bucket_first() -> None:
    document = load_compose()
    services = document["services"]
    minio, init = services["minio"], services["minio-init"]
    assert "ports" not in minio and minio["networks"] == ["storage"]
    assert document["networks"]["storage"]["internal"] is True
    assert "mc ready" in healthcheck_text(minio)
    assert init["depends_on"]["minio"]["condition"] == "service_healthy"
    assert init["restart"] == "no"
    script = " ".join(command_of(init))
    assert f"mc mb --ignore-existing vouch/{BUCKET}" in script
    for name in ("MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"):
        assert REQUIRED_VAR.match(environment_of(minio)[name]), name
        assert REQUIRED_VAR.match(environment_of(init)[name]), name
    # The apps never get the root credentials.
    for name in [*app_services(document), "worker"]:
        assert not {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} & set(
            environment_of(services[name]))


def test_vouchs_minio_user_may_touch_its_bucket_only() -> None:
    init = load_compose()["services"]["minio-init"]
    (mount,) = [v for v in init["volumes"] if v.startswith("./deploy/minio/")]
    policy = json.loads((ROOT / mount.split(":")[0]).read_text())
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"}
    actions = {a for statement in policy["Statement"] for a in statement["Action"]}
    assert not [a for a in actions if "*" in a]
    assert {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"} <= actions
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])


def test_nginx_forwards_presigned_gets_to_minio_without_a_blob_volume() -> None:
    lb = load_compose()["services"]["lb"]
    assert not [v for v in lb["volumes"] if ":/data" in v]
    assert "storage" in lb["networks"]
    text = NGINX.read_text()
    block = re.search(rf"location /{BUCKET}/ \{{(.*?)\n        \}}", text, re.DOTALL)
    assert block is not None
    assert "proxy_pass http://minio:9000;" in block[1]
    assert "proxy_set_header Host $http_host;" in block[1]  # the signature covers the host
    assert re.search(r"limit_except GET \{\s*deny all;", block[1])
    assert "/_blobs/" not in text


def test_dockerfile_builds_a_non_root_python_311_image_that_serves() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.MULTILINE)
    assert re.search(r"^RUN .*pip install \.", text, re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert dockerfile_cmd() == ["vouch", "serve", "--host", "0.0.0.0", "--port", "8000"]


def test_app_services_build_from_the_dockerfile() -> None:
    document = load_compose()
    for name in [*app_services(document), "worker"]:
        build = document["services"][name]["build"]
        assert build["context"] == "."
        assert (ROOT / build["context"] / build.get("dockerfile", "Dockerfile")).is_file()


# ---- the checkers find real problems ----------------------------------------------------------


def test_checkers_reject_a_broken_deployment() -> None:
    broken = copy.deepcopy(load_compose())
    services = broken["services"]
    services["app"]["deploy"]["replicas"] = 1
    services["app"]["ports"] = ["8001:8000"]
    services["app"]["depends_on"]["postgres"] = {"condition": "service_started"}
    services["app"]["depends_on"].pop("elasticsearch")
    services["postgres"]["environment"]["POSTGRES_PASSWORD"] = "hunter2"
    # YAML anchors share one mapping between app, worker and migrate: break only the worker's.
    services["worker"]["environment"] = dict(services["worker"]["environment"])
    services["worker"]["environment"]["VOUCH_DATABASE_URL"] = "postgresql://v:pw@postgres/v"
    services["worker"]["environment"]["S3_SECRET_KEY"] = "${S3_SECRET_KEY:-changeme}"

    assert replica_count(broken) == 1
    assert sorted(published_services(broken)) == ["app", "lb"]
    assert unhealthy_dependencies(broken, "app") == [
        "app -> postgres is not condition: service_healthy",
        "app does not depend on elasticsearch",
    ]
    assert sorted(unguarded_secrets(broken)) == [
        "postgres.POSTGRES_PASSWORD",
        "worker.S3_SECRET_KEY",
        "worker.VOUCH_DATABASE_URL (password inside URL)",
    ]


def test_checkers_reject_a_deployment_without_readiness() -> None:
    broken = copy.deepcopy(load_compose())
    app = broken["services"]["app"]
    app["healthcheck"] = dict(app["healthcheck"])
    app["healthcheck"]["test"] = ["CMD", "wget", "-q", "http://127.0.0.1:8000/healthz"]
    assert readiness_problems(broken) == [
        "app health check does not probe /readyz",
        "app health check probes liveness (/healthz)",
    ]
    app["healthcheck"] = {"disable": True}
    assert readiness_problems(broken) == ["app health check does not probe /readyz"]


def test_checkers_reject_an_upstream_without_passive_checks() -> None:
    text = NGINX.read_text()
    broken = re.sub(r"max_fails=\d+ fail_timeout=\d+s", "", text)
    broken = re.sub(r"proxy_next_upstream .*;", "proxy_next_upstream error non_idempotent;",
                    broken)
    broken = re.sub(r"error_page .*;", "", broken)
    assert upstream_problems(broken, "app") == [
        "upstream server has no max_fails >= 1 (passive health check)",
        "upstream server has no fail_timeout",
        "proxy_next_upstream does not count timeout",
        "proxy_next_upstream does not count http_503",
        "proxy_next_upstream retries non-idempotent requests (publishes)",
        "nginx's own 502 (no live upstream) is not turned into problem+json",
    ]
    html = text.replace("application/problem+json", "text/html")
    assert upstream_problems(html, "app") == [
        "@unavailable does not answer 503 problem+json with Retry-After"]
    assert upstream_problems(text, "web") == ["no upstream server web:8000"]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("vouch serve --port 8000", ["vouch", "serve", "--port", "8000"]),
        (["vouch", "worker"], ["vouch", "worker"]),
    ],
)
def test_command_of_reads_both_forms(command: object, expected: list[str]) -> None:
    assert command_of({"command": command}) == expected


def test_command_of_falls_back_to_the_dockerfile_cmd() -> None:
    assert runs_vouch({"build": {"context": "."}}, "serve")
    assert not runs_vouch({"image": "postgres:16"}, "serve")
