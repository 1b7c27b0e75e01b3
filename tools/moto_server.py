"""moto's server, completed for Zappa's deploy cycle: `python tools/moto_server.py -p PORT`.

Takes moto_server's arguments. Before the server starts it:
- adds Lambda ListFunctionUrlConfigs, which `zappa update` calls and moto 5.2 lacks (moto builds
  each service's routes from this url map on the service's first request, and finds the
  handler by the operation's snake_case name);
- selects moto's Lambda backend that needs no Docker engine (none runs here): an Invoke
  answers without running the code, and no command of the deploy cycle invokes anyway;
- makes GetFunction's Code.Location a URL that answers the version's zip, as AWS's presigned
  URL does: moto's points at AWS itself, and `zappa rollback` downloads the previous version's
  code from it. A small HTTP server on loopback, in this process, serves those URLs;
- makes API Gateway's CreateDeployment on an existing stage point that stage at the new
  deployment, as AWS does, instead of replacing it with a blank one: `zappa update` deploys
  the API again, and the stage keeps its settings and its web ACL in AWS.
"""

import functools
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from moto.apigateway.models import RestAPI
from moto.awslambda import urls
from moto.awslambda.exceptions import GenericResourcNotFound
from moto.awslambda.responses import LambdaResponse
from moto.core.models import default_user_config


def list_function_url_configs(self):
    function_name = unquote(self.path.split("/")[-2])
    try:
        configs = [self.backend.get_function_url_config(function_name).to_dict()]
    except GenericResourcNotFound:
        configs = []
    return 200, {}, json.dumps({"FunctionUrlConfigs": configs})


if not hasattr(LambdaResponse, "list_function_url_configs"):
    LambdaResponse.list_function_url_configs = list_function_url_configs
    route = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/urls/?$"
    urls.url_paths[route] = LambdaResponse.dispatch
default_user_config["lambda"] = {"use_docker": False}


def keep_existing_stage(create_deployment):
    @functools.wraps(create_deployment)
    def wrapper(self, name, description, stage_variables=None):
        stage = self.stages.get(name) if name else None
        deployment = create_deployment(self, name, description, stage_variables)
        if stage is not None:
            stage.deployment_id = deployment.id
            stage.variables.update(stage_variables or {})
            self.stages[name] = stage
        return deployment

    return wrapper


if not hasattr(RestAPI.create_deployment, "__wrapped__"):
    RestAPI.create_deployment = keep_existing_stage(RestAPI.create_deployment)

CODE = {}  # URL token: the function version whose zip it answers


class CodeDownloads(BaseHTTPRequestHandler):
    def do_GET(self):
        function = CODE.get(self.path.strip("/"))
        if function is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(function.code_bytes)))
        self.end_headers()
        self.wfile.write(function.code_bytes)

    def log_message(self, *args):
        pass


def serve_code_downloads():
    server = ThreadingHTTPServer(("127.0.0.1", 0), CodeDownloads)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def get_function(self):
        name = unquote(self.path.rsplit("/", 1)[-1])
        qualifier = self._get_param("Qualifier", None)
        # AWS also takes "function:NAME:QUALIFIER", which `zappa rollback` sends.
        if name.startswith("function:"):
            name, _, qualifier = name.removeprefix("function:").partition(":")
        function = self.backend.get_function(name, qualifier or None)
        answer = function.get_code()
        answer["Configuration"] = self._set_configuration_qualifier(
            answer["Configuration"], name, qualifier or None
        )
        if answer.get("Code", {}).get("RepositoryType") == "S3":
            token = secrets.token_hex(16)
            CODE[token] = function
            answer["Code"]["Location"] = f"http://127.0.0.1:{server.server_port}/{token}"
        return json.dumps(answer)

    LambdaResponse.get_function = get_function


if __name__ == "__main__":
    from moto.server import main

    serve_code_downloads()
    main()
