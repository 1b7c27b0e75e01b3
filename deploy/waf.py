"""A per-caller rate limit at the edge: an AWS WAF web ACL on the stage's API.

Every caller of a stage sends the stage's one API key, so the usage plan caps the stage, not a
caller: one user could spend the month's quota for everyone. With "caller_rate_limit" in the
stage's "taskapp" settings (requests per 5 minutes), the post-deploy hook gives the stage a
REGIONAL web ACL named "<function>-callers" whose one rule counts requests per Authorization
header and answers a 429 in the API's error shape past the limit. Without the setting, the
hook takes the ACL off the stage and deletes it. The hook owns that ACL: it rewrites its rules
on every deploy.

Requests without an Authorization header have no key to count by, so WAF does not count them;
they still meet the stage's throttling and usage plan, and a stage with auth on answers 401.
"""

import json

import click

SCOPE = "REGIONAL"
RULE = "requests-per-caller"
WINDOW_SECONDS = 300  # the unit of "caller_rate_limit"
LOWEST_LIMIT = 10  # WAF's minimum for a rate-based rule
RETRY_AFTER_SECONDS = 60
BODY = "too-many-requests"
TOO_MANY_REQUESTS = {"error": "Too many requests from this caller. Retry in a minute"}


def set_caller_rate_limit(wafv2, name, stage_arn, limit):
    """Create or update the stage's web ACL with `limit`, or remove it when `limit` is None."""
    acl = _find(wafv2, name)
    if limit is None:
        if acl is not None:
            _remove(wafv2, acl, stage_arn)
        click.echo(f"Web ACL {name}: {'removed' if acl else 'none'} (no caller_rate_limit).")
        return
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < LOWEST_LIMIT:
        raise click.ClickException(
            f"caller_rate_limit must be a whole number of requests per 5 minutes, at least "
            f"{LOWEST_LIMIT}, not {limit!r}."
        )
    current = _acl_of(wafv2, stage_arn)
    if current is not None and (acl is None or current != acl["ARN"]):
        raise click.ClickException(
            f"The stage already has web ACL {current}, and a stage takes one: add a rate-based "
            f"rule to that ACL, or take it off the stage, then deploy again."
        )
    definition = acl_definition(name, limit)
    if acl is None:
        acl = wafv2.create_web_acl(Name=name, Scope=SCOPE, **definition)["Summary"]
    else:
        wafv2.update_web_acl(
            Name=name, Scope=SCOPE, Id=acl["Id"], LockToken=acl["LockToken"], **definition
        )
    if current is None:
        wafv2.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage_arn)
    click.echo(f"Web ACL {name}: {limit} requests per 5 minutes per caller, then 429.")


def forget_caller_rate_limit(wafv2, name):
    """Delete the web ACL `name` that an undeployed stage left: Zappa runs no hook on undeploy,
    and deleting the API took the ACL off it."""
    acl = _find(wafv2, name)
    if acl is None:
        click.echo(f"Web ACL {name}: none.")
        return
    try:
        wafv2.delete_web_acl(Name=name, Scope=SCOPE, Id=acl["Id"], LockToken=acl["LockToken"])
    except wafv2.exceptions.WAFAssociatedItemException:
        raise click.ClickException(
            f"Web ACL {name} still protects a resource: the stage is deployed, so remove "
            "caller_rate_limit and update it instead."
        ) from None
    click.echo(f"Web ACL {name}: removed.")


def acl_definition(name, limit):
    """What CreateWebACL and UpdateWebACL are given: the whole ACL but its name and scope."""
    return {
        "Description": f"At most {limit} requests per 5 minutes per Authorization header, "
        "set by the post-deploy hook",
        "DefaultAction": {"Allow": {}},
        "Rules": [
            {
                "Name": RULE,
                "Priority": 0,
                "Statement": {
                    "RateBasedStatement": {
                        "Limit": limit,
                        "EvaluationWindowSec": WINDOW_SECONDS,
                        "AggregateKeyType": "CUSTOM_KEYS",
                        # Lowercased: the app takes "Bearer" in any case, and a caller should
                        # not get a fresh count by changing the scheme's case.
                        "CustomKeys": [
                            {
                                "Header": {
                                    "Name": "authorization",
                                    "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
                                }
                            }
                        ],
                    }
                },
                "Action": {
                    "Block": {
                        "CustomResponse": {
                            "ResponseCode": 429,
                            "CustomResponseBodyKey": BODY,
                            "ResponseHeaders": [
                                {"Name": "Retry-After", "Value": str(RETRY_AFTER_SECONDS)}
                            ],
                        }
                    }
                },
                "VisibilityConfig": _visibility(f"{name}-{RULE}"),
            }
        ],
        "CustomResponseBodies": {
            BODY: {"ContentType": "APPLICATION_JSON", "Content": json.dumps(TOO_MANY_REQUESTS)}
        },
        "VisibilityConfig": _visibility(name),
    }


def _visibility(metric):
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def _find(wafv2, name):
    """The region's web ACL called `name` (its summary, with Id, ARN and LockToken), or None."""
    request = {"Scope": SCOPE, "Limit": 100}
    while True:
        page = wafv2.list_web_acls(**request)
        for acl in page.get("WebACLs", []):
            if acl["Name"] == name:
                return acl
        if not page.get("WebACLs") or not page.get("NextMarker"):
            return None
        request["NextMarker"] = page["NextMarker"]


def _acl_of(wafv2, stage_arn):
    """The ARN of the web ACL on the stage, or None."""
    try:
        acl = wafv2.get_web_acl_for_resource(ResourceArn=stage_arn).get("WebACL")
    except wafv2.exceptions.WAFNonexistentItemException:
        return None
    return acl["ARN"] if acl else None


def _remove(wafv2, acl, stage_arn):
    # WAF refuses to delete an ACL that protects a resource; another ACL on the stage is not
    # the hook's to take off.
    if _acl_of(wafv2, stage_arn) == acl["ARN"]:
        wafv2.disassociate_web_acl(ResourceArn=stage_arn)
    wafv2.delete_web_acl(Name=acl["Name"], Scope=SCOPE, Id=acl["Id"], LockToken=acl["LockToken"])


def main(argv=None):
    """`python -m deploy.waf forget STAGE`, which `make undeploy` runs after Zappa's undeploy."""
    import argparse
    from pathlib import Path

    import boto3

    parser = argparse.ArgumentParser(prog="python -m deploy.waf")
    parser.add_argument("command", choices=["forget"])
    parser.add_argument("stage")
    stage = parser.parse_args(argv).stage
    settings = json.loads((Path(__file__).parent.parent / "zappa_settings.json").read_text())
    merged = settings.get(settings[stage].get("extends"), {}) | settings[stage]
    wafv2 = boto3.client("wafv2", region_name=merged["aws_region"])
    try:
        forget_caller_rate_limit(wafv2, f"{merged['project_name']}-{stage}-callers")
    except click.ClickException as error:
        error.show()
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
