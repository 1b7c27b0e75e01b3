"""The GitHub Actions pipeline (.github/workflows): valid, audited, and shipping only what passed.

The workflows validate against GitHub's workflow schema (check-jsonschema's vendored copy) and
pass zizmor's offline audit with no finding of medium severity or above; both run with the
network closed. Which jobs run for which event is worked out from the files themselves.
"""

import os
import re
import subprocess
import sys
from fnmatch import fnmatchcase
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
# Any request for the network fails at once: the checks must work offline.
OFFLINE = os.environ | {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
}


def load(name):
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads `on` as true
    return workflow


def all_workflows():
    return {path.name: load(path.name) for path in sorted(WORKFLOWS.glob("*.yml"))}


def test_workflows_match_githubs_schema():
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows"]
        + sorted(str(path) for path in WORKFLOWS.glob("*.yml")),
        capture_output=True,
        text=True,
        env=OFFLINE,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_above():
    result = subprocess.run(
        [BIN / "zizmor", "--offline", "--min-severity", "medium", "--no-progress", WORKFLOWS],
        capture_output=True,
        text=True,
        env=OFFLINE,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit():
    uses = [
        line.split("uses:", 1)[1].strip()
        for path in WORKFLOWS.glob("*.yml")
        for line in path.read_text().splitlines()
        if line.strip().removeprefix("- ").startswith("uses:")
    ]
    third_party = [use for use in uses if not use.startswith("./")]
    assert third_party
    assert [use for use in third_party if not PINNED.match(use)] == []


def test_permissions_are_minimal():
    for name, workflow in all_workflows().items():
        assert workflow["permissions"] == {"contents": "read"}, name
        for job_name, job in workflow["jobs"].items():
            permissions = job.get("permissions", {"contents": "read"})
            deploys = job.get("uses") == "./.github/workflows/deploy.yml" or name == "deploy.yml"
            expected = (
                {"contents": "read", "id-token": "write"} if deploys else {"contents": "read"}
            )
            assert permissions == expected, (name, job_name)


def test_the_tests_are_make_test_as_ci_runs_them():
    (job,) = load("test.yml")["jobs"].values()
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert runs[-1] == "make test"
    assert [line for line in runs if "pytest" in line or "ruff" in line] == []
    ci_script = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci_script[-1] == "make test"


def test_the_test_job_sets_up_what_the_readme_asks():
    (job,) = load("test.yml")["jobs"].values()
    steps = {
        step["uses"].split("@")[0]: step.get("with", {}) for step in job["steps"] if "uses" in step
    }
    # No stage pins a runtime: Zappa deploys the Python that builds the package, so the deploy
    # job must build with the Python the tests ran on.
    (deploy,) = load("deploy.yml")["jobs"].values()
    deploys_with = [
        step["with"]["python-version"]
        for step in deploy["steps"]
        if step.get("uses", "").startswith("actions/setup-python@")
    ]
    assert deploys_with == [steps["actions/setup-python"]["python-version"]]
    assert steps["actions/setup-java"]["java-version"] == "17"
    assert steps["actions/setup-node"]["node-version"]
    caches = [step for step in job["steps"] if step.get("uses", "").startswith("actions/cache@")]
    keys = " ".join(step["with"]["key"] for step in caches)
    paths = " ".join(step["with"]["path"] for step in caches)
    assert "hashFiles('requirements*.txt')" in keys and ".venv" in paths
    assert "hashFiles('package-lock.json')" in keys and "node_modules" in paths


def test_deploys_use_the_oidc_role_and_the_stage_environment():
    (job,) = load("deploy.yml")["jobs"].values()
    assert job["environment"] == "${{ inputs.stage }}"
    (credentials,) = [s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert set(credentials["with"]) == {"role-to-assume", "aws-region"}  # no stored keys
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    text = (WORKFLOWS / "deploy.yml").read_text()
    assert "secrets." not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert 'make update STAGE="$STAGE"' in text and 'make deploy STAGE="$STAGE"' in text


# Events, as GitHub describes them to a workflow.
PR_FROM_FORK = {"event_name": "pull_request", "ref": "refs/pull/7/merge", "fork": True}
PR = {"event_name": "pull_request", "ref": "refs/pull/8/merge", "fork": False}
PUSH_MAIN = {"event_name": "push", "ref": "refs/heads/main"}
PUSH_BRANCH = {"event_name": "push", "ref": "refs/heads/feature/x"}
PUSH_TAG = {"event_name": "push", "ref": "refs/tags/v1.4.0"}
MANUAL = {"event_name": "workflow_dispatch", "ref": "refs/heads/main"}


@pytest.mark.parametrize(
    "event, expected",
    [
        (PR_FROM_FORK, {"test"}),
        (PR, {"test"}),
        (PUSH_BRANCH, {"test"}),
        (PUSH_MAIN, {"test", "deploy dev"}),
        (PUSH_TAG, {"test", "deploy staging", "deploy prod"}),
        (MANUAL, {"test", "deploy staging", "deploy prod"}),
    ],
)
def test_which_jobs_run_for_each_event(event, expected):
    assert jobs_run(event) == expected


def test_prod_deploys_only_after_staging_in_the_same_run():
    jobs = load("release.yml")["jobs"]
    assert jobs["deploy-prod"]["needs"] == "deploy-staging"
    assert jobs["deploy-staging"]["needs"] == "test"
    assert load("ci.yml")["jobs"]["deploy-dev"]["needs"] == "test"


def jobs_run(event):
    """The jobs that run for an event, as "test" or "deploy STAGE", all workflows together."""
    ran = set()
    for workflow in all_workflows().values():
        if not triggered(workflow["on"], event):
            continue
        done = set()
        for name, job in workflow["jobs"].items():  # jobs are listed after what they need
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            if all(need in done for need in needs) and condition(job.get("if", "true"), event):
                done.add(name)
                if job.get("uses") == "./.github/workflows/deploy.yml":
                    ran.add(f"deploy {job['with']['stage']}")
                elif job.get("uses") == "./.github/workflows/test.yml":
                    ran.add("test")
    return ran


def triggered(on, event):
    if event["event_name"] not in on:
        return False
    filters = on[event["event_name"]] or {}
    if event["event_name"] != "push" or not filters:
        return True
    kind, _, name = event["ref"].removeprefix("refs/").partition("/")
    patterns = filters.get("branches" if kind == "heads" else "tags")
    return patterns is not None and any(fnmatchcase(name, p.replace("**", "*")) for p in patterns)


def condition(expression, event):
    """A GitHub expression of the kind the workflows use (==, &&, ||, startsWith)."""
    expression = expression.replace("&&", " and ").replace("||", " or ")
    github = SimpleNamespace(
        event_name=event["event_name"],
        ref=event["ref"],
        event=SimpleNamespace(pull_request=SimpleNamespace(head=SimpleNamespace())),
    )
    names = {"github": github, "startsWith": str.startswith, "true": True, "false": False}
    return bool(eval(expression, {"__builtins__": {}}, names))  # our own files only
