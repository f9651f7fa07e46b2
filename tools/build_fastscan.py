"""Build scanner/polygon/_fastscan (the chain snapshot's C reader) for the Python that runs this.

``make install`` runs it. The reader is optional: without a C compiler or Python's headers this says
so and exits 0, and scanner.polygon.decode reads every page with msgspec instead (same chains,
about twice the time). ``--require`` makes a failed build an error (CI, or a check by hand).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "scanner" / "polygon" / "_fastscan.c"


def main(argv: list[str]) -> int:
    require = "--require" in argv
    target = SOURCE.with_name("_fastscan" + sysconfig.get_config_var("EXT_SUFFIX"))
    compiler = shlex.split(os.environ.get("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    problem = None
    if shutil.which(compiler[0]) is None:
        problem = f"no C compiler ({compiler[0]})"
    elif not Path(include, "Python.h").exists():
        problem = f"no Python headers in {include}"
    else:
        # Built beside the target, then renamed: a process importing it never sees half a file.
        with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
            built = Path(scratch, target.name)
            command = [*compiler, "-O2", "-shared", "-fPIC", "-Wall", f"-I{include}", str(SOURCE), "-o", str(built)]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode == 0:
                built.replace(target)
                return 0
            problem = f"{shlex.join(command)} failed:\n{done.stderr}"
    print(f"build_fastscan: not built, pages will be read with msgspec: {problem}", file=sys.stderr)
    return 1 if require else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
