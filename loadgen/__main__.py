"""`python -m loadgen`: the entry, kept here; the options and commands are in loadgen/cli/."""

from loadgen.cli.options import main

if __name__ == "__main__":  # importing the module (an import check, a doc tool) runs nothing
    raise SystemExit(main())
