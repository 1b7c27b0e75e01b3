import subprocess

from tools.zappa_offline import DEPLOY_VENV


def create(client, **fields):
    """POST a task (titled "Task" unless given) and return it as the API shows it."""
    response = client.post("/tasks", json={"title": "Task", **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["task"]


def error_of(response):
    """The error sentence of a JSON error response."""
    assert response.content_type == "application/json"
    return response.get_json()["error"]


def deploy_python():
    """The runtime and bytecode tag of the Python in .venv-deploy, which builds the package:
    Zappa deploys that Python, whichever one runs the tests."""
    probe = "import sys; print(sys.implementation.cache_tag, 'python%d.%d' % sys.version_info[:2])"
    python = str(DEPLOY_VENV / "bin" / "python")
    answer = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    cache_tag, runtime = answer.stdout.split()
    return {"cache_tag": cache_tag, "runtime": runtime}
