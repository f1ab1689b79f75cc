"""The Prometheus alert rules (monitoring/alerts.yml) are valid, each has its unit tests
(monitoring/alerts_test.yml), and promtool runs them: Debian's `prometheus` package has it
(.ci/run installs it)."""

import os
import shutil
import subprocess

import pytest
import yaml

from .servers import ROOT

RULES = ROOT / "monitoring" / "alerts.yml"
RULE_TESTS = ROOT / "monitoring" / "alerts_test.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus")
        pytest.skip("no promtool here: apt-get install prometheus")
    return path


def run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_rules_are_valid(promtool):
    assert "SUCCESS: 17 rules found" in run(promtool, "check", "rules", str(RULES))


def test_the_rules_pass_their_unit_tests(promtool):
    assert "SUCCESS" in run(promtool, "test", "rules", str(RULE_TESTS))


def test_every_alert_has_a_unit_test_that_fires_it():
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    fired = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case.get("exp_alerts")
    }
    assert alerts == fired


def _rules() -> list[dict]:
    return [
        rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
    ]


def test_every_rule_waits_before_it_fires():
    """One late scrape or one late run pages no one."""
    assert [rule["alert"] for rule in _rules() if not rule.get("for")] == []


def test_the_rules_are_tested_on_series_as_a_scrape_stores_them():
    """With the documented scrape configuration every series has job="vipplatform" and an
    instance; the platform's job gauges are labelled `task` (a `job` label the target sent
    would be stored as `exported_job`, and a rule matching on `job` would match nothing)."""
    series = [
        item["series"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for item in test["input_series"]
    ]
    for text in series:
        assert 'job="vipplatform"' in text and "instance=" in text, text
        assert "exported_job" not in text
        if text.startswith("vip_job_"):
            assert "task=" in text, text
    assert not [rule["alert"] for rule in _rules() if "on(job)" in rule["expr"]]
