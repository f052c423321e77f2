"""The Dagster code location: thin wrappers over ``ursa_lib``."""
