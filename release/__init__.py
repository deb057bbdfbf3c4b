"""release: validate, build, register and release Amazon ECS services from git."""

__version__ = "0.1.0"
