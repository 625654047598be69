"""``scorewatch demo`` and ``scorewatch local up|status|tick``: the stack on the local cloud.

These commands live on the infra side because they drive ``scorewatch_infra.local``; the runtime
package never imports infra. ``scorewatch.cli`` finds this module through the
``scorewatch.commands`` entry-point group (declared in pyproject.toml) and calls ``register``.
Registering imports nothing heavy; running a command needs the ``[cdk]`` and ``[local]`` extras
(aws-cdk-lib, moto[server]).
"""

from __future__ import annotations

import argparse
import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from scorewatch.core.errors import ScorewatchError

STATE_FILE = ".scorewatch-local.json"


def register(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser("demo", help="run the scorewatch scenario end to end on the local cloud")
    demo.add_argument("--output", type=Path, default=Path("demo-output"), help="folder for the results")
    demo.add_argument("--seed", type=int, default=7, help="seed of the synthetic data (deterministic)")
    demo.add_argument(
        "--rows", type=int, default=None, help="rows per batch (default 4000; 600 with --fleet)"
    )
    demo.add_argument(
        "--fleet",
        type=int,
        default=None,
        metavar="N",
        help="run the scenario for N models at once (issue 16)",
    )
    demo.add_argument(
        "--drift-fraction", type=float, default=0.5, help="with --fleet: share of the models that drift"
    )
    demo.add_argument(
        "--config", type=Path, default=None, help="model configuration (default examples/models.json)"
    )
    demo.set_defaults(func=_demo)

    local = sub.add_parser("local", help="the stack on an embedded AWS emulator (no account, no Docker)")
    lsub = local.add_subparsers(dest="local_command", required=True)
    up = lsub.add_parser("up", help="deploy the stack locally and watch <folder>/incoming/<model>/")
    up.add_argument(
        "folder",
        type=Path,
        nargs="?",
        default=Path("scorewatch-local"),
        help="state folder (default scorewatch-local)",
    )
    up.add_argument(
        "--endpoint-url", default=None, help="use an emulator you run instead of the embedded one"
    )
    up.add_argument(
        "--config", type=Path, default=None, help="model configuration (default examples/models.json)"
    )
    up.add_argument("--poll-seconds", type=float, default=1.0, help="how often the drop folder is checked")
    up.add_argument("--clock", action="store_true", help="fire rate(...) schedules on the wall clock")
    up.add_argument(
        "--demo-champion",
        action="store_true",
        help="register the demo's churn champion (synthetic reference data) so drops score at once",
    )
    up.set_defaults(func=_up)
    status = lsub.add_parser("status", help="recent batches, drift verdicts, executions, alarm states")
    status.add_argument(
        "folder", type=Path, nargs="?", default=Path("scorewatch-local"), help="state folder of local up"
    )
    status.set_defaults(func=_status)
    tick = lsub.add_parser("tick", help="fire every schedule of the running local cloud once")
    tick.add_argument(
        "folder", type=Path, nargs="?", default=Path("scorewatch-local"), help="state folder of local up"
    )
    tick.set_defaults(func=_tick)


def _demo(args: argparse.Namespace) -> int:
    from scorewatch_infra.local.demo import DEFAULT_CONFIG, run_demo

    if args.fleet is not None:
        from scorewatch_infra.local.fleet import run_fleet

        fleet = run_fleet(
            args.output.resolve(),
            models=args.fleet,
            rows=args.rows or 600,
            seed=args.seed,
            drift_fraction=args.drift_fraction,
        )
        site = f"; site {fleet.site}" if fleet.site else ""
        print(f"summary in {fleet.output / 'summary.json'}{site}; total {fleet.seconds:.1f}s")
        return 0 if fleet.accounting.get("all_accounted_for") else 1
    result = run_demo(
        args.output.resolve(),
        seed=args.seed,
        rows=args.rows or 4000,
        config_path=(args.config or DEFAULT_CONFIG).resolve(),
    )
    print()
    print("summary")
    for step in result.steps:
        print(f"  {step.seconds:6.1f}s  {step.name}: {step.summary}")
    print(f"  champion: v{result.champion_before} -> v{result.champion_after}; versions {result.versions}")
    for e in result.executions:
        name = e.state_machine.split("statemachine")[0] or e.state_machine
        print(f"  execution {name} {e.status}: {' → '.join(e.states)}")
    print(f"outputs in {result.output} (drift reports under data/monitoring/, model cards under cards/)")
    print(f"total {result.seconds:.1f}s")
    return 0


# -- local up / status / tick -------------------------------------------------------------------
# ``up`` serves a small control endpoint on 127.0.0.1 so ``status``/``tick`` reach the running cloud.


def _up(args: argparse.Namespace) -> int:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from scorewatch.core.contract import Env
    from scorewatch_infra.local.cloud import LocalCloud
    from scorewatch_infra.local.demo import CONFIG_CONTEXT_KEY, DEFAULT_CONFIG
    from scorewatch_infra.local.status import status_document
    from scorewatch_infra.local.synth import synth

    folder: Path = args.folder.resolve()
    incoming = folder / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    stacks, _ = synth(context={CONFIG_CONTEXT_KEY: str((args.config or DEFAULT_CONFIG).resolve())})
    stack_name, template = next(iter(stacks.items()))
    cloud = LocalCloud(template, stack_name=stack_name, endpoint_url=args.endpoint_url).start()
    data_bucket = cloud.environment_value(Env.DATA_BUCKET)
    from scorewatch_infra.local.seeding import seed_models

    # The template holds no model configuration: store the models file's, as `configure --all` does.
    for applied in seed_models(cloud, (args.config or DEFAULT_CONFIG).resolve(), actor="scorewatch local up"):
        print(f"  configured {applied.name}: {applied.outcome} (config version {applied.stored.version})")
        # The drop folders a user copies into (`cp day.csv FOLDER/incoming/churn/`) exist at once.
        for sub in ("incoming", "labels", "labeled"):
            (folder / sub / applied.name).mkdir(parents=True, exist_ok=True)
    if args.demo_champion:
        from scorewatch_infra.local.demo import Scenario

        config_path = (args.config or DEFAULT_CONFIG).resolve()
        scenario = Scenario(
            cloud, output=folder / ".demo", seed=7, rows=4000, printer=print, config_path=config_path
        )
        scenario.step("register the demo churn champion", scenario.bootstrap)

    class Control(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            pass

        def _send(self, body: Any) -> None:
            raw = json.dumps(body, default=str).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._send(status_document(cloud))

        def do_POST(self) -> None:
            self._send({"fired": cloud.tick()})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state = {"control": f"http://127.0.0.1:{server.server_address[1]}", "emulator": cloud.emulator.url}
    (folder / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
    if args.clock:
        cloud.start_clock()
    print(f"local cloud up: emulator {cloud.emulator.url}, data bucket {data_bucket}")
    print(f"copy files into {incoming}/<model>/ (or labels into {folder}/labels/<model>/); Ctrl-C to stop")
    wiring = {"AWS_ENDPOINT_URL": cloud.emulator.url, Env.DATA_BUCKET: data_bucket}
    for key in (Env.REGISTRY_TABLE, Env.MODELS_BUCKET, Env.EVENT_BUS):
        wiring[key] = cloud.environment_value(key)
    print("for the scorewatch CLI in another shell (models, fleet status, site open):")
    print("  export " + " ".join(f"{k}={v}" for k, v in wiring.items()))
    # The site function rebuilds a model's page after each monitor/labels run (scorewatch site).
    print(
        f"monitoring site: s3://{data_bucket}/site/index.html, kept up to date by the site function "
        f"(with AWS_ENDPOINT_URL={cloud.emulator.url}: `scorewatch site open --bucket {data_bucket}`)"
    )
    seen: dict[Path, float] = {}
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the cloud as cleanly as Ctrl-C
    try:
        while True:
            for sub in ("incoming", "labels", "labeled"):
                for path in sorted((folder / sub).rglob("*")):
                    if not path.is_file() or path.name.startswith("."):
                        continue
                    mtime = path.stat().st_mtime
                    if seen.get(path) == mtime or time.time() - mtime < 0.5:  # still being copied
                        continue
                    seen[path] = mtime
                    key = path.relative_to(folder).as_posix()
                    cloud.upload(data_bucket, key, path)
                    print(f"uploaded s3://{data_bucket}/{key}")
            time.sleep(args.poll_seconds)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        (folder / STATE_FILE).unlink(missing_ok=True)
        cloud.stop()
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _request(folder: Path, *, method: str = "GET", timeout: float = 30) -> Any:
    req = urllib.request.Request(_control(folder), method=method, data=b"" if method == "POST" else None)  # noqa: S310 - 127.0.0.1
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - 127.0.0.1
            return json.loads(resp.read())
    except urllib.error.URLError as exc:
        raise ScorewatchError(
            f"the local cloud of {folder} does not answer ({exc.reason}); is `scorewatch local up` running?"
        ) from exc


def _control(folder: Path) -> str:
    path = folder.resolve() / STATE_FILE
    if not path.is_file():
        raise ScorewatchError(
            f"no running local cloud for {folder} (start one with `scorewatch local up {folder}`)"
        )
    return json.loads(path.read_text(encoding="utf-8"))["control"]


def _status(args: argparse.Namespace) -> int:
    from scorewatch_infra.local.status import print_status

    print_status(_request(args.folder))
    return 0


def _tick(args: argparse.Namespace) -> int:
    fired = _request(args.folder, method="POST", timeout=600)["fired"]
    print(f"fired: {', '.join(fired) or 'no schedules'}")
    return 0
