"""Checks of deploy/template.yaml that need no AWS account, run by deploy/check.

    python deploy/template_checks.py lint        cfn-lint: no error, no warning
    python deploy/template_checks.py mutants     copies of the template with mistakes are refused
    python deploy/template_checks.py translate   for every parameter set of MATRIX: the parameters
                                                 pass the template's constraints and Rules, the SAM
                                                 transform (run offline with those values) accepts
                                                 the template, and cfn-lint accepts its output
    python deploy/template_checks.py refused     every parameter set of REFUSED is refused, by the
                                                 constraint or Rule it names
    python deploy/template_checks.py versions    a changed parameter reaches the live alias: each
                                                 function's version fingerprint names every
                                                 parameter it depends on, changes with each, and fits
    python deploy/template_checks.py artifacts --arch arm64 [--lambda-dir DIR]
                                                 every CodeUri holds a bootstrap for that architecture
                                                 (in DIR instead of target/lambda when given)

Run it with the Python of .venv/deploy (deploy/env.sh), which has cfn-lint and aws-sam-translator.

cfn-lint checks a SAM template against SAM's own schemas without expanding it, so a mistake that
only the transform sees (an event naming an API that does not exist, a property SAM cannot turn
into CloudFormation) would pass it. `translate` therefore also runs the transform itself, as
CloudFormation would, with each parameter set's values (SAM resolves some parameters itself), and
lints the CloudFormation it produces.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DEPLOY = Path(__file__).resolve().parent
TEMPLATE = DEPLOY / "template.yaml"
BUILD_SCRIPT = DEPLOY / "build"

# ELF e_machine values of the two Lambda architectures.
ELF_MACHINES = {"arm64": 183, "x86_64": 62}

# Each mutant misspells one thing in a copy of the template; the check that must refuse it names
# what it should say. One lives in a plain CloudFormation resource, one in a SAM resource (checked
# against SAM's schema), one is only visible to the SAM transform.
MUTANTS = [
    {
        "what": "a misspelled property of the DynamoDB table",
        "replace": ("      PointInTimeRecoverySpecification:\n", "      PointInTimeRecoverySpecificaton:\n"),
        "check": "lint",
        "expect": ["E3002", "PointInTimeRecoverySpecificaton"],
    },
    {
        "what": "a misspelled property of a SAM function",
        "replace": ("      ReservedConcurrentExecutions: !If [Service", "      ReservedConcurrentExecution: !If [Service"),
        "check": "lint",
        "expect": ["E3002", "ReservedConcurrentExecution"],
    },
    {
        "what": "an API event naming an API that does not exist",
        "replace": (
            "        ListOrders:\n          Type: Api\n          Properties:\n            RestApiId: !Ref OrdersApi\n",
            "        ListOrders:\n          Type: Api\n          Properties:\n            RestApiId: !Ref OrderApi\n",
        ),
        "check": "translate",
        "expect": ["ListOrders", "RestApiId must be a valid reference"],
    },
    {
        "what": "a version fingerprint that leaves out a parameter the function depends on",
        "replace": ("tokens=${AuthorizerTokenUse} ", ""),
        "count": 2,
        "check": "versions",
        "expect": ["AuthorizerFunction", "AuthorizerTokenUse"],
    },
    {
        "what": "a Description that differs from the VersionDescription",
        "replace": ("      Description: !Sub\n        - \"log=${LogLevel} cache=${CacheTtlSeconds}/${CacheRefreshAfterSeconds}/${CacheStaleIfErrorSeconds}s table=", "      Description: !Sub\n        - \"log=${LogLevel} table="),
        "check": "versions",
        "expect": ["ServiceFunction", "Description"],
    },
]


# The parameter sets `translate` checks: each way to protect the permissions API, each permissions
# source, existing table and pool, the identity pool (both scopes), concurrency, and the
# operational switches. Anything not named keeps its default.
MATRIX: dict[str, dict[str, str]] = {
    "defaults (jwt, dynamodb, created table and pool)": {},
    "iam": {"PermissionsApiAuth": "iam"},
    "iam, source api": {"PermissionsApiAuth": "iam", "PermissionsSource": "api"},
    "iam, identity pool (own)": {"PermissionsApiAuth": "iam", "CreateIdentityPool": "true"},
    "iam, source api, identity pool (all), existing table": {
        "PermissionsApiAuth": "iam",
        "PermissionsSource": "api",
        "CreateIdentityPool": "true",
        "IdentityPoolAccess": "all",
        "ExistingTableName": "PermissionsTable",
    },
    "cognito": {"PermissionsApiAuth": "cognito"},
    "cognito, existing table and pool": {
        "PermissionsApiAuth": "cognito",
        "ExistingTableName": "PermissionsTable",
        "ExistingUserPoolId": "eu-west-1_AbCdEf123",
    },
    "jwt, existing pool, additional clients, V3_0": {
        "ExistingUserPoolId": "eu-west-1_AbCdEf123",
        "AdditionalApiClientIds": "1example23456789,2example23456789",
        "LambdaVersion": "V3_0",
    },
    "iam, identity pool, existing pool": {
        "PermissionsApiAuth": "iam",
        "CreateIdentityPool": "true",
        "ExistingUserPoolId": "eu-west-1_AbCdEf123",
    },
    "concurrency, x86_64, tracing, cached authorizer, no cache": {
        "ServiceReservedConcurrency": "20",
        "TriggerReservedConcurrency": "10",
        "AuthorizerReservedConcurrency": "10",
        "OrdersReservedConcurrency": "5",
        "ServiceProvisionedConcurrency": "2",
        "TriggerProvisionedConcurrency": "1",
        "AuthorizerProvisionedConcurrency": "1",
        "OrdersProvisionedConcurrency": "1",
        "Architecture": "x86_64",
        "EnableTracing": "true",
        "AuthorizerResultTtl": "300",
        "CacheTtlSeconds": "0",
        "CacheRefreshAfterSeconds": "0",
        "CacheStaleIfErrorSeconds": "0",
    },
    "alarms to e-mail and a topic, existing log role, protection, LITE": {
        "AlarmEmail": "oncall@example.com",
        "AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:oncall",
        "ApiGatewayLogRole": "existing",
        "DeletionProtection": "true",
        "UserPoolTier": "LITE",
    },
}

# Parameter sets CloudFormation must refuse before it changes anything, and what refuses them.
REFUSED: dict[str, tuple[dict[str, str], str]] = {
    "a trigger with reserved concurrency 0": ({"TriggerReservedConcurrency": "0"}, "TriggerReservedConcurrency"),
    "the permissions API with reserved concurrency 0": ({"ServiceReservedConcurrency": "0"}, "ServiceReservedConcurrency"),
    "the authorizer with reserved concurrency 0": ({"AuthorizerReservedConcurrency": "0"}, "AuthorizerReservedConcurrency"),
    "the orders API with reserved concurrency 0": ({"OrdersReservedConcurrency": "0"}, "OrdersReservedConcurrency"),
    "source api without iam": ({"PermissionsSource": "api"}, "Rule ApiSourceNeedsIam"),
    "an identity pool without iam": ({"CreateIdentityPool": "true"}, "Rule IdentityPoolNeedsIam"),
    "additional clients with cognito": (
        {"PermissionsApiAuth": "cognito", "AdditionalApiClientIds": "1example23456789"},
        "Rule AdditionalClientsNeedJwt",
    ),
    "additional clients with iam": (
        {"PermissionsApiAuth": "iam", "AdditionalApiClientIds": "1example23456789"},
        "Rule AdditionalClientsNeedJwt",
    ),
    "V2_0 on the LITE plan": ({"LambdaVersion": "V2_0", "UserPoolTier": "LITE"}, "Rule TokenCustomizationNeedsAPlan"),
    "a log level too long for the fingerprint": ({"LogLevel": "info," + "a=debug," * 9}, "LogLevel"),
}

# For `versions`: per parameter a function's configuration can depend on, a change to make (with
# the other values it needs). A dependency without one here fails the check.
CHANGES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "LogLevel": ({}, {"LogLevel": "debug"}),
    "CacheTtlSeconds": ({}, {"CacheTtlSeconds": "0"}),
    "CacheRefreshAfterSeconds": ({}, {"CacheRefreshAfterSeconds": "0"}),
    "CacheStaleIfErrorSeconds": ({}, {"CacheStaleIfErrorSeconds": "0"}),
    "ExistingTableName": ({}, {"ExistingTableName": "PermissionsTable"}),
    "ResourceServerIdentifier": ({}, {"ResourceServerIdentifier": "permissions"}),
    "FunctionMemorySize": ({}, {"FunctionMemorySize": "512"}),
    "Architecture": ({}, {"Architecture": "x86_64"}),
    "EnableTracing": ({}, {"EnableTracing": "true"}),
    "VersionRevision": ({}, {"VersionRevision": "2"}),
    "PermissionsSource": ({"PermissionsApiAuth": "iam"}, {"PermissionsApiAuth": "iam", "PermissionsSource": "api"}),
    # The readers depend on it only with PermissionsSource api, which needs iam: so both change.
    "PermissionsApiAuth": (
        {"PermissionsApiAuth": "iam", "PermissionsSource": "api"},
        {"PermissionsApiAuth": "jwt", "PermissionsSource": "dynamodb"},
    ),
    "ExistingUserPoolId": ({}, {"ExistingUserPoolId": "eu-west-1_AbCdEf123"}),
    "AuthorizerTokenUse": ({}, {"AuthorizerTokenUse": "id"}),
}
# Function properties that are not part of a published version (they live on the function, the
# alias or API Gateway), and the fingerprint itself.
NOT_VERSIONED = {
    "Description",
    "VersionDescription",
    "ReservedConcurrentExecutions",
    "ProvisionedConcurrencyConfig",
    "Events",
    "AutoPublishAlias",
}
LAMBDA_DESCRIPTION_MAX = 256


def venv_tool(name: str) -> str:
    """A console script installed next to this Python (the deploy venv's bin)."""
    return str(Path(sys.executable).parent / name)


def cfn_lint(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_tool("cfn-lint"), *extra, "--", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def cfn_lint_all(paths: list[Path], *extra: str) -> subprocess.CompletedProcess[str]:
    """One cfn-lint run over several templates (it starts slowly)."""
    return subprocess.run(
        [venv_tool("cfn-lint"), *extra, "--", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def load(path: Path) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


class NoManagedPolicies:
    """The transform asks IAM for managed policies' ARNs only when a function names one in
    Policies; this template names none, so nothing is looked up (and no AWS call is made)."""

    def load(self) -> dict:
        return {}


def parameter_values(template: dict, overrides: dict[str, str]) -> dict[str, str]:
    """Every parameter's value as CloudFormation hands it to the transform: a string, the default
    unless the set overrides it."""
    values = {}
    for name, spec in template.get("Parameters", {}).items():
        default = spec.get("Default", "")
        values[name] = ",".join(map(str, default)) if isinstance(default, list) else str(default)
    unknown = set(overrides) - set(values)
    if unknown:
        fail(f"parameter set names parameters the template does not have: {sorted(unknown)}")
    values.update(overrides)
    return values


def translate(path: Path, overrides: dict[str, str] | None = None) -> dict:
    """The CloudFormation the SAM transform makes of the template at `path` with these parameter
    values, as `sam deploy` would have it after packaging: every local CodeUri replaced by an S3
    location."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform

    template = load(path)
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://packaged-artifacts/{name}.zip"
    return transform(template, parameter_values(template, overrides or {}), NoManagedPolicies())


# ---------------------------------------------------------------- parameters, Rules, Conditions
#
# What CloudFormation does with parameter values before it creates anything: the constraints of
# each parameter, then the Rules; and the Conditions and the few functions the checks below need to
# evaluate, with every value a string as CloudFormation has it.


def parameter_problems(template: dict, overrides: dict[str, str]) -> list[str]:
    """Why CloudFormation would refuse these parameter values (empty: it would accept them)."""
    values = parameter_values(template, overrides)
    problems = []
    for name, spec in template["Parameters"].items():
        value = values[name]
        if spec["Type"] == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{name}: {value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{name}: {value} is below MinValue {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{name}: {value} is above MaxValue {spec['MaxValue']}")
            if "AllowedValues" in spec and number not in [float(v) for v in spec["AllowedValues"]]:
                problems.append(f"{name}: {value} is not one of AllowedValues")
            continue
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{name}: {value!r} is not one of AllowedValues {spec['AllowedValues']}")
        if "AllowedPattern" in spec and spec["Type"] == "String" and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{name}: {value!r} does not match AllowedPattern {spec['AllowedPattern']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            problems.append(f"{name}: {value!r} is longer than MaxLength {spec['MaxLength']}")
    if problems:
        return problems
    for rule_name, rule in template.get("Rules", {}).items():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], template, values):
            continue
        for assertion in rule["Assertions"]:
            if not rule_value(assertion["Assert"], template, values):
                problems.append(f"Rule {rule_name}: {' '.join(assertion['AssertDescription'].split())}")
    return problems


def parameter_value(name: str, template: dict, values: dict[str, str]) -> str | list[str]:
    if template["Parameters"][name]["Type"] == "CommaDelimitedList":
        return values[name].split(",")
    return values[name]


def rule_value(node, template: dict, values: dict[str, str]):
    """A Rule's condition or assertion (the rule functions this template uses)."""
    if isinstance(node, (str, int, float)):
        return str(node)
    (function, args), = node.items()
    if function == "Ref":
        return parameter_value(args, template, values)
    if function == "Fn::Equals":
        return rule_value(args[0], template, values) == rule_value(args[1], template, values)
    if function == "Fn::Not":
        return not rule_value(args[0], template, values)
    if function == "Fn::And":
        return all(rule_value(a, template, values) for a in args)
    if function == "Fn::Or":
        return any(rule_value(a, template, values) for a in args)
    if function == "Fn::EachMemberEquals":
        return all(m == rule_value(args[1], template, values) for m in rule_value(args[0], template, values))
    if function == "Fn::Contains":
        return rule_value(args[1], template, values) in rule_value(args[0], template, values)
    raise ValueError(f"rule function {function} is not evaluated by these checks")


def condition_holds(template: dict, name: str | None, overrides: dict[str, str]) -> bool:
    if name is None:
        return True
    return evaluate(template["Conditions"][name], template, parameter_values(template, overrides))


def evaluate(node, template: dict, values: dict[str, str]):
    """A value as CloudFormation would evaluate it: parameters, Conditions, Fn::If, Fn::Sub,
    Fn::Join, Fn::Select. A resource's Ref or attribute stays a placeholder ("{Name}")."""
    if isinstance(node, list):
        return [evaluate(item, template, values) for item in node]
    if not isinstance(node, dict):
        return node if isinstance(node, str) else str(node).lower() if isinstance(node, bool) else str(node)
    if len(node) != 1 or not next(iter(node)).startswith(("Fn::", "Ref", "Condition")):
        return {k: evaluate(v, template, values) for k, v in node.items()}
    (function, args), = node.items()
    if function == "Ref":
        if args in template.get("Parameters", {}):
            return parameter_value(args, template, values)
        return "{" + args + "}"
    if function == "Condition":
        return evaluate(template["Conditions"][args], template, values)
    if function == "Fn::Equals":
        return evaluate(args[0], template, values) == evaluate(args[1], template, values)
    if function == "Fn::Not":
        return not evaluate(args[0], template, values)
    if function == "Fn::And":
        return all(evaluate(a, template, values) for a in args)
    if function == "Fn::Or":
        return any(evaluate(a, template, values) for a in args)
    if function == "Fn::If":
        chosen = args[1] if evaluate(template["Conditions"][args[0]], template, values) else args[2]
        return evaluate(chosen, template, values)
    if function == "Fn::Join":
        return args[0].join(evaluate(args[1], template, values))
    if function == "Fn::Select":
        return evaluate(args[1], template, values)[int(args[0])]
    if function == "Fn::Sub":
        text, variables = (args, {}) if isinstance(args, str) else args
        local = {k: evaluate(v, template, values) for k, v in variables.items()}

        def one(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return local[name]
            if name in template.get("Parameters", {}):
                return values[name]
            return "{" + name + "}"

        return re.sub(r"\$\{([^}]+)\}", one, text)
    if function == "Fn::GetAtt":
        return "{" + (args if isinstance(args, str) else ".".join(args)) + "}"
    raise ValueError(f"{function} is not evaluated by these checks")


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def cmd_lint(_: argparse.Namespace) -> None:
    result = cfn_lint(TEMPLATE)
    if result.returncode != 0 or result.stdout.strip():
        fail(f"cfn-lint found problems in {TEMPLATE.name} (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    print(f"cfn-lint {TEMPLATE.name}: no errors, no warnings")


def check_matrix(path: Path) -> None:
    template = load(path)
    with tempfile.TemporaryDirectory() as tmp:
        outputs = []
        for name, overrides in MATRIX.items():
            problems = parameter_problems(template, overrides)
            if problems:
                fail(f"parameter set {name!r} is refused by the template: {'; '.join(problems)}")
            try:
                output = translate(path, overrides)
            except Exception as err:  # the transform's own errors name the resource and the problem
                fail(f"the SAM transform refused {path.name} with parameter set {name!r}: {err}")
            translated = Path(tmp) / f"{name}.json"
            translated.write_text(json.dumps(output, indent=1))
            outputs.append(translated)
            active = sum(1 for r in output["Resources"].values() if condition_holds(template, r.get("Condition"), overrides))
            print(f"  {name}: {len(output['Resources'])} resources, {active} with these parameters")
        # W2001 (unused parameter): the transform writes the value of a parameter it resolves
        # itself (AuthorizerResultTtl, into the authorizer's settings) where the template had a Ref.
        result = cfn_lint_all(outputs, "--ignore-checks", "W2001")
        if result.returncode != 0:
            fail(f"cfn-lint found problems in the transformed templates (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    print(f"SAM transform of {len(MATRIX)} parameter sets: all accepted, cfn-lint clean on every output")


def cmd_translate(_: argparse.Namespace) -> None:
    check_matrix(TEMPLATE)


def cmd_refused(_: argparse.Namespace) -> None:
    template = load(TEMPLATE)
    for name, (overrides, expect) in REFUSED.items():
        problems = parameter_problems(template, overrides)
        if not any(expect in problem for problem in problems):
            fail(f"parameter set {name!r} ({overrides}) was not refused by {expect!r}: {problems or 'accepted'}")
        print(f"refused, as it should be: {name} ({expect})")


# ---------------------------------------------------------------- versions


def parameter_dependencies(node, template: dict) -> set[str]:
    """The parameters a value depends on: directly, through the Conditions of its Fn::Ifs, and
    through the Conditions of the resources it names."""
    found: set[str] = set()
    parameters = template.get("Parameters", {})
    resources = template.get("Resources", {})

    def resource(name: str) -> None:
        condition = resources.get(name.split(".")[0], {}).get("Condition")
        if condition:
            walk({"Condition": condition})

    def walk(value) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if len(value) == 1:
                (key, args), = value.items()
                if key == "Ref":
                    found.add(args) if args in parameters else resource(args)
                    return
                if key == "Condition":
                    walk(template["Conditions"][args])
                    return
                if key == "Fn::GetAtt":
                    resource(args if isinstance(args, str) else args[0])
                    return
                if key == "Fn::If":
                    walk({"Condition": args[0]})
                    walk(args[1:])
                    return
                if key == "Fn::Sub":
                    text, variables = (args, {}) if isinstance(args, str) else args
                    for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                        if name in variables:
                            continue
                        found.add(name) if name in parameters else resource(name)
                    walk(variables)
                    return
            for item in value.values():
                walk(item)

    walk(node)
    return found


def longest_value(name: str, spec: dict) -> str | None:
    """The longest value CloudFormation accepts for a parameter (None: no bound)."""
    if "AllowedValues" in spec:
        return max((str(v) for v in spec["AllowedValues"]), key=len)
    if spec["Type"] == "Number":
        return str(spec["MaxValue"]) if "MaxValue" in spec else None
    if "MaxLength" in spec:
        return "x" * int(spec["MaxLength"])
    pattern = spec.get("AllowedPattern", "")
    if not pattern or re.search(r"[+*]|\{\d+,\}", pattern):
        return None
    return "x" * max(int(n) for n in re.findall(r"\{\d+,(\d+)\}", pattern))


def functions(template: dict) -> dict[str, dict]:
    return {n: r for n, r in template["Resources"].items() if r.get("Type") == "AWS::Serverless::Function"}


def version_problems(path: Path, report: list[str] | None = None) -> list[str]:
    """Why a parameter change might not reach a function's live alias (empty: it always does)."""
    template = load(path)
    problems: list[str] = []
    shared = {k: v for k, v in template.get("Globals", {}).get("Function", {}).items() if k not in NOT_VERSIONED}
    dependencies: dict[str, set[str]] = {}
    for name, resource in functions(template).items():
        props = resource["Properties"]
        fingerprint = props.get("VersionDescription")
        if fingerprint is None:
            problems.append(f"{name}: no VersionDescription (the settings fingerprint)")
            continue
        if props.get("Description") != fingerprint:
            problems.append(f"{name}: its Description is not its VersionDescription, so a changed fingerprint might leave the function's configuration as it was (and Lambda would refuse to publish)")
        needs = parameter_dependencies({k: v for k, v in props.items() if k not in NOT_VERSIONED}, template)
        needs |= parameter_dependencies(shared, template)
        covered = parameter_dependencies(fingerprint, template)
        missing = needs - covered
        if missing:
            problems.append(f"{name}: its configuration depends on {sorted(missing)}, which its fingerprint (VersionDescription) leaves out")
        dependencies[name] = needs | {"VersionRevision"}
        # The longest fingerprint, over every combination of the values its conditions test.
        tested = sorted(p for p in covered if "AllowedValues" in template["Parameters"][p])
        longest = {}
        for p in covered:
            value = longest_value(p, template["Parameters"][p])
            if value is None:
                problems.append(f"{name}: parameter {p} in its fingerprint has no maximum length")
                value = ""
            longest[p] = value
        worst = 0
        for combination in itertools.product(*(template["Parameters"][p]["AllowedValues"] for p in tested)):
            values = parameter_values(template, {**longest, **dict(zip(tested, map(str, combination)))})
            worst = max(worst, len(evaluate(fingerprint, template, values)))
        if worst > LAMBDA_DESCRIPTION_MAX:
            problems.append(f"{name}: its fingerprint can be {worst} characters, above Lambda's {LAMBDA_DESCRIPTION_MAX}")
        if report is not None:
            report.append(f"{name}: fingerprint covers {len(covered)} parameters ({', '.join(sorted(covered))}); longest {worst}/{LAMBDA_DESCRIPTION_MAX} characters")
    if problems:
        return problems

    # Transform with each change and without it; the published version's description (as
    # CloudFormation will evaluate it) must differ for every function that depends on it.
    transformed: dict[str, dict] = {}

    def version_descriptions(overrides: dict[str, str]) -> dict[str, str]:
        key = json.dumps(overrides, sort_keys=True)
        if key not in transformed:
            output = translate(path, overrides)
            values = parameter_values(output, overrides)
            found = {}
            for resource in output["Resources"].values():
                if resource["Type"] == "AWS::Lambda::Version":
                    function = resource["Properties"]["FunctionName"]["Ref"]
                    found[function] = evaluate(resource["Properties"].get("Description", ""), output, values)
            transformed[key] = found
        return transformed[key]

    for parameter in sorted(set().union(*dependencies.values())):
        if parameter not in CHANGES:
            problems.append(f"{parameter}: no change to try in CHANGES (template_checks.py)")
            continue
        base, changed = CHANGES[parameter]
        changed = {**base, **changed}
        for overrides in (base, changed):
            refused = parameter_problems(template, overrides)
            if refused:
                problems.append(f"{parameter}: the change to try is refused: {refused}")
        if problems:
            continue
        before, after = version_descriptions(base), version_descriptions(changed)
        moved = sorted(f for f in before if before[f] != after.get(f))
        stale = sorted(f for f, needs in dependencies.items() if parameter in needs and f not in moved)
        if stale:
            problems.append(f"{parameter}: changing it leaves the published version of {stale} as it was")
        elif report is not None:
            report.append(f"{parameter}: {base or 'defaults'} -> {changed}: new versions of {', '.join(moved)}")
    # A parameter no function depends on must not publish needless versions.
    quiet = {"UserClientCallbackUrls": "https://app.example.com/callback", "AuthorizerResultTtl": "300"}
    before, after = version_descriptions({}), version_descriptions(quiet)
    if before != after:
        problems.append(f"changing {sorted(quiet)} changed a function's version")
    elif report is not None:
        report.append(f"{', '.join(sorted(quiet))} changed: no new versions, as no function depends on them")
    return problems


def cmd_versions(_: argparse.Namespace) -> None:
    report: list[str] = []
    problems = version_problems(TEMPLATE, report)
    if problems:
        fail("a parameter change might not reach the live alias:\n  " + "\n  ".join(problems))
    for line in report:
        print(f"  {line}")
    print("version fingerprints: every parameter change a function depends on publishes a new version")


def cmd_mutants(_: argparse.Namespace) -> None:
    original = TEMPLATE.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        for mutant in MUTANTS:
            before, after = mutant["replace"]
            if original.count(before) != mutant.get("count", 1):
                fail(f"mutant '{mutant['what']}': {before.strip()!r} must occur {mutant.get('count', 1)} time(s) in the template")
            path = Path(tmp) / "template.yaml"
            path.write_text(original.replace(before, after))
            if mutant["check"] == "lint":
                result = cfn_lint(path)
                caught = result.returncode & 2 != 0  # bit 2: errors
                said = result.stdout + result.stderr
            elif mutant["check"] == "versions":
                problems = version_problems(path)
                caught, said = bool(problems), "\n".join(problems)
            else:
                try:
                    translate(path)
                    caught, said = False, ""
                except Exception as err:
                    caught, said = True, str(err)
            if not caught or not all(text in said for text in mutant["expect"]):
                fail(f"mutant '{mutant['what']}' was not refused as expected ({mutant['expect']}):\n{said}")
            print(f"refused, as it should be: {mutant['what']} ({mutant['check']})")


def cmd_artifacts(args: argparse.Namespace) -> None:
    template = load(TEMPLATE)
    binaries = []
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        code_uri = resource["Properties"]["CodeUri"]
        if not isinstance(code_uri, str):
            fail(f"{name}: CodeUri must be a local folder, not {code_uri!r}")
        folder = (TEMPLATE.parent / code_uri).resolve()
        if args.lambda_dir:
            folder = Path(args.lambda_dir).resolve() / folder.name
        binaries.append(folder.name)
        bootstrap = folder / "bootstrap"
        if not bootstrap.is_file():
            fail(f"{name}: {bootstrap} is missing: run deploy/build")
        header = bootstrap.read_bytes()[:20]
        if header[:4] != b"\x7fELF":
            fail(f"{name}: {bootstrap} is not an ELF executable")
        machine = int.from_bytes(header[18:20], "little")
        if machine != ELF_MACHINES[args.arch]:
            fail(f"{name}: {bootstrap} is not built for {args.arch} (ELF machine {machine})")
        if not os.access(bootstrap, os.X_OK):
            fail(f"{name}: {bootstrap} is not executable")
        shown = os.path.relpath(bootstrap)
        print(f"{name}: {shown} ({args.arch}, {bootstrap.stat().st_size} bytes)")
    built = re.search(r"^BINARIES=\(([^)]*)\)", BUILD_SCRIPT.read_text(), re.MULTILINE)
    if not built or sorted(built.group(1).split()) != sorted(binaries):
        fail(f"deploy/build's BINARIES ({built.group(1) if built else 'not found'}) are not the template's CodeUris ({' '.join(binaries)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("lint").set_defaults(run=cmd_lint)
    sub.add_parser("mutants").set_defaults(run=cmd_mutants)
    sub.add_parser("translate").set_defaults(run=cmd_translate)
    sub.add_parser("refused").set_defaults(run=cmd_refused)
    sub.add_parser("versions").set_defaults(run=cmd_versions)
    artifacts = sub.add_parser("artifacts")
    artifacts.add_argument("--arch", choices=sorted(ELF_MACHINES), default="arm64")
    artifacts.add_argument("--lambda-dir", help="where the build put the artifacts (default: the CodeUris' folder)")
    artifacts.set_defaults(run=cmd_artifacts)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
