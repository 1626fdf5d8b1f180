#!/usr/bin/env python3
"""Checks docker-compose.yml without Docker: valid against the Compose Specification's JSON schema
(vendored in compose-spec/), and its cross-references hold: every `depends_on` names a service,
every named volume and network is declared, every bind-mounted file, env file and build context
exists, every published host port is used once, every image is pinned by version, and the
services the lab promises are there with their health checks.

    python3 tests/lab/check_compose.py [docker-compose.yml]
    python3 tests/lab/check_compose.py --self-test   # breaks a copy in known ways; each must be caught

Needs PyYAML and jsonschema. Prints every problem, exits 1 when there is one.
"""

import copy
import json
import re
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = Path(__file__).resolve().parent / "compose-spec" / "compose-spec.json"

# What the lab promises (issue: the observability lab).
REQUIRED_SERVICES = [
    "postgres", "redis", "ec", "distributed", "todo", "chaos", "load-tester",
    "otel-collector", "tempo", "loki", "prometheus", "grafana",
]
MUST_HAVE_HEALTHCHECK = ["postgres", "redis", "ec", "distributed", "todo", "chaos", "load-tester"]
REQUIRED_HOST_PORTS = {"load-tester": 8080, "grafana": 3000, "ec": 5001, "distributed": 5002,
                       "todo": 8000, "chaos": 8001, "otel-collector": 4318}


def schema_problems(doc):
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema)
    out = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top)"
        out.append(f"schema: {where}: {error.message}")
    return out


def parse_port(entry):
    """(host_ip, host_port, container_port, protocol) of a `ports` entry; host_port None when
    none is published on a fixed port."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return (entry.get("host_ip", ""), int(published) if published else None,
                str(entry.get("target")), entry.get("protocol", "tcp"))
    text = str(entry)
    protocol = "tcp"
    if "/" in text:
        text, protocol = text.rsplit("/", 1)
    parts = text.split(":")
    if len(parts) == 1:
        return ("", None, parts[0], protocol)
    if len(parts) == 2:
        return ("", int(parts[0]), parts[1], protocol)
    return (":".join(parts[:-2]), int(parts[-2]), parts[-1], protocol)


def pinned(image):
    name = image.split("@", 1)[0]
    if "@sha256:" in image:
        return True
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return False
    tag = last.split(":", 1)[1]
    return tag != "latest" and bool(re.search(r"\d", tag))


def reference_problems(doc, base):
    out = []
    services = doc.get("services") or {}
    volumes = set((doc.get("volumes") or {}).keys())
    networks = set((doc.get("networks") or {}).keys()) | {"default"}
    configs = set((doc.get("configs") or {}).keys())
    secrets = set((doc.get("secrets") or {}).keys())
    used_volumes = set()
    host_ports = {}

    for name in REQUIRED_SERVICES:
        if name not in services:
            out.append(f"services: `{name}` is missing")
    for name in MUST_HAVE_HEALTHCHECK:
        svc = services.get(name) or {}
        hc = svc.get("healthcheck")
        if not hc or hc.get("disable") or not hc.get("test"):
            out.append(f"services.{name}: needs a health check")

    for name, svc in services.items():
        svc = svc or {}
        where = f"services.{name}"
        deps = svc.get("depends_on") or []
        for dep in (deps.keys() if isinstance(deps, dict) else deps):
            if dep not in services:
                out.append(f"{where}.depends_on: `{dep}` is not a service")
            if dep == name:
                out.append(f"{where}.depends_on: depends on itself")
        if isinstance(deps, dict):
            for dep, cond in deps.items():
                wanted = (cond or {}).get("condition")
                if wanted == "service_healthy" and dep in services:
                    hc = (services[dep] or {}).get("healthcheck")
                    if not hc and "build" not in (services[dep] or {}):
                        out.append(f"{where}.depends_on.{dep}: waits for it to be healthy, but it has no health check")

        image = svc.get("image")
        if image is None and "build" not in svc:
            out.append(f"{where}: neither image nor build")
        if image is not None and not pinned(image):
            out.append(f"{where}.image: `{image}` is not pinned to a version")

        build = svc.get("build")
        if build is not None:
            context = build if isinstance(build, str) else build.get("context", ".")
            ctx = (base / context).resolve()
            if not ctx.is_dir():
                out.append(f"{where}.build.context: {context} does not exist")
            elif isinstance(build, dict) and build.get("dockerfile"):
                if not (ctx / build["dockerfile"]).is_file():
                    out.append(f"{where}.build.dockerfile: {build['dockerfile']} does not exist")
            elif not (ctx / "Dockerfile").is_file():
                out.append(f"{where}.build: no Dockerfile in {context}")

        for vol in svc.get("volumes") or []:
            if isinstance(vol, dict):
                kind, source = vol.get("type", "volume"), vol.get("source")
            else:
                source = str(vol).split(":", 1)[0] if ":" in str(vol) else None
                kind = "bind" if source and (source.startswith((".", "/", "~"))) else "volume"
            if not source:
                continue
            if kind == "bind":
                if not (base / source).exists():
                    out.append(f"{where}.volumes: bind-mounted {source} does not exist")
            elif kind == "volume":
                used_volumes.add(source)
                if source not in volumes:
                    out.append(f"{where}.volumes: named volume `{source}` is not declared under volumes")

        nets = svc.get("networks") or []
        for net in (nets.keys() if isinstance(nets, dict) else nets):
            if net not in networks:
                out.append(f"{where}.networks: `{net}` is not declared under networks")

        for key, declared in (("configs", configs), ("secrets", secrets)):
            for ref in svc.get(key) or []:
                ref_name = ref if isinstance(ref, str) else ref.get("source")
                if ref_name not in declared:
                    out.append(f"{where}.{key}: `{ref_name}` is not declared under {key}")

        env_files = svc.get("env_file") or []
        if isinstance(env_files, str):
            env_files = [env_files]
        for entry in env_files:
            path, required = (entry, True) if isinstance(entry, str) else (entry.get("path"), entry.get("required", True))
            if required and not (base / path).is_file():
                out.append(f"{where}.env_file: {path} does not exist")
            if not required and not (base / (path + ".example")).is_file():
                out.append(f"{where}.env_file: optional {path} has no {path}.example to copy")

        for entry in svc.get("ports") or []:
            try:
                host_ip, host_port, target, protocol = parse_port(entry)
            except ValueError:
                out.append(f"{where}.ports: cannot read `{entry}`")
                continue
            if host_port is None:
                continue
            key = (host_port, protocol)
            if key in host_ports:
                out.append(f"{where}.ports: host port {host_port}/{protocol} is also published by {host_ports[key]}")
            host_ports[key] = name

    for name, port in REQUIRED_HOST_PORTS.items():
        if host_ports.get((port, "tcp")) != name:
            out.append(f"services.{name}: must publish port {port}")

    for key, declared in (("configs", doc.get("configs") or {}), ("secrets", doc.get("secrets") or {})):
        for cname, spec in declared.items():
            if (spec or {}).get("file") and not (base / spec["file"]).exists():
                out.append(f"{key}.{cname}.file: {spec['file']} does not exist")
    for vname in sorted(volumes - used_volumes):
        out.append(f"volumes.{vname}: declared but no service mounts it")
    return out


def problems(doc, base):
    return schema_problems(doc) + reference_problems(doc, base)


def self_test(doc, base):
    """Each mutation must be reported; returns the ones that were not."""
    def mutate(fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d

    cases = {
        "unknown depends_on": lambda d: d["services"]["ec"]["depends_on"].update({"nope": {"condition": "service_started"}}),
        "duplicate host port": lambda d: d["services"]["grafana"]["ports"].append("127.0.0.1:8080:9999"),
        "unknown key (schema)": lambda d: d["services"]["redis"].update({"imagee": "x"}),
        "unpinned image": lambda d: d["services"]["loki"].update({"image": "grafana/loki:latest"}),
        "undeclared volume": lambda d: d["services"]["loki"].update({"volumes": ["nowhere:/data"]}),
        "missing bind source": lambda d: d["services"]["tempo"].update({"volumes": ["./lab/none.yaml:/etc/x.yaml:ro"]}),
        "missing env file": lambda d: d["services"]["load-tester"].update({"env_file": ["lab/absent.env"]}),
        "missing health check": lambda d: d["services"]["postgres"].pop("healthcheck"),
        "missing service": lambda d: d["services"].pop("grafana"),
        "wrong type (schema)": lambda d: d["services"]["redis"].update({"restart": ["always"]}),
    }
    missed = []
    for label, fn in cases.items():
        if not problems(mutate(fn), base):
            missed.append(label)
    return missed, len(cases)


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    path = Path(args[0]) if args else ROOT / "docker-compose.yml"
    doc = yaml.safe_load(path.read_text())
    base = path.resolve().parent
    if "--self-test" in argv:
        missed, total = self_test(doc, base)
        if missed:
            print("the checker missed: " + ", ".join(missed), file=sys.stderr)
            return 1
        print(f"check_compose self-test: all {total} broken copies were caught")
        return 0
    found = problems(doc, base)
    for p in found:
        print(f"{path.name}: {p}", file=sys.stderr)
    if found:
        return 1
    services = doc["services"]
    print(f"{path.name}: valid against the Compose Specification schema; {len(services)} services, "
          f"depends_on, volumes, networks, env files, bind mounts and ports cross-checked; images: "
          + ", ".join(sorted({s['image'] for s in services.values() if s.get('image')})))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
