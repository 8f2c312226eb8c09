"""The container image and the Kubernetes manifests under ``deploy/`` agree with the code.

Nothing here builds an image or talks to a cluster (no container engine runs on
the project's machines; ``make check-deploy`` lints and validates the files).
These tests keep the files honest: every setting they name is one the code
reads, every port and probe path is one the processes serve, every command is
one the entry point knows, and only the handoff service is reachable from the
ingress.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.scripts_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
CONTAINERFILE = DEPLOY / "Containerfile"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
CODE_PACKAGES = ("actions", "handoff", "opastin", "rasa_addons")
COMPONENTS = ("handoff", "rasa", "actions")
WORKLOAD_KINDS = ("Deployment", "Job", "CronJob")
SECRET_TEMPLATE = K8S / "secret.example.yaml"
# Names that hold secrets: never in the ConfigMap.
SECRET_NAMES = re.compile(r"TOKEN$|PASSWORD|SECRET|_KEY$|^DATABASE_URL$|^TRACKER_DATABASE_URL$|^REDIS_URL$")


# --- reading the files -------------------------------------------------------------------


@cache
def documents() -> tuple[tuple[Path, dict[str, Any]], ...]:
    """Every Kubernetes object under deploy/kubernetes/ with its file (kustomizations left out)."""
    found = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                found.append((path, document))
    return tuple(found)


def objects(kind: str) -> list[dict[str, Any]]:
    """The objects of ``kind``."""
    return [document for _path, document in documents() if document["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` called ``name``."""
    matches = [item for item in objects(kind) if item["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name!r}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["spec"])


def workloads() -> list[dict[str, Any]]:
    """Every Deployment, Job and CronJob."""
    return [item for kind in WORKLOAD_KINDS for item in objects(kind)]


def containers() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Every (workload, container) pair, init containers included."""
    for workload in workloads():
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            yield workload, container


def component(workload: dict[str, Any]) -> str:
    """The ``app.kubernetes.io/component`` label of a workload's pods."""
    return str(pod_template_labels(workload)["app.kubernetes.io/component"])


def pod_template_labels(workload: dict[str, Any]) -> dict[str, str]:
    """The labels of a workload's pods."""
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return dict(spec["template"]["metadata"]["labels"])


def configmap() -> dict[str, str]:
    """The non-secret settings (the ConfigMap the containers take with envFrom)."""
    return dict(named("ConfigMap", "opastin-config")["data"])


def secret_template() -> dict[str, str]:
    """The keys of the Secret template and their placeholder values."""
    secret = yaml.safe_load(SECRET_TEMPLATE.read_text(encoding="utf-8"))
    assert secret["kind"] == "Secret"
    return dict(secret["stringData"])


def kustomization(directory: Path = K8S) -> dict[str, Any]:
    """The kustomization.yaml of ``directory``."""
    return dict(yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8")))


def container_env_names(container: dict[str, Any]) -> set[str]:
    """Every variable a container gets: its own ``env`` and the ConfigMaps it takes whole."""
    names = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        reference = source.get("configMapRef")
        assert reference is not None, "only ConfigMaps are taken whole; secrets key by key"
        names |= set(named("ConfigMap", reference["name"])["data"])
    return names


def container_secret_keys(container: dict[str, Any]) -> set[str]:
    """The keys of the Secret a container gets, each as the variable of the same name."""
    keys = set()
    for item in container.get("env", []):
        reference = item.get("valueFrom", {}).get("secretKeyRef")
        if reference is not None:
            assert reference["name"] == "opastin-secrets"
            assert reference["key"] == item["name"], "a secret keeps its variable's name"
            keys.add(reference["key"])
    return keys


@cache
def code_text() -> str:
    """The Python source of the deployed packages, as one text to search."""
    return "\n".join(
        path.read_text(encoding="utf-8")
        for package in CODE_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    )


@cache
def variables_read_by_the_code() -> frozenset[str]:
    """Environment variable names the code, the endpoints files and the entry point read.

    A name counts when it is written as a string in the deployed packages (``"RASA_URL"``,
    as every ``environ.get`` and ``*_ENV`` constant there writes it), as ``${NAME}`` in an
    endpoints file (Rasa fills those from the environment), or as ``${NAME`` in the entry point.
    """
    names = set(re.findall(r"""["']([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)["']""", code_text()))
    for path in (ROOT / "endpoints.yml", DEPLOY / "endpoints.yml", ENTRYPOINT):
        names |= set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", path.read_text(encoding="utf-8")))
    return frozenset(names)


def entrypoint_commands() -> set[str]:
    """The commands of deploy/entrypoint.sh's ``case``."""
    return set(re.findall(r"^  ([a-z]+)\)$", ENTRYPOINT.read_text(encoding="utf-8"), flags=re.M))


@cache
def run_services() -> dict[str, Any]:
    """scripts/run.py's processes by name: how `make run` starts them and waits for them."""
    return {service.name: service for service in load_script("run").services()}


def containerfile_instructions() -> list[tuple[str, str]]:
    """The Containerfile's instructions (continuation lines joined), comments left out."""
    joined = re.sub(r"\\\n", " ", CONTAINERFILE.read_text(encoding="utf-8"))
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            instructions.append((keyword.upper(), re.sub(r"\s+", " ", rest).strip()))
    return instructions


def image_environment() -> set[str]:
    """The variables the Containerfile's ``ENV`` instructions set."""
    names: set[str] = set()
    for keyword, rest in containerfile_instructions():
        if keyword == "ENV":
            names |= set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]*)=", rest))
    return names


def served_paths_of_handoff() -> set[str]:
    """The GET paths the handoff service's routers and app declare (``@router.get("/livez")``)."""
    return set(re.findall(r"""@(?:app|router)\.get\(\s*["'](/[^"']*)["']""", code_text()))


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and In/NotIn/Exists expressions) selects ``labels``."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def component_labels(name: str) -> dict[str, str]:
    """The labels of the pods of one component (``handoff``, ``rasa``, ``actions``, ``migrate``)."""
    return {"app.kubernetes.io/name": "opastin", "app.kubernetes.io/component": name}


# --- settings --------------------------------------------------------------------------------


def test_every_variable_the_manifests_set_is_read_by_the_code() -> None:
    given = set(configmap()) | set(secret_template())
    for _workload, container in containers():
        given |= container_env_names(container)
    unknown = sorted(given - variables_read_by_the_code())
    assert not unknown, f"the manifests set variables no code reads (a typo, or a stale name?): {unknown}"


def test_the_variables_in_docs_operations_are_read_by_the_code() -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", row)}
    assert len(documented) >= 15, "docs/operations.md should list the processes' settings in tables"
    unknown = sorted(documented - variables_read_by_the_code() - image_environment())
    assert not unknown, f"docs/operations.md names variables no code reads: {unknown}"


def test_secrets_come_from_the_secret_and_nowhere_else() -> None:
    template = secret_template()
    assert all("REPLACE_ME" in value for value in template.values()), "the template holds placeholders only"
    assert "secret.example.yaml" not in kustomization()["resources"], "a template is never applied"
    secret_files = [path for path, document in documents() if document["kind"] == "Secret"]
    assert secret_files == [SECRET_TEMPLATE], "no Secret is committed besides the template"
    in_configmap = sorted(name for name in configmap() if SECRET_NAMES.search(name))
    assert not in_configmap, f"secrets in the ConfigMap: {in_configmap}"
    used: set[str] = set()
    for _workload, container in containers():
        for item in container.get("env", []):
            assert "value" not in item or not SECRET_NAMES.search(item["name"]), item["name"]
        used |= container_secret_keys(container)
    assert used == set(template), f"keys used {sorted(used)} differ from the template's {sorted(template)}"


def test_processes_that_share_a_secret_all_get_it() -> None:
    keys = {
        component(workload): container_secret_keys(container) for workload, container in containers()
    }
    # Rasa and the action server must agree on ACTION_SERVER_TOKEN (or each pod would make its own),
    # the action server and the service on HANDOFF_API_TOKEN, the gateway and Rasa on RASA_REST_TOKEN.
    assert {"ACTION_SERVER_TOKEN"} <= keys["rasa"] & keys["actions"]
    assert {"HANDOFF_API_TOKEN"} <= keys["handoff"] & keys["actions"]
    assert {"RASA_REST_TOKEN"} <= keys["handoff"] & keys["rasa"]
    assert {"DATABASE_URL"} <= keys["handoff"] & keys["rasa"] & keys["migrate"]
    assert "DATABASE_URL" not in keys["actions"], "the action server reaches data only through the service"


# --- ports -----------------------------------------------------------------------------------


def expected_ports() -> dict[str, int]:
    """Each process's port as the code defines it."""
    from actions.__main__ import DEFAULT_PORT as ACTIONS_PORT
    from handoff.cli import _parser

    ports = {name: service.port for name, service in run_services().items()}
    assert ports["actions"] == ACTIONS_PORT
    assert ports["handoff"] == _parser().parse_args(["serve"]).port
    assert urlsplit(yaml.safe_load((ROOT / "endpoints.yml").read_text())["action_endpoint"]["url"]).port == (
        ACTIONS_PORT
    )
    return ports


def test_ports_match_the_code() -> None:
    ports = expected_ports()
    entrypoint = ENTRYPOINT.read_text(encoding="utf-8")
    expose = next(rest for keyword, rest in containerfile_instructions() if keyword == "EXPOSE")
    assert sorted(map(int, expose.split())) == sorted(ports.values())
    for name, port in ports.items():
        deployment = named("Deployment", name)
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (declared,) = container["ports"]
        assert declared["containerPort"] == port, name
        service = named("Service", name)
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", name
        (service_port,) = service["spec"]["ports"]
        assert service_port["port"] == port and service_port["targetPort"] == declared["name"], name
        assert selects({"matchLabels": service["spec"]["selector"]}, pod_template_labels(deployment)), name
        assert re.search(rf"^  {name}\)\n[^;]*--port {port}\b", entrypoint, flags=re.M), name
    config = configmap()
    rasa_url, handoff_url = urlsplit(config["RASA_URL"]), urlsplit(config["HANDOFF_URL"])
    assert (rasa_url.hostname, rasa_url.port) == ("rasa", ports["rasa"])
    assert (handoff_url.hostname, handoff_url.port) == ("handoff", ports["handoff"])


def test_rasa_finds_the_action_server_by_its_service() -> None:
    project = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    deployed = yaml.safe_load((DEPLOY / "endpoints.yml").read_text(encoding="utf-8"))
    url = urlsplit(deployed["action_endpoint"].pop("url"))
    project_url = urlsplit(project["action_endpoint"].pop("url"))
    assert deployed == project, "deploy/endpoints.yml must follow endpoints.yml except the action URL"
    assert (url.hostname, url.port, url.path) == ("actions", expected_ports()["actions"], project_url.path)
    assert named("Service", "actions")["metadata"]["name"] == url.hostname


# --- the image and its entry point -------------------------------------------------------------


def test_every_container_runs_a_command_of_the_entry_point() -> None:
    commands = entrypoint_commands()
    assert commands == {"handoff", "rasa", "actions", "migrate", "purge"}
    entrypoint = ENTRYPOINT.read_text(encoding="utf-8")
    assert "set -eu" in entrypoint
    assert entrypoint.count("    exec ") == len(commands), "each command replaces the shell (exec)"
    for workload, container in containers():
        assert container["args"][0] in commands, workload["metadata"]["name"]
        assert "command" not in container, "the image's ENTRYPOINT (tini + entrypoint.sh) stays"
        assert container["args"][0] == component(workload)
    instructions = dict(containerfile_instructions())
    assert instructions["ENTRYPOINT"] == '["/usr/bin/tini", "--", "/app/deploy/entrypoint.sh"]'
    assert instructions["CMD"] == '["handoff"]'
    # The handoff CLI has the subcommands the entry point calls.
    from handoff.cli import _parser

    for subcommand in ("serve", "migrate", "purge"):
        assert f"python -m handoff {subcommand}" in entrypoint
        _parser().parse_args([subcommand])


def test_the_image_installs_as_scripts_install_sh_does() -> None:
    runs = " ".join(rest for keyword, rest in containerfile_instructions() if keyword == "RUN")
    assert "--no-deps -c requirements/constraints.txt -r /tmp/runtime-lock.txt" in runs
    assert "--no-deps --ignore-requires-python -r requirements/rasa-core.txt" in runs
    left_out = re.search(r"grep -viE '\^\(([^)]*)\)==' requirements/lock.txt", runs)
    assert left_out is not None
    left_out_names = {name.lower() for name in left_out.group(1).split("|")}

    def names(path: str) -> set[str]:
        lines = (ROOT / "requirements" / path).read_text(encoding="utf-8").splitlines()
        return {re.split(r"[<>=!\[; ]", line.strip())[0].lower() for line in lines if line.strip()
                and not line.startswith("#")}

    assert left_out_names == names("dev.in"), "exactly the test tools of requirements/dev.in are left out"
    assert not left_out_names & (names("app.in") | names("rasa.in")), "a runtime requirement is left out"
    # The Debian packages the processes need at run time (scripts/system_packages.sh runtime).
    system_packages = (ROOT / "scripts" / "system_packages.sh").read_text(encoding="utf-8")
    runtime = re.search(r"runtime_packages=\(([^)]*)\)", system_packages)
    assert runtime is not None
    for package in runtime.group(1).split():
        assert re.search(rf"\b{re.escape(package)}=", runs), f"{package} is not installed (pinned)"


def test_the_lock_file_meets_the_constraints_the_image_build_checks() -> None:
    # The build installs requirements/lock.txt with `-c requirements/constraints.txt`: pip refuses
    # the build if a pin breaks a constraint, so find that here instead of on the build machine.
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in (ROOT / "requirements" / "lock.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.strip().partition("==")
            assert version and ";" not in line, f"lock.txt: {line!r} is not a plain pin"
            pins[canonicalize_name(name)] = version
    for line in (ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        text = line.split("#", 1)[0].strip()
        if text:
            constraint = Requirement(text)
            pinned = pins.get(canonicalize_name(constraint.name))
            assert pinned is None or constraint.specifier.contains(pinned, prereleases=True), (
                f"lock.txt pins {constraint.name}=={pinned}, constraints.txt says {constraint.specifier}"
            )


def test_the_image_runs_as_the_user_the_pods_expect() -> None:
    instructions = containerfile_instructions()
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    assert users[-1] == "10001:10001"
    froms = [rest for keyword, rest in instructions if keyword == "FROM"]
    assert all(re.match(r"[\w./-]+:\d[\w.-]*(@sha256:[0-9a-f]{64})? AS \w+$", line) for line in froms), froms
    assert froms[-1].startswith("python:3.11"), "the runtime is Python 3.11, as the project's .venv"
    for workload in workloads():
        context = pod_spec(workload)["securityContext"]
        assert (context["runAsUser"], context["runAsGroup"]) == (10001, 10001), workload["metadata"]["name"]


def test_the_build_context_holds_what_the_image_copies_and_no_runtime_state() -> None:
    allowed, denied = [], []
    for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("!"):
            allowed.append(line[1:].rstrip("/"))
        elif line and not line.startswith("#"):
            denied.append(line)
    assert denied[0] == "*", "an allow-list: everything else stays out"
    for pattern in ("**/var", "**/.venv", "**/.git", "**/node_modules", "**/__pycache__"):
        assert pattern in denied
    for keyword, rest in containerfile_instructions():
        if keyword != "COPY" or rest.startswith("--from"):
            continue
        for source in rest.split()[:-1]:
            source = source.rstrip("/")
            assert any(source == entry or source.startswith(entry + "/") for entry in allowed), source
            assert (ROOT / source).exists() or source == "models/opastin.tar.gz", source


def test_the_healthcheck_asks_what_the_probes_ask() -> None:
    healthcheck = load_deploy_module("healthcheck")
    ports = expected_ports()
    for name in COMPONENTS:
        url = urlsplit(healthcheck.HEALTH_URLS[name])
        (container,) = named("Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert url.port == ports[name]
        assert url.path == container["livenessProbe"]["httpGet"]["path"]
    assert healthcheck.ONE_SHOT | set(healthcheck.HEALTH_URLS) == entrypoint_commands()


def test_the_healthcheck_reads_the_command_from_tini(tmp_path: Path) -> None:
    healthcheck = load_deploy_module("healthcheck")
    cmdline = tmp_path / "cmdline"
    cmdline.write_bytes(b"/usr/bin/tini\0--\0/app/deploy/entrypoint.sh\0rasa\0--debug\0")
    assert healthcheck.running_command(cmdline) == "rasa"
    cmdline.write_bytes(b"/usr/bin/tini\0--\0/app/deploy/entrypoint.sh\0")
    assert healthcheck.running_command(cmdline) == "handoff"
    assert healthcheck.running_command(tmp_path / "missing") == "handoff"
    assert healthcheck.healthy("migrate") and not healthcheck.healthy("unknown")


def load_deploy_module(name: str) -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"opastin_deploy_{name}", DEPLOY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- network ---------------------------------------------------------------------------------


def policies_for(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [policy for policy in objects("NetworkPolicy") if selects(policy["spec"]["podSelector"], labels)]


def ingress_peers(labels: dict[str, str]) -> list[tuple[dict[str, Any], list[int]]]:
    """Every peer allowed into pods with ``labels``, with the ports it may use."""
    peers = []
    for policy in policies_for(labels):
        for rule in policy["spec"].get("ingress", []):
            name = policy["metadata"]["name"]
            assert rule.get("from"), f"{name}: an ingress rule without `from` admits everyone"
            assert rule.get("ports"), f"{name}: an ingress rule without ports admits every port"
            ports = [port["port"] for port in rule["ports"]]
            peers.extend((peer, ports) for peer in rule["from"])
    return peers


def test_everything_is_denied_unless_allowed() -> None:
    deny = named("NetworkPolicy", "default-deny-all")["spec"]
    assert deny["podSelector"] == {}
    assert set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny.get("ingress") and not deny.get("egress")


def test_rasa_and_the_action_server_are_not_reachable_from_the_ingress() -> None:
    (ingress,) = objects("Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"handoff"}
    assert ingress["spec"]["tls"], "TLS ends at the ingress"
    only_from = {"rasa": "handoff", "actions": "rasa"}
    ports = expected_ports()
    for target, source in only_from.items():
        peers = ingress_peers(component_labels(target))
        assert peers, f"nothing may reach {target}"
        for peer, peer_ports in peers:
            assert set(peer) == {"podSelector"}, f"{target} admits a peer outside its namespace: {peer}"
            assert selects(peer["podSelector"], component_labels(source)), f"{target} admits {peer}"
            for other in set(COMPONENTS) - {source}:
                assert not selects(peer["podSelector"], component_labels(other)), f"{other} reaches {target}"
            assert peer_ports == [ports[target]]
    # The handoff service: the ingress controller and the action server, on its port only.
    for peer, peer_ports in ingress_peers(component_labels("handoff")):
        assert peer_ports == [ports["handoff"]]
        if "namespaceSelector" in peer:
            namespace = peer["namespaceSelector"]["matchLabels"]
            assert namespace == {"kubernetes.io/metadata.name": "ingress-nginx"}
        else:
            assert selects(peer["podSelector"], component_labels("actions"))
            assert not selects(peer["podSelector"], component_labels("rasa"))


def test_each_process_may_call_only_the_next_one() -> None:
    ports = expected_ports()
    calls = {"handoff": ("rasa", ports["rasa"]), "rasa": ("actions", ports["actions"]),
             "actions": ("handoff", ports["handoff"])}
    for source, (target, port) in calls.items():
        pod_peers = [
            (peer, [p["port"] for p in rule["ports"]])
            for policy in policies_for(component_labels(source))
            for rule in policy["spec"].get("egress", [])
            for peer in rule.get("to", [])
            if set(peer) == {"podSelector"}
        ]
        assert pod_peers, f"{source} calls {target}"
        for peer, peer_ports in pod_peers:
            assert selects(peer["podSelector"], component_labels(target)), f"{source} may reach {peer}"
            assert peer_ports == [port]


# --- pods ------------------------------------------------------------------------------------


def test_pods_are_locked_down() -> None:
    for workload, container in containers():
        name = f"{workload['metadata']['name']}/{container['name']}"
        spec = pod_spec(workload)
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        for kind in ("requests", "limits"):
            assert set(container["resources"][kind]) >= {"cpu", "memory"}, name
        # The read-only root: HOME and the temporary files live in /tmp (the Containerfile's HOME=/tmp).
        # Writable places are emptyDirs and the shared contact outbox; files from a Secret (the OIDC
        # client keys) are mounted read-only.
        mounts = {mount["mountPath"]: mount for mount in container.get("volumeMounts", [])}
        volumes = {volume["name"]: volume for volume in spec.get("volumes", [])}
        assert "/tmp" in mounts, name
        for path, mount in mounts.items():
            volume = volumes[mount["name"]]
            if "secret" in volume:
                assert mount.get("readOnly") is True, f"{name}: the Secret at {path} is writable"
                assert volume["secret"]["secretName"].startswith("opastin-"), f"{name}: {path}"
            elif "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] == OUTBOX_CLAIM, f"{name}: {path}"
            else:
                assert "emptyDir" in volume, f"{name}: {path} is neither an emptyDir nor a Secret"


OUTBOX_CLAIM = "opastin-outbox"


def test_the_action_servers_share_one_outbox_that_the_handoff_service_purges() -> None:
    """Contact requests kept while the service is unreachable survive a deleted pod and are purged."""
    claim = named("PersistentVolumeClaim", OUTBOX_CLAIM)
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every replica of both writes to it
    for workload_name in ("actions", "handoff"):
        workload = named("Deployment", workload_name)
        (container,) = pod_spec(workload)["containers"]
        volumes = {volume["name"]: volume for volume in pod_spec(workload)["volumes"]}
        (mount,) = [
            mount
            for mount in container["volumeMounts"]
            if volumes[mount["name"]].get("persistentVolumeClaim", {}).get("claimName") == OUTBOX_CLAIM
        ]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env["OPASTIN_OUTBOX_DIR"] == mount["mountPath"], workload_name


def test_probes_ask_paths_the_processes_serve() -> None:
    from actions.__main__ import OPEN_PATHS

    handoff_paths = served_paths_of_handoff()
    assert "/healthz" in handoff_paths
    rest_channel = (ROOT / "rasa_addons" / "rest_channel.py").read_text(encoding="utf-8")
    assert '@webhook.route("/", methods=["GET"])' in rest_channel and 'return "rest"' in rest_channel
    rasa_paths = {run_services()["rasa"].ready_path, "/webhooks/rest/"}
    served = {"handoff": handoff_paths, "actions": set(OPEN_PATHS), "rasa": rasa_paths}
    assert run_services()["actions"].ready_path in OPEN_PATHS
    for name in COMPONENTS:
        (container,) = named("Deployment", name)["spec"]["template"]["spec"]["containers"]
        port_names = {port["name"] for port in container["ports"]}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            get = container[probe]["httpGet"]
            assert get["path"] in served[name], f"{name} {probe}: {get['path']} is not served"
            assert get["port"] in port_names
    # The actions' probe needs no token: the path is one the guard leaves open.
    assert {"/health"} <= set(OPEN_PATHS)


def test_replicas_are_only_what_the_code_supports() -> None:
    handoff = named("Deployment", "handoff")
    (container,) = handoff["spec"]["template"]["spec"]["containers"]
    if handoff["spec"]["replicas"] > 1:
        # python-socketio's Redis queue relays events between replicas (handoff/gateway/hub.py).
        assert "REDIS_URL" in container_env_names(container)
        annotations = named("Ingress", "opastin")["metadata"]["annotations"]
        assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    endpoints = yaml.safe_load((DEPLOY / "endpoints.yml").read_text(encoding="utf-8"))
    rasa = named("Deployment", "rasa")
    if rasa["spec"]["replicas"] > 1:
        # One conversation's messages one at a time across the servers (rasa_addons/lock_store.py):
        # the lock store chosen by REDIS_URL, and REDIS_URL given.
        assert endpoints.get("lock_store") == {"type": "rasa_addons.lock_store.RedisUrlLockStore"}
        (rasa_container,) = rasa["spec"]["template"]["spec"]["containers"]
        assert "REDIS_URL" in container_env_names(rasa_container)
    budgets = {budget["metadata"]["name"]: budget for budget in objects("PodDisruptionBudget")}
    for deployment in objects("Deployment"):
        name = deployment["metadata"]["name"]
        if deployment["spec"]["replicas"] > 1:
            assert budgets[name]["spec"]["minAvailable"] == 1, name
            assert selects(budgets[name]["spec"]["selector"], pod_template_labels(deployment)), name
        else:
            assert name not in budgets, f"{name}: minAvailable 1 of one replica would block node drains"


def test_the_service_purges_by_itself() -> None:
    # No CronJob: the running service purges at start and daily (handoff/maintenance.py)
    # as long as its maintenance task runs.
    assert not objects("CronJob")
    assert float(configmap()["HANDOFF_MAINTENANCE_INTERVAL_S"]) > 0
    maintenance = (ROOT / "handoff" / "maintenance.py").read_text(encoding="utf-8")
    assert "PURGE_EVERY = timedelta(days=1)" in maintenance


# --- kustomize -------------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    main = kustomization()
    files = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml", SECRET_TEMPLATE.name}
    assert set(main["resources"]) == files
    migrate = kustomization(K8S / "migrate")
    assert migrate["resources"] == ["job.yaml"]
    assert migrate["images"] == main["images"], "the migration runs the release the pods run"
    image_names = {image["name"] for image in main["images"]}
    for _workload, container in containers():
        assert container["image"].rsplit(":", 1)[0] in image_names
    assert all(document["metadata"].get("namespace") == main["namespace"] for _path, document in documents()
               if document["kind"] != "Namespace")


@pytest.mark.parametrize("path", sorted(K8S.rglob("*.yaml")), ids=lambda path: str(path.relative_to(K8S)))
def test_manifests_are_plain_yaml_with_known_kinds(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        assert isinstance(document, dict)
        assert document["apiVersion"] and document["kind"]
    # Every checkov skip carries its reason.
    for key, value in _annotations(path):
        if key.startswith("checkov.io/skip"):
            check, _, reason = value.partition("=")
            assert re.fullmatch(r"CKV2?_K8S_\d+", check) and len(reason) > 30, (path, value)


def _annotations(path: Path) -> Iterator[tuple[str, str]]:
    for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        yield from (document.get("metadata", {}).get("annotations") or {}).items()


def test_the_entrypoint_is_a_posix_shell_script() -> None:
    text = ENTRYPOINT.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/sh\n")
    assert ENTRYPOINT.stat().st_mode & 0o111, "deploy/entrypoint.sh must be executable"
