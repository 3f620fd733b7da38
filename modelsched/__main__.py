"""`python -m modelsched` runs the CLI."""

from modelsched.cli.main import main

if __name__ == "__main__":
    main()
