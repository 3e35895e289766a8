"""Provides the ``concviz`` command: the dashboard, and the headless run, compare and list."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

EXIT_OK = 0
EXIT_TASK_ERROR = 1
EXIT_USAGE = 2
EXIT_STALLED = 3
EXIT_CRASHED = 4
EXIT_INTERRUPTED = 130
MIN_FPS, MAX_FPS = 1, 30  # screen refreshes per second
LOAD_IN_APP_BYTES = 16 * 2**20  # recordings bigger than this load with the dashboard up
MAX_SPEED = 1000  # replay pace: beyond this a frame covers more than a long run

BACKEND_NAMES = ("sequential", "threads", "thread-pool", "processes", "mp-pool", "process-pool")

EPILOG = """\
exit codes of run and compare:
  0 every task ok · 1 some task raised (or the run failed, or its --trace could not be
  written after it ran) · 2 bad usage (nothing is started)
  3 stalled (no progress for --stall-timeout s) · 4 a worker crashed
  130 interrupted (Ctrl+C) · 143 terminated (SIGTERM) · 129 hung up (SIGHUP)

examples:
  concviz run --workload sum-squares --backend process-pool
  concviz run --workload sleep --backend thread-pool --mode as-completed
  concviz run --workload fork-deadlock --backend mp-pool --start-method fork --stall-timeout 2
  concviz run --target mymodule:work --inputs '[1, 2, 3]' --backend mp-pool --json
  concviz compare --workload primes
"""


def _add_fps(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--fps",
        type=float,
        default=8.0,
        help=f"screen refreshes per second ({MIN_FPS}-{MAX_FPS}, default 8)",
    )


def _fps_error(fps: float) -> int:
    return _usage_error(f"--fps must be between {MIN_FPS} and {MAX_FPS}, got {fps:g}")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("what to run")
    group.add_argument(
        "-w", "--workload", help="a workload from `concviz list` (default sum-squares)"
    )
    group.add_argument(
        "-b", "--backend", default="process-pool", help="one of: " + ", ".join(BACKEND_NAMES)
    )
    group.add_argument("--start-method", help="fork, spawn or forkserver (default: this Python's)")
    group.add_argument("--mode", default="map", help="map, as-completed or wait (default map)")
    group.add_argument(
        "--workers",
        type=int,
        help="pool size (default: the CPUs this process may use); asyncio: coroutines in "
        "progress at once (default: no limit)",
    )
    group.add_argument(
        "--chunksize", type=int, help="tasks per hand-over in map (default: the library's)"
    )
    group.add_argument("--tasks", type=int, help="number of tasks (default: the workload's)")
    group.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the tasks this many times in a row (1-10), each round making its executor "
        "again; loky's reusable one and a dask cluster come back warm (default 1)",
    )
    group.add_argument(
        "--stall-timeout",
        type=float,
        default=5.0,
        help="seconds without progress before a run is stalled (0: never)",
    )
    group.add_argument(
        "--target", help="your function: module:function or path/to/file.py:function"
    )
    group.add_argument(
        "--inputs",
        help="JSON array of arguments for --target, one per task; @FILE reads it from FILE",
    )
    dask = parser.add_argument_group("dask backend")
    dask.add_argument(
        "--scheduler",
        help="tcp://HOST:PORT of a running dask scheduler (default: a LocalCluster of "
        "--workers processes on 127.0.0.1)",
    )
    dask.add_argument(
        "--dask-dashboard",
        action="store_true",
        default=None,
        help="turn the LocalCluster's web dashboard on and print its link",
    )
    dask.add_argument(
        "--dask-events",
        choices=("auto", "remote"),
        default=None,
        help="how workers send events: auto (the local socket where they can reach it, "
        "else dask's event channel) or remote (dask's channel for every worker)",
    )
    params = parser.add_argument_group("workload parameters")
    params.add_argument(
        "--size", type=int, help="sum-squares: N of range(N) · download: bytes per page"
    )
    params.add_argument("--scale", type=float, help="sleep, download: seconds per unit of delay")
    params.add_argument("--seed", type=int, help="sleep, download: random seed for the delays")
    params.add_argument(
        "--url", action="append", help="download: fetch this URL instead (repeatable)"
    )
    params.add_argument("--crash-at", type=int, help="crash: the task that fails (default 3)")
    params.add_argument("--crash-how", help="crash: raise, exit, kill or segfault (default kill)")
    params.add_argument(
        "--hang-at", type=int, help="hang: the task that blocks forever (default 2)"
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("concviz")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "(not installed)"


class _VersionAction(argparse.Action):
    """``--version``: the installed version is looked up only when asked (a metadata scan)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show the version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(f"concviz {_version()}\n")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; importing it costs no UI library."""
    parser = _Parser(
        prog="concviz",
        description=(
            "See Python concurrency run: every task as a bar on its worker's lane.\n"
            "Without a command, opens the live dashboard (the options below preselect its choices)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction)
    _add_run_options(parser)
    dashboard = parser.add_argument_group("dashboard")
    _add_fps(dashboard)
    dashboard.add_argument(
        "--sweep",
        metavar="KNOB=V1,V2,...",
        help="what S sweeps: chunksize=1,10,100,1000 or workers=1,2,4,8 (default: chunksize "
        "for process pools, workers for thread-pool)",
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run one workload on one backend and print a summary",
        description="Run one workload on one backend and print a summary and its timeline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(run)
    output = run.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print a JSON object instead")
    output.add_argument("--trace", metavar="FILE", help="write a Chrome trace (Perfetto opens it)")
    compare = commands.add_parser(
        "compare",
        help="run a workload on every backend after a sequential baseline",
        description="Run a workload sequentially, then on every backend: wall time, speedup,"
        " efficiency, CPU parallelism.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_run_options(compare)
    compare.add_argument("--backends", help="comma-separated backends (default: all available)")
    compare.add_argument(
        "--sweep",
        metavar="KNOB=V1,V2,...",
        help="run each backend at several values of one setting: chunksize=1,10,100,1000 "
        "or workers=1,2,4,8 (default backends: those it applies to)",
    )
    compare.add_argument("--json", action="store_true", help="print JSON instead of a table")
    compare.add_argument(
        "--trace",
        metavar="DIR",
        help="keep every row's Chrome trace in this folder (concviz replay plays each)",
    )
    replay = commands.add_parser(
        "replay",
        help="play a recorded run (a trace file from --trace or the e key) in the dashboard",
        description="Play a recorded run in the dashboard at its recorded pace. Keys: space"
        " pauses and goes on, q quits. The file is only read as JSON, never run.",
    )
    replay.add_argument("file", help="a Chrome trace JSON file (concviz's own, or another tool's)")
    replay.add_argument(
        "--speed", type=float, default=1.0, help="times the recorded pace (default 1)"
    )
    replay.add_argument("--static", action="store_true", help="show the whole run at once")
    _add_fps(replay)
    diff = commands.add_parser(
        "diff",
        help="two recorded runs side by side: timelines on one scale, breakdowns and changes",
        description="Two recorded runs (trace files from --trace, compare --trace or the e key)"
        " side by side: both timelines on one time scale, one above the other, then their"
        " wall times and where the time went, part by part, with the change from A to B.",
    )
    diff.add_argument("a", metavar="A.json", help="the first run (A)")
    diff.add_argument("b", metavar="B.json", help="the second run (B), shown against A")
    diff.add_argument("--json", action="store_true", help="print JSON instead")
    serve = commands.add_parser(
        "serve",
        help="the dashboard in a web browser (needs the web extra: concviz[web])",
        description="Serve the dashboard to web browsers through textual-serve (install it"
        " with: pip install 'concviz[web]'). Each browser tab gets its own dashboard.",
    )
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    _add_run_options(serve)  # each tab's dashboard starts with these choices
    _add_fps(serve.add_argument_group("dashboard"))
    demo = commands.add_parser(
        "demo",
        help="a scripted tour with captions, for recordings; ends by itself",
        description="A scripted tour with captions, for recordings and classes; ends by itself."
        " Record it with: asciinema rec -c 'concviz demo'",
    )
    demo.add_argument("--loop", action="store_true", help="start over at the end (until q)")
    _add_fps(demo)
    listing = commands.add_parser(
        "list",
        help="workloads, backends, start methods, Python facts",
        description="Workloads, backends, start methods and the facts of this Python.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _usage_error(message: str) -> int:
    from workloads.text import visible  # the message may quote paths and the user's errors

    sys.stderr.write(f"concviz: error: {visible(message)}\n")
    return EXIT_USAGE


PARAM_NAMES = ("size", "scale", "seed", "url", "crash_at", "crash_how", "hang_at")


def _params(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in PARAM_NAMES}


def _choices_from(args: argparse.Namespace) -> Any:
    """The command line's choices, as the dashboard holds them."""
    from tui.choices import Choices
    from workloads.catalog import TARGET

    fields: dict[str, Any] = {
        "workload": TARGET if args.target else (args.workload or "sum-squares"),
        "backend": args.backend,
        "start_method": args.start_method,
        "mode": args.mode,
        "chunksize": args.chunksize,
        "tasks": args.tasks,
        "params": tuple(sorted((k, v) for k, v in _params(args).items() if v is not None)),
        "stall_timeout": args.stall_timeout,
        "rounds": args.rounds,
        "scheduler": args.scheduler,
        "dask_dashboard": bool(args.dask_dashboard),
        "dask_events": args.dask_events or "auto",
        "target": args.target,
        "inputs": args.inputs,
    }
    if args.workers is not None:
        fields["workers"] = args.workers
        fields["workers_given"] = True
    return Choices(**fields)


def _check_dask_options(args: argparse.Namespace, spec: Any, backends: list[str]) -> None:
    """The dask options go with a dask run, and its scheduler answers; raises SpecError."""
    from workloads.spec import SpecError, scheduler_problem

    given = [
        flag
        for flag, value in (
            ("--scheduler", args.scheduler),
            ("--dask-dashboard", args.dask_dashboard),
            ("--dask-events", args.dask_events),
        )
        if value
    ]
    if given and "dask" not in backends:
        raise SpecError(f"{given[0]} goes with the dask backend (-b dask)")
    if given and spec.scheduler and spec.dask_dashboard:
        raise SpecError("--dask-dashboard serves a LocalCluster's; a --scheduler has its own")
    if spec.dask_dashboard:
        import importlib.util

        if importlib.util.find_spec("bokeh") is None:
            raise SpecError("--dask-dashboard needs bokeh: pip install 'concviz[dask]'")
    if "dask" in backends and spec.scheduler:
        problem = scheduler_problem(spec.scheduler)
        if problem:
            raise SpecError(problem)


def _spec_from(args: argparse.Namespace) -> Any:
    """The validated RunSpec; raises SpecError."""
    from workloads.spec import SpecError

    if args.target and args.workload:
        raise SpecError(f"--target replaces --workload; drop --workload {args.workload}")
    if args.inputs is not None and not args.target:
        raise SpecError("--inputs goes with --target module:function")
    return _choices_from(args).to_spec()


class _SignalError(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise _SignalError(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``concviz`` command; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        return _dashboard(args)
    if args.command == "replay":
        return _replay(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "diff":
        return _diff(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "list":
        from tui.report import print_listing

        print_listing(as_json=args.json)
        return EXIT_OK
    from workloads.spec import SpecError

    try:
        spec = _spec_from(args)
        if args.command == "compare":
            from workloads.compare import parse_backends, parse_sweep, plan

            backends = parse_backends(args.backends, spec)
            sweep = parse_sweep(args.sweep, spec) if args.sweep is not None else None
            rows = plan(backends, sweep, explicit=bool(args.backends))
        _check_dask_options(args, spec, backends if args.command == "compare" else [spec.backend])
    except SpecError as exc:
        return _usage_error(str(exc))
    if args.command == "compare" and args.trace is not None:
        problem = _trace_dir_problem(args.trace)
        if problem:
            return _usage_error(problem)
    if args.command == "run" and args.trace is not None:
        problem = _trace_file_problem(args.trace)
        if problem:
            return _usage_error(problem)
    from workloads import tracker

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}
    for sig in previous:
        signal.signal(sig, _raise_interrupted)
    try:
        tracker.start_resource_tracker()  # it starts up while the rest of concviz loads
        if args.command == "run":
            return _run(spec, args)
        return _compare(spec, backends, args, rows)
    except (KeyboardInterrupt, _SignalError) as exc:
        signum = exc.signum if isinstance(exc, _SignalError) else signal.SIGINT
        sys.stderr.write("concviz: interrupted; the run's processes were stopped\n")
        return EXIT_INTERRUPTED if signum == signal.SIGINT else 128 + signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        tracker.shutdown()


def _terminal_problem() -> str | None:
    """Why the dashboard cannot run here, or None."""
    if "web_driver" in os.environ.get("TEXTUAL_DRIVER", ""):
        return None  # served to a browser (concviz serve): the pipes are the screen
    # Textual draws on stderr and reads keys from stdin; a pipe on stdout would swallow output.
    for name, stream in (("input", sys.stdin), ("output", sys.stdout), ("error", sys.stderr)):
        try:
            if not stream.isatty():
                return f"the dashboard needs a terminal, but standard {name} is not one"
        except (AttributeError, ValueError):
            return f"the dashboard needs a terminal, but standard {name} is closed"
    try:
        if os.tcgetpgrp(sys.stdin.fileno()) != os.getpgrp():
            return "the dashboard cannot run in the background: bring it to the foreground (fg)"
    except OSError:
        pass
    return None


def _dashboard_problem(args: argparse.Namespace) -> str | None:
    """Why the dashboard's choices are refused (one line), or None."""
    from workloads.spec import SpecError

    try:
        _spec_from(args)
    except SpecError as exc:
        return str(exc)
    if not MIN_FPS <= args.fps <= MAX_FPS:  # also refuses nan
        return f"--fps must be between {MIN_FPS} and {MAX_FPS}, got {args.fps:g}"
    if getattr(args, "sweep", None) is not None:
        from workloads.compare import parse_sweep

        try:
            parse_sweep(args.sweep, _spec_from(args))
        except SpecError as exc:
            return str(exc)
    return None


def _dashboard_argv(args: argparse.Namespace) -> list[str]:
    """The dashboard's options as given, to start the same dashboard elsewhere (serve)."""
    argv: list[str] = []
    for name in (
        "workload",
        "backend",
        "start_method",
        "mode",
        "workers",
        "chunksize",
        "tasks",
        "rounds",
        "stall_timeout",
        "scheduler",
        "dask_events",
        "target",
        "inputs",
        "fps",
        *PARAM_NAMES,
    ):
        value = getattr(args, name, None)
        if value is None:
            continue
        flag = "--" + name.replace("_", "-")
        if name == "target":  # a path is relative to where serve was started
            location, _, function = value.rpartition(":")
            if location.endswith(".py") or os.sep in location:
                value = f"{os.path.abspath(location)}:{function}"
        if name == "inputs" and value.startswith("@") and len(value) > 1:  # @FILE: the same
            value = "@" + os.path.abspath(value[1:])
        for item in value if isinstance(value, list) else [value]:
            argv += [flag, str(item)]
    return argv


def _dashboard(args: argparse.Namespace) -> int:
    problem = _terminal_problem()
    if problem:
        return _usage_error(f"{problem}; use `concviz run` or `concviz compare` in scripts")
    problem = _dashboard_problem(args)
    if problem:
        return _usage_error(problem)
    return _run_app(_choices_from(args), fps=args.fps, sweep=args.sweep)


def _run_app(*args: Any, **kwargs: Any) -> int:
    """Run the dashboard app (dashboard, replay and demo alike) and clean up after it."""
    from workloads import tracker

    # Before the app takes the terminal: the tracker helper inherits file descriptor 2. And
    # before the app's modules load: the tracker starts up meanwhile, not while it draws.
    tracker.start_resource_tracker()
    try:
        from tui.app import ConcvizApp

        app = ConcvizApp(*args, **kwargs)
    except BaseException:
        tracker.shutdown()
        raise
    try:
        app.run()
    finally:
        app.stop_runs_now()
        tracker.shutdown()
    return app.return_code or EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import shlex

    try:
        from tui.serve import ListenError, listen, loopback_only, serve
    except ImportError:
        return _usage_error("serve needs the web extra: pip install 'concviz[web]' (textual-serve)")
    if not 1 <= args.port <= 65535:
        return _usage_error(f"--port must be between 1 and 65535, got {args.port}")
    problem = _dashboard_problem(args)
    if problem:
        return _usage_error(problem)
    # Each browser tab gets its own dashboard process (and so its own runs), started with the
    # choices given here. -I: only the installed concviz runs, never a tui/ in the current folder.
    parts = [sys.executable, "-I", "-m", "tui.cli", *_dashboard_argv(args)]
    command = " ".join(shlex.quote(part) for part in parts)
    try:  # bound now: a port in use or an unknown host is one line, before anything starts
        sockets = listen(args.host, args.port)
    except ListenError as exc:
        return _usage_error(str(exc))
    if not loopback_only(sockets):
        # Every page opened starts a dashboard: runs on this machine, fetches of any URL.
        sys.stderr.write(
            f"concviz: warning: {args.host} is not a loopback address: anyone who can reach"
            f" port {args.port} can start runs on this machine and make the dashboard fetch URLs\n"
        )
    where = f"http://{args.host}:{args.port}"
    sys.stderr.write(f"concviz: serving the dashboard at {where} (Ctrl+C stops)\n")
    serve(command, args.host, args.port, sockets)
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    if not MIN_FPS <= args.fps <= MAX_FPS:  # also refuses nan
        return _fps_error(args.fps)
    problem = _terminal_problem()
    if problem:
        return _usage_error(f"{problem}; record it in a terminal: asciinema rec -c 'concviz demo'")
    from tui import demo

    return _run_app(driver=demo.script(loop=args.loop), fps=args.fps)


def _replay(args: argparse.Namespace) -> int:
    from workloads.replay import TraceFileError, load_recording

    if not 0 < args.speed <= MAX_SPEED:  # also refuses nan
        return _usage_error(
            f"--speed must be more than 0 and at most {MAX_SPEED}, got {args.speed:g}"
            " (use --static to see it whole)"
        )
    if not MIN_FPS <= args.fps <= MAX_FPS:  # also refuses nan
        return _fps_error(args.fps)
    speed = 0 if args.static else args.speed
    try:
        big = os.path.getsize(args.file) > LOAD_IN_APP_BYTES
    except OSError:
        big = False  # load_recording says why, in one line
    if big and not _terminal_problem():
        # Seconds of loading: the dashboard is up meanwhile, says so, and q quits at once.
        return _run_app(replay_file=args.file, speed=speed, fps=args.fps)
    try:
        recording = load_recording(args.file)
    except TraceFileError as exc:
        return _usage_error(str(exc))
    problem = _terminal_problem()
    if problem:
        return _usage_error(f"{problem}; a trace can be opened in https://ui.perfetto.dev instead")
    return _run_app(replay=recording, speed=speed, fps=args.fps)


def _diff(args: argparse.Namespace) -> int:
    from tui import report
    from workloads.replay import TraceFileError

    try:
        a, b = report.recorded_side("A", args.a), report.recorded_side("B", args.b)
    except TraceFileError as exc:
        return _usage_error(str(exc))
    if args.json:
        print(json.dumps(report.diff_json(a, b), indent=2))
    else:
        report.print_diff(a, b)
    return EXIT_OK


def _exit_code(outcome: Any) -> int:
    from workloads import session

    if outcome.status == session.STALLED:
        return EXIT_STALLED
    if outcome.status == session.CRASHED:
        return EXIT_CRASHED
    if outcome.status == session.CANCELLED:
        return EXIT_INTERRUPTED
    stats = outcome.trace.stats()
    if stats.crashed:
        return EXIT_CRASHED
    if outcome.status == session.FAILED or stats.errors:
        return EXIT_TASK_ERROR
    return EXIT_OK


def _dashboard_teller() -> Any:
    """A listener that prints the dask dashboard's link as the run starts (--dask-dashboard)."""
    from workloads import events

    def tell(batch: list[Any]) -> None:
        for event in batch:
            if event[0] == events.RUN_STARTED:
                link = (event[2].get("dask") or {}).get("dashboard")
                if link:
                    sys.stderr.write(f"concviz: dask dashboard at {link}\n")
                    sys.stderr.flush()

    return tell


def _run(spec: Any, args: argparse.Namespace) -> int:
    from workloads import session, tracker

    running = session.Session(
        spec,
        listener=_dashboard_teller() if spec.dask_dashboard else None,
        sample_cpu=args.trace is not None,
    ).start()
    try:
        from tui import report  # rich and the renderers load while the supervisor starts
    except BaseException:  # Ctrl+C meanwhile: the run is ended before the interruption is told
        running.cancel()
        running.wait(15)
        raise
    outcome = session.outcome_of(running)
    tracker.release()  # nothing else runs: the helper exits while the report is printed
    written: str | None = None
    failure: str | None = None
    if args.trace is not None:  # checked before the run; a full disk shows only now
        from workloads.export import write_chrome_trace

        try:
            write_chrome_trace(outcome.trace, args.trace)
            written = args.trace
        except OSError as exc:
            failure = f"cannot write --trace {args.trace}: {exc.strerror or exc}"
    # The run happened: its results come first, whatever became of the trace.
    if args.json:
        print(json.dumps(report.run_json(spec, outcome), indent=2))
    else:
        report.print_run(spec, outcome, trace_path=written)
    if failure is None:
        return _exit_code(outcome)
    sys.stdout.flush()  # the results before the error line, also on a shared terminal
    sys.stderr.write(f"concviz: error: {failure} (the run above is complete)\n")
    # Not 2: that says nothing was started. A stall, crash or interruption keeps its own code.
    return max(_exit_code(outcome), EXIT_TASK_ERROR)


def _trace_file_problem(text: str) -> str | None:
    """Why ``--trace FILE`` of run cannot be written, or None; checked before the run starts."""
    from pathlib import Path

    if not text:
        return "--trace needs a file name"
    path = Path(text)
    if text.endswith(os.sep) or path.is_dir():
        return f"--trace {text}: names a folder; give a file name, such as {path / 'run.json'}"
    folder = path.parent
    if not folder.is_dir():
        return f"--trace {text}: no such folder {folder}"
    if path.exists():
        if not os.access(path, os.W_OK):
            return f"--trace {text}: the file is not writable"
    elif not os.access(folder, os.W_OK | os.X_OK):
        return f"--trace {text}: the folder {folder} is not writable"
    return None


def _trace_dir_problem(text: str) -> str | None:
    """Why ``--trace DIR`` of compare cannot hold the traces, or None (the folder is made)."""
    from pathlib import Path

    if not text:
        return "--trace needs a folder name"
    folder = Path(text)
    if folder.exists() and not folder.is_dir():
        return f"--trace {text}: not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"--trace {text}: cannot make the folder: {exc.strerror or exc}"
    if not os.access(folder, os.W_OK):
        return f"--trace {text}: the folder is not writable"
    return None


def _compare(spec: Any, backends: list[str], args: argparse.Namespace, rows: Any) -> int:
    from pathlib import Path

    from tui import report
    from workloads.compare import compare, compare_json, trace_name

    trace_dir = Path(args.trace) if args.trace is not None else None
    progress = None if args.json else report.compare_progress()
    try:
        results = compare(spec, backends, on_result=progress, trace_dir=trace_dir, rows=rows)
    except OSError as exc:  # the folder went away while the comparison ran
        sys.stderr.write(f"concviz: error: cannot write a trace in {args.trace}: {exc}\n")
        return EXIT_TASK_ERROR
    if args.json:
        print(json.dumps(compare_json(results), indent=2))
    else:
        report.print_compare(spec, results)
        if trace_dir is not None:
            names = ", ".join(trace_name(spec, r.backend, r.row) for r in results)
            print(f"traces written to {trace_dir}/: {names}")
    return max((_exit_code(r.outcome) for r in results), default=EXIT_OK)


def run() -> None:
    """Console-script entry point."""
    try:
        code = main()
    except BrokenPipeError:  # e.g. `concviz list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = EXIT_OK
    sys.exit(code)


if __name__ == "__main__":
    run()
