"""Print as the notebook's kernel printed: display settings that differ outside Jupyter.

A library formats values differently in a Jupyter kernel and in a terminal
process when it asks "am I in a terminal?". Measured (pandas 3.1, numpy 2.4;
all 41 `display.*` options and numpy's print options, read in a notebook run
by nbclient and in `python -c` with and without a tty and with `COLUMNS` set):
only pandas' `display.max_columns` differs (`display.encoding` only in case).
pandas' own rule (its config_init) sets it to 20 in a kernel and to 0 in a
terminal process, where 0 means "fit the terminal": `print(df)` of a wide frame
then elides columns with `...` at the terminal's width (`COLUMNS`, the tty, or
80) where the notebook wrapped every column at 80 characters. So the package
sets the kernel's value before any step runs; a `pd.set_option(...)` in a step
still applies after it, as in the notebook, and one at import time (an
`imports` cell) is kept, since only the terminal's value is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KernelSetting:
    module: str  # imported inside the generated function; has get_option/set_option
    option: str
    kernel: object  # its value in a Jupyter kernel
    terminal: object  # its value in a terminal process: only then is it replaced, so a
    #                   set_option in the notebook's module-level cells stays in force
    used_by: frozenset[str]  # distributions whose presence means `module` prints values
    why: str  # the generated comment


KERNEL_SETTINGS: tuple[KernelSetting, ...] = (
    KernelSetting(
        "pandas", "display.max_columns", 20, 0,
        frozenset({"pandas", "seaborn", "statsmodels", "geopandas"}),
        "a kernel shows 20 columns wrapped at 80 characters; a terminal fits its width",
    ),
)
"""Each setting a Jupyter kernel has and a terminal process does not."""


def kernel_settings(dependencies: tuple[str, ...]) -> tuple[KernelSetting, ...]:
    """The settings the generated `notebook_display()` applies, for these requirements."""
    names = {_name(d) for d in dependencies}
    return tuple(s for s in KERNEL_SETTINGS if names & s.used_by)


def _name(requirement: str) -> str:
    import re

    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()
