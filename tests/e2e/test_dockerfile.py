"""The Dockerfile's steps, done here in a clean virtual environment (no Docker engine on this machine)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(900)


def test_the_image_steps_build_a_working_install(tmp_path: Path) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    build = tmp_path / "src"
    build.mkdir()
    # exactly what the build stage copies: anything else the install needs would be missing in the image
    for line in dockerfile.splitlines():
        tokens = line.split()
        if not tokens or tokens[0] != "COPY" or any(t.startswith("--from") for t in tokens):
            continue
        *sources, dst = tokens[1:]
        if dst.startswith("/etc/"):
            continue  # the example config, copied into the runtime stage
        for item in sources:
            target = build / item if dst == "./" else build / dst.removeprefix("./")
            if (ROOT / item).is_dir():
                shutil.copytree(ROOT / item, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(ROOT / item, target)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    pip = env_dir / "bin" / "pip"
    subprocess.run([str(pip), "install", "-q", "--no-cache-dir", str(build)], check=True, timeout=800,
                   capture_output=True)
    followup = env_dir / "bin" / "followup"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env.update({"FOLLOWUP_INBOX_URL": f"maildir://{tmp_path / 'in'}", "FOLLOWUP_OUTBOX_URL": f"maildir://{tmp_path / 'out'}",
                "FOLLOWUP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'f.db'}",
                "FOLLOWUP_SHARED_ADDRESS": "care@example.test", "FOLLOWUP_LOG_FORMAT": "json"})
    # the image's health check, and the command it runs, with the shipped templates and model
    check = subprocess.run([str(followup), "check"], env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr
    demo = subprocess.run([str(followup), "demo", "--dir", str(tmp_path / "demo")], env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert demo.returncode == 0 and "first acknowledgement" in demo.stdout, demo.stderr
    module = subprocess.run([str(env_dir / "bin" / "python"), "-m", "service", "--help"], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert module.returncode == 0 and "followup" in module.stdout
    assert sys.executable not in str(followup)
