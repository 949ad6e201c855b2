"""`python -m provenance` runs the `provenance` command."""

from provenance.cli import main

main()
