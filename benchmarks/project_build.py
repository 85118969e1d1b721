"""What does building a project cost against building its notebooks one by one?

    python benchmarks/project_build.py [--project examples/shop] [--rounds 5]

Builds the folder once (`nb2prod build DIR`, one package) and each of its
notebooks on its own (`nb2prod build NB`), every build in a fresh process, and
compares the child CPU time (user + system, best of --rounds: on the shared
2-core machine wall-clock swings with other processes, CPU time does not). A
project is read as one notebook, so its build should cost about one build plus
the extra cells: the ratio project / sum of the single builds is well under 1
(start-up and rendering are paid once). Not a test: timing assertions would be
flaky.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from build_scaling import build_cpu as child_build_cpu  # run as a script: same folder

REPO = Path(__file__).resolve().parents[1]


def build_cpu(source: Path, out: Path) -> float:
    cpu, error = child_build_cpu(source, out)
    if error:
        raise SystemExit(f"build {source} failed: {error}")
    return cpu


def best(source: Path, rounds: int, tmp: Path) -> float:
    return min(build_cpu(source, tmp / f"{source.stem}-{i}") for i in range(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=REPO / "examples" / "shop")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    notebooks = sorted(args.project.glob("*.ipynb"))
    with tempfile.TemporaryDirectory() as tmp:
        project = best(args.project, args.rounds, Path(tmp))
        singles = [best(nb, args.rounds, Path(tmp)) for nb in notebooks]
    for notebook, cpu in zip(notebooks, singles):
        print(f"{notebook.name:30} {cpu:6.2f} s CPU")
    print(f"{'sum of the single builds':30} {sum(singles):6.2f} s CPU")
    print(f"{'the project, one build':30} {project:6.2f} s CPU")
    print(f"ratio project / sum: {project / sum(singles):.2f}; "
          f"project / largest single: {project / max(singles):.2f}")


if __name__ == "__main__":
    main()
