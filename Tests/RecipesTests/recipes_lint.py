"""Parses and lints recipes/, and lists the hookrunner and versioncheck command lines in it.

usage: python3 recipes_lint.py RECIPES_DIR
prints one JSON document: {"problems": [...], "commands": [{"file", "argv"}], "embedded": [{"file", "name", "kind", "text"}]}
"""
import configparser
import json
import os
import re
import shlex
import sys

import yaml  # PyYAML

TOOLS = ("hookrunner", "versioncheck")
problems, commands, embedded = [], [], []


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


def main(root):
    for directory, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, os.path.dirname(root))
            if name.endswith((".yml", ".yaml")):
                try:
                    with open(path) as handle:
                        documents = list(yaml.safe_load_all(handle))
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
                with open(path) as handle:
                    text = handle.read()
                if not text.startswith("#!"):
                    problems.append(f"{relative}: no #! line")
                if not os.access(path, os.X_OK):
                    problems.append(f"{relative}: not executable")
                command_lines(text, relative)
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


main(sys.argv[1])
