"""The image: its Dockerfile, .dockerignore and compose.yaml.

Without a container engine (none on the development machine) the build stage's RUN steps are run as
written, on the files the .dockerignore lets into the context, in temporary folders standing for /opt
and /tmp; the image itself is built and run only where `docker info` answers.
"""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.database_url import normalise_database_url
from service.runtime.metrics import Metrics, serve

from mailfactory import client_mail, drop

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)


# -- reading the Dockerfile ---------------------------------------------------------------------------

def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction is not part of it
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        keyword, _, rest = whole.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each FROM stage; the global ARGs before the first FROM are stage -1's."""
    found: list[list[tuple[str, str]]] = [[]]
    for keyword, rest in instructions(text):
        if keyword == "FROM":
            found.append([])
        found[-1].append((keyword, rest))
    return found


def arg_defaults(stage: list[tuple[str, str]]) -> dict[str, str]:
    return dict(rest.split("=", 1) for keyword, rest in stage if keyword == "ARG" and "=" in rest)


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
    return env


def copies(stage: list[tuple[str, str]]) -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY from the build context (not --from another stage)."""
    out = []
    for keyword, rest in stage:
        tokens = rest.split()
        if keyword == "COPY" and not any(t.startswith("--from") for t in tokens):
            *sources, dst = [t for t in tokens if not t.startswith("--")]
            out.append((sources, dst))
    return out


def health_command(text: str) -> list[str]:
    (rest,) = [rest for keyword, rest in instructions(text) if keyword == "HEALTHCHECK"]
    _, _, command = rest.partition(" CMD ")
    parsed: list[str] = json.loads(command)
    return parsed


DOCKERFILE = (ROOT / "Dockerfile").read_text()
GLOBAL, BUILD, RUNTIME = stages(DOCKERFILE)


# -- the build context: Docker's .dockerignore rules, for the patterns that file uses ---------------

def _pattern_matches(pattern: str, path: str) -> bool:
    """Go's filepath.Match per path element (`*` never crosses a /), `**` for any number of elements."""
    def match(pat: list[str], parts: list[str]) -> bool:
        if not pat:
            return not parts
        if pat[0] == "**":
            return any(match(pat[1:], parts[i:]) for i in range(len(parts) + 1))
        return bool(parts) and fnmatch.fnmatchcase(parts[0], pat[0]) and match(pat[1:], parts[1:])
    return match(pattern.strip("/").split("/"), path.split("/"))


def ignore_rules() -> list[tuple[bool, str]]:
    """(exclude?, pattern) in file order."""
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            rules.append((not line.startswith("!"), line.removeprefix("!")))
    return rules


def ignored(path: str, rules: list[tuple[bool, str]]) -> bool:
    """The last rule that matches the path or one of its parent folders decides (Docker's semantics)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    verdict = False
    for exclude, pattern in rules:
        if any(_pattern_matches(pattern, p) for p in prefixes):
            verdict = exclude
    return verdict


def context_files() -> set[str]:
    rules = ignore_rules()
    found = set()
    for folder, dirs, files in os.walk(ROOT):
        rel = Path(folder).relative_to(ROOT).as_posix()
        rel = "" if rel == "." else rel + "/"
        dirs[:] = [d for d in dirs if d != ".git"]  # a worktree's .git is a file; its objects live elsewhere
        found.update(rel + f for f in files if not ignored(rel + f, rules))
    return found


def test_the_build_context_holds_what_the_dockerfile_copies_and_no_more() -> None:
    rules = ignore_rules()
    for unwanted in (".venv/bin/python", ".git/HEAD", ".git", "tests/conftest.py", "bench/latency.py",
                     "docs/ARCHITECTURE.md", "data/client_emails/x.jsonl", "scripts/test.sh", ".ci/run", ".env",
                     "followup.db", "service/__pycache__/settings.cpython-311.pyc", "service/core/x.pyc",
                     "service/followup.db-wal", "templates/.mypy_cache/x", ".mypy_cache/3.11/x.json",
                     ".ruff_cache/x", "dist/followup-0.1.0-py3-none-any.whl", "build/lib/service/x.py",
                     "followup.egg-info/PKG-INFO", "compose.yaml", "Dockerfile", "config/other.toml"):
        assert ignored(unwanted, rules), f"{unwanted} would be sent to the build"
    context = context_files()
    assert context, "nothing in the build context"
    strays = sorted(p for p in context if not p.startswith(("service/", "templates/"))
                    and p not in ("pyproject.toml", "README.md", "config/followup.example.toml"))
    assert not strays, f"in the build context but never copied: {strays}"
    # every COPY source is there, in both stages
    for sources, _dst in copies(BUILD) + copies(RUNTIME):
        for source in sources:
            assert not ignored(source, rules), f"COPY {source}: left out by .dockerignore"
            if (ROOT / source).is_dir():
                tracked = subprocess.run(["git", "ls-files", source], cwd=ROOT, capture_output=True, text=True,
                                         check=True).stdout.split()
                assert tracked, source
                missing = [p for p in tracked if p not in context]
                assert not missing, f"tracked files the image would lack: {missing}"
            else:
                assert source in context, source
    # what the worker reads at run time from inside the package
    for needed in ("service/detector/artefacts/detector.npz", "service/store/migrations/env.py",
                   "service/store/migrations/script.py.mako", "templates/ack_complaint.txt.j2"):
        assert needed in context, needed
    assert any(p.startswith("service/store/migrations/versions/") and p.endswith(".py") for p in context)


# -- the health check -------------------------------------------------------------------------------

@pytest.fixture
def answering() -> Iterator[tuple[list[int], int]]:
    """A server on a free loopback port that answers /healthz with the status in the list."""
    status = [200]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status[0] if self.path == "/healthz" else 404)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield status, server.server_port
    finally:
        server.shutdown()
        server.server_close()


def _health(command: list[str], port: int) -> subprocess.CompletedProcess[str]:
    assert command[0] == "python"
    env = {**os.environ, "FOLLOWUP_METRICS_PORT": str(port)}
    return subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, text=True, timeout=30)


def test_the_health_check_passes_on_200_only(answering: tuple[list[int], int]) -> None:
    command = health_command(DOCKERFILE)
    assert "/healthz" in " ".join(command) and "127.0.0.1" in " ".join(command)
    status, port = answering
    assert _health(command, port).returncode == 0
    status[0] = 204  # a success that is not the worker's answer
    assert _health(command, port).returncode != 0
    status[0] = 503  # a loop down or reconnecting
    assert _health(command, port).returncode != 0
    status[0] = 404  # something else on the port
    assert _health(command, port).returncode != 0
    # the worker's own server, before its loops have reported: 503
    real = serve("127.0.0.1", 0, Metrics(), stale_s=60)
    try:
        result = _health(command, real.server_port)
        assert result.returncode != 0 and "503" in result.stderr, result.stderr
    finally:
        real.shutdown()
        real.server_close()
    # nothing listening
    free = _free_port()
    assert _health(command, free).returncode != 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- the Dockerfile and compose.yaml, read ---------------------------------------------------------------

def _default(value: str) -> str:
    """A compose value with ${VAR:-default} read as its default (what a trial without .env gets)."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


def test_dockerfile_pins_its_base_and_tools_and_runs_as_nobody_in_particular() -> None:
    base = arg_defaults(GLOBAL)["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+", base), base
    assert [rest for keyword, rest in BUILD + RUNTIME if keyword == "FROM"] == ["${PYTHON_IMAGE} AS build",
                                                                               "${PYTHON_IMAGE}"]
    pins = arg_defaults(BUILD)
    for tool in ("PIP_VERSION", "SETUPTOOLS_VERSION", "WHEEL_VERSION", "HATCHLING_VERSION"):
        assert re.fullmatch(r"\d+(\.\d+)+", pins[tool]), (tool, pins.get(tool))
    runs = " ".join(rest for keyword, rest in BUILD if keyword == "RUN")
    for tool in ("pip", "setuptools", "wheel", "hatchling"):
        assert f'"{tool}==${{{tool.upper()}_VERSION}}"' in runs, tool
    # the dependencies' layer comes before any code is copied
    first_copy, *_ = copies(BUILD)
    assert first_copy == (["pyproject.toml"], "./")
    users = [rest for keyword, rest in RUNTIME if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    entry = [rest for keyword, rest in RUNTIME if keyword in ("ENTRYPOINT", "CMD")]
    assert entry == ['["followup"]', '["run"]']
    env = env_of(RUNTIME)
    assert env["FOLLOWUP_METRICS_HOST"] == "0.0.0.0" and env["FOLLOWUP_LOG_FORMAT"] == "json"
    assert env["FOLLOWUP_DATABASE_URL"].startswith("sqlite+aiosqlite:////var/lib/followup/")
    assert [rest for keyword, rest in RUNTIME if keyword == "EXPOSE"] == [env["FOLLOWUP_METRICS_PORT"]]


def test_compose_runs_the_worker_on_the_db_service_with_metrics_on_loopback() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is in the test extra: pip install -e '.[test]'")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    db, worker, migrate = services["db"], services["worker"], services["migrate"]

    assert re.fullmatch(r"postgres:\d+\.\d+(-\w+)?", db["image"]), db["image"]
    assert "pg_isready" in db["healthcheck"]["test"]
    volume, _, mount = db["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data" and volume in compose["volumes"]
    db_env = {k: _default(str(v)) for k, v in db["environment"].items()}

    for service in (worker, migrate):
        assert service["build"] == "." and (ROOT / "Dockerfile").is_file()
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        url = urllib.parse.urlsplit(_default(service["environment"]["FOLLOWUP_DATABASE_URL"]))
        assert url.hostname == "db", url
        assert (url.username, url.password, url.path) == (db_env["POSTGRES_USER"], db_env["POSTGRES_PASSWORD"],
                                                          "/" + db_env["POSTGRES_DB"])
        assert url.port in (None, 5432)
        # the worker takes the URL as written, with the driver the image installs
        driven = urllib.parse.urlsplit(normalise_database_url(url.geturl()))
        assert (driven.scheme, driven.hostname) == ("postgresql+asyncpg", "db"), driven
        assert any(env_file["path"] == ".env" and env_file["required"] is False for env_file in service["env_file"])
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert any(re.match(r"asyncpg\b", d) for d in dependencies), "the image installs [project].dependencies only"
    assert migrate["command"] == ["migrate"]
    assert worker["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert worker["restart"] == "unless-stopped"

    port = worker["environment"]["FOLLOWUP_METRICS_PORT"]
    assert str(port) == env_of(RUNTIME)["FOLLOWUP_METRICS_PORT"]
    assert worker["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert worker["environment"]["FOLLOWUP_METRICS_HOST"] == "0.0.0.0"  # inside the container
    assert worker["healthcheck"]["test"] == ["CMD", *health_command(DOCKERFILE)]


# -- the build stage's steps, run here --------------------------------------------------------------

def _run_step(command: str, *, cwd: Path, env: dict[str, str], root: Path) -> None:
    """A RUN line with /opt/... and /tmp/... moved under `root`."""
    local = re.sub(r"(?<![\w.])/(opt|tmp)/", lambda m: f"{root}/{m.group(1)}/", command)
    assert not re.search(r"(?<![\w.])/(usr|etc|var|src)/", local), f"a path this test does not stand in for: {local}"
    done = subprocess.run(["sh", "-c", local], cwd=cwd, env=env, capture_output=True, text=True, timeout=800)
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def test_the_image_steps_build_a_working_install(tmp_path: Path) -> None:
    root = tmp_path / "image"
    (root / "opt").mkdir(parents=True)
    (root / "tmp").mkdir()
    src = root / "src"  # WORKDIR /src
    src.mkdir()
    # `python` is the base interpreter, as in the image (not this test's virtual environment)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    (bin_dir / "python").symlink_to(base)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    env.update(arg_defaults(BUILD))
    env.update(env_of(BUILD))
    context = context_files()

    steps = [(keyword, rest) for keyword, rest in BUILD if keyword in ("COPY", "RUN")]
    copied_code = False
    for keyword, rest in steps:
        if keyword == "RUN":
            if not copied_code and "requirements" in rest:
                # the dependencies' layer: nothing but pyproject.toml may be needed
                assert sorted(p.name for p in src.iterdir()) == ["pyproject.toml"]
            _run_step(rest, cwd=src, env=env, root=root)
            continue
        ((sources, dst),) = copies([(keyword, rest)])
        for source in sources:
            target = src / dst.removeprefix("./") if dst != "./" else src / source
            files = [p for p in context if p == source or p.startswith(source + "/")]
            assert files, f"COPY {source}: nothing in the context"
            for rel in files:
                out = target / Path(rel).relative_to(source) if (ROOT / source).is_dir() else target
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, out)
            copied_code = copied_code or source == "service"

    venv_dir = root / "opt" / "followup"
    python = venv_dir / "bin" / "python"
    followup = venv_dir / "bin" / "followup"
    assert followup.exists()
    # what the image sees: this venv, and none of this checkout (pytest runs with PYTHONPATH on it)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("FOLLOWUP_", "PYTHON", "VIRTUAL_ENV"))}
    # the runtime stage copies this venv only: no build tools, no pip, no tests in it, and not the
    # detector's training (scikit-learn and SciPy, 165 MB, are the `train` extra)
    for module in ("pip", "setuptools", "hatchling", "tests", "sklearn", "scipy"):
        probe = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True, cwd=tmp_path, env=clean,
                               timeout=60)
        assert probe.returncode != 0, f"{module} is importable in the image's environment"
    site = next((venv_dir / "lib").glob("python3*/site-packages"))
    for packaged in ("service/templates/ack_complaint.txt.j2", "service/detector/artefacts/detector.npz",
                     "service/store/migrations/env.py"):
        assert (site / packaged).is_file(), packaged

    run_env = dict(clean)
    run_env.update({k: v for k, v in env_of(RUNTIME).items() if k.startswith("FOLLOWUP_")})
    run_env["PATH"] = f"{venv_dir / 'bin'}:{os.environ['PATH']}"
    port = _free_port()
    run_env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path / 'in'}",
                    "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path / 'out'}",
                    "FOLLOWUP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'f.db'}",
                    "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_METRICS_HOST": "127.0.0.1",
                    "FOLLOWUP_METRICS_PORT": str(port)})
    check = subprocess.run([str(followup), "check"], env=run_env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    demo = subprocess.run([str(followup), "demo", "--dir", str(tmp_path / "demo")], env=run_env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert demo.returncode == 0 and "first acknowledgement" in demo.stdout, demo.stderr
    module = subprocess.run([str(python), "-c", "import service, sys; print(service.__file__)"], env=run_env,
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert module.returncode == 0 and Path(module.stdout.strip()).is_relative_to(site), module.stdout + module.stderr
    module = subprocess.run([str(python), "-m", "service", "--help"], env=run_env, capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert module.returncode == 0 and "followup" in module.stdout

    # the image's command and health check: healthy once the loops run, and the worker answers mail
    log = tmp_path / "worker.log"
    with log.open("w") as log_file:  # a pipe nobody reads would stall the worker once full
        worker = subprocess.Popen([str(followup), "run"], env=run_env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=log_file)
    try:
        deadline = time.monotonic() + 90
        while True:
            health = subprocess.run(health_command(DOCKERFILE), env=run_env, capture_output=True, text=True,
                                    timeout=30)
            if health.returncode == 0:
                break
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, health.stderr
            time.sleep(1)
        drop(tmp_path / "in", client_mail())
        outbox = tmp_path / "out" / "new"
        deadline = time.monotonic() + 60
        while not (outbox.is_dir() and any(outbox.iterdir())):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no acknowledgement in the outbox"
            time.sleep(0.5)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, log.read_text()[-3000:]


# -- the image itself, where a container engine runs ----------------------------------------------------

def _docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


def test_the_image_builds_runs_as_non_root_and_turns_healthy(tmp_path: Path) -> None:
    if shutil.which("docker") is None:
        pytest.skip("no container runtime: no docker client on PATH")
    info = _docker("info", timeout=30)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"no container runtime: docker info fails ({reason})")
    tag = f"followup-e2e:{uuid.uuid4().hex[:12]}"
    name = f"followup-e2e-{uuid.uuid4().hex[:12]}"
    built = _docker("build", "--tag", tag, str(ROOT), timeout=800)
    assert built.returncode == 0, built.stderr[-5000:]
    try:
        size = _docker("image", "inspect", "--format", "{{.Size}}", tag)
        print(f"image {tag}: {int(size.stdout.strip()) / 1e6:.0f} MB")
        no_pip = _docker("run", "--rm", "--entrypoint", "python", tag, "-c", "import pip")
        assert no_pip.returncode != 0, "pip is still in the image's environment"
        mail = tmp_path / "mail"
        for folder in (mail, mail / "in", mail / "out", *(mail / "in" / sub for sub in ("new", "cur", "tmp"))):
            folder.mkdir(exist_ok=True)
            folder.chmod(0o777)  # the container's user (uid 10001) writes there, and this test drops mail there
        started = _docker("run", "--detach", "--name", name, "--volume", f"{mail}:/mail",
                          "--env", "FOLLOWUP_INBOX_URL=maildir:///mail/in",
                          "--env", "FOLLOWUP_OUTBOX_URL=maildir:///mail/out",
                          "--env", "FOLLOWUP_SHARED_ADDRESS=care@example.test", tag)
        assert started.returncode == 0, started.stderr
        uid = _docker("exec", name, "python", "-c", "import os; print(os.getuid())")
        assert uid.returncode == 0 and uid.stdout.strip() not in ("", "0"), uid
        deadline = time.monotonic() + 240
        status = ""
        while status != "healthy":
            state = _docker("inspect", "--format", "{{.State.Status}} {{.State.Health.Status}}", name)
            running, _, status = state.stdout.strip().partition(" ")
            assert running == "running", _docker("logs", name).stderr[-3000:]
            assert time.monotonic() < deadline, f"{status}: {_docker('logs', name).stderr[-3000:]}"
            time.sleep(2)
        drop(mail / "in", client_mail())
        outbox = mail / "out" / "new"
        deadline = time.monotonic() + 60
        while not (outbox.is_dir() and any(outbox.iterdir())):
            assert time.monotonic() < deadline, _docker("logs", name).stderr[-3000:]
            time.sleep(1)
    finally:
        _docker("rm", "--force", name)
        _docker("image", "rm", "--force", tag)
