"""Checks of deploy/template.yaml that need no AWS account, run by deploy/check.

    python deploy/template_checks.py lint        cfn-lint: no error, no warning
    python deploy/template_checks.py mutants     misspelled copies of the template are refused
    python deploy/template_checks.py translate   the SAM transform, run offline, and its output linted
    python deploy/template_checks.py artifacts --arch arm64
                                                 every CodeUri holds a bootstrap for that architecture

Run it with the Python of .venv/deploy (deploy/env.sh), which has cfn-lint and aws-sam-translator.

cfn-lint checks a SAM template against SAM's own schemas without expanding it, so a mistake that
only the transform sees (an event naming an API that does not exist, a property SAM cannot turn
into CloudFormation) would pass it. `translate` therefore also runs the transform itself, as
CloudFormation would, and lints the CloudFormation it produces.
"""

from __future__ import annotations

import argparse
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
]


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


def load(path: Path) -> dict:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text())


class NoManagedPolicies:
    """The transform asks IAM for managed policies' ARNs only when a function names one in
    Policies; this template names none, so nothing is looked up (and no AWS call is made)."""

    def load(self) -> dict:
        return {}


def translate(path: Path) -> dict:
    """The CloudFormation the SAM transform makes of the template at `path`, as `sam deploy` would
    have it after packaging: every local CodeUri replaced by an S3 location."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from samtranslator.translator.transform import transform

    template = load(path)
    for name, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://packaged-artifacts/{name}.zip"
    # No parameter values: the transform uses the defaults where it resolves parameters itself.
    return transform(template, {}, NoManagedPolicies())


def fail(message: str) -> None:
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def cmd_lint(_: argparse.Namespace) -> None:
    result = cfn_lint(TEMPLATE)
    if result.returncode != 0 or result.stdout.strip():
        fail(f"cfn-lint found problems in {TEMPLATE.name} (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    print(f"cfn-lint {TEMPLATE.name}: no errors, no warnings")


def cmd_translate(_: argparse.Namespace) -> None:
    try:
        output = translate(TEMPLATE)
    except Exception as err:  # the transform's own errors name the resource and the problem
        fail(f"the SAM transform refused {TEMPLATE.name}: {err}")
    with tempfile.TemporaryDirectory() as tmp:
        translated = Path(tmp) / "translated.json"
        translated.write_text(json.dumps(output, indent=1))
        # W2001 (unused parameter): the transform writes the value of a parameter it resolves
        # itself (AuthorizerResultTtl, into the authorizer's settings) where the template had a Ref.
        result = cfn_lint(translated, "--ignore-checks", "W2001")
        if result.returncode != 0:
            fail(f"cfn-lint found problems in the transformed template (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    print(f"SAM transform: {len(output['Resources'])} CloudFormation resources, cfn-lint clean")


def cmd_mutants(_: argparse.Namespace) -> None:
    original = TEMPLATE.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        for mutant in MUTANTS:
            before, after = mutant["replace"]
            if original.count(before) != 1:
                fail(f"mutant '{mutant['what']}': {before.strip()!r} must occur exactly once in the template")
            path = Path(tmp) / "template.yaml"
            path.write_text(original.replace(before, after))
            if mutant["check"] == "lint":
                result = cfn_lint(path)
                caught = result.returncode & 2 != 0  # bit 2: errors
                said = result.stdout + result.stderr
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
    artifacts = sub.add_parser("artifacts")
    artifacts.add_argument("--arch", choices=sorted(ELF_MACHINES), default="arm64")
    artifacts.set_defaults(run=cmd_artifacts)
    args = parser.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
