#!/usr/bin/env python3
"""Check the Prometheus rules and Grafana dashboards of babyshield-api.

Rules (prometheus/rules/*.yml, deploy/prometheus/*.yml):
  - every expression names only metrics that the service exports, that the
    recording rules define, or that Prometheus and the blackbox exporter add
    (up, probe_success, ALERTS), with label names those metrics carry;
  - recording rule names have the level:metric:operations form, and every
    SLO window used by the burn-rate alerts has its error and slow ratios;
  - no rule averages (avg) ratios or quantiles across tasks;
  - every alert has a severity of critical or warning, a `for`, summary,
    description and runbook_url annotations, and a runbook anchor;
  - every alert fires in at least one unit test of prometheus/tests and
    stays quiet (exp_alerts: []) in at least one other.

Dashboards (grafana/dashboards/*.json):
  - a Prometheus data source variable named datasource, used by every panel
    and every query;
  - every query parses: the script substitutes $__rate_interval, $__range and
    the template variables, writes each query as a recording rule into a
    temporary file and runs `promtool check rules` on it;
  - every query names only known metrics and label names (as for rules);
  - the service dashboard shows p95 latency with an 800 ms threshold line.

Exits 1 and lists every violation when any check fails.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]

# Labels that Prometheus attaches to every scraped series.
TARGET_LABELS = {"job", "instance"}

# Metric families exported by babyshield-api on /metrics, with their labels.
SERVICE_METRICS: dict[str, set[str]] = {
    "http_request_duration_seconds_bucket": {"method", "route", "status", "le"},
    "http_request_duration_seconds_count": {"method", "route", "status"},
    "http_request_duration_seconds_sum": {"method", "route", "status"},
    "http_requests_total": {"method", "route", "status"},
    "error_total": {"kind"},
    "cache_hits_total": {"cache"},
    "cache_misses_total": {"cache"},
    "rate_limit_remaining": {"user_id"},
    "database_connections_active": set(),
    "database_connections_idle": set(),
    "database_connections_max": set(),
    "probe_success": {"probe"},
    "probe_duration_seconds": {"probe"},
    "build_info": {"version", "commit"},
    "process_resident_memory_bytes": set(),
    "process_cpu_seconds_total": set(),
    "process_open_fds": set(),
    "process_max_fds": set(),
    "process_virtual_memory_bytes": set(),
    "process_start_time_seconds": set(),
    "process_threads": set(),
}
for _name in (
    "slo_sli",
    "slo_burn_rate",
    "slo_events",
    "slo_window_coverage_seconds",
    "slo_error_budget_remaining_ratio",
    "slo_error_budget_time_to_exhaustion_seconds",
    "slo_status",
    "slo_latency_p50_seconds",
    "slo_latency_p95_seconds",
    "slo_latency_p99_seconds",
):
    SERVICE_METRICS[_name] = {"objective", "window"}

# Series that Prometheus itself or the blackbox exporter produce. The
# blackbox exporter's probe_success and probe_duration_seconds share their
# names with the service's gauges and carry no extra label. ALERTS carries
# the labels of each alert, so any label name is accepted there.
EXTERNAL_METRICS: dict[str, set[str] | None] = {
    "up": set(),
    "ALERTS": None,
    "ALERTS_FOR_STATE": None,
}

PROMQL_FUNCTIONS = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
    "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
    "irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
    "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
    "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
    "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time",
    "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
}
PROMQL_AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile",
}
PROMQL_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "atan2", "Inf", "NaN", "inf", "nan",
}

RUNBOOK_BASE = "https://github.com/babyshield/babyshield-api/blob/main/docs/runbook.md#"
RUNBOOK_ANCHORS = {
    "critical-servicedown",
    "warning-highlatencyp95",
    "warning-higherrorrate",
    "warning-ratelimitexhausted",
    "warning-databaseconnectionpoolexhausted",
    "warning-highmemoryusage",
    "critical-syntheticprobefailure",
    "slo-error-budget-burn",
}
REQUIRED_ALERTS = {
    "ServiceDown",
    "HighLatencyP95",
    "HighErrorRate",
    "RateLimitExhausted",
    "DatabaseConnectionPoolExhausted",
    "HighMemoryUsage",
    "SyntheticProbeFailure",
}
SLO_WINDOWS = ["5m", "30m", "1h", "6h", "1d", "3d"]
RECORD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+$")

# Sample values for Grafana's built-in variables. Any valid duration will do.
GRAFANA_BUILTINS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "__range_s": "3600",
    "__interval_ms": "60000",
}


class Report:
    """Violations found so far, printed together at the end."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")


def strip_strings(expr: str) -> str:
    """Replace PromQL string literals with "" so that their contents match no pattern."""
    return re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`', '""', expr)


def selectors(expr: str) -> list[tuple[str, list[str]]]:
    """Return (metric name, label names of its matchers) for each selector."""
    found = []
    for match in re.finditer(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", strip_strings(expr)):
        labels = re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", match.group(2))
        found.append((match.group(1), labels))
    return found


def metric_names(expr: str) -> set[str]:
    """Return the metric names that a PromQL expression selects."""
    text = strip_strings(expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", r" \1 ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:])([a-zA-Z_:][a-zA-Z0-9_:]*)", text):
        token = match.group(1)
        if token in PROMQL_FUNCTIONS or token in PROMQL_AGGREGATIONS or token in PROMQL_KEYWORDS:
            continue
        names.add(token)
    return names


def check_expression(report: Report, where: str, expr: str, recorded: dict[str, set[str]]) -> None:
    """Report unknown metric names and unknown matcher labels in one expression."""
    for name in sorted(metric_names(expr)):
        if name not in SERVICE_METRICS and name not in EXTERNAL_METRICS and name not in recorded:
            report.fail(where, f"unknown metric {name!r}: the service does not export it and no recording rule defines it")
    for name, labels in selectors(expr):
        if name in SERVICE_METRICS:
            allowed = SERVICE_METRICS[name] | TARGET_LABELS
        elif name in EXTERNAL_METRICS:
            known = EXTERNAL_METRICS[name]
            if known is None:
                continue
            allowed = known | TARGET_LABELS
        elif name in recorded:
            allowed = recorded[name]
        else:
            continue
        for label in labels:
            if label not in allowed:
                report.fail(where, f"metric {name!r} has no label {label!r} (it has {sorted(allowed)})")


def recorded_labels(expr: str) -> set[str]:
    """Return the labels that a recording rule keeps: its `by` clause, or job."""
    match = re.search(r"\bby\s*\(([^)]*)\)", strip_strings(expr))
    if match:
        return {label.strip() for label in match.group(1).split(",") if label.strip()}
    return {"job"}


def load_rule_files(root: Path) -> list[tuple[Path, dict]]:
    files = sorted((root / "prometheus" / "rules").glob("*.yml")) + sorted((root / "deploy" / "prometheus").glob("*.yml"))
    return [(path, yaml.safe_load(path.read_text())) for path in files]


def check_rules(report: Report, root: Path) -> dict[str, set[str]]:
    """Check every rule file and return the recorded series with their labels."""
    rule_files = load_rule_files(root)
    if not rule_files:
        report.fail(str(root), "no rule files under prometheus/rules or deploy/prometheus")

    recorded: dict[str, set[str]] = {}
    for path, document in rule_files:
        for group in document.get("groups", []):
            for rule in group.get("rules", []):
                if "record" in rule:
                    recorded[rule["record"]] = recorded_labels(rule["expr"])

    alerts: dict[str, list[dict]] = {}
    for path, document in rule_files:
        rel = path.relative_to(root)
        for group in document.get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("record") or rule.get("alert")
                where = f"{rel} {name}"
                expr = str(rule.get("expr", ""))
                check_expression(report, where, expr, recorded)
                if re.search(r"\bavg\b|\bavg_over_time\b", strip_strings(expr)):
                    report.fail(where, "averages across series; sum numerators and denominators, then divide")
                if "record" in rule and not RECORD_NAME.match(rule["record"]):
                    report.fail(where, "recording rule name is not in level:metric:operations form")
                if "alert" in rule:
                    alerts.setdefault(rule["alert"], []).append(rule)
                    check_alert(report, where, rule)

    for window in SLO_WINDOWS:
        for series in (f"job:slo_errors_per_request:ratio_rate{window}", f"job:slo_slow_per_request:ratio_rate{window}"):
            if series not in recorded:
                report.fail("prometheus/rules", f"missing recording rule {series}")
    for name in sorted(REQUIRED_ALERTS - alerts.keys()):
        report.fail("deploy/prometheus/alerts.yml", f"missing alert {name}")
    if not any("absent(" in str(rule["expr"]) for rule in alerts.get("ServiceDown", [])):
        report.fail("deploy/prometheus/alerts.yml", "ServiceDown has no absent(up{...}) rule for a target that left discovery")

    check_alert_tests(report, root, set(alerts))
    return recorded


def check_alert(report: Report, where: str, rule: dict) -> None:
    severity = rule.get("labels", {}).get("severity")
    if severity not in ("critical", "warning"):
        report.fail(where, f"severity label is {severity!r}, expected critical or warning")
    if not rule.get("for"):
        report.fail(where, "has no `for` duration")
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            report.fail(where, f"missing annotation {key}")
    url = annotations.get("runbook_url", "")
    if url and (not url.startswith(RUNBOOK_BASE) or url[len(RUNBOOK_BASE):] not in RUNBOOK_ANCHORS):
        report.fail(where, f"runbook_url {url!r} is not a known runbook section")


def check_alert_tests(report: Report, root: Path, alert_names: set[str]) -> None:
    """Require a firing and a quiet unit-test case for every alert."""
    fires: set[str] = set()
    quiet: set[str] = set()
    test_files = sorted((root / "prometheus" / "tests").glob("*.yml"))
    if not test_files:
        report.fail("prometheus/tests", "no rule unit tests")
    for path in test_files:
        for test in yaml.safe_load(path.read_text()).get("tests", []):
            for case in test.get("alert_rule_test", []):
                expected = case.get("exp_alerts") or []
                (fires if expected else quiet).add(case["alertname"])
    for name in sorted(alert_names):
        if name not in fires:
            report.fail("prometheus/tests", f"no unit test fires alert {name}")
        if name not in quiet:
            report.fail("prometheus/tests", f"no unit test keeps alert {name} quiet")


def variable_values(dashboard: dict) -> dict[str, str]:
    """Return one sample value per template variable, for substitution."""
    values = dict(GRAFANA_BUILTINS)
    for variable in dashboard.get("templating", {}).get("list", []):
        name = variable["name"]
        if variable.get("type") == "custom":
            options = [option.strip() for option in str(variable.get("query", "")).split(",") if option.strip()]
            values[name] = options[0] if options else ".*"
        elif variable.get("type") == "datasource":
            values[name] = "prometheus"
        else:
            values[name] = ".*"
    return values


def substitute(expr: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """Replace $name and ${name} variables and return the result with the unknown names."""
    unknown: list[str] = []

    def replace(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            unknown.append(name)
            return match.group(0)
        return values[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr), unknown


def dashboard_queries(dashboard: dict) -> list[tuple[str, str]]:
    """Return (location, expression) of every panel query and query variable."""
    queries = []
    for panel in iter_panels(dashboard.get("panels", [])):
        for target in panel.get("targets", []):
            queries.append((f"panel {panel.get('id')} {panel.get('title')!r} query {target.get('refId')}", target.get("expr", "")))
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query)
        match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\)\s*", text)
        if not match:
            queries.append((f"variable {variable['name']}", text))
        else:
            queries.append((f"variable {variable['name']}", match.group(1)))
    return queries


def iter_panels(panels: list[dict]):
    for panel in panels:
        yield panel
        yield from iter_panels(panel.get("panels", []))


def check_dashboard(report: Report, path: Path, dashboard: dict, recorded: dict[str, set[str]], rules: list[dict]) -> None:
    where = str(path)
    variables = dashboard.get("templating", {}).get("list", [])
    datasource_vars = [v for v in variables if v.get("name") == "datasource"]
    if not datasource_vars or datasource_vars[0].get("type") != "datasource" or datasource_vars[0].get("query") != "prometheus":
        report.fail(where, "needs a template variable named datasource of type datasource with query prometheus")

    ids = set()
    for panel in iter_panels(dashboard.get("panels", [])):
        label = f"{where} panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("id") in ids:
            report.fail(label, "duplicate panel id")
        ids.add(panel.get("id"))
        if panel.get("type") == "row":
            continue
        if "gridPos" not in panel:
            report.fail(label, "has no gridPos")
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            report.fail(label, "panel data source is not ${datasource}")
        targets = panel.get("targets", [])
        if not targets:
            report.fail(label, "has no query")
        for target in targets:
            if target.get("datasource", {}).get("uid") != "${datasource}":
                report.fail(label, f"query {target.get('refId')} data source is not ${{datasource}}")
            if not str(target.get("expr", "")).strip():
                report.fail(label, f"query {target.get('refId')} has an empty expr")

    values = variable_values(dashboard)
    slug = re.sub(r"\W", "_", path.stem)
    for index, (location, expr) in enumerate(dashboard_queries(dashboard)):
        concrete, unknown = substitute(expr, values)
        for name in unknown:
            report.fail(f"{where} {location}", f"uses undefined variable ${name}")
        check_expression(report, f"{where} {location}", concrete, recorded)
        rules.append({"record": f"grafana_check:{slug}:q{index}", "expr": concrete, "_where": f"{where} {location}"})


def has_p95_threshold_line(dashboard: dict) -> bool:
    for panel in iter_panels(dashboard.get("panels", [])):
        exprs = " ".join(t.get("expr", "") for t in panel.get("targets", []))
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        steps = defaults.get("thresholds", {}).get("steps", [])
        style = defaults.get("custom", {}).get("thresholdsStyle", {}).get("mode", "off")
        if "histogram_quantile(0.95" in exprs and any(step.get("value") == 0.8 for step in steps) and style != "off":
            return True
    return False


def run_promtool(report: Report, rules: list[dict]) -> None:
    """Parse every dashboard query with `promtool check rules`."""
    if not rules:
        return
    document = {"groups": [{"name": "grafana-queries", "rules": [{k: v for k, v in r.items() if k != "_where"} for r in rules]}]}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "grafana-queries.yml"
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        names = {r["record"]: r["_where"] for r in rules}
        output = result.stdout + result.stderr
        for record, where in names.items():
            output = output.replace(f'"{record}"', f'"{record}" ({where})')
        report.fail("grafana/dashboards", "promtool check rules rejected dashboard queries:\n" + output.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args()
    root = args.root.resolve()

    report = Report()
    recorded = check_rules(report, root)

    rules: list[dict] = []
    dashboards = {path.name: path for path in sorted((root / "grafana" / "dashboards").glob("*.json"))}
    for required in ("babyshield-service.json", "babyshield-slo.json"):
        if required not in dashboards:
            report.fail("grafana/dashboards", f"missing {required}")
    for name, path in dashboards.items():
        try:
            dashboard = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            report.fail(str(path.relative_to(root)), f"invalid JSON: {error}")
            continue
        check_dashboard(report, path.relative_to(root), dashboard, recorded, rules)
        if name == "babyshield-service.json" and not has_p95_threshold_line(dashboard):
            report.fail(str(path.relative_to(root)), "no p95 latency panel with an 800 ms threshold line")
    run_promtool(report, rules)

    if report.errors:
        print(f"check_promql: {len(report.errors)} violation(s):", file=sys.stderr)
        for error in report.errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    print(f"check_promql: rules, {len(rules)} dashboard queries and alert test coverage are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
