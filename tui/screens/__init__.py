"""The dashboard's extra screens: help and compare."""
