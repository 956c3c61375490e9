"""The wheel carries the chapters' MyST notebooks (``notebooks/*.md``) inside the package, at
``sevec_helpers/book/notebooks/``: ``sevec_helpers.book.runner`` runs a chapter's own cells to
judge another network, also where only the installed package is at hand (Colab). Everything
else is configured in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class build_py_with_notebooks(build_py):
    def run(self):
        super().run()
        dst = Path(self.build_lib) / "sevec_helpers" / "book" / "notebooks"
        dst.mkdir(parents=True, exist_ok=True)
        for md in sorted((HERE / "notebooks").glob("[0-9][0-9]*.md")):
            shutil.copyfile(md, dst / md.name)


setup(cmdclass={"build_py": build_py_with_notebooks})
