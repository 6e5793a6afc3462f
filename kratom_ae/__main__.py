"""`python -m kratom_ae` is the `kratom-ae` command."""

from kratom_ae.cli.main import main

main()
