#!/usr/bin/env python3
"""Check the ECS deployment files of babyshield-api offline.

Validates deploy/ecs/task-definition.json (RegisterTaskDefinition input),
deploy/ecs/service.json (CreateService input) and
deploy/ecs/target-group.json (elbv2 CreateTargetGroup input) against the
request shapes of botocore's bundled service models, without calling AWS.
Then checks the project's rules:
  - the container health check runs the binary's healthcheck subcommand;
  - secrets come only from `secrets`, never from `environment`;
  - the root filesystem is read-only and the user is not root;
  - stopTimeout leaves 5 seconds after SHUTDOWN_DEADLINE_SECONDS;
  - the memory hard limit sits just above the HighMemoryUsage threshold;
  - the load balancer's health check requests the readiness endpoint.

Exits 1 and lists every violation when any check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import botocore.session
import botocore.validate

REPO_ROOT = Path(__file__).resolve().parents[2]

CLUSTER = "babyshield-cluster"
SERVICE = "babyshield-backend"
FAMILY = "babyshield-backend"
REGION = "eu-north-1"
LOG_GROUP = "/ecs/babyshield-backend"
CONTAINER_PORT = 8080
BINARY = "/usr/local/bin/babyshield-api"
HEALTH_CHECK_COMMAND = ["CMD", BINARY, "healthcheck"]
READINESS_PATH = "/api/v1/monitoring/readyz"
SECRET_NAMES = {"DATABASE_URL", "REDIS_URL", "ADMIN_TOKEN"}
# The service's default, used when the task definition does not set it.
DEFAULT_SHUTDOWN_DEADLINE_SECONDS = 25
# Time between the process's own deadline and ECS's SIGKILL.
STOP_MARGIN_SECONDS = 5
# Fargate's maximum stopTimeout.
FARGATE_MAX_STOP_TIMEOUT = 120
# Allowed share of the hard limit above the HighMemoryUsage threshold. With
# less the alert comes too late to act, and with more it fires on normal use.
MEMORY_HEADROOM_RANGE = (0.05, 0.30)

# Each input file with the AWS service and operation it is written for.
INPUTS = [
    ("deploy/ecs/task-definition.json", "ecs", "RegisterTaskDefinition"),
    ("deploy/ecs/service.json", "ecs", "CreateService"),
    ("deploy/ecs/target-group.json", "elbv2", "CreateTargetGroup"),
]


class Report:
    """Violations found so far, printed together at the end."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def require(self, condition: bool, where: str, message: str) -> None:
        if not condition:
            self.fail(where, message)


def validate_shapes(report: Report, root: Path) -> dict[str, dict]:
    """Validate each file against its botocore input shape and return the parsed files."""
    session = botocore.session.get_session()
    validator = botocore.validate.ParamValidator()
    documents = {}
    for relative, service, operation in INPUTS:
        path = root / relative
        if not path.exists():
            report.fail(relative, "file is missing")
            continue
        try:
            params = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            report.fail(relative, f"invalid JSON: {error}")
            continue
        shape = session.get_service_model(service).operation_model(operation).input_shape
        result = validator.validate(params, shape)
        if result.has_errors():
            report.fail(relative, f"invalid {service} {operation} input (botocore {botocore.__version__}):\n{result.generate_report()}")
        documents[relative] = params
    return documents


def memory_alert_threshold(root: Path) -> float | None:
    """Return the HighMemoryUsage threshold in bytes from the alert rules."""
    text = (root / "deploy" / "prometheus" / "alerts.yml").read_text()
    match = re.search(r"alert: HighMemoryUsage\s+expr: process_resident_memory_bytes\{[^}]*\} > ([0-9.e+]+)", text)
    return float(match.group(1)) if match else None


def check_task_definition(report: Report, task: dict, root: Path) -> dict | None:
    where = "deploy/ecs/task-definition.json"
    report.require(task.get("family") == FAMILY, where, f"family must be {FAMILY}")
    report.require(task.get("networkMode") == "awsvpc", where, "networkMode must be awsvpc")
    report.require("FARGATE" in task.get("requiresCompatibilities", []), where, "requiresCompatibilities must include FARGATE")
    report.require(bool(task.get("executionRoleArn")), where, "executionRoleArn is required to read secrets and write logs")

    containers = {c.get("name"): c for c in task.get("containerDefinitions", [])}
    container = containers.get("babyshield-api")
    if container is None:
        report.fail(where, "no container named babyshield-api")
        return None
    where = f"{where} container babyshield-api"

    report.require(container.get("essential", True), where, "must be essential")
    image = container.get("image", "")
    report.require(":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), where, f"image {image!r} needs a version tag")

    health = container.get("healthCheck", {})
    report.require(health.get("command") == HEALTH_CHECK_COMMAND, where,
                   f"healthCheck.command must be {HEALTH_CHECK_COMMAND} (the image has no curl)")

    environment = {item["name"]: item.get("value", "") for item in container.get("environment", [])}
    for name in sorted(SECRET_NAMES & environment.keys()):
        report.fail(where, f"{name} is a secret and must come from `secrets`, not `environment`")
    for name, value in environment.items():
        if re.search(r"://[^/\s:@]+:[^/\s@]+@", value):
            report.fail(where, f"environment {name} contains credentials in a URL")
        if re.search(r"(TOKEN|PASSWORD|SECRET)", name):
            report.fail(where, f"environment {name} looks like a secret; move it to `secrets`")

    secrets = {item["name"]: item.get("valueFrom", "") for item in container.get("secrets", [])}
    for name in sorted(SECRET_NAMES - secrets.keys()):
        report.fail(where, f"secret {name} is missing from `secrets`")
    for name, value_from in secrets.items():
        if not re.match(rf"arn:aws:(secretsmanager|ssm):{REGION}:\d{{12}}:(secret:|parameter/)", value_from):
            report.fail(where, f"secret {name} valueFrom {value_from!r} is not a Secrets Manager or SSM ARN in {REGION}")

    report.require(container.get("readonlyRootFilesystem") is True, where, "readonlyRootFilesystem must be true")
    user = str(container.get("user", ""))
    uid = user.split(":", 1)[0]
    report.require(bool(user) and uid not in ("root", "0"), where, f"user must be set and not root, found {user!r}")

    report.require(environment.get("BIND_ADDRESS") == f"0.0.0.0:{CONTAINER_PORT}", where,
                   f"BIND_ADDRESS must be 0.0.0.0:{CONTAINER_PORT} so the load balancer reaches the listener")
    ports = [m.get("containerPort") for m in container.get("portMappings", [])]
    report.require(CONTAINER_PORT in ports, where, f"portMappings must include containerPort {CONTAINER_PORT}")

    deadline = int(environment.get("SHUTDOWN_DEADLINE_SECONDS", DEFAULT_SHUTDOWN_DEADLINE_SECONDS))
    drain = int(environment.get("SHUTDOWN_DRAIN_DELAY_SECONDS", 5))
    stop_timeout = container.get("stopTimeout")
    if not isinstance(stop_timeout, int):
        report.fail(where, "stopTimeout must be set, as whole seconds: the ECS default is not tied to SHUTDOWN_DEADLINE_SECONDS")
    else:
        report.require(stop_timeout >= deadline + STOP_MARGIN_SECONDS, where,
                       f"stopTimeout {stop_timeout} must be at least SHUTDOWN_DEADLINE_SECONDS {deadline} + {STOP_MARGIN_SECONDS}")
        report.require(stop_timeout <= FARGATE_MAX_STOP_TIMEOUT, where, f"stopTimeout {stop_timeout} exceeds Fargate's {FARGATE_MAX_STOP_TIMEOUT}")
    report.require(drain < deadline, where, f"SHUTDOWN_DRAIN_DELAY_SECONDS {drain} must be below SHUTDOWN_DEADLINE_SECONDS {deadline}")

    limit_mib = container.get("memory") or int(task.get("memory", 0))
    threshold = memory_alert_threshold(root)
    if threshold is None:
        report.fail("deploy/prometheus/alerts.yml", "no HighMemoryUsage threshold found")
    elif not limit_mib:
        report.fail(where, "no memory hard limit")
    else:
        limit_bytes = int(limit_mib) * 1024 * 1024
        headroom = (limit_bytes - threshold) / limit_bytes
        low, high = MEMORY_HEADROOM_RANGE
        report.require(low <= headroom <= high, where,
                       f"memory limit {limit_mib} MiB leaves {headroom:.0%} above the {threshold:.3g} B alert; expected {low:.0%} to {high:.0%}")
        report.require(int(limit_mib) <= int(task.get("memory", limit_mib)), where, "container memory exceeds the task memory")

    logs = container.get("logConfiguration", {})
    options = logs.get("options", {})
    report.require(logs.get("logDriver") == "awslogs", where, "logDriver must be awslogs")
    report.require(options.get("awslogs-group") == LOG_GROUP, where, f"awslogs-group must be {LOG_GROUP}")
    report.require(options.get("awslogs-region") == REGION, where, f"awslogs-region must be {REGION}")
    return container


def check_service(report: Report, service: dict, container: dict | None) -> None:
    where = "deploy/ecs/service.json"
    report.require(service.get("cluster") == CLUSTER, where, f"cluster must be {CLUSTER}")
    report.require(service.get("serviceName") == SERVICE, where, f"serviceName must be {SERVICE}")
    report.require(str(service.get("taskDefinition", "")).split(":")[0].endswith(FAMILY), where, f"taskDefinition must name family {FAMILY}")
    report.require(service.get("desiredCount") == 2, where, "desiredCount must be 2")
    report.require(service.get("launchType") == "FARGATE", where, "launchType must be FARGATE")
    breaker = service.get("deploymentConfiguration", {}).get("deploymentCircuitBreaker", {})
    report.require(breaker.get("enable") is True and breaker.get("rollback") is True, where,
                   "deploymentCircuitBreaker must be enabled with rollback")
    report.require("awsvpcConfiguration" in service.get("networkConfiguration", {}), where, "networkConfiguration.awsvpcConfiguration is required for awsvpc")
    balancers = service.get("loadBalancers", [])
    report.require(bool(balancers), where, "needs a load balancer target group")
    for balancer in balancers:
        report.require(balancer.get("containerName") == (container or {}).get("name"), where, "loadBalancers containerName must match the container")
        report.require(balancer.get("containerPort") == CONTAINER_PORT, where, f"loadBalancers containerPort must be {CONTAINER_PORT}")
        arn = balancer.get("targetGroupArn", "")
        report.require(f":{REGION}:" in arn, where, f"targetGroupArn must be in {REGION}")
    grace = service.get("healthCheckGracePeriodSeconds")
    start_period = (container or {}).get("healthCheck", {}).get("startPeriod", 0)
    report.require(isinstance(grace, int) and grace >= start_period, where,
                   "healthCheckGracePeriodSeconds must cover the container health check's startPeriod")


def check_target_group(report: Report, group: dict, service: dict) -> None:
    where = "deploy/ecs/target-group.json"
    report.require(group.get("HealthCheckPath") == READINESS_PATH, where, f"HealthCheckPath must be {READINESS_PATH}")
    report.require(group.get("Port") == CONTAINER_PORT, where, f"Port must be {CONTAINER_PORT}")
    report.require(group.get("TargetType") == "ip", where, "TargetType must be ip for awsvpc tasks")
    report.require(group.get("Matcher", {}).get("HttpCode") == "200", where, "Matcher.HttpCode must be 200: readyz returns 503 when not ready")
    names = [b.get("targetGroupArn", "").split(":targetgroup/")[-1].split("/")[0] for b in service.get("loadBalancers", [])]
    report.require(group.get("Name") in names, where, f"Name {group.get('Name')!r} does not match the service's targetGroupArn {names}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args()
    root = args.root.resolve()

    report = Report()
    documents = validate_shapes(report, root)
    container = None
    if "deploy/ecs/task-definition.json" in documents:
        container = check_task_definition(report, documents["deploy/ecs/task-definition.json"], root)
    service = documents.get("deploy/ecs/service.json", {})
    if service:
        check_service(report, service, container)
    if "deploy/ecs/target-group.json" in documents:
        check_target_group(report, documents["deploy/ecs/target-group.json"], service)

    if report.errors:
        print(f"check_ecs: {len(report.errors)} violation(s):", file=sys.stderr)
        for error in report.errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    print(f"check_ecs: {len(documents)} AWS inputs are valid (botocore {botocore.__version__}) and follow the project rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
