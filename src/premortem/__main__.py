"""`python -m premortem` runs the same CLI as the `premortem` console script."""

from premortem.cli import main

if __name__ == "__main__":
    main()
