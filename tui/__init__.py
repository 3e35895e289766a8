"""The concviz terminal app and command line."""
