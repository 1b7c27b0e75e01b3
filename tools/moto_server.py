"""moto's server, completed for Zappa's deploy cycle: `python tools/moto_server.py -p PORT`.

Takes moto_server's arguments. Before the server starts it:
- adds Lambda ListFunctionUrlConfigs, which `zappa update` calls and moto 5.2 lacks (moto builds
  each service's routes from this url map on the service's first request, and finds the
  handler by the operation's snake_case name);
- selects moto's Lambda backend that needs no Docker engine (none runs here): an Invoke
  answers without running the code, and no command of the deploy cycle invokes anyway.
"""

import json
from urllib.parse import unquote

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

if __name__ == "__main__":
    from moto.server import main

    main()
