"""Parses and lints recipes/, and lists the hookrunner and versioncheck command lines in it.

usage: python3 recipes_lint.py RECIPES_DIR
prints one JSON document: {"problems": [...], "commands": [{"file", "argv"}], "embedded": [{"file", "name", "kind", "text"}]}

usage: python3 recipes_lint.py --cloudformation TEMPLATE [--write-transformed FILE]
prints what a CloudFormation template sets up, after the SAM transform when it has one (which
needs aws-sam-translator), as one JSON document (see cloudformation_facts); the transformed
template is written to FILE, for cfn-lint to lint as plain CloudFormation.
"""
import configparser
import json
import os
import re
import shlex
import sys

try:
    import yaml  # PyYAML
except ImportError:
    print("recipes_lint.py: No module named 'yaml': pip install pyyaml (or pip install cfn-lint aws-sam-translator, which bring it)", file=sys.stderr)
    sys.exit(3)

TOOLS = ("hookrunner", "versioncheck")
problems, commands, embedded = [], [], []
base = "."  # the folder RECIPES_DIR is in: the files' names are relative to it

# CloudFormation's short forms (!Ref, !Sub, !GetAtt …) read as the long forms ({"Ref": …},
# {"Fn::Sub": …}); any other tag is still an error.
INTRINSICS = {"Ref": "Ref", "Condition": "Condition", "GetAtt": "Fn::GetAtt"} | {
    name: f"Fn::{name}" for name in ("Sub", "Join", "If", "Equals", "Not", "And", "Or", "Select", "Split", "FindInMap",
                                     "ImportValue", "GetAZs", "Base64", "Cidr", "ToJsonString", "Length")
}


class CloudFormationLoader(yaml.SafeLoader):
    """PyYAML's safe loader, plus CloudFormation's intrinsic function tags."""


def construct_intrinsic(loader, suffix, node):
    if suffix not in INTRINSICS:
        raise yaml.constructor.ConstructorError(None, None, f"unknown tag !{suffix}", node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {INTRINSICS[suffix]: value}


CloudFormationLoader.add_multi_constructor("!", construct_intrinsic)


def placeholder(text):
    # ${{ expr }} (GitHub), {{ expr }} (Helm, Argo): a value; shell variables stay as words.
    text = re.sub(r"\$\{\{[^}]*\}\}", "X", text)
    return re.sub(r"\{\{[^}]*\}\}", "X", text)


OPERATORS = {";", "&&", "||", "|", "(", ")", "&", ";;", "then", "do", "else", "if", "exec", "!", "time"}


def tool_name(token):
    """hookrunner, /usr/local/bin/hookrunner or ${HOOKRUNNER:-hookrunner} -> hookrunner."""
    match = re.fullmatch(r"\$\{[A-Za-z_]+:-([^}]*)\}", token)
    name = os.path.basename(match.group(1) if match else token)
    return name if name in TOOLS else None


def command_lines(text, where):
    """hookrunner/versioncheck invocations in shell text (scripts, run: blocks, ExecStart=)."""
    text = re.sub(r"\\\n\s*", " ", text)  # line continuations
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        lexer = shlex.shlex(placeholder(line), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            tokens = list(lexer)
        except ValueError as error:
            problems.append(f"{where}: cannot split '{line.strip()}': {error}")
            continue
        at_command = True
        index = 0
        while index < len(tokens):
            token = tokens[index]
            if at_command and tool_name(token):
                argv = [tool_name(token)]
                index += 1
                while index < len(tokens) and tokens[index] not in OPERATORS:
                    argv.append(tokens[index])
                    index += 1
                commands.append({"file": where, "argv": argv})
                continue
            at_command = token in OPERATORS or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", token) is not None and at_command
            index += 1


def walk(value, where, path=""):
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and str(key).endswith(".json"):
                kind = "manifest" if '"services"' in item else "hooks"
                embedded.append({"file": where, "name": f"{path}.{key}" if path else str(key), "kind": kind, "text": item})
                continue
            walk(item, where, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        if value and all(isinstance(v, (str, int, float)) for v in value) and os.path.basename(str(value[0])) in TOOLS:
            commands.append({"file": where, "argv": [os.path.basename(str(value[0]))] + [placeholder(str(v)) for v in value[1:]]})
        for index, item in enumerate(value):
            walk(item, where, f"{path}[{index}]")
    elif isinstance(value, str):
        if path.rsplit(".", 1)[-1] == "run" or "\n" in value:
            command_lines(value, f"{where}: {path}")


def lint_yaml(path, documents):
    name = os.path.basename(path)
    for index, document in enumerate(documents):
        if document is None:
            continue
        where = f"{path} (document {index + 1})"
        if not isinstance(document, dict):
            problems.append(f"{where}: not a mapping")
            continue
        if "Resources" in document and ("AWSTemplateFormatVersion" in document or "Transform" in document):
            lint_cloudformation(path, document)
            continue
        if "apiVersion" in document or "kind" in document:
            for key in ("apiVersion", "kind"):
                if not document.get(key):
                    problems.append(f"{where}: no {key}")
            if not (document.get("metadata") or {}).get("name"):
                problems.append(f"{where}: no metadata.name")
        elif name.startswith("appspec"):
            if str(document.get("version")) != "0.0":
                problems.append(f"{where}: appspec version must be 0.0")
            hooks = document.get("hooks") or document.get("Hooks")
            if not hooks:
                problems.append(f"{where}: no hooks")
            if isinstance(hooks, dict):  # EC2/on-premises: event -> [{location, timeout}]
                for event, entries in hooks.items():
                    for entry in entries:
                        location = os.path.join(os.path.dirname(path), entry.get("location", ""))
                        if not os.access(location, os.X_OK):
                            problems.append(f"{where}: hooks.{event}: {entry.get('location')} is not an executable file")
                        if not 0 < int(entry.get("timeout", 3600)) <= 3600:
                            problems.append(f"{where}: hooks.{event}: timeout must be 1..3600")
            elif isinstance(hooks, list):  # ECS/Lambda: [{Event: function}]
                allowed = {"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}
                for entry in hooks:
                    for event in entry:
                        if event not in allowed:
                            problems.append(f"{where}: {event} is not an ECS/Lambda hook")
        elif "jobs" in document:
            if True not in document and "on" not in document:  # YAML 1.1 reads `on` as true
                problems.append(f"{where}: a workflow needs on:")
            for job, spec in document["jobs"].items():
                if not spec.get("runs-on") or not spec.get("steps"):
                    problems.append(f"{where}: jobs.{job} needs runs-on and steps")
        walk(document, where)


def dockerfile_entrypoint(directory):
    """The exec-form or shell-form ENTRYPOINT of DIRECTORY/Dockerfile as words ([] without
    one), or None when it cannot be read as either."""
    path = os.path.join(directory, "Dockerfile")
    if not os.path.exists(path):
        return []
    with open(path) as handle:
        text = re.sub(r"\\\n", " ", handle.read())
    lines = [line for line in text.splitlines() if re.match(r"\s*ENTRYPOINT\s", line, re.IGNORECASE)]
    if not lines:
        return []
    value = lines[-1].strip()[len("ENTRYPOINT"):].strip()
    if value.startswith("["):
        try:
            words = json.loads(value)
        except ValueError:
            return None
        return words if isinstance(words, list) and all(isinstance(word, str) for word in words) else None
    return ["/bin/sh", "-c", value] if value else None


def sample(value, defaults):
    """A CloudFormation value as the string it could become: parameters as their defaults, any
    other reference as X, the first branch of an Fn::If."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return defaults.get(argument, "X")
        if function == "Fn::Sub":
            template, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            def substitute(match):
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if name in variables:
                    return sample(variables[name], defaults)
                return defaults.get(name, "X")
            return re.sub(r"\$\{([^}]*)\}", substitute, template)
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], list):
            return str(argument[0]).join(sample(item, defaults) for item in argument[1])
        if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
            return sample(argument[1], defaults)
    return "X"


def lint_cloudformation(path, document):
    """A CloudFormation or SAM template: its shape, and the versioncheck and hookrunner command
    lines it starts: a function's VERSIONCHECK_ARGS (split on spaces, as versioncheck does when
    Lambda starts it as bootstrap), a hook function's HOOKRUNNER_ARGS (`lambda` when it sets only
    HOOKRUNNER_PHASE or HOOKRUNNER_PHASES) and an ECS container's command after its entry point (the
    container definition's EntryPoint, or the ENTRYPOINT of the Dockerfile next to the template).
    cfn-lint checks the rest (RecipesTests runs it)."""
    if str(document.get("AWSTemplateFormatVersion", "")) != "2010-09-09":
        problems.append(f"{path}: AWSTemplateFormatVersion must be 2010-09-09")
    resources = document.get("Resources")
    if not isinstance(resources, dict) or not resources:
        problems.append(f"{path}: no Resources")
        return
    defaults = {
        name: str(spec["Default"]) for name, spec in (document.get("Parameters") or {}).items()
        if isinstance(spec, dict) and spec.get("Default") not in (None, "")
    }
    for logical_id, resource in resources.items():
        where = f"{path}: {logical_id}"
        if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
            problems.append(f"{where}: no Type")
            continue
        properties = resource.get("Properties") or {}
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            variables = (properties.get("Environment") or {}).get("Variables") or {}
            if "VERSIONCHECK_ARGS" in variables:
                arguments = sample(variables["VERSIONCHECK_ARGS"], defaults).split(" ")
                if "" in arguments:
                    problems.append(f"{where}: VERSIONCHECK_ARGS has an empty argument (two spaces, or one at an end)")
                commands.append({"file": f"{where} VERSIONCHECK_ARGS", "argv": ["versioncheck"] + arguments})
            if {"HOOKRUNNER_ARGS", "HOOKRUNNER_PHASE", "HOOKRUNNER_PHASES"} & set(variables):
                arguments = sample(variables.get("HOOKRUNNER_ARGS", "lambda"), defaults).split()
                commands.append({"file": f"{where} HOOKRUNNER_ARGS", "argv": ["hookrunner"] + arguments})
        elif resource["Type"] == "AWS::ECS::TaskDefinition":
            for container in properties.get("ContainerDefinitions") or []:
                if "EntryPoint" in container:
                    entrypoint = [sample(word, defaults) for word in container["EntryPoint"]]
                else:
                    entrypoint = dockerfile_entrypoint(os.path.join(base, os.path.dirname(path))) or []
                argv = entrypoint + [sample(word, defaults) for word in container.get("Command") or []]
                if argv and tool_name(argv[0]):
                    commands.append({"file": f"{where} {container.get('Name', '')}", "argv": [tool_name(argv[0])] + argv[1:]})


def rendered(value):
    """A CloudFormation value as one readable string: ${Name} for a reference, ${Name.Attribute}
    for Fn::GetAtt, Fn::Sub's text with its own variables put in; None stays None."""
    if value is None:
        return None
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return "${" + str(argument) + "}"
        if function == "Fn::GetAtt":
            return "${" + (".".join(argument) if isinstance(argument, list) else str(argument)) + "}"
        if function == "Fn::Sub":
            if isinstance(argument, str):
                return argument
            template, variables = argument
            return re.sub(r"\$\{([^}!.]*)\}", lambda m: rendered(variables[m.group(1)]) if m.group(1) in variables else m.group(0), template)
        if function == "Fn::Join":
            return str(argument[0]).join(rendered(item) for item in argument[1])
        if function == "Fn::If":
            return f"If({argument[0]}, {rendered(argument[1])}, {rendered(argument[2])})"
        if function in ("Fn::Select", "Fn::Split") and isinstance(argument, list) and len(argument) == 2:
            return f"{function[4:]}({argument[0]}, {rendered(argument[1])})"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def alternatives(value):
    """The values a list-or-scalar CloudFormation value can take, each rendered: both branches of
    an Fn::If, nothing for AWS::NoValue."""
    if value is None or value == {"Ref": "AWS::NoValue"}:
        return []
    if isinstance(value, dict) and list(value) == ["Fn::If"]:
        return alternatives(value["Fn::If"][1]) + alternatives(value["Fn::If"][2])
    if isinstance(value, list):
        return [item for entry in value for item in alternatives(entry)]
    return [rendered(value)]


def statements(document):
    """A policy document's statements, each as {sid, effect, actions, resources, condition (the
    template condition it depends on, or null), iamCondition (whether it has a Condition)}."""
    found = []
    for entry in document.get("Statement") or []:
        condition = None
        if isinstance(entry, dict) and list(entry) == ["Fn::If"]:
            condition, then, otherwise = entry["Fn::If"]
            entries = [branch for branch in (then, otherwise) if branch != {"Ref": "AWS::NoValue"}]
        else:
            entries = [entry]
        for statement in entries:
            actions = statement.get("Action", [])
            found.append({
                "sid": statement.get("Sid"),
                "effect": statement.get("Effect"),
                "actions": [actions] if isinstance(actions, str) else actions,
                "resources": alternatives(statement.get("Resource")),
                "condition": condition,
                "iamCondition": "Condition" in statement,
            })
    return found


def cloudformation_facts(template):
    """What a (transformed) template sets up, for RecipesTests to hold to its expectations."""
    facts = {"resources": {}, "tables": [], "roles": [], "functions": [], "schedules": [], "containers": [],
             "deploymentGroups": [], "aliases": [], "alarms": []}
    facts["parameters"] = {
        name: [str(value) for value in spec.get("AllowedValues", [])] for name, spec in (template.get("Parameters") or {}).items()
    }
    for logical_id, resource in template["Resources"].items():
        kind, properties = resource["Type"], resource.get("Properties") or {}
        facts["resources"][logical_id] = kind
        if kind == "AWS::DynamoDB::Table":
            facts["tables"].append({
                "id": logical_id,
                "keySchema": [f"{key['AttributeName']} {key['KeyType']}" for key in properties.get("KeySchema", [])],
                "attributes": [f"{attribute['AttributeName']} {attribute['AttributeType']}" for attribute in properties.get("AttributeDefinitions", [])],
                "billingMode": properties.get("BillingMode"),
                "pointInTimeRecovery": (properties.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled") is True,
                "deletionProtection": properties.get("DeletionProtectionEnabled") is True,
                "deletionPolicy": resource.get("DeletionPolicy"),
                "updateReplacePolicy": resource.get("UpdateReplacePolicy"),
                "globalSecondaryIndexes": len(properties.get("GlobalSecondaryIndexes") or []) + len(properties.get("LocalSecondaryIndexes") or []),
            })
        elif kind == "AWS::IAM::Role":
            trust = statements(properties.get("AssumeRolePolicyDocument") or {})
            services = []
            for statement in (properties.get("AssumeRolePolicyDocument") or {}).get("Statement", []):
                service = (statement.get("Principal") or {}).get("Service", [])
                services += [service] if isinstance(service, str) else service
            facts["roles"].append({
                "id": logical_id,
                "services": services,
                "trustConditions": [statement["iamCondition"] for statement in trust],
                "managedPolicies": alternatives(properties.get("ManagedPolicyArns")),
                "statements": [statement for policy in properties.get("Policies") or [] for statement in statements(policy.get("PolicyDocument") or {})],
            })
        elif kind == "AWS::Lambda::Function":
            facts["functions"].append({
                "id": logical_id,
                "runtime": properties.get("Runtime"),
                "handler": properties.get("Handler"),
                "architectures": alternatives(properties.get("Architectures")),
                "memorySize": properties.get("MemorySize"),
                "timeout": properties.get("Timeout"),
                "role": rendered(properties.get("Role")),
                "environment": {name: rendered(value) for name, value in ((properties.get("Environment") or {}).get("Variables") or {}).items()},
                "logGroup": rendered((properties.get("LoggingConfig") or {}).get("LogGroup")),
                "functionName": rendered(properties.get("FunctionName")),
            })
        elif kind == "AWS::Lambda::Alias":
            update = (resource.get("UpdatePolicy") or {}).get("CodeDeployLambdaAliasUpdate") or {}
            facts["aliases"].append({
                "id": logical_id,
                "name": properties.get("Name"),
                "function": rendered(properties.get("FunctionName")),
                "application": rendered(update.get("ApplicationName")),
                "deploymentGroup": rendered(update.get("DeploymentGroupName")),
                "beforeAllowTrafficHook": rendered(update.get("BeforeAllowTrafficHook")),
                "afterAllowTrafficHook": rendered(update.get("AfterAllowTrafficHook")),
            })
        elif kind == "AWS::CodeDeploy::DeploymentGroup":
            alarms = properties.get("AlarmConfiguration") or {}
            facts["deploymentGroups"].append({
                "id": logical_id,
                "application": rendered(properties.get("ApplicationName")),
                "deploymentConfig": rendered(properties.get("DeploymentConfigName")),
                "alarms": [rendered(alarm.get("Name")) for alarm in alarms.get("Alarms") or []] if alarms.get("Enabled") else [],
                "autoRollbackEvents": (properties.get("AutoRollbackConfiguration") or {}).get("Events", []),
            })
        elif kind == "AWS::CloudWatch::Alarm":
            facts["alarms"].append({
                "id": logical_id,
                "namespace": properties.get("Namespace"),
                "metric": properties.get("MetricName"),
                "dimensions": {dimension["Name"]: rendered(dimension["Value"]) for dimension in properties.get("Dimensions") or []},
                "comparison": properties.get("ComparisonOperator"),
                "threshold": properties.get("Threshold"),
            })
        elif kind == "AWS::Scheduler::Schedule":
            target = properties.get("Target") or {}
            ecs = target.get("EcsParameters")
            facts["schedules"].append({
                "id": logical_id,
                "expression": properties.get("ScheduleExpression"),
                "flexibleTimeWindow": (properties.get("FlexibleTimeWindow") or {}).get("Mode"),
                "target": rendered(target.get("Arn")),
                "role": rendered(target.get("RoleArn")),
                "launchType": (ecs or {}).get("LaunchType"),
                "taskDefinition": rendered((ecs or {}).get("TaskDefinitionArn")),
                "network": {key: rendered(value) for key, value in (((ecs or {}).get("NetworkConfiguration") or {}).get("AwsvpcConfiguration") or {}).items()},
            })
        elif kind == "AWS::ECS::TaskDefinition":
            for container in properties.get("ContainerDefinitions") or []:
                logging = container.get("LogConfiguration") or {}
                facts["containers"].append({
                    "taskDefinition": logical_id,
                    "compatibilities": properties.get("RequiresCompatibilities", []),
                    "taskRole": rendered(properties.get("TaskRoleArn")),
                    "executionRole": rendered(properties.get("ExecutionRoleArn")),
                    "image": rendered(container.get("Image")),
                    "command": [rendered(word) for word in container.get("Command") or []],
                    "logDriver": logging.get("LogDriver"),
                    "logGroup": rendered((logging.get("Options") or {}).get("awslogs-group")),
                })
    return facts


def transform(template):
    """A SAM template turned into CloudFormation by aws-sam-translator, as `sam deploy` has
    CloudFormation do, with local CodeUri folders standing for what `sam package` uploads."""
    try:
        from samtranslator.translator.transform import transform as sam_transform
    except ImportError:
        print("recipes_lint.py: No module named 'samtranslator': pip install cfn-lint aws-sam-translator", file=sys.stderr)
        sys.exit(3)

    class ManagedPolicies:
        """The AWS managed policies SAM may attach by name, without asking IAM for the list."""
        def load(self):
            return {"AWSLambdaBasicExecutionRole": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}

    code = {}
    for logical_id, resource in template["Resources"].items():
        uri = (resource.get("Properties") or {}).get("CodeUri")
        if resource.get("Type") == "AWS::Serverless::Function" and isinstance(uri, str) and not uri.startswith("s3://"):
            code[logical_id] = uri
            resource["Properties"]["CodeUri"] = f"s3://recipes-lint-artifacts/{logical_id}.zip"
    # The pseudo parameters the translator needs; nothing here talks to AWS.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    return sam_transform(template, {}, ManagedPolicies()), code


def cloudformation_main(arguments):
    path, output = arguments[0], None
    if arguments[1:2] == ["--write-transformed"] and len(arguments) == 3:
        output = arguments[2]
    with open(path) as handle:
        template = yaml.load(handle, Loader=CloudFormationLoader)
    code = {}
    transformed = "Transform" in template
    if transformed:
        template, code = transform(template)
    if output:
        with open(output, "w") as handle:
            json.dump(template, handle, indent=1)
    facts = cloudformation_facts(template)
    facts["transformed"] = transformed
    facts["codeUri"] = code
    print(json.dumps(facts))


def main(root):
    global base
    base = os.path.dirname(root)
    for directory, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, os.path.dirname(root))
            if name.endswith((".yml", ".yaml")):
                try:
                    with open(path) as handle:
                        documents = list(yaml.load_all(handle, Loader=CloudFormationLoader))
                except yaml.YAMLError as error:
                    problems.append(f"{relative}: {error}")
                    continue
                lint_yaml(relative, documents)
            elif name.endswith((".service", ".timer")):
                parser = configparser.ConfigParser(strict=False, interpolation=None)
                parser.optionxform = str
                try:
                    parser.read(path)
                except configparser.Error as error:
                    problems.append(f"{relative}: {error}")
                    continue
                if "Unit" not in parser:
                    problems.append(f"{relative}: no [Unit] section")
                kind = "Service" if name.endswith(".service") else "Timer"
                if kind not in parser:
                    problems.append(f"{relative}: no [{kind}] section")
                if kind == "Service":
                    exec_start = parser[kind].get("ExecStart", "")
                    if not exec_start.startswith("/"):
                        problems.append(f"{relative}: ExecStart needs an absolute path")
                    command_lines(exec_start, relative)
            elif name.endswith(".sh") or name == "bootstrap":
                with open(path, "rb") as handle:
                    if handle.read(4) == b"\x7fELF":  # a release binary copied in as a Lambda bootstrap
                        continue
                with open(path) as handle:
                    text = handle.read()
                if not text.startswith("#!"):
                    problems.append(f"{relative}: no #! line")
                if not os.access(path, os.X_OK):
                    problems.append(f"{relative}: not executable")
                command_lines(text, relative)
            elif name == "Dockerfile":
                with open(path) as handle:
                    text = handle.read()
                if not re.search(r"^FROM\s", text, re.MULTILINE | re.IGNORECASE):
                    problems.append(f"{relative}: no FROM")
                if dockerfile_entrypoint(directory) is None and re.search(r"^ENTRYPOINT\s", text, re.MULTILINE | re.IGNORECASE):
                    problems.append(f"{relative}: ENTRYPOINT starts a JSON array that cannot be read")
            elif name.endswith(".json"):
                with open(path) as handle:
                    text = handle.read()
                try:
                    json.loads(text)
                except ValueError as error:
                    problems.append(f"{relative}: {error}")
                    continue
                embedded.append({"file": relative, "name": name, "kind": "manifest" if '"services"' in text else "hooks", "text": text})
    print(json.dumps({"problems": problems, "commands": commands, "embedded": embedded}))


if sys.argv[1:2] == ["--cloudformation"] and len(sys.argv) >= 3:
    cloudformation_main(sys.argv[2:])
else:
    main(sys.argv[1])
