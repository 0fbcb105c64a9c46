"""Command-line interface: a Typer app whose commands are thin shells over the library."""
