#!/usr/bin/env python3
"""Check the Dockerfile and .dockerignore against the project's rules.

hadolint covers general Dockerfile practice. This script covers what is
specific to babyshield-api:
  - the Rust image version equals the channel pinned in rust-toolchain.toml;
  - every base image has a pinned tag or digest, never `latest`;
  - dependencies build in their own layer (cargo chef cook) before the
    sources are copied;
  - the runtime stage runs as a non-root user, listens on 0.0.0.0:8080,
    exposes 8080, stops on SIGTERM, and its HEALTHCHECK runs the binary's
    healthcheck subcommand at the path the ECS task definition uses;
  - .dockerignore keeps target directories out of the build context and
    lets in every path that the build reads.

Exits 1 and lists every violation when any check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Paths that the build reads: the sample data and the migrations are
# compiled into the binary.
BUILD_INPUTS = ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml", "crates", "migrations", "data"]


class Report:
    """Violations found so far, printed together at the end."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def require(self, condition: bool, where: str, message: str) -> None:
        if not condition:
            self.errors.append(f"{where}: {message}")


def instructions(text: str) -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs with continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Split the instructions into build stages, each starting with FROM."""
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in steps:
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def expand_args(image: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def check_dockerfile(report: Report, root: Path) -> None:
    where = "Dockerfile"
    steps = instructions((root / "Dockerfile").read_text())
    global_args = {}
    for keyword, rest in steps:
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in rest:
            name, value = rest.split("=", 1)
            global_args[name.strip()] = value.strip().strip('"')

    match = re.search(r'^channel\s*=\s*"([^"]+)"', (root / "rust-toolchain.toml").read_text(), re.MULTILINE)
    toolchain = match.group(1) if match else "(no channel in rust-toolchain.toml)"
    report.require(global_args.get("RUST_VERSION") == toolchain, where,
                   f"ARG RUST_VERSION={global_args.get('RUST_VERSION')} differs from rust-toolchain.toml channel {toolchain}")

    all_stages = stages(steps)
    report.require(len(all_stages) >= 2, where, "must be a multi-stage build")
    stage_names = set()
    for stage in all_stages:
        image_spec = stage[0][1].split()
        image = expand_args(image_spec[0], global_args)
        if len(image_spec) >= 3 and image_spec[1].upper() == "AS":
            stage_names.add(image_spec[2])
        if image in stage_names or image_spec[0] in stage_names:
            continue
        name = image.rsplit("/", 1)[-1]
        pinned = "@sha256:" in image or (":" in name and not name.endswith(":latest"))
        report.require(pinned, where, f"base image {image} needs a pinned tag or digest")
        if image.startswith("rust:"):
            report.require(image.startswith(f"rust:{toolchain}-"), where, f"builder image {image} does not use Rust {toolchain}")

    commands = [rest for keyword, rest in steps if keyword == "RUN"]
    cook = next((i for i, (k, r) in enumerate(steps) if k == "RUN" and "cargo chef cook" in r), None)
    copy_all = [i for i, (k, r) in enumerate(steps) if k == "COPY" and r.split()[-2:] == [".", "."]]
    report.require(cook is not None, where, "no dependency-only layer (cargo chef cook)")
    if cook is not None:
        report.require(any(i > cook for i in copy_all), where, "the sources must be copied after cargo chef cook so that the dependency layer stays cached")
    report.require(any("--locked" in c and "cargo build" in c for c in commands), where, "cargo build must use --locked")

    runtime = all_stages[-1] if all_stages else []
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    user = users[-1] if users else ""
    report.require(bool(user) and user.split(":")[0] not in ("root", "0"), where, f"runtime stage must set a non-root USER, found {user!r}")
    envs = " ".join(rest for keyword, rest in runtime if keyword == "ENV")
    report.require(re.search(r"\bBIND_ADDRESS=0\.0\.0\.0:8080\b", envs) is not None, where, "runtime stage must set BIND_ADDRESS=0.0.0.0:8080")
    report.require(any(k == "EXPOSE" and "8080" in r.split() for k, r in runtime), where, "runtime stage must EXPOSE 8080")
    report.require(any(k == "STOPSIGNAL" and r == "SIGTERM" for k, r in runtime), where, "runtime stage must set STOPSIGNAL SIGTERM")

    task = json.loads((root / "deploy" / "ecs" / "task-definition.json").read_text())
    ecs_command = task["containerDefinitions"][0]["healthCheck"]["command"]
    healthchecks = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    report.require(len(healthchecks) == 1, where, "runtime stage needs one HEALTHCHECK")
    for rest in healthchecks:
        match = re.search(r"\bCMD\s+(\[.*\])\s*$", rest)
        command = json.loads(match.group(1)) if match else shlex.split(rest.split("CMD", 1)[-1])
        report.require(["CMD", *command] == ecs_command, where,
                       f"HEALTHCHECK runs {command}, the ECS task definition runs {ecs_command[1:]}")
    binary = ecs_command[1]
    report.require(any(k == "COPY" and r.split()[-1] == binary for k, r in runtime), where, f"runtime stage must install the binary at {binary}")
    entrypoints = [rest for keyword, rest in runtime if keyword == "ENTRYPOINT"]
    report.require(bool(entrypoints) and json.loads(entrypoints[-1])[0] == binary, where, f"ENTRYPOINT must be [\"{binary}\"] in exec form")


def check_dockerignore(report: Report, root: Path) -> None:
    where = ".dockerignore"
    path = root / ".dockerignore"
    if not path.exists():
        report.require(False, where, "file is missing")
        return
    patterns = [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]
    report.require(any(p.strip("/").split("/")[-1].startswith("target") for p in patterns if not p.startswith("!")), where,
                   "must exclude target directories")
    excludes_all = "*" in patterns
    for name in BUILD_INPUTS:
        allowed = f"!{name}" in patterns or f"!{name}/" in patterns
        excluded = name in patterns or f"{name}/" in patterns or f"/{name}" in patterns
        report.require(not excluded and (allowed or not excludes_all), where, f"{name} must be in the build context")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args()
    root = args.root.resolve()

    report = Report()
    check_dockerfile(report, root)
    check_dockerignore(report, root)
    if report.errors:
        print(f"check_dockerfile: {len(report.errors)} violation(s):", file=sys.stderr)
        for error in report.errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    print("check_dockerfile: Dockerfile and .dockerignore follow the project rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
