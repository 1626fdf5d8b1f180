#!/usr/bin/env python3
"""Checks the lab's OpenTelemetry Collector configuration against itself and the compose file,
without running either:

- every pipeline's receivers, processors and exporters are defined, every defined component is
  used, every pipeline is named for a signal (traces, metrics, logs), every extension in use is
  defined;
- the traces, metrics and logs pipelines go to Tempo, Prometheus and Loki as the lab promises;
- every address in the lab's wiring names a compose service and a port that service listens on
  (its `ports` or `expose`): the collector's exporters, the OTLP endpoint the targets and the
  load tester export to (a port the collector's OTLP/HTTP receiver listens on), Tempo's remote
  write, Grafana's datasources, Prometheus's scrape targets;
- Prometheus accepts the writes sent to it (`--web.enable-remote-write-receiver`) and keeps
  exemplars (`--enable-feature=exemplar-storage`).

    python3 tests/lab/check_collector.py
    python3 tests/lab/check_collector.py --self-test   # breaks copies in known ways; each must be caught

Needs PyYAML. Prints every problem, exits 1 when there is one.
"""

import copy
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "lab"

SIGNAL_BACKEND = {"traces": "tempo", "metrics": "prometheus", "logs": "loki"}


def load(path):
    return yaml.safe_load(path.read_text())


def container_ports(service):
    """Ports a compose service listens on inside the network: its published targets and `expose`."""
    ports = set()
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split("/")[0].split(":")[-1]))
    for entry in service.get("expose") or []:
        ports.add(int(str(entry).split("/")[0]))
    return ports


def host_port(address, default_port=None):
    """(host, port) of `http://host:port/...` or `host:port`."""
    if "://" not in address:
        address = "tcp://" + address
    url = urlparse(address)
    port = url.port or default_port or {"http": 80, "https": 443}.get(url.scheme)
    return url.hostname, port


def check_address(compose, where, address, out, default_port=None):
    host, port = host_port(address, default_port)
    services = compose["services"]
    if host not in services:
        out.append(f"{where}: `{address}` names `{host}`, which is not a compose service")
        return None
    if port not in container_ports(services[host]):
        out.append(f"{where}: `{address}`: {host} does not listen on {port} (ports/expose: "
                   f"{sorted(container_ports(services[host]))})")
    return host


def collector_problems(config, compose):
    out = []
    service = config.get("service") or {}
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        out.append("service.pipelines: none")
    used = {"receivers": set(), "processors": set(), "exporters": set()}
    for name, pipeline in pipelines.items():
        signal = name.split("/", 1)[0]
        if signal not in SIGNAL_BACKEND:
            out.append(f"service.pipelines.{name}: not named for a signal (traces, metrics, logs)")
        for kind in ("receivers", "exporters"):
            if not (pipeline or {}).get(kind):
                out.append(f"service.pipelines.{name}: no {kind}")
        for kind in used:
            for component in (pipeline or {}).get(kind) or []:
                used[kind].add(component)
                if component not in (config.get(kind) or {}):
                    out.append(f"service.pipelines.{name}.{kind}: `{component}` is not defined under {kind}")
    for kind, names in used.items():
        for defined in (config.get(kind) or {}):
            if defined not in names:
                out.append(f"{kind}.{defined}: defined but no pipeline uses it")
    for ext in service.get("extensions") or []:
        if ext not in (config.get("extensions") or {}):
            out.append(f"service.extensions: `{ext}` is not defined under extensions")

    exporters = config.get("exporters") or {}
    for name, pipeline in pipelines.items():
        signal = name.split("/", 1)[0]
        backend = SIGNAL_BACKEND.get(signal)
        reached = set()
        for exporter in (pipeline or {}).get("exporters") or []:
            endpoint = (exporters.get(exporter) or {}).get("endpoint")
            if endpoint is None:
                out.append(f"exporters.{exporter}: no endpoint")
                continue
            default = 4317 if exporter.split("/")[0] == "otlp" else None
            host = check_address(compose, f"exporters.{exporter}.endpoint", endpoint, out, default)
            reached.add(host)
        if backend and backend not in reached:
            out.append(f"service.pipelines.{name}: sends {signal} to {sorted(h for h in reached if h)}, not to {backend}")

    # The OTLP endpoint the services export to must be the collector's OTLP/HTTP receiver.
    receivers = config.get("receivers") or {}
    http_port = None
    otlp = receivers.get("otlp") or {}
    http = (otlp.get("protocols") or {}).get("http")
    if http is not None:
        http_port = host_port((http or {}).get("endpoint", "0.0.0.0:4318"))[1]
    for sname, svc in compose["services"].items():
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env if "=" in e)
        endpoint = env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if endpoint is None:
            continue
        host = check_address(compose, f"compose services.{sname}.OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, out)
        if host != "otel-collector":
            out.append(f"compose services.{sname}: exports to {host}, not the collector")
        elif host_port(endpoint)[1] != http_port:
            out.append(f"compose services.{sname}: exports to port {host_port(endpoint)[1]}, but the collector's OTLP/HTTP receiver listens on {http_port}")
    for sname in ("ec", "distributed", "todo", "chaos", "load-tester"):
        env = compose["services"].get(sname, {}).get("environment") or {}
        if "OTEL_EXPORTER_OTLP_ENDPOINT" not in env:
            out.append(f"compose services.{sname}: OTEL_EXPORTER_OTLP_ENDPOINT is not set")
    return out


def other_wiring_problems(compose, tempo, datasources, prometheus):
    out = []
    for i, rw in enumerate(((tempo.get("metrics_generator") or {}).get("storage") or {}).get("remote_write") or []):
        check_address(compose, f"tempo metrics_generator.storage.remote_write[{i}]", rw["url"], out)
    for ds in datasources.get("datasources") or []:
        check_address(compose, f"grafana datasource {ds.get('name')}", ds["url"], out)
    uids = {ds.get("uid") for ds in datasources.get("datasources") or []}
    text = yaml.safe_dump(datasources)
    for ref in re.findall(r"datasourceUid: (\S+)", text):
        if ref.strip("'\"") not in uids:
            out.append(f"grafana datasources: a link names datasource uid `{ref}`, which is not provisioned")
    for job in prometheus.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            for target in sc.get("targets") or []:
                check_address(compose, f"prometheus job {job['job_name']}", target, out)
    command = " ".join(compose["services"]["prometheus"].get("command") or [])
    for flag in ("--web.enable-remote-write-receiver", "--enable-feature=exemplar-storage"):
        if flag not in command:
            out.append(f"compose services.prometheus.command: needs {flag}")
    return out


def everything():
    return (load(LAB / "otel-collector" / "config.yaml"), load(ROOT / "docker-compose.yml"),
            load(LAB / "tempo" / "tempo.yaml"),
            load(LAB / "grafana" / "provisioning" / "datasources" / "datasources.yaml"),
            load(LAB / "prometheus" / "prometheus.yml"))


def problems(collector, compose, tempo, datasources, prometheus):
    return collector_problems(collector, compose) + other_wiring_problems(compose, tempo, datasources, prometheus)


def self_test():
    def case(fn):
        parts = [copy.deepcopy(p) for p in everything()]
        fn(*parts)
        return problems(*parts)

    cases = {
        "undefined exporter": lambda c, *_: c["service"]["pipelines"]["traces"]["exporters"].append("zipkin"),
        "undefined processor": lambda c, *_: c["service"]["pipelines"]["logs"]["processors"].append("filter"),
        "unused receiver": lambda c, *_: c["receivers"].update({"prometheus": {}}),
        "exporter to a host that is not a service": lambda c, *_: c["exporters"]["otlp/tempo"].update({"endpoint": "jaeger:4317"}),
        "exporter to a port the service does not listen on": lambda c, *_: c["exporters"]["otlphttp/loki"].update({"endpoint": "http://loki:3101/otlp"}),
        "traces not to tempo": lambda c, *_: c["service"]["pipelines"]["traces"].update({"exporters": ["otlphttp/loki"]}),
        "target exporting elsewhere": lambda c, compose, *_: compose["services"]["todo"]["environment"].update({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4317"}),
        "datasource to an unknown host": lambda c, compose, t, ds, p: ds["datasources"][0].update({"url": "http://prom:9090"}),
        "scrape of an unknown host": lambda c, compose, t, ds, p: p["scrape_configs"][0]["static_configs"][0].update({"targets": ["lt:8080"]}),
        "prometheus without the write receiver": lambda c, compose, *_: compose["services"]["prometheus"]["command"].remove("--web.enable-remote-write-receiver"),
    }
    missed = [label for label, fn in cases.items() if not case(fn)]
    return missed, len(cases)


def main(argv):
    if "--self-test" in argv:
        missed, total = self_test()
        if missed:
            print("the checker missed: " + ", ".join(missed), file=sys.stderr)
            return 1
        print(f"check_collector self-test: all {total} broken copies were caught")
        return 0
    found = problems(*everything())
    for p in found:
        print(p, file=sys.stderr)
    if found:
        return 1
    collector = everything()[0]
    pipes = ", ".join(f"{n}: {p['receivers']} -> {p.get('processors', [])} -> {p['exporters']}"
                      for n, p in collector["service"]["pipelines"].items())
    print(f"collector pipelines consistent ({pipes}); every address in the lab's wiring names a "
          "compose service and a port it listens on")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
