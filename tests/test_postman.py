"""The Postman collection, run by newman against what `make run` starts: every request green."""

import json
import subprocess

from tests.servers import LocalRun
from tools.dynamodb_local import ROOT

COLLECTION = ROOT / "postman" / "Task-Management-API.postman_collection.json"


def test_the_postman_collection_passes(tmp_path):
    report = tmp_path / "newman.json"
    with LocalRun(tmp_path) as server:
        result = subprocess.run(
            [str(ROOT / "node_modules" / ".bin" / "newman"), "run", str(COLLECTION)]
            + ["--env-var", f"base_url={server.base}", "--reporters", "cli,json"]
            + ["--reporter-json-export", str(report), "--color", "off"],
            capture_output=True,
            text=True,
            timeout=300,
        )

    assert result.returncode == 0, result.stdout + result.stderr
    stats = json.loads(report.read_text())["run"]["stats"]
    assert stats["requests"]["failed"] == 0
    assert stats["assertions"]["failed"] == 0
    collection = json.loads(COLLECTION.read_text())
    requests = [item for folder in collection["item"] for item in folder["item"]]
    # Every item ran; stats["requests"] also counts the pm.sendRequest calls of scripts (the
    # pages they follow, the clean-up), which depend on what the server already holds.
    assert stats["items"]["total"] == len(requests)
    assert stats["requests"]["total"] >= len(requests)
    assert stats["assertions"]["total"] >= 2 * len(requests)
