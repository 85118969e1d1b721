"""Problems: what `build`, `plan` and `lint` report, and the catalog that explains them.

A `Problem` is located in a notebook (1-based cell number as Jupyter and ruff
count, line and column inside the cell). Every code has one `Rule` entry:
its name, severity, a one-line summary, the fix, and a longer explanation
that `nb2prod rules CODE` prints. Conversion codes live here; lint adds its
own rules to the same catalog shape in `nb2prod.lint`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from nb2prod.places import origin, relabel

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True)
class Rule:
    """One code's entry in the catalog: severity, summary, fix and explanation."""

    code: str
    name: str  # kebab-case
    severity: str
    summary: str
    fix: str
    why: str = ""
    bad: str = ""
    good: str = ""


@dataclass(frozen=True, order=True)
class Problem:
    """One diagnostic, located in a notebook (cell, line, column) or not."""

    cell: int | None  # 1-based over all cells; None for the whole notebook
    line: int | None
    column: int | None
    code: str
    severity: str
    message: str
    hint: str = ""
    cell_id: str | None = None

    def at(self, cell: int | None, line: int | None, column: int | None = None) -> Problem:
        return replace(self, cell=cell, line=line, column=column)

    def place(self) -> tuple[int | None, int | None, int | None]:
        """(cell, line, column) as shown: a line only within a cell, a column after a line."""
        line = self.line if self.cell is not None else None
        return self.cell, line, self.column if line is not None else None

    def location(self) -> str:
        """`cell 3:12:5` inside the notebook, or "" for the whole notebook."""
        return location(None, *self.place())


def location(path: object = None, cell: int | None = None, line: int | None = None,
             column: int | None = None) -> str:
    """THE location of every diagnostic nb2prod prints: `path:cell 3:12:5`.

    ruff's notebook convention; parts that are None are left out (`path:12` for a
    template line, `path` for a whole file). Problems, `UserError` and lint findings
    all render their place through this function."""
    parts = [str(path)] if path else []
    if cell is not None:
        parts.append(f"cell {cell}")
    parts += [str(number) for number in (line, column) if number is not None]
    return ":".join(parts)


def problem_order(problem) -> tuple:
    """THE order problems are listed in (plan, build, report, lint within a file): by
    place, unplaced first, then code; the message last, so equal places keep one order.
    Takes anything with cell, line, column, code and message (a Problem, a lint Finding)."""
    return (problem.cell or 0, problem.line or 0, problem.column or 0, problem.code,
            problem.message)


def in_order(problems) -> tuple[Problem, ...]:
    return tuple(sorted(problems, key=problem_order))


def problem_line(path: object, problem: Problem, parts=()) -> str:
    """The diagnostic line of `build`, `plan`, `verify` and the nbconvert exporter.
    `parts` (`Notebook.parts`): the notebooks a project's cells came from."""
    cell, line, column = problem.place()
    path, cell = origin(parts, path, cell)
    return f"{location(path, cell, line, column)}: {problem.code} [{problem.severity}] " \
           f"{relabel(problem.message, parts)}"


def _rule(code, name, severity, summary, fix, why="", bad="", good=""):
    return Rule(code, name, severity, summary, fix, why, bad, good)


CONVERSION_RULES: dict[str, Rule] = {r.code: r for r in [
    _rule("NB002", "syntax-error", ERROR, "A code cell is not valid Python.",
          "Fix the syntax; the cell is left out of the package until then.",
          "A cell that does not parse cannot be analysed or converted.",
          "df = load(", "df = load(path)"),
    _rule("NB201", "undefined-name", ERROR,
          "A name is read but no earlier cell defines it (hidden notebook state).",
          "Define it in an earlier cell, or make it a parameter.",
          "The notebook only worked because the kernel remembered a value from a "
          "deleted or re-ordered cell; a fresh run, and the package, fail with NameError.",
          "print(total)  # total was defined in a cell that no longer exists",
          "total = sum(values)\nprint(total)"),
    _rule("NB202", "star-import", WARNING, "`from module import *` hides which names exist.",
          "Import the names you use explicitly.",
          "Star imports make dataflow unknowable: nb2prod cannot tell which step "
          "needs what, and undefined names cannot be reported reliably.",
          "from numpy import *", "from numpy import array, mean"),
    _rule("NB203", "defined-later", ERROR,
          "A name is read before the cell that defines it.",
          "Move the defining cell above, or run the notebook top to bottom.",
          "Out-of-order cells run fine interactively and fail in a fresh kernel.",
          "# cell 2\nprint(x)\n# cell 3\nx = 1", "# cell 2\nx = 1\n# cell 3\nprint(x)"),
    _rule("NB601", "unconvertible-ipython", ERROR,
          "IPython syntax with no Python equivalent was left out of the package.",
          "Rewrite it in Python (subprocess, os, a declared dependency) or tag the cell `skip`.",
          "Shell escapes, %run and non-Python cell magics only exist inside IPython.",
          "!wget http://x/data.csv", "urllib.request.urlretrieve(url, 'data.csv')"),
    _rule("NB602", "dropped-ipython", INFO,
          "IPython syntax that only affects the interactive session was dropped.",
          "Nothing to do; remove it from the notebook to silence this.",
          "Magics such as %matplotlib or %load_ext configure the kernel, not the "
          "computation; a plain Python module has no kernel to configure.",
          "%matplotlib inline\nplt.plot(xs)", "plt.plot(xs)\nplt.savefig('plot.png')"),
    _rule("NB603", "unwrapped-magic", INFO,
          "A timing or capture magic was removed; its statement runs once.",
          "Nothing to do.",
          "%time and %%time run their statement once in the notebook's namespace; the "
          "package runs it once too, without the timing. (%timeit is dropped instead: "
          "IPython runs it in a scope of its own, so its assignments never reach the "
          "notebook.)",
          "%%time\nmodel.fit(X, y)", "model.fit(X, y)"),
    _rule("NB604", "install-in-notebook", INFO,
          "`!pip install` became a declared dependency of the package.",
          "Declare dependencies in the project instead of installing from a cell.",
          "Installing at run time is slow, needs the network, and gives whatever "
          "version is newest that day; a declared dependency is resolved once, at install.",
          "!pip install xgboost", "# pyproject.toml\ndependencies = [\"xgboost>=2\"]"),
    _rule("NB605", "display-dropped", INFO,
          "A display-only expression (e.g. `df.head()` as a cell's last line) was dropped.",
          "Nothing to do; use print() if the value should appear in the logs.",
          "A cell's last expression is shown by Jupyter; in a module it computes a value "
          "nobody sees.",
          "df.head()", "print(df.head())"),
    _rule("NB606", "unknown-tag", WARNING, "A cell tag is not in nb2prod's vocabulary.",
          "Fix the spelling to a valid tag (`nb2prod rules NB606` lists them) or remove the tag.",
          "A misspelled `step:` or `prev:` tag silently merges steps.",
          "tags: [\"stpe:train\"]", "tags: [\"step:train\"]"),
    _rule("NB607", "parameters-not-literal", WARNING,
          "A `parameters` cell statement is not a simple literal assignment.",
          "Keep only `name = literal` lines in the parameters cell; compute the rest in a step.",
          "Only literals can become typed command-line options.",
          "data_dir = os.path.join(root, 'data')", "data_dir = 'data'"),
    _rule("NB608", "metrics-undefined", ERROR, "A `metrics` cell names a value no step defines.",
          "Name a variable that a step computes (not an import, a helper or a module).",
          "Metrics are what `run()` returns and `--metrics-out` writes; a name no step "
          "computes cannot be reported.",
          "# metrics\nprint(acuracy)", "# metrics\nprint(accuracy)"),
    _rule("NB609", "global-write", WARNING,
          "A function assigns a global variable: hidden state the dataflow cannot follow.",
          "Return the value from the function instead of declaring it global.",
          "In the package each step is a function; a global written by a helper is a "
          "module variable no step receives or returns.",
          "def load():\n    global df\n    df = read()", "def load():\n    return read()\n\ndf = load()"),
    _rule("NB610", "untagged-notebook", INFO,
          "The notebook has no step tags and was built as one step `main`.",
          "Run `nb2prod tag NOTEBOOK --suggest` to propose step tags.",
          "One step works, but steps give the package testable functions with explicit "
          "inputs and outputs, and orchestrators something to schedule.",
          "tags: []", "tags: [\"step:load_data\"]"),
    _rule("NB611", "unknown-step", ERROR, "An `after:`/`prev:` tag names a step that does not exist.",
          "Name a step defined in an earlier cell.",
          "A dependency on a step that does not exist (often a typo) is silently lost.",
          "tags: [\"step:train\", \"prev:laod\"]", "tags: [\"step:train\", \"prev:load\"]"),
    _rule("NB612", "skipped-cell", INFO, "A cell tagged `skip` was left out.", "Nothing to do.",
          "Listed so that nothing leaves the notebook unnoticed.",
          "tags: [\"skip\"]  # df.describe()", "(nothing to change)"),
    _rule("NB613", "ipython-builtin", ERROR,
          "Code uses an IPython-only name (display, get_ipython, In, Out).",
          "Use print() or plain Python instead.",
          "These names exist only inside an IPython kernel; the package fails with NameError.",
          "get_ipython().run_line_magic('env', 'A=1')", "os.environ['A'] = '1'"),
    _rule("NB614", "helper-reads-step-value", ERROR,
          "A helper reads a global whose value at each call the dataflow cannot fix.",
          "Pass the value to the function as an argument, at each call.",
          "Helpers may read parameters and step values as globals: each step that calls "
          "them binds the value first. That is refused when two places bind the name, "
          "when a step calls the helper before the value exists, or when module-level "
          "code reads a step value at import time.",
          "def scale(x):\n    return x / total  # `total` bound by two steps",
          "def scale(x, total):\n    return x / total"),
    _rule("NB615", "conflicting-tags", WARNING, "A cell carries more than one role tag.",
          "Keep one of imports/functions/parameters/step/metrics/test/skip per cell.",
          "Only the strongest role is used (skip > test > metrics > parameters > imports > "
          "functions > step); the others are ignored.",
          "tags: [\"imports\", \"step:load\"]", "tags: [\"imports\"]"),
    _rule("NB616", "no-code-cells", ERROR, "The notebook has no code cells.",
          "Add code cells; there is nothing to convert.",
          "A notebook of markdown only has no computation to package.",
          "(markdown cells only)", "x = compute()"),
    _rule("NB617", "invalid-step-setting", ERROR,
          "A step setting tag (`retry:`, `cache:`, `secret:`, `label:`, `limit:`...) has an "
          "invalid value.",
          "Fix the tag: retry:3, cache:disabled, secret:SECRET:KEY:ENV, label:KEY:VALUE, "
          "annotation:KEY:VALUE, limit:cpu:2, limit:memory:4Gi, limit:nvidia.com/gpu:1.",
          "Settings become the package's retries and cache, and the Kubeflow pipeline's "
          "secrets, pod labels and resources. A value nothing can read would be dropped "
          "or rejected by the cluster, so `plan`, `lint` and `build` report it at its cell "
          "and `build` writes nothing.",
          "retry:three", "retry:3"),
    _rule("NB618", "file-dataflow", WARNING,
          "A step reads a file (by literal path) that an earlier step writes.",
          "Pass the value between steps as a variable; or, for `--target kubeflow`, "
          "declare a shared volume with `--volume PATH`.",
          "On one machine the file is there; when steps run in separate pods (Kubeflow) "
          "the reading step finds no file, and the DAG does not know the order.",
          "# step clean\ndf.to_csv('clean.csv')\n# step train\ndf = pd.read_csv('clean.csv')",
          "# step clean\nclean = df.dropna()\n# step train\nmodel.fit(clean[cols], clean.y)"),
    _rule("NB620", "unnamed-metric", INFO,
          "A metrics cell prints an expression, which is printed but not reported.",
          "Assign it to a name in a step and print the name.",
          "Only named values reach `run()`'s result, `--metrics-out`, `verify` and the "
          "golden test.",
          "print(accuracy_score(y_test, y_pred))",
          "accuracy = accuracy_score(y_test, y_pred)  # in a step\nprint(accuracy)"),
    _rule("NB621", "no-model", WARNING,
          "`--target serve` found no model to serve; the serving files were not written.",
          "Tag the cell that trains it `model` (or `model:NAME`), or fit it in a step: "
          "`model.fit(X, y)`.",
          "The served value is the step output that was fitted (`NAME.fit(X, ...)` or "
          "`NAME = ....fit(X, ...)`), unless a `model`/`model:NAME` tag or "
          "`[tool.nb2prod] model` names it; a name no step defines cannot be served.",
          "model = train(X, y)  # no tag, no .fit(): nothing says this is the model",
          "# cell tagged model:model\nmodel = train(X, y)"),
    _rule("NB622", "ambiguous-model", INFO,
          "Several values are fitted and none is chosen by a tag; the one the notebook "
          "evaluates last (else the last fitted) is served.",
          "Tag the model's cell `model` (or `model:NAME`), or set `[tool.nb2prod] model`.",
          "A scaler and a classifier are both fitted: nb2prod serves the last fit, which is "
          "usually the model; a tag makes the choice explicit.",
          "scaler.fit(X)\nclf.fit(scaler.transform(X), y)",
          "scaler.fit(X)\n# cell tagged model:clf\nclf.fit(scaler.transform(X), y)"),
    _rule("NB623", "unresolved-import", WARNING,
          "An import is not installed in the environment the build read.",
          "Install it there (or pass `--python` for the notebook's environment) so its "
          "version is pinned.",
          "Dependencies are pinned from what is installed; an import nothing provides gets "
          "no version, so the package may install a different one than the notebook used.",
          "import xgboost  # not installed where nb2prod runs",
          "nb2prod build nb.ipynb --python ~/venvs/ml/bin/python"),
    _rule("NB624", "credential-parameter", ERROR,
          "A parameter's default looks like a credential.",
          "Read it from the environment in the step (`os.environ['API_KEY']`); on Kubeflow "
          "tag the step `secret:SECRET:KEY:ENV`.",
          "Parameter defaults are written into the package, its --help, the Kubeflow "
          "pipeline YAML and the Job: a credential there is leaked to everyone who can "
          "read any of them.",
          "api_key = 'sk-live-4f9a8b7c6d5e4f3a2b1c'",
          "# step: api_key = os.environ['SERVICE_API_KEY']"),
    _rule("NB625", "secret-between-steps", WARNING,
          "A secret's value, read from the environment, is passed to another step.",
          "Read the environment variable in the step that uses it (`os.environ['ENV']`, "
          "and tag that step `secret:SECRET:KEY:ENV`); pass on only what is not secret.",
          "Step outputs are written down: in Kubeflow each is an artifact in the pipeline "
          "root, readable by anyone who can read that storage; locally `--cache` would "
          "store it (the runtime refuses, so the step is never cached). A value read from "
          "`os.environ[ENV]` of a `secret:` tag, or computed from it (an f-string, a dict, "
          "a client built with it; `len()` and comparisons are fine), must stay in its step.",
          "# step fetch (secret:api:token:API_TOKEN)\ntoken = os.environ['API_TOKEN']\n"
          "# step call\nrows = get(url, token)",
          "# step call (secret:api:token:API_TOKEN)\nrows = get(url, os.environ['API_TOKEN'])"),
    _rule("NB626", "window-feature-served", WARNING,
          "A statement on the way to the served model's input needs other rows than the "
          "requested one (a window, a shift, a rank, a group transform, data-made bins); "
          "the serving files were not written.",
          "Compute the value where the request comes from and send it as a column, or "
          "choose another input frame after it (tag its cell `serve-input`).",
          "`--target serve` runs the notebook's own feature code on each request; one row "
          "alone cannot reproduce `df.x.rolling(5).mean()` or `df.x.shift(1)`, so the "
          "service would answer with a value the model never saw in training.",
          "df['avg5'] = df['spend'].rolling(5).mean()",
          "# cell tagged serve-input, after the window:\ndf['avg5'] = df['spend'].rolling(5).mean()"),
    _rule("NB627", "maybe-unbound-output", WARNING,
          "A value later cells read is not bound on every path through its step.",
          "Bind it before the `try`/`if` (a default), or in every branch; do not reuse "
          "the name of an `except ... as` variable.",
          "A step returns the values later steps, metrics and tests read. A name bound "
          "only in one branch of an `if`/`try`, or unbound by Python at the end of "
          "`except ValueError as e:`, is unbound when another path runs: the package "
          "then stops with UnboundLocalError where the notebook went on (or failed later).",
          "try:\n    import ujson as json_lib\nexcept ImportError:\n    fast = False",
          "fast = True\ntry:\n    import ujson as json_lib\nexcept ImportError:\n"
          "    fast = False"),
    _rule("NB628", "code-in-string", WARNING,
          "Code in a string cannot behave in the package as in the notebook.",
          "Assign the value in the cell's own code; in `timeit` pass `globals=globals()` "
          "instead of importing from `__main__`.",
          "The package gives code in strings (`exec`, `eval`, `cProfile.run`, "
          "`timeit.timeit(..., globals=globals())`) the step's values to read, as the "
          "notebook's namespace gave them. But a name the string binds stays in that "
          "namespace, not in the step, and `__main__` is the package's entry point, not "
          "the notebook.",
          "exec('total = a + b')\nprint(total)",
          "total = a + b\nprint(total)"),
    _rule("NB629", "serve-input-unused", WARNING,
          "A `serve-input` tag or `[tool.nb2prod] serve_input` names a frame that is not on "
          "the way to the served model's input; requests are rows of the loaded frame.",
          "Tag the cell that computes the frame the model's input is made from, or name "
          "that frame: `serve-input:df`.",
          "The service runs the notebook's statements from the chosen frame to the model's "
          "input; a frame the model's input is not computed from cannot be that start.",
          "# cell tagged serve-input\nreport = summary(df)",
          "# cell tagged serve-input:df\ndf['avg5'] = df['spend'].rolling(5).mean()"),
    _rule("NB630", "parameter-conflict", ERROR,
          "Two notebooks of one package give the same parameter different defaults.",
          "Give both the same default, or rename one of them.",
          "The notebooks become one package with one option per parameter name; which "
          "default it should take cannot be guessed, and taking one silently would run "
          "the other notebook on a value it never saw.",
          "# 01_ingest.ipynb\nthreshold = 0.5\n# 03_train.ipynb\nthreshold = 0.7",
          "# 01_ingest.ipynb\nmin_amount = 0.5\n# 03_train.ipynb\nthreshold = 0.7"),
    _rule("NB631", "read-before-write", WARNING,
          "A file is read before the step (or notebook) that writes it runs.",
          "Order the notebooks so the writer comes first (name order, or "
          "`[tool.nb2prod] notebooks`), or read a file the pipeline is given.",
          "The package runs its steps in order: the read finds the file of an earlier run, "
          "or none in a fresh directory. A file two notebooks hand to each other both ways "
          "is a cycle no order can run.",
          "# 01_report.ipynb\npd.read_csv('work/scores.csv')\n# 02_score.ipynb\n"
          "scores.to_csv('work/scores.csv')",
          "# 01_score.ipynb\nscores.to_csv('work/scores.csv')\n# 02_report.ipynb\n"
          "pd.read_csv('work/scores.csv')"),
    _rule("NB632", "file-written-twice", WARNING,
          "Two notebooks write the same file.",
          "Give each notebook's output its own file name.",
          "A later notebook replaces what an earlier one wrote: readers in between see one "
          "version, readers after it the other, and a step cache or a Kubeflow volume can "
          "hand the wrong one on.",
          "# 01_a.ipynb\ndf.to_csv('out.csv')\n# 02_b.ipynb\ndf.to_csv('out.csv')",
          "# 01_a.ipynb\ndf.to_csv('a.csv')\n# 02_b.ipynb\ndf.to_csv('b.csv')"),
    _rule("NB633", "notebook-file-edge", INFO,
          "A file one notebook writes and a later one reads: an edge between them.",
          "Nothing to do for the package, which runs the notebooks in order in one working "
          "directory; for `--target kubeflow`, declare a shared volume with `--volume PATH`.",
          "The file stays a file: the package writes and reads it as the notebooks did "
          "(a CSV or parquet round trip changes types and index, so passing the value in "
          "memory would compute something else). Kubeflow runs each step in its own pod, "
          "which sees the file only on a shared volume.",
          "# 01_ingest.ipynb\nclean.to_parquet('work/clean.parquet')\n# 02_train.ipynb\n"
          "clean = pd.read_parquet('work/clean.parquet')",
          "# the same notebooks; for Kubeflow: nb2prod build notebooks/ --target kubeflow "
          "--volume /mnt/work"),
    _rule("NB640", "generated-code-invalid", ERROR,
          "A generated module does not compile.",
          "Fix the notebook line it names (code that is not valid where it lands, such as "
          "`return` or `yield` outside a function); if the line is fine, report it as a "
          "bug of nb2prod.",
          "`build` compiles every generated module before it reports success: a package "
          "that cannot be imported must never build with 0 errors.",
          "# cell\nreturn 5", "# cell\nresult = 5"),
    _rule("NB619", "reserved-name", ERROR,
          "A module-level name of the notebook clashes with the generated pipeline's own.",
          "Rename it: `run`, `run_steps`, `Params` and `METRICS` are the package's API.",
          "The generated module defines these names after the notebook's helpers, so the "
          "helper would be silently replaced.",
          "def run(model):\n    ...", "def run_model(model):\n    ..."),
]}


def make_problem(code: str, message: str, cell=None, line=None, column=None,
                 cell_id=None, hint: str | None = None) -> Problem:
    rule = CONVERSION_RULES[code]
    return Problem(cell, line, column, code, rule.severity, message,
                   rule.fix if hint is None else hint, cell_id)
