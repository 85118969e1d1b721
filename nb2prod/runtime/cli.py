"""The command line every generated package shares: run options, resume, the run, metrics.

A package's `__main__.py` holds what its notebook makes specific (parameter
options, how the metrics cell printed) in a `Command` record and calls
`main(command, argv)`. Options are parsed from the record's plain data; the
package's `pipeline.py` (which imports the notebook's libraries: pandas,
scikit-learn, ... seconds of start-up) is imported only once a run starts, so
`--help` and a usage error answer at once. Exit codes: 0 done (or stopped by
`--only-step`), 1 a step failed (one line on stderr), 2 bad options (argparse).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any, Callable  # noqa: UP035 - Python 3.10 too

from .logs import configure_logging, labelled
from .model_trust import ModelError
from .redact import Secrets
from .runner import Runner, StepFailed, StopRun, environment_digest
from .state import read_state


@dataclasses.dataclass(frozen=True)
class Option:
    """A parameter of the notebook's parameters cell as a command-line option."""

    flag: str  # `--n-customers`
    name: str  # its Params field
    kind: str  # a key of OPTION_KINDS
    cell: int | str  # the notebook cell it comes from (its help says so), or its label:
    #   `01_ingest.ipynb cell 3` in a package of several notebooks
    default: Any = None  # the notebook's value (Params' default: --help shows it)


OPTION_KINDS: dict[str, dict[str, Any]] = {
    "int": {"type": int}, "float": {"type": float}, "str": {"type": str},
    "bool": {"action": argparse.BooleanOptionalAction},
    "json": {"type": json.loads, "metavar": "JSON"},  # lists and dicts
    "file": {"type": str, "metavar": "FILE"},  # a data file the notebook read
}
"""Option kind -> how argparse reads it."""

SaveModel = Callable[[dict[str, Any], Any, dict[str, Any], Path], Path]


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """What a run takes from the package's `pipeline.py`."""

    steps: dict[str, Any]  # pipeline._STEPS
    params: type  # pipeline.Params (a dataclass)
    run_steps: Callable[..., dict[str, Any]]
    metrics: tuple[str, ...]
    prepare: Callable[[], None] | None = None  # before any step (print as the kernel did)


@dataclasses.dataclass(frozen=True)
class Command:
    """What a generated package's command line is made of."""

    package: str  # import name: the logger, the prefix of a failure line
    dist: str  # distribution name: the program's name
    description: str
    # imports pipeline.py: called when a run starts, never for --help or a usage error
    pipeline: Callable[[], Pipeline]
    step_names: tuple[str, ...] = ()  # what --from-step and --only-step accept
    distributions: tuple[str, ...] = ()  # dependencies whose versions key the step cache
    options: tuple[Option, ...] = ()  # an option per parameter (every Params field)
    print_metrics: Callable[[dict[str, Any]], None] | None = None  # the metrics cell
    # serve: `--model-out DIR` saves the model with (every value run_steps returned,
    # Params, metrics, DIR) -> the card's path, or ModelError
    save_model: SaveModel | None = None
    # raw rows: `--check-contract DIR` gives (DIR, Params) -> why the loaded frame breaks
    # the contract saved in DIR (one line), or None when it keeps it
    check_contract: Callable[[Path, Any], str | None] | None = None
    hooks: tuple[Any, ...] = ()  # Runner hooks around each step (runner.py)


def _data_hint(command: Command, exc: StepFailed) -> str:
    """A data file was not found: say which option reads another one."""
    missing = exc.__cause__ or exc.__context__
    name = getattr(missing, "filename", None) if isinstance(missing, FileNotFoundError) \
        else None
    for option in command.options:
        if option.kind == "file" and name is not None and str(name) == str(option.default):
            return (f"hint: run from the folder holding {name}, or pass "
                    f"{option.flag} FILE\n")
    return ""


def _option_help(option: Option) -> str:
    where = option.cell if isinstance(option.cell, str) else f"notebook cell {option.cell}"
    if option.kind == "file":
        return f"data file the notebook read ({where}); a relative path is read from " \
               "the working directory"
    return f"parameter `{option.name}` from {where}"


def build_parser(command: Command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=command.dist, description=command.description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for option in command.options:
        # a copy: a step that changes a list parameter must not change the option's default
        parser.add_argument(option.flag, dest=option.name, default=copy.deepcopy(option.default),
                            help=_option_help(option), **OPTION_KINDS[option.kind])
    parser.add_argument("--metrics-out", type=Path, metavar="FILE",
                        help="write the metrics as a JSON object keyed by name to FILE")
    if command.save_model:
        parser.add_argument(
            "--model-out", type=Path, metavar="DIR",
            help="also save the fitted model and its card (model.json) to DIR; serve it "
            f"with `python -m {command.package}.serve --model DIR`")
    if command.check_contract:
        parser.add_argument(
            "--check-contract", type=Path, metavar="DIR",
            help="before training, check the loaded data against the data contract saved "
            "in DIR by --model-out; stop, naming the column, when it breaks it")
    add_run_options(parser, list(command.step_names))
    return parser


def add_run_options(parser: argparse.ArgumentParser, names: list[str]) -> None:
    group = parser.add_argument_group("running")
    group.add_argument("--cache", type=Path, metavar="DIR",
                       help="keep each step's outputs in DIR; unchanged steps are loaded")
    group.add_argument("--resume", action="store_true",
                       help="with --cache: start at the step the last run failed or stopped "
                       "at, with its parameters (options given here win)")
    group.add_argument("--from-step", metavar="STEP", choices=names,
                       help="re-run STEP and every later step (earlier ones from the cache)")
    group.add_argument("--only-step", metavar="STEP", choices=names,
                       help="run up to STEP (earlier ones from the cache) and stop there")
    group.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="stderr logs: a line per step, or one JSON object per line")
    group.add_argument("--log-level", choices=("debug", "info", "warning"), default="info",
                       help="text logs: debug adds each step's start, warning keeps only "
                       "problems (JSON logs carry every event)")
    group.add_argument("--debug", action="store_true", help="show tracebacks")


def parse(command: Command, argv: list[str] | None) -> argparse.Namespace:
    """The options; `--resume` takes the parameters of the run it resumes."""
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if (args.resume or args.from_step or args.only_step) and not args.cache:
        parser.error("--resume, --from-step and --only-step need --cache DIR")
    args.resume_at = None
    if args.resume:
        state = read_state(args.cache)
        if state is None:
            parser.error(f"--resume: no earlier run in {args.cache}")
        resumed = _resumed_params(command, state["params"])
        if isinstance(resumed, str):
            parser.error(f"--resume: parameter {resumed} of the last run in {args.cache} "
                         "is damaged; run without --resume")
        parser.set_defaults(**resumed)
        args = parser.parse_args(argv)
        args.resume_at = state.get("step") if state["status"] != "completed" else None
    return args


KINDS: dict[type, tuple[type, ...]] = {bool: (bool,), int: (int,), float: (int, float),
                                       str: (str,), list: (list,), dict: (dict,)}
"""A parameter's default type -> the JSON types a journal may give it back as."""


def _resumed_params(command: Command, saved: dict[str, Any]) -> dict[str, Any] | str:
    """The journal's parameters of `command`, or the name of one whose value is not of
    its parameter's type (the journal is outside input)."""
    resumed = {}
    for option in command.options:
        name = option.name
        if name not in saved:
            continue
        value, default = saved[name], option.default
        kinds = KINDS.get(type(default))
        if kinds and type(value) not in kinds:  # exact types: a bool is no int here
            return name
        resumed[name] = value
    return resumed


def to_jsonable(value: object) -> object:
    """numpy and pandas values become plain JSON; anything else its repr()."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    for method in ("tolist", "to_dict"):
        if hasattr(value, method):
            return to_jsonable(getattr(value, method)())
    return repr(value)


def _broken_contract(command: Command, model_dir: Path, params: Any) -> str | None:
    """Why the frame the notebook loads breaks `model_dir`'s contract (one line), or None."""
    try:
        return command.check_contract(model_dir, params)
    except ModelError as exc:
        return str(exc)
    except (OSError, ValueError) as exc:  # the data cannot be loaded: say so in one line
        return f"cannot load the data to check: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


def main(command: Command, argv: list[str] | None = None) -> int:
    args = parse(command, argv)
    pipeline = command.pipeline()  # the notebook's libraries load here, options are good
    names = {name for spec in pipeline.steps.values() for name in spec.secrets}
    log = configure_logging(command.package, args.log_format, args.log_level, redact=(
        (lambda text: Secrets.from_environment(names).redact(text)) if names else None))
    if pipeline.prepare:
        pipeline.prepare()
    chosen = {option.name: getattr(args, option.name) for option in command.options}
    params = pipeline.params(**chosen)
    if command.check_contract and args.check_contract:  # before any step runs
        broken = _broken_contract(command, args.check_contract, params)
        if broken:
            print(f"{command.dist}: error: {broken}", file=sys.stderr)
            return 1
    runner = Runner(
        pipeline.steps, package=command.package, cache=args.cache, from_step=args.from_step,
        only_step=args.only_step, params=chosen, hooks=command.hooks,
        environment=environment_digest((command.dist, *command.distributions))
        if args.cache else "")
    if args.resume:
        where = f"at step {args.resume_at}" if args.resume_at else "(the last run completed)"
        log.info("resuming %s", where)
    try:
        values = pipeline.run_steps(params, runner,
                                    None if command.save_model else pipeline.metrics)
    except StopRun:
        return 0
    except StepFailed as exc:
        # the message is redacted already; a traceback (--debug) is redacted here
        text = "".join(traceback.format_exception(exc)) if args.debug else f"{exc}\n"
        sys.stderr.write(f"{command.package}: {runner.redact(text)}{_data_hint(command, exc)}")
        return 1
    runner.finish()
    return _report(command, pipeline, args, values, params)


def _report(command: Command, pipeline: Pipeline, args: argparse.Namespace,
            values: dict[str, Any], params: Any) -> int:
    """After a whole run: the metrics printed and written, the model saved."""
    log = logging.getLogger(command.package)
    metrics = {name: values[name] for name in pipeline.metrics}
    if command.print_metrics:
        command.print_metrics(metrics)
    elif metrics:  # nobody printed them: show them labelled on stderr (stdout stays
        # exactly what the notebook printed)
        sys.stderr.write(labelled(metrics))
    if not pipeline.metrics and not (args.only_step or args.from_step):
        log.info("no metrics to print: tag a notebook cell `metrics` with one print(name) "
                 "per result and rebuild; they then print here and go to --metrics-out")
    if args.metrics_out:
        args.metrics_out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({k: to_jsonable(v) for k, v in metrics.items()}, indent=2)
        args.metrics_out.write_text(text + "\n", encoding="utf-8")
    if command.save_model and args.model_out:
        try:
            card = command.save_model(values, params, metrics, args.model_out)
        except ModelError as exc:
            print(f"{command.dist}: error: {exc}", file=sys.stderr)
            return 1
        print(f"model saved: {card}", file=sys.stderr)
    return 0
