"""Show the package's own code in a notebook, so that what the reader sees is what the tests test.

Chapter §1.4 explains the corrected CNN and GAN line by line. Pasting their code into the notebook
would make a second copy that drifts; `show_source` displays the code that `companion` runs, and a
change to it changes the stored output, which strict nbval then reports until the chapter is re-run.
"""

from __future__ import annotations

import inspect
import textwrap
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent


def source_of(obj) -> tuple[str, str]:
    """The source text of a function, method or class of `companion`, and where it lives (module.qualname)."""
    target = inspect.unwrap(obj)
    if not (inspect.isfunction(target) or inspect.isclass(target) or inspect.ismethod(target)):
        raise TypeError(f"expected a function, method or class, got {type(obj).__name__}")
    module = inspect.getmodule(target)
    path = Path(inspect.getsourcefile(target) or "").resolve()
    if module is None or PACKAGE_ROOT not in path.parents:
        raise ValueError(f"expected code of the companion package, got {getattr(obj, '__qualname__', obj)!r} "
                         f"from {path}")
    return textwrap.dedent(inspect.getsource(target)), f"{module.__name__}.{target.__qualname__}"


def show_source(obj) -> None:
    """Display the source of ``obj`` (from `companion`) as a highlighted Python block, with its location."""
    from IPython.display import Markdown, display

    text, where = source_of(obj)
    display(Markdown(f"`{where}`\n\n```python\n{text.rstrip()}\n```"))
