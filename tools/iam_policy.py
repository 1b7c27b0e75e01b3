"""What IAM must allow for a list of recorded AWS calls, and whether a policy allows it.

`required(calls, account)` turns the calls tools/aws_calls.py recorded into IAM requests:
(action, resource ARN, condition context). `allows(policy, request)` evaluates a policy's Allow
statements the way IAM matches them: `*` and `?` wildcards in Action (any case) and Resource,
and the StringEquals / StringLike conditions the deployer's policy uses. `unneeded(policy,
requests)` names every action and resource of a statement that no request needs.

Zappa, the post-deploy hook and PynamoDB call AWS only through what is mapped here; an unmapped
call raises, so a new call in a Zappa upgrade shows up as a test failure, not a silent pass.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict = field(default_factory=dict, compare=False)
    why: str = field(default="", compare=False)

    def __hash__(self):
        return hash((self.action, self.resource, tuple(sorted(self.context.items()))))


# Calls that IAM never denies.
UNAUTHORIZED = {("sts", "GetCallerIdentity")}

# Operations whose IAM action has another name than the operation.
S3_ACTIONS = {
    "HeadBucket": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "CreateBucket": "s3:CreateBucket",
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
}
# CloudWatch's metric reads and WAF's list of web ACLs have no resource type: IAM takes only
# "*" for them.
ACCOUNT_WIDE = {
    ("monitoring", "GetMetricStatistics"): "cloudwatch:GetMetricStatistics",
    ("wafv2", "ListWebACLs"): "wafv2:ListWebACLs",
}
# CloudWatch's operations on dashboards and alarms, with the parameter that names them (one, or
# a list); a DescribeAlarms by prefix, or of every alarm, is not mapped.
CLOUDWATCH_NAMED = {
    "PutDashboard": "DashboardName",
    "DeleteDashboards": "DashboardNames",
    "PutMetricAlarm": "AlarmName",
    "DescribeAlarms": "AlarmNames",
    "DeleteAlarms": "AlarmNames",
}
SNS_ON_A_TOPIC = {"CreateTopic", "DeleteTopic", "ListSubscriptionsByTopic", "Subscribe"}
# A web ACL's ARN names its scope: "regional", or "global" (CloudFront's, kept in us-east-1).
WAF_SCOPES = {"REGIONAL": "regional", "CLOUDFRONT": "global"}


def _pattern(text, case_sensitive=True):
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in text
    )
    return re.compile(regex, 0 if case_sensitive else re.IGNORECASE)


def matches(pattern, value, case_sensitive=True):
    """IAM's wildcard match: `*` any run of characters (":" and "/" too), `?` one character."""
    return _pattern(pattern, case_sensitive).fullmatch(value) is not None


def _listed(value):
    return value if isinstance(value, list) else [value]


def _conditions_hold(statement, context):
    for operator, tests in statement.get("Condition", {}).items():
        if operator not in ("StringEquals", "StringLike"):
            raise ValueError(f"condition operator {operator} is not evaluated here")
        for key, expected in tests.items():
            if key not in context:
                return False
            if operator == "StringEquals" and context[key] not in _listed(expected):
                return False
            if operator == "StringLike" and not any(
                matches(pattern, context[key]) for pattern in _listed(expected)
            ):
                return False
    return True


def statement_allows(statement, request):
    if statement["Effect"] != "Allow" or "NotAction" in statement or "NotResource" in statement:
        raise ValueError("only Allow statements with Action and Resource are evaluated here")
    return (
        any(matches(a, request.action, False) for a in _listed(statement["Action"]))
        and any(matches(r, request.resource) for r in _listed(statement["Resource"]))
        and _conditions_hold(statement, request.context)
    )


def allows(policy, request):
    return any(statement_allows(s, request) for s in policy["Statement"])


def unneeded(policy, requests):
    """Each (statement Sid, action or resource) of the policy that no request needs."""
    spare = []
    for statement in policy["Statement"]:
        used = [request for request in requests if statement_allows(statement, request)]
        sid = statement.get("Sid", "?")
        if not used:
            spare.append((sid, "the whole statement"))
            continue
        for action in _listed(statement["Action"]):
            if not any(matches(action, request.action, False) for request in used):
                spare.append((sid, action))
        for resource in _listed(statement["Resource"]):
            if not any(matches(resource, request.resource) for request in used):
                spare.append((sid, resource))
        for tests in statement.get("Condition", {}).values():
            for key, expected in tests.items():
                for value in _listed(expected):
                    if not any(matches(value, r.context.get(key, "")) for r in used):
                        spare.append((sid, f"{key}={value}"))
    return spare


def required(calls, account):
    """The IAM requests behind recorded calls, each with the call it comes from."""
    requests = []
    for call in calls:
        requests += [
            Request(r.action, r.resource, r.context, f"{call['service']}:{call['operation']}")
            for r in _requests(call, account)
        ]
    return requests


def _requests(call, account):
    service, operation, params = call["service"], call["operation"], call["params"]
    region = call["region"]
    if (service, operation) in UNAUTHORIZED:
        return []
    if (service, operation) in ACCOUNT_WIDE:
        return [Request(ACCOUNT_WIDE[service, operation], "*")]
    if service == "apigateway":
        # API Gateway's IAM actions are the HTTP method; its ARNs are the request's path.
        return [
            Request(f"apigateway:{call['method']}", f"arn:aws:apigateway:{region}::{call['uri']}")
        ]
    if service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        action = S3_ACTIONS[operation]
        return [Request(action, f"{bucket}/{params['Key']}" if "Key" in params else bucket)]
    if service == "lambda":
        requests = [Request(f"lambda:{operation}", _function_arn(params, region, account))]
        if "Role" in params:
            requests.append(pass_role(params["Role"], "lambda.amazonaws.com"))
        return requests
    if service == "iam":
        return [Request(f"iam:{operation}", f"arn:aws:iam::{account}:role/{params['RoleName']}")]
    if service == "dynamodb":
        table = f"arn:aws:dynamodb:{region}:{account}:table/{params['TableName']}"
        return [Request(f"dynamodb:{operation}", table)]
    if service == "logs":
        group = f"arn:aws:logs:{region}:{account}:log-group:{params['logGroupName']}"
        return [Request(f"logs:{operation}", group)]
    if service == "events":
        if operation == "ListRuleNamesByTarget":
            # IAM authorizes it on the account's rules, not on the target it names.
            return [
                Request("events:ListRuleNamesByTarget", f"arn:aws:events:{region}:{account}:rule/*")
            ]
        rule = params.get("Name") or params["Rule"]
        requests = [
            Request(f"events:{operation}", f"arn:aws:events:{region}:{account}:rule/{rule}")
        ]
        if "RoleArn" in params:
            requests.append(pass_role(params["RoleArn"], "events.amazonaws.com"))
        return requests
    if service == "cloudformation":
        stack = f"arn:aws:cloudformation:{region}:{account}:stack/{params['StackName']}/*"
        requests = [Request(f"cloudformation:{operation}", stack)]
        if "TemplateURL" in params:
            # CloudFormation reads the template from S3 with the caller's rights.
            bucket_and_key = urlsplit(params["TemplateURL"]).path.lstrip("/")
            requests.append(Request("s3:GetObject", f"arn:aws:s3:::{bucket_and_key}"))
        return requests
    if service == "wafv2":
        return _waf_requests(operation, params, region, account)
    if service == "monitoring" and CLOUDWATCH_NAMED.get(operation) in params:
        names = _listed(params[CLOUDWATCH_NAMED[operation]])
        if operation.endswith("Dashboard") or operation.endswith("Dashboards"):
            # Dashboards are global: their ARN has no region.
            arns = [f"arn:aws:cloudwatch::{account}:dashboard/{name}" for name in names]
        else:
            arns = [f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}" for name in names]
        return [Request(f"cloudwatch:{operation}", arn) for arn in arns]
    if service == "sns" and operation in SNS_ON_A_TOPIC:
        # CreateTopic names the topic; the others its ARN.
        topic = params.get("TopicArn") or f"arn:aws:sns:{region}:{account}:{params['Name']}"
        return [Request(f"sns:{operation}", topic)]
    if service == "email" and "EmailIdentity" in params:
        # SES v2 (endpoint "email"): its IAM actions are "ses:" ones, on the identity named.
        identity = f"arn:aws:ses:{region}:{account}:identity/{params['EmailIdentity']}"
        return [Request(f"ses:{operation}", identity)]
    raise KeyError(f"no IAM mapping for {service}:{operation}: add one to tools/iam_policy.py")


def _waf_requests(operation, params, region, account):
    if operation in ("CreateWebACL", "GetWebACL", "UpdateWebACL", "DeleteWebACL"):
        scope = WAF_SCOPES[params["Scope"]]
        # A new ACL's id is AWS's to choose: IAM sees the name and any id.
        acl = f"{params['Name']}/{params.get('Id', '*')}"
        arn = f"arn:aws:wafv2:{region}:{account}:{scope}/webacl/{acl}"
        return [Request(f"wafv2:{operation}", arn)]
    resource = params["ResourceArn"]
    if not resource.startswith("arn:aws:apigateway:"):
        raise KeyError(f"no IAM mapping for wafv2:{operation} on {resource}")
    # Associating and disassociating also change the API Gateway stage, which asks for its own
    # permission; GetWebACLForResource also reads the ACL it answers (see web_acl_read).
    if operation == "AssociateWebACL":
        return [
            Request("wafv2:AssociateWebACL", params["WebACLArn"]),
            Request("wafv2:AssociateWebACL", resource),
            Request("apigateway:SetWebACL", resource),
        ]
    if operation == "DisassociateWebACL":
        return [
            Request("wafv2:DisassociateWebACL", resource),
            Request("apigateway:SetWebACL", resource),
        ]
    if operation == "GetWebACLForResource":
        return [Request("wafv2:GetWebACLForResource", resource)]
    raise KeyError(f"no IAM mapping for wafv2:{operation}: add one to tools/iam_policy.py")


def web_acl_read(acl_arn):
    """GetWebACLForResource checks wafv2:GetWebACL on the ACL it finds on the resource, with the
    caller's rights; the recorded call names the resource only."""
    return Request("wafv2:GetWebACL", acl_arn, why="wafv2:GetWebACLForResource (the ACL it reads)")


def _function_arn(params, region, account):
    name = params["FunctionName"]
    if name.startswith("arn:"):
        return name
    name = name.removeprefix("function:")
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{params['Qualifier']}" if params.get("Qualifier") else arn


def pass_role(role_arn, service):
    return Request("iam:PassRole", role_arn, {"iam:PassedToService": service})


def stack_requests(template, api_id, resources, region, role_arn):
    """What CloudFormation does with the caller's rights to create, update and delete the
    stack's REST API: no recorded call shows it. `resources` are the API's resources as
    GetResources answers them."""
    api = f"arn:aws:apigateway:{region}::/restapis/{api_id}"
    requests = [Request("apigateway:POST", f"arn:aws:apigateway:{region}::/restapis")]
    for method in ("GET", "PATCH", "DELETE"):
        requests.append(Request(f"apigateway:{method}", api))
    kinds = {resource["Type"] for resource in template["Resources"].values()}
    for resource in resources:
        path = f"{api}/resources/{resource['id']}"
        if "parentId" in resource:
            requests.append(Request("apigateway:POST", f"{api}/resources/{resource['parentId']}"))
            requests += [Request(f"apigateway:{m}", path) for m in ("GET", "DELETE")]
        for http_method in resource.get("resourceMethods", {}):
            method = f"{path}/methods/{http_method}"
            requests += [Request(f"apigateway:{m}", method) for m in ("PUT", "GET", "DELETE")]
            requests.append(Request("apigateway:PUT", f"{method}/integration"))
    credentials = {
        r["Properties"]["Integration"].get("Credentials")
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Method"
    }
    if role_arn in credentials:
        # An integration that runs as a role: API Gateway checks that the caller may pass it.
        requests.append(pass_role(role_arn, "apigateway.amazonaws.com"))
    unknown = kinds - {
        "AWS::ApiGateway::RestApi",
        "AWS::ApiGateway::Resource",
        "AWS::ApiGateway::Method",
    }
    if unknown:
        raise KeyError(f"no IAM mapping for {sorted(unknown)}: add one to tools/iam_policy.py")
    return [Request(r.action, r.resource, r.context, "cloudformation (stack)") for r in requests]
